//! The letters the service sends, as data: what the planners queue and the outbox sends. An
//! acknowledgement-type letter ([`AckJob`]) is rendered when it is sent, from the case and the
//! officer-editable templates; staff mail ([`PreparedMail`]) is rendered when it is planned.

use crate::model::change::{CaseTarget, NewOutboxRow};
use crate::model::kind::Kind;
use crate::model::language::LetterLanguage;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

impl From<(String, String)> for MissingItem {
    fn from((name, explain): (String, String)) -> Self {
        MissingItem { name, explain }
    }
}

/// The acknowledgement template for a new case of this kind; `None` for `auto` (never acknowledged).
pub fn ack_template_for(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Foi => Some("ack_foi"),
        Kind::Eir => Some("ack_eir"),
        Kind::Sar => Some("ack_sar"),
        Kind::Media => Some("ack_media"),
        Kind::MemberEnquiry => Some("ack_member_enquiry"),
        Kind::Complaint => Some("ack_complaint"),
        Kind::General => Some("ack_general"),
        Kind::Auto => None,
    }
}

/// A mail to staff (assignment, chaser, digest, the answer to an emailed command), rendered when
/// it was planned and sent as is. Unlike acknowledgements these go to our own people, so they are
/// `Auto-Submitted: auto-generated` (their out-of-office replies do not come back) and may carry
/// the original request attached as `message/rfc822`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreparedMail {
    /// Recipients (at least one).
    pub to: Vec<String>,
    /// Copies (the manager on an overdue chaser).
    #[serde(default)]
    pub cc: Vec<String>,
    /// Where replies go: the case's tokened command address, when staff may answer with commands.
    #[serde(default)]
    pub reply_to: Option<String>,
    /// Subject line.
    pub subject: String,
    /// Text body.
    pub text: String,
    /// HTML body, when there is one.
    #[serde(default)]
    pub html: Option<String>,
    /// OUR Message-ID (no angle brackets), fixed when planned so retries reuse it.
    pub message_id: String,
    /// The message this answers (a staff command), for threading.
    #[serde(default)]
    pub in_reply_to: Option<String>,
    /// Content hash of a stored raw request to attach as `message/rfc822`.
    #[serde(default)]
    pub attach_original: Option<String>,
}

/// One thing missing from a request, as a `need_more_info` letter lists it and an [`AckJob`]
/// stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingItem {
    /// Short name ("name", "description", "identity").
    pub name: String,
    /// One plain-English sentence for the requester.
    pub explain: String,
}

/// An acknowledgement to send (or a "we need more information", or a follow-up receipt: the
/// template says which). Everything the case record does not hold, fixed when the job is planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckJob {
    /// Template name, one of `letters::compose::TEMPLATE_NAMES`.
    pub template: String,
    /// The recipient (their Reply-To or From), also the SMTP envelope recipient.
    pub to: String,
    /// OUR Message-ID (no angle brackets), generated once with the id source when the job
    /// was planned, so every retry and every post-crash resend carries the same one.
    pub message_id: String,
    /// The requester's Message-ID we answer, for `In-Reply-To`.
    #[serde(default)]
    pub in_reply_to: Option<String>,
    /// Their `References:` ids, for threading.
    #[serde(default)]
    pub references: Vec<String>,
    /// Their subject as decoded (template DATA).
    #[serde(default)]
    pub their_subject: String,
    /// Their display name, if any (template DATA).
    #[serde(default)]
    pub requester_name: Option<String>,
    /// What is missing (for `need_more_info`).
    #[serde(default)]
    pub missing: Vec<MissingItem>,
    /// The day we received the request (Europe/London).
    pub received: NaiveDate,
    /// The due date when the clock runs. Stored rather than read from the case so the letter
    /// states the date that was computed with it, even if the case moved on since.
    #[serde(default)]
    pub due: Option<NaiveDate>,
    /// The language the letter is written in, chosen when planned (`core::language`); English
    /// for a row written before Welsh letters existed.
    #[serde(default)]
    pub language: LetterLanguage,
}

/// What an outbox row asks the worker to do; stored as the row's `payload` (JSON, tagged by
/// `"job"`). An enum so later jobs (assignment emails, chasers) fit without a schema change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum OutboxJob {
    /// Send an acknowledgement-type email to the requester of `row.case`.
    Ack(AckJob),
    /// Send a mail to staff, rendered when planned (assignment, chaser, digest, command answer).
    Mail(PreparedMail),
}

/// Why a payload is not an [`OutboxJob`].
#[derive(Debug, thiserror::Error)]
#[error("outbox payload is not a job this version understands: {0}")]
pub struct PayloadError(#[from] serde_json::Error);

impl OutboxJob {
    /// The JSON stored in the row.
    ///
    /// # Errors
    /// Only if serde_json cannot encode it (it always can for these types).
    pub fn to_payload(&self) -> Result<serde_json::Value, PayloadError> {
        Ok(serde_json::to_value(self)?)
    }

    /// Reads a row's payload.
    ///
    /// # Errors
    /// [`PayloadError`] when it is not a job (a damaged row, or written by a newer version).
    pub fn from_payload(payload: &serde_json::Value) -> Result<OutboxJob, PayloadError> {
        Ok(OutboxJob::deserialize(payload)?)
    }

    /// Whether a stored payload is an acknowledgement-type job (acknowledgement, request for more
    /// information, receipt: mail to requesters), without decoding the rest of it: what the
    /// global acknowledgement cap counts. Staff mail is never held back by that cap.
    pub fn is_ack_payload(payload: &serde_json::Value) -> bool {
        payload.get("job").and_then(serde_json::Value::as_str) == Some("ack")
    }

    /// A new row for this job, due at `now`: what ingest puts in `Change::outbox_new` (with
    /// `CaseTarget::New` for the case it creates), followed by a wake-up of the worker.
    ///
    /// # Errors
    /// As [`OutboxJob::to_payload`].
    pub fn new_row(
        &self,
        case: CaseTarget,
        now: DateTime<Utc>,
    ) -> Result<NewOutboxRow, PayloadError> {
        let recipient = match self {
            OutboxJob::Ack(a) => Some(a.to.clone()),
            OutboxJob::Mail(m) => m.to.first().cloned(),
        };
        Ok(NewOutboxRow {
            recipient,
            case: Some(case),
            created_at: now,
            payload: self.to_payload()?,
            next_attempt_at: now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::OutboxJob;
    use serde_json::json;

    #[test]
    fn is_ack_payload_reads_only_the_job_tag() {
        let table = [
            (json!({"job": "ack", "to": "a@example.org"}), true),
            (json!({"job": "ack"}), true),
            (json!({"job": "mail"}), false),
            (json!({"job": "Ack"}), false),
            (json!({"job": 1}), false),
            (json!({}), false),
            (json!(null), false),
            (json!("ack"), false),
        ];
        for (payload, want) in table {
            assert_eq!(OutboxJob::is_ack_payload(&payload), want, "{payload}");
        }
    }
}
