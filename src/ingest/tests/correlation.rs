//! Automated-mail correlation with the example config's Nagios and
//! Alertmanager keys, and a header-keyed rule: open, repeat, recover.

use super::{feed, outbox};
use crate::ingest::Outcome;
use crate::model::{AuthorRole, Disposition, Status, TicketId};
use crate::testutil;
use crate::testutil::Desk;

fn desk_with(extra: &[(&str, &str)]) -> (tempfile::TempDir, Desk) {
    let mut overrides = vec![(
        "notify_staff = [\"new_ticket\", \"customer_reply\"]",
        "notify_staff = [\"automated_ticket\"]",
    )];
    overrides.extend_from_slice(extra);
    testutil::desk(&overrides)
}

fn nagios(desk: &Desk, id: &str, subject: &str) -> Outcome {
    feed(
        desk,
        &format!(
            "From: nagios@monitor.example.test\nTo: support@example.test\nSubject: {subject}\nMessage-ID: <{id}@monitor>\n\n***** Nagios *****\n\nNotification Type: ...\n"
        ),
    )
}

fn new_ticket(n: u64) -> Disposition {
    Disposition::NewTicket {
        ticket: TicketId(n),
    }
}

const WEB_DOWN: &str = "** PROBLEM Service Alert: web01/HTTP is CRITICAL **";

#[test]
fn nagios_problems_gather_on_one_ticket_until_recovery_closes_it() {
    let (_dir, desk) = desk_with(&[]);
    let first = nagios(&desk, "n1", WEB_DOWN);
    assert_eq!(first.disposition, new_ticket(1));
    assert!(
        first
            .rule
            .contains("correlate:nagios=service/web01/http:opened"),
        "{}",
        first.rule
    );
    let ticket = desk.ticket(TicketId(1)).unwrap();
    assert_eq!(
        ticket.correlation.as_deref(),
        Some("monitoring/nagios:service/web01/http")
    );
    let staff_alerts = outbox(&desk).len();
    assert_eq!(staff_alerts, 1, "automated_ticket notifies staff once");

    let again = nagios(
        &desk,
        "n2",
        "** PROBLEM Service Alert: web01/HTTP is WARNING **",
    );
    assert_eq!(
        again.disposition,
        Disposition::Comment {
            ticket: TicketId(1),
            seq: 1
        }
    );
    assert!(
        again
            .rule
            .contains("correlate:nagios=service/web01/http:repeated")
    );
    assert_eq!(
        desk.store.comments(TicketId(1)).unwrap()[1].role,
        AuthorRole::Automated
    );

    let other = nagios(&desk, "n3", "** PROBLEM Host Alert: db01 is DOWN **");
    assert_eq!(
        other.disposition,
        new_ticket(2),
        "another key, another ticket"
    );

    let recovered = nagios(
        &desk,
        "n4",
        "** RECOVERY Service Alert: web01/HTTP is OK **",
    );
    assert_eq!(
        recovered.disposition,
        Disposition::Comment {
            ticket: TicketId(1),
            seq: 2
        }
    );
    assert!(recovered.rule.contains(":recovered"), "{}", recovered.rule);
    assert_eq!(desk.ticket(TicketId(1)).unwrap().status, Status::Closed);
    assert_eq!(desk.ticket(TicketId(2)).unwrap().status, Status::Open);
    assert_eq!(
        desk.store
            .correlated_ticket("monitoring/nagios:service/web01/http")
            .unwrap(),
        None,
        "closing cleared the key"
    );
    assert_eq!(
        outbox(&desk).len(),
        2,
        "only the two new tickets told staff"
    );

    let late = nagios(
        &desk,
        "n5",
        "** RECOVERY Service Alert: web01/HTTP is OK **",
    );
    assert!(
        matches!(late.disposition, Disposition::Ignored { ticket: None, .. }),
        "{late:?}"
    );
    assert!(
        late.rule.contains("recovery with no open ticket"),
        "{}",
        late.rule
    );
    assert_eq!(nagios(&desk, "n6", WEB_DOWN).disposition, new_ticket(3));
    assert_eq!(desk.store.ticket_count().unwrap(), 3);
}

#[test]
fn alertmanager_firing_and_resolved_share_the_group_key() {
    let (_dir, desk) = desk_with(&[]);
    let mail = |id: &str, subject: &str| {
        feed(
            &desk,
            &format!(
                "From: alertmanager@prom.example.test\nTo: support@example.test\nSubject: {subject}\nMessage-ID: <{id}@prom>\n\nLabels: ...\n"
            ),
        )
    };
    assert_eq!(
        mail("a1", "[FIRING:1] HighCPU (node1 critical)").disposition,
        new_ticket(1)
    );
    let more = mail("a2", "[FIRING:2] HighCPU (node1 node2 critical)");
    assert!(
        more.rule
            .contains("correlate:alertmanager=highcpu:repeated"),
        "{}",
        more.rule
    );
    let resolved = mail("a3", "[RESOLVED] HighCPU (node1 node2 critical)");
    assert!(resolved.rule.contains(":recovered"), "{}", resolved.rule);
    assert_eq!(desk.ticket(TicketId(1)).unwrap().status, Status::Closed);
}

#[test]
fn closing_by_staff_frees_the_key_and_reopening_takes_it_back_when_free() {
    let (_dir, desk) = desk_with(&[]);
    nagios(&desk, "m1", WEB_DOWN);
    let key = "monitoring/nagios:service/web01/http";
    let mut one = desk.ticket(TicketId(1)).unwrap();
    desk.write(|tx| {
        desk.close_ticket(tx, &mut one, "cli", &Default::default())
            .unwrap();
        tx.put_ticket(&one).unwrap();
        Ok(())
    });
    assert_eq!(desk.store.correlated_ticket(key).unwrap(), None);

    desk.write(|tx| {
        desk.reopen_ticket(tx, &mut one, "cli", &Default::default())
            .unwrap();
        tx.put_ticket(&one).unwrap();
        Ok(())
    });
    assert_eq!(
        desk.store.correlated_ticket(key).unwrap(),
        Some(TicketId(1))
    );
    assert!(matches!(
        nagios(&desk, "m2", WEB_DOWN).disposition,
        Disposition::Comment {
            ticket: TicketId(1),
            ..
        }
    ));

    desk.write(|tx| {
        desk.close_ticket(tx, &mut one, "cli", &Default::default())
            .unwrap();
        tx.put_ticket(&one).unwrap();
        Ok(())
    });
    assert_eq!(nagios(&desk, "m3", WEB_DOWN).disposition, new_ticket(2));
    desk.write(|tx| {
        desk.reopen_ticket(tx, &mut one, "cli", &Default::default())
            .unwrap();
        tx.put_ticket(&one).unwrap();
        Ok(())
    });
    assert_eq!(
        desk.store.correlated_ticket(key).unwrap(),
        Some(TicketId(2)),
        "the newer open ticket keeps the key"
    );
}

#[test]
fn a_key_from_a_header_with_a_recovery_in_the_subject() {
    let rule = "[[automated]]
name = \"nas-backup\"
from = \"^backup@\"

[[automated.correlate]]
name = \"job\"
key_in = \"header:X-Job-Id\"
key = '^(\\S+)$'
recovery_in = \"subject\"
recovery = 'succeeded'

[api]";
    let (_dir, desk) = desk_with(&[("[api]", rule)]);
    let mail = |id: &str, job: &str, subject: &str| {
        feed(
            &desk,
            &format!(
                "From: backup@nas.example.test\nTo: support@example.test\nSubject: {subject}\nX-Job-Id: {job}\nMessage-ID: <{id}@nas>\n\nlog\n"
            ),
        )
    };
    assert_eq!(
        mail("j1", "Nightly-DB", "Backup failed").disposition,
        new_ticket(1)
    );
    assert_eq!(
        mail("j2", "weekly-files", "Backup failed").disposition,
        new_ticket(2)
    );
    let ok = mail("j3", "nightly-db", "Backup succeeded");
    assert!(
        ok.rule.contains("correlate:job=nightly-db:recovered"),
        "{}",
        ok.rule
    );
    assert_eq!(desk.ticket(TicketId(1)).unwrap().status, Status::Closed);
    assert_eq!(desk.ticket(TicketId(2)).unwrap().status, Status::Open);
    let no_header = feed(
        &desk,
        "From: backup@nas.example.test\nTo: support@example.test\nSubject: Backup failed\nMessage-ID: <j4@nas>\n\nlog\n",
    );
    assert_eq!(
        no_header.disposition,
        new_ticket(3),
        "no key: a plain ticket"
    );
    assert_eq!(desk.ticket(TicketId(3)).unwrap().correlation, None);
}

#[test]
fn human_mail_and_unmatched_automated_mail_never_correlate() {
    let (_dir, desk) = desk_with(&[]);
    nagios(&desk, "h1", WEB_DOWN);
    let human = feed(
        &desk,
        &format!(
            "From: carol@customer.test\nTo: support@example.test\nSubject: {WEB_DOWN}\nMessage-ID: <h2@customer.test>\n\nIs the website down?\n"
        ),
    );
    assert_eq!(human.disposition, new_ticket(2));
    let plain = nagios(&desk, "h3", "PROBLEM: disk full");
    assert_eq!(plain.disposition, new_ticket(3));
}
