//! Phases and reports from the editor: the `playbook.generateReport`, `playbook.approveReport`,
//! `playbook.completePhase` and `playbook.reopenPhase` commands over the engine (the same
//! functions as `playbook report` and `playbook phase`), and the engine's phase status that
//! lenses and the phase-heading hover show.
//!
//! The engine reads the case from disk, so these commands refuse while the case has unsaved
//! changes (a report must record the answers the user sees). They write `.playbook/state.json`
//! and `reports/` beside the case, never a file open in the editor, and only in a trusted
//! workspace (they run `git config` to name who acted).

use crate::builds::{UNTRUSTED, resolve_case};
use crate::world::World;
use playbook_core::phase::Reason;
use playbook_engine::phase::{self, Outcome, PhaseStatus};
use playbook_engine::report;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use tower_lsp_server::ls_types::Uri;

pub const GENERATE_REPORT: &str = "playbook.generateReport";
pub const APPROVE_REPORT: &str = "playbook.approveReport";
pub const COMPLETE_PHASE: &str = "playbook.completePhase";
pub const REOPEN_PHASE: &str = "playbook.reopenPhase";
pub const COMMANDS: &[&str] = &[GENERATE_REPORT, APPROVE_REPORT, COMPLETE_PHASE, REOPEN_PHASE];

/// Arguments of the four commands (each uses what it needs).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PhaseArgs {
    /// A working case, or a playbook that exactly one case uses.
    #[serde(default)]
    pub uri: Option<Uri>,
    #[serde(default)]
    pub case: Option<Uri>,
    /// `approveReport`: the version to approve (default: the newest).
    #[serde(default)]
    pub version: Option<u32>,
    /// `reopenPhase`: the phase to go back to (default: the one before the current).
    #[serde(default)]
    pub to: Option<u32>,
    /// Why: required by `reopenPhase`, optional for `completePhase`.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A refusal: the message lists every reason; `data` carries them for clients that show a list.
#[derive(Debug)]
pub struct Refusal {
    pub message: String,
    pub reasons: Vec<Reason>,
}

impl From<String> for Refusal {
    fn from(message: String) -> Refusal {
        Refusal { message, reasons: Vec::new() }
    }
}

/// Run one of the commands; the answer is a JSON object describing what changed. Blocking
/// (file I/O, `git config`): call it off the async runtime.
pub fn execute(world: &World, command: &str, args: PhaseArgs) -> Result<serde_json::Value, Refusal> {
    if !world.trusted {
        return Err(UNTRUSTED.to_string().into());
    }
    let (case_path, _) = resolve_case(world, args.uri.as_ref(), args.case.as_ref())?;
    ensure_saved(world, &case_path)?;
    let case_dir = case_path.parent().map(Path::to_path_buf).unwrap_or_default();
    match command {
        GENERATE_REPORT => {
            let generated = report::generate(&case_path)?;
            let uri = Uri::from_file_path(&generated.path).map(|u| u.as_str().to_string());
            Ok(serde_json::json!({
                "uri": uri, "report": generated.report, "phase": generated.phase,
                "version": generated.version, "warnings": generated.warnings,
            }))
        }
        APPROVE_REPORT => {
            ensure_reports_closed(world, &case_dir)?;
            match report::approve(&case_path, args.version)? {
                Outcome::Done(a) => Ok(serde_json::json!({
                    "report": a.report, "phase": a.phase, "version": a.version,
                    "superseded": a.superseded, "unchanged": a.unchanged,
                })),
                Outcome::Refused(reasons) => Err(refused("the report cannot be approved", reasons)),
            }
        }
        COMPLETE_PHASE => match phase::complete(&case_path, args.reason.as_deref())? {
            Outcome::Done(t) => Ok(serde_json::to_value(&t).unwrap_or_default()),
            Outcome::Refused(reasons) => Err(refused("the phase cannot be completed", reasons)),
        },
        REOPEN_PHASE => {
            let reason =
                args.reason.as_deref().filter(|r| !r.trim().is_empty()).ok_or_else(|| {
                    "reopening a phase needs a `reason` (it is recorded in the history); ask the user for one".to_string()
                })?;
            match phase::reopen(&case_path, args.to, reason)? {
                Outcome::Done(t) => Ok(serde_json::to_value(&t).unwrap_or_default()),
                Outcome::Refused(reasons) => Err(refused("the phase cannot be reopened", reasons)),
            }
        }
        other => Err(format!("unknown command `{other}`").into()),
    }
}

fn refused(what: &str, reasons: Vec<Reason>) -> Refusal {
    let list: Vec<String> = reasons.iter().map(|r| format!("- {}", r.message)).collect();
    Refusal { message: format!("{what}:\n{}", list.join("\n")), reasons }
}

/// The engine reads the saved case: refuse while the editor holds other text for it.
fn ensure_saved(world: &World, case_path: &Path) -> Result<(), String> {
    let Some(doc) = Uri::from_file_path(case_path).and_then(|uri| world.get(&uri).cloned()) else { return Ok(()) };
    if !doc.is_open() {
        return Ok(());
    }
    let on_disk = std::fs::read_to_string(case_path).unwrap_or_default();
    if *on_disk != *doc.text {
        return Err(format!("{} has unsaved changes: save it first (reports and gates read the saved answers)", case_path.display()));
    }
    Ok(())
}

/// Approving rewrites the front matter of report files: never one the editor has open.
fn ensure_reports_closed(world: &World, case_dir: &Path) -> Result<(), String> {
    let reports = report::reports_dir(case_dir);
    let open: Vec<String> = world
        .docs
        .values()
        .filter(|d| d.is_open())
        .filter_map(|d| d.path.clone())
        .filter(|p| p.starts_with(&reports))
        .map(|p| p.display().to_string())
        .collect();
    if open.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "close {} first: approving rewrites its front matter, and the server never writes a file open in the editor",
            open.join(", ")
        ))
    }
}

/// The engine's phase status of each case a document concerns (the case itself, or every case
/// using a playbook), by case path. Blocking: call it off the async runtime.
pub fn statuses(cases: &[PathBuf]) -> Vec<(PathBuf, Result<PhaseStatus, String>)> {
    cases.iter().map(|case| (case.clone(), phase::status(case))).collect()
}
