//! Recognising delivery status notifications in inbound mail: the
//! `multipart/report` type and a delivery-status part anywhere in the
//! mail. Reading the report itself is tested in `dsn::tests`.

use super::*;

#[test]
fn multipart_report_is_recognised_as_a_dsn() {
    let mail = parsed(DSN);
    assert_eq!(mail.content_type, "multipart/report");
    assert_eq!(mail.report_type.as_deref(), Some("delivery-status"));
    assert!(mail.has_delivery_status);
    assert_eq!(mail.from.as_deref(), Some("mailer-daemon@mx.example.test"));
    assert!(
        mail.text.contains("could not be delivered"),
        "{:?}",
        mail.text
    );
}

#[test]
fn delivery_status_part_is_found_inside_other_multiparts() {
    let raw = b"From: postmaster@x.test\r\n\
Content-Type: multipart/mixed; boundary=\"M\"\r\n\
\r\n\
--M\r\n\
Content-Type: text/plain\r\n\
\r\n\
failed\r\n\
--M\r\n\
Content-Type: message/global-delivery-status\r\n\
\r\n\
Reporting-MTA: dns; mx.x.test\r\n\
--M--\r\n";
    let mail = parsed(raw);
    assert_eq!(mail.content_type, "multipart/mixed");
    assert_eq!(mail.report_type, None);
    assert!(mail.has_delivery_status);
}

#[test]
fn ordinary_multipart_has_no_delivery_status() {
    let mail = parsed(WITH_ATTACHMENTS);
    assert_eq!(mail.content_type, "multipart/mixed");
    assert_eq!(mail.report_type, None);
    assert!(!mail.has_delivery_status);
}
