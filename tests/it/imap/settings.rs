//! Mailbox settings: bad credentials, folder or port (logged with the fix
//! and retried; `serve --check` fails fast), TLS and STARTTLS with
//! `AUTHENTICATE PLAIN`, and two mailboxes each with its own settings.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{
    BOB, CUSTOMER, SUPPORT, Scene, assert_each_arrived_once, mailbox_health, scene, wait_all_sent,
    wait_for_records,
};
use crate::mailstack::{DEADLINE, MailStack, instance_name, take_turn};
use crate::util::{Daemon, array, free_port, mail, poll_until, set};

/// A password that must never show up in a log.
const WRONG_PASSWORD: &str = "Wr0ngPa55-not-logged";

#[test]
fn bad_settings_are_logged_with_the_fix_and_retried_while_check_fails_fast() {
    let _turn = take_turn();
    let Some(stack) = MailStack::find() else {
        return;
    };
    let instance = instance_name("bad");
    let mut env = stack.imap_env(&instance, SUPPORT);
    let cases: [(&str, toml::Value, &str); 3] = [
        (
            "password",
            WRONG_PASSWORD.into(),
            "check username and password",
        ),
        ("folder", "NoSuchFolder".into(), "check the folder setting"),
        ("port", i64::from(free_port()).into(), "check host and port"),
    ];
    for (key, value, fix) in cases {
        let mut broken = stack.imap_env(&instance, SUPPORT);
        MailStack::edit_mailbox(&mut broken, key, value);
        let check = broken.run(&["serve", "--check"]).assert_failure();
        assert!(check.stderr.contains(fix), "{key}: {check}");
        assert!(
            check.stderr.contains("mailbox \"support\""),
            "{key}: {check}"
        );

        let mut daemon = Daemon::start(&broken);
        let health = poll_until("a failed attempt", DEADLINE, || {
            let h = mailbox_health(&broken);
            (h["consecutive_errors"].as_u64() >= Some(1)).then_some(h)
        });
        assert_eq!(health["state"], "retrying", "{health:#}");
        assert!(
            health["last_error"]
                .as_str()
                .unwrap_or_default()
                .contains(fix),
            "{health:#}"
        );
        daemon.assert_running();
        assert!(daemon.log().contains(fix), "{key}: {}", daemon.log());
        assert!(
            !daemon.log().contains(WRONG_PASSWORD),
            "password logged: {}",
            daemon.log()
        );
        let status = daemon.terminate();
        assert!(status.success(), "{status}");
    }

    // Implicit TLS: refused without the CA, then fine with it.
    MailStack::edit_mailbox(&mut env, "security", "tls");
    MailStack::edit_mailbox(&mut env, "host", "localhost");
    MailStack::edit_mailbox(&mut env, "port", i64::from(stack.imaps_port));
    let check = env.run(&["serve", "--check"]).assert_failure();
    assert!(check.stderr.contains("set ca_file"), "{check}");
    MailStack::edit_mailbox(&mut env, "ca_file", stack.ca.as_str());
    let mut daemon = Daemon::start_with(&env, &["serve", "--check"]);
    let health = poll_until("the mailbox to be watched", DEADLINE, || {
        let h = mailbox_health(&env);
        (h["state"] == "idle").then_some(h)
    });
    assert_eq!(health["consecutive_errors"], 0, "{health:#}");
    daemon.assert_running();
}

#[test]
fn starttls_and_authenticate_plain_work() {
    let Some(Scene {
        _turn,
        stack,
        mut env,
        ..
    }) = scene("starttls")
    else {
        return;
    };
    for (key, value) in [
        ("security", toml::Value::from("starttls")),
        ("host", "localhost".into()),
        ("auth", "plain".into()),
        ("ca_file", stack.ca.as_str().into()),
    ] {
        MailStack::edit_mailbox(&mut env, key, value);
    }
    let _daemon = Daemon::start_with(&env, &["serve", "--check"]);
    stack.send(
        CUSTOMER,
        &[SUPPORT],
        &mail(
            &[
                ("From", CUSTOMER),
                ("To", SUPPORT),
                ("Subject", "Over STARTTLS"),
            ],
            "Hello.",
        ),
    );
    wait_for_records(&env, 1);
    assert_eq!(env.tickets().len(), 1);
}

/// Two mailboxes at once, each with its own settings: support@ with IDLE,
/// bob@ as "billing" polled every second, with its own category.
#[test]
fn two_mailboxes_each_with_its_own_settings() {
    let Some(Scene {
        _turn,
        stack,
        instance,
        mut env,
    }) = scene("two")
    else {
        return;
    };
    let password = stack.password.clone();
    let imap_port = stack.imap_port;
    env.edit_config(|c| {
        set(
            c,
            "instance.support_addresses",
            toml::Value::Array(vec![SUPPORT.into(), BOB.into()]),
        );
        let list = c["inbound"]["imap"].as_array_mut().expect("an imap list");
        let mut billing = list[0].as_table().expect("a table").clone();
        for (key, value) in [
            ("name", toml::Value::from("billing")),
            ("username", BOB.into()),
            ("password", password.as_str().into()),
            ("port", i64::from(imap_port).into()),
            ("idle", false.into()),
            ("poll_interval_secs", 1.into()),
            ("category", "billing".into()),
        ] {
            billing.insert(key.into(), value);
        }
        list.push(billing.into());
    });
    stack.empty(BOB, "Processed");
    let _daemon = Daemon::start(&env);
    stack.send(
        CUSTOMER,
        &[SUPPORT],
        &mail(
            &[
                ("From", CUSTOMER),
                ("To", SUPPORT),
                ("Subject", "Login broken"),
            ],
            "Cannot log in.",
        ),
    );
    stack.send(
        CUSTOMER,
        &[BOB],
        &mail(
            &[
                ("From", CUSTOMER),
                ("To", BOB),
                ("Subject", "Invoice wrong"),
            ],
            "Invoice 42 is wrong.",
        ),
    );
    wait_for_records(&env, 2);
    let categories: BTreeMap<String, Value> = env
        .tickets()
        .iter()
        .map(|t| {
            (
                t["subject"].as_str().unwrap_or_default().to_string(),
                t["category"].clone(),
            )
        })
        .collect();
    assert_eq!(categories["Invoice wrong"], "billing", "{categories:#?}");
    assert_eq!(categories["Login broken"], Value::Null, "{categories:#?}");
    let health = env.json(&["health"]);
    let states: BTreeMap<String, String> = array(&health["mailboxes"])
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap_or_default().into(),
                m["state"].as_str().unwrap_or_default().into(),
            )
        })
        .collect();
    assert_eq!(
        states.get("support").map(String::as_str),
        Some("idle"),
        "{health:#}"
    );
    assert!(
        matches!(
            states.get("billing").map(String::as_str),
            Some("polling" | "fetching")
        ),
        "{health:#}"
    );
    assert_eq!(stack.count(BOB, "Processed"), 1);
    let items = wait_all_sent(&env);
    let acks = assert_each_arrived_once(&stack, &instance, &items, CUSTOMER);
    assert_eq!(acks.len(), 2, "{acks:#?}");
}
