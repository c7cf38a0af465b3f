//! When to reconnect after a connection ends: a pure policy the adapters share.

use std::time::Duration;

use crate::trace::event;

/// How long to wait before each reconnection attempt, and when to give up.
///
/// Workerman's `reConnect(1)` is [`ReconnectPolicy::fixed`]`(1 s)`. Exponential backoff spreads
/// attempts with "equal jitter": each delay is uniformly drawn from the upper half of the current
/// backoff step, so clients dropped together do not return together.
///
/// ```
/// use std::time::Duration;
/// use ws_proto::ReconnectPolicy;
///
/// let policy = ReconnectPolicy::exponential(Duration::from_millis(100), Duration::from_secs(5))
///     .with_max_attempts(3);
/// // Attempt 1 waits 50-100 ms, attempt 2 100-200 ms, attempt 3 200-400 ms, then give up.
/// let first = policy.delay(1, u32::MAX).unwrap();
/// assert_eq!(first, Duration::from_millis(100));
/// assert_eq!(policy.delay(1, 0), Some(Duration::from_millis(50)));
/// assert_eq!(policy.delay(4, 0), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconnectPolicy {
    kind: Kind,
    max_attempts: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Never,
    Fixed(Duration),
    Exponential { initial: Duration, max: Duration },
}

impl ReconnectPolicy {
    /// Never reconnect.
    pub const fn never() -> Self {
        ReconnectPolicy {
            kind: Kind::Never,
            max_attempts: None,
        }
    }

    /// Wait the same `delay` before every attempt.
    pub const fn fixed(delay: Duration) -> Self {
        ReconnectPolicy {
            kind: Kind::Fixed(delay),
            max_attempts: None,
        }
    }

    /// Double the wait after every failed attempt, from `initial` up to `max`, with jitter.
    pub const fn exponential(initial: Duration, max: Duration) -> Self {
        ReconnectPolicy {
            kind: Kind::Exponential { initial, max },
            max_attempts: None,
        }
    }

    /// Give up after `attempts` consecutive attempts.
    pub const fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = Some(attempts);
        self
    }

    /// The wait before attempt number `attempt` (1 for the first reconnection after a drop), or
    /// `None` to give up. `random` is a uniformly random `u32` for the jitter.
    pub fn delay(&self, attempt: u32, random: u32) -> Option<Duration> {
        if attempt == 0 || self.max_attempts.is_some_and(|max| attempt > max) {
            return None;
        }
        match self.kind {
            Kind::Never => None,
            Kind::Fixed(delay) => Some(delay),
            Kind::Exponential { initial, max } => {
                let step = initial
                    .saturating_mul(1u32 << (attempt - 1).min(31))
                    .min(max);
                let half = step / 2;
                let jitter = (step - half).mul_f64(random as f64 / u32::MAX as f64);
                Some(half + jitter)
            }
        }
    }
}

impl Default for ReconnectPolicy {
    /// Never reconnect.
    fn default() -> Self {
        ReconnectPolicy::never()
    }
}

/// A [`ReconnectPolicy`] applied to one client's life: it counts the attempts since the last
/// connection that opened, and says how long to wait before the next, or to give up.
///
/// ```
/// use std::time::Duration;
/// use ws_proto::{Reconnect, ReconnectPolicy};
///
/// let mut reconnect = Reconnect::new(ReconnectPolicy::fixed(Duration::from_secs(1)).with_max_attempts(2));
/// assert_eq!(reconnect.next_delay(0), Some((1, Duration::from_secs(1))));
/// assert_eq!(reconnect.next_delay(0), Some((2, Duration::from_secs(1))));
/// assert_eq!(reconnect.next_delay(0), None);
/// reconnect.opened(); // a handshake succeeded: the count starts over
/// assert_eq!(reconnect.next_delay(0), Some((1, Duration::from_secs(1))));
/// ```
#[derive(Debug, Clone)]
pub struct Reconnect {
    policy: ReconnectPolicy,
    /// Attempts made since a connection last opened.
    attempt: u32,
}

impl Reconnect {
    /// Starts counting for `policy`.
    pub fn new(policy: ReconnectPolicy) -> Reconnect {
        Reconnect { policy, attempt: 0 }
    }

    /// A connection opened (its handshake succeeded): the next drop starts from attempt 1.
    pub fn opened(&mut self) {
        self.attempt = 0;
    }

    /// After a connection ended or an attempt failed: the number of the next attempt and the
    /// wait before it, or `None` when the policy gives up. `random` is a uniformly random `u32`
    /// for the jitter (without one, `u32::MAX` gives the longest wait the policy allows).
    pub fn next_delay(&mut self, random: u32) -> Option<(u32, Duration)> {
        self.attempt = self.attempt.saturating_add(1);
        let delay = self.policy.delay(self.attempt, random);
        // No delay: the policy gave up.
        event!(info, attempt = self.attempt, ?delay, "reconnect");
        Some((self.attempt, delay?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies() {
        let ms = Duration::from_millis;
        assert_eq!(ReconnectPolicy::never().delay(1, 0), None);
        let fixed = ReconnectPolicy::fixed(ms(1000)).with_max_attempts(2);
        assert_eq!(
            (fixed.delay(1, 7), fixed.delay(2, 7), fixed.delay(3, 7)),
            (Some(ms(1000)), Some(ms(1000)), None)
        );
        let exp = ReconnectPolicy::exponential(ms(100), ms(1000));
        assert_eq!(exp.delay(3, u32::MAX), Some(ms(400)));
        assert_eq!(exp.delay(3, 0), Some(ms(200)));
        // Capped at max, and no overflow for huge attempt numbers.
        assert_eq!(exp.delay(40, u32::MAX), Some(ms(1000)));
        assert_eq!(exp.delay(u32::MAX, 0), Some(ms(500)));
    }
}
