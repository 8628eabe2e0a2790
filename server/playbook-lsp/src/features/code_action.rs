//! Code actions from the findings' fix payloads.
use crate::world::World;
use tower_lsp_server::ls_types::{CodeActionParams, CodeActionResponse};

pub fn code_actions(_world: &World, _params: &CodeActionParams) -> Option<CodeActionResponse> {
    None
}
