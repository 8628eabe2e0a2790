//! Phases on disk: `.playbook/state.json` beside the case (written atomically, under the case
//! lock), the facts the gate needs (report versions, the newest build), who acts and when.
//! The rules themselves are pure and live in `playbook_core::phase`.
//!
//! The API the shells call:
//! - [`status`] — everything about the case's phase, its gate, reports and builds;
//! - [`complete`], [`reopen`], [`block`], [`unblock`] — transitions, recorded in the history;
//! - `report::generate` / `report::approve` (in [`crate::report`]).

use crate::build::job::{Job, JobRecord, list_jobs};
use crate::fsutil::{CaseLock, write_atomic};
use crate::project::{self, Project};
use crate::report::{ReportVersion, list_versions};
use crate::time::{now_ms, rfc3339};
use crate::workspace::read_text;
use playbook_core::analysis::BUILTIN_HANDLERS;
use playbook_core::phase::{self as rules, BuildFact, Facts, Gate, Reason, ReportFact, Stamp, StepFact, TransitionError};
use playbook_core::playbook::plain_text;
use playbook_core::state::{ProjectState, Transition, parse_state, render_state};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The result of a request the rules may refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<T> {
    Done(T),
    /// Refused, with every reason.
    Refused(Vec<Reason>),
}

pub fn state_path(case_dir: &Path) -> PathBuf {
    case_dir.join(".playbook").join("state.json")
}

/// The state beside the case; no file means the first phase, nothing blocked, no history.
pub fn read_state(case_dir: &Path) -> Result<ProjectState, String> {
    let path = state_path(case_dir);
    if !path.exists() {
        return Ok(ProjectState::default());
    }
    let text = read_text(&path)?;
    parse_state(&text).map_err(|e| format!("{e} ({}); fix or remove the file", path.display()))
}

/// Write the state atomically (temp file + rename), creating `.playbook/`.
pub fn write_state(case_dir: &Path, state: &ProjectState) -> Result<(), String> {
    let path = state_path(case_dir);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    write_atomic(&path, render_state(state).as_bytes())
}

/// Who acts: `git config user.name` in the case's folder (git run directly, never through a
/// shell), else `$USER`, `$LOGNAME` or `$USERNAME`, else `unknown`.
pub fn who(case_dir: &Path) -> String {
    let git = std::process::Command::new("git")
        .args(["config", "user.name"])
        .current_dir(case_dir)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output();
    if let Ok(out) = git
        && out.status.success()
    {
        let name = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !name.is_empty() {
            return name;
        }
    }
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .map(|v| v.trim().to_string())
        .find(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// Now, and who acts.
pub fn stamp(case_dir: &Path) -> Stamp {
    Stamp { at: rfc3339(now_ms()), by: who(case_dir) }
}

/// A job record as the gate sees it.
pub fn build_fact(job: &Job) -> BuildFact {
    BuildFact {
        id: job.record.id.clone(),
        status: job.record.status.as_str().to_string(),
        steps: job
            .record
            .steps
            .iter()
            .map(|s| StepFact { activity: s.activity.clone(), status: s.status.as_str().to_string(), duration_ms: s.duration_ms })
            .collect(),
    }
}

/// One phase of the playbook, for outlines and code lenses.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseSummary {
    pub number: u32,
    pub name: String,
    pub coming_soon: bool,
    pub build_phase: bool,
    pub current: bool,
    /// The report its Output declares, with the versions on disk.
    pub report: Option<ReportSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportSummary {
    pub name: String,
    /// Oldest first.
    pub versions: Vec<ReportVersion>,
    /// The approved version, if any.
    pub approved: Option<u32>,
}

/// Everything about a case's phase: see docs/phases.md for the JSON form.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseStatus {
    pub case: String,
    pub playbook: String,
    /// The current phase.
    pub phase: u32,
    pub name: String,
    pub coming_soon: bool,
    pub build_phase: bool,
    pub blocked: bool,
    pub blocked_reason: Option<String>,
    /// Items required now that are recorded, and all items required now.
    pub answered: usize,
    pub required: usize,
    pub missing: Vec<String>,
    /// The hash of the current answers (what report versions record).
    pub case_hash: String,
    /// The gate of the current phase.
    pub gate: Gate,
    /// The current phase's report.
    pub report: Option<ReportSummary>,
    /// The newest build job of the current phase.
    pub last_build: Option<JobRecord>,
    pub phases: Vec<PhaseSummary>,
    pub history: Vec<Transition>,
    /// Problems that did not stop the status (unreadable report files, say).
    pub warnings: Vec<String>,
}

struct Loaded {
    project: Project,
    state: ProjectState,
    index: usize,
    versions: Vec<ReportVersion>,
    jobs: Vec<Job>,
    warnings: Vec<String>,
}

fn load(case_path: &Path) -> Result<Loaded, String> {
    let project = project::load(case_path)?;
    let state = read_state(&project.case_dir)?;
    let index = rules::current_index(&project.playbook, &state)?;
    let (versions, warnings) = list_versions(&project.case_dir, &project.case.answers_hash());
    let jobs = list_jobs(&project.case_dir);
    Ok(Loaded { project, state, index, versions, jobs, warnings })
}

impl Loaded {
    fn report_facts(&self, phase: u32) -> Vec<ReportFact> {
        self.versions.iter().filter(|v| v.phase == phase).filter_map(ReportVersion::fact).collect()
    }

    fn newest_job(&self, phase: u32) -> Option<&Job> {
        self.jobs.iter().rev().find(|j| j.record.phase == Some(phase))
    }

    fn gate(&self) -> Result<Gate, String> {
        let number = self.project.playbook.phases[self.index].number;
        let reports = self.report_facts(number);
        let newest = self.newest_job(number).map(build_fact);
        rules::gate(
            &self.project.playbook,
            &self.project.case,
            &self.state,
            &Facts { reports: &reports, newest_build: newest.as_ref(), handlers: &BUILTIN_HANDLERS },
        )
    }

    fn report_summary(&self, index: usize) -> Option<ReportSummary> {
        let phase = &self.project.playbook.phases[index];
        let name = rules::report_name(phase)?;
        let versions: Vec<ReportVersion> = self.versions.iter().filter(|v| v.phase == phase.number).cloned().collect();
        let approved = versions.iter().filter(|v| v.status == Some(playbook_core::phase::ReportStatus::Approved)).map(|v| v.version).max();
        Some(ReportSummary { name, versions, approved })
    }
}

/// The phase status of a case: current phase, blocked flag, gate with every reason, answered
/// and required counts, report versions, the newest build, the history. Reads only.
pub fn status(case_path: &Path) -> Result<PhaseStatus, String> {
    let loaded = load(case_path)?;
    let gate = loaded.gate()?;
    let pb = &loaded.project.playbook;
    let phase = &pb.phases[loaded.index];
    let phases = pb
        .phases
        .iter()
        .enumerate()
        .map(|(i, p)| PhaseSummary {
            number: p.number,
            name: plain_text(&p.name.text),
            coming_soon: p.coming_soon(),
            build_phase: rules::is_build_phase(pb, p, &BUILTIN_HANDLERS),
            current: i == loaded.index,
            report: loaded.report_summary(i),
        })
        .collect();
    Ok(PhaseStatus {
        case: case_path.display().to_string(),
        playbook: loaded.project.playbook_path.display().to_string(),
        phase: phase.number,
        name: plain_text(&phase.name.text),
        coming_soon: phase.coming_soon(),
        build_phase: gate.build_phase,
        blocked: loaded.state.blocked,
        blocked_reason: loaded.state.blocked_reason.clone(),
        answered: gate.answered,
        required: gate.required,
        missing: gate.missing.clone(),
        case_hash: loaded.project.case.answers_hash(),
        report: loaded.report_summary(loaded.index),
        last_build: loaded.newest_job(phase.number).map(|j| j.record.clone()),
        phases,
        history: loaded.state.history.clone(),
        warnings: loaded.warnings.clone(),
        gate,
    })
}

/// Apply a transition under the case lock and write the new state.
fn transition(
    case_path: &Path,
    apply: impl FnOnce(&Loaded, &Stamp) -> Result<(ProjectState, Transition), TransitionError>,
) -> Result<Outcome<Transition>, String> {
    // Fail on an unreadable case before the lock creates `.playbook/` beside it.
    read_text(case_path)?;
    let dir = project::case_dir(case_path);
    let _lock = CaseLock::acquire(&dir)?;
    let loaded = load(case_path)?;
    let stamp = stamp(&loaded.project.case_dir);
    match apply(&loaded, &stamp) {
        Ok((state, t)) => {
            write_state(&loaded.project.case_dir, &state)?;
            Ok(Outcome::Done(t))
        }
        Err(TransitionError::Refused(reasons)) => Ok(Outcome::Refused(reasons)),
        Err(TransitionError::Invalid(message)) => Err(message),
    }
}

/// Complete the current phase: forward one phase when the gate holds, else every reason.
pub fn complete(case_path: &Path, reason: Option<&str>) -> Result<Outcome<Transition>, String> {
    transition(case_path, |l, stamp| {
        let gate = l.gate().map_err(TransitionError::Invalid)?;
        rules::complete(&l.project.playbook, &l.state, &gate, stamp, reason)
    })
}

/// Go back to an earlier phase (`to`, else the previous one), with a reason.
pub fn reopen(case_path: &Path, to: Option<u32>, reason: &str) -> Result<Outcome<Transition>, String> {
    transition(case_path, |l, stamp| rules::reopen(&l.project.playbook, &l.state, to, stamp, reason))
}

/// Block the current phase, with a reason; it cannot be completed until unblocked.
pub fn block(case_path: &Path, reason: &str) -> Result<Outcome<Transition>, String> {
    transition(case_path, |l, stamp| rules::block(&l.project.playbook, &l.state, stamp, reason))
}

/// Unblock the current phase (the reason is recorded when given).
pub fn unblock(case_path: &Path, reason: Option<&str>) -> Result<Outcome<Transition>, String> {
    transition(case_path, |l, stamp| rules::unblock(&l.project.playbook, &l.state, stamp, reason))
}
