//! The `Authentication-Results` parser against a table of inputs, each
//! with the parse rendered compactly: `authserv-id [vN]`, then one
//! `; method[/v]=result [reason=<...>] ptype.name=<value> ...` per result,
//! then `; skipped N` when results were left out.

use super::{AuthResults, PropertyType, parse};

fn render(parsed: &AuthResults) -> String {
    let mut out = parsed.authserv_id.clone();
    if let Some(version) = &parsed.version {
        out.push_str(&format!(" v{version}"));
    }
    for info in &parsed.results {
        out.push_str(&format!("; {}", info.method));
        if let Some(version) = &info.method_version {
            out.push_str(&format!("/{version}"));
        }
        out.push_str(&format!("={}", info.result));
        if let Some(reason) = &info.reason {
            out.push_str(&format!(" reason=<{reason}>"));
        }
        for p in &info.properties {
            let ptype = match p.ptype {
                PropertyType::Smtp => "smtp",
                PropertyType::Header => "header",
                PropertyType::Body => "body",
                PropertyType::Policy => "policy",
            };
            out.push_str(&format!(" {ptype}.{}=<{}>", p.name, p.value));
        }
    }
    if parsed.skipped > 0 {
        out.push_str(&format!("; skipped {}", parsed.skipped));
    }
    out
}

fn rendered(value: &str) -> String {
    match parse(value) {
        Ok(parsed) => render(&parsed),
        Err(e) => format!("error: {}", e.expected),
    }
}

/// (case, input, expected rendering)
const CASES: &[(&str, &str, &str)] = &[
    (
        "plain",
        "mx.example.test; dkim=pass header.d=example.test",
        "mx.example.test; dkim=pass header.d=<example.test>",
    ),
    (
        "header version",
        "mx.example.test 1; spf=pass smtp.mailfrom=a@example.test",
        "mx.example.test v1; spf=pass smtp.mailfrom=<a@example.test>",
    ),
    (
        "method version with CFWS",
        "mx.example.test; dkim / 1 = pass header.d=example.test",
        "mx.example.test; dkim/1=pass header.d=<example.test>",
    ),
    (
        "method version",
        "mx.example.test; dkim/1=pass header.d=example.test",
        "mx.example.test; dkim/1=pass header.d=<example.test>",
    ),
    (
        "several results, names in any case",
        "mx.example.test; SPF=Pass smtp.mailfrom=example.test; DKIM=pass Header.D=Example.Test header.s=s1; dmarc=pass header.from=example.test policy.dmarc=reject",
        "mx.example.test; spf=pass smtp.mailfrom=<example.test>; dkim=pass header.d=<Example.Test> header.s=<s1>; dmarc=pass header.from=<example.test> policy.dmarc=<reject>",
    ),
    (
        "reason, quoted, with a ;",
        "mx.example.test; dkim=fail reason=\"bad; very bad\" header.d=example.test",
        "mx.example.test; dkim=fail reason=<bad; very bad> header.d=<example.test>",
    ),
    (
        "reason as a token",
        "mx.example.test; dkim=fail reason=expired",
        "mx.example.test; dkim=fail reason=<expired>",
    ),
    (
        "comment with a ; and a fake result",
        "mx.example.test; spf=fail (x;dmarc=pass header.from=example.test) smtp.mailfrom=evil.test",
        "mx.example.test; spf=fail smtp.mailfrom=<evil.test>",
    ),
    (
        "nested comments with quoted-pairs",
        "mx.example.test (a (b \\) ;dmarc=pass) c); dkim=pass (x(y(z;)));header.d=example.test",
        "mx.example.test; dkim=pass; skipped 1",
    ),
    (
        "comments everywhere CFWS may go",
        "(lead) mx.example.test (id) 1 (v) ; (m) dkim (x) = (y) pass (z) header (p) . (q) d (r) = (s) example.test (t)",
        "mx.example.test v1; dkim=pass header.d=<example.test>",
    ),
    (
        "quoted value with a ; and a fake result",
        "mx.example.test; spf=fail smtp.mailfrom=\"x;dmarc=pass header.from=example.test\"@evil.test",
        "mx.example.test; spf=fail smtp.mailfrom=<x;dmarc=pass header.from=example.test@evil.test>",
    ),
    (
        "quoted value with escaped quotes",
        "mx.example.test; spf=fail smtp.mailfrom=\"x\\\";dmarc=pass\\\\\"; dkim=none",
        "mx.example.test; spf=fail smtp.mailfrom=<x\";dmarc=pass\\>; dkim=none",
    ),
    (
        "quoted authserv-id",
        "\"mx.example.test\"; none",
        "mx.example.test",
    ),
    ("none", "example.com; none", "example.com"),
    (
        "none with CFWS",
        "example.com (x) ; (y) NONE (z)",
        "example.com",
    ),
    (
        "none among results is malformed",
        "example.com; none; dkim=pass header.d=example.com",
        "example.com; dkim=pass header.d=<example.com>; skipped 1",
    ),
    (
        "non-standard entry beside good ones (Microsoft style)",
        "mx.example.test; dmarc=pass action=none header.from=example.test; dkim=pass header.d=example.test",
        "mx.example.test; dkim=pass header.d=<example.test>; skipped 1",
    ),
    (
        "unknown ptype",
        "mx.example.test; dkim=pass envelope.d=example.test",
        "mx.example.test; skipped 1",
    ),
    (
        "property without a value",
        "mx.example.test; dkim=pass header.d=; spf=pass",
        "mx.example.test; spf=pass; skipped 1",
    ),
    (
        "trailing and doubled separators",
        "mx.example.test; spf=pass;; dkim=pass;",
        "mx.example.test; spf=pass; dkim=pass; skipped 1",
    ),
    (
        "base64 and angle brackets in values",
        "mx.example.test; dkim=pass header.b=ab/c+d= smtp.mailfrom=<>",
        "mx.example.test; dkim=pass header.b=<ab/c+d=> smtp.mailfrom=<<>>",
    ),
    (
        "result glued to a quoted string",
        "mx.example.test; dmarc=pass\"header.from=example.test\"",
        "mx.example.test; skipped 1",
    ),
    (
        "unclosed comment swallows the rest",
        "mx.example.test; spf=fail (oops; dmarc=pass header.from=example.test",
        "mx.example.test; spf=fail",
    ),
    (
        "unclosed quoted string",
        "mx.example.test; spf=fail smtp.mailfrom=\"x; dmarc=pass header.from=example.test",
        "mx.example.test; skipped 1",
    ),
    ("empty", "", "error: an authserv-id"),
    (
        "authserv-id only",
        "mx.example.test",
        "error: \";\" after the authserv-id",
    ),
    (
        "junk after the authserv-id",
        "mx.example.test junk; dmarc=pass header.from=example.test",
        "error: \";\" after the authserv-id",
    ),
    ("garbage", ";;== (( \"", "error: an authserv-id"),
    (
        "garbage results",
        "mx.example.test; ;;== (( \"",
        "mx.example.test; skipped 3",
    ),
];

#[test]
fn parses_the_table() {
    let wrong: Vec<String> = CASES
        .iter()
        .filter_map(|(case, input, expected)| {
            let got = rendered(input);
            (got != *expected)
                .then(|| format!("{case}: {input}\n  got      {got}\n  expected {expected}"))
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn property_values_are_found_by_ptype_and_name() {
    let parsed = parse("mx; dkim=pass header.d=a.test header.d=b.test smtp.d=c.test").unwrap();
    let values: Vec<&str> = parsed.results[0]
        .values(PropertyType::Header, "d")
        .collect();
    assert_eq!(values, ["a.test", "b.test"]);
}

#[test]
fn garbage_never_panics() {
    let alphabet: Vec<char> = "ab.=;/()\"\\ 1é\u{0}".chars().collect();
    let mut rng = fastrand::Rng::with_seed(8601);
    for _ in 0..20_000 {
        let len = rng.usize(0..40);
        let input: String = (0..len)
            .map(|_| alphabet[rng.usize(0..alphabet.len())])
            .collect();
        let _ = parse(&format!("mx.example.test; {input}"));
        let _ = parse(&input);
    }
}

#[test]
fn long_input_is_parsed_in_linear_time_without_deep_recursion() {
    let many = "spf=pass smtp.mailfrom=\"a;b\" (c;d); ".repeat(20_000);
    let parsed = parse(&format!("mx.example.test; {many}")).unwrap();
    assert_eq!(parsed.results.len(), 20_000);
    let nested = format!(
        "mx.example.test; dkim=pass {}{} header.d=example.test",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    let parsed = parse(&nested).unwrap();
    assert_eq!(parsed.results[0].properties.len(), 1);
    let unclosed = format!("mx.example.test; dkim=pass {}", "(".repeat(100_000));
    assert_eq!(parse(&unclosed).unwrap().results.len(), 1);
}
