//! `config check`, `templates check`, `templates render` and
//! `templates list`.

use super::CAROL;
use crate::util::{TestEnv, copy_dir, mail, set};

#[test]
fn config_check_names_the_file_and_the_unknown_key() {
    let env = TestEnv::new();
    let good = env.ok(&["config", "check"]);
    assert!(good.stdout.contains("valid"), "{good}");

    let bad = TestEnv::with_config(|c| set(c, "alerts.acknowledge_everyone", true));
    let run = bad.run(&["config", "check"]).assert_failure();
    let file = bad.config_path().display().to_string();
    assert!(run.stderr.contains(&file), "{run}");
    assert!(run.stderr.contains("acknowledge_everyone"), "{run}");
}

#[test]
fn templates_check_passes_shipped_templates_and_locates_errors() {
    let mut env = TestEnv::new();
    let good = env.ok(&["templates", "check"]);
    assert!(good.stdout.contains("OK"), "{good}");

    let copy = env.path().join("my-templates");
    copy_dir(
        &std::path::Path::new(crate::util::ROOT).join("templates"),
        &copy,
    );
    let file = copy.join("acknowledgement/body.txt.j2");
    let original = std::fs::read_to_string(&file).expect("reading the template");
    let mut lines: Vec<&str> = original.lines().collect();
    lines[1] = "{{ ticket.nonexistent }}";
    std::fs::write(&file, lines.join("\n")).expect("writing the template");
    let dir = copy.display().to_string();
    env.edit_config(|c| set(c, "templates.dir", dir.clone()));

    let run = env.run(&["templates", "check"]).assert_failure();
    let location = format!("{dir}/acknowledgement/body.txt.j2:2");
    assert!(run.stderr.contains(&location), "want {location}\n{run}");
}

/// `templates render` previews a template for a stored ticket (its last
/// comment as the comment), and `templates list` names what each event uses.
#[test]
fn templates_render_previews_for_a_ticket_and_list_shows_events() {
    let env = TestEnv::new();
    env.ingest(&mail(
        &[
            ("From", CAROL),
            ("To", "support@example.test"),
            ("Subject", "Broken <b>chair</b>"),
            ("Message-ID", "<render-1@customer.test>"),
        ],
        "The chair & the desk.",
    ));
    let rendered = env.json(&["templates", "render", "public_reply", "--ticket", "1"]);
    assert_eq!(
        rendered["subject"], "Re: [#1] Broken <b>chair</b>",
        "{rendered:#}"
    );
    assert!(
        rendered["text"]
            .as_str()
            .unwrap_or_default()
            .contains("The chair & the desk.")
    );
    let html = rendered["html"].as_str().unwrap_or_default();
    assert!(html.contains("The chair &amp; the desk."), "{html}");
    assert!(html.contains("Broken &lt;b&gt;chair&lt;"), "{html}");
    assert!(!html.contains("<b>"), "mail content is never HTML: {html}");
    env.run(&["templates", "render", "no_such", "--ticket", "1"])
        .assert_failure();
    env.run(&["templates", "render", "public_reply", "--ticket", "9"])
        .assert_failure();

    let list = env.ok(&["templates", "list"]);
    assert!(
        list.stdout.contains("ticket_closed") && list.stdout.contains("used for: ticket_closed"),
        "{list}"
    );
}
