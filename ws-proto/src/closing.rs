//! The closing handshake (RFC 6455 §7.1): which Close frames were requested, sent and received,
//! and the end of the stream that completes it.

use crate::close::CloseCode;

/// Where the closing handshake stands.
#[derive(Debug, Default)]
enum Stage {
    /// No Close frame requested, sent or received.
    #[default]
    None,
    /// `close` was called before the opening handshake completed; the Close goes out right
    /// after it, behind the messages queued before.
    Requested(CloseCode, String),
    /// The client's Close went out first (a requested close, or a failure); the server's is
    /// awaited.
    Sent,
    /// The server's Close arrived: its code (1005 when it had none) and reason. The client's
    /// Close has gone out too, first or as the echo.
    Received(CloseCode, String),
}

/// The closing handshake and the end of stream, in one place.
#[derive(Debug, Default)]
pub(crate) struct Closing {
    stage: Stage,
    /// The transport's read side ended; acted on once the input before it is decoded.
    eof: bool,
}

impl Closing {
    /// Whether a Close was requested, sent or received: no data may be sent any more.
    pub(crate) fn is_started(&self) -> bool {
        !matches!(self.stage, Stage::None)
    }

    /// Whether a Close frame from the client is on the wire (or queued for it).
    pub(crate) fn is_sent(&self) -> bool {
        matches!(self.stage, Stage::Sent | Stage::Received(..))
    }

    /// Whether the server's Close arrived: whatever follows it is discarded (§1.4).
    pub(crate) fn is_received(&self) -> bool {
        matches!(self.stage, Stage::Received(..))
    }

    /// Records a close requested before the opening handshake completed.
    pub(crate) fn request(&mut self, code: CloseCode, reason: &str) {
        self.stage = Stage::Requested(code, reason.to_owned());
    }

    /// The close requested before the opening handshake, to be sent now that it completed.
    pub(crate) fn take_requested(&mut self) -> Option<(CloseCode, String)> {
        match std::mem::take(&mut self.stage) {
            Stage::Requested(code, reason) => Some((code, reason)),
            other => {
                self.stage = other;
                None
            }
        }
    }

    /// The client's Close went out.
    pub(crate) fn sent(&mut self) {
        if !self.is_sent() {
            self.stage = Stage::Sent;
        }
    }

    /// The server's Close arrived. Returns whether the client must answer it: §5.5.1, "If an
    /// endpoint receives a Close frame and did not previously send a Close frame, the endpoint
    /// MUST send a Close frame in response."
    pub(crate) fn received(&mut self, code: CloseCode, reason: String) -> bool {
        let answer = !self.is_sent();
        self.stage = Stage::Received(code, reason);
        answer
    }

    /// The server's code and reason, once, to report a clean end.
    pub(crate) fn take_received(&mut self) -> Option<(CloseCode, String)> {
        match std::mem::take(&mut self.stage) {
            Stage::Received(code, reason) => {
                // Stays "sent": the connection ends right after this.
                self.stage = Stage::Sent;
                Some((code, reason))
            }
            other => {
                self.stage = other;
                None
            }
        }
    }

    /// The transport's read side ended.
    pub(crate) fn set_eof(&mut self) {
        self.eof = true;
    }

    /// Whether the end of stream was seen and not yet acted on; clears it.
    pub(crate) fn take_eof(&mut self) -> bool {
        std::mem::take(&mut self.eof)
    }

    /// Whether the end of stream was seen.
    pub(crate) fn is_eof(&self) -> bool {
        self.eof
    }
}
