//! The byte pipe under a connection, usable from a reading and a writing thread at once.

use std::io::{self, Read, Write};
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
    /// Bounds how long the next [`read`](Self::read) blocks (`None`: forever). This is how
    /// timers (keepalive, pong and close timeouts) fire while a thread is blocked reading.
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    /// Ends the stream both ways; a read blocked in another thread returns.
    fn shutdown(&self) -> io::Result<()>;
}

impl Transport for TcpStream {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&mut &*self).read(buf)
    }

    fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        (&mut &*self).write_all(buf)
    }

    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }

    fn shutdown(&self) -> io::Result<()> {
        TcpStream::shutdown(self, Shutdown::Both)
    }
}

#[cfg(unix)]
impl Transport for std::os::unix::net::UnixStream {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&mut &*self).read(buf)
    }

    fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        (&mut &*self).write_all(buf)
    }

    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_read_timeout(self, timeout)
    }

    fn shutdown(&self) -> io::Result<()> {
        std::os::unix::net::UnixStream::shutdown(self, Shutdown::Both)
    }
}

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
