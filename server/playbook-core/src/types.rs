//! The `Type:` field: parsing it, and checking an answer against it.

use crate::playbook::model::Text;
use crate::span::Span;
use crate::yaml::{Node, NodeKind};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ValueType {
    Text,
    Number,
    Boolean,
    /// `enum [`a`, `b`]`; each member keeps its span in the playbook.
    Enum {
        members: Vec<Text>,
    },
    List,
    Prose,
    /// `file` or `file (<kind>)`, e.g. `file (image)`.
    File {
        kind: Option<String>,
    },
    /// `classification`, optionally ` — <description>`.
    Classification {
        description: Option<String>,
        shape: Shape,
    },
    /// `list of <description>`.
    ListOf {
        description: String,
        records: bool,
    },
    /// Not a type of the schema (reported as `unknown-type`).
    Unknown {
        text: String,
    },
}

/// What a classification answer must look like, read from its description.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    /// "a map of …": a mapping.
    Map,
    /// "either … or a map …", or no description: any non-empty value.
    Any,
}

impl ValueType {
    /// Parse a Type value. `raw` is the Markdown as written; `offset` is where it starts in
    /// the document, so enum members get document spans.
    pub fn parse(raw: &str, offset: usize) -> ValueType {
        let trimmed = raw.trim().trim_end_matches('.');
        let (head, description) = split_description(trimmed);
        let head_lower = head.trim().to_ascii_lowercase();
        match head_lower.as_str() {
            "text" | "string" => return ValueType::Text,
            "number" | "integer" => return ValueType::Number,
            "boolean" | "bool" => return ValueType::Boolean,
            "list" => return ValueType::List,
            "prose" => return ValueType::Prose,
            "file" => return ValueType::File { kind: None },
            "classification" => {
                let shape = match description {
                    Some(d) if starts_map(d) => Shape::Map,
                    _ => Shape::Any,
                };
                return ValueType::Classification { description: description.map(str::to_string), shape };
            }
            _ => {}
        }
        if let Some(kind) =
            head_lower.strip_prefix("file").map(str::trim).and_then(|r| r.strip_prefix('(')).and_then(|r| r.strip_suffix(')'))
        {
            return ValueType::File { kind: Some(kind.trim().to_string()) };
        }
        if let Some(rest) = trimmed.strip_prefix("list of ").or_else(|| trimmed.strip_prefix("List of ")) {
            let records = rest.contains("record") || rest.trim_start_matches('`').starts_with('{');
            return ValueType::ListOf { description: rest.trim().to_string(), records };
        }
        if head_lower.starts_with("enum")
            && let Some(members) = parse_enum_members(raw, offset)
        {
            return ValueType::Enum { members };
        }
        ValueType::Unknown { text: trimmed.to_string() }
    }

    /// A short name for messages: "a boolean", "one of `a`, `b`".
    pub fn describe(&self) -> String {
        match self {
            ValueType::Text => "text".into(),
            ValueType::Number => "a number".into(),
            ValueType::Boolean => "yes or no".into(),
            ValueType::Enum { members } => {
                format!("one of {}", members.iter().map(|m| format!("`{}`", m.text)).collect::<Vec<_>>().join(", "))
            }
            ValueType::List => "a list".into(),
            ValueType::Prose => "prose".into(),
            ValueType::File { kind: None } => "a file path".into(),
            ValueType::File { kind: Some(k) } => format!("a path to a {k} file"),
            ValueType::Classification { shape: Shape::Map, .. } => "a mapping".into(),
            ValueType::Classification { shape: Shape::Any, .. } => "a classification".into(),
            ValueType::ListOf { records: true, .. } => "a list of records (mappings)".into(),
            ValueType::ListOf { records: false, .. } => "a list".into(),
            ValueType::Unknown { text } => format!("`{text}`"),
        }
    }

    /// The Type as the playbook's readers know it (`enum`, `file (image)`…), for hovers and outlines.
    pub fn name(&self) -> String {
        match self {
            ValueType::Text => "text".into(),
            ValueType::Number => "number".into(),
            ValueType::Boolean => "boolean".into(),
            ValueType::Enum { .. } => "enum".into(),
            ValueType::List => "list".into(),
            ValueType::Prose => "prose".into(),
            ValueType::File { kind: None } => "file".into(),
            ValueType::File { kind: Some(k) } => format!("file ({k})"),
            ValueType::Classification { .. } => "classification".into(),
            ValueType::ListOf { .. } => "list of records".into(),
            ValueType::Unknown { text } => text.clone(),
        }
    }
}

/// `head — description`: the schema separates a type from its description with an em dash.
fn split_description(s: &str) -> (&str, Option<&str>) {
    for sep in [" — ", " – ", " -- ", " - "] {
        if let Some((head, rest)) = s.split_once(sep) {
            return (head, Some(rest.trim()));
        }
    }
    (s, None)
}

fn starts_map(description: &str) -> bool {
    let d = description.trim_start().to_ascii_lowercase();
    d.starts_with("a map") || d.starts_with("map ") || d.starts_with("a mapping") || d.starts_with("a dictionary")
}

/// `enum [`a`, `b`]` or `enum \[`a`, `b`]`: the members and their document spans.
fn parse_enum_members(raw: &str, offset: usize) -> Option<Vec<Text>> {
    let open = raw.find('[')?;
    let close = raw.rfind(']')?;
    if close < open {
        return None;
    }
    let inner_start = open + 1;
    let inner = &raw[inner_start..close];
    let mut members = Vec::new();
    let mut pos = 0;
    for part in inner.split(',') {
        let part_start = pos;
        pos += part.len() + 1;
        let leading = part.len() - part.trim_start().len();
        let text = part.trim();
        let unquoted = text.trim_matches(|c| c == '`' || c == '"' || c == '\'');
        if unquoted.is_empty() {
            continue;
        }
        let quote = text.find(unquoted).unwrap_or(0);
        let start = offset + inner_start + part_start + leading + quote;
        members.push(Text { text: unquoted.to_string(), span: start..start + unquoted.len() });
    }
    (!members.is_empty()).then_some(members)
}

/// What a file answer points at, as seen by whoever checks the case (the core does no I/O).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileStatus {
    Missing,
    /// The path leaves the workspace (absolute elsewhere, or `..` past its root).
    OutsideWorkspace,
    Directory,
    /// A regular file; `image` tells whether its first bytes are an image format's signature.
    File {
        image: bool,
    },
}

/// Resolves a file answer (relative to the case) and looks at it. The CLI and server implement
/// it on the real file system; tests use a map.
pub trait FileProbe {
    fn probe(&self, path: &str) -> FileStatus;
}

/// A probe for contexts that cannot look at files: every path is taken to exist.
pub struct NoFileProbe;

impl FileProbe for NoFileProbe {
    fn probe(&self, _path: &str) -> FileStatus {
        FileStatus::File { image: true }
    }
}

/// Whether `bytes` (the first few hundred of a file) start like an image.
pub fn looks_like_image(bytes: &[u8]) -> bool {
    const SIGNATURES: [&[u8]; 7] = [
        b"\x89PNG\r\n\x1a\n",
        b"\xff\xd8\xff",
        b"GIF87a",
        b"GIF89a",
        b"BM",
        b"\x00\x00\x01\x00", // ICO
        b"II*\x00",          // TIFF
    ];
    if SIGNATURES.iter().any(|sig| bytes.starts_with(sig)) {
        return true;
    }
    if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return true;
    }
    // SVG is text: look for an <svg element near the start.
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_ascii_lowercase();
    head.contains("<svg")
}

/// Why an answer does not fit its type; `span` is the part of the case to point at.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeMismatch {
    pub message: String,
    pub span: Span,
    /// Replacement texts that would fix it (enum members, `yes`/`no`, a list wrapping).
    pub replacements: Vec<String>,
}

/// Check `node` (never null: the caller treats null as "not answered") against `ty`.
pub fn check_value(ty: &ValueType, node: &Node, source: &str, files: &dyn FileProbe) -> Vec<TypeMismatch> {
    let found = describe_node(node);
    let mismatch = |message: String| TypeMismatch { message, span: node.span.clone(), replacements: Vec::new() };
    match ty {
        ValueType::Text | ValueType::Prose => match &node.kind {
            NodeKind::Scalar(_) => vec![],
            _ => vec![mismatch(format!("expected {}, found {found}", ty.describe()))],
        },
        ValueType::Number => match node.as_scalar() {
            Some(s) if s.as_number().is_some() => vec![],
            _ => vec![mismatch(format!("expected a number, found {found}"))],
        },
        ValueType::Boolean => match node.as_scalar() {
            Some(s) if s.as_bool().is_some() => vec![],
            _ => vec![TypeMismatch {
                replacements: vec!["yes".into(), "no".into()],
                ..mismatch(format!("expected yes or no, found {found}"))
            }],
        },
        ValueType::Enum { members } => match node.as_scalar() {
            Some(s) if members.iter().any(|m| m.text == s.value.trim()) => vec![],
            Some(s) => {
                let mut replacements: Vec<String> = members.iter().map(|m| m.text.clone()).collect();
                // The closest member first, so the preferred quick fix is the likely one.
                if let Some(best) = crate::suggest::closest(s.value.trim(), replacements.iter().map(String::as_str)) {
                    let best = best.to_string();
                    replacements.retain(|r| *r != best);
                    replacements.insert(0, best);
                }
                vec![TypeMismatch { replacements, ..mismatch(format!("`{}` is not {}", s.value.trim(), ty.describe())) }]
            }
            None => vec![mismatch(format!("expected {}, found {found}", ty.describe()))],
        },
        ValueType::List => match &node.kind {
            NodeKind::Seq(_) => vec![],
            NodeKind::Scalar(_) => {
                let raw = source.get(node.span.clone()).unwrap_or_default();
                vec![TypeMismatch { replacements: vec![format!("[{raw}]")], ..mismatch(format!("expected a list, found {found}")) }]
            }
            _ => vec![mismatch(format!("expected a list, found {found}"))],
        },
        ValueType::ListOf { records, .. } => match &node.kind {
            NodeKind::Seq(elements) if *records => elements
                .iter()
                .filter(|e| e.as_map().is_none())
                .map(|e| TypeMismatch {
                    message: format!("expected a record (a mapping), found {}", describe_node(e)),
                    span: e.span.clone(),
                    replacements: vec![],
                })
                .collect(),
            NodeKind::Seq(_) => vec![],
            _ => vec![mismatch(format!("expected {}, found {found}", ty.describe()))],
        },
        ValueType::File { kind } => match node.as_scalar() {
            None => vec![mismatch(format!("expected a file path, found {found}"))],
            Some(s) => match files.probe(s.value.trim()) {
                FileStatus::File { image } => {
                    if kind.as_deref() == Some("image") && !image {
                        vec![mismatch(format!("`{}` is not an image (PNG, JPEG, GIF, WebP, SVG, BMP, ICO or TIFF)", s.value.trim()))]
                    } else {
                        vec![]
                    }
                }
                FileStatus::Missing => {
                    vec![mismatch(format!("file `{}` does not exist (paths are relative to the working case)", s.value.trim()))]
                }
                FileStatus::OutsideWorkspace => {
                    vec![mismatch(format!("`{}` is outside the workspace; file answers must stay inside it", s.value.trim()))]
                }
                FileStatus::Directory => vec![mismatch(format!("`{}` is a directory, not a file", s.value.trim()))],
            },
        },
        ValueType::Classification { shape: Shape::Map, .. } => match &node.kind {
            NodeKind::Map(_) => vec![],
            _ => vec![mismatch(format!("expected a mapping ({}), found {found}", classification_hint(ty)))],
        },
        ValueType::Classification { shape: Shape::Any, .. } | ValueType::Unknown { .. } => vec![],
    }
}

fn classification_hint(ty: &ValueType) -> String {
    match ty {
        ValueType::Classification { description: Some(d), .. } => crate::playbook::model::plain_text(d),
        _ => "a classification".into(),
    }
}

/// "a list", "the text `abc`", … for messages.
pub fn describe_node(node: &Node) -> String {
    match &node.kind {
        NodeKind::Scalar(s) if s.value.chars().count() > 40 => "text".into(),
        NodeKind::Scalar(s) => format!("`{}`", s.value),
        NodeKind::Seq(_) => "a list".into(),
        NodeKind::Map(_) => "a mapping".into(),
        NodeKind::Alias => "an alias".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_type_of_the_schema() {
        assert_eq!(ValueType::parse("text", 0), ValueType::Text);
        assert_eq!(ValueType::parse("file (image)", 0), ValueType::File { kind: Some("image".into()) });
        let raw = r"enum \[`in-office`, `remote`, `both`]";
        let ValueType::Enum { members } = ValueType::parse(raw, 100) else { panic!() };
        assert_eq!(members.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), ["in-office", "remote", "both"]);
        assert_eq!(&raw[members[1].span.start - 100..members[1].span.end - 100], "remote");
        assert!(matches!(
            ValueType::parse("classification — a map of register name to physical object kind.", 0),
            ValueType::Classification { shape: Shape::Map, .. }
        ));
        assert!(matches!(
            ValueType::parse("classification — either a single t-shirt size or a map of component", 0),
            ValueType::Classification { shape: Shape::Any, .. }
        ));
        assert!(matches!(ValueType::parse("classification", 0), ValueType::Classification { shape: Shape::Any, .. }));
        assert!(matches!(
            ValueType::parse("list of `{kind: foreign_key | unique | check, ...}` records.", 0),
            ValueType::ListOf { records: true, .. }
        ));
        assert!(matches!(ValueType::parse("colour", 0), ValueType::Unknown { .. }));
        assert!(matches!(ValueType::parse("enum", 0), ValueType::Unknown { .. }));
    }

    #[test]
    fn recognises_images_by_signature() {
        assert!(looks_like_image(b"\x89PNG\r\n\x1a\n...."));
        assert!(looks_like_image(b"<?xml version='1.0'?><svg xmlns="));
        assert!(!looks_like_image(b"hello"));
    }
}
