//! `workspace/executeCommand`.
//!
//! A command returns the edit it wants; the server asks the client to apply it with
//! `workspace/applyEdit` (the server never writes a file that is open in the editor). Commands
//! that do something else (builds, phases) return `None` and report on their own channels.
//!
//! - `playbook.recordAnswer [{uri, item, value?}]` — the "Record answer" quick fix for `item`;
//!   with `value`, that value instead of the typed placeholder. A string `value` is written as
//!   YAML source when it is exactly one YAML value (`yes`, `[a, b]`, `!unknown`), else as quoted
//!   text; other JSON values are written as JSON (which YAML reads). An item that already has an
//!   entry gets its value replaced, so no duplicate key is written.
//! - `playbook.recordAllMissing [{uri}]` — the "Record all missing items" source action.
use super::code_action::{NewAnswer, case_edits, missing_now, new_answer, workspace_edit, yaml_value};
use crate::world::{Document, Kind, World};
use playbook_core::playbook::Playbook;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use tower_lsp_server::ls_types::{ExecuteCommandParams, Uri, WorkspaceEdit};

pub const RECORD_ANSWER: &str = "playbook.recordAnswer";
pub const RECORD_ALL_MISSING: &str = "playbook.recordAllMissing";

/// Every command the server announces in `executeCommandProvider`.
pub const COMMANDS: &[&str] = &[RECORD_ANSWER, RECORD_ALL_MISSING];

/// The edit a command wants applied (the server asks the client to apply it).
pub fn execute(world: &World, params: &ExecuteCommandParams) -> Result<Option<WorkspaceEdit>, String> {
    match params.command.as_str() {
        RECORD_ANSWER => record_answer(world, argument(params)?),
        RECORD_ALL_MISSING => record_all_missing(world, argument(params)?),
        other => Err(format!("unknown command `{other}`; this server knows {}", COMMANDS.join(", "))),
    }
}

/// The command's first argument, read as `T`.
fn argument<T: DeserializeOwned>(params: &ExecuteCommandParams) -> Result<T, String> {
    let first = params.arguments.first().ok_or_else(|| format!("`{}` needs an argument object", params.command))?;
    serde_json::from_value(first.clone()).map_err(|e| format!("bad argument for `{}`: {e}", params.command))
}

#[derive(Deserialize)]
struct RecordAnswerArgs {
    uri: Uri,
    item: String,
    #[serde(default)]
    value: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct DocumentArgs {
    uri: Uri,
}

fn record_answer(world: &World, args: RecordAnswerArgs) -> Result<Option<WorkspaceEdit>, String> {
    let (doc, playbook) = open_case(world, &args.uri)?;
    let item = playbook.item(&args.item).ok_or_else(|| format!("`{}` is not a Discovery item of the playbook", args.item))?;
    let mut answer = new_answer(item);
    match args.value {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::String(s)) => answer.value = yaml_value(&s),
        Some(other) => answer.value = other.to_string(),
    }
    edit(world, &doc, &playbook, &[answer]).map(Some)
}

fn record_all_missing(world: &World, args: DocumentArgs) -> Result<Option<WorkspaceEdit>, String> {
    let (doc, playbook) = open_case(world, &args.uri)?;
    match missing_now(world, &doc, &doc.case(), &playbook) {
        None => Ok(None),
        Some((_, answers)) => edit(world, &doc, &playbook, &answers).map(Some),
    }
}

fn edit(world: &World, doc: &Document, playbook: &Playbook, answers: &[NewAnswer]) -> Result<WorkspaceEdit, String> {
    let edits = case_edits(doc, playbook, answers)
        .ok_or_else(|| "the working case cannot take an answer now: fix its YAML errors, or make `answers` a mapping".to_string())?;
    Ok(workspace_edit(world, doc, edits))
}

/// An open working case and its playbook.
fn open_case(world: &World, uri: &Uri) -> Result<(Arc<Document>, Arc<Playbook>), String> {
    let doc = world.get(uri).filter(|d| d.is_open()).ok_or_else(|| format!("{} is not open in the editor", uri.as_str()))?;
    if doc.kind != Kind::Case {
        return Err(format!("{} is not a working case", uri.as_str()));
    }
    let view = world.case_view(doc);
    let playbook_doc = view.playbook_doc.ok_or_else(|| {
        format!("the playbook of {} could not be read: {}", uri.as_str(), view.playbook_error.as_deref().unwrap_or("no `playbook:` path"))
    })?;
    Ok((doc.clone(), playbook_doc.playbook()))
}
