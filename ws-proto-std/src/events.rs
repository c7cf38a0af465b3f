//! [`Events`]: every event of a connection as an [`Iterator`], as the tokio adapter's socket is a
//! `Stream` of them; and [`Ahead`], the messages it takes from the connection in one step, which
//! the event client takes the same way.

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
/// messages first and in order. After [`pause_recv`](WebSocket::pause_recv) none of them is
/// handed out until the resume, as none is decoded.
#[derive(Debug)]
pub struct Events<'a> {
    ws: &'a WebSocket,
    ahead: Ahead,
    /// The end was handed out.
    ended: bool,
}

impl Iterator for Events<'_> {
    type Item = Result<Event, Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if let Some(message) = self.ahead.next(self.ws) {
            return Some(Ok(Event::Message(message)));
        }
        if self.ended {
            return None;
        }
        let item = self.ws.read_event();
        if let Ok(event) = &item {
            self.ahead.take_after(self.ws, event);
        }
        self.ended = matches!(item, Ok(Event::Close(_)) | Err(_));
        Some(item)
    }
}

impl Drop for Events<'_> {
    fn drop(&mut self) {
        self.ahead.give_back(self.ws);
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
            ahead: Ahead::default(),
            ended: false,
        }
    }
}

/// Data messages taken from a connection ahead of their reader, in order, handed out without
/// its lock. Whoever holds them gives them back before letting the connection go.
#[derive(Debug, Default)]
pub(crate) struct Ahead(VecDeque<Message>);

impl Ahead {
    /// The next message taken ahead. Once receiving is paused they all go back to `ws`, for
    /// its reads to return after the resume.
    #[inline]
    pub(crate) fn next(&mut self, ws: &WebSocket) -> Option<Message> {
        if !self.0.is_empty() && ws.pause_hinted() {
            ws.hold_back_if_paused(&mut self.0);
        }
        self.0.pop_front()
    }

    /// After `event` was read from `ws`: when it is a data message, takes the messages the core
    /// has decoded behind it (other events stay for the reads).
    pub(crate) fn take_after(&mut self, ws: &WebSocket, event: &Event) {
        if let Event::Message(_) = event {
            ws.take_ahead(&mut self.0);
        }
    }

    /// Gives back what was not handed out: the next reads of `ws` return it first.
    pub(crate) fn give_back(&mut self, ws: &WebSocket) {
        if !self.0.is_empty() {
            ws.give_back(&mut self.0);
        }
    }
}
