//! Deadlines. The core never reads a clock: every deadline is computed from a `now` passed in.

use std::time::Instant;

/// A deadline the state machine may set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// The opening handshake must finish by then.
    Handshake = 0,
    /// Send the next keepalive ping.
    Ping = 1,
    /// Something must have arrived since the keepalive ping.
    Pong = 2,
    /// The closing handshake must finish by then.
    Close = 3,
}

const ALL: [Timer; 4] = [Timer::Handshake, Timer::Ping, Timer::Pong, Timer::Close];

/// One optional deadline per [`Timer`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Timers {
    deadlines: [Option<Instant>; 4],
}

impl Timers {
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        self.deadlines[timer as usize] = Some(at);
    }

    pub(crate) fn stop(&mut self, timer: Timer) {
        self.deadlines[timer as usize] = None;
    }

    pub(crate) fn is_set(&self, timer: Timer) -> bool {
        self.deadlines[timer as usize].is_some()
    }

    pub(crate) fn stop_all(&mut self) {
        self.deadlines = [None; 4];
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// Stops and returns the earliest timer due at `now`, if any.
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<Timer> {
        let timer = ALL
            .into_iter()
            .filter(|t| self.deadlines[*t as usize].is_some_and(|at| at <= now))
            .min_by_key(|t| self.deadlines[*t as usize])?;
        self.stop(timer);
        Some(timer)
    }
}
