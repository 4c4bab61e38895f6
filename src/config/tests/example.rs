//! The shipped example `config/ticketd.toml` parses with the documented
//! values, and loads from disk.

use std::time::Duration;

use super::EXAMPLE;
use crate::config::*;

#[test]
fn example_config_parses_with_documented_values() {
    let c = match Config::parse(EXAMPLE, Path::new("config/ticketd.toml")) {
        Ok(c) => c,
        Err(e) => panic!("example config: {e}"),
    };
    assert_eq!(c.source, Path::new("config/ticketd.toml"));
    assert_eq!(c.instance_name, "ticketd");
    assert_eq!(
        c.support_addresses.iter().collect::<Vec<_>>(),
        ["support@example.test"]
    );
    assert_eq!(c.from_name.as_deref(), Some("Example Support"));
    assert_eq!(c.secret, None);
    assert_eq!(c.store_path, Path::new("var/ticketd"));
    assert_eq!(c.store_cache_bytes, 8 * 1024 * 1024);

    assert_eq!(
        c.staff.addresses.iter().collect::<Vec<_>>(),
        ["staff@example.test"]
    );
    assert!(c.staff.domains.is_empty());
    assert_eq!(c.staff.authserv_id, None);
    assert!(!c.staff.trust_from_header);

    assert_eq!(c.threading.tag_prefix, "[#");
    assert_eq!(c.threading.tag_suffix, "]");
    assert_eq!(c.threading.tag(crate::model::TicketId(42)), "[#42]");
    assert!(c.threading.reply_to_token);

    assert_eq!(c.inbound.max_message_bytes, 26_214_400);
    assert_eq!(c.inbound.max_attachment_bytes, 10_485_760);
    assert_eq!(c.inbound.default_category, None);
    let maildir = c
        .inbound
        .maildir
        .as_ref()
        .map(|m| (m.path.clone(), m.poll_interval));
    assert_eq!(
        maildir,
        Some((PathBuf::from("var/inbound"), Duration::from_millis(250)))
    );

    match &c.outbound.transport {
        TransportConfig::File { dir } => assert_eq!(dir, Path::new("var/outbound")),
        other => panic!("expected the file transport, got {other:?}"),
    }
    assert_eq!(c.outbound.from_address, "support@example.test");
    assert_eq!(c.reply_base_address(), "support@example.test");
    assert_eq!(c.message_id_domain(), "example.test");
    assert_eq!(c.outbound.retry.max_attempts, 12);
    assert_eq!(c.outbound.retry.initial_backoff, Duration::from_secs(30));
    assert_eq!(c.outbound.retry.max_backoff, Duration::from_secs(3600));

    assert!(!c.alerts.acknowledge_cc);
    assert_eq!(
        c.closed_tickets.customer_reply,
        ReopenPolicy::ReopenWithin(chrono::Duration::days(14))
    );
    assert!(c.closed_tickets.thanks_keeps_closed);
    assert!(c.bounces.verp);
    assert_eq!(c.bounces.soft_bounce_limit, 3);
    assert_eq!(
        c.alerts.notify_staff.iter().copied().collect::<Vec<_>>(),
        [StaffEvent::NewTicket, StaffEvent::CustomerReply]
    );
    assert_eq!(c.alerts.staff_recipients, ["staff@example.test"]);
    assert_eq!(c.alerts.rate_limit_max, 10);
    assert_eq!(c.alerts.rate_limit_window, chrono::Duration::minutes(60));
    assert_eq!(c.alerts.ticket_rate_limit_max, 5);
    assert_eq!(
        c.alerts.ticket_rate_limit_window,
        chrono::Duration::minutes(60)
    );

    assert_eq!(c.templates_dir, Path::new("templates"));
    assert_eq!(
        c.template_names
            .keys()
            .map(String::as_str)
            .collect::<BTreeSet<_>>(),
        TEMPLATE_EVENTS.into_iter().collect::<BTreeSet<_>>()
    );
    assert!(c.template_names.iter().all(|(event, name)| event == name));

    let names: Vec<&str> = c.automated.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["monitoring", "cron", "backup"]);
    let backup = c.automated[2].subject.as_ref();
    assert_eq!(
        backup.map(|r| r.is_match("[Failed] Backup Job Daily-VMs (3 VMs) 1 failed")),
        Some(true)
    );
    assert_eq!(
        backup.map(|r| r.is_match("Failed backup of my laptop, please help")),
        Some(false),
        "a person's subject is not a backup report"
    );
    let monitoring = &c.automated[0];
    assert_eq!(monitoring.category.as_deref(), Some("monitoring"));
    let from = monitoring
        .from
        .as_ref()
        .map(|r| r.is_match("Nagios@host.test"));
    assert_eq!(from, Some(true), "from regex is case-insensitive");
    assert!(monitoring.subject.is_none() && monitoring.headers.is_empty());
    let cron = &c.automated[1];
    assert!(cron.from.is_none());
    assert_eq!(
        cron.subject.as_ref().map(|r| r.is_match("cron <root@h> x")),
        Some(true)
    );
    let headers: Vec<&str> = cron.headers.iter().map(|(h, _)| h.as_str()).collect();
    assert_eq!(headers, ["x-cron-env"], "header names are lower-cased");
    assert_eq!(
        c.correlations.keys().collect::<Vec<_>>(),
        ["monitoring"],
        "only the monitoring rule correlates"
    );
    let entries = &c.correlations["monitoring"];
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["nagios", "alertmanager"]);
    let nagios = &entries[0];
    assert_eq!(
        (&nagios.key_in, &nagios.recovery_in),
        (&MailField::Subject, &MailField::Subject)
    );
    let key = |subject: &'static str| {
        nagios.key.captures(subject).map(|c| {
            c.iter()
                .skip(1)
                .flatten()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
        })
    };
    assert_eq!(
        key("** PROBLEM Service Alert: web01/Disk is full is CRITICAL **"),
        Some(vec!["Service", "web01/Disk is full"])
    );
    assert_eq!(
        key("** RECOVERY Host Alert: db01 is UP **"),
        Some(vec!["Host", "db01"])
    );
    let recovery = nagios
        .recovery
        .as_ref()
        .map(|r| r.is_match("** RECOVERY Host Alert: db01 is UP **"));
    assert_eq!(recovery, Some(true));
    let alertmanager = &entries[1];
    for (subject, group) in [
        ("[FIRING:3] HighCPU (node1 critical)", "HighCPU"),
        ("[RESOLVED] HighCPU (node1 critical)", "HighCPU"),
        ("[FIRING:1] DiskFull node7", "DiskFull node7"),
    ] {
        let got = alertmanager
            .key
            .captures(subject)
            .and_then(|c| c.get(1))
            .map(|m| m.as_str());
        assert_eq!(got, Some(group), "{subject}");
    }

    assert_eq!(c.api.listen.to_string(), "127.0.0.1:8025");
    assert_eq!(c.api.token, None);
}

#[test]
fn example_config_loads_from_disk() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/ticketd.toml");
    match Config::load(&path) {
        Ok(c) => assert_eq!(c.source, path),
        Err(e) => panic!("{e}"),
    }
}
