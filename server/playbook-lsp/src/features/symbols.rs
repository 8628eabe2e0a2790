//! Document symbols (phases → sections → blocks → items; Activities) and workspace symbols.
use super::folding::{block_span, extents, trim_rule};
use crate::world::{Document, Kind, World};
use playbook_core::case::AnswerEntry;
use playbook_core::playbook::{Origin, Playbook, SectionKind, plain_text};
use playbook_core::span::Span;
use playbook_core::yaml::NodeKind;
use std::sync::Arc;
use tower_lsp_server::ls_types::{
    DocumentSymbol, DocumentSymbolParams, DocumentSymbolResponse, Location, SymbolInformation, SymbolKind, WorkspaceSymbolParams,
    WorkspaceSymbolResponse,
};

/// At most this many document symbols; the last visible one says how many were left out.
pub const MAX_DOCUMENT_SYMBOLS: usize = 5_000;
/// At most this many workspace symbols; the last one's name says how many were left out.
pub const MAX_WORKSPACE_SYMBOLS: usize = 500;
/// Case answer details show this many characters of the value's first line.
const DETAIL_CHARS: usize = 60;

/// A symbol before it is turned into LSP ranges.
struct Sym {
    name: String,
    detail: Option<String>,
    kind: SymbolKind,
    span: Span,
    selection: Span,
    children: Vec<Sym>,
}

impl Sym {
    fn new(name: impl Into<String>, kind: SymbolKind, span: Span, selection: Span) -> Sym {
        let mut name = name.into();
        if name.trim().is_empty() {
            // Clients reject symbols without a name (VS Code throws); say what is there instead.
            name = "(untitled)".to_string();
        }
        Sym { name, detail: None, kind, span, selection, children: Vec::new() }
    }

    fn detail(mut self, detail: impl Into<String>) -> Sym {
        let detail = detail.into();
        self.detail = (!detail.is_empty()).then_some(detail);
        self
    }

    fn children(mut self, children: Vec<Sym>) -> Sym {
        self.children = children;
        self
    }

    fn count(&self) -> usize {
        1 + self.children.iter().map(Sym::count).sum::<usize>()
    }
}

pub fn document_symbols(world: &World, params: &DocumentSymbolParams) -> Option<DocumentSymbolResponse> {
    let doc = world.get(&params.text_document.uri)?;
    let syms = match doc.kind {
        Kind::Playbook => playbook_symbols(&doc.text, &doc.playbook()),
        Kind::Case => case_symbols(doc),
    };
    let total: usize = syms.iter().map(Sym::count).sum();
    let mut budget = MAX_DOCUMENT_SYMBOLS.min(total);
    if total > MAX_DOCUMENT_SYMBOLS {
        budget -= 1; // room for the note
    }
    let mut out = convert(world, doc, syms, &mut budget);
    if total > MAX_DOCUMENT_SYMBOLS {
        let shown: usize = out.iter().map(count_lsp).sum();
        let end = doc.text.len();
        let note = Sym::new(format!("… {} more not shown", total - shown), SymbolKind::NULL, end..end, end..end);
        out.extend(convert(world, doc, vec![note], &mut 1));
    }
    Some(DocumentSymbolResponse::Nested(out))
}

fn count_lsp(s: &DocumentSymbol) -> usize {
    1 + s.children.iter().flatten().map(count_lsp).sum::<usize>()
}

/// Symbols in document order (pre-order) until the budget is spent.
fn convert(world: &World, doc: &Document, syms: Vec<Sym>, budget: &mut usize) -> Vec<DocumentSymbol> {
    let mut out = Vec::new();
    for sym in syms {
        if *budget == 0 {
            break;
        }
        *budget -= 1;
        let range = world.range(doc, &sym.span);
        let selection_range = world.range(doc, &sym.selection);
        let children = convert(world, doc, sym.children, budget);
        #[allow(deprecated, reason = "the field must be written; tags replace it")]
        out.push(DocumentSymbol {
            name: sym.name,
            detail: sym.detail,
            kind: sym.kind,
            tags: None,
            deprecated: None,
            range,
            selection_range,
            children: (!children.is_empty()).then_some(children),
        });
    }
    out
}

/// `a ∪ b`, so a parent's range always holds its children's.
fn cover(span: &Span, children: &[Sym]) -> Span {
    let start = children.iter().map(|c| c.span.start).chain([span.start]).min().unwrap_or(span.start);
    let end = children.iter().map(|c| c.span.end).chain([span.end]).max().unwrap_or(span.end);
    start..end
}

/// The text of an ATX heading without its `#` marks, spaces and closing hashes.
fn heading_title(text: &str, heading: &Span) -> Span {
    let raw = text.get(heading.clone()).unwrap_or("");
    let after_marks = raw.trim_start_matches([' ', '\t']).trim_start_matches('#');
    let start = raw.len() - after_marks.trim_start().len();
    let mut body = raw[start..].trim_end();
    let without_hashes = body.trim_end_matches('#');
    if without_hashes.len() < body.len() && (without_hashes.is_empty() || without_hashes.ends_with([' ', '\t'])) {
        body = without_hashes.trim_end();
    }
    heading.start + start..heading.start + start + body.len()
}

fn playbook_symbols(text: &str, pb: &Playbook) -> Vec<Sym> {
    let extents = extents(text, pb);
    let items = &extents.items;
    // Inline follow-ups by parent, in document order.
    let mut follow_ups: Vec<Vec<usize>> = vec![Vec::new(); pb.items.len()];
    for (i, item) in pb.items.iter().enumerate() {
        if let Origin::FollowUp { parent } = item.origin
            && parent < follow_ups.len()
        {
            follow_ups[parent].push(i);
        }
    }
    let item_sym = |i: usize| item_symbol(pb, i, items, &follow_ups);
    let mut phases = Vec::new();
    for (p, phase) in pb.phases.iter().enumerate() {
        let mut sections = Vec::new();
        for section in &phase.sections {
            let inside = |start: usize| section.span.start <= start && start < section.span.end.max(section.span.start + 1);
            let span = trim_rule(text, section.span.clone());
            let title = section.title.span.clone();
            let sym = match section.kind {
                SectionKind::DiscoveryItems => {
                    // Blocks and the items before the first block, in document order.
                    let mut entries: Vec<(usize, Sym)> = Vec::new();
                    for (b, block) in phase.blocks.iter().enumerate().filter(|(_, b)| inside(b.name.span.start)) {
                        let children: Vec<Sym> =
                            block.items.iter().filter(|&&i| pb.items[i].origin == Origin::Heading).map(|&i| item_sym(i)).collect();
                        let span = cover(&block_span(pb, p, b, items), &children);
                        let sym = Sym::new(&block.name.text, SymbolKind::PACKAGE, span, block.name.span.clone()).children(children);
                        entries.push((block.name.span.start, sym));
                    }
                    for &i in &phase.items {
                        let item = &pb.items[i];
                        if item.block.is_none() && item.origin == Origin::Heading && inside(item.heading.start) {
                            entries.push((item.heading.start, item_sym(i)));
                        }
                    }
                    entries.sort_by_key(|(start, _)| *start);
                    let children: Vec<Sym> = entries.into_iter().map(|(_, s)| s).collect();
                    Sym::new(&section.title.text, SymbolKind::OBJECT, cover(&span, &children), title).children(children)
                }
                SectionKind::Activities => {
                    let children: Vec<Sym> = phase
                        .activities
                        .iter()
                        .filter(|&&a| inside(pb.activities[a].heading.start))
                        .map(|&a| {
                            let activity = &pb.activities[a];
                            Sym::new(&activity.name.text, SymbolKind::FUNCTION, extents.activities[a].clone(), activity.name.span.clone())
                                .detail(if activity.remote { "remote" } else { "local" })
                        })
                        .collect();
                    Sym::new(&section.title.text, SymbolKind::OBJECT, cover(&span, &children), title).children(children)
                }
                SectionKind::Output => Sym::new(&section.title.text, SymbolKind::OBJECT, span, title),
                _ => Sym::new(&section.title.text, SymbolKind::STRING, span, title),
            };
            sections.push(sym.detail(if section.placeholder { "to be added" } else { "" }));
        }
        let selection = heading_title(text, &phase.heading);
        let name = text.get(selection.clone()).unwrap_or("").to_string();
        let detail = if phase.coming_soon() {
            "coming soon".to_string()
        } else {
            format!("{} items · {} activities", phase.items.len(), phase.activities.len())
        };
        let span = cover(&trim_rule(text, phase.span.clone()), &sections);
        phases.push(Sym::new(name, SymbolKind::NAMESPACE, span, selection).detail(detail).children(sections));
    }
    phases
}

fn item_symbol(pb: &Playbook, i: usize, items: &[Span], follow_ups: &[Vec<usize>]) -> Sym {
    let item = &pb.items[i];
    let children: Vec<Sym> = follow_ups[i].iter().map(|&f| item_symbol(pb, f, items, follow_ups)).collect();
    let detail = item.value_type.as_ref().map(|t| type_detail(&t.field.value.text)).unwrap_or_default();
    Sym::new(&item.id, SymbolKind::FIELD, cover(&items[i], &children), item.id_span.clone()).detail(detail).children(children)
}

/// The Type as a short plain line: escapes and code marks dropped, the description after ` — `
/// left out (`classification — a map of …` is shown as `classification`).
fn type_detail(raw: &str) -> String {
    let plain = plain_text(raw);
    let head = plain.split(" — ").next().unwrap_or("").trim();
    shorten(head)
}

fn shorten(text: &str) -> String {
    if text.chars().count() > DETAIL_CHARS {
        format!("{}…", text.chars().take(DETAIL_CHARS).collect::<String>())
    } else {
        text.to_string()
    }
}

fn case_symbols(doc: &Arc<Document>) -> Vec<Sym> {
    let case = doc.case();
    let Some(entries) = case.root.as_ref().and_then(|r| r.as_map()) else { return Vec::new() };
    let mut out = Vec::new();
    for entry in entries {
        let Some(key) = entry.key.as_scalar() else { continue };
        let span = entry.key.span.start..entry.value.span.end.max(entry.key.span.end);
        match key.value.as_str() {
            "playbook" => {
                let path = entry.value.as_scalar().map(|s| s.value.trim().to_string()).unwrap_or_default();
                out.push(Sym::new("playbook", SymbolKind::FILE, span, entry.key.span.clone()).detail(path));
            }
            "answers" => {
                // Only the mapping this entry holds (a repeated `answers` key is not the case's).
                let children: Vec<Sym> = if case.answers_key.as_ref() == Some(&entry.key.span) {
                    case.answers.iter().map(|a| answer_symbol(&doc.text, a)).collect()
                } else {
                    Vec::new()
                };
                let detail = format!("{} answers", children.len());
                out.push(
                    Sym::new("answers", SymbolKind::OBJECT, cover(&span, &children), entry.key.span.clone())
                        .detail(detail)
                        .children(children),
                );
            }
            _ => {}
        }
    }
    out
}

fn answer_symbol(text: &str, answer: &AnswerEntry) -> Sym {
    let value = &answer.value;
    let first_line = match &value.kind {
        NodeKind::Scalar(s) => s.value.trim().lines().next().unwrap_or("").to_string(),
        _ => text.get(value.span.clone()).unwrap_or("").lines().next().unwrap_or("").trim().to_string(),
    };
    let shown = match &value.tag {
        Some(tag) if first_line.is_empty() => tag.clone(),
        Some(tag) => format!("{tag} {first_line}"),
        None => first_line,
    };
    let detail = shorten(&shown);
    let span = answer.key_span.start..value.span.end.max(answer.key_span.end);
    Sym::new(&answer.id, SymbolKind::FIELD, span, answer.key_span.clone()).detail(detail)
}

pub fn workspace_symbols(world: &World, params: &WorkspaceSymbolParams) -> Option<WorkspaceSymbolResponse> {
    let query = params.query.trim().to_lowercase();
    let mut docs: Vec<&Arc<Document>> = world.docs.values().filter(|d| d.kind == Kind::Playbook).collect();
    docs.sort_by(|a, b| a.uri.as_str().cmp(b.uri.as_str()));
    // (match quality, document, offset, the symbol)
    let mut found: Vec<(u8, usize, usize, SymbolInformation)> = Vec::new();
    for (d, doc) in docs.into_iter().enumerate() {
        let pb = doc.playbook();
        let text: &str = &doc.text;
        let phase_name = |p: usize| pb.phases.get(p).map(|ph| text.get(heading_title(text, &ph.heading)).unwrap_or("").to_string());
        let file_name = doc.path.as_ref().and_then(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned());
        let container = pb.title.as_ref().map(|t| t.text.clone()).or(file_name);
        let mut add = |name: String, kind: SymbolKind, span: &Span, container: Option<String>| {
            if let Some(score) = score(&query, &name).filter(|_| !name.trim().is_empty()) {
                let location = Location { uri: doc.uri.clone(), range: world.range(doc, span) };
                #[allow(deprecated, reason = "the field must be written; tags replace it")]
                let info = SymbolInformation { name, kind, tags: None, deprecated: None, location, container_name: container };
                found.push((score, d, span.start, info));
            }
        };
        for (p, phase) in pb.phases.iter().enumerate() {
            let title = heading_title(text, &phase.heading);
            add(phase_name(p).unwrap_or_default(), SymbolKind::NAMESPACE, &title, container.clone());
        }
        for item in &pb.items {
            add(item.id.clone(), SymbolKind::FIELD, &item.id_span, phase_name(item.phase));
        }
        for activity in &pb.activities {
            add(activity.name.text.clone(), SymbolKind::FUNCTION, &activity.name.span, phase_name(activity.phase));
        }
    }
    // Best matches first; then by name, case-insensitively; then in document order.
    found.sort_by_cached_key(|(score, d, at, info)| (*score, info.name.to_lowercase(), *d, *at));
    let total = found.len();
    let mut symbols: Vec<SymbolInformation> = found.into_iter().take(MAX_WORKSPACE_SYMBOLS).map(|f| f.3).collect();
    if total > MAX_WORKSPACE_SYMBOLS
        && let Some(last) = symbols.last_mut()
    {
        last.name = format!("{} (… {} more not shown: refine the query)", last.name, total - MAX_WORKSPACE_SYMBOLS);
    }
    Some(WorkspaceSymbolResponse::Flat(symbols))
}

/// How well `name` matches the lowercased `query`: 0 exact, 1 prefix, 2 substring,
/// 3 the query's characters in order (fuzzy); `None` when it does not match.
fn score(query: &str, name: &str) -> Option<u8> {
    if query.is_empty() {
        return Some(0);
    }
    let name = name.to_lowercase();
    if name == query {
        Some(0)
    } else if name.starts_with(query) {
        Some(1)
    } else if name.contains(query) {
        Some(2)
    } else {
        let mut chars = name.chars();
        query.chars().filter(|c| !c.is_whitespace()).all(|q| chars.any(|c| c == q)).then_some(3)
    }
}

#[cfg(test)]
mod tests {
    use super::{heading_title, score};

    #[test]
    fn scores_rank_exact_prefix_substring_fuzzy() {
        assert_eq!(score("country", "country"), Some(0));
        assert_eq!(score("has", "has_scores"), Some(1));
        assert_eq!(score("scores", "has_scores"), Some(2));
        assert_eq!(score("hfi", "has_foundational_id"), Some(3));
        assert_eq!(score("xyz", "has_scores"), None);
        assert_eq!(score("", "anything"), Some(0));
        assert_eq!(score("phase 1", "Phase 1: Requirements"), Some(1));
    }

    #[test]
    fn heading_titles_drop_marks_and_closing_hashes() {
        let text = "## Phase 1: Requirements ##\n";
        let span = heading_title(text, &(0..text.len() - 1));
        assert_eq!(&text[span], "Phase 1: Requirements");
        let text = "#### country";
        assert_eq!(&text[heading_title(text, &(0..text.len()))], "country");
    }
}
