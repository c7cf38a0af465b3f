//! The reader and writer halves of a [`WebSocket`](crate::WebSocket), for separate tasks.
//!
//! Both share the connection behind a mutex that is held only inside a poll, never across an
//! await, so neither half can block the other. The transport is polled with a waker that wakes
//! both halves (see `wake.rs`): the reader writes pongs and close echoes, the writer's
//! backpressure is released by the reader's progress, and neither misses the other's readiness.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_sink::Sink;
use tokio::io::{AsyncRead, AsyncWrite};
use ws_proto::{CloseCode, Message};

use crate::conn::Conn;
use crate::stream::{poll_item, Event};
use crate::Error;

type Shared<T> = Arc<Mutex<Conn<T>>>;

fn lock<T>(shared: &Shared<T>) -> MutexGuard<'_, Conn<T>> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn split<T>(conn: Conn<T>) -> (WsReader<T>, WsWriter<T>) {
    let shared = Arc::new(Mutex::new(conn));
    (
        WsReader {
            shared: shared.clone(),
        },
        WsWriter { shared },
    )
}

/// The receiving half: a [`Stream`] of [`Event`]s. Polling it also writes pongs, close echoes
/// and keepalive pings, and runs the timers, so keep it polled.
#[derive(Debug)]
pub struct WsReader<T> {
    shared: Shared<T>,
}

impl<T: AsyncRead + AsyncWrite + Unpin> WsReader<T> {
    /// The next event, or `None` once the connection is over.
    ///
    /// Cancel-safe: a dropped call has consumed no event; bytes it read are kept for the next.
    pub async fn recv(&mut self) -> Option<Result<Event, Error>> {
        poll_fn(|cx| poll_item(lock(&self.shared).poll_incoming(cx))).await
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> Stream for WsReader<T> {
    type Item = Result<Event, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        poll_item(lock(&self.shared).poll_incoming(cx))
    }
}

/// The sending half: a [`Sink`] of [`Message`]s with the same batching and backpressure as the
/// whole socket.
#[derive(Debug)]
pub struct WsWriter<T> {
    shared: Shared<T>,
}

impl<T: AsyncRead + AsyncWrite + Unpin> WsWriter<T> {
    /// Sends a message and writes it out; a large payload nothing else shares is not copied
    /// (see [`WebSocket::send`](crate::WebSocket::send)).
    ///
    /// Cancel-safe: dropped while waiting for buffer space, the message was not queued; dropped
    /// while writing, it is queued whole and goes out with the next flush, send or read.
    pub async fn send(&mut self, message: Message) -> Result<(), Error> {
        self.feed(message).await?;
        self.flush().await
    }

    /// Sends a text message; see [`send`](Self::send).
    pub async fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.feed_text(text).await?;
        self.flush().await
    }

    /// Sends a binary message; see [`send`](Self::send).
    pub async fn send_binary(&mut self, data: &[u8]) -> Result<(), Error> {
        self.feed_binary(data).await?;
        self.flush().await
    }

    /// Queues a message without writing it, waiting first for buffer space.
    ///
    /// Cancel-safe: a dropped call has not queued the message.
    pub async fn feed(&mut self, message: Message) -> Result<(), Error> {
        poll_fn(|cx| lock(&self.shared).poll_ready(cx)).await?;
        lock(&self.shared).start_send(message)
    }

    /// Queues a text message from a borrowed string; see [`feed`](Self::feed).
    pub async fn feed_text(&mut self, text: &str) -> Result<(), Error> {
        poll_fn(|cx| lock(&self.shared).poll_ready(cx)).await?;
        lock(&self.shared).send_text(text)
    }

    /// Queues a binary message from a borrowed slice; see [`feed`](Self::feed).
    pub async fn feed_binary(&mut self, data: &[u8]) -> Result<(), Error> {
        poll_fn(|cx| lock(&self.shared).poll_ready(cx)).await?;
        lock(&self.shared).send_binary(data)
    }

    /// Writes everything queued.
    ///
    /// Cancel-safe: what a dropped call did not write stays queued, in order.
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| lock(&self.shared).poll_flush(cx)).await
    }

    /// Sends a ping (at most 125 bytes) and writes it out.
    ///
    /// Cancel-safe: the ping is queued before the first await.
    pub async fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        lock(&self.shared).send_ping(payload)?;
        self.flush().await
    }

    /// Starts the closing handshake and writes the Close frame; the reader then yields the
    /// server's answer and ends.
    ///
    /// Cancel-safe: the Close frame is queued before the first await.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        lock(&self.shared).close(code, reason)?;
        self.flush().await
    }

    /// Bytes sent but not yet handed to the transport.
    pub fn buffered_amount(&self) -> usize {
        lock(&self.shared).core().buffered_amount()
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> Sink<Message> for WsWriter<T> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        lock(&self.shared).poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        lock(&self.shared).start_send(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        lock(&self.shared).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        lock(&self.shared).poll_close(cx)
    }
}
