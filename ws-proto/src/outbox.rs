//! [`Outbox`]: a reconnecting client's messages until a connection is known to have carried
//! them. Messages sent between connections wait here and go out, in order, on the next one;
//! messages handed to a connection stay until the server is known to have read them, so a
//! connection that fails gives back exactly what may not have arrived.

use std::collections::VecDeque;

use crate::client::ClientState;
use crate::error::SendError;
use crate::message::Message;

/// The bytes that open an acknowledgement ping's payload; the ping's number follows.
const ACK_TAG: &[u8; 8] = b"ws-proto";

/// Messages of a reconnecting client that no connection has yet been shown to deliver.
///
/// A message is *delivered* once the server has read it: a pong answering a ping sent after it
/// proves that (RFC 6455 §5.5.3: a pong answers the ping it echoes, and the server reads in
/// order), and so does a clean close (the server read the client's Close, which came after
/// every message). While messages are unacknowledged the outbox keeps one such ping in flight,
/// the next going out when its pong returns, so acknowledgements cost one small frame per round
/// trip, not one per message. Those pongs are the outbox's own; [`handle_pong`] says so, and
/// adapters do not report them.
///
/// Everything else is either waiting (sent while no connection could take it, or while the
/// connection's buffer was full) or, when a connection ends without a clean close, given back by
/// [`detach`] as *undelivered*: the server may have read some of it, but nothing shows that it
/// did. [`stop`] gives back everything left. Nothing accepted is dropped silently.
///
/// The payloads held count against a limit ([`ClientOptions::outbox_limit`]); past it a send is
/// refused with [`SendError::BufferFull`] until acknowledgements or the next connection make
/// room. A server that never answers pings (which RFC 6455 §5.5.2 requires) holds its messages
/// here until the limit, then sends wait.
///
/// [`handle_pong`]: Self::handle_pong
/// [`detach`]: Self::detach
/// [`stop`]: Self::stop
/// [`ClientOptions::outbox_limit`]: crate::ClientOptions
#[derive(Debug)]
pub struct Outbox {
    /// Accepted and not yet handed to a connection, in order.
    waiting: VecDeque<Message>,
    /// Handed to the current connection and not yet acknowledged, each with the number of
    /// the acknowledgement ping that will cover it.
    unacked: VecDeque<(u64, Message)>,
    /// Payload bytes in both queues.
    bytes: usize,
    limit: usize,
    /// The number of the next acknowledgement ping.
    next_ack: u64,
    /// The acknowledgement ping in flight on the current connection.
    in_flight: Option<u64>,
    /// The limit was reached (a send filled it, or was refused); cleared, and reported once,
    /// when there is room again.
    full: bool,
    /// The limit was reached and `poll_full` has not said so yet.
    newly_full: bool,
    /// `stop` was called: nothing more is accepted.
    stopped: bool,
}

impl Outbox {
    /// An empty outbox holding at most `limit` payload bytes.
    pub fn new(limit: usize) -> Outbox {
        Outbox {
            waiting: VecDeque::new(),
            unacked: VecDeque::new(),
            bytes: 0,
            limit,
            next_ack: 0,
            in_flight: None,
            full: false,
            newly_full: false,
            stopped: false,
        }
    }

    /// Accepts `message`: hands it to `connection` (the current one, if its transport is up)
    /// when nothing is waiting before it and the connection takes it; otherwise it waits for
    /// [`pump`](Self::pump). Refused, changing nothing, when the outbox is at its limit
    /// ([`SendError::BufferFull`]) or stopped ([`SendError::Closed`]).
    pub fn send(
        &mut self,
        message: Message,
        connection: Option<&mut ClientState>,
    ) -> Result<(), SendError> {
        self.check_send()?;
        self.bytes += message.len();
        self.waiting.push_back(message);
        if self.bytes >= self.limit {
            self.mark_full();
        }
        if let Some(connection) = connection {
            self.pump(connection);
        }
        Ok(())
    }

    /// Whether [`send`](Self::send) would accept a message now. A refusal for the limit counts
    /// as a send refused: [`poll_drained`](Self::poll_drained) reports the room coming back, so
    /// a caller that waited for it hears of it.
    pub fn check_send(&mut self) -> Result<(), SendError> {
        if self.stopped {
            return Err(SendError::Closed);
        }
        if self.bytes >= self.limit {
            self.mark_full();
            return Err(SendError::BufferFull {
                buffered: self.bytes,
                limit: self.limit,
            });
        }
        Ok(())
    }

    /// Hands waiting messages to `connection`, in order, while it takes them (it refuses once
    /// its send buffer is full; call this again after its `Drained`). Call it when a
    /// connection's transport is up: the core queues them until the server accepts the
    /// handshake, ahead of anything sent later.
    pub fn pump(&mut self, connection: &mut ClientState) {
        while let Some(message) = self.waiting.front() {
            // A clone shares the payload: the outbox keeps the message until it is
            // acknowledged.
            if connection.send_message(message.clone()).is_err() {
                break;
            }
            let message = self.waiting.pop_front().expect("front() was Some");
            self.unacked.push_back((self.next_ack, message));
        }
        self.request_ack(connection);
    }

    /// Sends an acknowledgement ping for what is unacknowledged, unless one is in flight.
    fn request_ack(&mut self, connection: &mut ClientState) {
        let covers = self.unacked.back().map(|(ack, _)| *ack);
        if self.in_flight.is_some() || covers != Some(self.next_ack) {
            return;
        }
        let mut payload = [0; 16];
        payload[..8].copy_from_slice(ACK_TAG);
        payload[8..].copy_from_slice(&self.next_ack.to_be_bytes());
        // Refused only when the connection is ending: `detach` then settles the messages.
        if connection.send_untimed_ping(&payload).is_ok() {
            self.in_flight = Some(self.next_ack);
            self.next_ack += 1;
        }
    }

    /// Takes a pong from `connection`: returns whether it answered the outbox's ping (the
    /// adapter then does not report it). Its answer releases every message sent before that
    /// ping, and the next ping goes out if messages remain unacknowledged.
    pub fn handle_pong(&mut self, payload: &[u8], connection: &mut ClientState) -> bool {
        let Some(number) = self.in_flight else {
            return false;
        };
        if payload.len() != 16 || &payload[..8] != ACK_TAG || payload[8..] != number.to_be_bytes() {
            return false;
        }
        self.in_flight = None;
        while let Some((ack, message)) = self.unacked.front() {
            if *ack > number {
                break;
            }
            self.bytes -= message.len();
            self.unacked.pop_front();
        }
        self.request_ack(connection);
        true
    }

    /// The current connection ended. After a clean close every message it carried was read by
    /// the server; otherwise those not acknowledged are returned, in order, as undelivered.
    /// Waiting messages stay for the next connection.
    pub fn detach(&mut self, clean: bool) -> Vec<Message> {
        self.in_flight = None;
        let carried: Vec<Message> = self.unacked.drain(..).map(|(_, m)| m).collect();
        self.bytes -= carried.iter().map(Message::len).sum::<usize>();
        if clean {
            Vec::new()
        } else {
            carried
        }
    }

    /// The current connection ended before the server accepted the handshake, so nothing
    /// handed to it was sent: those messages wait again, ahead of the others, in order.
    pub fn requeue(&mut self) {
        self.in_flight = None;
        while let Some((_, message)) = self.unacked.pop_back() {
            self.waiting.push_front(message);
        }
    }

    /// No connection will follow: returns every waiting message, in order, and refuses later
    /// sends. Call [`detach`](Self::detach) first for a connection still up.
    pub fn stop(&mut self) -> Vec<Message> {
        self.stopped = true;
        self.bytes -= self.waiting.iter().map(Message::len).sum::<usize>();
        self.waiting.drain(..).collect()
    }

    fn mark_full(&mut self) {
        self.newly_full |= !self.full;
        self.full = true;
    }

    /// Whether the outbox reached its limit since the last call (Workerman's `onBufferFull`):
    /// reported once, until [`poll_drained`](Self::poll_drained) has reported room again.
    pub fn poll_full(&mut self) -> bool {
        std::mem::take(&mut self.newly_full)
    }

    /// Whether the limit was reached and there is room again; reports it once
    /// (Workerman's `onBufferDrain`).
    pub fn poll_drained(&mut self) -> bool {
        let drained = self.full && self.bytes < self.limit;
        if drained {
            self.full = false;
        }
        drained
    }

    /// Payload bytes held: waiting and unacknowledged.
    pub fn buffered_amount(&self) -> usize {
        self.bytes
    }

    /// Messages held: waiting and unacknowledged.
    pub fn len(&self) -> usize {
        self.waiting.len() + self.unacked.len()
    }

    /// Whether no message is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::{Config, Request};

    fn connection() -> ClientState {
        let request = Request::new("ws://example.com/").unwrap();
        ClientState::new(request, Config::default(), [1; 32], Instant::now())
    }

    fn ack(number: u64) -> Vec<u8> {
        [&ACK_TAG[..], &number.to_be_bytes()].concat()
    }

    #[test]
    fn waits_then_goes_out_in_order_and_is_released_by_its_pong() {
        let mut outbox = Outbox::new(100);
        outbox.send(Message::text("a"), None).unwrap();
        outbox.send(Message::text("bc"), None).unwrap();
        assert_eq!((outbox.len(), outbox.buffered_amount()), (2, 3));
        let mut conn = connection();
        outbox.pump(&mut conn);
        outbox.send(Message::text("d"), Some(&mut conn)).unwrap();
        // A foreign pong, and one for a ping not in flight, release nothing.
        assert!(!outbox.handle_pong(b"", &mut conn));
        assert!(!outbox.handle_pong(&ack(1), &mut conn));
        // Ping 0 followed "a" and "bc"; "d" went after it, and ping 1 goes out for it now.
        assert!(outbox.handle_pong(&ack(0), &mut conn));
        assert_eq!(outbox.len(), 1);
        assert!(outbox.handle_pong(&ack(1), &mut conn));
        assert!(outbox.is_empty());
        assert_eq!(outbox.buffered_amount(), 0);
    }

    #[test]
    fn a_failed_connection_gives_back_what_was_not_acknowledged() {
        let mut outbox = Outbox::new(100);
        let mut conn = connection();
        outbox.send(Message::text("one"), Some(&mut conn)).unwrap();
        outbox.send(Message::text("two"), Some(&mut conn)).unwrap();
        assert!(outbox.handle_pong(&ack(0), &mut conn));
        outbox.send(Message::text("three"), None).unwrap();
        assert_eq!(outbox.detach(false), [Message::text("two")]);
        // "three" never reached a connection: it waits for the next, then is given back.
        assert_eq!(outbox.stop(), [Message::text("three")]);
        assert_eq!(outbox.buffered_amount(), 0);
        assert_eq!(
            outbox.send(Message::text("late"), None),
            Err(SendError::Closed)
        );
    }

    #[test]
    fn a_clean_close_delivers_everything_it_carried() {
        let mut outbox = Outbox::new(100);
        let mut conn = connection();
        outbox.send(Message::text("one"), Some(&mut conn)).unwrap();
        assert!(outbox.detach(true).is_empty());
        assert!(outbox.is_empty());
    }

    #[test]
    fn the_limit_refuses_then_reports_room_once() {
        let mut outbox = Outbox::new(4);
        let mut conn = connection();
        outbox
            .send(Message::binary(vec![0; 3]), Some(&mut conn))
            .unwrap();
        assert!(!outbox.poll_full());
        // The send that reaches the limit fills it: reported once, refusals included.
        outbox.send(Message::text("x"), Some(&mut conn)).unwrap();
        assert!(outbox.poll_full());
        assert_eq!(
            outbox.send(Message::text("x"), None),
            Err(SendError::BufferFull {
                buffered: 4,
                limit: 4
            })
        );
        assert!(!outbox.poll_full());
        assert!(!outbox.poll_drained());
        assert!(outbox.handle_pong(&ack(0), &mut conn));
        assert!(outbox.poll_drained());
        assert!(!outbox.poll_drained());
        // Full again: a new report.
        outbox
            .send(Message::binary(vec![0; 4]), Some(&mut conn))
            .unwrap();
        assert!(outbox.poll_full());
    }
}
