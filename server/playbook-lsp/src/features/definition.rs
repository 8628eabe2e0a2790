//! Go to definition: case key or value → the item's heading id in the playbook; condition or
//! Inputs reference → the item's heading. On a heading itself there is nowhere else to go.

use crate::locate::Target;
use crate::locate::{playbook_of, target_at};
use crate::world::World;
use tower_lsp_server::ls_types::{GotoDefinitionParams, GotoDefinitionResponse, Location};

pub fn definition(world: &World, params: &GotoDefinitionParams) -> Option<GotoDefinitionResponse> {
    let position = &params.text_document_position_params;
    let doc = world.get(&position.text_document.uri)?;
    let offset = world.offset(doc, position.position);
    let id = match target_at(doc, offset)? {
        Target::CaseKey { id, .. } | Target::CaseValue { id, .. } | Target::ConditionRef { id, .. } | Target::InputRef { id, .. } => id,
        Target::ItemId { .. } | Target::Activity { .. } | Target::Phase { .. } => return None,
    };
    let pb_doc = playbook_of(world, doc)?;
    let pb = pb_doc.playbook();
    // An id defined twice (a `duplicate-item` finding) has two candidates: offer both.
    let mut locations: Vec<Location> = pb
        .items
        .iter()
        .filter(|i| i.id == id)
        .map(|i| Location { uri: pb_doc.uri.clone(), range: world.range(&pb_doc, &i.id_span) })
        .collect();
    match locations.len() {
        0 => None,
        1 => locations.pop().map(GotoDefinitionResponse::Scalar),
        _ => Some(GotoDefinitionResponse::Array(locations)),
    }
}
