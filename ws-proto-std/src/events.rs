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
/// handed out until the resume (or a close, when reading comes back by itself), as none is
/// decoded. Only data messages are taken ahead; a ping or a Close behind them is decoded when
/// the iterator reaches it, so a reply to the messages before a Close still goes out.
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
        // The end comes from a read, which is made only once nothing taken ahead is left.
        if self.ended {
            return None;
        }
        loop {
            match self.ahead.next_item(self.ws, true) {
                Ok(Some(event)) => {
                    self.ended = matches!(event, Event::Close(_));
                    return Some(Ok(event));
                }
                // The core's `Drained`, which only the event client reports.
                Ok(None) => {}
                Err(e) => {
                    self.ended = true;
                    return Some(Err(e));
                }
            }
        }
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
    /// The next message taken ahead or, when none is left, the next item
    /// (`WebSocket::read_item`, read as `configured` says), after which the data messages
    /// behind it are taken.
    #[inline]
    pub(crate) fn next_item(
        &mut self,
        ws: &WebSocket,
        configured: bool,
    ) -> Result<Option<Event>, Error> {
        if !self.0.is_empty() && ws.pause_hinted() {
            // Paused since they were taken: they go back, for the reads after the resume.
            ws.hold_back_if_paused(&mut self.0);
        }
        if let Some(message) = self.0.pop_front() {
            return Ok(Some(Event::Message(message)));
        }
        let item = ws.read_item(configured);
        if let Ok(Some(Event::Message(_))) = &item {
            ws.take_ahead(&mut self.0);
        }
        item
    }

    /// Gives back what was not handed out: the next reads of `ws` return it first.
    pub(crate) fn give_back(&mut self, ws: &WebSocket) {
        if !self.0.is_empty() {
            ws.give_back(&mut self.0);
        }
    }
}
