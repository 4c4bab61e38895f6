//! Fingerprints for duplicate detection: the Message-ID when there is
//! one, else a SHA-256 of the bytes exactly as they came.

use super::*;

#[test]
fn fingerprint_prefers_the_message_id() {
    let mail = parsed(ADDRESSED);
    assert_eq!(
        fingerprint(Some(&mail), ADDRESSED),
        "id:abc.123@mail.example.test"
    );
    // Same id, different bytes: same fingerprint.
    let resent = [ADDRESSED, b"trailer\r\n"].concat();
    assert_eq!(
        fingerprint(parse(&resent).ok().as_ref(), &resent),
        fingerprint(Some(&mail), ADDRESSED)
    );
}

#[test]
fn fingerprint_hashes_bytes_without_a_message_id() {
    // SHA-256 of the empty input.
    assert_eq!(
        fingerprint(None, b""),
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let raw: &[u8] = b"From: a@b.test\r\nSubject: no id\r\n\r\nbody\r\n";
    let mail = parsed(raw);
    assert_eq!(mail.message_id, None);
    let first = fingerprint(Some(&mail), raw);
    let hex = first.strip_prefix("sha256:").unwrap_or_default();
    assert_eq!(hex.len(), 64, "{first}");
    assert!(
        hex.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    let copy = raw.to_vec();
    assert_eq!(fingerprint(parse(&copy).ok().as_ref(), &copy), first);
    let other: &[u8] = b"From: a@b.test\r\nSubject: no id\r\n\r\nbody!\r\n";
    assert_ne!(fingerprint(parse(other).ok().as_ref(), other), first);
}

#[test]
fn empty_message_id_counts_as_missing() {
    let raw: &[u8] = b"From: a@b.test\r\nMessage-ID: <>\r\n\r\nx\r\n";
    let mail = parsed(raw);
    assert_eq!(mail.message_id, None);
    assert!(fingerprint(Some(&mail), raw).starts_with("sha256:"));
}

/// The line break added for parsing is not part of the message: the
/// fingerprint (and the stored original) are the bytes as they came.
#[test]
fn a_completed_header_block_is_fingerprinted_as_it_came() {
    let raw: &[u8] = b"From: a@b.test\nSubject: cut";
    let mail = parsed(raw);
    assert_eq!(
        fingerprint(Some(&mail), raw),
        format!("sha256:{}", hex::encode(Sha256::digest(raw)))
    );
    let completed = [raw, b"\n"].concat();
    assert_ne!(
        fingerprint(Some(&mail), raw),
        fingerprint(parse(&completed).ok().as_ref(), &completed)
    );
}
