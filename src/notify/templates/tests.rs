//! Template tests: every shipped template renders, strictness names file
//! and line, HTML is escaped, subjects stay on one line.

use std::path::Path;

use serde_json::json;

use super::*;
use crate::notify::compose::sample_context;
use crate::testutil;

fn shipped() -> Templates {
    Templates::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("templates"))
}

#[test]
fn every_shipped_template_renders_against_the_sample() {
    let config = testutil::config(&[]);
    let problems = shipped().check(&sample_context(&config));
    assert!(problems.is_empty(), "{problems:#?}");
    let names = shipped().names();
    for event in crate::config::TEMPLATE_EVENTS {
        assert!(names.contains(event), "{event} has a template");
    }
}

#[test]
fn acknowledgement_mentions_the_tag_and_has_the_reply_marker() {
    let config = testutil::config(&[]);
    let r = shipped()
        .render("acknowledgement", &sample_context(&config))
        .unwrap();
    assert_eq!(
        r.subject,
        "[#123] We received your request: Printer on floor 2 is jammed"
    );
    assert!(r.text.starts_with(crate::notify::compose::REPLY_MARKER));
    assert!(r.html.unwrap().contains("<strong>[#123]</strong>"));
}

fn write(dir: &Path, file: &str, text: &str) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn an_undefined_variable_is_an_error_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "acknowledgement/body.txt.j2",
        "Hello\n{{ ticket.nonexistent }}\n",
    );
    let config = testutil::config(&[]);
    let err = Templates::new(dir.path())
        .render("acknowledgement", &sample_context(&config))
        .unwrap_err();
    assert!(err.file.ends_with("acknowledgement/body.txt.j2"), "{err}");
    assert_eq!(err.line, 2, "{err}");
    let problems = Templates::new(dir.path()).check(&sample_context(&config));
    assert_eq!(
        problems.len(),
        1,
        "only the broken file fails: {problems:#?}"
    );
}

#[test]
fn edits_take_effect_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let templates = Templates::new(dir.path());
    let config = testutil::config(&[]);
    let before = templates
        .render("acknowledgement", &sample_context(&config))
        .unwrap();
    write(
        dir.path(),
        "acknowledgement/subject.txt.j2",
        "Got it {{ tag }}",
    );
    let after = templates
        .render("acknowledgement", &sample_context(&config))
        .unwrap();
    assert_ne!(before.subject, after.subject);
    assert_eq!(after.subject, "Got it [#123]");
}

#[test]
fn html_bodies_escape_mail_content_and_text_bodies_do_not() {
    let config = testutil::config(&[]);
    let mut ctx = sample_context(&config);
    ctx["comment"]["text"] = json!("<script>alert(1)</script> & <b>bold</b>");
    let r = shipped().render("public_reply", &ctx).unwrap();
    let html = r.html.unwrap();
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("&lt;script&gt;"), "{html}");
    assert!(
        r.text.contains("<script>alert(1)</script>"),
        "plain text is plain"
    );
}

#[test]
fn subjects_cannot_carry_header_breaks() {
    let config = testutil::config(&[]);
    let mut ctx = sample_context(&config);
    ctx["ticket"]["subject"] = json!("hi\r\nBcc: victim@example.com\u{0}");
    let r = shipped().render("acknowledgement", &ctx).unwrap();
    assert!(!r.subject.contains('\n') && !r.subject.contains('\r') && !r.subject.contains('\0'));
    assert!(
        r.subject.ends_with("hi Bcc: victim@example.com"),
        "{}",
        r.subject
    );
    assert_eq!(one_line(&"x".repeat(500)).len(), MAX_SUBJECT_CHARS);
}

#[test]
fn a_missing_template_is_reported() {
    let config = testutil::config(&[]);
    let err = shipped()
        .render("no_such_template", &sample_context(&config))
        .unwrap_err();
    assert!(err.message.contains("missing"), "{err}");
}
