//! Builds from the editor: the run and stop commands, trust, `playbook/buildEvent`
//! notifications in order, `playbook/buildEvents` replay and `$/progress`.
//!
//! A build runs on its own thread through the engine (the same `run_build` as the CLI); its
//! events travel through one channel to one task that forwards them, so notifications leave
//! in id order and the request handlers never wait for a build. Code lenses and the status
//! follow from the files the build writes (`Msg::BuildsChanged`), not from the events.

use crate::actor::{Handle, Msg};
use crate::world::{Kind, World};
use playbook_engine::build::job::{builds_dir, find_job};
use playbook_engine::build::{BuildOptions, BuildOutcome, CancelToken, Event, EventKind, events, run_build};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::notification::Notification;
use tower_lsp_server::ls_types::{NumberOrString, ProgressToken, Uri};

pub const RUN_BUILD: &str = "playbook.runBuild";
pub const RUN_ACTIVITY: &str = "playbook.runActivity";
pub const STOP_BUILD: &str = "playbook.stopBuild";

/// How long the build's events may wait for the client to accept a progress token.
const PROGRESS_CREATE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// What the server answers when asked to run something in a workspace not trusted.
pub const UNTRUSTED: &str = "This workspace is not trusted, so the playbook server runs nothing in it. \
     Trust the workspace in your editor (the client then sends `trustedWorkspace: true`) to run builds.";

/// `playbook/buildEvent`: one build event, with the case it belongs to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BuildEventParams {
    /// The working case the job builds.
    pub uri: String,
    #[serde(flatten)]
    pub event: Event,
}

pub enum BuildEventNotification {}

impl Notification for BuildEventNotification {
    type Params = BuildEventParams;
    const METHOD: &'static str = "playbook/buildEvent";
}

/// `playbook.runBuild` / `playbook.runActivity` arguments.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunArgs {
    /// A working case, or a playbook that exactly one case uses. Optional when the workspace
    /// has exactly one case.
    #[serde(default)]
    pub uri: Option<Uri>,
    /// The working case, when `uri` is a playbook several cases use.
    #[serde(default)]
    pub case: Option<Uri>,
    /// Run only this Activity (required by `playbook.runActivity`).
    #[serde(default)]
    pub activity: Option<String>,
    /// Stop before the first remote Activity.
    #[serde(default)]
    pub local: bool,
    /// Run steps even when unchanged since their last success.
    #[serde(default)]
    pub force: bool,
}

/// `playbook.stopBuild` arguments: a case or a job; neither stops every running build.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StopArgs {
    #[serde(default)]
    pub uri: Option<Uri>,
    #[serde(default)]
    pub job: Option<String>,
}

/// `playbook/buildEvents` parameters.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplayParams {
    pub job: String,
    /// Events with a greater id are returned (0: all).
    #[serde(default)]
    pub after: u64,
    /// The case the job belongs to (else every known case folder is searched).
    #[serde(default)]
    pub uri: Option<Uri>,
}

struct Running {
    case_uri: String,
    job: Option<String>,
    cancel: CancelToken,
    progress: Option<ProgressToken>,
}

/// The builds this server started, by case folder (one at a time per case).
pub struct Builds {
    running: Mutex<HashMap<PathBuf, Running>>,
    client: Client,
    actor: Handle,
    /// The client supports `$/progress` that the server creates.
    progress: std::sync::atomic::AtomicBool,
}

/// What travels from the build thread to the forwarding task.
enum Update {
    Event(Event),
    Finished(Result<BuildOutcome, String>),
}

impl Builds {
    pub fn new(client: Client, actor: Handle) -> Arc<Builds> {
        Arc::new(Builds { running: Mutex::new(HashMap::new()), client, actor, progress: std::sync::atomic::AtomicBool::new(false) })
    }

    pub fn set_progress_support(&self, supported: bool) {
        self.progress.store(supported, std::sync::atomic::Ordering::Relaxed);
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, Running>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Start a build; answers `{job, uri}` once the job exists (its events follow as notifications).
    pub async fn run(
        self: &Arc<Self>,
        world: &World,
        args: RunArgs,
        activity_required: bool,
        work_done_token: Option<ProgressToken>,
    ) -> Result<serde_json::Value, String> {
        if !world.trusted {
            return Err(UNTRUSTED.to_string());
        }
        if activity_required && args.activity.as_deref().is_none_or(str::is_empty) {
            return Err(format!("`{RUN_ACTIVITY}` needs `activity`: the name of the Activity to run"));
        }
        let (case_path, case_uri) = resolve_case(world, args.uri.as_ref(), args.case.as_ref())?;
        let case_dir = case_path.parent().map(Path::to_path_buf).unwrap_or_default();
        let cancel = CancelToken::new();
        {
            let mut running = self.running();
            if let Some(r) = running.get(&case_dir) {
                let job = r.job.as_deref().unwrap_or("starting");
                return Err(format!("a build of {} is already running (job {job}); stop it first", r.case_uri));
            }
            running.insert(
                case_dir.clone(),
                Running { case_uri: case_uri.as_str().to_string(), job: None, cancel: cancel.clone(), progress: None },
            );
        }
        let options = BuildOptions { local_only: args.local, activity: args.activity.clone(), force: args.force, secret_names: Vec::new() };
        let (updates_tx, updates_rx) = mpsc::unbounded_channel();
        let (started_tx, started_rx) = oneshot::channel();
        let events_tx = updates_tx.clone();
        let observer: playbook_engine::build::Observer = Box::new(move |event: &Event| {
            let _ = events_tx.send(Update::Event(event.clone()));
        });
        let thread_cancel = cancel.clone();
        let thread_case = case_path.clone();
        let spawned = std::thread::Builder::new().name("playbook-build".into()).spawn(move || {
            let registry = playbook_engine::handlers::registry();
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run_build(&thread_case, &options, &registry, &thread_cancel, Some(observer))
            }))
            .unwrap_or_else(|_| Err("the build engine panicked; see the server log".to_string()));
            let _ = updates_tx.send(Update::Finished(outcome));
        });
        if let Err(e) = spawned {
            self.running().remove(&case_dir);
            return Err(format!("cannot start a build thread: {e}"));
        }
        let forwarder = Forwarder {
            builds: self.clone(),
            case_dir,
            case_uri: case_uri.as_str().to_string(),
            started: Some(started_tx),
            progress: work_done_token,
            total_steps: 0,
            finished_steps: 0,
        };
        tokio::spawn(forwarder.run(updates_rx));
        match started_rx.await {
            Ok(Ok(job)) => Ok(serde_json::json!({ "job": job, "uri": case_uri.as_str() })),
            Ok(Err(e)) => Err(e),
            Err(_) => Err("the build ended before it started".to_string()),
        }
    }

    /// Cancel running builds (of a case, or one job, or all); answers `{stopped: [job ids]}`.
    pub fn stop(&self, world: &World, args: StopArgs) -> Result<serde_json::Value, String> {
        let case_dir = match &args.uri {
            Some(uri) => Some(resolve_case(world, Some(uri), None)?.0.parent().map(Path::to_path_buf).unwrap_or_default()),
            None => None,
        };
        let mut stopped = Vec::new();
        for (dir, running) in self.running().iter() {
            let matches_case = case_dir.as_ref().is_none_or(|d| d == dir);
            let matches_job = args.job.as_ref().is_none_or(|j| running.job.as_ref() == Some(j));
            if matches_case && matches_job {
                running.cancel.cancel();
                stopped.extend(running.job.clone());
            }
        }
        Ok(serde_json::json!({ "stopped": stopped }))
    }

    /// `window/workDoneProgress/cancel`: the progress's cancel button stops its build.
    pub fn cancel_progress(&self, token: &ProgressToken) {
        for running in self.running().values() {
            if running.progress.as_ref() == Some(token) {
                running.cancel.cancel();
            }
        }
    }
}

/// Forwards one build's updates to the client in order; owns its `$/progress`.
struct Forwarder {
    builds: Arc<Builds>,
    case_dir: PathBuf,
    case_uri: String,
    started: Option<oneshot::Sender<Result<String, String>>>,
    progress: Option<ProgressToken>,
    total_steps: usize,
    finished_steps: usize,
}

impl Forwarder {
    async fn run(mut self, mut updates: mpsc::UnboundedReceiver<Update>) {
        // The summary is held back until the engine has finished the job, so that a client
        // that starts another build on seeing it is not told one is still running.
        let mut summary = None;
        while let Some(update) = updates.recv().await {
            match update {
                Update::Event(event) if event.kind == EventKind::Summary => summary = Some(event),
                Update::Event(event) => self.event(event).await,
                Update::Finished(outcome) => {
                    self.builds.running().remove(&self.case_dir);
                    self.builds.actor.send(Msg::BuildsChanged(self.case_dir.clone()));
                    // Progress ends first: a client that sees the summary sees a finished build.
                    self.finished(outcome).await;
                    if let Some(summary) = summary.take() {
                        self.event(summary).await;
                    }
                    return;
                }
            }
        }
        self.builds.running().remove(&self.case_dir);
    }

    async fn event(&mut self, event: Event) {
        let client = self.builds.client.clone();
        if event.kind == EventKind::JobStart {
            if let Some(r) = self.builds.running().get_mut(&self.case_dir) {
                r.job = Some(event.job.clone());
            }
            if let Some(started) = self.started.take() {
                let _ = started.send(Ok(event.job.clone()));
            }
            self.total_steps = find_job(&self.case_dir, &event.job).map_or(0, |j| j.record.steps.len());
            self.begin_progress(&event).await;
            // The new job is on disk: lenses show it running.
            self.builds.actor.send(Msg::BuildsChanged(self.case_dir.clone()));
        }
        let step_ended = matches!(event.kind, EventKind::StepDone | EventKind::StepFail | EventKind::StepSkip);
        let step_started = event.kind == EventKind::StepStart;
        if let Some(token) = self.progress.clone()
            && (step_started || step_ended)
        {
            if step_ended {
                self.finished_steps += 1;
            }
            let activity = event.activity.as_deref().unwrap_or_default();
            let message = match event.kind {
                EventKind::StepStart => format!("→ {activity}"),
                EventKind::StepDone => format!("✓ {activity}"),
                EventKind::StepSkip => format!("○ {activity}"),
                _ => format!("✗ {activity}"),
            };
            let percentage = (self.finished_steps * 100).checked_div(self.total_steps).map(|p| p.min(100) as u32);
            let report = WorkDoneProgressReport { cancellable: Some(true), message: Some(message), percentage };
            send_progress(&client, token, WorkDoneProgress::Report(report)).await;
        }
        let params = BuildEventParams { uri: self.case_uri.clone(), event };
        client.send_notification::<BuildEventNotification>(params).await;
        if step_started || step_ended {
            // job.json is written before the event: lenses read the step's new status.
            self.builds.actor.send(Msg::BuildsChanged(self.case_dir.clone()));
        }
    }

    async fn begin_progress(&mut self, job_start: &Event) {
        if self.progress.is_none() && self.builds.progress.load(std::sync::atomic::Ordering::Relaxed) {
            let token = NumberOrString::String(format!("playbook/build/{}", job_start.job));
            // Events wait behind this answer: a client that never answers costs progress, not events.
            let created = tokio::time::timeout(PROGRESS_CREATE_TIMEOUT, self.builds.client.create_work_done_progress(token.clone())).await;
            match created {
                Ok(Ok(())) => self.progress = Some(token),
                Ok(Err(e)) => tracing::debug!("client refused a progress token: {e}"),
                Err(_) => tracing::warn!("client did not answer window/workDoneProgress/create; the build runs without progress"),
            }
        }
        let Some(token) = self.progress.clone() else { return };
        if let Some(r) = self.builds.running().get_mut(&self.case_dir) {
            r.progress = Some(token.clone());
        }
        let begin = WorkDoneProgressBegin {
            title: "Playbook build".into(),
            cancellable: Some(true),
            message: job_start.message.clone(),
            percentage: Some(0),
        };
        send_progress(&self.builds.client, token, WorkDoneProgress::Begin(begin)).await;
    }

    async fn finished(&mut self, outcome: Result<BuildOutcome, String>) {
        let client = &self.builds.client;
        let message = match &outcome {
            Ok(o) => {
                for warning in &o.warnings {
                    tracing::warn!("build {}: {warning}", o.job_id);
                }
                format!("{} {}", o.job_id, o.status.as_str())
            }
            Err(e) => e.clone(),
        };
        match (self.started.take(), outcome) {
            // It failed before it had a job: the command answers with the reason.
            (Some(started), Err(e)) => {
                let _ = started.send(Err(e));
            }
            (None, Err(e)) => client.show_message(tower_lsp_server::ls_types::MessageType::ERROR, format!("playbook build: {e}")).await,
            (_, Ok(_)) => {}
        }
        if let Some(token) = self.progress.take() {
            send_progress(client, token, WorkDoneProgress::End(WorkDoneProgressEnd { message: Some(message) })).await;
        }
    }
}

use tower_lsp_server::ls_types::{
    ProgressParams, ProgressParamsValue, WorkDoneProgress, WorkDoneProgressBegin, WorkDoneProgressEnd, WorkDoneProgressReport,
};

async fn send_progress(client: &Client, token: ProgressToken, value: WorkDoneProgress) {
    let params = ProgressParams { token, value: ProgressParamsValue::WorkDone(value) };
    client.send_notification::<tower_lsp_server::ls_types::notification::Progress>(params).await;
}

/// The working case a command means: `case`, or `uri` when it is a case, or the one case that
/// uses the playbook `uri`, or the workspace's only case.
pub fn resolve_case(world: &World, uri: Option<&Uri>, case: Option<&Uri>) -> Result<(PathBuf, Uri), String> {
    let path_of = |doc: &crate::world::Document| {
        doc.path.clone().map(|p| (p, doc.uri.clone())).ok_or_else(|| format!("{} is not a file on disk", doc.uri.as_str()))
    };
    if let Some(case) = case.or(uri.filter(|u| world.get(u).is_some_and(|d| d.kind == Kind::Case))) {
        let doc = world.get(case).filter(|d| d.kind == Kind::Case).ok_or_else(|| format!("{} is not a working case", case.as_str()))?;
        return path_of(doc);
    }
    let candidates = match uri {
        Some(uri) => {
            let doc = world.get(uri).ok_or_else(|| format!("{} is not a playbook or working case this server knows", uri.as_str()))?;
            world.cases_using(&doc.uri)
        }
        None => {
            let mut cases: Vec<_> = world.docs.values().filter(|d| d.kind == Kind::Case).cloned().collect();
            cases.sort_by(|a, b| a.uri.as_str().cmp(b.uri.as_str()));
            cases
        }
    };
    match candidates.as_slice() {
        [one] => path_of(one),
        [] => Err("no working case to build: open a working case (or name one with `case`)".to_string()),
        many => Err(format!(
            "several working cases could be built ({}); name one with `case`",
            many.iter().map(|d| d.uri.as_str()).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// `playbook/buildEvents`: a job's events after `after`, read from its events.jsonl.
pub fn replay(world: &World, params: &ReplayParams) -> Result<Vec<BuildEventParams>, String> {
    // A job id, not a path: replay reads only the builds of known cases.
    if params.job.is_empty() || !params.job.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(format!("`{}` is not a job id", params.job));
    }
    let mut cases: Vec<(PathBuf, String)> = Vec::new();
    if let Some(uri) = &params.uri {
        let (path, uri) = resolve_case(world, Some(uri), None)?;
        cases.push((path, uri.as_str().to_string()));
    } else {
        cases.extend(
            world.docs.values().filter(|d| d.kind == Kind::Case).filter_map(|d| Some((d.path.clone()?, d.uri.as_str().to_string()))),
        );
    }
    for (case_path, case_uri) in cases {
        let Some(dir) = case_path.parent() else { continue };
        if builds_dir(dir).join(&params.job).join("job.json").is_file() {
            let job = find_job(dir, &params.job)?;
            let events = events::read_events(&job.events_path(), params.after)?;
            return Ok(events.into_iter().map(|event| BuildEventParams { uri: case_uri.clone(), event }).collect());
        }
    }
    Err(format!("no job `{}` beside any working case this server knows", params.job))
}
