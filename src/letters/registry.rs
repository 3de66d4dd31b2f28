//! The registry's machinery: one minijinja environment, one template reader, one load-time check
//! with sample data, one pair of load-error types and one [`RenderError`].
//!
//! Every email lives in its own folder under the template directory (`ack_foi/`, `chaser/`,
//! `help/`…), with the parts its [`Family`] lists. Which families exist, and the sample data that
//! checks each, is the table in [`crate::letters`]; this module knows nothing about any one email.

use std::fmt;
use std::path::{Path, PathBuf};

use minijinja::syntax::SyntaxConfig;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

/// The subject line part of a family.
pub const SUBJECT: &str = "subject.txt.j2";
/// The plain-text body part.
pub const TEXT: &str = "body.txt.j2";
/// The HTML body part.
pub const HTML: &str = "body.html.j2";

/// minijinja recursion limit: a template loop can never hang the daemon.
const RECURSION_LIMIT: usize = 64;

/// One email's templates: a folder of parts, and sample data that checks them at load.
#[derive(Debug, Clone, Copy)]
pub struct Family {
    /// The folder name, e.g. `ack_foi` or `chaser`.
    pub name: &'static str,
    /// The files in that folder, e.g. [`SUBJECT`], [`TEXT`], [`HTML`].
    pub parts: &'static [&'static str],
    /// Largest file accepted, in bytes: a bigger file is almost certainly the wrong file.
    pub max_bytes: u64,
    /// Template contexts for the load-time check (given the family name), varied enough to walk
    /// every branch a sensible template has.
    pub samples: fn(&str) -> Vec<Value>,
    /// What makes the family required when it is optional (the Welsh templates:
    /// `[organisation] welsh = true`), said in the error when its folder is missing; empty for
    /// the families every installation has.
    pub required_by: &'static str,
}

impl Family {
    /// The family's files, relative to the template directory (`chaser/body.txt.j2`).
    pub fn files(&self) -> impl Iterator<Item = String> + '_ {
        self.parts.iter().map(|part| part_name(self.name, part))
    }
}

/// minijinja name of one template part, which is also its path under the template directory.
fn part_name(family: &str, part: &str) -> String {
    format!("{family}/{part}")
}

/// One problem found while loading the templates, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// The file at fault (or the directory, when a whole template is missing).
    pub file: PathBuf,
    /// 1-based line in that file, when known.
    pub line: Option<usize>,
    /// What is wrong, in words an officer can act on.
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file.display(), line, self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// Every problem found by [`crate::letters::Letters::load`]; never empty when returned as an
/// error.
///
/// All errors at once, so an officer fixes a template directory in one pass (style guide:
/// "collect all config and rule errors and report them together").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct TemplateErrors(pub Vec<TemplateError>);

impl fmt::Display for TemplateErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} template error(s):", self.0.len())?;
        for e in &self.0 {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

/// Why one email could not be rendered. None of these depend on the requester's text except
/// `Recipient` (an address lettre cannot use); the rest mean a bad template or a caller bug.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// The template named is not one of the loaded templates.
    #[error("unknown template {0:?}")]
    UnknownTemplate(String),
    /// A template failed at render time (e.g. an undefined variable in a branch the load-time
    /// check did not reach).
    #[error("template {template}/{part}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Template {
        /// Template (folder) name.
        template: String,
        /// File within it.
        part: &'static str,
        /// 1-based line, when known.
        line: Option<usize>,
        /// minijinja's description.
        message: String,
    },
    /// The recipient's address cannot be used.
    #[error("recipient address {address:?} is not usable: {reason}")]
    Recipient {
        /// The address as given.
        address: String,
        /// lettre's reason.
        reason: String,
    },
    /// Our own shared address is not a valid address (a configuration error).
    #[error("sender address {address:?} is not usable: {reason}")]
    Sender {
        /// The address as given.
        address: String,
        /// lettre's reason.
        reason: String,
    },
    /// `need_more_info` with an empty `missing` list: the email would ask for nothing.
    #[error("need_more_info needs at least one missing item")]
    NothingMissing,
    /// The Message-ID we were given is not `<left@right>` in visible ASCII.
    #[error("message id {0:?} is not a valid Message-ID")]
    MessageId(String),
    /// lettre refused to build the message.
    #[error("building the message failed: {0}")]
    Build(String),
}

/// The three rendered texts of one email (for previews, digests and `check-config` output).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedParts {
    /// The subject, on one line.
    pub subject: String,
    /// The text/plain body.
    pub text: String,
    /// The text/html body.
    pub html: String,
}

/// Every officer-editable template, compiled and checked. Load once at start (and on SIGHUP);
/// render many times. Shared by the daemon's tasks.
#[derive(Debug)]
pub struct Letters {
    pub(super) env: Environment<'static>,
    dir: PathBuf,
    /// The Welsh templates were loaded (`[organisation] welsh = true`).
    welsh: bool,
}

fn new_environment() -> Environment<'static> {
    let mut env = Environment::new();
    // A typo in a variable name must be an error, not an empty gap in a letter.
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Only the HTML bodies are HTML; escaping the subject or text body would print "&amp;".
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html.j2") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.set_recursion_limit(RECURSION_LIMIT);
    // `{{ due_iso|date_cy }}`: a date in Welsh words, for any template.
    env.add_filter("date_cy", |value: Value, form: Option<String>| {
        crate::letters::welsh::date_filter(&value, form.as_deref())
    });
    // Block tags on their own lines leave no blank lines behind (officers write templates like
    // letters), and the file's final newline is kept.
    if let Ok(syntax) = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    env
}

fn template_error(dir: &Path, name: &str, e: &minijinja::Error) -> TemplateError {
    let mut message = e.kind().to_string();
    if let Some(detail) = e.detail() {
        message.push_str(": ");
        message.push_str(detail);
    }
    TemplateError {
        file: dir.join(e.name().unwrap_or(name)),
        line: e.line(),
        message,
    }
}

/// Where the templates are read from: a directory, or the set built into the binary
/// ([`crate::config::builtin`]). Both go through the same load-time checks.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// A template directory (the config's `templates_dir`).
    Dir(&'a Path),
    /// The templates shipped in the repository, compiled in.
    BuiltIn,
}

impl Source<'_> {
    /// The directory errors name: the real one, or `(built-in)`.
    fn root(&self) -> PathBuf {
        match self {
            Source::Dir(dir) => dir.to_path_buf(),
            Source::BuiltIn => PathBuf::from(crate::config::builtin::LABEL),
        }
    }

    /// Whether the family's folder exists.
    fn has_family(&self, family: &str) -> bool {
        match self {
            Source::Dir(dir) => dir.join(family).is_dir(),
            Source::BuiltIn => crate::config::builtin::has_template_family(family),
        }
    }

    /// One template's text: bounded in size, UTF-8, the error in words.
    fn read(&self, name: &str, max_bytes: u64) -> Result<String, String> {
        match self {
            Source::Dir(dir) => read_template(&dir.join(name), max_bytes),
            Source::BuiltIn => crate::config::builtin::template(name)
                .map(str::to_string)
                .ok_or_else(|| "not built in".to_string()),
        }
    }
}

/// Reads one template file: bounded in size, UTF-8, the error in words.
fn read_template(path: &Path, max_bytes: u64) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > max_bytes {
        return Err(format!(
            "file is {} bytes; a template may be at most {max_bytes}",
            meta.len()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    String::from_utf8(bytes).map_err(|e| format!("not valid UTF-8: {e}"))
}

impl Letters {
    /// Reads and compiles every part of every family from `source`, then renders each family with
    /// its sample data.
    ///
    /// # Errors
    /// Every missing or unreadable file, syntax error and sample-render error found, all at once,
    /// each with its file and (when known) line. Sample renders run only once every file
    /// compiles.
    pub(super) fn load_families(
        source: Source<'_>,
        families: &[Family],
        welsh: bool,
    ) -> Result<Letters, TemplateErrors> {
        let dir = &source.root();
        let mut env = new_environment();
        let mut errors = Vec::new();
        for family in families {
            let fdir = dir.join(family.name);
            if !source.has_family(family.name) {
                let why = if family.required_by.is_empty() {
                    String::new()
                } else {
                    format!("; required by {}", family.required_by)
                };
                errors.push(TemplateError {
                    file: fdir,
                    line: None,
                    message: format!(
                        "template directory missing (it needs {}{why})",
                        family.parts.join(", ")
                    ),
                });
                continue;
            }
            for name in family.files() {
                let path = dir.join(&name);
                match source.read(&name, family.max_bytes) {
                    Ok(source) => {
                        if let Err(e) = env.add_template_owned(name.clone(), source) {
                            errors.push(template_error(dir, &name, &e));
                        }
                    }
                    Err(message) => errors.push(TemplateError {
                        file: path,
                        line: None,
                        message,
                    }),
                }
            }
        }
        if !errors.is_empty() {
            return Err(TemplateErrors(errors));
        }
        let letters = Letters {
            env,
            dir: dir.to_path_buf(),
            welsh,
        };
        for family in families {
            for ctx in (family.samples)(family.name) {
                letters.check(family, &ctx, &mut errors);
            }
        }
        if errors.is_empty() {
            Ok(letters)
        } else {
            Err(TemplateErrors(errors))
        }
    }

    /// Renders every part of `family` with `ctx`, adding each new failure to `errors` (one report
    /// per file and line, not one per sample).
    fn check(&self, family: &Family, ctx: &Value, errors: &mut Vec<TemplateError>) {
        for name in family.files() {
            let result = self
                .env
                .get_template(&name)
                .and_then(|t| t.render(ctx.clone()));
            if let Err(e) = result {
                let err = template_error(&self.dir, &name, &e);
                if !errors.contains(&err) {
                    errors.push(err);
                }
            }
        }
    }

    /// Whether the Welsh templates were loaded: letters in Welsh are written with them, else in
    /// English.
    pub fn welsh(&self) -> bool {
        self.welsh
    }

    /// Renders one part of one family to a string.
    ///
    /// # Errors
    /// [`RenderError::UnknownTemplate`] or [`RenderError::Template`].
    pub(super) fn render_part(
        &self,
        family: &str,
        part: &'static str,
        ctx: &Value,
    ) -> Result<String, RenderError> {
        let tmpl = self
            .env
            .get_template(&part_name(family, part))
            .map_err(|_| RenderError::UnknownTemplate(family.to_string()))?;
        tmpl.render(ctx.clone()).map_err(|e| RenderError::Template {
            template: family.to_string(),
            part,
            line: e.line(),
            message: e.to_string(),
        })
    }
}
