//! Go to definition: case key → playbook heading; condition or input reference → item.
use crate::world::World;
use tower_lsp_server::ls_types::{GotoDefinitionParams, GotoDefinitionResponse};

pub fn definition(_world: &World, _params: &GotoDefinitionParams) -> Option<GotoDefinitionResponse> {
    None
}
