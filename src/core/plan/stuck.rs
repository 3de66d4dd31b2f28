//! Messages stuck in the mailbox: one that cannot be fetched or filed is retried later, with a
//! doubling delay, instead of on every reconnect, and people are told when it keeps failing.
//!
//! Found against a server with another namespace: every CREATE was refused, every recorded
//! message stayed in the INBOX, and each reconnect fetched all of them again and logged the same
//! errors. And one message the server cannot deliver (a damaged file, one too slow to arrive)
//! failed its whole batch on every attempt, so the messages after it waited for ever.
//!
//! A [`StuckMessage`] record per message (by mailbox, UIDVALIDITY and UID: a message that cannot
//! be fetched has no content hash) says what failed, how often, and when to try again:
//! - **Fetch** (it failed when fetched on its own): tried again after the delay; after
//!   [`MAX_FAILURES`] it is given up on: moved to the quarantine folder unread
//!   ([`StuckStage::Quarantine`]) with a "needs human triage" entry, so the messages after it move
//!   on and a person reads it.
//! - **File** (recorded, but the server refuses or fails to file it): the case is safe, so only
//!   filing is tried again (no fetch); after [`MAX_FAILURES`] people are told (a "needs human
//!   triage" entry that says why, taken back when filing later succeeds), and it is still tried
//!   every hour, so a fixed folder or permission is picked up without a restart.
//!
//! Nothing is lost either way: the message stays in the mailbox until it is filed.
//!
//! Pure: the caller reads the records, applies the changes and does the IMAP work.

use crate::config::RetryPolicy;
use crate::core::plan::ingest::Position;
use crate::core::plan::poison::needs_triage_key;
use crate::model::change::{Change, Mark};
use crate::model::records::{NeedsTriage, StuckMessage, StuckStage};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::time::Duration;

/// Mark prefix of [`StuckMessage`] records.
pub const STUCK_PREFIX: &str = "intake/stuck/";

/// Failures after which a message is given up on (fetch) or shown to people (filing): three
/// tries over about three minutes rule out a blip (a restart, a dropped connection), and a
/// fourth would only make people wait longer.
pub const MAX_FAILURES: u32 = 3;

/// Delay before the next try: 1 minute, doubling, at most 1 hour (the outbox's arithmetic). A
/// server that refuses a folder is not asked again every second; one that is fixed is noticed
/// within the hour.
pub const RETRY: RetryPolicy = RetryPolicy {
    first: Duration::from_secs(60),
    max: Duration::from_secs(60 * 60),
    give_up_after: Duration::MAX,
};

/// The mark key of a message's record (the mailbox last: it may hold `/`, the numbers cannot).
pub fn stuck_key(position: &Position) -> String {
    format!(
        "{STUCK_PREFIX}{}/{}/{}",
        position.mailbox, position.uidvalidity, position.uid
    )
}

/// The id of the "needs human triage" entry about a stuck message (`foi-triage case triaged`
/// takes it): there may be no content hash, so it names the message's place instead.
pub fn alert_id(position: &Position) -> String {
    format!("stuck-{}-{}", position.uidvalidity, position.uid)
}

/// The records of `mailbox` among `marks` (as read by prefix from the store), by UID, for its
/// current `uidvalidity`; and the keys of its records under another UIDVALIDITY, which name
/// messages that no longer exist (the mailbox was recreated) and are to be cleared. A record
/// that does not decode is skipped.
pub fn for_mailbox(
    marks: &[(String, serde_json::Value)],
    mailbox: &str,
    uidvalidity: u32,
) -> (BTreeMap<u32, StuckMessage>, Vec<String>) {
    let mut current = BTreeMap::new();
    let mut stale = Vec::new();
    for (key, value) in marks {
        let Ok(record) = serde_json::from_value::<StuckMessage>(value.clone()) else {
            continue;
        };
        if record.mailbox != mailbox {
            continue;
        }
        if record.uidvalidity == uidvalidity {
            current.insert(record.uid, record);
        } else {
            stale.push(key.clone());
        }
    }
    (current, stale)
}

/// Whether it is time to try the message again.
pub fn is_due(record: &StuckMessage, now: DateTime<Utc>) -> bool {
    record.next_attempt_at <= now
}

/// The earliest time one of `records` is due, if any: how long the mailbox watch may sleep.
pub fn next_due<'a>(records: impl IntoIterator<Item = &'a StuckMessage>) -> Option<DateTime<Utc>> {
    records.into_iter().map(|r| r.next_attempt_at).min()
}

/// One failure to account for.
#[derive(Debug, Clone, Copy)]
pub struct Failure<'a> {
    /// What failed.
    pub stage: StuckStage,
    /// The folder it was to be filed into (as configured), for File and Quarantine.
    pub folder: Option<&'a str>,
    /// Its content hash, when it was recorded (File).
    pub content_hash: Option<&'a str>,
    /// The error, as the client gave it (folder names included; no message content).
    pub error: &'a str,
}

/// What [`plan_failure`] decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// The record and any "needs human triage" entry, to apply.
    pub change: Change,
    /// The record as it now stands.
    pub record: StuckMessage,
    /// People are told now (the entry is in `change`): the reason, for the error log too.
    pub alert: Option<String>,
    /// Fetching is given up: move the message to the quarantine folder now
    /// (`record.stage` is [`StuckStage::Quarantine`], due at once).
    pub quarantine: bool,
}

/// Counts one failure of the message at `position` (`previous`: its record, if any) and plans
/// the record, the next try and, at [`MAX_FAILURES`], the alert (see the module doc). A failure
/// at another stage than the record's starts the count again.
pub fn plan_failure(
    previous: Option<&StuckMessage>,
    failure: Failure<'_>,
    position: &Position,
    quarantine_folder: &str,
    now: DateTime<Utc>,
) -> Planned {
    let same_stage = previous.filter(|p| p.stage == failure.stage);
    let failures = same_stage.map_or(0, |p| p.failures).saturating_add(1);
    let mut record = StuckMessage {
        stage: failure.stage,
        failures,
        first_at: previous.map_or(now, |p| p.first_at),
        last_at: now,
        next_attempt_at: now + RETRY.backoff(failures),
        mailbox: position.mailbox.clone(),
        uidvalidity: position.uidvalidity,
        uid: position.uid,
        folder: failure.folder.map(str::to_owned),
        content_hash: failure
            .content_hash
            .map(str::to_owned)
            .or_else(|| previous.and_then(|p| p.content_hash.clone())),
        error: failure.error.to_owned(),
        alerted: previous.is_some_and(|p| p.alerted),
    };
    let mut change = Change::default();
    let mut alert = None;
    let mut quarantine = false;
    if failures >= MAX_FAILURES && failure.stage == StuckStage::Fetch {
        let why = format!(
            "could not be fetched from the server {failures} times (last: {}); moved unread \
             to the quarantine folder",
            failure.error
        );
        record.stage = StuckStage::Quarantine;
        record.failures = 0;
        record.folder = Some(quarantine_folder.to_owned());
        record.next_attempt_at = now;
        record.alerted = true;
        change.marks.push(alert_mark(position, &why, now));
        alert = Some(why);
        quarantine = true;
    } else if failures >= MAX_FAILURES && !record.alerted {
        let why = format!(
            "recorded, but filing failed {failures} times (last: {}); it stays in {} and is \
             tried again every hour",
            failure.error, position.mailbox
        );
        record.alerted = true;
        change.marks.push(alert_mark(position, &why, now));
        alert = Some(why);
    }
    change.marks.push(Mark {
        key: stuck_key(position),
        value: serde_json::to_value(&record).unwrap_or_default(),
    });
    Planned {
        change,
        record,
        alert,
        quarantine,
    }
}

/// Forgets the record once the message is fetched and recorded, or filed: and the alert with
/// it when it was about filing (the problem went away). The alert of a message given up on
/// stays: a person must still read it.
pub fn plan_cleared(record: &StuckMessage, position: &Position) -> Change {
    let mut change = Change {
        marks_cleared: vec![stuck_key(position)],
        ..Change::default()
    };
    if record.alerted && record.stage == StuckStage::File {
        change
            .marks_cleared
            .push(needs_triage_key(&alert_id(position)));
    }
    change
}

/// The "needs human triage" entry about the message at `position`.
fn alert_mark(position: &Position, why: &str, now: DateTime<Utc>) -> Mark {
    let id = alert_id(position);
    let entry = NeedsTriage {
        at: now,
        mailbox: position.mailbox.clone(),
        uidvalidity: position.uidvalidity,
        uid: position.uid,
        content_hash: id.clone(),
        why: why.to_owned(),
    };
    Mark {
        key: needs_triage_key(&id),
        value: serde_json::to_value(&entry).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::plan::poison::{NEEDS_TRIAGE_PREFIX, needs_triage};
    use chrono::TimeZone;

    fn t(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0)
            .single()
            .expect("valid")
            + chrono::Duration::minutes(minutes)
    }

    fn pos(uid: u32) -> Position {
        Position {
            mailbox: "INBOX".into(),
            uidvalidity: 7,
            uid,
        }
    }

    fn fail<'a>(stage: StuckStage, error: &'a str) -> Failure<'a> {
        Failure {
            stage,
            folder: (stage == StuckStage::File).then_some("Triage/FOI"),
            content_hash: (stage == StuckStage::File).then_some("abc123"),
            error,
        }
    }

    /// The entries of `change` as `case list` would show them.
    fn alerts(change: &Change) -> Vec<NeedsTriage> {
        let marks: Vec<(String, serde_json::Value)> = change
            .marks
            .iter()
            .filter(|m| m.key.starts_with(NEEDS_TRIAGE_PREFIX))
            .map(|m| (m.key.clone(), m.value.clone()))
            .collect();
        needs_triage(&marks)
    }

    #[test]
    fn a_filing_failure_backs_off_alerts_once_and_keeps_trying_hourly() {
        let mut record: Option<StuckMessage> = None;
        // (minute of the failure, expected minutes until the next try, alert now)
        let table = [
            (0, 1, false),
            (1, 2, false),
            (3, 4, true),
            (7, 8, false),
            (15, 16, false),
            (600, 32, false),
            (700, 60, false),
        ];
        for (at, wait, alerted_now) in table {
            let p = plan_failure(
                record.as_ref(),
                fail(StuckStage::File, "server refused CREATE"),
                &pos(41),
                "Triage/Quarantine",
                t(at),
            );
            assert!(!p.quarantine, "filing is never given up on");
            assert_eq!(p.record.next_attempt_at, t(at + wait), "failure at {at}");
            assert_eq!(p.alert.is_some(), alerted_now, "failure at {at}");
            let listed = alerts(&p.change);
            assert_eq!(listed.len(), usize::from(alerted_now), "failure at {at}");
            if alerted_now {
                assert_eq!(listed[0].content_hash, "stuck-7-41");
                assert!(
                    listed[0].why.contains("filing failed 3 times"),
                    "{listed:?}"
                );
                assert!(
                    listed[0].why.contains("server refused CREATE"),
                    "{listed:?}"
                );
            }
            assert!(!is_due(
                &p.record,
                t(at + wait) - chrono::Duration::seconds(1)
            ));
            assert!(is_due(&p.record, t(at + wait)));
            assert_eq!(p.record.first_at, t(0));
            assert_eq!(p.record.folder.as_deref(), Some("Triage/FOI"));
            assert_eq!(p.record.content_hash.as_deref(), Some("abc123"));
            record = Some(p.record);
        }
        // Filing works at last: the record and the alert about it go.
        let cleared = plan_cleared(record.as_ref().expect("record"), &pos(41));
        assert_eq!(
            cleared.marks_cleared,
            [
                "intake/stuck/INBOX/7/41".to_string(),
                format!("{NEEDS_TRIAGE_PREFIX}stuck-7-41")
            ]
        );
    }

    #[test]
    fn a_message_that_cannot_be_fetched_is_quarantined_at_the_third_failure() {
        let first = plan_failure(
            None,
            fail(StuckStage::Fetch, "NO damaged"),
            &pos(9),
            "Triage/Quarantine",
            t(0),
        );
        let second = plan_failure(
            Some(&first.record),
            fail(StuckStage::Fetch, "NO damaged"),
            &pos(9),
            "Triage/Quarantine",
            t(1),
        );
        assert!(!first.quarantine && !second.quarantine);
        assert!(first.alert.is_none() && second.alert.is_none());
        let third = plan_failure(
            Some(&second.record),
            fail(StuckStage::Fetch, "timed out"),
            &pos(9),
            "Triage/Quarantine",
            t(3),
        );
        assert!(third.quarantine);
        assert_eq!(third.record.stage, StuckStage::Quarantine);
        assert_eq!(third.record.folder.as_deref(), Some("Triage/Quarantine"));
        assert!(is_due(&third.record, t(3)), "moved at once");
        let listed = alerts(&third.change);
        assert_eq!(listed.len(), 1);
        assert!(
            listed[0]
                .why
                .contains("could not be fetched from the server 3 times")
        );
        assert!(listed[0].why.contains("timed out"));
        // The move fails too: counted from zero, no second alert.
        let refused = plan_failure(
            Some(&third.record),
            Failure {
                stage: StuckStage::Quarantine,
                folder: Some("Triage/Quarantine"),
                content_hash: None,
                error: "NO quota",
            },
            &pos(9),
            "Triage/Quarantine",
            t(4),
        );
        assert_eq!(refused.record.failures, 1);
        assert!(refused.alert.is_none() && alerts(&refused.change).is_empty());
        // Once moved, the record goes but the alert stays: a person must read the message.
        assert_eq!(
            plan_cleared(&refused.record, &pos(9)).marks_cleared,
            ["intake/stuck/INBOX/7/9".to_string()]
        );
    }

    #[test]
    fn records_are_read_per_mailbox_and_uidvalidity() {
        let rec = |mailbox: &str, uidvalidity: u32, uid: u32| {
            let p = Position {
                mailbox: mailbox.into(),
                uidvalidity,
                uid,
            };
            let planned = plan_failure(
                None,
                fail(StuckStage::File, "x"),
                &p,
                "Triage/Quarantine",
                t(uid.into()),
            );
            let m = planned.change.marks.last().expect("record").clone();
            (m.key, m.value)
        };
        let marks = vec![
            rec("INBOX", 7, 3),
            rec("INBOX", 7, 1),
            rec("INBOX", 6, 1),
            rec("import:Archive/2025", 7, 2),
            (
                format!("{STUCK_PREFIX}INBOX/7/5"),
                serde_json::json!("damaged"),
            ),
        ];
        let (current, stale) = for_mailbox(&marks, "INBOX", 7);
        assert_eq!(current.keys().copied().collect::<Vec<_>>(), [1, 3]);
        assert_eq!(stale, ["intake/stuck/INBOX/6/1".to_string()]);
        assert_eq!(next_due(current.values()), Some(t(2)));
        assert_eq!(marks[3].0, "intake/stuck/import:Archive/2025/7/2");
    }
}
