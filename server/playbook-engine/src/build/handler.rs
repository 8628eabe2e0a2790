//! Handlers run one Activity. The registry finds one by Activity name; an Activity without a
//! named handler runs its `sh run` / `bash run` block through [`ShRunHandler`]; an Activity with
//! neither fails with `no-handler`.

use super::cancel::CancelToken;
use super::events::{Draft, EventKind, EventSink, Stream};
use playbook_core::case::Case;
use playbook_core::playbook::{Activity, Playbook};
use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Everything a handler may use while running one step.
pub struct StepContext<'a> {
    pub activity: &'a Activity,
    /// Position in the phase's Activities (0-based), as events report it.
    pub index: u32,
    /// The job's `workspace/` directory: the step's working directory.
    pub workspace: &'a Path,
    /// `PLAYBOOK_<ID>` variables, one per answer.
    pub env: &'a [(String, String)],
    pub events: &'a EventSink,
    pub cancel: &'a CancelToken,
    /// The case as saved, its file, its folder, its playbook and the phase being built.
    pub case: &'a Case,
    pub case_path: &'a Path,
    pub case_text: &'a str,
    pub case_dir: &'a Path,
    pub playbook: &'a Playbook,
    pub phase_number: Option<u32>,
}

impl StepContext<'_> {
    /// A `log` event for this step.
    pub fn log(&self, stream: Option<Stream>, message: String) {
        let draft = Draft {
            activity: Some(self.activity.name.text.clone()),
            index: Some(self.index),
            message: Some(message),
            stream,
            ..Draft::default()
        };
        self.events.emit(EventKind::Log, draft);
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    Succeeded,
    Failed(String),
    /// Stopped by the cancellation token.
    Cancelled,
}

pub trait Handler: Send + Sync {
    fn run(&self, ctx: &StepContext<'_>) -> StepOutcome;

    /// Environment settings that change what the step does or produces (a provider, an image
    /// path, an engine). Their values are part of the step's content hash, so changing one
    /// reruns the step instead of skipping it as unchanged. Never secrets: the hash is stored.
    fn settings(&self) -> &'static [&'static str] {
        &[]
    }
}

/// Handlers by Activity name.
#[derive(Default)]
pub struct Registry {
    handlers: HashMap<String, Box<dyn Handler>>,
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    pub fn register(&mut self, activity: &str, handler: Box<dyn Handler>) {
        self.handlers.insert(activity.to_string(), handler);
    }

    /// The settings of an Activity's registered handler (none for `sh run` blocks: their
    /// environment is the case's answers).
    pub fn settings_for(&self, activity: &Activity) -> &'static [&'static str] {
        self.handlers.get(&activity.name.text).map_or(&[], |h| h.settings())
    }

    /// The handler for an Activity: a registered one, else its run block, else a `no-handler` error.
    pub fn handler_for(&self, activity: &Activity) -> Result<&dyn Handler, String> {
        if let Some(h) = self.handlers.get(&activity.name.text) {
            return Ok(h.as_ref());
        }
        if activity.run.is_some() {
            return Ok(&ShRunHandler);
        }
        Err(format!("no-handler: Activity `{}` has no built-in handler and no ```sh run``` block; it is a manual step", activity.name.text))
    }
}

/// Runs the Activity's `sh run` (or `bash run`) block with `sh -c` (`bash -c`) through
/// [`run_streamed`] (job workspace, own process group); answers arrive only as environment variables.
pub struct ShRunHandler;

/// How long the group has to exit after SIGTERM before SIGKILL.
const TERM_GRACE: Duration = Duration::from_millis(500);

impl Handler for ShRunHandler {
    fn run(&self, ctx: &StepContext<'_>) -> StepOutcome {
        let Some(run) = &ctx.activity.run else {
            return StepOutcome::Failed(format!("no-handler: Activity `{}` has no run block", ctx.activity.name.text));
        };
        let shell = if run.shell == "bash" { "bash" } else { "sh" };
        let mut command = Command::new(shell);
        // The script sees exactly the case's answers, not `PLAYBOOK_*` left in our environment.
        for (name, _) in std::env::vars_os() {
            if name.to_str().is_some_and(|n| n.starts_with("PLAYBOOK_")) {
                command.env_remove(name);
            }
        }
        command.arg("-c").arg(&run.script.text).envs(ctx.env.iter().map(|(k, v)| (k, v)));
        match run_streamed(ctx, command, shell, None) {
            Ok(Ran::Exited(status, _)) if status.success() => StepOutcome::Succeeded,
            Ok(Ran::Exited(status, _)) => StepOutcome::Failed(describe_exit(status)),
            Ok(Ran::Cancelled) => StepOutcome::Cancelled,
            Err(e) => StepOutcome::Failed(e),
        }
    }
}

/// A reader that keeps a copy of everything read from it (the last bytes only).
struct Tee<R> {
    inner: R,
    kept: Arc<Mutex<VecDeque<u8>>>,
}

const KEPT_BYTES: usize = 64 * 1024;

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Ok(mut kept) = self.kept.lock() {
            kept.extend(&buf[..n]);
            let excess = kept.len().saturating_sub(KEPT_BYTES);
            kept.drain(..excess);
        }
        Ok(n)
    }
}

/// How many of a process's last lines [`Ran::Exited`] keeps for error messages.
pub const RAN_TAIL_LINES: usize = 40;

/// How a process run by [`run_streamed`] ended.
pub enum Ran {
    Exited(ExitStatus, String),
    Cancelled,
}

/// The last `n` lines of a text.
pub fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Run a command in the workspace, in a process group of its own, its output streamed as log
/// events (the same helpers as `sh run` steps) and its last lines kept for error messages.
/// With a `limit`, a command still running after it is killed and reported (a compose CLI can
/// wait forever, e.g. on a health condition an engine never evaluates).
pub fn run_streamed(ctx: &StepContext<'_>, mut command: Command, what: &str, limit: Option<Duration>) -> Result<Ran, String> {
    command.current_dir(ctx.workspace).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let mut child = command.spawn().map_err(|e| format!("cannot start {what}: {e}"))?;
    let kept = Arc::new(Mutex::new(VecDeque::new()));
    let readers = [
        child.stdout.take().map(|out| stream_lines(Tee { inner: out, kept: kept.clone() }, Stream::Stdout, ctx)),
        child.stderr.take().map(|err| stream_lines(Tee { inner: err, kept: kept.clone() }, Stream::Stderr, ctx)),
    ];
    let pgid = child.id();
    let started = std::time::Instant::now();
    let result = loop {
        if ctx.cancel.is_cancelled() {
            kill_group(pgid, &mut child);
            break Ok(None);
        }
        if let Some(limit) = limit
            && started.elapsed() >= limit
        {
            kill_group(pgid, &mut child);
            break Err(format!("{what} did not finish within {} s and was stopped", limit.as_secs()));
        }
        match child.try_wait() {
            Ok(Some(status)) => break Ok(Some(status)),
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => {
                kill_group(pgid, &mut child);
                break Err(format!("cannot wait for {what}: {e}"));
            }
        }
    };
    signal_group(pgid, libc::SIGKILL);
    for reader in readers.into_iter().flatten() {
        let _ = reader.join();
    }
    let output = kept.lock().map(|k| String::from_utf8_lossy(&k.iter().copied().collect::<Vec<u8>>()).into_owned()).unwrap_or_default();
    Ok(match result? {
        Some(status) => Ran::Exited(status, last_lines(&output, RAN_TAIL_LINES)),
        None => Ran::Cancelled,
    })
}

pub(crate) fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => "ended abnormally".to_string(),
    }
}

/// Forward each line of a pipe as a `log` event (invalid UTF-8 is replaced, not dropped).
pub(crate) fn stream_lines(pipe: impl Read + Send + 'static, stream: Stream, ctx: &StepContext<'_>) -> JoinHandle<()> {
    let events = ctx.events.clone();
    let activity = ctx.activity.name.text.clone();
    let index = ctx.index;
    std::thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf);
                    let line = line.strip_suffix('\n').unwrap_or(&line);
                    let line = line.strip_suffix('\r').unwrap_or(line);
                    let draft = Draft {
                        activity: Some(activity.clone()),
                        index: Some(index),
                        message: Some(line.to_string()),
                        stream: Some(stream),
                        ..Draft::default()
                    };
                    events.emit(EventKind::Log, draft);
                }
            }
        }
    })
}

pub(crate) fn signal_group(pgid: u32, signal: libc::c_int) -> bool {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else { return false };
    // SAFETY: signalling a process group we created; no memory is involved.
    unsafe { libc::kill(-pgid, signal) == 0 }
}

/// SIGTERM to the whole group, SIGKILL after [`TERM_GRACE`] if any member is left.
pub(crate) fn kill_group(pgid: u32, child: &mut Child) {
    signal_group(pgid, libc::SIGTERM);
    let deadline = Instant::now() + TERM_GRACE;
    while Instant::now() < deadline {
        let _ = child.try_wait(); // reap the shell so it does not count as a member
        if !signal_group(pgid, 0) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    signal_group(pgid, libc::SIGKILL);
    let _ = child.wait();
}
