//! A span-preserving YAML tree built from saphyr-parser's event stream.
//!
//! We build our own tree rather than use a loader because the checker needs what loaders throw
//! away: every key that appears twice, the raw text and quoting of each scalar (so that `yes`
//! is a boolean for a boolean item and a string for a text item, as the playbook intends rather
//! than as YAML 1.2 says), tags such as `!deferred`, and byte ranges for every node.

use crate::span::Span;
use saphyr_parser::{Event, Parser, ScalarStyle};

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    /// Byte range of the node's text (for a block mapping or sequence: first key to last value).
    pub span: Span,
    /// The tag as written, with its handle: `!deferred`, `!!str`.
    pub tag: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Scalar(Scalar),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
    /// An alias (`*name`); we do not resolve anchors, answers should not need them.
    Alias,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    /// The scalar's value after YAML unescaping (the raw source is `text[node.span]`).
    pub value: String,
    /// Plain scalars are subject to type interpretation; quoted and block scalars are text.
    pub quoted: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: Node,
    pub value: Node,
}

/// A YAML syntax error with the byte offset where the parser stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub message: String,
    pub offset: usize,
}

/// Collections nested deeper than this are refused: answers never need it, and the tree,
/// its clones and its drop are recursive.
pub const MAX_DEPTH: usize = 256;

/// How many tab separators after a `:` we repair before giving up (see [`parse`]).
const MAX_TAB_REPAIRS: usize = 64;

/// The first document of `text`, or `None` when the stream holds no document.
///
/// YAML 1.2 allows a tab between `key:` and its value; saphyr-parser 0.3 rejects it. Such a
/// tab is only a separator, so we parse again with that one tab read as a space (same length,
/// so every offset stays right) — a bounded number of times.
pub fn parse(text: &str) -> Result<Option<Node>, SyntaxError> {
    let mut repaired: Option<String> = None;
    for _ in 0..=MAX_TAB_REPAIRS {
        let current = repaired.as_deref().unwrap_or(text);
        match parse_once(current) {
            Err(Failure { tab_after_colon: Some(tab), .. }) => {
                let mut bytes = current.as_bytes().to_vec();
                bytes[tab] = b' ';
                repaired = Some(String::from_utf8(bytes).expect("a tab replaced by a space keeps UTF-8"));
            }
            other => return other.map_err(|e| e.error),
        }
    }
    parse_once(repaired.as_deref().unwrap_or(text)).map_err(|e| e.error)
}

struct Failure {
    error: SyntaxError,
    /// The error is saphyr's refusal of a tab right after a `:`: the tab's offset.
    tab_after_colon: Option<usize>,
}

fn parse_once(text: &str) -> Result<Option<Node>, Failure> {
    let chars = CharToByte::new(text);
    let mut builder = Builder { text, stack: Vec::new(), root: None };
    for next in Parser::new_from_str(text) {
        let (event, span) = next.map_err(|e| {
            let offset = chars.byte(e.marker().index());
            let message = e.info().to_string();
            // saphyr's marker sits on the tab or after the run of blanks that holds it: walk
            // back to the colon; the tab to read as a space is the one right after it.
            let bytes = text.as_bytes();
            let blanks = bytes[..offset.min(bytes.len())].iter().rev().take_while(|b| matches!(b, b' ' | b'\t')).count();
            let colon = offset.min(bytes.len()).checked_sub(blanks + 1).filter(|&c| bytes[c] == b':');
            let tab_after_colon = colon
                .map(|c| c + 1)
                .filter(|&t| bytes.get(t) == Some(&b'\t') && message.contains("':' must be followed by a valid YAML whitespace"));
            Failure { error: SyntaxError { offset: point_at_tab(text, offset, &message), message }, tab_after_colon }
        })?;
        let span = chars.byte(span.start.index())..chars.byte(span.end.index());
        if matches!(event, Event::SequenceStart(..) | Event::MappingStart(..)) && builder.stack.len() >= MAX_DEPTH {
            let message = format!("collections nested deeper than {MAX_DEPTH} levels are not supported");
            return Err(Failure { error: SyntaxError { message, offset: span.start }, tab_after_colon: None });
        }
        if builder.on_event(event, span) {
            break;
        }
    }
    Ok(builder.root)
}

/// saphyr reports some tab errors at the end of the previous line; point at the tab itself.
fn point_at_tab(text: &str, offset: usize, message: &str) -> usize {
    if !message.contains("tab") || text.as_bytes().get(offset) == Some(&b'\t') {
        return offset;
    }
    let rest = &text[offset.min(text.len())..];
    // Only look as far as the end of the next line.
    let window_end = rest.match_indices('\n').nth(1).map_or(rest.len(), |(i, _)| i);
    rest[..window_end].find('\t').map_or(offset, |i| offset + i)
}

struct Builder<'t> {
    text: &'t str,
    /// Open containers, innermost last.
    stack: Vec<Open>,
    root: Option<Node>,
}

struct Open {
    node: Node,
    /// For a mapping: the key waiting for its value.
    pending_key: Option<Node>,
}

impl Builder<'_> {
    fn closing_bracket_at(&self, offset: usize) -> bool {
        matches!(self.text.as_bytes().get(offset), Some(b']' | b'}'))
    }

    /// Returns true once the first document is complete.
    fn on_event(&mut self, event: Event<'_>, span: Span) -> bool {
        match event {
            Event::Scalar(value, style, _anchor, tag) => {
                let quoted = !matches!(style, ScalarStyle::Plain);
                let kind = NodeKind::Scalar(Scalar { value: value.into_owned(), quoted });
                self.push(Node { kind, span, tag: tag.map(|t| format!("{}{}", t.handle, t.suffix)) });
            }
            Event::Alias(_) => self.push(Node { kind: NodeKind::Alias, span, tag: None }),
            Event::SequenceStart(_, tag) => self.open(NodeKind::Seq(Vec::new()), span, tag),
            Event::MappingStart(_, tag) => self.open(NodeKind::Map(Vec::new()), span, tag),
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(mut open) = self.stack.pop() {
                    // A flow collection ends at its closing bracket; a block one at its last child
                    // (its end event sits wherever the next token starts).
                    let closes_flow = self.closing_bracket_at(span.start);
                    let end = if closes_flow { span.end } else { last_child_end(&open.node) };
                    open.node.span.end = end.max(open.node.span.start);
                    self.push(open.node);
                }
            }
            Event::DocumentEnd => return self.root.is_some(),
            Event::StreamEnd => return true,
            Event::Nothing | Event::StreamStart | Event::DocumentStart(_) => {}
        }
        false
    }

    fn open(&mut self, kind: NodeKind, span: Span, tag: Option<std::borrow::Cow<'_, saphyr_parser::Tag>>) {
        let tag = tag.map(|t| format!("{}{}", t.handle, t.suffix));
        self.stack.push(Open { node: Node { kind, span, tag }, pending_key: None });
    }

    fn push(&mut self, node: Node) {
        let Some(parent) = self.stack.last_mut() else {
            if self.root.is_none() {
                self.root = Some(node);
            }
            return;
        };
        match &mut parent.node.kind {
            NodeKind::Seq(items) => items.push(node),
            NodeKind::Map(entries) => match parent.pending_key.take() {
                None => parent.pending_key = Some(node),
                Some(key) => entries.push(Entry { key, value: node }),
            },
            NodeKind::Scalar(_) | NodeKind::Alias => unreachable!("only collections are opened"),
        }
    }
}

fn last_child_end(node: &Node) -> usize {
    match &node.kind {
        NodeKind::Seq(items) => items.last().map_or(node.span.end, |n| n.span.end),
        NodeKind::Map(entries) => entries.last().map_or(node.span.end, |e| e.value.span.end.max(e.key.span.end)),
        _ => node.span.end,
    }
}

/// saphyr reports positions in characters; the rest of the core speaks bytes.
struct CharToByte {
    /// Byte offset of each char index, only built when the text is not ASCII.
    table: Option<Vec<usize>>,
    len: usize,
}

impl CharToByte {
    fn new(text: &str) -> Self {
        let table = (!text.is_ascii()).then(|| text.char_indices().map(|(i, _)| i).collect());
        CharToByte { table, len: text.len() }
    }

    fn byte(&self, char_index: usize) -> usize {
        match &self.table {
            None => char_index.min(self.len),
            Some(table) => table.get(char_index).copied().unwrap_or(self.len),
        }
    }
}

impl Node {
    pub fn as_scalar(&self) -> Option<&Scalar> {
        match &self.kind {
            NodeKind::Scalar(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[Entry]> {
        match &self.kind {
            NodeKind::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// A plain `~`, `null` or empty scalar: YAML's null, i.e. no answer written yet.
    pub fn is_null(&self) -> bool {
        match &self.kind {
            NodeKind::Scalar(s) => !s.quoted && self.tag.is_none() && is_null_word(&s.value),
            _ => false,
        }
    }

    /// Whether the node holds nothing: null, an empty or blank string, `[]` or `{}`.
    pub fn is_empty_value(&self) -> bool {
        match &self.kind {
            NodeKind::Scalar(s) => (!s.quoted && is_null_word(&s.value)) || s.value.trim().is_empty(),
            NodeKind::Seq(items) => items.is_empty(),
            NodeKind::Map(entries) => entries.is_empty(),
            NodeKind::Alias => false,
        }
    }

    /// Look a key up in a mapping node (the first occurrence wins, as in the checker).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?.iter().find(|e| e.key.as_scalar().is_some_and(|k| k.value == key)).map(|e| &e.value)
    }
}

impl Scalar {
    /// The playbook's booleans: yes/no/true/false in any case, plain or quoted.
    pub fn as_bool(&self) -> Option<bool> {
        parse_bool(&self.value)
    }

    /// A number as YAML writes it (integers, decimals, exponents; `_` separators allowed).
    pub fn as_number(&self) -> Option<f64> {
        parse_number(&self.value)
    }
}

/// A YAML answer as JSON: quoted (and tagged) scalars are strings; plain ones may be null,
/// booleans or numbers, as the playbook reads them.
pub fn node_to_json(node: &Node) -> serde_json::Value {
    use serde_json::Value;
    match &node.kind {
        NodeKind::Scalar(s) if s.quoted || node.tag.is_some() => Value::String(s.value.clone()),
        NodeKind::Scalar(s) if is_null_word(&s.value) => Value::Null,
        NodeKind::Scalar(s) => {
            if let Some(b) = parse_bool(&s.value) {
                Value::Bool(b)
            } else if let Some(n) = parse_number(&s.value) {
                if n.fract() == 0.0 && n.abs() < 9e15 {
                    Value::from(n as i64)
                } else {
                    serde_json::Number::from_f64(n).map_or(Value::String(s.value.clone()), Value::Number)
                }
            } else {
                Value::String(s.value.clone())
            }
        }
        NodeKind::Seq(items) => Value::Array(items.iter().map(node_to_json).collect()),
        NodeKind::Map(entries) => Value::Object(
            entries.iter().map(|e| (e.key.as_scalar().map(|k| k.value.clone()).unwrap_or_default(), node_to_json(&e.value))).collect(),
        ),
        NodeKind::Alias => Value::Null,
    }
}

pub fn is_null_word(s: &str) -> bool {
    matches!(s.trim(), "" | "~" | "null" | "Null" | "NULL")
}

pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" => Some(true),
        "no" | "false" => Some(false),
        _ => None,
    }
}

pub fn parse_number(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() || s.starts_with('_') {
        return None;
    }
    let cleaned: String = s.chars().filter(|c| *c != '_').collect();
    if !cleaned.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E')) {
        return None;
    }
    cleaned.parse::<f64>().ok().filter(|n| n.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(node: &Node) -> &str {
        &node.as_scalar().unwrap().value
    }

    #[test]
    fn keeps_spans_tags_quoting_and_duplicates() {
        let text = "a: yes\nb: \"yes\"\nc: !deferred \"later\"\nd: !unknown\na: [1, ሰ]\n";
        let root = parse(text).unwrap().unwrap();
        let entries = root.as_map().unwrap();
        assert_eq!(entries.len(), 5, "duplicate keys are kept");
        assert_eq!(&text[entries[0].value.span.clone()], "yes");
        assert!(!entries[0].value.as_scalar().unwrap().quoted);
        assert!(entries[1].value.as_scalar().unwrap().quoted);
        assert_eq!(entries[2].value.tag.as_deref(), Some("!deferred"));
        assert_eq!(scalar(&entries[2].value), "later");
        assert_eq!(entries[3].value.tag.as_deref(), Some("!unknown"));
        let seq = entries[4].value.as_seq().unwrap();
        assert_eq!(&text[seq[1].span.clone()], "ሰ");
        assert_eq!(&text[entries[4].key.span.clone()], "a");
    }

    #[test]
    fn block_collections_span_their_children() {
        let text = "answers:\n  x:\n    - one\n    - two\n  y: 3\n";
        let root = parse(text).unwrap().unwrap();
        let answers = root.get("answers").unwrap();
        assert!(text[answers.span.clone()].ends_with("y: 3"));
        let x = answers.get("x").unwrap();
        assert_eq!(&text[x.span.clone()], "- one\n    - two");
    }

    #[test]
    fn syntax_errors_have_byte_offsets() {
        let text = "ሰ: 1\nb: [unclosed\n";
        let err = parse(text).unwrap_err();
        assert!(err.offset <= text.len());
        assert!(!err.message.is_empty());
    }

    #[test]
    fn tabs_after_colons_are_separators_and_nesting_is_bounded() {
        let root = parse("a:\tone\nb:\t\ttwo\n").unwrap().unwrap();
        assert_eq!(root.get("a").unwrap().as_scalar().unwrap().value, "one");
        assert_eq!(root.get("b").unwrap().as_scalar().unwrap().value, "two");
        let deep = format!("{}x\n", "- ".repeat(5000));
        let err = parse(&deep).unwrap_err();
        assert!(err.message.contains("nested deeper"), "{err:?}");
        let text = "a:\n  country: Kenya\n\tregistry_name: X\n";
        let err = parse(text).unwrap_err();
        assert_eq!(&text[err.offset..err.offset + 1], "\t", "{err:?}");
    }

    #[test]
    fn scalars_interpret_as_the_playbook_means() {
        assert_eq!(parse_bool("Yes"), Some(true));
        assert_eq!(parse_bool("off"), None);
        assert_eq!(parse_number("1_000"), Some(1000.0));
        assert_eq!(parse_number("1e3"), Some(1000.0));
        assert_eq!(parse_number("12abc"), None);
        assert_eq!(parse_number("inf"), None);
        assert_eq!(parse("").unwrap(), None);
    }
}
