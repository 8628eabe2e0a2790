//! Folding ranges: phases, sections, items, Activities; YAML mappings in cases.
use crate::world::World;
use tower_lsp_server::ls_types::{FoldingRange, FoldingRangeParams};

pub fn folding_ranges(_world: &World, _params: &FoldingRangeParams) -> Option<Vec<FoldingRange>> {
    None
}
