//! Hover: the item's schema as Markdown.
use crate::world::World;
use tower_lsp_server::ls_types::{Hover, HoverParams};

pub fn hover(_world: &World, _params: &HoverParams) -> Option<Hover> {
    None
}
