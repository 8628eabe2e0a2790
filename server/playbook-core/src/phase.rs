//! Phases (product.md §7): the gate of the current phase and the transitions of the state, as
//! pure functions. The shell reads the facts that live on disk — the report versions of the
//! phase, its newest build — and hands them in; nothing here touches a file or a clock.
//!
//! A gate holds when every item required so far is recorded (answered, `!deferred` or
//! `!unknown`), the phase's report (when its Output declares one) has an approved version
//! whose case hash matches the current answers, the newest build of a build phase succeeded
//! and ran every Activity, the machine-checkable Gap-analysis bullets pass, the work is not
//! blocked and there is a next phase that can be entered. Manual Activities and the other
//! Gap-analysis bullets are a checklist: shown, never blocking.

use crate::analysis::required::{progress, recorded};
use crate::analysis::runnable;
use crate::case::Case;
use crate::playbook::{Origin, Phase, Playbook, plain_text};
use crate::state::{Action, ProjectState, Transition};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

/// The status of a report version, as its front matter records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportStatus {
    Draft,
    Approved,
    Superseded,
}

impl ReportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Draft => "draft",
            ReportStatus::Approved => "approved",
            ReportStatus::Superseded => "superseded",
        }
    }

    pub fn parse(text: &str) -> Option<ReportStatus> {
        match text.trim() {
            "draft" => Some(ReportStatus::Draft),
            "approved" => Some(ReportStatus::Approved),
            "superseded" => Some(ReportStatus::Superseded),
            _ => None,
        }
    }
}

/// What the gate needs to know about one version of the phase's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFact {
    pub version: u32,
    pub status: ReportStatus,
    /// The answers hash recorded when the version was generated.
    pub case_hash: Option<String>,
}

/// What the gate (and a Build Report) needs to know about a build job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildFact {
    pub id: String,
    /// The job status: `succeeded`, `failed`, `running`, `aborted`, `interrupted`, …
    pub status: String,
    pub steps: Vec<StepFact>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepFact {
    pub activity: String,
    /// `succeeded`, `skipped` (unchanged since its last success), `failed`, `pending`, …
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

impl StepFact {
    /// Succeeded now, or skipped because it succeeded before with the same inputs.
    pub fn ok(&self) -> bool {
        matches!(self.status.as_str(), "succeeded" | "skipped")
    }
}

/// The facts from disk the gate is computed from.
#[derive(Debug, Clone, Copy, Default)]
pub struct Facts<'a> {
    /// Every version of the current phase's report.
    pub reports: &'a [ReportFact],
    /// The newest build job of the current phase.
    pub newest_build: Option<&'a BuildFact>,
    /// Activities with built-in handlers (runnable without a `sh run` block).
    pub handlers: &'a [&'a str],
}

/// A phase named by number and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhaseRef {
    pub number: u32,
    pub name: String,
    pub coming_soon: bool,
}

/// One reason the gate does not hold. `code` is stable (see docs/phases.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    pub code: &'static str,
    pub message: String,
    /// The Discovery item concerned (`missing-item`, `gap-check`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
}

impl Reason {
    pub fn new(code: &'static str, message: impl Into<String>) -> Reason {
        Reason { code, message: message.into(), item: None }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GapStatus {
    Passed,
    Failed,
    /// Not machine-checkable: a checklist entry for the implementer.
    Manual,
}

/// One Gap-analysis bullet and what the engine could tell about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GapCheck {
    /// The bullet as written (Markdown), on one line.
    pub text: String,
    pub status: GapStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Its failure is already a reason of its own (`missing-item`, `no-build`, `build-failed`),
    /// so it adds none to the gate.
    #[serde(skip)]
    pub covered: bool,
}

/// A checklist entry: a manual Activity, or a Gap-analysis bullet the engine cannot check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChecklistEntry {
    /// `activity` or `gap-analysis`.
    pub kind: &'static str,
    pub text: String,
}

/// The gate of the current phase: whether `complete` may advance, and every reason it may not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gate {
    /// The current phase.
    pub phase: PhaseRef,
    /// The phase `complete` would enter (none after the last phase).
    pub next: Option<PhaseRef>,
    /// True when `reasons` is empty.
    pub holds: bool,
    pub reasons: Vec<Reason>,
    /// Items required now, and how many of them are recorded.
    pub required: usize,
    pub answered: usize,
    /// Ids of the required items not recorded, in playbook order.
    pub missing: Vec<String>,
    /// The phase's report as its Output names it, when it declares one.
    pub report: Option<String>,
    /// The phase has at least one runnable Activity.
    pub build_phase: bool,
    pub gap_checks: Vec<GapCheck>,
    pub checklist: Vec<ChecklistEntry>,
}

/// A transition refused or impossible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransitionError {
    /// The request makes no sense (no reason given, an unknown or later phase, a broken state).
    Invalid(String),
    /// The request is understood but the rules refuse it; every reason is listed.
    Refused(Vec<Reason>),
}

/// Who acts and when (the shell knows both).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub at: String,
    pub by: String,
}

pub fn phase_ref(phase: &Phase) -> PhaseRef {
    PhaseRef { number: phase.number, name: phase.name.text.clone(), coming_soon: phase.coming_soon() }
}

/// `Phase 2: Build`.
pub fn phase_title(phase: &Phase) -> String {
    format!("Phase {}: {}", phase.number, phase.name.text)
}

/// The index of the state's current phase: the first phase when none is recorded.
pub fn current_index(playbook: &Playbook, state: &ProjectState) -> Result<usize, String> {
    if playbook.phases.is_empty() {
        return Err("the playbook has no phases (`## Phase <n>: <Name>` headings)".into());
    }
    match state.current_phase {
        None => Ok(0),
        Some(n) => playbook.phase_by_number(n).ok_or_else(|| {
            let numbers: Vec<String> = playbook.phases.iter().map(|p| p.number.to_string()).collect();
            format!("`.playbook/state.json` says the current phase is {n}, but the playbook has phases {}", numbers.join(", "))
        }),
    }
}

/// The report a phase's Output declares: its bold name, or — for an Output written without a
/// bold report name — `<Phase name> Report`. No Output section, a placeholder (`_(to be
/// added)_`) or `(none)` declare none.
pub fn report_name(phase: &Phase) -> Option<String> {
    let output = phase.output.as_ref().filter(|o| !o.placeholder)?;
    if let Some(name) = &output.report {
        let name = plain_text(&name.text);
        let name = name.trim().trim_end_matches([':', ',', '.']).trim();
        if !name.is_empty() {
            return Some(name.to_string());
        }
    }
    Some(format!("{} Report", plain_text(&phase.name.text)))
}

/// A phase with at least one runnable Activity (a `sh run` block or a built-in handler).
pub fn is_build_phase(playbook: &Playbook, phase: &Phase, handlers: &[&str]) -> bool {
    phase.activities.iter().any(|&a| playbook.activities.get(a).is_some_and(|a| runnable(a, handlers)))
}

/// Compute the gate of the state's current phase.
pub fn gate(playbook: &Playbook, case: &Case, state: &ProjectState, facts: &Facts) -> Result<Gate, String> {
    let index = current_index(playbook, state)?;
    let phase = &playbook.phases[index];
    let title = phase_title(phase);
    let mut reasons = Vec::new();

    if state.blocked {
        let why = state.blocked_reason.as_deref().unwrap_or("no reason recorded");
        reasons.push(Reason::new("blocked", format!("{title} is blocked: {why} (unblock it first)")));
    }

    let (required, missing) = progress(playbook, case, index);
    for &i in &missing {
        let item = &playbook.items[i];
        let ask = item.ask_plain().map(|a| format!(" — {a}")).unwrap_or_default();
        let at = if item.phase == index { String::new() } else { format!(" (Phase {})", playbook.phases[item.phase].number) };
        reasons.push(Reason {
            code: "missing-item",
            message: format!("`{}`{at} is required and not recorded{ask}", item.id),
            item: Some(item.id.clone()),
        });
    }

    let report = report_name(phase);
    if let Some(name) = &report {
        reasons.extend(report_reason(name, facts.reports, &case.answers_hash()));
    }

    let build_phase = is_build_phase(playbook, phase, facts.handlers);
    if build_phase {
        match facts.newest_build {
            None => reasons.push(Reason::new("no-build", format!("{title} is a build phase and has no build yet (run `playbook build`)"))),
            Some(build) if build.status != "succeeded" => {
                let failed: Vec<&str> =
                    build.steps.iter().filter(|s| !s.ok() && s.status != "pending").map(|s| s.activity.as_str()).collect();
                let at = if failed.is_empty() { String::new() } else { format!(" at {}", failed.join(", ")) };
                reasons.push(Reason::new(
                    "build-failed",
                    format!("the newest build ({}) {}{at}; a build phase needs a successful build", build.id, build.status),
                ));
            }
            Some(build) => {
                // Every runnable Activity must have run (a build with `--activity` or `--local`
                // leaves steps pending); a failure the playbook lets the build go on after
                // (On failure: continue) does not count against it.
                let runnable_names: Vec<&str> = phase
                    .activities
                    .iter()
                    .filter_map(|&a| playbook.activities.get(a))
                    .filter(|a| runnable(a, facts.handlers))
                    .map(|a| a.name.text.as_str())
                    .collect();
                let not_run: Vec<&str> = runnable_names
                    .iter()
                    .copied()
                    .filter(|name| !build.steps.iter().any(|s| s.activity == *name && (s.ok() || s.status == "failed")))
                    .collect();
                if !not_run.is_empty() {
                    reasons.push(Reason::new(
                        "build-incomplete",
                        format!("the newest build ({}) did not run every Activity: {} (run the whole build)", build.id, not_run.join(", ")),
                    ));
                }
            }
        }
    }

    let gap_checks = gap_checks(playbook, case, index, &missing, facts);
    for check in &gap_checks {
        if check.status == GapStatus::Failed && !check.covered {
            reasons.push(Reason {
                code: "gap-check",
                message: format!("Gap analysis: {} — {}", check.text, check.detail.as_deref().unwrap_or("not met")),
                item: None,
            });
        }
    }

    let next = playbook.phases.get(index + 1).map(phase_ref);
    match &next {
        None => reasons.push(Reason::new("last-phase", format!("{title} is the last phase of the playbook; there is no phase to enter"))),
        Some(n) if n.coming_soon => reasons.push(Reason::new(
            "next-coming-soon",
            format!("Phase {}: {} is coming soon (no Discovery items or Activities yet) and cannot be entered", n.number, n.name),
        )),
        Some(_) => {}
    }

    let mut checklist: Vec<ChecklistEntry> = phase
        .activities
        .iter()
        .filter_map(|&a| playbook.activities.get(a))
        .filter(|a| !runnable(a, facts.handlers))
        .map(|a| ChecklistEntry { kind: "activity", text: a.name.text.clone() })
        .collect();
    checklist.extend(
        gap_checks.iter().filter(|c| c.status == GapStatus::Manual).map(|c| ChecklistEntry { kind: "gap-analysis", text: c.text.clone() }),
    );

    Ok(Gate {
        phase: phase_ref(phase),
        next,
        holds: reasons.is_empty(),
        reasons,
        required: required.len(),
        answered: required.len() - missing.len(),
        missing: missing.iter().map(|&i| playbook.items[i].id.clone()).collect(),
        report,
        build_phase,
        gap_checks,
        checklist,
    })
}

/// Why the report does not let the gate hold, if it does not.
fn report_reason(name: &str, reports: &[ReportFact], answers_hash: &str) -> Option<Reason> {
    let approved = reports.iter().filter(|r| r.status == ReportStatus::Approved).max_by_key(|r| r.version);
    match approved {
        Some(r) if r.case_hash.as_deref() == Some(answers_hash) => None,
        Some(r) => Some(Reason::new(
            "report-stale",
            format!(
                "the approved {name} (v{}) no longer matches: answers changed since approval (generate and approve a new version)",
                r.version
            ),
        )),
        None => match reports.iter().map(|r| r.version).max() {
            None => Some(Reason::new("no-report", format!("the {name} has no version yet (run `playbook report generate`)"))),
            Some(v) => Some(Reason::new(
                "report-not-approved",
                format!("the {name} has no approved version (newest: v{v}, a draft; run `playbook report approve`)"),
            )),
        },
    }
}

static ACTIVITY_NUMBERS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bactivit(?:y|ies)\s+(\d+(?:\s*\([^)]*\))?(?:\s*(?:,|\+|&|and)\s*\d+(?:\s*\([^)]*\))?)*)").expect("static regex")
});
static NUMBER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?:^|[\s,+&])(\d+)").expect("static regex"));
static CODE_OR_PAREN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"`([^`]+)`|\(([A-Za-z0-9_]+)\)").expect("static regex"));

/// Phrases that say a step ran clean: such a bullet is checked against the newest build.
const STEP_PASSED: [&str; 10] = [
    "exited clean",
    "exited 0",
    "exit 0",
    "exits 0",
    "exit code 0",
    "succeeded",
    "passed",
    "ran clean",
    "ran successfully",
    "completed successfully",
];
/// Phrases that say items are recorded.
const RECORDED: [&str; 6] = ["is recorded", "are recorded", "is answered", "are answered", "been recorded", "been answered"];

/// Check what can be checked of the phase's Gap-analysis bullets:
/// - "every (required) Discovery item is recorded" — the items required now;
/// - "every follow-up … has been asked / is recorded" — follow-ups switched on by an answer;
/// - "`a` and `b` are recorded" — those items;
/// - "Activity 6 (`x`) exited clean / passed / succeeded" — those steps of the newest build.
///
/// Everything else is `manual`. A failure that another reason already states (missing items,
/// no build, a failed build) is `covered` and adds no gate reason of its own.
pub fn gap_checks(playbook: &Playbook, case: &Case, phase_index: usize, missing: &[usize], facts: &Facts) -> Vec<GapCheck> {
    let phase = &playbook.phases[phase_index];
    phase.gap_checks.iter().map(|bullet| check_bullet(playbook, case, phase_index, phase, &bullet.text, missing, facts)).collect()
}

fn check_bullet(
    playbook: &Playbook,
    case: &Case,
    phase_index: usize,
    phase: &Phase,
    raw: &str,
    missing: &[usize],
    facts: &Facts,
) -> GapCheck {
    // Shown as written (Markdown, on one line); matched as plain text.
    let text = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let lower = plain_text(raw).to_lowercase();
    let manual = || GapCheck { text: text.clone(), status: GapStatus::Manual, detail: None, covered: false };
    let says_recorded = RECORDED.iter().any(|p| lower.contains(p));

    // Activities named by number or by name.
    let activities: Vec<&crate::playbook::Activity> = phase.activities.iter().filter_map(|&a| playbook.activities.get(a)).collect();
    let mut named: Vec<usize> = Vec::new();
    for caps in ACTIVITY_NUMBERS.captures_iter(raw) {
        let list = caps.get(1).map_or("", |m| m.as_str());
        for n in NUMBER.captures_iter(list).filter_map(|c| c[1].parse::<u32>().ok()) {
            let by_number = activities.iter().position(|a| a.number.as_ref().is_some_and(|(k, _)| *k == n));
            let found = by_number.or_else(|| (n >= 1 && (n as usize) <= activities.len()).then(|| n as usize - 1));
            if let Some(i) = found
                && !named.contains(&i)
            {
                named.push(i);
            }
        }
    }
    let mut item_refs: Vec<String> = Vec::new();
    for caps in CODE_OR_PAREN.captures_iter(raw) {
        let token = caps.get(1).or_else(|| caps.get(2)).map_or("", |m| m.as_str()).trim();
        if let Some(i) = activities.iter().position(|a| a.name.text == token) {
            if !named.contains(&i) {
                named.push(i);
            }
        } else if caps.get(1).is_some() && playbook.item(token).is_some() && !item_refs.iter().any(|r| r == token) {
            item_refs.push(token.to_string());
        }
    }

    if !named.is_empty() {
        if !STEP_PASSED.iter().any(|p| lower.contains(p)) {
            return manual();
        }
        let names: Vec<&str> = named.iter().map(|&i| activities[i].name.text.as_str()).collect();
        if names.iter().any(|n| activities.iter().any(|a| a.name.text == *n && !runnable(a, facts.handlers))) {
            return manual();
        }
        let Some(build) = facts.newest_build else {
            let detail = Some(format!("no build has run {}", names.join(", ")));
            return GapCheck { text, status: GapStatus::Failed, detail, covered: true };
        };
        let bad: Vec<String> = names
            .iter()
            .filter_map(|n| match build.steps.iter().find(|s| s.activity == *n) {
                Some(s) if s.ok() => None,
                Some(s) => Some(format!("{n} {}", s.status)),
                None => Some(format!("{n} not in build {}", build.id)),
            })
            .collect();
        return if bad.is_empty() {
            let detail = Some(format!("build {}: {} succeeded", build.id, names.join(", ")));
            GapCheck { text, status: GapStatus::Passed, detail, covered: false }
        } else {
            let detail = Some(format!("build {}: {}", build.id, bad.join(", ")));
            GapCheck { text, status: GapStatus::Failed, detail, covered: build.status != "succeeded" }
        };
    }

    if lower.contains("discovery item") && says_recorded {
        return counted(text, missing.iter().map(|&i| playbook.items[i].id.clone()).collect(), "all recorded", true);
    }
    if lower.contains("follow-up") && (says_recorded || lower.contains("asked")) {
        let open: Vec<String> = missing
            .iter()
            .map(|&i| &playbook.items[i])
            .filter(|item| matches!(item.origin, Origin::FollowUp { .. }) && item.phase <= phase_index)
            .map(|item| item.id.clone())
            .collect();
        return counted(text, open, "all recorded", true);
    }
    if says_recorded && !item_refs.is_empty() {
        let open: Vec<String> = item_refs.into_iter().filter(|id| !recorded(case, id)).collect();
        return counted(text, open, "recorded", false);
    }
    manual()
}

fn counted(text: String, open: Vec<String>, ok: &str, covered: bool) -> GapCheck {
    if open.is_empty() {
        GapCheck { text, status: GapStatus::Passed, detail: Some(ok.to_string()), covered }
    } else {
        let shown: Vec<String> = open.iter().take(8).map(|id| format!("`{id}`")).collect();
        let more = if open.len() > 8 { format!(" and {} more", open.len() - 8) } else { String::new() };
        GapCheck { text, status: GapStatus::Failed, detail: Some(format!("not recorded: {}{more}", shown.join(", "))), covered }
    }
}

fn reason_text(reason: &str) -> Result<String, TransitionError> {
    let reason = reason.trim();
    if reason.is_empty() { Err(TransitionError::Invalid("a reason is required (--reason TEXT)".into())) } else { Ok(reason.to_string()) }
}

fn optional_reason(reason: Option<&str>) -> Option<String> {
    reason.map(str::trim).filter(|r| !r.is_empty()).map(str::to_string)
}

/// Forward one phase, when the gate (computed for this state) holds.
pub fn complete(
    playbook: &Playbook,
    state: &ProjectState,
    gate: &Gate,
    stamp: &Stamp,
    reason: Option<&str>,
) -> Result<(ProjectState, Transition), TransitionError> {
    let index = current_index(playbook, state).map_err(TransitionError::Invalid)?;
    let from = playbook.phases[index].number;
    if gate.phase.number != from {
        return Err(TransitionError::Invalid(format!("the gate is for Phase {}, the current phase is {from}", gate.phase.number)));
    }
    if !gate.holds {
        return Err(TransitionError::Refused(gate.reasons.clone()));
    }
    let Some(next) = &gate.next else {
        return Err(TransitionError::Refused(vec![Reason::new("last-phase", "there is no phase after the last one")]));
    };
    let transition = Transition {
        action: Action::Complete,
        from,
        to: next.number,
        at: stamp.at.clone(),
        by: stamp.by.clone(),
        reason: optional_reason(reason),
    };
    Ok((push(state, Some(next.number), transition.clone()), transition))
}

/// Back to an earlier phase (`to`, else the one before the current), with a reason.
pub fn reopen(
    playbook: &Playbook,
    state: &ProjectState,
    to: Option<u32>,
    stamp: &Stamp,
    reason: &str,
) -> Result<(ProjectState, Transition), TransitionError> {
    let reason = reason_text(reason)?;
    let index = current_index(playbook, state).map_err(TransitionError::Invalid)?;
    let from = playbook.phases[index].number;
    let target = match to {
        Some(n) => playbook.phase_by_number(n).ok_or_else(|| {
            let numbers: Vec<String> = playbook.phases.iter().map(|p| p.number.to_string()).collect();
            TransitionError::Invalid(format!("there is no Phase {n} in the playbook (phases: {})", numbers.join(", ")))
        })?,
        None if index == 0 => {
            return Err(TransitionError::Invalid(format!(
                "{} is the first phase; there is no earlier phase to reopen",
                phase_title(&playbook.phases[0])
            )));
        }
        None => index - 1,
    };
    if target >= index {
        return Err(TransitionError::Invalid(format!(
            "reopen goes back to an earlier phase; Phase {} is not before the current {}",
            playbook.phases[target].number,
            phase_title(&playbook.phases[index])
        )));
    }
    let phase = &playbook.phases[target];
    if phase.coming_soon() {
        return Err(TransitionError::Refused(vec![Reason::new(
            "coming-soon",
            format!("{} is coming soon and cannot be entered", phase_title(phase)),
        )]));
    }
    let transition =
        Transition { action: Action::Reopen, from, to: phase.number, at: stamp.at.clone(), by: stamp.by.clone(), reason: Some(reason) };
    Ok((push(state, Some(phase.number), transition.clone()), transition))
}

/// Block work on the current phase, with a reason.
pub fn block(
    playbook: &Playbook,
    state: &ProjectState,
    stamp: &Stamp,
    reason: &str,
) -> Result<(ProjectState, Transition), TransitionError> {
    let reason = reason_text(reason)?;
    let index = current_index(playbook, state).map_err(TransitionError::Invalid)?;
    let number = playbook.phases[index].number;
    if state.blocked {
        let why = state.blocked_reason.as_deref().unwrap_or("no reason recorded");
        return Err(TransitionError::Refused(vec![Reason::new("already-blocked", format!("Phase {number} is already blocked: {why}"))]));
    }
    let transition = Transition {
        action: Action::Block,
        from: number,
        to: number,
        at: stamp.at.clone(),
        by: stamp.by.clone(),
        reason: Some(reason.clone()),
    };
    let mut next = push(state, state.current_phase.or(Some(number)), transition.clone());
    next.blocked = true;
    next.blocked_reason = Some(reason);
    Ok((next, transition))
}

/// Unblock the current phase (a reason is recorded when given).
pub fn unblock(
    playbook: &Playbook,
    state: &ProjectState,
    stamp: &Stamp,
    reason: Option<&str>,
) -> Result<(ProjectState, Transition), TransitionError> {
    let index = current_index(playbook, state).map_err(TransitionError::Invalid)?;
    let number = playbook.phases[index].number;
    if !state.blocked {
        return Err(TransitionError::Refused(vec![Reason::new("not-blocked", format!("Phase {number} is not blocked"))]));
    }
    let transition = Transition {
        action: Action::Unblock,
        from: number,
        to: number,
        at: stamp.at.clone(),
        by: stamp.by.clone(),
        reason: optional_reason(reason),
    };
    let mut next = push(state, state.current_phase.or(Some(number)), transition.clone());
    next.blocked = false;
    next.blocked_reason = None;
    Ok((next, transition))
}

fn push(state: &ProjectState, current: Option<u32>, transition: Transition) -> ProjectState {
    let mut next = state.clone();
    next.current_phase = current;
    next.history.push(transition);
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playbook;

    const PB: &str = "# T\n\n## Phase 1: Discover\n\n### Discovery items\n\n**Basics**\n\n#### country\n\n* **Ask:** Which country?\n* **Why:** x\n* **Required:** yes\n* **Type:** text\n* **Impact:** informational\n\n#### notes\n\n* **Ask:** Notes?\n* **Why:** x\n* **Required:** no\n* **Type:** text\n* **Impact:** informational\n\n### Activities\n\n#### interview\n\nTalk to people.\n\n### Gap analysis\n\n* Every Discovery item is recorded.\n* `notes` is recorded.\n* Every stakeholder was interviewed.\n\n### Output\n\n**Discovery Report**, with these sections:\n\n1. **Discovered facts** — all of them.\n\n## Phase 2: Build\n\n### Activities\n\n#### 1. compile\n\n* **Side effects:** workspace — files.\n\n```sh run\ntrue\n```\n\n### Gap analysis\n\n* Activity 1 (compile) exited clean.\n\n## Phase 3: Later\n\n### Discovery items\n\n_(to be added)_\n\n### Activities\n\n_(to be added)_\n";

    fn stamp() -> Stamp {
        Stamp { at: "2026-01-01T00:00:00.000Z".into(), by: "Ada".into() }
    }

    fn codes(gate: &Gate) -> Vec<&str> {
        gate.reasons.iter().map(|r| r.code).collect()
    }

    #[test]
    fn the_gate_lists_every_reason_and_holds_when_they_are_gone() {
        let pb = playbook::parse(PB);
        let empty = Case::parse("playbook: p.md\nanswers: {}\n");
        let state = ProjectState::default();
        let gate = gate(&pb, &empty, &state, &Facts::default()).unwrap();
        assert_eq!(codes(&gate), ["missing-item", "no-report", "gap-check"]);
        assert!(gate.reasons[2].message.contains("`notes`"), "{:?}", gate.reasons);
        assert!(gate.reasons[0].message.contains("`country`") && gate.reasons[0].message.contains("Which country?"));
        assert_eq!(gate.report.as_deref(), Some("Discovery Report"));
        assert_eq!(gate.checklist.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(), ["interview", "Every stakeholder was interviewed."]);
        assert_eq!(gate.gap_checks.iter().map(|c| c.status).collect::<Vec<_>>(), [GapStatus::Failed, GapStatus::Failed, GapStatus::Manual]);

        let case = Case::parse("playbook: p.md\nanswers:\n  country: Aurelia\n  notes: !deferred later\n");
        let draft = [ReportFact { version: 1, status: ReportStatus::Draft, case_hash: Some(case.answers_hash()) }];
        let g = super::gate(&pb, &case, &state, &Facts { reports: &draft, ..Facts::default() }).unwrap();
        assert_eq!(codes(&g), ["report-not-approved"]);
        let approved = [ReportFact { version: 1, status: ReportStatus::Approved, case_hash: Some(case.answers_hash()) }];
        let g = super::gate(&pb, &case, &state, &Facts { reports: &approved, ..Facts::default() }).unwrap();
        assert!(g.holds, "{:?}", g.reasons);
        assert_eq!((g.required, g.answered), (1, 1));

        let changed = Case::parse("playbook: p.md\nanswers:\n  country: Ruritania\n  notes: !deferred later\n");
        let g = super::gate(&pb, &changed, &state, &Facts { reports: &approved, ..Facts::default() }).unwrap();
        assert_eq!(codes(&g), ["report-stale"]);
        assert!(g.reasons[0].message.contains("answers changed since approval"));

        let (next, t) = complete(
            &pb,
            &state,
            &super::gate(&pb, &case, &state, &Facts { reports: &approved, ..Facts::default() }).unwrap(),
            &stamp(),
            None,
        )
        .unwrap();
        assert_eq!((next.current_phase, t.from, t.to, t.action), (Some(2), 1, 2, Action::Complete));
        let blocked = ProjectState { blocked: true, blocked_reason: Some("wait".into()), ..ProjectState::default() };
        let g = super::gate(&pb, &case, &blocked, &Facts { reports: &approved, ..Facts::default() }).unwrap();
        assert_eq!(codes(&g), ["blocked"]);
        assert!(matches!(complete(&pb, &blocked, &g, &stamp(), None), Err(TransitionError::Refused(r)) if r.len() == 1));
    }

    #[test]
    fn build_phases_need_a_whole_successful_build_and_the_next_phase_must_exist() {
        let pb = playbook::parse(PB);
        let case = Case::parse("playbook: p.md\nanswers:\n  country: A\n");
        let state = ProjectState { current_phase: Some(2), ..ProjectState::default() };
        let g = gate(&pb, &case, &state, &Facts::default()).unwrap();
        assert!(g.build_phase && g.report.is_none());
        assert_eq!(codes(&g), ["no-build", "next-coming-soon"]);
        let step = |status: &str| StepFact { activity: "compile".into(), status: status.into(), duration_ms: Some(5) };
        let failed = BuildFact { id: "j1".into(), status: "failed".into(), steps: vec![step("failed")] };
        let g = gate(&pb, &case, &state, &Facts { newest_build: Some(&failed), ..Facts::default() }).unwrap();
        assert_eq!(codes(&g), ["build-failed", "next-coming-soon"]);
        assert!(g.reasons[0].message.contains("at compile"));
        let ok = BuildFact { id: "j2".into(), status: "succeeded".into(), steps: vec![step("skipped")] };
        let g = gate(&pb, &case, &state, &Facts { newest_build: Some(&ok), ..Facts::default() }).unwrap();
        assert_eq!(codes(&g), ["next-coming-soon"]);
        assert_eq!(g.gap_checks[0].status, GapStatus::Passed);
        assert!(matches!(complete(&pb, &state, &g, &stamp(), None), Err(TransitionError::Refused(_))));
    }

    #[test]
    fn outputs_declare_reports_by_bold_name_or_phase_name() {
        let md = "## Phase 1: Scoping\n\n### Output\n\nThe phase ends with a short **Scoping Summary Report** that the sponsor signs.\n\n## Phase 2: Build\n\n### Output\n\nA page listing what was built.\n\n## Phase 3: Run\n\n### Output\n\n(none)\n\n## Phase 4: Later\n\n### Output\n\n_(to be added)_\n\n## Phase 5: Bare\n";
        let pb = playbook::parse(md);
        let names: Vec<Option<String>> = pb.phases.iter().map(report_name).collect();
        assert_eq!(names, [Some("Scoping Summary Report".into()), Some("Build Report".into()), None, None, None]);
        assert_eq!(report_name(&playbook::parse(PB).phases[0]).as_deref(), Some("Discovery Report"));
    }

    #[test]
    fn reopen_block_and_unblock_record_their_reasons() {
        let pb = playbook::parse(PB);
        let state = ProjectState { current_phase: Some(2), ..ProjectState::default() };
        assert!(matches!(reopen(&pb, &state, None, &stamp(), "  "), Err(TransitionError::Invalid(_))));
        assert!(matches!(reopen(&pb, &state, Some(9), &stamp(), "x"), Err(TransitionError::Invalid(m)) if m.contains("no Phase 9")));
        assert!(matches!(reopen(&pb, &state, Some(2), &stamp(), "x"), Err(TransitionError::Invalid(_))));
        let (s, t) = reopen(&pb, &state, None, &stamp(), "the country changed").unwrap();
        assert_eq!((s.current_phase, t.from, t.to, t.reason.as_deref()), (Some(1), 2, 1, Some("the country changed")));
        assert!(matches!(reopen(&pb, &s, None, &stamp(), "x"), Err(TransitionError::Invalid(m)) if m.contains("first phase")));

        let (b, _) = block(&pb, &s, &stamp(), "waiting for sign-off").unwrap();
        assert!(b.blocked && b.blocked_reason.as_deref() == Some("waiting for sign-off"));
        assert!(matches!(block(&pb, &b, &stamp(), "again"), Err(TransitionError::Refused(_))));
        let (u, t) = unblock(&pb, &b, &stamp(), Some("signed")).unwrap();
        assert!(!u.blocked && u.blocked_reason.is_none() && t.action == Action::Unblock);
        assert_eq!(u.history.len(), 3);
        assert!(matches!(unblock(&pb, &u, &stamp(), None), Err(TransitionError::Refused(_))));

        let unknown = ProjectState { current_phase: Some(7), ..ProjectState::default() };
        assert!(current_index(&pb, &unknown).unwrap_err().contains("current phase is 7"));
    }
}
