//! The zlib-rs calls of permessage-deflate, writing into a buffer's spare capacity.
//!
//! One of the crate's three `unsafe` modules (with `text.rs` and `mask.rs`). zlib writes its output
//! into memory it is given; handing it initialised memory means zeroing every byte first, which
//! flate2 does on each call over zlib-rs (its `*_uninit` and `*_vec` methods fall back to zeroing),
//! and which cost as much as a copy of every received compressed message. Here zlib writes into the
//! spare capacity of the output, and the output's length is then set to cover exactly the bytes
//! zlib reports having written: `total_out` counts them from its output pointer, which only moves
//! past bytes it has stored.
#![allow(unsafe_code)]

use std::mem::MaybeUninit;

use bytes::{BufMut, BytesMut};
use zlib_rs::{Deflate, DeflateFlush, Inflate, InflateFlush, Status};

/// Runs one zlib call on the first `room` bytes of `out`'s spare capacity (which the caller
/// reserved) and appends what it wrote. `call` gets the room and returns its result and the
/// bytes written as zlib counts them; both are returned.
fn append<R>(
    out: &mut impl BufMut,
    room: usize,
    call: impl FnOnce(&mut [MaybeUninit<u8>]) -> (R, u64),
) -> (R, usize) {
    // SAFETY: zlib neither reads the room nor writes uninitialised bytes into it.
    let spare = unsafe { out.chunk_mut().as_uninit_slice_mut() };
    let (result, written) = call(&mut spare[..room]);
    // zlib never reports more than it was given; a violation would be a bug there, and must
    // not become a length covering memory nobody wrote.
    let written = usize::try_from(written).ok().filter(|&n| n <= room);
    let written = written.expect("zlib wrote no more than its room");
    // SAFETY: zlib initialised the `written` bytes at the start of the room, which starts at
    // the buffer's length and lies within its capacity.
    unsafe { out.advance_mut(written) };
    (result, written)
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
    out.reserve(room);
    let (status, produced) = append(out, room, |spare| {
        let status = stream.decompress_uninit(input, spare, InflateFlush::NoFlush);
        (status, stream.total_out() - out_before)
    });
    let consumed = (stream.total_in() - in_before) as usize;
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
