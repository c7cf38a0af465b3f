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
use tokio::io::{AsyncRead, AsyncWrite};

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
