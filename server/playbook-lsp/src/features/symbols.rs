//! Document symbols (phases → blocks → items; Activities) and workspace symbols.
use crate::world::World;
use tower_lsp_server::ls_types::{DocumentSymbolParams, DocumentSymbolResponse, WorkspaceSymbolParams, WorkspaceSymbolResponse};

pub fn document_symbols(_world: &World, _params: &DocumentSymbolParams) -> Option<DocumentSymbolResponse> {
    None
}

pub fn workspace_symbols(_world: &World, _params: &WorkspaceSymbolParams) -> Option<WorkspaceSymbolResponse> {
    None
}
