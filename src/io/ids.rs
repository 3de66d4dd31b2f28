//! Where fresh ids come from.
//!
//! Everything that mints a Message-ID for mail we send (the ingest's acknowledgements today) asks
//! an [`Ids`] instead of calling [`new_message_id`] directly, so tests can inject
//! [`SequentialIds`] and know every id in advance. Only [`RandomIds`] reads the time and the
//! process's randomness.

use crate::io::outbox::{new_message_id, usable_id_domain};
use std::sync::atomic::{AtomicU64, Ordering};

/// A source of fresh Message-IDs.
pub trait Ids: Send + Sync {
    /// A new Message-ID (without angle brackets) at `domain`; an unusable domain is replaced by
    /// a valid one, as [`new_message_id`] does.
    fn message_id(&self, domain: &str) -> String;
}

/// The real generator: [`new_message_id`] (unique on this host, hard to guess).
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomIds;

impl Ids for RandomIds {
    fn message_id(&self, domain: &str) -> String {
        new_message_id(domain)
    }
}

/// A deterministic generator for tests: `1.test@domain`, `2.test@domain`… in call order.
#[derive(Debug, Default)]
pub struct SequentialIds {
    next: AtomicU64,
}

impl SequentialIds {
    /// A generator whose first id is number 1.
    pub fn new() -> SequentialIds {
        SequentialIds::default()
    }
}

impl Ids for SequentialIds {
    fn message_id(&self, domain: &str) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        format!("{n}.test@{}", usable_id_domain(domain))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequential_ids_count_from_one_and_keep_the_domain_valid() {
        let ids = SequentialIds::new();
        assert_eq!(ids.message_id("example.org"), "1.test@example.org");
        assert_eq!(ids.message_id(" example.org "), "2.test@example.org");
        assert_eq!(ids.message_id("a@b"), "3.test@foi-triage.invalid");
    }

    #[test]
    fn random_ids_are_fresh_message_ids() {
        let (a, b) = (
            RandomIds.message_id("example.org"),
            RandomIds.message_id("example.org"),
        );
        assert_ne!(a, b);
        assert!(a.ends_with("@example.org") && b.ends_with("@example.org"));
    }
}
