//! Messages of any size in constant memory: [`WebSocket::read_stream`] hands out the message
//! being received as a [`Read`], and [`WebSocket::send_from_reader`] sends one from any `Read`.

use std::io::{self, Read};

use bytes::{Buf, Bytes};
use ws_proto::MessageType;

use crate::{Error, Event, WebSocket};

/// How much of a source is read for each part of a message sent from it.
const SEND_CHUNK: usize = 64 << 10;

/// The message being received, from [`WebSocket::read_stream`]: its payload as a [`Read`] (or
/// chunk by chunk, without a copy, from [`next_chunk`](Self::next_chunk)) as it arrives, in
/// memory bounded by [`Builder::recv_chunk_size`](crate::Builder::recv_chunk_size).
///
/// A text message's chunks are each valid UTF-8 and invalid text fails the connection (1007)
/// before any byte after the fault is read. Pings are answered while reading, and pings and
/// pongs are skipped. If the connection ends before the message does, the read fails (with the
/// connection's error, or [`Error::Closed`] after a clean close); dropping the reader before the
/// end skips the rest of the message.
#[derive(Debug)]
pub struct MessageReader<'a> {
    ws: &'a WebSocket,
    kind: MessageType,
    /// What is left of the last chunk.
    chunk: Bytes,
    done: bool,
}

impl<'a> MessageReader<'a> {
    /// The message's type.
    pub fn message_type(&self) -> MessageType {
        self.kind
    }

    /// The next chunk of the payload, or `None` at the end of the message.
    pub fn next_chunk(&mut self) -> Result<Option<Bytes>, Error> {
        if !self.chunk.is_empty() {
            return Ok(Some(std::mem::take(&mut self.chunk)));
        }
        while !self.done {
            match self.ws.read_events(false)? {
                Event::MessageData(data) => return Ok(Some(data)),
                Event::MessageEnd => self.done = true,
                Event::Close(frame) => {
                    self.done = true;
                    return Err(frame.into());
                }
                // Pings and pongs; nothing else comes inside a message.
                _ => {}
            }
        }
        Ok(None)
    }
}

impl Read for MessageReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.chunk.is_empty() {
            match self.next_chunk() {
                Ok(Some(chunk)) => self.chunk = chunk,
                Ok(None) => return Ok(0),
                Err(e) => return Err(io::Error::other(e)),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk.advance(n);
        Ok(n)
    }
}

impl WebSocket {
    /// The next data message, to be read as it arrives, in constant memory whatever its size:
    /// see [`MessageReader`]. A message that fits in one chunk is read whole and handed out the
    /// same way. Pings are answered, and pings, pongs and the rest of a message an earlier
    /// reader left unread are skipped. The end of the connection is an `Err`, as from
    /// [`read`](Self::read).
    ///
    /// Streamed messages are not held to [`Builder::max_message_size`](crate::Builder::max_message_size)
    /// (nothing is buffered) but to [`Builder::max_streamed_message_size`](crate::Builder::max_streamed_message_size),
    /// unlimited by default.
    pub fn read_stream(&self) -> Result<MessageReader<'_>, Error> {
        self.with_core(|core| core.set_recv_streaming(true));
        loop {
            let (kind, chunk, done) = match self.read_events(false)? {
                Event::MessageStart(kind) => (kind, Bytes::new(), false),
                Event::Message(message) => (message.message_type(), message.into_data(), true),
                Event::Close(frame) => return Err(frame.into()),
                _ => continue,
            };
            return Ok(MessageReader {
                ws: self,
                kind,
                chunk,
                done,
            });
        }
    }

    /// Sends a message read from `source` until its end, in constant memory whatever its size:
    /// each read (up to 64 KiB) is sent as a part (see [`send_message_chunk`](Self::send_message_chunk)),
    /// and the next read waits until the send buffer is below its high-water mark. Returns the
    /// payload's length.
    ///
    /// A text message may cut code points anywhere between reads, but must be UTF-8 as a
    /// whole: invalid bytes are [`SendError::InvalidUtf8`](crate::SendError::InvalidUtf8). If
    /// the source fails or its text is invalid, the message is left unfinished (what was sent
    /// stays sent): end it with [`send_message_end`](Self::send_message_end) or close the
    /// connection.
    pub fn send_from_reader(&self, kind: MessageType, mut source: impl Read) -> Result<u64, Error> {
        self.send_message_start(kind)?;
        let mut buf = vec![0; SEND_CHUNK];
        let mut total = 0;
        loop {
            let n = match source.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::Io(e)),
            };
            self.send_message_chunk(&buf[..n])?;
            total += n as u64;
        }
        self.send_message_end()?;
        Ok(total)
    }
}
