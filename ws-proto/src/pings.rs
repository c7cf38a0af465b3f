//! Pings awaiting their pong, so each pong carries the round-trip time of the ping it answers.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Pings remembered at most; the oldest is forgotten first (its pong then carries no time). A
/// server answers within a ping interval or two, so only a flood of user pings reaches this.
const REMEMBERED: usize = 8;

/// The pings sent and not yet answered, oldest first.
#[derive(Debug, Default)]
pub(crate) struct PingsInFlight {
    sent: VecDeque<(Vec<u8>, Instant)>,
}

impl PingsInFlight {
    /// A ping with `payload` went out at `at`.
    pub(crate) fn sent(&mut self, payload: &[u8], at: Instant) {
        if self.sent.len() == REMEMBERED {
            self.sent.pop_front();
        }
        self.sent.push_back((payload.to_vec(), at));
    }

    /// A pong with `payload` arrived at `at`: the round trip of the oldest ping it matches, or
    /// `None` for an unsolicited pong (§5.5.3: "A Pong frame MAY be sent unsolicited").
    /// Older pings are forgotten with it, since §5.5.3 lets the server answer "only the most
    /// recently processed Ping frame".
    pub(crate) fn answered(&mut self, payload: &[u8], at: Instant) -> Option<Duration> {
        let index = self.sent.iter().position(|(p, _)| p == payload)?;
        let (_, sent) = self.sent.drain(..=index).next_back()?;
        Some(at.saturating_duration_since(sent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pong_answers_the_oldest_matching_ping_and_forgets_those_before_it() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut pings = PingsInFlight::default();
        pings.sent(b"a", t0);
        pings.sent(b"", t0 + ms(10));
        pings.sent(b"b", t0 + ms(20));
        pings.sent(b"", t0 + ms(30));
        assert_eq!(pings.answered(b"zzz", t0 + ms(40)), None);
        // "a" was skipped by the server: forgotten.
        assert_eq!(pings.answered(b"", t0 + ms(50)), Some(ms(40)));
        assert_eq!(pings.answered(b"a", t0 + ms(55)), None);
        assert_eq!(pings.answered(b"", t0 + ms(60)), Some(ms(30)));
        assert_eq!(pings.answered(b"b", t0 + ms(60)), None);
    }

    #[test]
    fn at_most_a_bounded_number_are_remembered() {
        let t0 = Instant::now();
        let mut pings = PingsInFlight::default();
        for i in 0..=REMEMBERED as u8 {
            pings.sent(&[i], t0 + Duration::from_millis(i.into()));
        }
        assert_eq!(pings.sent.len(), REMEMBERED);
        assert_eq!(pings.answered(&[0], t0), None);
        assert_eq!(
            pings.answered(&[1], t0 + Duration::from_millis(5)),
            Some(Duration::from_millis(4))
        );
    }
}
