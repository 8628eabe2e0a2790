//! One build: the current phase's Activities in playbook order as one job — local ones first,
//! remote ones only after every local one succeeded; abort on the first failure; skip a step
//! whose content hash equals its last success's (unless forced).

use super::cancel::CancelToken;
use super::events::{Draft, EventKind, EventSink, Observer};
use super::handler::{Registry, StepContext, StepOutcome};
use super::job::{Job, JobStatus, StepRecord, StepStatus, list_jobs, recover_interrupted};
use super::redact::Redactor;
use crate::time::{now_ms, rfc3339};
use crate::workspace::current_phase;
use playbook_core::case::{AnswerState, Case};
use playbook_core::hash::Fnv128;
use playbook_core::playbook::{Activity, Playbook};
use playbook_core::yaml::NodeKind;
pub use playbook_core::yaml::node_to_json;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Stop before the first remote Activity.
    pub local_only: bool,
    /// Run only this Activity of the current phase.
    pub activity: Option<String>,
    /// Run steps even when unchanged since their last success.
    pub force: bool,
    /// Environment variables to redact besides `*_TOKEN`, `*_KEY`, `*_SECRET`, `*_PASSWORD`.
    pub secret_names: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct BuildOutcome {
    pub job_id: String,
    pub job_dir: PathBuf,
    pub status: JobStatus,
    /// Problems recording the job (the build itself went on).
    pub warnings: Vec<String>,
}

/// The case, its playbook and the phase a build runs.
struct Plan {
    case_dir: PathBuf,
    case_text: String,
    case: Case,
    playbook_text: String,
    playbook: Playbook,
    phase: usize,
    warnings: Vec<String>,
}

fn load(case_path: &Path) -> Result<Plan, String> {
    let project = crate::project::load(case_path)?;
    let mut warnings = Vec::new();
    let number = current_phase(&project.case_dir, &mut |w| warnings.push(w));
    let phase = match number {
        Some(n) => project.playbook.phase_by_number(n).ok_or_else(|| format!("the current phase {n} is not in the playbook"))?,
        None => 0,
    };
    Ok(Plan {
        case_dir: project.case_dir,
        case_text: project.case_text,
        case: project.case,
        playbook_text: project.playbook_text,
        playbook: project.playbook,
        phase,
        warnings,
    })
}

/// Run a build of the case's current phase and record it as a job next to the case.
/// `observer` sees every event (already redacted) as it is written.
pub fn run_build(
    case_path: &Path,
    options: &BuildOptions,
    registry: &Registry,
    cancel: &CancelToken,
    observer: Option<Observer>,
) -> Result<BuildOutcome, String> {
    let plan = load(case_path)?;
    recover_interrupted(&plan.case_dir)?;
    let phase = &plan.playbook.phases[plan.phase];
    let activities: Vec<(u32, &Activity)> =
        phase.activities.iter().enumerate().map(|(i, &a)| (i as u32, &plan.playbook.activities[a])).collect();
    if let Some(name) = &options.activity
        && !activities.iter().any(|(_, a)| &a.name.text == name)
    {
        return Err(format!("no Activity `{name}` in Phase {}: {}", phase.number, phase.name.text));
    }
    let order = build_order(&activities);

    let mut previous = String::new();
    let steps: Vec<StepRecord> = order
        .iter()
        .map(|(index, activity)| {
            let settings = settings_values(registry.settings_for(activity), |name| std::env::var(name).ok());
            previous = step_hash(activity, &plan.playbook_text, &plan.case, &settings, &previous);
            StepRecord {
                activity: activity.name.text.clone(),
                index: *index,
                status: StepStatus::Pending,
                duration_ms: None,
                message: None,
                finished: None,
                hash: previous.clone(),
            }
        })
        .collect();
    let history = list_jobs(&plan.case_dir);
    // Dead writers were marked interrupted above, so a job still running has a live process.
    if let Some(running) = history.iter().find(|j| !j.record.status.is_final()) {
        return Err(format!("a build of this case is already running: job {} (pid {})", running.record.id, running.record.pid));
    }
    let last_success = last_success_hashes(&history);

    let mut job = Job::create(&plan.case_dir, Some(phase.number), steps)?;
    let mut warnings = plan.warnings.clone();
    // Skipped steps leave their outputs where the last build put them: start from its workspace.
    let seed =
        history.iter().rev().find(|j| j.record.steps.iter().any(|s| matches!(s.status, StepStatus::Succeeded | StepStatus::Skipped)));
    if let Some(seed) = seed
        && let Err(e) = copy_dir(&seed.workspace(), &job.workspace())
    {
        warnings.push(format!("cannot copy the workspace of job {}: {e}", seed.record.id));
    }
    let events = EventSink::open(&job.events_path(), &job.record.id, 0, Redactor::from_env(&options.secret_names), observer)?;
    let env = answers_env(&plan.case);
    let workspace = job.workspace();

    let start_message = match &options.activity {
        Some(only) => format!("Phase {}: {} — Activity `{only}` only", phase.number, phase.name.text),
        None if options.local_only => format!("Phase {}: {} — {} Activities, local ones only", phase.number, phase.name.text, order.len()),
        None => format!("Phase {}: {} — {} Activities", phase.number, phase.name.text, order.len()),
    };
    events.emit(EventKind::JobStart, Draft { message: Some(start_message), status: Some("running".into()), ..Draft::default() });
    for w in &warnings {
        events.emit(EventKind::Log, Draft { message: Some(w.clone()), ..Draft::default() });
    }

    let mut status = JobStatus::Succeeded;
    let (mut ran, mut skipped, mut failed) = (0, 0, 0);
    for (pos, (index, activity)) in order.iter().enumerate() {
        let name = &activity.name.text;
        let step = |message: Option<String>| Draft { activity: Some(name.clone()), index: Some(*index), message, ..Draft::default() };
        if cancel.is_cancelled() {
            status = JobStatus::Aborted;
            break;
        }
        if options.activity.as_ref().is_some_and(|only| only != name) {
            continue;
        }
        if activity.remote && options.local_only {
            events.emit(EventKind::Log, step(Some(format!("stopping before the first remote Activity `{name}` (local only)"))));
            break;
        }
        let hash = job.record.steps[pos].hash.clone();
        if !options.force && last_success.get(name.as_str()).is_some_and(|h| **h == hash) {
            job.record.steps[pos].status = StepStatus::Skipped;
            job.record.steps[pos].finished = Some(rfc3339(now_ms()));
            skipped += 1;
            save(&job, &mut warnings);
            events.emit(
                EventKind::StepSkip,
                Draft { status: Some("skipped".into()), ..step(Some("unchanged since its last success".into())) },
            );
            continue;
        }
        job.record.steps[pos].status = StepStatus::Running;
        save(&job, &mut warnings);
        events.emit(EventKind::StepStart, step(None));
        events.sync();
        let started = Instant::now();
        let outcome = match registry.handler_for(activity) {
            Ok(handler) => {
                let ctx = StepContext {
                    activity,
                    index: *index,
                    workspace: &workspace,
                    env: &env,
                    events: &events,
                    cancel,
                    case: &plan.case,
                    case_path,
                    case_text: &plan.case_text,
                    case_dir: &plan.case_dir,
                    playbook: &plan.playbook,
                    phase_number: Some(phase.number),
                };
                // A handler that panics fails its step; the job is still recorded.
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler.run(&ctx)))
                    .unwrap_or_else(|_| StepOutcome::Failed(format!("the handler for `{name}` panicked")))
            }
            Err(message) => StepOutcome::Failed(message),
        };
        let duration_ms = started.elapsed().as_millis() as u64;
        job.record.steps[pos].duration_ms = Some(duration_ms);
        ran += 1;
        let (kind, step_status, message) = match &outcome {
            StepOutcome::Succeeded => (EventKind::StepDone, StepStatus::Succeeded, None),
            StepOutcome::Failed(m) => (EventKind::StepFail, StepStatus::Failed, Some(m.clone())),
            StepOutcome::Cancelled => (EventKind::StepFail, StepStatus::Aborted, Some("stopped".to_string())),
        };
        job.record.steps[pos].status = step_status;
        job.record.steps[pos].message = message.as_ref().map(|m| events.redact(m));
        job.record.steps[pos].finished = Some(rfc3339(now_ms()));
        // job.json first: whoever reacts to the event reads the step's new status.
        save(&job, &mut warnings);
        events.emit(kind, Draft { duration_ms: Some(duration_ms), status: Some(step_status.as_str().into()), ..step(message) });
        events.sync();
        match outcome {
            StepOutcome::Succeeded => {}
            StepOutcome::Cancelled => {
                status = JobStatus::Aborted;
                break;
            }
            StepOutcome::Failed(_) => {
                failed += 1;
                // An Activity whose On failure says to go on (a report, say) is surfaced in
                // the log but does not fail the build.
                if !activity.aborts_on_failure {
                    events.emit(EventKind::Log, step(Some(format!("`{name}` continues on failure; the build goes on"))));
                    continue;
                }
                // Remote Activities come after every local one, so none has run yet.
                status = JobStatus::Failed;
                break;
            }
        }
    }

    let summary = format!("{} — {ran} ran, {skipped} skipped, {failed} failed", status.as_str());
    events.emit(EventKind::Summary, Draft { message: Some(summary), status: Some(status.as_str().into()), ..Draft::default() });
    events.sync();
    if let Some(e) = events.error() {
        warnings.push(e);
    }
    job.finish(status)?;
    Ok(BuildOutcome { job_id: job.record.id.clone(), job_dir: job.dir.clone(), status, warnings })
}

/// Playbook order, except that a remote Activity placed before a local one that aborts the
/// build on failure waits until after the last such local one (build-locally-first). A local
/// Activity that only continues on failure — the Build Report, say — keeps its place, so it can
/// come after the publishing steps it reports on.
fn build_order<'a>(activities: &[(u32, &'a Activity)]) -> Vec<(u32, &'a Activity)> {
    let last_local_abort = activities.iter().rposition(|(_, a)| !a.remote && a.aborts_on_failure);
    let mut order = Vec::with_capacity(activities.len());
    let mut deferred = Vec::new();
    for (pos, &item) in activities.iter().enumerate() {
        if item.1.remote && last_local_abort.is_some_and(|last| pos < last) {
            deferred.push(item);
        } else {
            order.push(item);
        }
        if Some(pos) == last_local_abort {
            order.append(&mut deferred);
        }
    }
    order
}

fn save(job: &Job, warnings: &mut Vec<String>) {
    if let Err(e) = job.save() {
        warnings.push(e);
    }
}

/// For each Activity, the hash of its newest successful (or skipped-as-unchanged) step.
fn last_success_hashes(jobs: &[Job]) -> HashMap<&str, &String> {
    let mut out = HashMap::new();
    for job in jobs {
        for step in &job.record.steps {
            if matches!(step.status, StepStatus::Succeeded | StepStatus::Skipped) {
                out.insert(step.activity.as_str(), &step.hash);
            }
        }
    }
    out
}

/// Each setting with its value in the environment (`None` when unset).
pub fn settings_values(names: &[&str], lookup: impl Fn(&str) -> Option<String>) -> Vec<(String, Option<String>)> {
    names.iter().map(|name| (name.to_string(), lookup(name))).collect()
}

/// The content hash of a step: its playbook text, its declared Input answers, its handler's
/// settings and the hash of the step before it (so a change upstream reruns everything after it).
pub fn step_hash(activity: &Activity, playbook_text: &str, case: &Case, settings: &[(String, Option<String>)], previous: &str) -> String {
    let mut h = Fnv128::default();
    h.field(playbook_text.get(activity.span.clone()).unwrap_or_default().as_bytes());
    for (name, value) in settings {
        h.field(name.as_bytes());
        h.field(value.as_deref().unwrap_or("<unset>").as_bytes());
    }
    for input in &activity.input_refs {
        h.field(input.text.as_bytes());
        match case.answer_entry(&input.text) {
            Some(entry) => {
                h.field(format!("{:?}", entry.state).as_bytes());
                h.field(node_to_json(&entry.value).to_string().as_bytes());
            }
            None => h.field(b"<none>"),
        }
    }
    h.field(previous.as_bytes());
    h.hex()
}

/// Every recorded answer as `PLAYBOOK_<ID>`: scalars as written, lists and maps as JSON.
/// Deferred, unknown and empty answers are left out.
pub fn answers_env(case: &Case) -> Vec<(String, String)> {
    let mut seen = HashSet::new();
    let mut env = Vec::new();
    for entry in &case.answers {
        if entry.state != AnswerState::Value || !seen.insert(entry.id.as_str()) {
            continue;
        }
        let value = match &entry.value.kind {
            NodeKind::Scalar(s) => s.value.clone(),
            NodeKind::Seq(_) | NodeKind::Map(_) => node_to_json(&entry.value).to_string(),
            NodeKind::Alias => continue,
        };
        env.push((env_name(&entry.id), value));
    }
    env
}

pub fn env_name(id: &str) -> String {
    let upper: String = id.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    format!("PLAYBOOK_{upper}")
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_dir(&src, &dst)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dst)?;
        } else {
            std::fs::copy(&src, &dst)?;
        }
    }
    Ok(())
}
