//! HTML bodies: readable text for HTML-only mail, and a sanitized copy of
//! the HTML for storage.
//!
//! Text comes from `html2text` (paragraphs, line breaks, `- ` lists,
//! `> ` blockquotes, tables without borders, links as `text <url>`, no
//! script or style content, entities decoded). Before rendering, quoted
//! history that clients do not put in a `<blockquote>` is wrapped in one,
//! so it comes out `>` quoted like plain-text mail and
//! [`super::reply_text`] finds it the same way: Yahoo's
//! `div.yahoo_quoted`, and everything from Outlook's reply header (OWA's
//! `#divRplyFwdMsg`, desktop Outlook's top-bordered header block) to the
//! end of the message.
//!
//! The stored copy is cleaned by `ammonia`: no script or style, no event
//! handlers or `javascript:` URLs, no relative URLs, and no image that
//! loads by itself: an `<img>` keeps its `src` only for a `cid:` part of
//! the same message (remote and `data:` sources are removed, the `alt`
//! text stays).

use std::borrow::Cow;
use std::rc::Rc;
use std::sync::LazyLock;

use html2text::render::{TaggedLine, TextDecorator};
use html2text::{Element, Handle, RcDom};
use regex::Regex;

/// Line width for rendering; wide enough that paragraphs are not wrapped.
const WIDTH: usize = 1_000;

/// Largest HTML body given to the HTML parser.
const MAX_HTML_BYTES: usize = 4 * 1024 * 1024;

/// Deepest element nesting given to the HTML parser. Long Gmail threads
/// nest about three levels per reply.
const MAX_NESTING: usize = 1_000;

/// Parser work allowed, in elements times their depth: the parser checks
/// the open elements on most start tags, so a hostile body (thousands of
/// levels, then many elements) could otherwise stall ingestion for
/// minutes. Ordinary mail needs well under a tenth of this.
const MAX_PARSE_WORK: usize = 20_000_000;

/// Readable plain text for an HTML body. Bodies too large or too deeply
/// nested for the HTML parser get mail-parser's simple tag stripper.
pub fn html_to_text(html: &str) -> String {
    let rendered = if is_parseable(html) {
        render(html)
    } else {
        Err("too large or too deeply nested".to_string())
    };
    match rendered {
        Ok(text) => tidy(&text),
        Err(e) => {
            tracing::debug!(error = %e, "HTML not rendered; using the simple converter");
            tidy(&mail_parser::decoders::html::html_to_text(html))
        }
    }
}

/// The HTML with everything active or remote removed (see module docs);
/// `None` when it is too large or too deeply nested to parse safely (the
/// original stays in the raw message).
pub fn sanitize_html(html: &str) -> Option<String> {
    if !is_parseable(html) {
        return None;
    }
    std::panic::catch_unwind(|| SANITIZER.clean(html).to_string()).ok()
}

fn is_parseable(html: &str) -> bool {
    if html.len() > MAX_HTML_BYTES {
        return false;
    }
    let (deepest, work) = nesting_estimate(html);
    deepest <= MAX_NESTING && work <= MAX_PARSE_WORK
}

/// Upper bounds of the element nesting depth and of the parser's work,
/// from a linear scan of the tags: start tags of elements that may contain
/// others count one level down, their end tags one up.
fn nesting_estimate(html: &str) -> (usize, usize) {
    let (mut depth, mut deepest, mut work) = (0usize, 0usize, 0usize);
    for (at, _) in html.match_indices('<') {
        let rest = &html[at + 1..];
        let (closing, rest) = match rest.strip_prefix('/') {
            Some(rest) => (true, rest),
            None => (false, rest),
        };
        let name: String = rest
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .take(12)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
            continue;
        }
        if VOID_OR_SELF_CLOSING.contains(&name.as_str()) {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
        } else {
            depth += 1;
            deepest = deepest.max(depth);
            work = work.saturating_add(depth);
        }
    }
    (deepest, work)
}

/// Elements that never hold others, or whose end tag is implied by the
/// next sibling (so they do not nest when left open).
const VOID_OR_SELF_CLOSING: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "option", "thead", "tbody", "tfoot",
    "colgroup", "rt", "rp", "optgroup",
];

/// Renders with html2text. A panic inside it (hostile markup it did not
/// foresee) is an error, so the simple converter takes over.
fn render(html: &str) -> Result<String, String> {
    let rendering = std::panic::catch_unwind(|| {
        let config = html2text::config::with_decorator(MailDecorator::default())
            .no_table_borders()
            .link_footnotes(false)
            .allow_width_overflow();
        let dom = config.parse_html(html.as_bytes())?;
        prepare(&dom);
        let tree = config.dom_to_render_tree(&dom)?;
        config.render_to_string(tree, WIDTH)
    });
    match rendering {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err("html2text panicked".into()),
    }
}

/// Text-only decoration: links become `text <url>`, lists `- `, quotes
/// `> `; no emphasis markers, no footnotes.
#[derive(Debug, Default)]
struct MailDecorator {
    links: Vec<String>,
}

impl TextDecorator for MailDecorator {
    type Annotation = ();

    fn decorate_link_start(&mut self, url: &str) -> (String, ()) {
        self.links.push(url.trim().to_string());
        (String::new(), ())
    }

    fn decorate_link_end(&mut self) -> String {
        match self.links.pop() {
            Some(url) if is_shown_link(&url) => format!(" <{url}>"),
            _ => String::new(),
        }
    }

    fn decorate_em_start(&self) -> (String, ()) {
        (String::new(), ())
    }

    fn decorate_em_end(&self) -> String {
        String::new()
    }

    fn decorate_strong_start(&self) -> (String, ()) {
        (String::new(), ())
    }

    fn decorate_strong_end(&self) -> String {
        String::new()
    }

    fn decorate_strikeout_start(&self) -> (String, ()) {
        (String::new(), ())
    }

    fn decorate_strikeout_end(&self) -> String {
        String::new()
    }

    fn decorate_code_start(&self) -> (String, ()) {
        (String::new(), ())
    }

    fn decorate_code_end(&self) -> String {
        String::new()
    }

    fn decorate_preformat_first(&self) {}

    fn decorate_preformat_cont(&self) {}

    fn decorate_image(&mut self, _src: &str, title: &str) -> (String, ()) {
        let title = title.trim();
        if title.is_empty() {
            (String::new(), ())
        } else {
            (format!("[{title}]"), ())
        }
    }

    fn header_prefix(&self, _level: usize) -> String {
        String::new()
    }

    fn quote_prefix(&self) -> String {
        "> ".into()
    }

    fn unordered_item_prefix(&self) -> String {
        "- ".into()
    }

    fn ordered_item_prefix(&self, i: i64) -> String {
        format!("{i}. ")
    }

    fn make_subblock_decorator(&self) -> Self {
        Self::default()
    }

    fn finalise(&mut self, _urls: Vec<String>) -> Vec<TaggedLine<()>> {
        Vec::new()
    }
}

/// Links worth printing: web and mail addresses, not anchors or scripts.
fn is_shown_link(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    ["http://", "https://", "mailto:", "ftp://", "tel:"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
}

/// Trailing spaces off, no-break spaces plain, at most one blank line in a
/// row, a link whose text is its address written once.
fn tidy(text: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        let line = line.replace('\u{a0}', " ");
        let line = SELF_LINK.replace_all(line.trim_end(), |c: &regex::Captures<'_>| {
            let (text, url) = (&c[1], &c[2]);
            if url == text || url.strip_prefix("mailto:") == Some(text) {
                text.to_string()
            } else {
                c[0].to_string()
            }
        });
        let blank = line.trim_start_matches('>').trim().is_empty();
        let previous_blank = out
            .last()
            .is_none_or(|l| l.trim_start_matches('>').trim().is_empty());
        if !(blank && previous_blank) {
            out.push(line.into_owned());
        }
    }
    out.join("\n").trim().to_string()
}

static SELF_LINK: LazyLock<Regex> =
    LazyLock::new(|| match Regex::new(r"([^\s<>]+) <([^\s<>]+)>") {
        Ok(regex) => regex,
        Err(e) => unreachable!("built-in pattern is invalid: {e}"),
    });

/// Prepares the tree for rendering: wraps quoted history that is not in a
/// `<blockquote>` into one, and drops list numbering that would overflow.
fn prepare(dom: &RcDom) {
    let mut yahoo = Vec::new();
    let mut outlook = None;
    for node in elements(&dom.document) {
        if tag_is(&node, "ol") {
            drop_absurd_start(&node);
        }
        if has_class(&node, "yahoo_quoted") {
            yahoo.push(node);
        } else if outlook.is_none() && is_outlook_reply_header(&node) {
            outlook = Some(node);
        }
    }
    for node in yahoo {
        wrap_in_blockquote(&node, 1);
    }
    if let Some(node) = outlook {
        quote_from_here_on(&node);
    }
}

/// Every element below `root`, in document order (no recursion: mail can
/// nest deeply).
fn elements(root: &Handle) -> Vec<Handle> {
    let mut found = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(node) = stack.pop() {
        if matches!(node.data, Element { .. }) {
            found.push(node.clone());
        }
        stack.extend(node.children.borrow().iter().rev().cloned());
    }
    found
}

/// `<ol start>` beyond a million is dropped: html2text counts items with
/// plain integer arithmetic.
fn drop_absurd_start(node: &Handle) {
    let sane = |v: &str| v.trim().parse::<i64>().is_ok_and(|n| n.abs() <= 1_000_000);
    if let Element { attrs, .. } = &node.data {
        attrs
            .borrow_mut()
            .retain(|a| !(*a.name.local).eq_ignore_ascii_case("start") || sane(&a.value));
    }
}

fn attribute(node: &Handle, name: &str) -> Option<String> {
    match &node.data {
        Element { attrs, .. } => attrs
            .borrow()
            .iter()
            .find(|a| (*a.name.local).eq_ignore_ascii_case(name))
            .map(|a| a.value.to_string()),
        _ => None,
    }
}

fn tag_is(node: &Handle, tag: &str) -> bool {
    matches!(&node.data, Element { name, .. } if (*name.local).eq_ignore_ascii_case(tag))
}

fn has_class(node: &Handle, class: &str) -> bool {
    attribute(node, "class").is_some_and(|c| c.split_whitespace().any(|c| c == class))
}

/// OWA's `<div id="divRplyFwdMsg">`, or desktop Outlook's header block: a
/// `<div>` with the grey top border Outlook draws above `From:`.
fn is_outlook_reply_header(node: &Handle) -> bool {
    if !tag_is(node, "div") {
        return false;
    }
    if attribute(node, "id").is_some_and(|id| id.eq_ignore_ascii_case("divRplyFwdMsg")) {
        return true;
    }
    let style: String = attribute(node, "style")
        .unwrap_or_default()
        .to_ascii_lowercase()
        .split_whitespace()
        .collect();
    ["border-top:solid#e1e1e1", "border-top:solid#b5c4df"]
        .iter()
        .any(|border| style.contains(border))
}

fn parent(node: &Handle) -> Option<Handle> {
    let weak = node.parent.take();
    let parent = weak.as_ref().and_then(|w| w.upgrade());
    node.parent.set(weak);
    parent
}

/// Quotes `node`, what follows it, and what follows each of its ancestors
/// up to `<body>`: the rest of the message after Outlook's reply header.
fn quote_from_here_on(node: &Handle) {
    let Some(first_parent) = parent(node) else {
        return;
    };
    let start = position(&first_parent, node);
    let len = first_parent.children.borrow().len();
    let quoted_from = start.saturating_sub(usize::from(previous_is_rule(&first_parent, start)));
    wrap_children(&first_parent, quoted_from, len);
    let mut current = first_parent;
    while let Some(up) = parent(&current) {
        if tag_is(&up, "body") || tag_is(&up, "html") || !matches!(up.data, Element { .. }) {
            break;
        }
        let after = position(&up, &current) + 1;
        let len = up.children.borrow().len();
        if after < len {
            wrap_children(&up, after, len);
        }
        current = up;
    }
}

/// OWA draws an `<hr>` right above its header block.
fn previous_is_rule(parent: &Handle, index: usize) -> bool {
    let children = parent.children.borrow();
    children[..index]
        .iter()
        .rev()
        .find(|c| matches!(c.data, Element { .. }))
        .is_some_and(|c| tag_is(c, "hr"))
}

fn position(parent: &Handle, child: &Handle) -> usize {
    parent
        .children
        .borrow()
        .iter()
        .position(|c| Rc::ptr_eq(c, child))
        .unwrap_or(0)
}

fn wrap_in_blockquote(node: &Handle, count: usize) {
    if let Some(parent) = parent(node) {
        let start = position(&parent, node);
        wrap_children(&parent, start, start + count);
    }
}

/// Moves `parent`'s children `from..to` into a new `<blockquote>` put in
/// their place.
fn wrap_children(parent: &Handle, from: usize, to: usize) {
    let Some(quote) = new_blockquote() else {
        return;
    };
    let moved: Vec<Handle> = {
        let mut children = parent.children.borrow_mut();
        let to = to.min(children.len());
        if from >= to {
            return;
        }
        children.splice(from..to, [quote.clone()]).collect()
    };
    for child in &moved {
        child.parent.set(Some(Rc::downgrade(&quote)));
    }
    quote.children.borrow_mut().extend(moved);
    quote.parent.set(Some(Rc::downgrade(parent)));
}

/// A detached, empty `<blockquote>` element, made by the same parser.
fn new_blockquote() -> Option<Handle> {
    let config = html2text::config::plain();
    let dom = config.parse_html(&b"<blockquote></blockquote>"[..]).ok()?;
    let quote = elements(&dom.document)
        .into_iter()
        .find(|n| tag_is(n, "blockquote"))?;
    let parent = parent(&quote)?;
    parent
        .children
        .borrow_mut()
        .retain(|c| !Rc::ptr_eq(c, &quote));
    quote.parent.set(None);
    Some(quote)
}

static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder
        .add_url_schemes(["cid"])
        .add_clean_content_tags(["title"])
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer nofollow"))
        .attribute_filter(|element, attribute, value| {
            if element == "img" && attribute == "src" && !is_inline_part(value) {
                None
            } else {
                Some(Cow::Borrowed(value))
            }
        });
    builder
});

/// A `cid:` reference to a part of the same message.
fn is_inline_part(url: &str) -> bool {
    url.trim()
        .get(..4)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("cid:"))
}

#[cfg(test)]
mod tests;
