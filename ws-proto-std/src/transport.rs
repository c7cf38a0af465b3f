//! The byte pipe under a connection, usable from a reading and a writing thread at once.

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// A bidirectional byte stream that one thread can read while another writes.
///
/// Every method takes `&self`: the connection's reader blocks in [`read`](Self::read) without
/// holding any lock, so senders are never stuck behind it. [`TcpStream`] (and `UnixStream` on
/// Unix) implement it directly. For any other `Read + Write` stream, wrap it in [`Locked`].
pub trait Transport: Send + Sync + 'static {
    /// Reads some bytes; `Ok(0)` is the end of the stream. A read that times out returns
    /// `WouldBlock` or `TimedOut`.
    fn read(&self, buf: &mut [u8]) -> io::Result<usize>;
    /// Writes all of `buf`.
    fn write_all(&self, buf: &[u8]) -> io::Result<()>;
    /// Writes all of `bufs`, in order. Streams that gather (`writev`) should do it in as few
    /// writes as they can: a frame's header and a large payload sent without a copy then leave
    /// together. The default writes one slice after another with [`write_all`](Self::write_all).
    fn write_all_vectored(&self, bufs: &mut [IoSlice<'_>]) -> io::Result<()> {
        bufs.iter().try_for_each(|buf| self.write_all(buf))
    }
    /// Bounds how long the next [`read`](Self::read) blocks (`None`: forever). This is how
    /// timers (keepalive, pong and close timeouts) fire while a thread is blocked reading.
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    /// Ends the stream both ways; a read blocked in another thread returns.
    fn shutdown(&self) -> io::Result<()>;
}

/// A socket whose `&self` is `Read + Write`, like [`TcpStream`] and `UnixStream`.
macro_rules! socket_transport {
    ($socket:ty) => {
        impl Transport for $socket {
            fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
                (&mut &*self).read(buf)
            }

            fn write_all(&self, buf: &[u8]) -> io::Result<()> {
                (&mut &*self).write_all(buf)
            }

            fn write_all_vectored(&self, bufs: &mut [IoSlice<'_>]) -> io::Result<()> {
                write_all_gathered(&mut &*self, bufs)
            }

            fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
                <$socket>::set_read_timeout(self, timeout)
            }

            fn shutdown(&self) -> io::Result<()> {
                <$socket>::shutdown(self, Shutdown::Both)
            }
        }
    };
}

socket_transport!(TcpStream);
#[cfg(unix)]
socket_transport!(std::os::unix::net::UnixStream);

/// Any `Read + Write` stream as a [`Transport`], behind a mutex.
///
/// A plain stream cannot be read and written at once, so reads and writes take turns: a send
/// from another thread waits until a blocked read returns, and timers fire only when a read
/// returns. That suits a connection driven from one thread (read, then send). For concurrent
/// use, implement [`Transport`] for the stream instead. `shutdown` only flushes.
#[derive(Debug)]
pub struct Locked<S>(Mutex<S>);

impl<S> Locked<S> {
    /// Wraps `stream`.
    pub fn new(stream: S) -> Self {
        Locked(Mutex::new(stream))
    }
}

impl<S: Read + Write + Send + 'static> Transport for Locked<S> {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .read(buf)
    }

    fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        let mut stream = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        stream.write_all(buf)?;
        stream.flush()
    }

    fn write_all_vectored(&self, bufs: &mut [IoSlice<'_>]) -> io::Result<()> {
        let mut stream = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        write_all_gathered(&mut *stream, bufs)?;
        stream.flush()
    }

    fn set_read_timeout(&self, _: Option<Duration>) -> io::Result<()> {
        Ok(())
    }

    fn shutdown(&self) -> io::Result<()> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .flush()
    }
}

/// `Write::write_all_vectored`, which std has not stabilized: gathering writes until every
/// slice is out.
fn write_all_gathered(stream: &mut impl Write, mut bufs: &mut [IoSlice<'_>]) -> io::Result<()> {
    IoSlice::advance_slices(&mut bufs, 0);
    while !bufs.is_empty() {
        match stream.write_vectored(bufs) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream that takes at most 7 bytes a write, gathering across slices, and counts writes.
    #[derive(Default)]
    struct Trickle {
        written: Vec<u8>,
        writes: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.write_vectored(&[IoSlice::new(buf)])
        }

        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            self.writes += 1;
            let before = self.written.len();
            for buf in bufs {
                let n = buf.len().min(before + 7 - self.written.len());
                self.written.extend_from_slice(&buf[..n]);
            }
            Ok(self.written.len() - before)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn gathered_writes_resume_inside_any_slice() {
        let (a, c): (Vec<u8>, Vec<u8>) = ((0..50).collect(), (50..123).collect());
        let mut stream = Trickle::default();
        let mut bufs = [IoSlice::new(&a), IoSlice::new(&[]), IoSlice::new(&c)];
        write_all_gathered(&mut stream, &mut bufs).unwrap();
        assert_eq!(stream.written, (0..123).collect::<Vec<u8>>());
        assert_eq!(stream.writes, 123_usize.div_ceil(7));
    }

    #[test]
    fn a_stream_that_takes_nothing_fails_the_write() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Ok(0)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let err = write_all_gathered(&mut Full, &mut [IoSlice::new(b"x")]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WriteZero);
        // Nothing to write is no write at all.
        write_all_gathered(&mut Full, &mut [IoSlice::new(&[])]).unwrap();
    }
}
