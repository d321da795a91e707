//! One time budget for all the network work of one call.
//!
//! `UV_SHIM_HTTP_TIMEOUT` (default 5 s) is not the limit of one request but
//! of everything a call may spend on the network: DNS discovery, name
//! look-ups, connects, bodies, every mirror of a failover list. The pipeline
//! makes one [`Budget`] when it starts and hands it down; each piece of
//! network work asks it how long it may take ([`Budget::attempt`],
//! [`Budget::remaining`]), so however many sources there are, the call ends
//! within the budget (plus the time to start uv).
//!
//! Only the full pipeline makes a budget; the warm path never gets here.

use std::time::{Duration, Instant};

use crate::env_vars::{EnvVars, Lookup};

/// The budget when `UV_SHIM_HTTP_TIMEOUT` is not set (or not usable).
pub const DEFAULT: Duration = Duration::from_secs(5);

/// Largest budget accepted: the shim sits in front of every `uv` call, and
/// a longer wait is a mistake rather than a wish (`mirror sync` has its own
/// limits).
pub const MAX: Duration = Duration::from_secs(600);

/// The time one call may spend on the network, and when it runs out.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    total: Duration,
    deadline: Instant,
}

/// How long one attempt may take, and how a message states that limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The attempt's whole limit: name look-up, connect, answer and body.
    pub limit: Duration,
    /// The limit as messages state it: the budget itself (`5s`) when the
    /// attempt may use all that is left, else its share of the budget.
    pub stated: String,
}

impl Budget {
    /// A budget of `total`, starting now.
    pub fn new(total: Duration) -> Budget {
        let now = Instant::now();
        Budget {
            total,
            // A budget too large for the clock is capped by `parse` first;
            // this only guards against a caller that skipped it.
            deadline: now.checked_add(total).unwrap_or(now),
        }
    }

    /// The budget `UV_SHIM_HTTP_TIMEOUT` asks for, starting now, and the
    /// warning to print when its value is not usable (then [`DEFAULT`]).
    pub fn from_env(env: Lookup) -> (Budget, Option<String>) {
        match env(EnvVars::UV_SHIM_HTTP_TIMEOUT).map(|value| parse(&value)) {
            None => (Budget::new(DEFAULT), None),
            Some(Ok(total)) => (Budget::new(total), None),
            Some(Err(why)) => (
                Budget::new(DEFAULT),
                Some(format!(
                    "{}={why}; using {}",
                    EnvVars::UV_SHIM_HTTP_TIMEOUT,
                    humantime::format_duration(DEFAULT)
                )),
            ),
        }
    }

    /// The whole budget.
    pub fn total(&self) -> Duration {
        self.total
    }

    /// What is left of it.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Whether nothing is left.
    pub fn is_spent(&self) -> bool {
        self.remaining().is_zero()
    }

    /// The budget as messages name it: `5s`.
    pub fn shown(&self) -> String {
        humantime::format_duration(self.total).to_string()
    }

    /// The next attempt of `tries_left` (this one included): an equal share
    /// of what is left, so that one source that stalls cannot starve the
    /// ones after it; the last attempt gets all that remains.
    pub fn attempt(&self, tries_left: usize) -> Attempt {
        let remaining = self.remaining();
        if tries_left <= 1 {
            return Attempt {
                limit: remaining,
                stated: self.shown(),
            };
        }
        let limit = remaining / u32::try_from(tries_left).unwrap_or(u32::MAX);
        // Shown to the millisecond: the exact share is an accident of timing.
        let shown = Duration::from_millis(u64::try_from(limit.as_millis()).unwrap_or(u64::MAX));
        Attempt {
            limit,
            stated: format!(
                "{}, its share of the {} budget",
                humantime::format_duration(shown),
                self.shown()
            ),
        }
    }
}

/// Parses a value of `UV_SHIM_HTTP_TIMEOUT`; the error quotes it and says why.
fn parse(value: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(value.trim())
        .map_err(|err| format!("`{value}` is not a duration such as `5s` or `1500ms` ({err})"))?;
    if duration.is_zero() {
        return Err(format!(
            "`{value}` leaves no time for the network; use at least `1ms`"
        ));
    }
    if duration > MAX {
        return Err(format!(
            "`{value}` is longer than the {} the shim accepts",
            humantime::format_duration(MAX)
        ));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with(value: &'static str) -> impl Fn(&str) -> Option<String> {
        move |name: &str| (name == EnvVars::UV_SHIM_HTTP_TIMEOUT).then(|| value.to_string())
    }

    #[test]
    fn values_of_the_variable() {
        assert_eq!(parse("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse(" 1500ms "), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("10m"), Ok(MAX));
        for (bad, says) in [
            ("soon", "`soon` is not a duration"),
            ("5", "`5` is not a duration"),
            ("0s", "leaves no time"),
            ("11m", "longer than the 10m"),
        ] {
            let err = parse(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn a_bad_value_warns_and_keeps_the_default() {
        let (budget, warning) = Budget::from_env(&env_with("fast"));
        assert_eq!(budget.total(), DEFAULT);
        let warning = warning.unwrap();
        assert!(
            warning.starts_with("UV_SHIM_HTTP_TIMEOUT=`fast` is not a duration"),
            "{warning}"
        );
        assert!(warning.ends_with("; using 5s"), "{warning}");

        let (budget, warning) = Budget::from_env(&env_with("2s"));
        assert_eq!((budget.total(), warning), (Duration::from_secs(2), None));
        let (budget, warning) = Budget::from_env(&|_: &str| None);
        assert_eq!((budget.total(), warning), (DEFAULT, None));
    }

    /// The shares never add up to more than what was left, and the last
    /// attempt is stated as the budget itself.
    #[test]
    fn attempts_share_what_is_left() {
        let budget = Budget::new(Duration::from_secs(4));
        let first = budget.attempt(4);
        assert!(first.limit <= Duration::from_secs(1), "{first:?}");
        assert!(
            first.stated.ends_with(", its share of the 4s budget"),
            "{first:?}"
        );
        let last = budget.attempt(1);
        assert!(last.limit <= Duration::from_secs(4));
        assert_eq!(last.stated, "4s");
        assert!(!budget.is_spent());

        let spent = Budget::new(Duration::ZERO);
        assert!(spent.is_spent());
        assert_eq!(spent.attempt(3).limit, Duration::ZERO);
    }
}
