//! What is under the cursor, and where an item id occurs: shared by hover, definition,
//! references and rename.

use crate::world::{Document, Kind, World};
use playbook_core::playbook::{Playbook, RequiredRule};
use playbook_core::span::Span;
use std::sync::Arc;
use tower_lsp_server::ls_types::{Location, Uri};

/// A thing at a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A key under `answers:` in a case.
    CaseKey { id: String, span: Span },
    /// The value of an answer in a case.
    CaseValue { id: String, span: Span },
    /// A Discovery item's heading id (or an inline follow-up's id) in a playbook.
    ItemId { id: String, span: Span },
    /// An id named in a condition.
    ConditionRef { id: String, span: Span },
    /// An id named in an Activity's Inputs.
    InputRef { id: String, span: Span },
    /// An Activity's name in its heading.
    Activity { name: String, span: Span },
    /// A phase heading.
    Phase { index: usize, span: Span },
}

impl Target {
    /// The item id the target is about, when it is about one.
    pub fn item_id(&self) -> Option<&str> {
        match self {
            Target::CaseKey { id, .. }
            | Target::CaseValue { id, .. }
            | Target::ItemId { id, .. }
            | Target::ConditionRef { id, .. }
            | Target::InputRef { id, .. } => Some(id),
            Target::Activity { .. } | Target::Phase { .. } => None,
        }
    }

    pub fn span(&self) -> &Span {
        match self {
            Target::CaseKey { span, .. }
            | Target::CaseValue { span, .. }
            | Target::ItemId { span, .. }
            | Target::ConditionRef { span, .. }
            | Target::InputRef { span, .. }
            | Target::Activity { span, .. }
            | Target::Phase { span, .. } => span,
        }
    }
}

/// Spans touch the cursor when it is inside them or right at their end (as editors expect
/// for a cursor placed just after a word).
fn touches(span: &Span, offset: usize) -> bool {
    span.start <= offset && offset <= span.end
}

pub fn target_at(doc: &Document, offset: usize) -> Option<Target> {
    match doc.kind {
        Kind::Case => {
            let case = doc.case();
            if case.syntax_error.is_some() {
                // While the YAML is broken (mid-edit), answer keys are still read line by line.
                let (id, span) = crate::features::completion::answer_key_at(&doc.text, offset)?;
                return Some(Target::CaseKey { id, span });
            }
            for entry in &case.answers {
                if touches(&entry.key_span, offset) {
                    return Some(Target::CaseKey { id: entry.id.clone(), span: entry.key_span.clone() });
                }
                if touches(&entry.value.span, offset) {
                    return Some(Target::CaseValue { id: entry.id.clone(), span: entry.value.span.clone() });
                }
            }
            None
        }
        Kind::Playbook => playbook_target(&doc.playbook(), offset),
    }
}

fn playbook_target(pb: &Playbook, offset: usize) -> Option<Target> {
    for item in &pb.items {
        if touches(&item.id_span, offset) {
            return Some(Target::ItemId { id: item.id.clone(), span: item.id_span.clone() });
        }
    }
    for (id, span) in condition_refs(pb) {
        if touches(&span, offset) {
            return Some(Target::ConditionRef { id, span });
        }
    }
    for activity in &pb.activities {
        for input in &activity.input_refs {
            if touches(&input.span, offset) {
                return Some(Target::InputRef { id: input.text.clone(), span: input.span.clone() });
            }
        }
        if touches(&activity.name.span, offset) {
            return Some(Target::Activity { name: activity.name.text.clone(), span: activity.name.span.clone() });
        }
    }
    pb.phases.iter().position(|p| touches(&p.heading, offset)).map(|index| Target::Phase { index, span: pb.phases[index].heading.clone() })
}

/// Every id named in a condition, with its span in the playbook.
pub fn condition_refs(pb: &Playbook) -> Vec<(String, Span)> {
    let mut out = Vec::new();
    for item in &pb.items {
        if let Some(RequiredRule::Conditional { text, condition: Ok(expr) }) = item.required.as_ref().map(|r| &r.rule) {
            for r in expr.refs() {
                out.push((r.id.clone(), text.span.start + r.span.start..text.span.start + r.span.end));
            }
        }
    }
    out
}

/// Where an id occurs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occurrence {
    Definition,
    Condition,
    Input,
    CaseKey,
}

/// The playbook a target belongs to: the document itself, or the playbook a case names.
pub fn playbook_of(world: &World, doc: &Arc<Document>) -> Option<Arc<Document>> {
    match doc.kind {
        Kind::Playbook => Some(doc.clone()),
        Kind::Case => world.case_view(doc).playbook_doc,
    }
}

/// Every occurrence of item `id` of the playbook `playbook_doc`: its heading, conditions and
/// Activity Inputs in the playbook, and the answer keys of every case that uses the playbook.
pub fn occurrences(world: &World, playbook_doc: &Arc<Document>, id: &str) -> Vec<(Location, Occurrence)> {
    let pb = playbook_doc.playbook();
    let at = |doc: &Document, span: &Span| Location { uri: doc.uri.clone(), range: world.range(doc, span) };
    let mut out = Vec::new();
    for item in pb.items.iter().filter(|i| i.id == id) {
        out.push((at(playbook_doc, &item.id_span), Occurrence::Definition));
    }
    for (ref_id, span) in condition_refs(&pb) {
        if ref_id == id {
            out.push((at(playbook_doc, &span), Occurrence::Condition));
        }
    }
    for activity in &pb.activities {
        for input in activity.input_refs.iter().filter(|i| i.text == id) {
            out.push((at(playbook_doc, &input.span), Occurrence::Input));
        }
    }
    for case_doc in world.cases_using(&playbook_doc.uri) {
        for entry in case_doc.case().answers.iter().filter(|e| e.id == id) {
            out.push((at(&case_doc, &entry.key_span), Occurrence::CaseKey));
        }
    }
    out
}

/// The document behind a URI, for handlers.
pub fn doc<'w>(world: &'w World, uri: &Uri) -> Option<&'w Arc<Document>> {
    world.get(uri)
}
