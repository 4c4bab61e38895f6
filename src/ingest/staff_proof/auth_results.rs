//! A parser for one `Authentication-Results` header value (RFC 8601): the
//! authserv-id, optionally followed by a version, then either `; none` or
//! `;`-separated results, each `method[/version]=result`, an optional
//! `reason=value` and properties `ptype.property=value` (ptype one of
//! `smtp`, `header`, `body`, `policy`).
//!
//! CFWS is honoured everywhere the grammar allows it: comments in
//! parentheses (nested, with `\` quoted-pairs) and white space between the
//! parts; values may be quoted strings (`"..."`, with `\` escapes). A `;`
//! inside a comment or a quoted string separates nothing, so text an MTA
//! copied from the message into a comment or a quoted value cannot pose as
//! a result of its own.
//!
//! A result that does not follow the grammar is skipped (up to the next
//! `;` outside comments and quoted strings) and counted in
//! [`AuthResults::skipped`]; the others still count, because real MTAs
//! write the odd non-standard entry (`action=none`) beside good ones. A
//! value whose authserv-id part is malformed is rejected whole. Method,
//! result, ptype and property names are case-insensitive and returned in
//! lower case; values are returned as written (quotes and escapes
//! removed). Parsing is linear in the input and never panics.
//!
//! Written by hand because no well-kept crate parses this header: `mail-auth`
//! (Stalwart) only *writes* `Authentication-Results` (its `auth_results`
//! module is a builder) and always brings a DNS resolver (0.15 refuses to
//! build without `dns-hickory` or `dns-doh`); its 0.14 and later need
//! `mail-parser` 1.0, which needs rustc 1.98. `msg-auth-status` 0.2 does
//! parse the header, but leaves `dmarc` results unparsed (as unknown) and
//! builds on the old `mail-parser` 0.9.

#[cfg(test)]
mod tests;

/// One parsed `Authentication-Results` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthResults {
    /// Who did the checks (the receiving MTA), as written.
    pub authserv_id: String,
    /// The header's version (`1` when written), as its digits.
    pub version: Option<String>,
    /// The well-formed results, in order (none for `; none`).
    pub results: Vec<ResInfo>,
    /// How many results did not follow the grammar and were left out.
    pub skipped: usize,
}

/// One method's result (`resinfo`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResInfo {
    /// The method, lower case: `dkim`, `spf`, `dmarc`, ...
    pub method: String,
    /// The method's version digits (`dkim/1`), when written.
    pub method_version: Option<String>,
    /// The result, lower case: `pass`, `fail`, `none`, ...
    pub result: String,
    /// The `reason=` value, when written.
    pub reason: Option<String>,
    /// The properties, in order.
    pub properties: Vec<Property>,
}

/// One `ptype.property=value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// Where the value comes from.
    pub ptype: PropertyType,
    /// The property name, lower case: `from`, `d`, `mailfrom`, ...
    pub name: String,
    /// The value as written, unquoted.
    pub value: String,
}

/// The ptypes RFC 8601 defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyType {
    /// SMTP envelope (`smtp.mailfrom`).
    Smtp,
    /// A header field of the message (`header.from`, `header.d`).
    Header,
    /// The body (`body.hash`).
    Body,
    /// A local policy (`policy.dmarc`).
    Policy,
}

impl PropertyType {
    fn from_keyword(keyword: &str) -> Option<Self> {
        [
            ("smtp", Self::Smtp),
            ("header", Self::Header),
            ("body", Self::Body),
            ("policy", Self::Policy),
        ]
        .into_iter()
        .find(|(name, _)| keyword.eq_ignore_ascii_case(name))
        .map(|(_, ptype)| ptype)
    }
}

impl ResInfo {
    /// Values of every `ptype.name` property (`name` in lower case).
    pub fn values(&self, ptype: PropertyType, name: &str) -> impl Iterator<Item = &str> {
        self.properties
            .iter()
            .filter(move |p| p.ptype == ptype && p.name == name)
            .map(|p| p.value.as_str())
    }
}

/// Where and why a value does not follow the grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed Authentication-Results: expected {expected} at byte {at}")]
pub struct Malformed {
    /// Byte offset in the value.
    pub at: usize,
    /// What the grammar wanted there.
    pub expected: &'static str,
}

/// Parses one header value (without the `Authentication-Results:` name).
pub fn parse(value: &str) -> Result<AuthResults, Malformed> {
    let mut cursor = Cursor::new(value);
    let (authserv_id, version) = authserv_part(&mut cursor)?;
    let mut parsed = AuthResults {
        authserv_id,
        version,
        results: Vec::new(),
        skipped: 0,
    };
    if cursor.clone().rest_is_none() {
        return Ok(parsed);
    }
    while !cursor.at_end() {
        match resinfo(&mut cursor) {
            Ok(info) => parsed.results.push(info),
            Err(_) => {
                parsed.skipped += 1;
                cursor.skip_to_separator();
            }
        }
        cursor.eat(';');
        cursor.skip_cfws();
    }
    Ok(parsed)
}

/// `[CFWS] authserv-id [CFWS version] [CFWS] ";" [CFWS]`.
fn authserv_part(cursor: &mut Cursor<'_>) -> Result<(String, Option<String>), Malformed> {
    cursor.skip_cfws();
    let authserv_id = cursor.value().ok_or(cursor.expected("an authserv-id"))?;
    cursor.skip_cfws();
    let version = cursor.digits();
    cursor.skip_cfws();
    if !cursor.eat(';') {
        return Err(cursor.expected("\";\" after the authserv-id"));
    }
    cursor.skip_cfws();
    Ok((authserv_id, version))
}

/// `method [CFWS] ["/" version] "=" [CFWS] result`, then `reason=` and
/// properties up to the next `;` or the end.
fn resinfo(cursor: &mut Cursor<'_>) -> Result<ResInfo, Malformed> {
    let mut info = method_and_result(cursor)?;
    loop {
        cursor.skip_cfws();
        if cursor.at_end() || cursor.peek() == Some(';') {
            return Ok(info);
        }
        let word = cursor.keyword().ok_or(cursor.expected("a property"))?;
        cursor.skip_cfws();
        if is_reason(&word, &info) && cursor.eat('=') {
            cursor.skip_cfws();
            info.reason = Some(cursor.value().ok_or(cursor.expected("a reason"))?);
        } else {
            info.properties.push(property(cursor, &word)?);
        }
    }
}

/// `reason` is a reason only before the first property, and only once.
fn is_reason(word: &str, info: &ResInfo) -> bool {
    word.eq_ignore_ascii_case("reason") && info.reason.is_none() && info.properties.is_empty()
}

fn method_and_result(cursor: &mut Cursor<'_>) -> Result<ResInfo, Malformed> {
    let method = cursor.keyword().ok_or(cursor.expected("a method"))?;
    cursor.skip_cfws();
    let mut method_version = None;
    if cursor.eat('/') {
        cursor.skip_cfws();
        method_version = Some(cursor.digits().ok_or(cursor.expected("a method version"))?);
        cursor.skip_cfws();
    }
    if !cursor.eat('=') {
        return Err(cursor.expected("\"=\" after the method"));
    }
    cursor.skip_cfws();
    let result = cursor.keyword().ok_or(cursor.expected("a result"))?;
    Ok(ResInfo {
        method: method.to_ascii_lowercase(),
        method_version,
        result: result.to_ascii_lowercase(),
        ..ResInfo::default()
    })
}

/// The rest of `ptype [CFWS] "." [CFWS] property [CFWS] "=" pvalue`,
/// `ptype` already read.
fn property(cursor: &mut Cursor<'_>, ptype: &str) -> Result<Property, Malformed> {
    let ptype = PropertyType::from_keyword(ptype)
        .ok_or(cursor.expected("a ptype (smtp, header, body, policy)"))?;
    if !cursor.eat('.') {
        return Err(cursor.expected("\".\" after the ptype"));
    }
    cursor.skip_cfws();
    let name = cursor.keyword().ok_or(cursor.expected("a property name"))?;
    cursor.skip_cfws();
    if !cursor.eat('=') {
        return Err(cursor.expected("\"=\" after the property"));
    }
    cursor.skip_cfws();
    let value = cursor.pvalue().ok_or(cursor.expected("a property value"))?;
    Ok(Property {
        ptype,
        name: name.to_ascii_lowercase(),
        value,
    })
}

/// A position in the value being parsed.
#[derive(Clone)]
struct Cursor<'a> {
    rest: &'a str,
    len: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor {
            rest: text,
            len: text.len(),
        }
    }

    fn offset(&self) -> usize {
        self.len - self.rest.len()
    }

    fn expected(&self, expected: &'static str) -> Malformed {
        Malformed {
            at: self.offset(),
            expected,
        }
    }

    fn at_end(&self) -> bool {
        self.rest.is_empty()
    }

    fn peek(&self) -> Option<char> {
        self.rest.chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.rest = &self.rest[c.len_utf8()..];
        Some(c)
    }

    fn eat(&mut self, wanted: char) -> bool {
        let found = self.peek() == Some(wanted);
        if found {
            self.bump();
        }
        found
    }

    /// The longest prefix of characters that pass `keep`.
    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &'a str {
        let end = self
            .rest
            .char_indices()
            .find(|&(_, c)| !keep(c))
            .map_or(self.rest.len(), |(i, _)| i);
        let (taken, rest) = self.rest.split_at(end);
        self.rest = rest;
        taken
    }

    fn non_empty(&mut self, keep: impl Fn(char) -> bool) -> Option<String> {
        Some(self.take_while(keep))
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }

    fn keyword(&mut self) -> Option<String> {
        self.non_empty(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    }

    fn digits(&mut self) -> Option<String> {
        self.non_empty(|c| c.is_ascii_digit())
    }

    /// A MIME `token` or a quoted string.
    fn value(&mut self) -> Option<String> {
        if self.peek() == Some('"') {
            return self.quoted_string();
        }
        self.non_empty(is_token_char)
    }

    /// A property value: quoted strings and runs of anything but white
    /// space, `(`, `)` and `;`, side by side (`"first last"@example.com`).
    fn pvalue(&mut self) -> Option<String> {
        let mut value = String::new();
        let mut any = false;
        loop {
            if self.peek() == Some('"') {
                value.push_str(&self.quoted_string()?);
                any = true;
                continue;
            }
            let run = self.take_while(is_pvalue_char);
            if run.is_empty() {
                return any.then_some(value);
            }
            value.push_str(run);
            any = true;
        }
    }

    /// `"..."` with `\` escapes, unquoted; `None` when it never closes.
    fn quoted_string(&mut self) -> Option<String> {
        self.eat('"');
        let mut value = String::new();
        loop {
            match self.bump()? {
                '"' => return Some(value),
                '\\' => value.push(self.bump()?),
                c => value.push(c),
            }
        }
    }

    /// Skips white space and comments; an unclosed comment runs to the end.
    fn skip_cfws(&mut self) {
        loop {
            self.take_while(char::is_whitespace);
            if self.peek() != Some('(') {
                return;
            }
            self.skip_comment();
        }
    }

    /// Skips one comment, nested ones and quoted-pairs included.
    fn skip_comment(&mut self) {
        let mut depth = 0usize;
        while let Some(c) = self.bump() {
            match c {
                '(' => depth += 1,
                ')' if depth <= 1 => return,
                ')' => depth -= 1,
                '\\' => {
                    self.bump();
                }
                _ => {}
            }
        }
    }

    /// Moves to the next `;` that is outside comments and quoted strings
    /// (or the end).
    fn skip_to_separator(&mut self) {
        loop {
            self.take_while(|c| !matches!(c, ';' | '(' | '"'));
            match self.peek() {
                Some('(') => self.skip_comment(),
                Some('"') => {
                    if self.quoted_string().is_none() {
                        return;
                    }
                }
                _ => return,
            }
        }
    }

    /// Whether all that is left is `none` (and CFWS).
    fn rest_is_none(mut self) -> bool {
        let none = self
            .keyword()
            .is_some_and(|word| word.eq_ignore_ascii_case("none"));
        self.skip_cfws();
        none && self.at_end()
    }
}

/// A MIME token character (RFC 2045): no white space, control or tspecial.
/// Non-ASCII is let through for internationalized names (RFC 6532).
fn is_token_char(c: char) -> bool {
    !c.is_whitespace() && !c.is_control() && !"()<>@,;:\\\"/[]?=".contains(c)
}

fn is_pvalue_char(c: char) -> bool {
    !c.is_whitespace() && !c.is_control() && !"();\"".contains(c)
}
