//! The legal frame a case runs under: which law (or local policy) sets its clock, the GOV.UK
//! division whose bank holidays count, and the events that move the clock. Plain data shared by
//! the deadline engine (`core::deadline`), the case record and the configuration; the arithmetic
//! lives in `core::deadline`.

use crate::model::kind::Kind;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Most working days one count may run (two years' worth). Statutory periods are 20, 40 or 60;
/// the cap stops a mistyped policy value from looping for a very long time.
pub const MAX_WORKING_DAYS: u32 = 520;

/// A GOV.UK bank-holiday division. Wales shares the `england-and-wales` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Region {
    /// England and Wales (GOV.UK `england-and-wales`).
    #[serde(alias = "wales", alias = "england")]
    EnglandAndWales,
    /// Scotland (GOV.UK `scotland`).
    Scotland,
    /// Northern Ireland (GOV.UK `northern-ireland`).
    NorthernIreland,
}

impl Region {
    /// All three divisions, in GOV.UK order.
    pub const ALL: [Region; 3] = [
        Region::EnglandAndWales,
        Region::Scotland,
        Region::NorthernIreland,
    ];

    /// The GOV.UK division name, used in data files, config and explanations.
    pub fn as_str(self) -> &'static str {
        match self {
            Region::EnglandAndWales => "england-and-wales",
            Region::Scotland => "scotland",
            Region::NorthernIreland => "northern-ireland",
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A region name that is not a GOV.UK division (nor "wales"/"england").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown region {0:?} (expected one of: england-and-wales, scotland, northern-ireland; \"wales\" means england-and-wales)"
)]
pub struct UnknownRegion(pub String);

impl FromStr for Region {
    type Err = UnknownRegion;
    /// Accepts the GOV.UK names in any case, with `_` or spaces for `-`, plus "wales" and
    /// "england" (both mean `england-and-wales`, which is the division GOV.UK uses for Wales).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm: String = s
            .trim()
            .chars()
            .map(|c| match c {
                '_' | ' ' => '-',
                c => c.to_ascii_lowercase(),
            })
            .collect();
        match norm.as_str() {
            "england-and-wales" | "england-wales" | "wales" | "england" => {
                Ok(Region::EnglandAndWales)
            }
            "scotland" => Ok(Region::Scotland),
            "northern-ireland" => Ok(Region::NorthernIreland),
            _ => Err(UnknownRegion(s.to_string())),
        }
    }
}

/// Which law (or local policy) sets the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    /// Freedom of Information Act 2000 (England, Wales, NI and UK-wide bodies).
    Foia,
    /// Environmental Information Regulations 2004.
    Eir,
    /// Freedom of Information (Scotland) Act 2002.
    Foisa,
    /// Environmental Information (Scotland) Regulations 2004.
    EirScotland,
    /// Subject access: UK GDPR Art 12(3)/12A and DPA 2018 s.54 (computed alike, §3.5).
    Sar,
    /// A local-policy timescale (complaints, member enquiries…): not statute (§5).
    Policy {
        /// Working days in the authority's own region.
        working_days: u32,
    },
    /// An internal review of a response given under `of` (deadlines.md §5.0): its own clock,
    /// counted in working days of the reviewed regime's calendar from receipt of the review
    /// request. Build it with [`ReviewOf::regime`].
    Review {
        /// The law the reviewed response was given under.
        of: ReviewOf,
        /// The time to answer, in working days: 20 (FOIA, s.45 Code), 40 (EIR reg 11(4)),
        /// 20 (FOISA s.21(1), EIR(S) reg 16(4)), or local policy (SAR).
        working_days: u32,
    },
}

/// The law a reviewed response was given under: it sets the review's timescale and calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewOf {
    /// FOIA 2000: 20 working days, at most 40 in exceptional cases (s.45 Code of Practice, part 5).
    Foia,
    /// EIR 2004: 40 working days (reg 11(4)).
    Eir,
    /// FOISA 2002: 20 working days (s.21(1)).
    Foisa,
    /// EIR (Scotland) 2004: 20 working days (reg 16(4)).
    EirScotland,
    /// Subject access: no statutory review (UK GDPR Art 77 goes to the ICO); local policy.
    Sar,
}

/// Working days to answer an internal review (deadlines.md §5.0).
const FOIA_REVIEW_WORKING_DAYS: u32 = 20;
/// EIR reg 11(4): "as soon as possible and no later than 40 working days".
const EIR_REVIEW_WORKING_DAYS: u32 = 40;
/// FOISA s.21(1) and EIR(S) reg 16(4): "not later than the twentieth working day".
const SCOTTISH_REVIEW_WORKING_DAYS: u32 = 20;

impl ReviewOf {
    /// What is reviewed, for a request of `kind` (the original request's kind) to an authority in
    /// `region`; `None` for kinds that have no review under information law.
    pub fn for_kind(kind: Kind, region: Region) -> Option<ReviewOf> {
        let scottish = region == Region::Scotland;
        match kind {
            Kind::Foi if scottish => Some(ReviewOf::Foisa),
            Kind::Foi => Some(ReviewOf::Foia),
            Kind::Eir if scottish => Some(ReviewOf::EirScotland),
            Kind::Eir => Some(ReviewOf::Eir),
            Kind::Sar => Some(ReviewOf::Sar),
            _ => None,
        }
    }

    /// The review's regime; `sar_working_days` is the local policy used for subject access.
    pub fn regime(self, sar_working_days: u32) -> Regime {
        let working_days = match self {
            ReviewOf::Foia => FOIA_REVIEW_WORKING_DAYS,
            ReviewOf::Eir => EIR_REVIEW_WORKING_DAYS,
            ReviewOf::Foisa | ReviewOf::EirScotland => SCOTTISH_REVIEW_WORKING_DAYS,
            ReviewOf::Sar => sar_working_days,
        };
        Regime::Review {
            of: self,
            working_days,
        }
    }

    /// The snake_case name, as in JSON and templates.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewOf::Foia => "foia",
            ReviewOf::Eir => "eir",
            ReviewOf::Foisa => "foisa",
            ReviewOf::EirScotland => "eir_scotland",
            ReviewOf::Sar => "sar",
        }
    }
}

impl Regime {
    /// The regime for a kind of mail. FOI and EIR requests to a Scottish authority fall under
    /// FOISA and EIR(S); subject access is UK-wide; `auto` mail has no clock (`None`); every other
    /// kind runs on a local-policy timescale of `policy_days(kind)` working days.
    pub fn for_kind(
        kind: Kind,
        region: Region,
        policy_days: impl Fn(Kind) -> u32,
    ) -> Option<Regime> {
        let scottish = region == Region::Scotland;
        match kind {
            Kind::Foi if scottish => Some(Regime::Foisa),
            Kind::Foi => Some(Regime::Foia),
            Kind::Eir if scottish => Some(Regime::EirScotland),
            Kind::Eir => Some(Regime::Eir),
            Kind::Sar => Some(Regime::Sar),
            Kind::Auto => None,
            Kind::Media | Kind::MemberEnquiry | Kind::Complaint | Kind::General => {
                Some(Regime::Policy {
                    working_days: policy_days(kind),
                })
            }
        }
    }
}

impl fmt::Display for Regime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Regime::Foia => f.write_str("FOIA"),
            Regime::Eir => f.write_str("EIR"),
            Regime::Foisa => f.write_str("FOISA"),
            Regime::EirScotland => f.write_str("EIR(S)"),
            Regime::Sar => f.write_str("SAR"),
            Regime::Policy { working_days } => {
                write!(f, "local policy ({working_days} working days)")
            }
            Regime::Review { of, working_days } => {
                let law = match of {
                    ReviewOf::Foia => "FOIA",
                    ReviewOf::Eir => "EIR",
                    ReviewOf::Foisa => "FOISA",
                    ReviewOf::EirScotland => "EIR(S)",
                    ReviewOf::Sar => "SAR",
                };
                write!(f, "{law} internal review ({working_days} working days)")
            }
        }
    }
}

/// How to count "one month" for subject access (§3.2, §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SarMonthRule {
    /// ICO method (default): the corresponding date next month, clamped to the month's end, then
    /// the next working day of the controller's region.
    #[default]
    Ico,
    /// Strict reading of "one month beginning with": the day before the corresponding date (or
    /// the month's last day if there is none), never rolled forward.
    StrictBeginningWith,
}

/// The kinds of extension the statutes allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtensionKind {
    /// FOIA s.10(3): reasonable extra time to weigh the public interest (default WD40).
    PublicInterest,
    /// EIR reg 7(1) / EIR(S) reg 7: 40 working days for complex and voluminous requests.
    ComplexVoluminous,
    /// UK GDPR Art 12(3)/12A, DPA s.54(3A): two further months for complexity or number.
    TwoFurtherMonths,
}

impl fmt::Display for ExtensionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExtensionKind::PublicInterest => "public interest extension",
            ExtensionKind::ComplexVoluminous => "complex-and-voluminous extension",
            ExtensionKind::TwoFurtherMonths => "two-further-months extension",
        })
    }
}

/// An extension of the statutory period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    /// Which extension.
    pub kind: ExtensionKind,
    /// When the requester was told (s.17 notice, reg 7 notice, Art 12 notice), if recorded: used
    /// to warn when the notice was late.
    pub notified_at: Option<DateTime<Utc>>,
}

/// Something that happened to a case and moves its clock (§8). Instants are UTC; the engine
/// takes their Europe/London date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", content = "at", rename_all = "snake_case")]
pub enum ClockEvent {
    /// The authority asked the requester to clarify (FOIA/FOISA s.1(3), SAR Art 12A).
    ClarificationRequested(DateTime<Utc>),
    /// The clarification arrived.
    ClarificationReceived(DateTime<Utc>),
    /// EIR/EIR(S) reg 9(2) request for further particulars (same effect as a clarification).
    ParticularsRequested(DateTime<Utc>),
    /// The further particulars arrived.
    ParticularsReceived(DateTime<Utc>),
    /// A fees notice (FOIA/FOISA s.9, EIR reg 8) or SAR fee request was given.
    FeeNotice(DateTime<Utc>),
    /// The fee was received.
    FeeReceived(DateTime<Utc>),
    /// The controller asked for proof of identity (UK GDPR Art 12(6)). SAR only.
    IdRequested(DateTime<Utc>),
    /// Proof of identity arrived. SAR only.
    IdReceived(DateTime<Utc>),
    /// The period was extended.
    Extension(Extension),
}

impl ClockEvent {
    /// The instant of the event (extensions: when notified, if recorded).
    pub fn at(&self) -> Option<DateTime<Utc>> {
        match *self {
            ClockEvent::ClarificationRequested(t)
            | ClockEvent::ClarificationReceived(t)
            | ClockEvent::ParticularsRequested(t)
            | ClockEvent::ParticularsReceived(t)
            | ClockEvent::FeeNotice(t)
            | ClockEvent::FeeReceived(t)
            | ClockEvent::IdRequested(t)
            | ClockEvent::IdReceived(t) => Some(t),
            ClockEvent::Extension(e) => e.notified_at,
        }
    }

    /// The snake_case name of the event, as in JSON.
    pub fn name(&self) -> &'static str {
        match self {
            ClockEvent::ClarificationRequested(_) => "clarification_requested",
            ClockEvent::ClarificationReceived(_) => "clarification_received",
            ClockEvent::ParticularsRequested(_) => "particulars_requested",
            ClockEvent::ParticularsReceived(_) => "particulars_received",
            ClockEvent::FeeNotice(_) => "fee_notice",
            ClockEvent::FeeReceived(_) => "fee_received",
            ClockEvent::IdRequested(_) => "id_requested",
            ClockEvent::IdReceived(_) => "id_received",
            ClockEvent::Extension(_) => "extension",
        }
    }
}
