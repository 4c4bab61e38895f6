//! Alert templates: one folder per template in the configured directory,
//! each with `subject.txt.j2`, `body.txt.j2` and an optional
//! `body.html.j2`, plus shared `_base.txt.j2` / `_base.html.j2` layouts.
//! Rendering is strict: an undefined variable is an error, never an empty
//! string. HTML templates are auto-escaped.
//!
//! Files are read at render time, so edits take effect without a restart.
//! The shipped defaults are compiled in and used for any file missing
//! from the directory.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, TemplateSource, UndefinedBehavior, Value};

/// Default templates shipped in the binary: (path, source).
const DEFAULTS: &[(&str, &str)] = &[
    ("_base.txt.j2", include_str!("../../templates/_base.txt.j2")),
    (
        "_base.html.j2",
        include_str!("../../templates/_base.html.j2"),
    ),
    (
        "acknowledgement/subject.txt.j2",
        include_str!("../../templates/acknowledgement/subject.txt.j2"),
    ),
    (
        "acknowledgement/body.txt.j2",
        include_str!("../../templates/acknowledgement/body.txt.j2"),
    ),
    (
        "acknowledgement/body.html.j2",
        include_str!("../../templates/acknowledgement/body.html.j2"),
    ),
    (
        "new_ticket/subject.txt.j2",
        include_str!("../../templates/new_ticket/subject.txt.j2"),
    ),
    (
        "new_ticket/body.txt.j2",
        include_str!("../../templates/new_ticket/body.txt.j2"),
    ),
    (
        "new_ticket/body.html.j2",
        include_str!("../../templates/new_ticket/body.html.j2"),
    ),
    (
        "ticket_closed/subject.txt.j2",
        include_str!("../../templates/ticket_closed/subject.txt.j2"),
    ),
    (
        "ticket_closed/body.txt.j2",
        include_str!("../../templates/ticket_closed/body.txt.j2"),
    ),
    (
        "ticket_closed/body.html.j2",
        include_str!("../../templates/ticket_closed/body.html.j2"),
    ),
    (
        "public_reply/subject.txt.j2",
        include_str!("../../templates/public_reply/subject.txt.j2"),
    ),
    (
        "public_reply/body.txt.j2",
        include_str!("../../templates/public_reply/body.txt.j2"),
    ),
    (
        "public_reply/body.html.j2",
        include_str!("../../templates/public_reply/body.html.j2"),
    ),
    (
        "staff_notification/subject.txt.j2",
        include_str!("../../templates/staff_notification/subject.txt.j2"),
    ),
    (
        "staff_notification/body.txt.j2",
        include_str!("../../templates/staff_notification/body.txt.j2"),
    ),
    (
        "staff_warning/subject.txt.j2",
        include_str!("../../templates/staff_warning/subject.txt.j2"),
    ),
    (
        "staff_warning/body.txt.j2",
        include_str!("../../templates/staff_warning/body.txt.j2"),
    ),
];

/// Longest subject we send; longer ones are cut.
const MAX_SUBJECT_CHARS: usize = 200;

/// A rendered mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// One-line subject (control characters removed).
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body, when the template has one.
    pub html: Option<String>,
}

/// A template problem located in a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct TemplateError {
    /// File path (in the template directory).
    pub file: String,
    /// Line number (0 when unknown).
    pub line: usize,
    /// What went wrong.
    pub message: String,
}

/// The template set in a directory.
#[derive(Debug, Clone)]
pub struct Templates {
    dir: PathBuf,
}

impl Templates {
    /// Templates in `dir` (which may be missing: defaults apply).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Templates { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn environment(&self) -> Environment<'static> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html.j2") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        let dir = self.dir.clone();
        env.set_loader(move |name| load(&dir, name));
        env
    }

    /// Renders template `name` with `context`.
    pub fn render(
        &self,
        name: &str,
        context: &serde_json::Value,
    ) -> Result<Rendered, TemplateError> {
        let env = self.environment();
        let ctx = Value::from(Serde(context));
        let part = |file: &str| -> Result<Option<String>, TemplateError> {
            let path = format!("{name}/{file}");
            match env.get_template(&path) {
                Ok(t) => t.render(&ctx).map(Some).map_err(|e| self.error(&path, &e)),
                Err(e) if e.kind() == minijinja::ErrorKind::TemplateNotFound => Ok(None),
                Err(e) => Err(self.error(&path, &e)),
            }
        };
        let subject =
            part("subject.txt.j2")?.ok_or_else(|| self.missing(name, "subject.txt.j2"))?;
        let text = part("body.txt.j2")?.ok_or_else(|| self.missing(name, "body.txt.j2"))?;
        Ok(Rendered {
            subject: one_line(&subject),
            text,
            html: part("body.html.j2")?,
        })
    }

    fn missing(&self, name: &str, file: &str) -> TemplateError {
        TemplateError {
            file: self.dir.join(name).join(file).display().to_string(),
            line: 0,
            message: "template file is missing".into(),
        }
    }

    fn error(&self, path: &str, e: &minijinja::Error) -> TemplateError {
        let file = e.name().unwrap_or(path);
        let mut message = e.kind().to_string();
        if let Some(detail) = e.detail() {
            message = format!("{message}: {detail}");
        }
        TemplateError {
            file: self.dir.join(file).display().to_string(),
            line: e.line().unwrap_or(0),
            message,
        }
    }

    /// Names of every template: the shipped ones plus folders in the directory.
    pub fn names(&self) -> BTreeSet<String> {
        let mut names: BTreeSet<String> = DEFAULTS
            .iter()
            .filter_map(|(p, _)| p.split_once('/').map(|(n, _)| n.to_string()))
            .collect();
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for entry in entries.flatten() {
                if entry.path().join("subject.txt.j2").is_file() {
                    names.insert(entry.file_name().to_string_lossy().into_owned());
                }
            }
        }
        names
    }

    /// Renders every template against `sample`; returns the problems.
    pub fn check(&self, sample: &serde_json::Value) -> Vec<TemplateError> {
        self.names()
            .iter()
            .filter_map(|n| self.render(n, sample).err())
            .collect()
    }
}

fn load(dir: &Path, name: &str) -> Result<Option<TemplateSource>, minijinja::Error> {
    let on_disk = minijinja::path_loader(dir.to_path_buf())(name)?;
    Ok(on_disk.or_else(|| {
        DEFAULTS
            .iter()
            .find(|(p, _)| *p == name)
            .map(|(_, s)| TemplateSource::from(s.to_string()))
    }))
}

/// Collapses a rendered subject to one safe line: no CR/LF or other
/// control characters (no header injection), at most 200 characters.
pub fn one_line(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    cleaned
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(MAX_SUBJECT_CHARS)
        .collect()
}

#[cfg(test)]
mod tests;
