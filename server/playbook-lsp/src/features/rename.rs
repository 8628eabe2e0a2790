//! Rename an item id across the playbook and every case that uses it.
use crate::world::World;
use tower_lsp_server::ls_types::{PrepareRenameResponse, RenameParams, TextDocumentPositionParams, WorkspaceEdit};

pub fn prepare_rename(_world: &World, _params: &TextDocumentPositionParams) -> Result<Option<PrepareRenameResponse>, String> {
    Ok(None)
}

pub fn rename(_world: &World, _params: &RenameParams) -> Result<Option<WorkspaceEdit>, String> {
    Ok(None)
}
