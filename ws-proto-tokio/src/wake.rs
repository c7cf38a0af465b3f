//! One waker for the transport and the timer that wakes both the reading and the writing task.
//!
//! A split socket polls one transport from two tasks, but a transport keeps only one waker per
//! direction, and either task may write (the reader writes pongs and close echoes). Registering a
//! waker that wakes both tasks means neither can miss the readiness the other consumed.

use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Wake, Waker};

/// Which half of the API is polling.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Side {
    /// The stream of incoming events.
    Read,
    /// The sink of outgoing messages and commands.
    Write,
}

#[derive(Debug, Default)]
pub(crate) struct Wakers {
    read: Mutex<Option<Waker>>,
    write: Mutex<Option<Waker>>,
}

impl Wakers {
    /// Remembers the task polling `side`, to be woken by any readiness.
    pub(crate) fn register(&self, side: Side, waker: &Waker) {
        let mut slot = self
            .slot(side)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match &*slot {
            Some(w) if w.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    }

    /// Wakes the task polling `side`, if any.
    pub(crate) fn wake_side(&self, side: Side) {
        let waker = self
            .slot(side)
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn slot(&self, side: Side) -> &Mutex<Option<Waker>> {
        match side {
            Side::Read => &self.read,
            Side::Write => &self.write,
        }
    }
}

impl Wake for Wakers {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wake_side(Side::Read);
        self.wake_side(Side::Write);
    }
}
