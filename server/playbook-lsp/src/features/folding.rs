//! Folding ranges: phases, sections, blocks, items, Activities; YAML mappings in cases.
//!
//! Also home of the playbook geometry that document symbols share: spans trimmed of trailing
//! blank lines and separators, items and Activities cut before the next heading or block line,
//! block extents.
use crate::world::{Kind, World};
use playbook_core::playbook::{Origin, Playbook};
use playbook_core::span::Span;
use playbook_core::yaml::{Node, NodeKind};
use tower_lsp_server::ls_types::{FoldingRange, FoldingRangeParams};

pub fn folding_ranges(world: &World, params: &FoldingRangeParams) -> Option<Vec<FoldingRange>> {
    let doc = world.get(&params.text_document.uri)?;
    let text: &str = &doc.text;
    let index = doc.line_index();
    let mut lines: Vec<(usize, usize)> = Vec::new();
    let mut add = |start: usize, span: &Span| {
        let span = trim_end(text, start..span.end.max(start));
        if span.is_empty() {
            return;
        }
        lines.push((index.line_of(span.start), index.line_of(span.end - 1)));
    };
    match doc.kind {
        Kind::Playbook => {
            let pb = doc.playbook();
            let extents = extents(text, &pb);
            let items = &extents.items;
            for (p, phase) in pb.phases.iter().enumerate() {
                add(phase.heading.start, &trim_rule(text, phase.span.clone()));
                for section in &phase.sections {
                    add(section.heading.start, &trim_rule(text, section.span.clone()));
                }
                for b in 0..phase.blocks.len() {
                    add(phase.blocks[b].name.span.start, &block_span(&pb, p, b, items));
                }
            }
            for (item, span) in pb.items.iter().zip(items) {
                add(item.heading.start, span);
            }
            for (activity, span) in pb.activities.iter().zip(&extents.activities) {
                add(activity.heading.start, span);
            }
        }
        Kind::Case => {
            if let Some(root) = &doc.case().root {
                collections(root, &mut |start, span| add(start, span));
            }
        }
    }
    lines.retain(|(start, end)| end > start);
    lines.sort_unstable();
    lines.dedup();
    let ranges = lines
        .into_iter()
        .map(|(start, end)| FoldingRange {
            start_line: start as u32,
            start_character: None,
            end_line: end as u32,
            end_character: None,
            kind: None,
            collapsed_text: None,
        })
        .collect();
    Some(ranges)
}

/// Every mapping or sequence that is the value of a key or an element of a sequence, from
/// where its key (or element) starts to where it ends. The root itself is the whole file.
fn collections(node: &Node, out: &mut impl FnMut(usize, &Span)) {
    match &node.kind {
        NodeKind::Map(entries) => {
            for entry in entries {
                if is_collection(&entry.value) {
                    out(entry.key.span.start, &entry.value.span);
                }
                collections(&entry.value, out);
            }
        }
        NodeKind::Seq(items) => {
            for item in items {
                if is_collection(item) {
                    out(item.span.start, &item.span);
                }
                collections(item, out);
            }
        }
        NodeKind::Scalar(_) | NodeKind::Alias => {}
    }
}

fn is_collection(node: &Node) -> bool {
    matches!(node.kind, NodeKind::Map(_) | NodeKind::Seq(_))
}

/// A phase's or section's extent: trimmed, without the thematic break (`***`) that separates
/// it from the next phase.
pub(crate) fn trim_rule(text: &str, span: Span) -> Span {
    let span = trim_end(text, span);
    let last = line_start(text, span.end).max(span.start);
    let line = text.get(last..span.end).unwrap_or("").trim();
    let is_rule = line.len() >= 3
        && ['*', '-', '_'].iter().any(|&c| line.chars().all(|l| l == c || l == ' ') && line.chars().filter(|&l| l == c).count() >= 3);
    if is_rule && last > span.start { trim_end(text, span.start..last) } else { span }
}

/// `span` without trailing whitespace (blank lines, the final line break).
pub(crate) fn trim_end(text: &str, span: Span) -> Span {
    let end = span.end.min(text.len());
    let start = span.start.min(end);
    let kept = text.get(start..end).map_or(0, |s| s.trim_end().len());
    start..start + kept
}

/// Where every item and Activity really ends. The parser lets an item (or Activity) run over
/// the heading line of the next one and over the bold line that starts the next block; the
/// extents here stop before the next structural line and drop trailing blank lines.
pub(crate) struct Extents {
    /// Index-aligned with [`Playbook::items`].
    pub items: Vec<Span>,
    /// Index-aligned with [`Playbook::activities`].
    pub activities: Vec<Span>,
}

pub(crate) fn extents(text: &str, pb: &Playbook) -> Extents {
    // Offsets where a new element starts: phases, sections, blocks, items, Activities.
    let mut starts: Vec<usize> = Vec::new();
    for phase in &pb.phases {
        starts.push(phase.heading.start);
        starts.extend(phase.sections.iter().map(|s| s.heading.start));
        starts.extend(phase.blocks.iter().map(|b| line_start(text, b.name.span.start)));
    }
    starts.extend(pb.items.iter().filter(|i| i.origin == Origin::Heading).map(|i| i.heading.start));
    starts.extend(pb.activities.iter().map(|a| a.heading.start));
    starts.sort_unstable();
    let extent = |heading: &Span, span: &Span, clip: bool| {
        let start = heading.start.min(span.start);
        let next = starts.partition_point(|&s| s <= heading.start);
        let end = match starts.get(next) {
            Some(&cut) if clip && cut < span.end => cut,
            _ => span.end,
        };
        trim_end(text, start..end.max(heading.end))
    };
    Extents {
        items: pb.items.iter().map(|i| extent(&i.heading, &i.span, i.origin == Origin::Heading)).collect(),
        activities: pb.activities.iter().map(|a| extent(&a.heading, &a.span, true)).collect(),
    }
}

/// A block's extent: its bold line to the end of its last item.
pub(crate) fn block_span(pb: &Playbook, phase: usize, block: usize, items: &[Span]) -> Span {
    let b = &pb.phases[phase].blocks[block];
    let end = b.items.iter().filter_map(|&i| items.get(i)).map(|s| s.end).max().unwrap_or(b.name.span.end);
    b.name.span.start..end.max(b.name.span.end)
}

/// The offset where the line holding `offset` starts.
fn line_start(text: &str, offset: usize) -> usize {
    text.get(..offset).and_then(|s| s.rfind('\n')).map_or(0, |i| i + 1)
}
