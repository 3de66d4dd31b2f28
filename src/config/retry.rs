//! Retry with doubling delays: the `[outbox]` policy for sending mail, and the same arithmetic
//! for reconnecting to the mailbox. One piece of code serves both.

use std::time::Duration;

/// First retry delay after a transient failure: 1 minute. Long enough for a relay that is
/// restarting, short enough that a blip delays an acknowledgement by about a minute.
pub const DEFAULT_FIRST_RETRY: Duration = Duration::from_secs(60);

/// Longest delay between two tries: 1 hour. The delay doubles per failure (1, 2, 4… minutes) and
/// stops growing here, so a relay that comes back is noticed within the hour.
pub const DEFAULT_MAX_RETRY: Duration = Duration::from_secs(60 * 60);

/// Give up on a row this long after it was enqueued: 48 hours. Covers an outage over a night and
/// the next working day; by then the acknowledgement is late enough that a person must look
/// (the row becomes `Failed`, which is audited on the case).
pub const DEFAULT_GIVE_UP_AFTER: Duration = Duration::from_secs(48 * 60 * 60);

/// How long to wait and when to give up after transient failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay after the first failure; doubled after each further one.
    pub first: Duration,
    /// Longest delay between two tries.
    pub max: Duration,
    /// A row older than this (since `created_at`) is failed instead of retried.
    pub give_up_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            first: DEFAULT_FIRST_RETRY,
            max: DEFAULT_MAX_RETRY,
            give_up_after: DEFAULT_GIVE_UP_AFTER,
        }
    }
}

impl RetryPolicy {
    /// The delay before the next try, after `failures` failed tries (`failures >= 1`; 0 is
    /// treated as 1): `first × 2^(failures-1)`, capped at `max`. Never overflows.
    pub fn backoff(&self, failures: u32) -> Duration {
        let exp = failures.saturating_sub(1).min(30);
        self.first
            .checked_mul(1u32 << exp)
            .unwrap_or(self.max)
            .min(self.max)
    }
}
