//! Address validation, `is_support_address`, `is_staff_address`, staff
//! domains and the default staff recipients.

use super::{MINIMAL, minimal_plus, ok, parse};
use crate::config::*;

/// `"@localhost"` has no local part and must be rejected like `"@example.com"`.
#[test]
fn address_with_empty_local_part_at_localhost_is_rejected() {
    let text = MINIMAL.replace("[\"Support@Example.test\"]", "[\"@localhost\"]");
    match parse(&text) {
        Ok(c) => panic!("accepted support address {:?}", c.support_addresses),
        Err(e) => assert_eq!(e.key, "instance.support_addresses"),
    }
}

#[test]
fn address_validation_table() {
    let table = [
        ("name@example.com", true),
        ("<Name@Example.COM>", true),
        ("support@localhost", true),
        ("@example.com", false),
        ("support", false),
        ("support@intranet", false),
        ("", false),
    ];
    for (address, valid) in table {
        let text = MINIMAL.replace("Support@Example.test", address);
        assert_eq!(parse(&text).is_ok(), valid, "{address:?}");
    }
}

#[test]
fn is_support_address_table() {
    let c = ok(&MINIMAL.replace(
        "[\"Support@Example.test\"]",
        "[\"support@example.test\", \"billing@example.test\"]",
    ));
    let table = [
        ("support@example.test", true),
        ("Support@Example.TEST", true),
        (" <support@example.test> ", true),
        ("billing@example.test", true),
        ("support+t12.abc123@example.test", true),
        ("SUPPORT+anything@EXAMPLE.test", true),
        ("billing+s3.x@example.test", true),
        ("support+@example.test", true),
        ("support@other.test", false),
        ("support+t12.abc@other.test", false),
        ("supportx@example.test", false),
        ("x+support@example.test", false),
        ("sales+support@example.test", false),
        ("support", false),
        ("", false),
    ];
    for (address, expected) in table {
        assert_eq!(c.is_support_address(address), expected, "{address:?}");
    }
}

#[test]
fn is_staff_address_table() {
    let staff = StaffConfig {
        addresses: ["ann@corp.test".to_string()].into_iter().collect(),
        domains: ["staff.test".to_string()].into_iter().collect(),
        ..StaffConfig::default()
    };
    let table = [
        ("ann@corp.test", true),
        ("ANN@Corp.Test", true),
        ("<ann@corp.test>", true),
        ("bob@corp.test", false),
        ("anyone@staff.test", true),
        ("Anyone@STAFF.test", true),
        ("x@sub.staff.test", false),
        ("x@staff.test.evil.test", false),
        ("x@notstaff.test", false),
        ("staff.test", false),
        ("", false),
    ];
    for (address, expected) in table {
        assert_eq!(staff.is_staff_address(address), expected, "{address:?}");
    }
    assert!(!StaffConfig::default().is_staff_address("ann@corp.test"));
}

#[test]
fn staff_domains_from_config_match() {
    let c = ok(&minimal_plus("[staff]\ndomains = [\"@Team.Example.test\"]"));
    assert!(c.staff.is_staff_address("joe@team.example.test"));
    assert!(!c.staff.is_staff_address("joe@example.test"));
}

#[test]
fn staff_recipients_default_to_staff_addresses() {
    let c = ok(&minimal_plus(
        "[staff]\naddresses = [\"B@example.test\", \"a@example.test\"]",
    ));
    assert_eq!(
        c.alerts.staff_recipients,
        ["a@example.test", "b@example.test"]
    );
}
