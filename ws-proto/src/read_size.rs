//! How much room to offer the next read: grown while reads fill what they are offered (a burst
//! or a large message then arrives in few reads), shrunk while they bring small pieces (so an
//! idle connection, or one trading small messages, holds little).

/// The most room a read is offered: large enough that a burst of small messages arrives in few
/// reads. (Receiving 1 KiB messages over loopback, reads of up to 256 KiB took a quarter less
/// CPU per message than reads of up to 32 KiB; receiving 1 MiB messages, 4-13% less than 64 KiB
/// reads.)
pub const READ_ROOM: usize = 256 << 10;

/// The room of a new connection's first reads: the handshake's response fits many times over,
/// and a stream of messages grows it to `READ_ROOM` in two full reads. Starting at `READ_ROOM`
/// would reserve 256 KiB for every handshake.
const FIRST_READ_ROOM: usize = 32 << 10;

/// The least room offered once reads bring only small pieces: small enough to be kept between
/// the reads of a request-response exchange instead of being allocated for each.
pub(crate) const MIN_READ_ROOM: usize = 1 << 10;

/// The read-size policy, shared by the core's receive buffer and by any buffer an adapter reads
/// into itself (ciphertext for TLS).
///
/// ```
/// let mut size = ws_proto::ReadSize::default();
/// let first = size.get();
/// size.record(first, first); // the read filled its room: offer more next time
/// assert_eq!(size.get(), 4 * first);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadSize {
    room: usize,
}

impl Default for ReadSize {
    fn default() -> Self {
        ReadSize {
            room: FIRST_READ_ROOM,
        }
    }
}

impl ReadSize {
    /// The room to offer the next read, between 1 KiB and [`READ_ROOM`].
    pub fn get(&self) -> usize {
        self.room
    }

    /// Records that a read offered `offered` bytes of room brought `read`. A read that filled
    /// its room quadruples the next; one that brought an eighth or less halves it. A read that
    /// brought nothing (it would block) says nothing about sizes.
    pub fn record(&mut self, read: usize, offered: usize) {
        if read == 0 {
            return;
        }
        if read >= offered {
            self.room = (self.room * 4).min(READ_ROOM);
        } else if read <= offered / 8 {
            self.room = (self.room / 2).max(MIN_READ_ROOM);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_while_reads_fill_and_shrinks_while_they_trickle() {
        let mut size = ReadSize::default();
        let mut seen = Vec::new();
        for read in [
            32 << 10,
            128 << 10,
            256 << 10,
            0,
            100 << 10,
            100,
            100,
            100,
            100,
            100,
        ] {
            let offered = size.get();
            size.record(read.min(offered), offered);
            seen.push(size.get() >> 10);
        }
        assert_eq!(seen, [128, 256, 256, 256, 256, 128, 64, 32, 16, 8]);
        for _ in 0..10 {
            size.record(1, size.get());
        }
        assert_eq!(size.get(), MIN_READ_ROOM);
    }
}
