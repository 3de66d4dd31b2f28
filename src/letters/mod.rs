//! Letters: every email the system sends, from ONE registry of officer-editable templates.
//!
//! [`Letters::load`] reads every family in [`FAMILIES`] (one folder each under the template
//! directory: acknowledgements, need-more-info, receipts, assignment, command replies, refused
//! commands, help, chasers, digests, the machine-mail list), compiles them in one minijinja environment (strict undefined variables,
//! HTML autoescape for `*.html.j2` only) and renders each with sample data, reporting every
//! problem at once with its file and line. The daemon loads it at start and again on SIGHUP
//! (keeping the old set when the new one is broken); `check-config` runs the same load.
//!
//! - [`registry`]: the machinery (environment, reader, load-time check, errors).
//! - [`compose`]: acknowledgements to requesters, rendered at send time into RFC 5322 messages.
//! - [`staff`]: letters to staff (assignment, command reply, refused command, help, chaser,
//!   digest, machine-mail list and the answer to an emailed `#open`).
//! - [`welsh`]: dates and labels in Welsh for the Welsh letters to requesters
//!   (`templates/<name>/cy/`, loaded when `[organisation] welsh = true`), and the `date_cy`
//!   template filter.
//!
//! No mail wording lives in Rust: it is all in `templates/` (see `templates/README.md`).

pub mod compose;
pub mod registry;
pub mod staff;
pub mod welsh;

use std::path::Path;

pub use registry::{
    Family, Letters, RenderError, RenderedParts, Source, TemplateError, TemplateErrors,
};
use registry::{HTML, SUBJECT, TEXT};

/// Subject, text and HTML.
const THREE: [&str; 3] = [SUBJECT, TEXT, HTML];
/// Subject and text: staff mail read as plain text.
const TWO: [&str; 2] = [SUBJECT, TEXT];
/// Text only.
const ONE: [&str; 1] = [TEXT];

const fn ack(name: &'static str) -> Family {
    Family {
        name,
        parts: &THREE,
        max_bytes: compose::MAX_TEMPLATE_BYTES,
        samples: compose::samples,
        required_by: "",
    }
}

/// The Welsh version of a requester's letter, `<name>/cy` ([`compose::WELSH_FOLDER`]).
const fn cy(name: &'static str) -> Family {
    Family {
        name,
        parts: &THREE,
        max_bytes: compose::MAX_TEMPLATE_BYTES,
        samples: compose::samples_cy,
        required_by: "[organisation] welsh = true",
    }
}

const fn staff(
    name: &'static str,
    parts: &'static [&'static str],
    samples: fn(&str) -> Vec<minijinja::Value>,
) -> Family {
    Family {
        name,
        parts,
        max_bytes: staff::MAX_TEMPLATE_BYTES,
        samples,
        required_by: "",
    }
}

/// Every email the system sends, in the order load errors are reported. The acknowledgement
/// names are [`compose::TEMPLATE_NAMES`]; the staff names are the constants in [`staff`].
pub const FAMILIES: [Family; 17] = [
    ack("ack_foi"),
    ack("ack_eir"),
    ack("ack_sar"),
    ack("ack_media"),
    ack("ack_member_enquiry"),
    ack("ack_complaint"),
    ack("ack_general"),
    ack("need_more_info"),
    ack("followup_receipt"),
    staff(staff::DIGEST, &THREE, staff::samples::digest),
    staff(staff::CHASER, &THREE, staff::samples::chaser),
    staff(staff::ASSIGNMENT, &TWO, staff::samples::assignment),
    staff(staff::COMMAND_REPLY, &TWO, staff::samples::command_reply),
    staff(
        staff::COMMAND_REFUSED,
        &TWO,
        staff::samples::command_refused,
    ),
    staff(staff::HELP, &ONE, staff::samples::help),
    staff(staff::MACHINE_MAIL, &THREE, staff::samples::machine_mail),
    staff(
        staff::MACHINE_MAIL_REPLY,
        &TWO,
        staff::samples::machine_mail_reply,
    ),
];

/// The Welsh versions of the letters to requesters ([`compose::TEMPLATE_NAMES`], in the same
/// order), read only when the body answers Welsh in Welsh (`[organisation] welsh = true`).
pub const WELSH_FAMILIES: [Family; 9] = [
    cy("ack_foi/cy"),
    cy("ack_eir/cy"),
    cy("ack_sar/cy"),
    cy("ack_media/cy"),
    cy("ack_member_enquiry/cy"),
    cy("ack_complaint/cy"),
    cy("ack_general/cy"),
    cy("need_more_info/cy"),
    cy("followup_receipt/cy"),
];

/// Every file the registry reads, relative to the template directory (`ack_foi/subject.txt.j2`),
/// the Welsh templates excepted.
pub fn template_files() -> impl Iterator<Item = String> {
    FAMILIES.iter().flat_map(Family::files)
}

/// Every Welsh template file (`ack_foi/cy/subject.txt.j2`).
pub fn welsh_template_files() -> impl Iterator<Item = String> {
    WELSH_FAMILIES.iter().flat_map(Family::files)
}

impl Letters {
    /// Reads, compiles and sample-renders every template under `dir`, English only: what an
    /// installation without `[organisation] welsh` loads.
    ///
    /// # Errors
    /// Every missing or unreadable file, syntax error and sample-render error, all at once, each
    /// with its file and (when known) line.
    pub fn load(dir: &Path) -> Result<Letters, TemplateErrors> {
        Letters::load_with_welsh(dir, false)
    }

    /// As [`Letters::load`], and when `welsh` (`[organisation] welsh = true`) the Welsh
    /// templates too ([`WELSH_FAMILIES`]): each one missing is an error then, all listed at once.
    /// Without `welsh` they are not read, and need not exist.
    ///
    /// # Errors
    /// As [`Letters::load`].
    pub fn load_with_welsh(dir: &Path, welsh: bool) -> Result<Letters, TemplateErrors> {
        Letters::load_from(Source::Dir(dir), welsh)
    }

    /// The templates a config names: its `templates_dir` when it has one (a missing directory is
    /// an error, never a fallback), else the ones built into the binary.
    ///
    /// # Errors
    /// As [`Letters::load`].
    pub fn load_configured(dir: Option<&Path>, welsh: bool) -> Result<Letters, TemplateErrors> {
        match dir {
            Some(dir) => Letters::load_from(Source::Dir(dir), welsh),
            None => Letters::load_from(Source::BuiltIn, welsh),
        }
    }

    /// As [`Letters::load_with_welsh`], from either source.
    ///
    /// # Errors
    /// As [`Letters::load`].
    pub fn load_from(source: Source<'_>, welsh: bool) -> Result<Letters, TemplateErrors> {
        if welsh {
            let all: Vec<Family> = FAMILIES.iter().chain(&WELSH_FAMILIES).copied().collect();
            Letters::load_families(source, &all, true)
        } else {
            Letters::load_families(source, &FAMILIES, false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_acknowledgement_and_staff_letter_is_a_family() {
        let names: Vec<&str> = FAMILIES.iter().map(|f| f.name).collect();
        for name in compose::TEMPLATE_NAMES {
            assert!(names.contains(&name), "{name}");
        }
        for name in [
            staff::DIGEST,
            staff::CHASER,
            staff::ASSIGNMENT,
            staff::COMMAND_REPLY,
            staff::COMMAND_REFUSED,
            staff::HELP,
            staff::MACHINE_MAIL,
            staff::MACHINE_MAIL_REPLY,
        ] {
            assert!(names.contains(&name), "{name}");
        }
        assert_eq!(names.len(), compose::TEMPLATE_NAMES.len() + 8);
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        for file in template_files() {
            assert!(shipped.join(&file).is_file(), "{file} is not shipped");
        }
    }

    #[test]
    fn the_built_in_templates_load_with_the_welsh_ones_and_render_as_the_shipped_directory() {
        let built_in = Letters::load_from(Source::BuiltIn, true).expect("built-in templates load");
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let on_disk = Letters::load_with_welsh(&shipped, true).expect("shipped templates load");
        assert!(built_in.welsh());
        assert_eq!(
            built_in.help_text().expect("help renders"),
            on_disk.help_text().expect("help renders")
        );
    }
}
