//! Messages of any size in constant memory: `read_stream` hands out the message being received
//! as a [`MessageStream`] (a `Stream` of chunks and an `AsyncRead`), and the sending methods
//! `send_from_reader` and `send_from_stream` (in `sending.rs`) send one from a source.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes};
use futures_core::Stream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use ws_proto::MessageType;

use crate::conn::{Conn, Incoming};
use crate::stream::read_event;
use crate::{Error, Event};

/// How much of a source is read for each part of a message sent from it.
pub(crate) const SEND_CHUNK: usize = 64 << 10;

/// The connection a [`MessageStream`] reads from: a whole socket's, or a reading half's.
#[derive(Debug)]
pub(crate) enum ConnRef<'a, T> {
    Own(&'a mut Conn<T>),
    Shared(&'a Arc<Mutex<Conn<T>>>),
}

impl<T> ConnRef<'_, T> {
    fn with<R>(&mut self, f: impl FnOnce(&mut Conn<T>) -> R) -> R {
        match self {
            ConnRef::Own(conn) => f(conn),
            ConnRef::Shared(shared) => {
                f(&mut shared.lock().unwrap_or_else(PoisonError::into_inner))
            }
        }
    }
}

/// The message being received, from `read_stream`: its payload as a [`Stream`] of chunks (or
/// an [`AsyncRead`], or [`next_chunk`](Self::next_chunk)) as it arrives, in memory bounded by
/// [`Builder::recv_chunk_size`](crate::Builder::recv_chunk_size).
///
/// A text message's chunks are each valid UTF-8, and invalid text fails the connection (1007)
/// before any byte after the fault is handed out. Pings are answered while reading, and pings
/// and pongs are skipped. If the connection ends before the message does, the stream yields
/// the connection's error (or [`Error::Closed`] after a clean close); dropping it before the end
/// skips the rest of the message.
///
/// Every method is cancel-safe: a chunk is taken from the connection only when it is returned.
#[derive(Debug)]
pub struct MessageStream<'a, T> {
    conn: ConnRef<'a, T>,
    kind: MessageType,
    /// What is left of the last chunk (the `AsyncRead`'s, or a whole message's).
    chunk: Bytes,
    done: bool,
}

impl<T: AsyncRead + AsyncWrite + Unpin> MessageStream<'_, T> {
    /// The message's type.
    pub fn message_type(&self) -> MessageType {
        self.kind
    }

    /// The next chunk of the payload, or `None` at the end of the message.
    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>, Error> {
        poll_fn(|cx| self.poll_chunk(cx)).await
    }

    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Bytes>, Error>> {
        if !self.chunk.is_empty() {
            return Poll::Ready(Ok(Some(std::mem::take(&mut self.chunk))));
        }
        while !self.done {
            let Some(incoming) = ready!(self.conn.with(|c| c.poll_incoming(cx))) else {
                self.done = true;
                return Poll::Ready(Err(Error::AlreadyClosed));
            };
            match incoming {
                Incoming::MessageData(data) => return Poll::Ready(Ok(Some(data))),
                Incoming::MessageEnd => self.done = true,
                ending @ Incoming::Closed(_) => {
                    self.done = true;
                    return Poll::Ready(Err(match ending.into_result() {
                        Ok(Event::Close(frame)) => frame.into(),
                        Ok(_) => Error::AlreadyClosed,
                        Err(e) => e,
                    }));
                }
                // Pings and pongs; nothing else comes inside a message.
                _ => {}
            }
        }
        Poll::Ready(Ok(None))
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> Stream for MessageStream<'_, T> {
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(ready!(self.get_mut().poll_chunk(cx)).transpose())
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncRead for MessageStream<'_, T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.chunk.is_empty() {
            match ready!(this.poll_chunk(cx)) {
                Ok(Some(chunk)) => this.chunk = chunk,
                Ok(None) => return Poll::Ready(Ok(())),
                Err(e) => return Poll::Ready(Err(io::Error::other(e))),
            }
        }
        let n = buf.remaining().min(this.chunk.len());
        buf.put_slice(&this.chunk[..n]);
        this.chunk.advance(n);
        Poll::Ready(Ok(()))
    }
}

/// `read_stream` of a whole socket or a reading half.
pub(crate) async fn read_stream<T: AsyncRead + AsyncWrite + Unpin>(
    mut conn: ConnRef<'_, T>,
) -> Result<MessageStream<'_, T>, Error> {
    conn.with(|c| c.core_mut().set_recv_streaming(true));
    loop {
        let (kind, chunk, done) = match read_event(|cx| conn.with(|c| c.poll_incoming(cx))).await? {
            Event::MessageStart(kind) => (kind, Bytes::new(), false),
            Event::Message(message) => (message.message_type(), message.into_data(), true),
            Event::Close(frame) => return Err(frame.into()),
            // Pings, pongs, and the rest of a message an earlier stream left unread.
            _ => continue,
        };
        return Ok(MessageStream {
            conn,
            kind,
            chunk,
            done,
        });
    }
}
