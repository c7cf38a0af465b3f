//! Which waker the transport and the timer get: the polling task's own while one task polls the
//! connection, or one that wakes both the reading and the writing task once two do.
//!
//! A split socket polls one transport from two tasks, but a transport keeps only one waker per
//! direction, and either task may write (the reader writes pongs and close echoes). Registering a
//! waker that wakes both tasks means neither can miss the readiness the other consumed. A
//! connection polled by one task (the common case: a whole `WebSocket`, or both halves in one
//! `select!`) needs none of that: its task's waker goes to the transport as it is, with no
//! lock, no reference count and no second wake per readiness.

use std::borrow::Cow;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Wake, Waker};

/// Which half of the API is polling.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Side {
    /// The stream of incoming events.
    Read = 0,
    /// The sink of outgoing messages and commands.
    Write = 1,
}

/// The tasks polling one connection.
#[derive(Debug)]
pub(crate) enum Waiting {
    /// No task waits.
    None,
    /// One task polls it: `owner`, waiting on one side or both (`waiting`, by [`Side`]
    /// index). Once it waits on neither, it is forgotten, and the next task to poll (it or
    /// another: a socket connected in one task and used in another) takes its place.
    One { owner: Waker, waiting: [bool; 2] },
    /// Two tasks poll it: the transport gets `proxy`, which wakes both.
    Two(Box<Proxy>),
}

#[derive(Debug)]
pub(crate) struct Proxy {
    wakers: Arc<Wakers>,
    proxy: Waker,
}

impl Waiting {
    /// The waker to poll the transport and the timer with, for a poll of `side` by the task
    /// of `waker`; tell [`polled`](Self::polled) how the poll ended.
    ///
    /// A second task that polls while the first waits on the other side gets the proxy, with
    /// the first put in that side's slot: the first keeps what it registered directly, and
    /// whatever the second registers wakes both. A poll of the side the owner waited on
    /// supersedes it: a side is polled by one future at a time (through `&mut`), so the
    /// owner's future on it is gone.
    #[inline]
    pub(crate) fn waker_for<'a>(&mut self, side: Side, waker: &'a Waker) -> Cow<'a, Waker> {
        match self {
            // The task is noted by `polled` only if it ends up waiting: most polls end ready
            // (a write that goes through), and noting it would clone its waker (an atomic
            // increment) for a decrement right after.
            Waiting::None => return Cow::Borrowed(waker),
            Waiting::One { owner, waiting } => {
                if owner.will_wake(waker) || !waiting[side.other() as usize] {
                    return Cow::Borrowed(waker);
                }
                let wakers = Arc::new(Wakers::default());
                wakers.register(side.other(), owner);
                let proxy = Waker::from(wakers.clone());
                *self = Waiting::Two(Box::new(Proxy { wakers, proxy }));
            }
            Waiting::Two(_) => {}
        }
        let Waiting::Two(two) = self else {
            unreachable!("two tasks from here on")
        };
        two.wakers.register(side, waker);
        Cow::Owned(two.proxy.clone())
    }

    /// The poll of `side` by the task of `waker` that [`waker_for`](Self::waker_for) began
    /// ended: `Ready`, its task waits on that side no more; `Pending`, it waits.
    #[inline]
    pub(crate) fn polled(&mut self, side: Side, waker: &Waker, ready: bool) {
        let waiting = match self {
            Waiting::Two(_) => return,
            Waiting::One { owner, waiting } if owner.will_wake(waker) => waiting,
            // No task, or one superseded (see `waker_for`): this one takes its place if it waits.
            _ => {
                *self = if ready {
                    Waiting::None
                } else {
                    Waiting::one(side, waker)
                };
                return;
            }
        };
        waiting[side as usize] = !ready;
        if waiting == &[false; 2] {
            // A waker kept while its task waits on nothing would keep the task's memory (a
            // finished task's, even) for as long as the connection lives.
            *self = Waiting::None;
        }
    }

    fn one(side: Side, waker: &Waker) -> Waiting {
        let mut waiting = [false; 2];
        waiting[side as usize] = true;
        Waiting::One {
            owner: waker.clone(),
            waiting,
        }
    }

    /// Wakes the task polling `side`, if any: the one task, whichever side it polled, as it
    /// may be waiting on the other in the same `select!`.
    pub(crate) fn wake_side(&mut self, side: Side) {
        match self {
            Waiting::None => {}
            Waiting::One { owner, .. } => owner.wake_by_ref(),
            Waiting::Two(two) => two.wakers.wake_side(side),
        }
    }
}

impl Side {
    fn other(self) -> Side {
        match self {
            Side::Read => Side::Write,
            Side::Write => Side::Read,
        }
    }
}

#[derive(Debug, Default)]
struct Wakers {
    read: Mutex<Option<Waker>>,
    write: Mutex<Option<Waker>>,
}

impl Wakers {
    /// Remembers the task polling `side`, to be woken by any readiness.
    fn register(&self, side: Side, waker: &Waker) {
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
    fn wake_side(&self, side: Side) {
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A task's waker that counts its wakes.
    #[derive(Default)]
    struct Task(AtomicUsize);

    impl Wake for Task {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn task() -> (Arc<Task>, Waker) {
        let task = Arc::new(Task::default());
        (task.clone(), Waker::from(task))
    }

    fn wakes(task: &Task) -> usize {
        task.0.load(Ordering::SeqCst)
    }

    fn is_own(waker: Cow<'_, Waker>) -> bool {
        matches!(waker, Cow::Borrowed(_))
    }

    #[test]
    fn one_task_gets_its_own_waker_and_every_wake() {
        let (a, waker) = task();
        let mut waiting = Waiting::None;
        for side in [Side::Read, Side::Write, Side::Read] {
            assert!(is_own(waiting.waker_for(side, &waker)));
            waiting.polled(side, &waker, false);
        }
        waiting.wake_side(Side::Write);
        waiting.wake_side(Side::Read);
        assert_eq!(wakes(&a), 2);
    }

    #[test]
    fn a_task_that_waits_on_nothing_hands_the_socket_over() {
        let (a, connecting) = task();
        let (b, using) = task();
        let mut waiting = Waiting::None;
        // The handshake, polled to its end by the task that connects.
        assert!(is_own(waiting.waker_for(Side::Read, &connecting)));
        waiting.polled(Side::Read, &connecting, true);
        drop(connecting);
        // Nothing waits: the connection keeps no reference to the task.
        assert_eq!(Arc::strong_count(&a), 1);
        for side in [Side::Write, Side::Read] {
            assert!(is_own(waiting.waker_for(side, &using)));
            waiting.polled(side, &using, false);
        }
        waiting.wake_side(Side::Read);
        assert_eq!((wakes(&a), wakes(&b)), (0, 1));
    }

    #[test]
    fn a_second_task_while_the_first_waits_gets_a_waker_for_both() {
        let (reader, reading) = task();
        let (writer, writing) = task();
        let mut waiting = Waiting::None;
        assert!(is_own(waiting.waker_for(Side::Read, &reading)));
        waiting.polled(Side::Read, &reading, false);
        let proxy = waiting.waker_for(Side::Write, &writing).into_owned();
        waiting.polled(Side::Write, &writing, false);
        // The transport keeps only this one, registered last: it must wake the reader too.
        proxy.wake_by_ref();
        assert_eq!((wakes(&reader), wakes(&writer)), (1, 1));
        // From then on each side's wake reaches its own task.
        assert!(!is_own(waiting.waker_for(Side::Read, &reading)));
        waiting.wake_side(Side::Read);
        assert_eq!((wakes(&reader), wakes(&writer)), (2, 1));
    }

    #[test]
    fn a_poll_that_ends_ready_keeps_no_reference() {
        let (a, waker) = task();
        let mut waiting = Waiting::None;
        for side in [Side::Write, Side::Read] {
            assert!(is_own(waiting.waker_for(side, &waker)));
            waiting.polled(side, &waker, true);
            // The test's handle and the waker: no clone taken, none kept.
            assert_eq!(Arc::strong_count(&a), 2);
        }
        // A wait keeps one, and the same side ending ready lets it go.
        assert!(is_own(waiting.waker_for(Side::Read, &waker)));
        waiting.polled(Side::Read, &waker, false);
        assert_eq!(Arc::strong_count(&a), 3);
        assert!(is_own(waiting.waker_for(Side::Read, &waker)));
        waiting.polled(Side::Read, &waker, true);
        assert_eq!(Arc::strong_count(&a), 2);
        waiting.wake_side(Side::Read);
        assert_eq!(wakes(&a), 0);
    }

    #[test]
    fn a_new_poll_of_the_side_waited_on_supersedes_the_old_task() {
        let (old, first) = task();
        let (new, second) = task();
        let mut waiting = Waiting::None;
        waiting.waker_for(Side::Read, &first);
        waiting.polled(Side::Read, &first, false);
        // The first task's read was dropped; another task reads and waits.
        assert!(is_own(waiting.waker_for(Side::Read, &second)));
        waiting.polled(Side::Read, &second, false);
        assert_eq!(Arc::strong_count(&old), 2);
        waiting.wake_side(Side::Read);
        assert_eq!((wakes(&old), wakes(&new)), (0, 1));
        // Ending ready, it leaves nothing behind.
        waiting.waker_for(Side::Read, &second);
        waiting.polled(Side::Read, &second, true);
        assert_eq!(Arc::strong_count(&new), 2);
    }
}
