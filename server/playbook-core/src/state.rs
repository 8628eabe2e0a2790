//! The project state that lives next to the case (`.playbook/state.json`).
//!
//! The core only interprets text handed to it; the engine reads and writes the file. Every
//! field but `current_phase` is optional, so a file that holds only `{"current_phase": 2}`
//! (as earlier versions wrote) still parses, and fields a newer version adds are ignored.
//!
//! ```json
//! {
//!   "current_phase": 2,
//!   "blocked": true,
//!   "blocked_reason": "waiting for the ministry's sign-off",
//!   "history": [
//!     {"action": "complete", "from": 1, "to": 2, "at": "2026-03-01T09:12:44.120Z", "by": "Ada", "reason": "report v2 approved"},
//!     {"action": "block", "from": 2, "to": 2, "at": "2026-03-02T10:00:00.000Z", "by": "Ada", "reason": "waiting for the ministry's sign-off"}
//!   ]
//! }
//! ```

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectState {
    /// The number of the current phase (`## Phase <n>`); absent means the playbook's first phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_phase: Option<u32>,
    /// Work on the current phase is blocked: the phase cannot be completed until unblocked.
    #[serde(default)]
    pub blocked: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_reason: Option<String>,
    /// Every transition, oldest first.
    #[serde(default)]
    pub history: Vec<Transition>,
}

/// One entry of the history: who did what, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub action: Action,
    /// The phase before (for `block` and `unblock`, the phase they apply to).
    pub from: u32,
    /// The phase after (for `block` and `unblock`, the same as `from`).
    pub to: u32,
    /// UTC, RFC 3339 with milliseconds.
    pub at: String,
    /// The git user (`git config user.name`), else the OS user.
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Forward one phase, after the gate held.
    Complete,
    /// Back to an earlier phase.
    Reopen,
    Block,
    Unblock,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Complete => "complete",
            Action::Reopen => "reopen",
            Action::Block => "block",
            Action::Unblock => "unblock",
        }
    }
}

/// Parse `state.json`; a clear message when it is not what we expect.
pub fn parse_state(text: &str) -> Result<ProjectState, String> {
    let invalid = |e: String| format!("`.playbook/state.json` is not valid: {e}");
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
    if !value.is_object() {
        return Err(invalid("expected a JSON object such as {\"current_phase\": 1}".into()));
    }
    serde_json::from_value(value).map_err(|e| invalid(e.to_string()))
}

/// `state.json` as written: pretty JSON with a final newline.
pub fn render_state(state: &ProjectState) -> String {
    let mut text = serde_json::to_string_pretty(state).expect("the state serialises");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_files_parse_and_new_ones_round_trip() {
        let old = parse_state(r#"{"current_phase": 2}"#).unwrap();
        assert_eq!(old, ProjectState { current_phase: Some(2), ..ProjectState::default() });
        assert_eq!(parse_state("{}").unwrap(), ProjectState::default());
        let newer = parse_state(r#"{"current_phase": 1, "future_field": [1, 2]}"#).unwrap();
        assert_eq!(newer.current_phase, Some(1));

        let state = ProjectState {
            current_phase: Some(3),
            blocked: true,
            blocked_reason: Some("waiting".into()),
            history: vec![Transition {
                action: Action::Reopen,
                from: 4,
                to: 3,
                at: "2026-01-01T00:00:00.000Z".into(),
                by: "Ada".into(),
                reason: Some("wrong answers".into()),
            }],
        };
        let text = render_state(&state);
        assert!(text.contains(r#""action": "reopen""#), "{text}");
        assert_eq!(parse_state(&text).unwrap(), state);
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        for bad in ["", "[1]", r#"{"current_phase": "two"}"#, r#"{"history": [{"action": "fly"}]}"#, "{\"current_phase\": 1"] {
            let e = parse_state(bad).unwrap_err();
            assert!(e.starts_with("`.playbook/state.json` is not valid"), "{e}");
        }
    }
}
