//! Code actions from the findings' fix payloads: record a missing answer, mark it deferred or
//! unknown, record every missing item of the current phase, and the `Replace` repairs (enum
//! members, yes/no, list wrapping, did-you-mean renames, playbook fixes). In a trusted
//! workspace, also "Run the build" (in a case) and "Run Activity" (on an Activity).
//!
//! Findings are recomputed from the current snapshot; the client's diagnostics in the request
//! context are only matched (by range, code and item) so each action can name the diagnostic it
//! resolves. Every action carries a `WorkspaceEdit` against the document's current version: the
//! server never writes a file itself.
//!
//! Where new answers go in the YAML is decided by [`insertion`], a pure function of the text and
//! its parsed [`Case`].

use crate::builds::{RUN_ACTIVITY, RUN_BUILD};
use crate::diagnostics::{FindingData, to_diagnostic};
use crate::world::{Document, Kind, World};
use playbook_core::analysis::required::{current_phase_index, progress};
use playbook_core::analysis::{BUILTIN_HANDLERS, record_answer, runnable};
use playbook_core::case::{AnswerEntry, Case};
use playbook_core::finding::{DocRef, Finding, Fix, Rule};
use playbook_core::playbook::{Item, Playbook};
use playbook_core::span::Span;
use playbook_core::yaml::{self, Node, NodeKind};
use std::sync::Arc;
use tower_lsp_server::ls_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, CodeActionResponse, Command, Diagnostic, DocumentChanges,
    NumberOrString, OneOf, OptionalVersionedTextDocumentIdentifier, Position, TextDocumentEdit, TextEdit, WorkspaceEdit,
};

/// The value written by "Mark as deferred": the reason is for the user to fill in.
pub const DEFERRED_VALUE: &str = "!deferred \"reason to be recorded\"";
/// The value written by "Mark as unknown".
pub const UNKNOWN_VALUE: &str = "!unknown";

pub fn code_actions(world: &World, params: &CodeActionParams) -> Option<CodeActionResponse> {
    let Some(doc) = world.get(&params.text_document.uri).filter(|d| d.is_open()) else { return Some(Vec::new()) };
    let len = doc.text.len();
    let eof = world.range(doc, &(len..len)).end;
    if after(params.range.start, eof) {
        return Some(Vec::new());
    }
    let start = world.offset(doc, params.range.start);
    let end = world.offset(doc, params.range.end).max(start);
    let mine = match doc.kind {
        Kind::Case => DocRef::Case,
        Kind::Playbook => DocRef::Playbook,
    };
    let view = (doc.kind == Kind::Case).then(|| world.case_view(doc));
    let playbook_doc = match &view {
        Some(view) => view.playbook_doc.clone(),
        None => Some(doc.clone()),
    };
    let playbook = playbook_doc.as_ref().map(|d| d.playbook());
    let context = &params.context.diagnostics;

    let mut actions = Vec::new();
    for finding in world.findings(doc) {
        if finding.doc != mine || finding.fixes.is_empty() || !(finding.span.start <= end && start <= finding.span.end) {
            continue;
        }
        let diagnostic = matching_diagnostic(world, doc, playbook_doc.as_deref(), &finding, context);
        let mut first_replace = true;
        for fix in &finding.fixes {
            let (title, edits, preferred) = match fix {
                Fix::RecordAnswer { item, text, comment, .. } => {
                    let Some(pb) = &playbook else { continue };
                    let answer = NewAnswer { id: item.clone(), value: yaml_value(text), comment: comment.clone() };
                    (format!("Record answer for `{item}`"), case_edits(doc, pb, &[answer]), true)
                }
                Fix::MarkDeferred { item } => {
                    let Some(pb) = &playbook else { continue };
                    let answer = NewAnswer { id: item.clone(), value: DEFERRED_VALUE.into(), comment: ask(pb, item) };
                    (format!("Mark `{item}` as deferred"), case_edits(doc, pb, &[answer]), false)
                }
                Fix::MarkUnknown { item } => {
                    let Some(pb) = &playbook else { continue };
                    let answer = NewAnswer { id: item.clone(), value: UNKNOWN_VALUE.into(), comment: ask(pb, item) };
                    (format!("Mark `{item}` as unknown"), case_edits(doc, pb, &[answer]), false)
                }
                Fix::Replace { span, text, title } => {
                    // A replacement answer must stay one YAML value (an enum member may need quotes).
                    let text = if doc.kind == Kind::Case && finding.rule == Rule::InvalidValue { yaml_value(text) } else { text.clone() };
                    let preferred = std::mem::replace(&mut first_replace, false);
                    (title.clone(), Some(vec![ByteEdit { span: span.clone(), text }]), preferred)
                }
            };
            let Some(edits) = edits else { continue };
            actions.push(action(world, doc, title, CodeActionKind::QUICKFIX, diagnostic.clone().map(|d| vec![d]), edits, preferred));
        }
    }

    if let (Some(view), Some(pb)) = (&view, &playbook)
        && let Some((phase, answers)) = missing_now(world, doc, &view.case, pb)
        && let Some(edits) = case_edits(doc, pb, &answers)
    {
        let n = answers.len();
        let title = format!("Record all {n} missing item{} of Phase {phase}", if n == 1 { "" } else { "s" });
        let resolved: Vec<Diagnostic> =
            context.iter().filter(|d| d.code == Some(NumberOrString::String(Rule::MissingAnswer.id().into()))).cloned().collect();
        actions.push(action(world, doc, title, CodeActionKind::SOURCE, (!resolved.is_empty()).then_some(resolved), edits, false));
    }

    if world.trusted {
        actions.extend(run_actions(world, doc, start, end));
    }

    if let Some(only) = &params.context.only {
        actions.retain(|a| match a {
            CodeActionOrCommand::CodeAction(a) => a.kind.as_ref().is_some_and(|k| only.iter().any(|o| kind_within(k, o))),
            CodeActionOrCommand::Command(_) => true,
        });
    }
    Some(actions)
}

/// The kind of the "run" actions (an action, not a fix or a source edit).
pub const RUN_KIND: &str = "playbook.run";

/// "Run the build" in a case; "Run Activity `x`" on an Activity of the current phase of each
/// case that uses this playbook. Only offered in a trusted workspace.
fn run_actions(world: &World, doc: &Arc<Document>, start: usize, end: usize) -> Vec<CodeActionOrCommand> {
    let command = |title: String, command: &str, args: serde_json::Value| {
        CodeActionOrCommand::CodeAction(CodeAction {
            title: title.clone(),
            kind: Some(CodeActionKind::new(RUN_KIND)),
            command: Some(Command { title, command: command.into(), arguments: Some(vec![args]) }),
            ..Default::default()
        })
    };
    let mut actions = Vec::new();
    let cases = match doc.kind {
        Kind::Case => vec![doc.clone()],
        Kind::Playbook => world.cases_using(&doc.uri),
    };
    let named = cases.len() > 1;
    for case in cases {
        let view = world.case_view(&case);
        let Some(playbook) = view.playbook_doc.map(|d| d.playbook()) else { continue };
        let current = current_phase_index(&playbook, world.current_phase(&case));
        let Some(phase) = playbook.phases.get(current) else { continue };
        let activities: Vec<_> =
            phase.activities.iter().map(|&a| &playbook.activities[a]).filter(|a| runnable(a, &BUILTIN_HANDLERS)).collect();
        let suffix = if named { format!(" for {}", case.uri.as_str()) } else { String::new() };
        match doc.kind {
            Kind::Case if !activities.is_empty() => {
                let args = serde_json::json!({ "uri": case.uri.as_str() });
                actions.push(command(format!("Run the build of Phase {}", phase.number), RUN_BUILD, args));
                if activities.iter().any(|a| a.remote) {
                    let args = serde_json::json!({ "uri": case.uri.as_str(), "local": true });
                    actions.push(command(format!("Run the build of Phase {}, local Activities only", phase.number), RUN_BUILD, args));
                }
            }
            Kind::Case => {}
            Kind::Playbook => {
                for activity in activities.iter().filter(|a| a.span.start <= end && start <= a.span.end) {
                    let name = &activity.name.text;
                    let args = serde_json::json!({ "uri": doc.uri.as_str(), "case": case.uri.as_str(), "activity": name });
                    actions.push(command(format!("Run Activity `{name}`{suffix}"), RUN_ACTIVITY, args));
                }
            }
        }
    }
    actions
}

fn after(a: Position, b: Position) -> bool {
    (a.line, a.character) > (b.line, b.character)
}

/// `source.fixAll` is within `source`; `sourcery` is not.
fn kind_within(kind: &CodeActionKind, requested: &CodeActionKind) -> bool {
    let (k, r) = (kind.as_str(), requested.as_str());
    r.is_empty() || k == r || k.strip_prefix(r).is_some_and(|rest| rest.starts_with('.'))
}

/// The client's diagnostic for this finding (same range, code and item), else a fresh one.
fn matching_diagnostic(
    world: &World,
    doc: &Document,
    playbook_doc: Option<&Document>,
    finding: &Finding,
    context: &[Diagnostic],
) -> Option<Diagnostic> {
    let fresh = to_diagnostic(world, doc, playbook_doc, finding);
    let same = |d: &&Diagnostic| d.range == fresh.range && d.code == fresh.code;
    let item_of = |d: &Diagnostic| d.data.clone().and_then(|v| serde_json::from_value::<FindingData>(v).ok()).and_then(|data| data.item);
    context
        .iter()
        .filter(same)
        .find(|d| item_of(d) == finding.item || d.message == fresh.message)
        .or_else(|| context.iter().find(same).filter(|_| finding.item.is_none()))
        .cloned()
        .or(Some(fresh))
}

fn action(
    world: &World,
    doc: &Document,
    title: String,
    kind: CodeActionKind,
    diagnostics: Option<Vec<Diagnostic>>,
    edits: Vec<ByteEdit>,
    preferred: bool,
) -> CodeActionOrCommand {
    CodeActionOrCommand::CodeAction(CodeAction {
        title,
        kind: Some(kind),
        diagnostics,
        edit: Some(workspace_edit(world, doc, edits)),
        is_preferred: preferred.then_some(true),
        ..Default::default()
    })
}

/// Byte edits of `doc` as a `WorkspaceEdit` addressed at the document's current version
/// (plain `changes` for clients that cannot take versioned `documentChanges`).
pub(crate) fn workspace_edit(world: &World, doc: &Document, edits: Vec<ByteEdit>) -> WorkspaceEdit {
    if !world.document_changes {
        let edits = edits.into_iter().map(|e| TextEdit { range: world.range(doc, &e.span), new_text: e.text }).collect();
        return WorkspaceEdit { changes: Some([(doc.uri.clone(), edits)].into_iter().collect()), ..Default::default() };
    }
    let edits = edits.into_iter().map(|e| OneOf::Left(TextEdit { range: world.range(doc, &e.span), new_text: e.text })).collect();
    WorkspaceEdit {
        document_changes: Some(DocumentChanges::Edits(vec![TextDocumentEdit {
            text_document: OptionalVersionedTextDocumentIdentifier { uri: doc.uri.clone(), version: doc.version },
            edits,
        }])),
        ..Default::default()
    }
}

/// The edits that write `answers` into the case `doc`, placed in `playbook` order.
pub(crate) fn case_edits(doc: &Document, playbook: &Playbook, answers: &[NewAnswer]) -> Option<Vec<ByteEdit>> {
    let case = doc.case();
    let rank = |id: &str| {
        let index = playbook.item_index(id)?;
        let item = &playbook.items[index];
        Some(Rank { index, group: (item.phase, item.block) })
    };
    insertion(&doc.text, &case, &rank, answers)
}

/// The Ask of `id`, for the comment line above a new answer.
fn ask(playbook: &Playbook, id: &str) -> String {
    playbook.item(id).and_then(Item::ask_plain).unwrap_or_default()
}

/// The answer the "Record answer" quick fix writes for `item`: its typed placeholder, with the
/// Ask as a comment.
pub(crate) fn new_answer(item: &Item) -> NewAnswer {
    match record_answer(item) {
        Fix::RecordAnswer { item, text, comment, .. } => NewAnswer { id: item, value: yaml_value(&text), comment },
        _ => NewAnswer { id: item.id.clone(), value: "\"\"".into(), comment: item.ask_plain().unwrap_or_default() },
    }
}

/// The current phase's number and a placeholder answer for every item required now and not
/// recorded, in playbook order; `None` when nothing is missing.
pub(crate) fn missing_now(world: &World, doc: &Arc<Document>, case: &Case, playbook: &Playbook) -> Option<(u32, Vec<NewAnswer>)> {
    if case.syntax_error.is_some() || playbook.phases.is_empty() {
        return None;
    }
    let phase = current_phase_index(playbook, world.current_phase(doc));
    let (_, missing) = progress(playbook, case, phase);
    let answers: Vec<NewAnswer> = missing.into_iter().map(|i| new_answer(&playbook.items[i])).collect();
    (!answers.is_empty()).then(|| (playbook.phases[phase].number, answers))
}

// ── Where answers go: pure functions of the text ────────────────────────────────────────────

/// One answer to write: the item id, its value as YAML source, and the comment (the Ask)
/// written on the line above it when the answer is added as a new block entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAnswer {
    pub id: String,
    pub value: String,
    pub comment: String,
}

/// Where an id stands in the playbook: its index in playbook order, and its group (phase and
/// block, which the case usually mirrors with comment headings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rank {
    pub index: usize,
    pub group: (usize, Option<usize>),
}

/// Replace the byte range `span` of the text with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteEdit {
    pub span: Span,
    pub text: String,
}

/// How edits at one position are ordered (value replacements, then appends after a line, then
/// inserts before a line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Place {
    Value,
    After,
    Before,
}

/// The edits that record `answers` in the case `text` (parsed as `case`).
///
/// - An item that already has an entry (null, `~`, an unknown tag, or a value) gets its value
///   replaced in place, so no duplicate key is ever written.
/// - New entries go into the `answers` block mapping at its indentation, each with a `# <Ask>`
///   comment line above it: right after the answer that precedes it in playbook order (`rank`),
///   unless that one is in another block and the answer that follows it is in the same block —
///   then right before the follower, under the block's comment heading; with neither, at the end
///   of the mapping.
/// - `answers:` missing, null (`answers:`, `~`) or `{}` becomes a block mapping indented two
///   spaces more than the key; a non-empty flow mapping gets the entries inside its braces.
/// - The text's line ending is kept (CRLF stays CRLF); a missing final newline stays missing.
///
/// `None` when the case cannot take an edit safely (YAML errors, `answers` not a mapping).
pub fn insertion(text: &str, case: &Case, rank: &dyn Fn(&str) -> Option<Rank>, answers: &[NewAnswer]) -> Option<Vec<ByteEdit>> {
    if case.syntax_error.is_some() || case.answers_not_a_map.is_some() {
        return None;
    }
    let eol = line_ending(text);
    let mut edits: Vec<(Place, ByteEdit)> = Vec::new();
    let mut fresh: Vec<&NewAnswer> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for answer in answers {
        if seen.contains(&answer.id.as_str()) {
            continue;
        }
        seen.push(&answer.id);
        match case.answer_entry(&answer.id) {
            Some(entry) => edits.push((Place::Value, replace_value(text, entry, &answer.value)?)),
            None => fresh.push(answer),
        }
    }
    fresh.sort_by_key(|a| rank(&a.id).map_or(usize::MAX, |r| r.index));
    if !fresh.is_empty() {
        edits.extend(place_new(text, case, rank, &fresh, eol)?);
    }
    Some(merge(edits))
}

fn place_new(
    text: &str,
    case: &Case,
    rank: &dyn Fn(&str) -> Option<Rank>,
    fresh: &[&NewAnswer],
    eol: &str,
) -> Option<Vec<(Place, ByteEdit)>> {
    let Some(key_span) = &case.answers_key else { return append_answers(text, case, fresh, eol).map(|e| vec![(Place::After, e)]) };
    let entry = case.root.as_ref()?.as_map()?.iter().find(|e| &e.key.span == key_span)?;
    let value = &entry.value;
    let indent = column(text, key_span.start) + 2;
    match &value.kind {
        NodeKind::Map(entries) if is_flow(text, value) => {
            let edit =
                if entries.is_empty() { open_block(text, key_span, value, indent, fresh, eol)? } else { into_flow(text, value, fresh)? };
            Some(vec![(Place::After, edit)])
        }
        NodeKind::Map(_) => into_block(text, case, rank, fresh, eol),
        _ if value.is_null() => Some(vec![(Place::After, open_block(text, key_span, value, indent, fresh, eol)?)]),
        _ => None,
    }
}

/// No `answers:` key: append one at the end of the document.
fn append_answers(text: &str, case: &Case, fresh: &[&NewAnswer], eol: &str) -> Option<ByteEdit> {
    let top = match &case.root {
        None => 0,
        Some(root) if root.as_map().is_some() && !is_flow(text, root) => {
            root.as_map().and_then(|m| m.first()).map_or(0, |e| column(text, e.key.span.start))
        }
        // A scalar, a sequence or a flow mapping at the top: nowhere sensible to add a key.
        Some(_) => return None,
    };
    let mut out = String::new();
    if !text.is_empty() && !text.ends_with('\n') {
        out.push_str(eol);
    }
    out.push_str(&" ".repeat(top));
    out.push_str("answers:");
    for answer in fresh {
        out.push_str(eol);
        out.push_str(&entry_lines(answer, top + 2, eol));
    }
    out.push_str(eol);
    Some(ByteEdit { span: text.len()..text.len(), text: out })
}

/// `answers:` with nothing, `~` or `{}`: turn it into a block mapping, keeping a trailing comment.
fn open_block(text: &str, key_span: &Span, value: &Node, indent: usize, fresh: &[&NewAnswer], eol: &str) -> Option<ByteEdit> {
    let colon = find_colon(text, key_span.end)?;
    let value_end = if value.span.start > colon { trimmed_end(text, value.span.end, colon + 1) } else { colon + 1 };
    let line_end = line_end(text, value_end);
    let rest = text[value_end..line_end].trim();
    if !rest.is_empty() && !rest.starts_with('#') {
        return None;
    }
    let mut out = String::new();
    if !rest.is_empty() {
        out.push(' ');
        out.push_str(rest);
    }
    for answer in fresh {
        out.push_str(eol);
        out.push_str(&entry_lines(answer, indent, eol));
    }
    Some(ByteEdit { span: colon + 1..line_end, text: out })
}

/// A non-empty flow mapping: add the entries before its closing brace (flow style has no room
/// for comment lines).
fn into_flow(text: &str, value: &Node, fresh: &[&NewAnswer]) -> Option<ByteEdit> {
    // The span ends at the brace, or (after a trailing comma) at the last entry.
    let end = value.span.end;
    let close = if end > 0 && text.as_bytes()[end - 1] == b'}' {
        end - 1
    } else {
        let skipped = text[end..].find(|c: char| !c.is_whitespace() && c != ',')?;
        (text.as_bytes()[end + skipped] == b'}').then_some(end + skipped)?
    };
    let before = text[..close].trim_end();
    let separator = if before.ends_with(',') { " " } else { ", " };
    let body: Vec<String> = fresh.iter().map(|a| format!("{}: {}", a.id, a.value)).collect();
    // Keep a bare tag (`!unknown`) apart from the brace, as people write it.
    let bare_tag = fresh.last().is_some_and(|a| a.value.starts_with('!') && !a.value.contains(' '));
    let tail = if bare_tag && before.len() == close { " " } else { "" };
    Some(ByteEdit { span: before.len()..before.len(), text: format!("{separator}{}{tail}", body.join(", ")) })
}

/// A block mapping: each new entry after its predecessor in playbook order, else before its
/// successor, else at the end; entries sharing a place keep playbook order.
fn into_block(
    text: &str,
    case: &Case,
    rank: &dyn Fn(&str) -> Option<Rank>,
    fresh: &[&NewAnswer],
    eol: &str,
) -> Option<Vec<(Place, ByteEdit)>> {
    let first = case.answers.first()?;
    let last = case.answers.last()?;
    let indent = column(text, first.key_span.start);
    let ranked: Vec<(Rank, &AnswerEntry)> = case.answers.iter().filter_map(|e| rank(&e.id).map(|r| (r, e))).collect();
    let mut groups: Vec<(Place, usize, Vec<&NewAnswer>)> = Vec::new();
    for &answer in fresh {
        let r = rank(&answer.id);
        let predecessor =
            r.and_then(|r| ranked.iter().filter(|(re, _)| re.index < r.index).max_by_key(|(re, e)| (re.index, e.key_span.start)));
        let successor =
            r.and_then(|r| ranked.iter().filter(|(re, _)| re.index > r.index).min_by_key(|(re, e)| (re.index, e.key_span.start)));
        let group = r.map(|r| r.group);
        let (place, at) = match (predecessor, successor) {
            (Some((p, _)), Some((s, e))) if Some(p.group) != group && Some(s.group) == group => {
                (Place::Before, line_start(text, e.key_span.start))
            }
            (Some((_, e)), _) => (Place::After, line_end(text, entry_end(text, e))),
            (None, Some((_, e))) => (Place::Before, line_start(text, e.key_span.start)),
            (None, None) => (Place::After, line_end(text, entry_end(text, last))),
        };
        match groups.iter_mut().find(|(p, a, _)| *p == place && *a == at) {
            Some((_, _, list)) => list.push(answer),
            None => groups.push((place, at, vec![answer])),
        }
    }
    let edits = groups
        .into_iter()
        .map(|(place, at, list)| {
            let mut out = String::new();
            for answer in list {
                match place {
                    Place::Before => {
                        out.push_str(&entry_lines(answer, indent, eol));
                        out.push_str(eol);
                    }
                    _ => {
                        out.push_str(eol);
                        out.push_str(&entry_lines(answer, indent, eol));
                    }
                }
            }
            (place, ByteEdit { span: at..at, text: out })
        })
        .collect();
    Some(edits)
}

/// Replace the value of an existing entry (everything after its colon, up to the value's end).
fn replace_value(text: &str, entry: &AnswerEntry, value: &str) -> Option<ByteEdit> {
    let colon = find_colon(text, entry.key_span.end)?;
    let start = colon + 1;
    // A null written as nothing sits at the colon; its span says nothing about where it ends.
    let end = if entry.value.span.start > colon { trimmed_end(text, entry.value.span.end, start) } else { start };
    Some(ByteEdit { span: start..end, text: format!(" {value}") })
}

/// Edits sorted by position; edits that touch are merged into one, so no client has to guess
/// the order of an insert and a replacement at the same place.
fn merge(mut edits: Vec<(Place, ByteEdit)>) -> Vec<ByteEdit> {
    edits.sort_by_key(|(place, e)| (e.span.start, *place));
    let mut out: Vec<ByteEdit> = Vec::new();
    for (_, edit) in edits {
        match out.last_mut() {
            Some(prev) if edit.span.start <= prev.span.end => {
                prev.span.end = prev.span.end.max(edit.span.end);
                prev.text.push_str(&edit.text);
            }
            _ => out.push(edit),
        }
    }
    out
}

/// `# <Ask>` (when there is one) and `id: value`, at `indent`, without a final line break.
fn entry_lines(answer: &NewAnswer, indent: usize, eol: &str) -> String {
    let pad = " ".repeat(indent);
    let comment = answer.comment.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::new();
    if !comment.is_empty() {
        out.push_str(&format!("{pad}# {comment}{eol}"));
    }
    out.push_str(&format!("{pad}{}: {}", answer.id, answer.value));
    out
}

/// The value written as YAML source: kept as written when it reads as exactly one YAML value
/// (`yes`, `0`, `[]`, `""`, `!unknown`, `general-purpose`), else double-quoted as text.
pub fn yaml_value(raw: &str) -> String {
    let whole = !raw.is_empty()
        && !raw.contains(['\n', '\r'])
        && raw.trim() == raw
        && matches!(yaml::parse(&format!("k: {raw}\n")), Ok(Some(root))
            if root.as_map().is_some_and(|m| m.len() == 1 && m[0].value.span == (3..3 + raw.len())));
    if whole { raw.to_string() } else { serde_json::to_string(raw).unwrap_or_else(|_| "\"\"".into()) }
}

fn line_ending(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

fn is_flow(text: &str, node: &Node) -> bool {
    matches!(text.as_bytes().get(node.span.start), Some(b'{' | b'['))
}

fn line_start(text: &str, offset: usize) -> usize {
    text[..offset].rfind('\n').map_or(0, |i| i + 1)
}

/// The end of the line holding `offset`, before its line break (`\n` or `\r\n`).
fn line_end(text: &str, offset: usize) -> usize {
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    if end > offset && text.as_bytes()[end - 1] == b'\r' { end - 1 } else { end }
}

fn column(text: &str, offset: usize) -> usize {
    offset - line_start(text, offset)
}

/// `end` moved back over whitespace (block scalars end at the next token), not before `floor`.
fn trimmed_end(text: &str, end: usize, floor: usize) -> usize {
    text[..end.min(text.len())].trim_end().len().max(floor)
}

/// Where an entry's text ends: its value (or its key, for a null written as nothing).
fn entry_end(text: &str, entry: &AnswerEntry) -> usize {
    trimmed_end(text, entry.value.span.end.max(entry.key_span.end), entry.key_span.end)
}

/// The `:` after a key (a quoted key's span includes its quotes), on the key's line.
fn find_colon(text: &str, key_end: usize) -> Option<usize> {
    text[key_end..line_end(text, key_end)].find(':').map(|i| key_end + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Items and their blocks: `country`..`purpose` form one block, `has_id` and `levels` another.
    const ORDER: [(&str, usize); 6] =
        [("country", 0), ("registry_name", 0), ("languages", 0), ("purpose", 0), ("has_id", 1), ("levels", 1)];

    fn rank(id: &str) -> Option<Rank> {
        ORDER.iter().position(|(o, _)| *o == id).map(|index| Rank { index, group: (0, Some(ORDER[index].1)) })
    }

    fn answer(id: &str, value: &str) -> NewAnswer {
        NewAnswer { id: id.into(), value: value.into(), comment: format!("Ask for {id}?") }
    }

    fn apply(text: &str, answers: &[NewAnswer]) -> String {
        let case = Case::parse(text);
        let edits = insertion(text, &case, &rank, answers).expect("an edit");
        let mut out = text.to_string();
        for e in edits.iter().rev() {
            out.replace_range(e.span.clone(), &e.text);
        }
        // Whatever we write must read back as the answers we meant, with no new problems.
        let after = Case::parse(&out);
        assert!(after.syntax_error.is_none(), "{out}");
        assert!(after.duplicate_keys.is_empty(), "{out}");
        for a in answers {
            assert!(after.answer_entry(&a.id).is_some(), "{} missing in\n{out}", a.id);
        }
        out
    }

    #[test]
    fn inserts_after_the_playbook_predecessor_past_comments_and_block_scalars() {
        let text = "playbook: p.md\nanswers:\n  # context\n  country: X\n  languages: >-\n    a\n    b\n\n  # ids\n  has_id: yes\n";
        let out = apply(text, &[answer("registry_name", "\"\""), answer("purpose", "general")]);
        insta::assert_snapshot!(out, @r#"
        playbook: p.md
        answers:
          # context
          country: X
          # Ask for registry_name?
          registry_name: ""
          languages: >-
            a
            b
          # Ask for purpose?
          purpose: general

          # ids
          has_id: yes
        "#);
    }

    #[test]
    fn the_first_item_goes_before_its_successor_and_unknown_order_appends() {
        let text = "answers:\n  registry_name: R\n  zzz: 1\n";
        let out = apply(text, &[answer("country", "X"), answer("not_in_playbook", "1")]);
        assert_eq!(
            out,
            "answers:\n  # Ask for country?\n  country: X\n  registry_name: R\n  zzz: 1\n  # Ask for not_in_playbook?\n  not_in_playbook: 1\n"
        );
    }

    #[test]
    fn several_items_at_one_place_keep_playbook_order_in_one_edit() {
        let text = "answers:\n  country: X\n  levels: 2\n";
        let case = Case::parse(text);
        let answers = [answer("purpose", "a"), answer("registry_name", "\"\""), answer("languages", "[]")];
        let edits = insertion(text, &case, &rank, &answers).unwrap();
        assert_eq!(edits.len(), 1);
        let out = apply(text, &answers);
        let keys: Vec<_> = Case::parse(&out).answers.iter().map(|a| a.id.clone()).collect();
        assert_eq!(keys, ["country", "registry_name", "languages", "purpose", "levels"]);
    }

    #[test]
    fn the_first_member_of_a_block_goes_under_the_blocks_heading() {
        let text = "answers:\n  # A\n  country: X\n\n  # B\n  levels: 1\n";
        let out = apply(text, &[answer("has_id", "yes"), answer("purpose", "p")]);
        insta::assert_snapshot!(out, @r"
        answers:
          # A
          country: X
          # Ask for purpose?
          purpose: p

          # B
          # Ask for has_id?
          has_id: yes
          levels: 1
        ");
    }

    #[test]
    fn indentation_of_four_is_detected() {
        let text = "answers:\n    country: X\n    levels: 3\n";
        let out = apply(text, &[answer("has_id", "no")]);
        assert_eq!(out, "answers:\n    country: X\n    # Ask for has_id?\n    has_id: no\n    levels: 3\n");
    }

    #[test]
    fn crlf_stays_crlf() {
        let text = "playbook: p.md\r\nanswers:\r\n  country: X\r\n  levels: 3\r\n";
        let out = apply(text, &[answer("registry_name", "R"), answer("has_id", "yes")]);
        assert_eq!(
            out,
            "playbook: p.md\r\nanswers:\r\n  country: X\r\n  # Ask for registry_name?\r\n  registry_name: R\r\n  # Ask for has_id?\r\n  has_id: yes\r\n  levels: 3\r\n"
        );
        assert!(!out.replace("\r\n", "").contains('\n'));
    }

    #[test]
    fn no_final_newline_stays_without_one() {
        let out = apply("answers:\n  country: X", &[answer("levels", "1")]);
        assert_eq!(out, "answers:\n  country: X\n  # Ask for levels?\n  levels: 1");
        let out = apply("playbook: p.md", &[answer("levels", "1")]);
        assert_eq!(out, "playbook: p.md\nanswers:\n  # Ask for levels?\n  levels: 1\n");
    }

    #[test]
    fn missing_null_and_empty_answers_become_a_block() {
        assert_eq!(apply("playbook: p.md\n", &[answer("country", "X")]), "playbook: p.md\nanswers:\n  # Ask for country?\n  country: X\n");
        assert_eq!(apply("", &[answer("country", "X")]), "answers:\n  # Ask for country?\n  country: X\n");
        assert_eq!(
            apply("answers:\nplaybook: p.md\n", &[answer("country", "X")]),
            "answers:\n  # Ask for country?\n  country: X\nplaybook: p.md\n"
        );
        assert_eq!(
            apply("answers: ~   # none yet\n", &[answer("country", "X")]),
            "answers: # none yet\n  # Ask for country?\n  country: X\n"
        );
        assert_eq!(apply("answers:", &[answer("country", "X")]), "answers:\n  # Ask for country?\n  country: X");
        assert_eq!(
            apply("answers: {}\r\nplaybook: p.md\r\n", &[answer("country", "X"), answer("levels", "1")]),
            "answers:\r\n  # Ask for country?\r\n  country: X\r\n  # Ask for levels?\r\n  levels: 1\r\nplaybook: p.md\r\n"
        );
    }

    #[test]
    fn a_flow_mapping_gets_entries_inside_its_braces() {
        assert_eq!(apply("answers: {country: X}\n", &[answer("levels", "1")]), "answers: {country: X, levels: 1}\n");
        assert_eq!(apply("answers: {country: X, }\n", &[answer("levels", "!unknown")]), "answers: {country: X, levels: !unknown }\n");
        let out = apply("answers: {country: X}\n", &[answer("has_id", UNKNOWN_VALUE), answer("levels", DEFERRED_VALUE)]);
        assert_eq!(out, "answers: {country: X, has_id: !unknown, levels: !deferred \"reason to be recorded\"}\n");
    }

    #[test]
    fn existing_null_or_mistagged_entries_are_filled_in_place() {
        let text =
            "answers:\n  country:\n  levels: ~ # later\n  has_id: !defered maybe\n  purpose: >-\n    long\n    text\n  languages: [a]\n";
        let out = apply(text, &[answer("country", "X"), answer("levels", "2"), answer("has_id", UNKNOWN_VALUE), answer("purpose", "p")]);
        assert_eq!(out, "answers:\n  country: X\n  levels: 2 # later\n  has_id: !unknown\n  purpose: p\n  languages: [a]\n");
        // A null entry that is also the predecessor of a new entry: both edits merge into one.
        let text = "answers:\n  country:\n";
        let case = Case::parse(text);
        let edits = insertion(text, &case, &rank, &[answer("country", "X"), answer("registry_name", "R")]).unwrap();
        assert_eq!(edits.len(), 1);
        assert_eq!(
            apply(text, &[answer("country", "X"), answer("registry_name", "R")]),
            "answers:\n  country: X\n  # Ask for registry_name?\n  registry_name: R\n"
        );
    }

    #[test]
    fn comments_between_entries_and_trailing_comments_are_kept() {
        let text = "answers:\n  country: X # the country\n  # a note about levels\n  levels: 1\n";
        let out = apply(text, &[answer("registry_name", "R")]);
        assert_eq!(
            out,
            "answers:\n  country: X # the country\n  # Ask for registry_name?\n  registry_name: R\n  # a note about levels\n  levels: 1\n"
        );
    }

    #[test]
    fn no_comment_line_without_an_ask() {
        let out = apply("answers:\n  country: X\n", &[NewAnswer { id: "levels".into(), value: "1".into(), comment: "  ".into() }]);
        assert_eq!(out, "answers:\n  country: X\n  levels: 1\n");
    }

    #[test]
    fn unsafe_cases_get_no_edit() {
        for text in ["answers: [unclosed", "answers: 3\n", "- a\n- b\n", "{playbook: p.md}\n"] {
            assert_eq!(insertion(text, &Case::parse(text), &rank, &[answer("country", "X")]), None, "{text}");
        }
    }

    #[test]
    fn yaml_values_are_kept_or_quoted() {
        for keep in ["yes", "0", "[]", "{}", "\"\"", "general-purpose", "!unknown", DEFERRED_VALUE, "[a, b]", "'x'"] {
            assert_eq!(yaml_value(keep), keep);
        }
        assert_eq!(yaml_value(""), "\"\"");
        assert_eq!(yaml_value("a: b"), "\"a: b\"");
        assert_eq!(yaml_value("a # b"), "\"a # b\"");
        assert_eq!(yaml_value(" padded"), "\" padded\"");
        assert_eq!(yaml_value("two\nlines"), "\"two\\nlines\"");
        assert_eq!(yaml_value("[open"), "\"[open\"");
    }
}
