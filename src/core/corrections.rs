//! Officers' corrections as test samples: what a re-classified case keeps beside the store, and
//! how replaying it against the current rules is judged. Pure.
//!
//! A case carries a [`Correction`] while an officer's kind differs from the one the rules gave
//! (recorded by [`crate::core::actions`] when it re-classifies: the one place, whatever the way
//! in). For each such case a private sample is kept in `DATA_DIR/corrections/`: the case's first
//! message as received (`REF.eml`) and a small [`Sample`] file (`REF.toml`) made from the case by
//! [`sample`]. `foi-triage rules test --corrections` replays every sample against the current
//! rules, and [`judge`] calls it *now right* when the rules give the officer's kind, *still
//! wrong* when they do not.
//!
//! What this module does not do: read or write the files (`io::corrections`), or decide when
//! they are written (`app::corrections`, after the store has committed the case).

use crate::core::london;
use crate::core::rules::{Decision, Expectation};
use crate::model::case::{Case, CaseRef, Correction};
use crate::model::change::Change;
use crate::model::kind::Kind;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The first lines of every sample file: what it is, and that it is personal data.
const HEADER: &str = "\
# An officer's correction, kept by foi-triage as a private test sample. The message beside this
# file is the request as received: personal data, kept only while the correction stands.
# Replayed by `foi-triage rules test --corrections`; written from the case store, do not edit.
";

/// One correction sample (`REF.toml`): what the rules should say about the case's first message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sample {
    /// The case; also the file names (`FOI-2026-000123.toml`, `FOI-2026-000123.eml`).
    pub reference: CaseRef,
    /// The officer's kind: what the rules must decide (as `kind` in `expected.toml`).
    pub kind: Kind,
    /// What the rules decided when the request arrived.
    pub rules_said: Kind,
    /// The rules that fired then.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Who corrected it last (a staff address).
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// The sample a case keeps: `None` unless an officer's kind stands against the rules'.
pub fn sample(case: &Case) -> Option<Sample> {
    let Correction { rules_said, by, at } = case.workflow.correction.as_ref()?;
    Some(Sample {
        reference: case.reference.clone(),
        kind: case.kind,
        rules_said: *rules_said,
        rules: case.rules.clone(),
        by: by.clone(),
        at: *at,
    })
}

/// The cases whose sample a change adds, replaces or removes: their sample differs from the
/// one of the copy the change was planned on (or the change overwrites a case without saying
/// what it was). The caller refreshes their files once the change is committed.
pub fn touched(change: &Change) -> Vec<CaseRef> {
    change
        .case_updates
        .iter()
        .filter(|u| {
            u.expected
                .as_ref()
                .is_none_or(|old| sample(old) != sample(&u.case))
        })
        .map(|u| u.case.reference.clone())
        .collect()
}

/// The text of a sample file: a header saying what it is, then the TOML table.
pub fn render(sample: &Sample) -> String {
    // Plain strings, a kind, a date and a list of strings always serialise.
    let table = toml::to_string(sample).unwrap_or_default();
    format!("{HEADER}{table}")
}

/// Reads the text of a sample file. The error is one line.
///
/// # Errors
/// Not valid TOML, a missing or unknown field, a bad kind, reference or date.
pub fn parse(text: &str) -> Result<Sample, String> {
    toml::from_str(text).map_err(|e| e.to_string().trim().replace('\n', " | "))
}

/// What the current rules make of a correction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The rules now give the officer's kind.
    NowRight,
    /// They still give another kind (the one they gave, or a third).
    StillWrong,
}

/// A replayed sample: the verdict, and for a wrong one what is wrong (expected, got, why) and
/// the rules that fired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    /// Right or wrong.
    pub verdict: Verdict,
    /// One line each, empty when right.
    pub problems: Vec<String>,
}

/// Judges the rules' decision on a sample's message against the officer's kind.
pub fn judge(sample: &Sample, decision: &Decision) -> Replay {
    let expectation = Expectation {
        kind: sample.kind,
        valid: None,
        missing: None,
        followup: None,
        reference: None,
        rules: Vec::new(),
        language: None,
    };
    let mut problems = expectation.check_decision(decision);
    if problems.is_empty() {
        return Replay {
            verdict: Verdict::NowRight,
            problems,
        };
    }
    let fired: Vec<&str> = decision.fired.iter().map(|r| r.id.as_str()).collect();
    problems.push(if fired.is_empty() {
        "rules fired: none".to_string()
    } else {
        format!("rules fired: {}", fired.join(", "))
    });
    Replay {
        verdict: Verdict::StillWrong,
        problems,
    }
}

/// The line a replay prints first: `FAIL REF still wrong (…)` or `PASS REF now right (…)`, with
/// who corrected it to what, when (UK date), and what the rules said then.
pub fn headline(sample: &Sample, verdict: Verdict) -> String {
    let (status, words) = match verdict {
        Verdict::NowRight => ("PASS", "now right"),
        Verdict::StillWrong => ("FAIL", "still wrong"),
    };
    format!(
        "{status} {} {words} (the rules said {}; {} corrected it to {} on {})",
        sample.reference,
        sample.rules_said,
        sample.by,
        sample.kind,
        london::date(sample.at)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::rules::FiredRule;
    use crate::model::change::CaseUpdate;

    fn case() -> Case {
        crate::core::plan::testkit::case(7, Kind::Eir, "Trees", "2026-03-02T09:30:00Z")
    }

    fn corrected() -> Case {
        let mut c = case();
        c.rules = vec!["foi.act-named".into()];
        c.workflow.correction = Some(Correction {
            rules_said: Kind::Foi,
            by: "alice@council.example".into(),
            at: "2026-03-05T23:30:00Z".parse().expect("instant"),
        });
        c
    }

    fn decision(kind: Kind, fired: &[&str]) -> Decision {
        Decision {
            kind,
            fired: fired
                .iter()
                .map(|id| FiredRule {
                    id: (*id).into(),
                    kind,
                    weight: 50,
                    description: "d".into(),
                    matched: vec![],
                })
                .collect(),
            scores: vec![(kind, 50)],
            why: format!("{kind} won"),
        }
    }

    #[test]
    fn a_sample_is_made_from_a_corrected_case_only_and_reads_back() {
        assert_eq!(sample(&case()), None);
        let s = sample(&corrected()).expect("a sample");
        assert_eq!(
            (s.kind, s.rules_said, s.rules.as_slice()),
            (Kind::Eir, Kind::Foi, &["foi.act-named".to_string()][..])
        );
        let text = render(&s);
        assert!(text.starts_with("# An officer's correction"), "{text}");
        assert!(text.contains("personal data"), "{text}");
        assert_eq!(parse(&text), Ok(s));
        let e = parse("reference = \"FOI-2026-000001\"\nkind = \"fio\"\n").expect_err("bad");
        assert!(!e.contains('\n'), "{e}");
        assert!(
            parse(&format!("{text}extra = 1\n")).is_err(),
            "unknown field"
        );
    }

    #[test]
    fn a_change_touches_the_cases_whose_correction_moves() {
        let (plain, fixed) = (case(), corrected());
        let update = |case: &Case, expected: Option<&Case>| CaseUpdate {
            case: case.clone(),
            expected: expected.cloned(),
        };
        let mut noted = fixed.clone();
        noted.subject = "Trees (noted)".into();
        // Re-classified again by the same officer at the same instant: only the kind moves.
        let mut again = fixed.clone();
        again.kind = Kind::Sar;
        // (updates, touched)
        let table = [
            (vec![update(&fixed, Some(&plain))], 1),
            (vec![update(&plain, Some(&fixed))], 1),
            (vec![update(&again, Some(&fixed))], 1),
            (vec![update(&noted, Some(&fixed))], 0),
            (vec![update(&plain, None)], 1),
            (vec![], 0),
        ];
        for (updates, n) in table {
            let change = Change {
                case_updates: updates.clone(),
                ..Change::default()
            };
            let got = touched(&change);
            assert_eq!(got.len(), n, "{updates:?}");
            assert!(got.iter().all(|r| *r == plain.reference));
        }
    }

    #[test]
    fn a_replay_is_now_right_or_still_wrong_with_the_rules_that_fired() {
        let s = sample(&corrected()).expect("a sample");
        let right = judge(&s, &decision(Kind::Eir, &["eir.environment"]));
        assert_eq!(right.verdict, Verdict::NowRight);
        assert!(right.problems.is_empty());
        let wrong = judge(&s, &decision(Kind::Foi, &["foi.act-named", "foi.x"]));
        assert_eq!(wrong.verdict, Verdict::StillWrong);
        assert_eq!(
            wrong.problems,
            [
                "expected kind eir, got foi: foi won",
                "rules fired: foi.act-named, foi.x"
            ]
        );
        let none = judge(&s, &decision(Kind::General, &[]));
        assert_eq!(none.problems[1], "rules fired: none");
        // 23:30 UTC on 5 March is still 5 March in London (GMT).
        assert_eq!(
            headline(&s, Verdict::StillWrong),
            "FAIL EIR-2026-000007 still wrong (the rules said foi; alice@council.example \
             corrected it to eir on 2026-03-05)"
        );
        assert!(headline(&s, Verdict::NowRight).starts_with("PASS EIR-2026-000007 now right"));
    }
}
