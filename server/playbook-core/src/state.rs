//! Reading the project state that lives next to the case (`.playbook/state.json`).
//!
//! The core only interprets text handed to it; the shells read and write the file.

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProjectState {
    /// The number of the current phase (`## Phase <n>`).
    pub current_phase: Option<u32>,
}

/// Parse `state.json`; a clear message when it is not what we expect.
pub fn parse_state(text: &str) -> Result<ProjectState, String> {
    serde_json::from_str(text).map_err(|e| format!("`.playbook/state.json` is not valid: {e}"))
}
