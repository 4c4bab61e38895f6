//! Fuzz target: raw bytes through `ticketd::ingest::ingest`, the one seam
//! every mail source uses, against a throw-away desk (see
//! `ticketd_fuzz::Session`). Beyond "no panic, no hang", each input must
//! leave its outcome stored under its fingerprint, must not be quarantined
//! because ticketd itself failed, and every alert it queued must compose
//! into mail whose headers the content could not inject into.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ticketd_fuzz::with_session(|session| {
        session.feed(data);
    });
});
