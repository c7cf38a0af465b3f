//! [`Output`]: what [`ClientState::poll_output`](crate::ClientState::poll_output) yields.

use std::time::Instant;

use crate::event::Event;
use crate::transmit::Transmit;

/// The connection's outputs, one queue in the order to act on them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Output {
    /// Bytes to write to the transport, whole and in order.
    Transmit(Transmit),
    /// Something happened; commands issued while handling it are taken in order.
    Event(Event),
    /// Nothing more until new input, a command, or this deadline (`None`: no deadline), when
    /// [`handle_timeout`](crate::ClientState::handle_timeout) is due.
    Timeout(Option<Instant>),
}
