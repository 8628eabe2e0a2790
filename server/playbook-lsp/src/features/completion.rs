//! Completion of item keys and values in cases.
use crate::world::World;
use tower_lsp_server::ls_types::{CompletionParams, CompletionResponse};

pub fn completion(_world: &World, _params: &CompletionParams) -> Option<CompletionResponse> {
    None
}
