//! The zlib-rs calls of permessage-deflate, writing into a buffer's spare capacity.
//!
//! This is the crate's second `unsafe` module, beside `text.rs`. zlib writes its output into
//! memory it is given; handing it initialised memory means zeroing every byte first, which
//! flate2 does on each call over zlib-rs (its `*_uninit` and `*_vec` methods fall back to
//! zeroing), and which cost as much as a copy of every received compressed message. Here zlib
//! writes into the spare capacity of the output, and the output's length is then set to cover
//! exactly the bytes zlib reports having written: `total_out` counts them from its output
//! pointer, which only moves past bytes it has stored.
#![allow(unsafe_code)]

use std::mem::MaybeUninit;

use bytes::BytesMut;
use zlib_rs::{Deflate, DeflateFlush, Inflate, InflateFlush, Status};

/// A growable byte buffer whose spare capacity zlib can write into.
trait Spare {
    fn reserve_room(&mut self, room: usize);
    fn spare(&mut self) -> &mut [MaybeUninit<u8>];
    /// # Safety
    /// The `added` bytes after the current length are initialised, and within the capacity.
    unsafe fn add_len(&mut self, added: usize);
}

impl Spare for BytesMut {
    fn reserve_room(&mut self, room: usize) {
        self.reserve(room);
    }
    fn spare(&mut self) -> &mut [MaybeUninit<u8>] {
        self.spare_capacity_mut()
    }
    unsafe fn add_len(&mut self, added: usize) {
        // SAFETY: as the caller promises.
        unsafe { self.set_len(self.len() + added) }
    }
}

impl Spare for Vec<u8> {
    fn reserve_room(&mut self, room: usize) {
        self.reserve(room);
    }
    fn spare(&mut self) -> &mut [MaybeUninit<u8>] {
        self.spare_capacity_mut()
    }
    unsafe fn add_len(&mut self, added: usize) {
        // SAFETY: as the caller promises.
        unsafe { self.set_len(self.len() + added) }
    }
}

/// Runs one zlib call on at most `room` bytes of `out`'s spare capacity (reserved first) and
/// appends what it wrote. `call` gets the room and returns its result and the bytes written
/// as zlib counts them.
fn append<B: Spare, R>(
    out: &mut B,
    room: usize,
    call: impl FnOnce(&mut [MaybeUninit<u8>]) -> (R, u64),
) -> R {
    out.reserve_room(room);
    let (result, written) = call(&mut out.spare()[..room]);
    // zlib never reports more than it was given; a violation would be a bug there, and must
    // not become a length covering memory nobody wrote.
    let written = usize::try_from(written).ok().filter(|&n| n <= room);
    let written = written.expect("zlib wrote no more than its room");
    // SAFETY: zlib initialised the `written` bytes at the start of the room it was given, which
    // starts at the buffer's length and lies within its capacity.
    unsafe { out.add_len(written) };
    result
}

/// Inflates from `input` into at most `room` new bytes at the end of `out`. Returns zlib's
/// result, and the input consumed and output produced.
pub(crate) fn inflate(
    stream: &mut Inflate,
    input: &[u8],
    out: &mut BytesMut,
    room: usize,
) -> (Result<Status, zlib_rs::InflateError>, usize, usize) {
    let (in_before, out_before) = (stream.total_in(), stream.total_out());
    let status = append(out, room, |spare| {
        let status = stream.decompress_uninit(input, spare, InflateFlush::NoFlush);
        (status, stream.total_out() - out_before)
    });
    let consumed = (stream.total_in() - in_before) as usize;
    let produced = (stream.total_out() - out_before) as usize;
    (status, consumed, produced)
}

/// Deflates from `input` into the spare capacity of `out` (all of it, at least one byte).
/// Returns the input consumed.
pub(crate) fn deflate(
    stream: &mut Deflate,
    input: &[u8],
    out: &mut Vec<u8>,
    flush: DeflateFlush,
) -> usize {
    let (in_before, out_before) = (stream.total_in(), stream.total_out());
    let room = out.capacity() - out.len();
    append(out, room, |spare| {
        let status = stream.compress_uninit(input, spare, flush);
        status.expect("deflate cannot fail on a valid stream");
        ((), stream.total_out() - out_before)
    });
    (stream.total_in() - in_before) as usize
}
