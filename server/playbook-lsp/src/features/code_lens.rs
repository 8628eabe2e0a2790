//! `textDocument/codeLens`: build status where people read the playbook and the case.
//!
//! - Above each Activity heading: its newest attempt from the jobs on disk ("✓ 2.3 s · 4 min
//!   ago", "✗ failed: <first line>", "not run") and "▶ Run" for a runnable Activity of the
//!   current phase.
//! - Above each phase heading: answered/required for that phase, its report's versions, its
//!   last build and (current phase) the gate, plus "▶ Run build", "Generate report",
//!   "Approve vN" and "Complete phase" on the current phase and "↩ Reopen" on earlier ones.
//! - At the top of a case: the same summary for its current phase.
//!
//! The status comes from the snapshot's build history (read by the actor from `.playbook/builds`),
//! so a reviewer who never ran anything sees the committed status. "▶ Run" lenses appear only
//! in a trusted workspace. A playbook used by several cases gets one set of lenses per case,
//! each named by the case's folder.

use crate::builds::{RUN_ACTIVITY, RUN_BUILD};
use crate::phases::{APPROVE_REPORT, COMPLETE_PHASE, GENERATE_REPORT, REOPEN_PHASE};
use crate::world::{Document, Kind, World};
use playbook_core::analysis::required::{current_phase_index, progress};
use playbook_core::analysis::{BUILTIN_HANDLERS, runnable};
use playbook_core::playbook::Playbook;
use playbook_engine::build::{BuildHistory, JobStatus, LastStep, StepStatus};
use playbook_engine::phase::{PhaseStatus, ReportSummary};
use playbook_engine::time::{now_ms, parse_rfc3339};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use tower_lsp_server::ls_types::{CodeLens, CodeLensParams, Command, Range, Uri};

/// A playbook used by more working cases than this gets no per-case lenses (a lens set per
/// case would bury the text, and each needs its status read from disk): one lens says so.
pub const MAX_CASES_PER_PLAYBOOK: usize = 5;

/// The documents whose lenses need the engine's phase status: the case, or every case using
/// the playbook, up to [`MAX_CASES_PER_PLAYBOOK`] (the shell reads those statuses from disk
/// before calling [`code_lenses`]).
pub fn cases_of(world: &World, uri: &Uri) -> Vec<PathBuf> {
    let Some(doc) = world.get(uri) else { return Vec::new() };
    let cases = match doc.kind {
        Kind::Case => vec![doc.clone()],
        Kind::Playbook => world.cases_using(&doc.uri),
    };
    if cases.len() > MAX_CASES_PER_PLAYBOOK {
        return Vec::new();
    }
    cases.iter().filter_map(|c| c.path.clone()).collect()
}

/// `phases`: the engine's status per case path (reports, gate); lenses without it still show
/// counts and builds.
pub fn code_lenses(world: &World, params: &CodeLensParams, phases: &HashMap<PathBuf, PhaseStatus>) -> Option<Vec<CodeLens>> {
    let doc = world.get(&params.text_document.uri)?;
    let now = now_ms();
    let lenses = match doc.kind {
        Kind::Case => case_lenses(world, doc, phases, now),
        Kind::Playbook => {
            let cases = world.cases_using(&doc.uri);
            if cases.len() > MAX_CASES_PER_PLAYBOOK {
                let note = format!("used by {} working cases: open one to see its phase and build status", cases.len());
                return Some(vec![info(Range::default(), note)]);
            }
            let named = cases.len() > 1;
            cases.iter().flat_map(|case| playbook_lenses(world, doc, case, named, phases, now)).collect()
        }
    };
    Some(lenses)
}

/// What one case's lenses need: its playbook, current phase, builds and the engine's status.
struct CaseBuilds<'a> {
    case_doc: Arc<Document>,
    playbook: Arc<Playbook>,
    current: usize,
    history: Arc<BuildHistory>,
    status: Option<&'a PhaseStatus>,
}

fn case_builds<'a>(world: &World, case_doc: &Arc<Document>, phases: &'a HashMap<PathBuf, PhaseStatus>) -> Option<CaseBuilds<'a>> {
    let view = world.case_view(case_doc);
    let playbook = view.playbook_doc?.playbook();
    let current = current_phase_index(&playbook, world.current_phase(case_doc));
    let history = world.builds_of(case_doc).cloned().unwrap_or_default();
    let status = case_doc.path.as_ref().and_then(|p| phases.get(p));
    Some(CaseBuilds { case_doc: case_doc.clone(), playbook, current, history, status })
}

fn case_lenses(world: &World, doc: &Arc<Document>, phases: &HashMap<PathBuf, PhaseStatus>, now: u128) -> Vec<CodeLens> {
    let Some(builds) = case_builds(world, doc, phases) else { return Vec::new() };
    let top = Range::default();
    let mut lenses = vec![info(top, phase_summary(&builds, builds.current, now))];
    let args = serde_json::json!({ "uri": doc.uri.as_str() });
    if world.trusted && has_activities(&builds, builds.current) {
        lenses.push(run(top, "▶ Run build", RUN_BUILD, args.clone()));
    }
    if world.trusted {
        lenses.extend(phase_commands(&builds, builds.current, top, &args));
    }
    lenses
}

/// "Generate report", "Approve v2", "Complete phase" on the current phase; "↩ Reopen" on an
/// earlier one (the client asks for the reason).
fn phase_commands(builds: &CaseBuilds, index: usize, range: Range, args: &serde_json::Value) -> Vec<CodeLens> {
    let Some(status) = builds.status else { return Vec::new() };
    let Some(phase) = builds.playbook.phases.get(index) else { return Vec::new() };
    let with = |extra: serde_json::Value| {
        let mut args = args.clone();
        if let (Some(args), Some(extra)) = (args.as_object_mut(), extra.as_object()) {
            args.extend(extra.clone());
        }
        args
    };
    let mut lenses = Vec::new();
    if index == builds.current {
        let summary = status.phases.iter().find(|p| p.number == phase.number);
        if let Some(report) = summary.and_then(|p| p.report.as_ref()) {
            lenses.push(run(range, "Generate report", GENERATE_REPORT, args.clone()));
            let newest = report.versions.iter().filter(|v| v.status.is_some()).max_by_key(|v| v.version);
            if let Some(newest) = newest.filter(|v| Some(v.version) != report.approved && v.matches_answers) {
                lenses.push(run(
                    range,
                    &format!("Approve v{}", newest.version),
                    APPROVE_REPORT,
                    with(serde_json::json!({ "version": newest.version })),
                ));
            }
        }
        if status.gate.next.is_some() {
            let title = if status.gate.holds {
                "✓ Complete phase".to_string()
            } else {
                let n = status.gate.reasons.len();
                format!("Complete phase ({n} blocking reason{})", if n == 1 { "" } else { "s" })
            };
            lenses.push(run(range, &title, COMPLETE_PHASE, args.clone()));
        }
    } else if index < builds.current {
        lenses.push(run(range, "↩ Reopen", REOPEN_PHASE, with(serde_json::json!({ "to": phase.number }))));
    }
    lenses
}

fn playbook_lenses(
    world: &World,
    playbook_doc: &Document,
    case_doc: &Arc<Document>,
    named: bool,
    phases: &HashMap<PathBuf, PhaseStatus>,
    now: u128,
) -> Vec<CodeLens> {
    let Some(builds) = case_builds(world, case_doc, phases) else { return Vec::new() };
    let prefix = if named { format!("{}: ", case_label(case_doc)) } else { String::new() };
    let case_arg = |extra: serde_json::Value| {
        let mut args = serde_json::json!({ "uri": playbook_doc.uri.as_str(), "case": case_doc.uri.as_str() });
        if let (Some(args), Some(extra)) = (args.as_object_mut(), extra.as_object()) {
            args.extend(extra.clone());
        }
        args
    };
    let mut lenses = Vec::new();
    for (index, phase) in builds.playbook.phases.iter().enumerate() {
        let range = world.range(playbook_doc, &phase.heading);
        lenses.push(info(range, format!("{prefix}{}", phase_summary(&builds, index, now))));
        if world.trusted && index == builds.current && has_activities(&builds, index) {
            lenses.push(run(range, "▶ Run build", RUN_BUILD, case_arg(serde_json::json!({}))));
        }
        if world.trusted {
            lenses.extend(phase_commands(&builds, index, range, &case_arg(serde_json::json!({}))));
        }
        for &a in &phase.activities {
            let activity = &builds.playbook.activities[a];
            let range = world.range(playbook_doc, &activity.heading);
            let last = builds.history.steps.get(&activity.name.text);
            lenses.push(info(range, format!("{prefix}{}", step_status(last, now))));
            if world.trusted && index == builds.current && runnable(activity, &BUILTIN_HANDLERS) {
                lenses.push(run(range, "▶ Run", RUN_ACTIVITY, case_arg(serde_json::json!({ "activity": activity.name.text }))));
            }
        }
    }
    lenses
}

/// "Phase 2 (current) · answered 37/103 · last build ✓ succeeded 4 min ago"
fn phase_summary(builds: &CaseBuilds, index: usize, now: u128) -> String {
    let phase = &builds.playbook.phases[index];
    let case = builds.case_doc.case();
    let (required, missing) = progress(&builds.playbook, &case, index);
    let summary = builds.status.and_then(|s| s.phases.iter().find(|p| p.number == phase.number));
    if summary.is_some_and(|p| p.coming_soon) {
        return format!("Phase {} · coming soon", phase.number);
    }
    let mut parts = vec![format!(
        "Phase {}{} · answered {}/{}",
        phase.number,
        if index == builds.current { " (current)" } else { "" },
        required.len() - missing.len(),
        required.len()
    )];
    if let Some(report) = summary.and_then(|p| p.report.as_ref()) {
        parts.push(report_summary(report));
    }
    if has_activities(builds, index) {
        parts.push(match builds.history.last_job(Some(phase.number)) {
            None => "not built".to_string(),
            Some(job) => {
                let at = job.finished.as_deref().unwrap_or(&job.started);
                format!("last build {} {}{}", job_mark(job.status), job.status.as_str(), ago(at, now))
            }
        });
    }
    if index == builds.current
        && let Some(status) = builds.status
    {
        if status.blocked {
            parts.push("blocked".to_string());
        }
        if status.gate.next.is_some() {
            parts.push(if status.gate.holds { "gate ✓".to_string() } else { format!("gate: {} blocking", status.gate.reasons.len()) });
        }
    }
    parts.join(" · ")
}

/// "report v2 approved", "report v3 draft (v2 approved)", "report not generated".
fn report_summary(report: &ReportSummary) -> String {
    let newest = report.versions.iter().filter(|v| v.status.is_some()).max_by_key(|v| v.version);
    match (newest, report.approved) {
        (None, _) => "report not generated".to_string(),
        (Some(v), Some(a)) if v.version == a => format!("report v{a} approved"),
        (Some(v), Some(a)) => format!("report v{} draft (v{a} approved)", v.version),
        (Some(v), None) => format!("report v{} draft", v.version),
    }
}

/// "✓ 2.3 s · 4 min ago", "✗ failed: exited with status 1", "not run".
pub fn step_status(last: Option<&LastStep>, now: u128) -> String {
    let Some(step) = last else { return "not run".to_string() };
    let secs = step.duration_ms.map(|ms| format!(" {:.1} s", ms as f64 / 1000.0)).unwrap_or_default();
    let when = ago(&step.at, now);
    match step.status {
        StepStatus::Succeeded => format!("✓{secs}{when}"),
        StepStatus::Skipped => format!("✓ unchanged{when}"),
        StepStatus::Running => "⟳ running".to_string(),
        StepStatus::Pending => "not run".to_string(),
        StepStatus::Failed => {
            let first = step.message.as_deref().and_then(|m| m.lines().next()).unwrap_or("see the build log");
            format!("✗ failed: {first}{when}")
        }
        StepStatus::Aborted => format!("■ stopped{when}"),
        StepStatus::Interrupted => format!("⚠ interrupted{when}"),
    }
}

fn job_mark(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Succeeded => "✓",
        JobStatus::Failed => "✗",
        JobStatus::Running | JobStatus::Queued => "⟳",
        JobStatus::Aborted => "■",
        JobStatus::Interrupted => "⚠",
    }
}

/// " · 4 min ago" (empty when the time cannot be read).
fn ago(rfc3339: &str, now: u128) -> String {
    let Some(then) = parse_rfc3339(rfc3339) else { return String::new() };
    let secs = now.saturating_sub(then) / 1000;
    let text = match secs {
        0..=59 => "just now".to_string(),
        60..=3599 => format!("{} min ago", secs / 60),
        3600..=86_399 => format!("{} h ago", secs / 3600),
        _ => format!("{} d ago", secs / 86_400),
    };
    format!(" · {text}")
}

fn has_activities(builds: &CaseBuilds, phase: usize) -> bool {
    builds
        .playbook
        .phases
        .get(phase)
        .is_some_and(|p| p.activities.iter().any(|&a| runnable(&builds.playbook.activities[a], &BUILTIN_HANDLERS)))
}

fn case_label(case_doc: &Document) -> String {
    let path = case_doc.path.as_ref();
    let folder = path.and_then(|p| p.parent()).and_then(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned());
    folder.unwrap_or_else(|| case_doc.uri.as_str().to_string())
}

/// A lens that only shows text (an empty command id is not clickable).
fn info(range: Range, title: String) -> CodeLens {
    CodeLens { range, command: Some(Command { title, command: String::new(), arguments: None }), data: None }
}

fn run(range: Range, title: &str, command: &str, args: serde_json::Value) -> CodeLens {
    CodeLens { range, command: Some(Command { title: title.into(), command: command.into(), arguments: Some(vec![args]) }), data: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_status_reads_like_a_terminal() {
        let now = parse_rfc3339("2026-11-21T10:00:00.000Z").unwrap();
        let step = |status, message: Option<&str>| LastStep {
            job: "j".into(),
            status,
            duration_ms: Some(2300),
            message: message.map(String::from),
            at: "2026-11-21T09:56:00.000Z".into(),
        };
        assert_eq!(step_status(None, now), "not run");
        assert_eq!(step_status(Some(&step(StepStatus::Succeeded, None)), now), "✓ 2.3 s · 4 min ago");
        assert_eq!(
            step_status(Some(&step(StepStatus::Failed, Some("exited with status 3\nmore"))), now),
            "✗ failed: exited with status 3 · 4 min ago"
        );
        assert_eq!(step_status(Some(&step(StepStatus::Running, None)), now), "⟳ running");
        assert_eq!(ago("garbage", now), "");
        assert_eq!(ago("2026-11-19T10:00:00.000Z", now), " · 2 d ago");
    }
}
