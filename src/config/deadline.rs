//! The deadline options an authority may set: local policy around the statutory clock.

use crate::model::regime::SarMonthRule;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Default EIR reg 8 advance-payment window, in working days (§2; not verified against the
/// regulation text, hence configurable).
const EIR_FEE_LAPSE_WORKING_DAYS: u32 = 60;

/// Options an authority may set (deadlines.md §1.4, §2, §3.4, §5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeadlineOptions {
    /// Month rule for subject access.
    pub sar_month_rule: SarMonthRule,
    /// For working-day regimes (FOIA, EIR, FOISA, EIR(S), local policy; not SAR), treat a request
    /// or clarification that arrives on a non-working day as received on
    /// the next working day (the 2018 s.45 Code reading some councils publish). Default false: the
    /// statute and the ICO count the actual day of arrival, which is earlier and safer (§1.4).
    pub nonworking_receipt_rolls_forward: bool,
    /// Organisational closure days (e.g. between Christmas and New Year), as "YYYY-MM-DD" strings
    /// in TOML/JSON. Local policy only: they are working days for every statute (ICO LTT47).
    pub closure_days: BTreeSet<NaiveDate>,
    /// EIR/EIR(S) reg 8: working days the applicant has to pay an advance payment (default 60;
    /// not verified against the regulation text, §2).
    pub eir_fee_lapse_working_days: u32,
}

impl Default for DeadlineOptions {
    fn default() -> Self {
        DeadlineOptions {
            sar_month_rule: SarMonthRule::Ico,
            nonworking_receipt_rolls_forward: false,
            closure_days: BTreeSet::new(),
            eir_fee_lapse_working_days: EIR_FEE_LAPSE_WORKING_DAYS,
        }
    }
}
