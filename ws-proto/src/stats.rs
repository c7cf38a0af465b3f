//! [`Stats`]: what went through a connection, counted as it goes.

/// What went through a connection so far, for metrics and logs
/// ([`ClientState::stats`](crate::ClientState::stats)). Counting costs an addition or two per
/// message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Data messages received (a streamed one counts at its end).
    pub messages_received: u64,
    /// Data messages accepted for sending (one sent in parts counts at its end).
    pub messages_sent: u64,
    /// Payload bytes of the data messages received, inflated when compressed.
    pub payload_received: u64,
    /// Payload bytes of the data messages accepted for sending, before compression.
    pub payload_sent: u64,
    /// Bytes read from the transport (the handshake response included): with
    /// `payload_received`, what compression saved.
    pub bytes_received: u64,
    /// Bytes handed out to be written (the handshake request included).
    pub bytes_sent: u64,
}
