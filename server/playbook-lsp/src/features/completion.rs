//! Completion of item keys and values in cases.
//!
//! Completion runs while the user types, so the YAML is often broken at that moment: where the
//! cursor is (an answer key, an answer value) is read from the lines of the text, never from the
//! parsed tree. The parsed case is used only to evaluate conditions, and when the document does
//! not parse we parse it again without the cursor's line (usually the half-typed one).
//!
//! The line helpers here (`lines`, `answers_layout`, `playbook_line`, `case_playbook`,
//! `case_answers`, `answer_key_at`) are shared with hover and definition.

use crate::features::hover::{ForCase, item_markdown, type_text};
use crate::world::{Document, Kind, World};
use playbook_core::analysis::required::{current_phase_index, requirement};
use playbook_core::case::Case;
use playbook_core::condition::Truth;
use playbook_core::playbook::Item;
use playbook_core::span::Span;
use playbook_core::types::{Shape, ValueType};
use std::collections::HashSet;
use std::sync::Arc;
use tower_lsp_server::ls_types::{
    CompletionItem, CompletionItemKind, CompletionItemLabelDetails, CompletionList, CompletionParams, CompletionResponse,
    CompletionTextEdit, Documentation, InsertTextFormat, MarkupContent, MarkupKind, TextEdit,
};

pub fn completion(world: &World, params: &CompletionParams) -> Option<CompletionResponse> {
    let position = &params.text_document_position;
    let doc = world.get(&position.text_document.uri)?;
    if doc.kind != Kind::Case {
        return None;
    }
    let offset = world.offset(doc, position.position);
    let items = match cursor_context(&doc.text, offset)? {
        Context::Key(key) => key_items(world, doc, &key),
        Context::Value(value) => value_items(world, doc, &value),
        Context::TopLevel(top) => top_level_items(world, doc, &top),
    };
    (!items.is_empty()).then_some(CompletionResponse::List(CompletionList { is_incomplete: false, items }))
}

// ---------------------------------------------------------------------------------------------
// Lines of a case

/// One line of a document: where it starts and its text without the line break (`\n` or `\r\n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'t> {
    pub number: usize,
    pub start: usize,
    pub text: &'t str,
}

impl Line<'_> {
    /// Leading spaces (YAML indents with spaces only).
    pub fn indent(&self) -> usize {
        self.text.len() - self.text.trim_start_matches(' ').len()
    }

    /// Blank, or only a comment.
    pub fn is_blank_or_comment(&self) -> bool {
        let content = self.text.trim_start();
        content.is_empty() || content.starts_with('#')
    }
}

/// Every line of `text`, numbered as LSP numbers them: a text that is empty or ends with a line
/// break has a last, empty line.
pub fn lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (number, raw) in text.split_inclusive('\n').enumerate() {
        let body = raw.strip_suffix('\n').unwrap_or(raw);
        let body = body.strip_suffix('\r').unwrap_or(body);
        out.push(Line { number, start, text: body });
        start += raw.len();
    }
    if text.is_empty() || text.ends_with('\n') {
        out.push(Line { number: out.len(), start: text.len(), text: "" });
    }
    out
}

/// The line that holds byte `offset` (the last line for offsets past the end).
pub fn line_at<'l, 't>(lines: &'l [Line<'t>], offset: usize) -> &'l Line<'t> {
    let index = lines.partition_point(|l| l.start <= offset).saturating_sub(1);
    &lines[index]
}

/// A key of a block mapping line: `key: value`, `"key": value`, `key:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineKey {
    pub key: String,
    /// Byte range of the key as written (with its quotes) inside the line's content.
    pub raw_len: usize,
    /// Index of the `:` inside the content.
    pub colon: usize,
}

/// Read `key:` at the start of `content` (the line without its indentation).
pub fn line_key(content: &str) -> Option<LineKey> {
    if content.starts_with("- ") || content == "-" || content.starts_with("? ") || content.starts_with('#') {
        return None;
    }
    let is_colon_at = |i: usize| content[i..].starts_with(':') && content[i + 1..].chars().next().is_none_or(|c| c == ' ' || c == '\t');
    if let Some(quote) = content.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let close = content[1..].find(quote)? + 1;
        let after = content[close + 1..].len() - content[close + 1..].trim_start_matches(' ').len();
        let colon = close + 1 + after;
        return is_colon_at(colon).then(|| LineKey { key: content[1..close].to_string(), raw_len: close + 1, colon });
    }
    let colon = content.char_indices().map(|(i, _)| i).find(|&i| is_colon_at(i))?;
    let key = content[..colon].trim_end();
    (!key.is_empty()).then(|| LineKey { key: key.to_string(), raw_len: key.len(), colon })
}

/// Where the `answers:` block mapping is, found line by line (the YAML need not parse).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswersLayout {
    /// The line of `answers:`.
    pub key_line: usize,
    /// The first line after the block (a top-level line), or the number of lines.
    pub end_line: usize,
    /// The indentation of the answer keys, when there is at least one.
    pub indent: Option<usize>,
    /// Every answer key (at that indentation): the id, its line and its byte span.
    pub keys: Vec<(String, usize, Span)>,
}

/// Find `answers:` (at the top level, with a block value) and its keys. The line `skip`, when
/// given, is the line being typed: it sets neither the indentation nor a key, and ends the block
/// only when it is a complete top-level `key:`.
pub fn answers_layout(lines: &[Line<'_>], skip: Option<usize>) -> Option<AnswersLayout> {
    let key_line = lines.iter().find(|l| {
        let text = l.text.trim_start_matches('\u{feff}');
        text.strip_prefix("answers:").is_some_and(|rest| {
            let rest = rest.trim_start();
            rest.is_empty() || rest.starts_with('#')
        })
    })?;
    let mut layout = AnswersLayout { key_line: key_line.number, end_line: lines.len(), indent: None, keys: Vec::new() };
    for line in &lines[key_line.number + 1..] {
        if line.is_blank_or_comment() {
            continue;
        }
        let ws = line.indent();
        if Some(line.number) == skip {
            // A word being typed at the margin is not (yet) the next top-level key.
            if ws == 0 && line_key(line.text).is_some() {
                layout.end_line = line.number;
                break;
            }
            continue;
        }
        if ws == 0 {
            layout.end_line = line.number;
            break;
        }
        let indent = *layout.indent.get_or_insert(ws);
        if ws == indent
            && let Some(key) = line_key(&line.text[ws..])
        {
            let start = line.start + ws;
            layout.keys.push((key.key, line.number, start..start + key.raw_len));
        }
    }
    Some(layout)
}

/// The `playbook:` path as written, read from the lines (for documents that do not parse).
pub fn playbook_line(text: &str) -> Option<String> {
    lines(text).iter().find_map(|l| {
        let rest = l.text.trim_start_matches('\u{feff}').strip_prefix("playbook:")?;
        let rest = match rest.find(" #") {
            Some(i) => &rest[..i],
            None => rest,
        };
        let path = rest.trim().trim_matches(|c| c == '"' || c == '\'');
        (!path.is_empty()).then(|| path.to_string())
    })
}

/// The case's answers for evaluating conditions. When the text does not parse, it is parsed
/// again without line `skip` (the line being typed); failing that, no answers are known.
pub fn case_answers(doc: &Document, skip: Option<usize>) -> Arc<Case> {
    let case = doc.case();
    if case.syntax_error.is_none() {
        return case;
    }
    if let Some(line) = skip.and_then(|n| lines(&doc.text).get(n).copied()) {
        let mut text = String::with_capacity(doc.text.len());
        text.push_str(&doc.text[..line.start]);
        text.push_str(&doc.text[line.start + line.text.len()..]);
        let repaired = Case::parse(&text);
        if repaired.syntax_error.is_none() {
            return Arc::new(repaired);
        }
    }
    case
}

/// The answer key under the cursor, read from the lines (for cases that do not parse).
pub fn answer_key_at(text: &str, offset: usize) -> Option<(String, Span)> {
    let all = lines(text);
    let line = line_at(&all, offset);
    let layout = answers_layout(&all, None)?;
    layout
        .keys
        .into_iter()
        .find(|(_, n, span)| *n == line.number && span.start <= offset && offset <= span.end)
        .map(|(id, _, span)| (id, span))
}

// ---------------------------------------------------------------------------------------------
// Where the cursor is

#[derive(Debug, Clone, PartialEq, Eq)]
enum Context {
    Key(KeyContext),
    Value(ValueContext),
    TopLevel(TopLevelContext),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct KeyContext {
    line: usize,
    /// The bytes an accepted item replaces.
    replace: Span,
    /// Indentation to write before the key (empty when the line's own indentation is kept).
    indent: String,
    /// The line already has `key:` (only the key is replaced; the value stays).
    has_colon: bool,
    /// Ids answered elsewhere in the block.
    present: HashSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ValueContext {
    line: usize,
    id: String,
    replace: Span,
    /// Nothing separates the colon from the cursor yet: values are written with a space.
    needs_space: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct TopLevelContext {
    replace: Span,
    has_playbook: bool,
    has_answers: bool,
}

fn is_key_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.')
}

fn cursor_context(text: &str, offset: usize) -> Option<Context> {
    let all = lines(text);
    let line = *line_at(&all, offset);
    let col = offset.saturating_sub(line.start).min(line.text.len());
    let ws = line.indent();
    let content = &line.text[ws..];
    let layout = answers_layout(&all, Some(line.number));
    let inside = layout.as_ref().is_some_and(|l| line.number > l.key_line && line.number < l.end_line);
    if !inside {
        return top_level_context(text, &line, col);
    }
    let layout = layout?;
    let indent = layout.indent.unwrap_or(if ws > 0 && content.trim().is_empty() { ws } else { 2 });
    let present: HashSet<String> = layout.keys.iter().map(|(id, _, _)| id.clone()).collect();
    let line_end = line.start + line.text.len();
    if content.trim().is_empty() {
        if ws > indent && col > indent {
            // Deeper than the answer keys: inside a nested value.
            return None;
        }
        let (replace, prefix) = if ws == indent && col == ws {
            (line.start + col..line_end, String::new())
        } else {
            (line.start..line_end, " ".repeat(indent))
        };
        return Some(Context::Key(KeyContext { line: line.number, replace, indent: prefix, has_colon: false, present }));
    }
    if content.starts_with('#') || col < ws || ws > indent {
        return None;
    }
    let key = line_key(content);
    let key_end = ws
        + match &key {
            Some(k) => k.raw_len,
            None => content.find(|c: char| !is_key_char(c)).unwrap_or(content.len()),
        };
    if col <= key_end {
        let (start, prefix) = if ws == indent { (line.start + ws, String::new()) } else { (line.start, " ".repeat(indent)) };
        let mut end = line.start + key_end;
        if key.is_none() && line.text[key_end..].trim().is_empty() {
            end = line_end;
        }
        return Some(Context::Key(KeyContext {
            line: line.number,
            replace: start..end,
            indent: prefix,
            has_colon: key.is_some(),
            present,
        }));
    }
    let key = key.filter(|_| ws == indent)?;
    let after_colon = ws + key.colon + 1;
    if col < after_colon {
        return None;
    }
    let rest = &line.text[after_colon..];
    let value_start = after_colon + (rest.len() - rest.trim_start().len());
    let value_text = match line.text[value_start..].find(" #") {
        Some(i) => &line.text[value_start..value_start + i],
        None => &line.text[value_start..],
    };
    let value_text = value_text.trim_end();
    if value_text.starts_with(['!', '&', '*', '[', '{', '|', '>', '"', '\'', '#']) {
        return None;
    }
    let value_end = value_start + value_text.len();
    let comment = value_start + line.text[value_start..].find(" #").map_or(line.text.len() - value_start, |i| i + 1);
    if col > comment {
        return None;
    }
    let start = value_start.min(col);
    Some(Context::Value(ValueContext {
        line: line.number,
        id: key.key,
        replace: line.start + start..line.start + value_end.max(col),
        needs_space: value_start == after_colon && col == after_colon,
    }))
}

/// A word typed at the start of a line outside `answers:`: the top-level keys still missing.
fn top_level_context(text: &str, line: &Line<'_>, col: usize) -> Option<Context> {
    let word_end = line.text.find(|c: char| !is_key_char(c)).unwrap_or(line.text.len());
    if line.indent() != 0 || col > word_end || !line.text[word_end..].trim().is_empty() {
        return None;
    }
    let all = lines(text);
    let has = |key: &str| all.iter().any(|l| l.number != line.number && l.text.trim_start_matches('\u{feff}').starts_with(key));
    let (has_playbook, has_answers) = (has("playbook:"), has("answers:"));
    Some(Context::TopLevel(TopLevelContext { replace: line.start..line.start + line.text.len(), has_playbook, has_answers }))
}

// ---------------------------------------------------------------------------------------------
// Items

fn key_items(world: &World, doc: &Arc<Document>, key: &KeyContext) -> Vec<CompletionItem> {
    let Some(pb_doc) = world.case_view(doc).playbook_doc else { return Vec::new() };
    let pb = pb_doc.playbook();
    let answers = case_answers(doc, Some(key.line));
    let current = current_phase_index(&pb, world.current_phase(doc));
    let for_case = ForCase { answers: &*answers, current_phase: current };
    let range = world.range(doc, &key.replace);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (index, item) in pb.items.iter().enumerate() {
        if key.present.contains(&item.id) || !seen.insert(item.id.as_str()) {
            continue;
        }
        let group = match (item.phase <= current, requirement(item, &*answers)) {
            (true, Truth::True) => 0,
            (true, _) => 1,
            (false, _) => 2,
        };
        let new_text = if key.has_colon {
            format!("{}{}", key.indent, escape_snippet_text(&item.id, world.snippets))
        } else {
            format!("{}{}: {}", key.indent, escape_snippet_text(&item.id, world.snippets), value_placeholder(item, world.snippets))
        };
        let phase = &pb.phases[item.phase];
        let description = if group == 0 { "required now".to_string() } else { format!("Phase {}", phase.number) };
        out.push(CompletionItem {
            label: item.id.clone(),
            label_details: Some(CompletionItemLabelDetails { detail: None, description: Some(description) }),
            kind: Some(CompletionItemKind::FIELD),
            detail: item.ask_plain(),
            documentation: Some(markdown(item_markdown(&pb, item, Some(&for_case)))),
            sort_text: Some(format!("{group}{index:05}")),
            filter_text: Some(item.id.clone()),
            insert_text_format: Some(if world.snippets { InsertTextFormat::SNIPPET } else { InsertTextFormat::PLAIN_TEXT }),
            text_edit: Some(CompletionTextEdit::Edit(TextEdit { range, new_text })),
            ..Default::default()
        });
    }
    out
}

fn value_items(world: &World, doc: &Arc<Document>, value: &ValueContext) -> Vec<CompletionItem> {
    let Some(pb_doc) = world.case_view(doc).playbook_doc else { return Vec::new() };
    let pb = pb_doc.playbook();
    let Some(item) = pb.item(&value.id) else { return Vec::new() };
    let (choices, kind): (Vec<String>, _) = match item.value_type.as_ref().map(|t| &t.value_type) {
        Some(ValueType::Boolean) => (vec!["yes".into(), "no".into()], CompletionItemKind::VALUE),
        Some(ValueType::Enum { members }) => (members.iter().map(|m| m.text.clone()).collect(), CompletionItemKind::ENUM_MEMBER),
        _ => return Vec::new(),
    };
    let range = world.range(doc, &value.replace);
    let space = if value.needs_space { " " } else { "" };
    let documentation = item.value_type.as_ref().map(|t| markdown(format!("**{}** — {}", item.id, type_text(&t.value_type))));
    choices
        .into_iter()
        .enumerate()
        .map(|(i, choice)| CompletionItem {
            label: choice.clone(),
            kind: Some(kind),
            detail: item.ask_plain(),
            documentation: documentation.clone(),
            sort_text: Some(format!("{i:05}")),
            filter_text: Some(choice.clone()),
            insert_text_format: Some(InsertTextFormat::PLAIN_TEXT),
            text_edit: Some(CompletionTextEdit::Edit(TextEdit { range, new_text: format!("{space}{choice}") })),
            ..Default::default()
        })
        .collect()
}

fn top_level_items(world: &World, doc: &Arc<Document>, top: &TopLevelContext) -> Vec<CompletionItem> {
    let range = world.range(doc, &top.replace);
    let mut out = Vec::new();
    let mut push = |label: &str, detail: &str, new_text: String| {
        out.push(CompletionItem {
            label: label.into(),
            kind: Some(CompletionItemKind::PROPERTY),
            detail: Some(detail.into()),
            insert_text_format: Some(if world.snippets { InsertTextFormat::SNIPPET } else { InsertTextFormat::PLAIN_TEXT }),
            text_edit: Some(CompletionTextEdit::Edit(TextEdit { range, new_text })),
            ..Default::default()
        })
    };
    if !top.has_playbook {
        let text = if world.snippets { "playbook: ${1}".to_string() } else { "playbook: ".to_string() };
        push("playbook", "The playbook this case answers (a path relative to this file)", text);
    }
    if !top.has_answers {
        let text = if world.snippets { "answers:\n  ${1}".to_string() } else { "answers:\n  ".to_string() };
        push("answers", "The answers, one key per Discovery item", text);
    }
    out
}

fn markdown(value: String) -> Documentation {
    Documentation::MarkupContent(MarkupContent { kind: MarkupKind::Markdown, value })
}

/// The value written after `id: ` when an item is picked: a typed snippet, or nothing at all
/// for clients without snippets (the key then holds null, which still counts as missing).
pub fn value_placeholder(item: &Item, snippets: bool) -> String {
    if !snippets {
        return String::new();
    }
    match item.value_type.as_ref().map(|t| &t.value_type) {
        Some(ValueType::Boolean) => "${1|yes,no|}".into(),
        Some(ValueType::Enum { members }) => {
            let choices: Vec<String> = members.iter().map(|m| escape_choice(&m.text)).collect();
            format!("${{1|{}|}}", choices.join(","))
        }
        Some(ValueType::Text | ValueType::Prose | ValueType::File { .. }) => "\"${1}\"".into(),
        Some(ValueType::List | ValueType::ListOf { .. }) => "[${1}]".into(),
        Some(ValueType::Classification { shape: Shape::Map, .. }) => "{${1}}".into(),
        Some(ValueType::Number | ValueType::Classification { .. } | ValueType::Unknown { .. }) | None => "${1}".into(),
    }
}

/// Text inside a snippet choice `${1|a,b|}`: `$ } \ , |` are escaped.
fn escape_choice(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '$' | '}' | '\\' | ',' | '|') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Plain text inside a snippet: `$ } \` are escaped.
fn escape_snippet_text(text: &str, snippets: bool) -> String {
    if !snippets {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '$' | '}' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(text: &str, needle: &str, delta: isize) -> Option<Context> {
        let at = text.find(needle).unwrap_or_else(|| panic!("{needle}"));
        cursor_context(text, (at as isize + delta) as usize)
    }

    const CASE: &str = "playbook: p.md\nanswers:\n  country: Kenya\n  has_id: ye\n  nested:\n    a: b\n\n  coun\nother: 1\n";

    #[test]
    fn lines_handle_crlf_and_a_final_empty_line() {
        let all = lines("a\r\nb\n");
        assert_eq!(all.iter().map(|l| l.text).collect::<Vec<_>>(), vec!["a", "b", ""]);
        assert_eq!(all[1].start, 3);
        assert_eq!(lines("").len(), 1);
        assert_eq!(line_at(&all, 100).number, 2);
    }

    #[test]
    fn layout_finds_keys_and_the_end_of_the_block() {
        let all = lines(CASE);
        let layout = answers_layout(&all, None).unwrap();
        assert_eq!(layout.key_line, 1);
        assert_eq!(layout.end_line, 8);
        assert_eq!(layout.indent, Some(2));
        let ids: Vec<_> = layout.keys.iter().map(|k| k.0.as_str()).collect();
        assert_eq!(ids, vec!["country", "has_id", "nested"]);
        assert_eq!(&CASE[layout.keys[0].2.clone()], "country");
        assert_eq!(line_key("\"quoted key\": 1").unwrap().key, "quoted key");
        assert_eq!(line_key("url: http://x").unwrap().key, "url");
        assert!(line_key("- item").is_none());
        assert!(line_key("a:b").is_none());
    }

    #[test]
    fn key_positions() {
        let Some(Context::Key(k)) = context(CASE, "  coun\n", 6) else { panic!() };
        assert_eq!(&CASE[k.replace.clone()], "coun");
        assert!(!k.has_colon && k.indent.is_empty() && k.present.contains("country"));
        let Some(Context::Key(k)) = context(CASE, "country:", 3) else { panic!() };
        assert_eq!(&CASE[k.replace.clone()], "country");
        assert!(k.has_colon);
        // The empty line inside the block: the indentation is written with the key.
        let Some(Context::Key(k)) = context(CASE, "\n\n  coun", 1) else { panic!() };
        assert_eq!(k.indent, "  ");
        // Nested lines, comments and the top level are not key positions.
        assert_eq!(context(CASE, "    a: b", 5), None);
        assert!(context(CASE, "other: 1", 2).is_none());
    }

    #[test]
    fn value_positions() {
        let Some(Context::Value(v)) = context(CASE, "has_id: ye", 10) else { panic!() };
        assert_eq!(v.id, "has_id");
        assert_eq!(&CASE[v.replace.clone()], "ye");
        assert!(!v.needs_space);
        let text = "answers:\n  has_id:";
        let Some(Context::Value(v)) = cursor_context(text, text.len()) else { panic!() };
        assert!(v.needs_space && v.replace.is_empty());
        let text = "answers:\n  has_id: !deferred x";
        assert_eq!(cursor_context(text, text.len()), None);
        let text = "answers:\n  has_id: yes # a comment";
        assert_eq!(cursor_context(text, text.len()), None);
    }

    #[test]
    fn ends_of_file_empty_documents_and_crlf() {
        let text = "playbook: p.md\r\nanswers:\r\n  a: 1\r\n";
        let Some(Context::Key(k)) = cursor_context(text, text.len()) else { panic!() };
        assert_eq!(k.indent, "  ");
        assert_eq!(k.replace, text.len()..text.len());
        let text = "playbook: p.md\r\nanswers:\r\n  a: 1\r\n  ";
        let Some(Context::Key(k)) = cursor_context(text, text.len()) else { panic!() };
        assert_eq!(k.indent, "");
        let Some(Context::TopLevel(t)) = cursor_context("", 0) else { panic!() };
        assert!(!t.has_playbook && !t.has_answers);
        let text = "answers:\r\n  a: ye\r\n";
        let Some(Context::Value(v)) = cursor_context(text, text.find("ye").unwrap() + 2) else { panic!() };
        assert_eq!(&text[v.replace], "ye");
    }

    #[test]
    fn snippets_escape_choices() {
        assert_eq!(escape_choice("a,b|c$"), "a\\,b\\|c\\$");
        assert_eq!(playbook_line("# c\nplaybook: \"../x.md\" # here\n").as_deref(), Some("../x.md"));
        assert_eq!(answer_key_at(CASE, CASE.find("has_id").unwrap() + 2).map(|k| k.0).as_deref(), Some("has_id"));
    }
}
