//! Rename an item id across the playbook and every case that uses it.
//!
//! The edit covers the item's heading, every condition and Activity Inputs reference in the
//! playbook, and the answer key in every case of the workspace that names the playbook, open or
//! not. Open documents are addressed at the client's version, files that are not open with a
//! `null` version (the file on disk is the master). The server never writes a file itself.
use crate::locate::{self, Target};
use crate::world::{Document, World};
use playbook_core::span::Span;
use std::collections::HashMap;
use std::sync::Arc;
use tower_lsp_server::ls_types::{
    DocumentChanges, OneOf, OptionalVersionedTextDocumentIdentifier, PrepareRenameResponse, RenameParams, TextDocumentEdit,
    TextDocumentPositionParams, TextEdit, Uri, WorkspaceEdit,
};

/// What the cursor is on, once it is known to be a renamable item id.
struct Renamable {
    id: String,
    /// The id's own span in the document the request is about.
    span: Span,
    playbook_doc: Arc<Document>,
}

fn renamable(world: &World, params: &TextDocumentPositionParams) -> Result<(Arc<Document>, Renamable), String> {
    let doc = world.get(&params.text_document.uri).ok_or_else(|| "this document is not known to the playbook server".to_string())?;
    let offset = world.offset(doc, params.position);
    let target = match locate::target_at(doc, offset) {
        Some(Target::CaseValue { id, .. }) => {
            return Err(format!("this is the answer to `{id}`: place the cursor on the key to rename the item"));
        }
        Some(Target::Activity { .. }) => return Err("only Discovery item ids can be renamed, not Activities".to_string()),
        Some(Target::Phase { .. }) | None => {
            return Err(
                "place the cursor on a Discovery item id (its heading, a condition or Inputs reference, or a case key) to rename it"
                    .to_string(),
            );
        }
        Some(target) => target,
    };
    let id = target.item_id().unwrap_or_default().to_string();
    let playbook_doc = locate::playbook_of(world, doc)
        .ok_or_else(|| format!("the playbook this case names could not be found, so `{id}` cannot be renamed across it"))?;
    if playbook_doc.playbook().item(&id).is_none() {
        return Err(format!("`{id}` is not an item of the playbook: there is no heading to rename"));
    }
    let span = narrow(&doc.text, target.span(), &id);
    Ok((doc.clone(), Renamable { id, span, playbook_doc }))
}

/// The id inside `span` (a quoted YAML key, for instance, includes its quotes).
fn narrow(text: &str, span: &Span, id: &str) -> Span {
    match text.get(span.clone()).and_then(|s| s.find(id)) {
        Some(at) => span.start + at..span.start + at + id.len(),
        None => span.clone(),
    }
}

pub fn prepare_rename(world: &World, params: &TextDocumentPositionParams) -> Result<Option<PrepareRenameResponse>, String> {
    let (doc, target) = renamable(world, params)?;
    Ok(Some(PrepareRenameResponse::RangeWithPlaceholder { range: world.range(&doc, &target.span), placeholder: target.id }))
}

/// `^[a-z][a-z0-9_]*$`
pub fn is_valid_id(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase()) && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

pub fn rename(world: &World, params: &RenameParams) -> Result<Option<WorkspaceEdit>, String> {
    rename_with(world, params, world.document_changes)
}

/// Rename, answering with versioned `documentChanges` when the client supports them, else
/// with plain `changes`.
pub fn rename_with(world: &World, params: &RenameParams, document_changes: bool) -> Result<Option<WorkspaceEdit>, String> {
    let (_, target) = renamable(world, &params.text_document_position)?;
    let new_name = params.new_name.as_str();
    if !is_valid_id(new_name) {
        return Err(format!(
            "`{new_name}` is not a valid item id: use lowercase letters, digits and underscores, starting with a letter (such as `has_scores`)"
        ));
    }
    if new_name == target.id {
        return Ok(None);
    }
    let playbook_doc = &target.playbook_doc;
    let playbook = playbook_doc.playbook();
    if let Some(other) = playbook.item(new_name) {
        let line = playbook_doc.line_index().line_of(other.id_span.start) + 1;
        return Err(format!("`{new_name}` is already the id of another item (line {line} of the playbook)"));
    }
    for case_doc in world.cases_using(&playbook_doc.uri) {
        if case_doc.case().answer_entry(new_name).is_some() {
            let name = case_doc
                .path
                .as_ref()
                .and_then(|p| p.file_name())
                .map_or_else(|| case_doc.uri.as_str().to_string(), |n| n.to_string_lossy().into_owned());
            return Err(format!("`{new_name}` is already a key in the case {name}: the rename would make its answers collide"));
        }
    }

    // Edits per document, in the order documents first occur (the playbook, then its cases).
    let mut order: Vec<Uri> = Vec::new();
    let mut edits: HashMap<Uri, Vec<(Span, TextEdit)>> = HashMap::new();
    for (location, _) in locate::occurrences(world, playbook_doc, &target.id) {
        let Some(doc) = world.get(&location.uri) else { continue };
        let span = world.offset(doc, location.range.start)..world.offset(doc, location.range.end);
        let span = narrow(&doc.text, &span, &target.id);
        let edit = TextEdit { range: world.range(doc, &span), new_text: new_name.to_string() };
        if !edits.contains_key(&location.uri) {
            order.push(location.uri.clone());
        }
        edits.entry(location.uri).or_default().push((span, edit));
    }
    let mut per_doc: Vec<(Uri, Vec<TextEdit>)> = Vec::new();
    for uri in order {
        let mut list = edits.remove(&uri).unwrap_or_default();
        list.sort_by_key(|(span, _)| (span.start, span.end));
        list.dedup_by(|a, b| a.0 == b.0);
        per_doc.push((uri, list.into_iter().map(|(_, e)| e).collect()));
    }

    let edit = if document_changes {
        let changes = per_doc
            .into_iter()
            .map(|(uri, list)| {
                let version = world.get(&uri).and_then(|d| d.version);
                TextDocumentEdit {
                    text_document: OptionalVersionedTextDocumentIdentifier { uri, version },
                    edits: list.into_iter().map(OneOf::Left).collect(),
                }
            })
            .collect();
        WorkspaceEdit { document_changes: Some(DocumentChanges::Edits(changes)), ..Default::default() }
    } else {
        WorkspaceEdit { changes: Some(per_doc.into_iter().collect()), ..Default::default() }
    };
    Ok(Some(edit))
}

#[cfg(test)]
mod tests {
    use super::{is_valid_id, rename_with};
    use crate::world::{Document, Kind, World};
    use std::sync::Arc;
    use tower_lsp_server::ls_types::{
        DocumentChanges, Position, RenameParams, TextDocumentIdentifier, TextDocumentPositionParams, Uri, WorkDoneProgressParams,
    };

    #[test]
    fn ids_are_lower_snake_case_starting_with_a_letter() {
        for ok in ["a", "has_scores", "expected_records_5_years", "x1"] {
            assert!(is_valid_id(ok), "{ok}");
        }
        for bad in ["", "1abc", "_x", "Has_scores", "has-scores", "has scores", "é", "has_scores\n"] {
            assert!(!is_valid_id(bad), "{bad:?}");
        }
    }

    const PLAYBOOK: &str = "## Phase 1: One\n\n### Discovery items\n\n#### has_scores\n\n* **Ask:** Scores?\n* **Type:** boolean\n\n#### score_source\n\n* **Ask:** Where from?\n* **Required:** conditional: `has_scores` = yes\n* **Type:** text\n";

    fn world() -> (World, Uri, Uri) {
        let mut world = World::default();
        let pb = Uri::from_file_path("/ws/playbook.md").unwrap();
        let case = Uri::from_file_path("/ws/cases/working_case.yaml").unwrap();
        let case_text = "playbook: ../playbook.md\nanswers:\n  has_scores: yes\n";
        world.docs.insert(pb.clone(), Arc::new(Document::new(pb.clone(), Some(3), PLAYBOOK.into(), Kind::Playbook)));
        world.docs.insert(case.clone(), Arc::new(Document::new(case.clone(), None, case_text.into(), Kind::Case)));
        (world, pb, case)
    }

    fn params(uri: &Uri, line: u32, character: u32, new_name: &str) -> RenameParams {
        RenameParams {
            text_document_position: TextDocumentPositionParams {
                text_document: TextDocumentIdentifier { uri: uri.clone() },
                position: Position { line, character },
            },
            new_name: new_name.into(),
            work_done_progress_params: WorkDoneProgressParams::default(),
        }
    }

    #[test]
    fn clients_without_document_changes_get_plain_changes() {
        let (world, pb, case) = world();
        let edit = rename_with(&world, &params(&case, 2, 4, "uses_scores"), false).unwrap().unwrap();
        assert!(edit.document_changes.is_none());
        let changes = edit.changes.unwrap();
        let lines =
            |uri: &Uri| changes[uri].iter().map(|e| (e.range.start.line, e.range.start.character, e.new_text.as_str())).collect::<Vec<_>>();
        assert_eq!(lines(&pb), vec![(4, 5, "uses_scores"), (12, 30, "uses_scores")]);
        assert_eq!(lines(&case), vec![(2, 2, "uses_scores")]);
    }

    #[test]
    fn versioned_edits_carry_the_open_version_and_null_for_disk_files() {
        let (world, pb, case) = world();
        let edit = rename_with(&world, &params(&pb, 4, 7, "uses_scores"), true).unwrap().unwrap();
        let Some(DocumentChanges::Edits(edits)) = edit.document_changes else { panic!("versioned edits expected") };
        let versions: Vec<_> = edits.iter().map(|e| (e.text_document.uri.clone(), e.text_document.version)).collect();
        assert_eq!(versions, vec![(pb, Some(3)), (case, None)]);
        // Renaming to the same id changes nothing; to a taken id or an invalid one is refused.
        let (world, pb, _) = self::world();
        assert!(rename_with(&world, &params(&pb, 4, 7, "has_scores"), true).unwrap().is_none());
        assert!(rename_with(&world, &params(&pb, 4, 7, "score_source"), true).unwrap_err().contains("already the id"));
        assert!(rename_with(&world, &params(&pb, 4, 7, "Scores"), true).unwrap_err().contains("not a valid item id"));
    }
}
