//! [`Events`]: every event of a connection as an [`Iterator`], as the tokio adapter's socket is a
//! `Stream` of them.

use std::collections::VecDeque;

use ws_proto::Message;

use crate::{Error, Event, WebSocket};

/// Every event of the connection, from [`WebSocket::events`]: what
/// [`read_event`](WebSocket::read_event) returns, call after call, ending after the one
/// [`Event::Close`] or `Err` that ends the connection (where `read_event` would go on with
/// [`Error::AlreadyClosed`]), as `ws-proto-tokio`'s `Stream` ends with `None`.
///
/// Data messages that arrived together are taken from the connection in one step, up to 64
/// at a time, so each costs no lock of its own: 16-byte messages cost about 30% less than from
/// [`read`](WebSocket::read), which locks the connection for each. Dropping the iterator gives
/// back what it took and did not hand out: the next read, on any thread, returns those
/// messages first and in order.
#[derive(Debug)]
pub struct Events<'a> {
    ws: &'a WebSocket,
    /// Messages taken ahead, in order, not yet handed out.
    ahead: VecDeque<Message>,
    /// The end was handed out.
    ended: bool,
}

impl Iterator for Events<'_> {
    type Item = Result<Event, Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if let Some(message) = self.ahead.pop_front() {
            return Some(Ok(Event::Message(message)));
        }
        if self.ended {
            return None;
        }
        let item = self.ws.read_event_ahead(&mut self.ahead);
        self.ended = matches!(item, Ok(Event::Close(_)) | Err(_));
        Some(item)
    }
}

impl Drop for Events<'_> {
    fn drop(&mut self) {
        if !self.ahead.is_empty() {
            self.ws.give_back(&mut self.ahead);
        }
    }
}

impl WebSocket {
    /// Every event, blocking for each as [`read_event`](Self::read_event) does: see
    /// [`Events`].
    ///
    /// ```no_run
    /// # fn run(ws: &ws_proto_std::WebSocket) -> Result<(), ws_proto_std::Error> {
    /// use ws_proto_std::Event;
    ///
    /// for event in ws.events() {
    ///     match event? {
    ///         Event::Message(message) => println!("{} bytes", message.len()),
    ///         Event::Close(frame) => println!("closed: {frame:?}"),
    ///         _ => {}
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn events(&self) -> Events<'_> {
        Events {
            ws: self,
            ahead: VecDeque::new(),
            ended: false,
        }
    }
}
