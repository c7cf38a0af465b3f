//! [`ReadLease`]: the receive buffer's spare room, lent out so a transport reads straight into it.

use bytes::buf::Limit;
use bytes::{BufMut, BytesMut};

/// Room in the connection's receive buffer, lent by
/// [`ClientState::lease_read`](crate::ClientState::lease_read) so the transport reads into it
/// without a copy, and handed back with
/// [`ClientState::handle_lease`](crate::ClientState::handle_lease).
///
/// The lease owns the room, so the connection can be unlocked while a read blocks (another
/// thread may send meanwhile). While it is out the connection takes no other input:
/// `handle_input`, `handle_eof` and a second `lease_read` return
/// [`InputError::LeaseOutstanding`](crate::InputError::LeaseOutstanding).
#[must_use = "hand the lease back with `ClientState::handle_lease`: until then the connection takes no input"]
#[derive(Debug)]
pub struct ReadLease {
    /// Empty at first: only its spare capacity is lent.
    pub(crate) buf: BytesMut,
    /// How much of the spare capacity a read may fill.
    pub(crate) room: usize,
    /// The number of the connection that lent it, so another connection refuses it.
    pub(crate) owner: u32,
}

impl ReadLease {
    /// The room for a read that appends, such as tokio's `AsyncReadExt::read_buf`: its spare
    /// capacity, limited to [`room`](Self::room).
    pub fn buf_mut(&mut self) -> Limit<&mut BytesMut> {
        let spare = self.spare();
        (&mut self.buf).limit(spare)
    }

    /// Runs `read` on the room as initialized memory (zeroed first, since `std::io::Read`
    /// needs it) and keeps the `Ok(n)` bytes it reports; an error keeps nothing.
    pub fn fill_with<E>(
        &mut self,
        read: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<usize, E> {
        let (start, spare) = (self.buf.len(), self.spare());
        self.buf.resize(start + spare, 0);
        let result = read(&mut self.buf[start..]);
        let kept = result.as_ref().map_or(0, |n| *n);
        self.buf.truncate(start + kept.min(spare));
        result
    }

    /// What is left of the room.
    fn spare(&self) -> usize {
        self.room.saturating_sub(self.buf.len())
    }

    /// Bytes read into the lease so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing has been read into the lease.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// How many bytes the lease takes in all: the receive buffer's spare room, sized by the
    /// [`ReadSize`](crate::ReadSize) policy (or by what a large frame still needs) and at most
    /// [`READ_ROOM`](crate::READ_ROOM).
    pub fn room(&self) -> usize {
        self.room
    }
}
