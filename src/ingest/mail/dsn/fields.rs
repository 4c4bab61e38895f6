//! The `message/delivery-status` part of a standard report (RFC 3464):
//! its `Name: value` fields in blank-line separated groups, the
//! per-message group (Reporting-MTA, X-Original-Message-ID) and one
//! [`RecipientReport`] per recipient group (Final-Recipient,
//! Original-Recipient, Action, Status, Diagnostic-Code).

use mail_parser::MessagePart;

use super::{
    DeliveryReport, DsnAction, RecipientReport, ReportFormat, ReturnedHeaders, StatusCode,
    clean_id, one_line_shortened,
};
use crate::model::{is_deliverable_address, normalize_address};

/// `Name: value` fields in blank-line separated groups, names lower-case,
/// continuation lines unfolded.
fn field_groups(text: &str) -> Vec<Vec<(String, String)>> {
    let mut groups: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for line in text.lines() {
        if line.trim().is_empty() {
            groups.push(Vec::new());
            continue;
        }
        let Some(group) = groups.last_mut() else {
            continue;
        };
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = group.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            group.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    groups.retain(|g| !g.is_empty());
    groups
}

fn field<'g>(group: &'g [(String, String)], name: &str) -> Option<&'g str> {
    group
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// The value after an RFC 3464 type prefix (`rfc822; `, `dns; `, `smtp; `).
fn typed_value(value: &str) -> &str {
    value.split_once(';').map_or(value, |(_, v)| v).trim()
}

fn address_field(group: &[(String, String)], name: &str) -> Option<String> {
    let address = normalize_address(typed_value(field(group, name)?));
    is_deliverable_address(&address).then_some(address)
}

pub(super) fn from_status_part(
    part: &MessagePart<'_>,
    returned: Option<ReturnedHeaders>,
) -> DeliveryReport {
    let text = String::from_utf8_lossy(part.contents());
    let mut report = DeliveryReport {
        format: ReportFormat::DeliveryStatus,
        reporting_mta: None,
        recipients: Vec::new(),
        original_ids: Vec::new(),
        returned,
    };
    for group in field_groups(&text) {
        let per_recipient = ["final-recipient", "original-recipient", "action"]
            .iter()
            .any(|n| field(&group, n).is_some());
        if per_recipient {
            report.recipients.push(recipient_block(&group));
            continue;
        }
        if report.reporting_mta.is_none() {
            report.reporting_mta = field(&group, "reporting-mta").map(|v| typed_value(v).into());
        }
        if let Some(id) = field(&group, "x-original-message-id") {
            report.original_ids.push(clean_id(id));
        }
    }
    report
}

fn recipient_block(group: &[(String, String)]) -> RecipientReport {
    let diagnostic = field(group, "diagnostic-code").map(|d| one_line_shortened(typed_value(d)));
    let status = field(group, "status")
        .and_then(|s| s.split_whitespace().next())
        .and_then(StatusCode::parse)
        .or_else(|| diagnostic.as_deref().and_then(StatusCode::find_in));
    RecipientReport {
        final_recipient: address_field(group, "final-recipient"),
        original_recipient: address_field(group, "original-recipient"),
        action: match field(group, "action")
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some(a) if a.starts_with("failed") => DsnAction::Failed,
            Some(a) if a.starts_with("delayed") => DsnAction::Delayed,
            Some(a) if a.starts_with("delivered") => DsnAction::Delivered,
            Some(a) if a.starts_with("relayed") => DsnAction::Relayed,
            Some(a) if a.starts_with("expanded") => DsnAction::Expanded,
            _ => DsnAction::Unknown,
        },
        status,
        diagnostic,
    }
}
