//! `workspace/executeCommand`.
use crate::world::World;
use tower_lsp_server::ls_types::{ExecuteCommandParams, WorkspaceEdit};

pub const COMMANDS: &[&str] = &["playbook.recordAnswer"];

/// The edit a command wants applied (the server asks the client to apply it).
pub fn execute(_world: &World, params: &ExecuteCommandParams) -> Result<Option<WorkspaceEdit>, String> {
    Err(format!("unknown command `{}`", params.command))
}
