//! The reader and writer halves of a [`WebSocket`](crate::WebSocket), for separate tasks.
//!
//! Both share the connection behind a mutex that is held only inside a poll, never across an
//! await, so neither half can block the other. Once the halves are polled from two tasks, the
//! transport is polled with a waker that wakes both (see `wake.rs`): the reader writes pongs
//! and close echoes, the writer's backpressure is released by the reader's progress, and
//! neither misses the other's readiness.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use futures_core::Stream;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::conn::Conn;
use crate::stream::{poll_item, read_data, read_event, read_message, WebSocket};
use crate::streaming::{read_stream, ConnRef, MessageStream};
use crate::{Error, Event, Message, MessageRef};

type Shared<T> = Arc<Mutex<Conn<T>>>;

fn lock<T>(shared: &Shared<T>) -> MutexGuard<'_, Conn<T>> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn split<T>(conn: Conn<T>) -> (WsWriter<T>, WsReader<T>) {
    let shared = Arc::new(Mutex::new(conn));
    (
        WsWriter {
            shared: shared.clone(),
        },
        WsReader { shared },
    )
}

/// The receiving half: a [`Stream`] of [`Event`]s. Polling it also writes pongs, close echoes
/// and keepalive pings, and runs the timers, so keep it polled.
#[derive(Debug)]
pub struct WsReader<T> {
    shared: Shared<T>,
}

impl<T: AsyncRead + AsyncWrite + Unpin> WsReader<T> {
    /// The next event; see [`WebSocket::read_event`].
    pub async fn read_event(&mut self) -> Result<Event, Error> {
        lock(&self.shared).stream_as_configured();
        read_event(|cx| lock(&self.shared).poll_incoming(cx)).await
    }

    /// The next data message; see [`WebSocket::read`].
    pub async fn read(&mut self) -> Result<Message, Error> {
        lock(&self.shared).core_mut().set_recv_streaming(false);
        read_message(|cx| lock(&self.shared).poll_incoming(cx)).await
    }

    /// The next data message, lent to `read`; see [`WebSocket::read_with`].
    pub async fn read_with<R>(
        &mut self,
        mut read: impl FnMut(MessageRef<'_>) -> R,
    ) -> Result<R, Error> {
        lock(&self.shared).core_mut().set_recv_streaming(false);
        read_data(|cx| lock(&self.shared).poll_message_with(cx, &mut read)).await
    }

    /// The next data message, read as it arrives; see [`WebSocket::read_stream`].
    pub async fn read_stream(&mut self) -> Result<MessageStream<'_, T>, Error> {
        read_stream(ConnRef::Shared(&self.shared)).await
    }

    /// Puts the socket back together from the two halves of one
    /// [`split`](WebSocket::split), as `SplitStream::reunite` does; halves of different sockets
    /// are handed back in the error.
    pub fn reunite(self, writer: WsWriter<T>) -> Result<WebSocket<T>, ReuniteError<T>> {
        if !Arc::ptr_eq(&self.shared, &writer.shared) {
            return Err(ReuniteError(writer, self));
        }
        drop(writer);
        let conn = Arc::try_unwrap(self.shared)
            .unwrap_or_else(|_| unreachable!("both halves were taken, so the Arc is unique"))
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        Ok(WebSocket::from_conn(conn))
    }
}

/// The halves given to [`WsReader::reunite`] came from different sockets; here they are back.
#[derive(Debug)]
pub struct ReuniteError<T>(pub WsWriter<T>, pub WsReader<T>);

impl<T> std::fmt::Display for ReuniteError<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("tried to reunite the halves of two different WebSockets")
    }
}

impl<T: std::fmt::Debug> std::error::Error for ReuniteError<T> {}

impl<T: AsyncRead + AsyncWrite + Unpin> Stream for WsReader<T> {
    type Item = Result<Event, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut conn = lock(&self.shared);
        conn.stream_as_configured();
        poll_item(conn.poll_incoming(cx))
    }
}

/// The sending half: a [`Sink`](futures_sink::Sink) of [`Message`](crate::Message)s with the same batching and backpressure as the
/// whole socket.
#[derive(Debug)]
pub struct WsWriter<T> {
    shared: Shared<T>,
}

impl<T: AsyncRead + AsyncWrite + Unpin> WsWriter<T> {
    fn with_conn<R>(&mut self, f: impl FnOnce(&mut Conn<T>) -> R) -> R {
        f(&mut lock(&self.shared))
    }

    /// Bytes sent but not yet handed to the transport.
    pub fn buffered_amount(&self) -> usize {
        lock(&self.shared).core().buffered_amount()
    }
}

crate::sending::sending!(WsWriter);
