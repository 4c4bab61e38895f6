//! Deterministic, realistic test mail: new requests, replies to earlier
//! requests (from the same sender, so they thread), auto-replies and
//! monitoring alerts, 2-10 KB, some with an attachment.

/// A tiny deterministic PRNG (xorshift64*), so every run mails the same.
pub struct Rng(u64);

impl Rng {
    /// Seeded generator.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// Next value.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const WORDS: &[&str] = &[
    "printer",
    "invoice",
    "password",
    "account",
    "the",
    "is",
    "not",
    "working",
    "since",
    "yesterday",
    "please",
    "help",
    "we",
    "cannot",
    "log",
    "in",
    "error",
    "message",
    "shows",
    "again",
    "after",
    "update",
    "server",
    "network",
    "office",
    "floor",
    "urgent",
    "thanks",
    "regards",
    "order",
    "delivery",
    "missing",
    "refund",
    "contract",
    "meeting",
    "laptop",
];

/// What a generated message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A new request from a person.
    Request,
    /// A reply to an earlier request of the same sender.
    Reply,
    /// An out-of-office auto-reply.
    AutoReply,
    /// A monitoring alert.
    Alert,
}

/// A message and what it is.
pub struct Generated {
    /// Raw bytes (CRLF).
    pub raw: Vec<u8>,
    /// Its kind.
    #[allow(dead_code)]
    pub kind: Kind,
}

/// Generates `n` messages: 55% requests, 25% replies, 10% auto-replies,
/// 10% alerts; senders are `sender(i)` for people.
pub fn backlog(tag: &str, n: usize, seed: u64, sender: &dyn Fn(usize) -> String) -> Vec<Generated> {
    let mut rng = Rng::new(seed);
    let mut requests: Vec<(String, String)> = Vec::new();
    (0..n)
        .map(|i| {
            let roll = rng.below(100);
            let kind = match roll {
                0..55 => Kind::Request,
                55..80 if !requests.is_empty() => Kind::Reply,
                55..80 => Kind::Request,
                80..90 => Kind::AutoReply,
                _ => Kind::Alert,
            };
            let raw = match kind {
                Kind::Request => {
                    let from = sender(i);
                    let id = format!("{tag}.{i}@customers.example.test");
                    requests.push((from.clone(), id.clone()));
                    request(&mut rng, &from, &id, i)
                }
                Kind::Reply => {
                    let (from, parent) =
                        requests[rng.below(requests.len() as u64) as usize].clone();
                    reply(
                        &mut rng,
                        &from,
                        &parent,
                        &format!("{tag}.{i}@customers.example.test"),
                    )
                }
                Kind::AutoReply => {
                    auto_reply(&sender(i), &format!("{tag}.{i}@customers.example.test"))
                }
                Kind::Alert => alert(&mut rng, &format!("{tag}.{i}@monitor.example.test"), i),
            };
            Generated { raw, kind }
        })
        .collect()
}

fn text(rng: &mut Rng, bytes: usize) -> String {
    let mut out = String::with_capacity(bytes + 80);
    let mut line = 0;
    while out.len() < bytes {
        let word = WORDS[rng.below(WORDS.len() as u64) as usize];
        out.push_str(word);
        line += word.len() + 1;
        if line > 68 {
            out.push_str("\r\n");
            line = 0;
        } else {
            out.push(' ');
        }
    }
    out.push_str("\r\n");
    out
}

fn headers(from: &str, subject: &str, id: &str, extra: &str) -> String {
    format!(
        "Received: from mail.customers.example.test (mail.customers.example.test [192.0.2.7])\r\n\
         \tby mx.example.test with ESMTPS id 4Tq; Mon, 2 Mar 2026 10:00:00 +0000\r\n\
         From: {from}\r\nTo: support@example.test\r\nSubject: {subject}\r\n\
         Date: Mon, 2 Mar 2026 10:00:00 +0000\r\nMessage-ID: <{id}>\r\n{extra}MIME-Version: 1.0\r\n"
    )
}

fn request(rng: &mut Rng, from: &str, id: &str, i: usize) -> Vec<u8> {
    let size = 2000 + rng.below(7000) as usize;
    let subject = format!(
        "Request {i}: {} {}",
        WORDS[i % WORDS.len()],
        WORDS[(i / 3) % WORDS.len()]
    );
    let body = text(rng, size);
    let head = headers(from, &subject, id, "");
    if rng.below(20) == 0 {
        return with_attachment(rng, &head, &body);
    }
    format!("{head}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}").into_bytes()
}

fn with_attachment(rng: &mut Rng, head: &str, body: &str) -> Vec<u8> {
    let bytes: Vec<u8> = (0..2400).map(|_| rng.next() as u8).collect();
    let encoded = base64_lines(&bytes);
    format!(
        "{head}Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n--b1\r\n\
         Content-Type: application/octet-stream; name=\"log.bin\"\r\n\
         Content-Disposition: attachment; filename=\"log.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{encoded}--b1--\r\n"
    )
    .into_bytes()
}

fn base64_lines(bytes: &[u8]) -> String {
    use base64::Engine;
    let text = base64::engine::general_purpose::STANDARD.encode(bytes);
    text.as_bytes()
        .chunks(76)
        .map(|c| format!("{}\r\n", String::from_utf8_lossy(c)))
        .collect()
}

fn reply(rng: &mut Rng, from: &str, parent: &str, id: &str) -> Vec<u8> {
    let size = 1500 + rng.below(5000) as usize;
    let extra = format!("In-Reply-To: <{parent}>\r\nReferences: <{parent}>\r\n");
    let body = text(rng, size);
    let quote =
        "On Mon, 2 Mar 2026, Support wrote:\r\n> We received your request.\r\n> Kind regards\r\n";
    format!(
        "{}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n{quote}",
        headers(from, "Re: your request", id, &extra)
    )
    .into_bytes()
}

fn auto_reply(from: &str, id: &str) -> Vec<u8> {
    let extra = "Auto-Submitted: auto-replied\r\nX-Auto-Response-Suppress: All\r\n";
    format!(
        "{}Content-Type: text/plain; charset=utf-8\r\n\r\nI am out of the office until Monday.\r\n{}",
        headers(from, "Automatic reply: your request", id, extra),
        "Lorem ipsum dolor sit amet. ".repeat(70)
    )
    .into_bytes()
}

/// A Nagios alert (machine mail: a ticket, no customer alert).
pub fn alert(rng: &mut Rng, id: &str, i: usize) -> Vec<u8> {
    let host = format!("web{:02}", rng.below(20));
    let subject = format!("** PROBLEM Service Alert: {host}/HTTP is CRITICAL ** ({i})");
    format!(
        "{}Content-Type: text/plain; charset=us-ascii\r\n\r\n***** Nagios *****\r\n\r\nHost: {host}\r\nState: CRITICAL\r\n{}",
        headers("nagios@monitor.example.test", &subject, id, "Auto-Submitted: auto-generated\r\n"),
        "Info: HTTP CRITICAL - Socket timeout after 10 seconds\r\n".repeat(40)
    )
    .into_bytes()
}
