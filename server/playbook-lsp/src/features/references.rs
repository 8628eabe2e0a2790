//! Find references: an item's heading, conditions, Activity Inputs and case keys.
//!
//! Works from any place that names an item — its heading, a condition or Inputs reference, a
//! case key or a case value — and covers every case of the workspace that uses the playbook,
//! open or not (the world indexes workspace files from disk).
use crate::locate::{self, Occurrence};
use crate::world::World;
use tower_lsp_server::ls_types::{Location, ReferenceParams};

pub fn references(world: &World, params: &ReferenceParams) -> Option<Vec<Location>> {
    let position = &params.text_document_position;
    let doc = world.get(&position.text_document.uri)?;
    let target = locate::target_at(doc, world.offset(doc, position.position))?;
    let id = target.item_id()?;
    let playbook_doc = locate::playbook_of(world, doc)?;
    let include_declaration = params.context.include_declaration;
    let locations = locate::occurrences(world, &playbook_doc, id)
        .into_iter()
        .filter(|(_, kind)| include_declaration || *kind != Occurrence::Definition)
        .map(|(location, _)| location)
        .collect();
    Some(locations)
}
