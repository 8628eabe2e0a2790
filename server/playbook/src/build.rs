//! `playbook build`, `playbook events` and `playbook status`: the terminal shell over the
//! engine's builds.

use playbook_engine::build::cancel::cancel_on_interrupt;
use playbook_engine::build::events::complete_lines;
use playbook_engine::build::job::{Job, find_job, list_jobs, recover_interrupted};
use playbook_engine::build::{BuildOptions, CancelToken, Event, EventKind, JobStatus, Observer, run_build};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

const DEFAULT_CASE: &str = "working_case.yaml";

/// The case a command names: a file, a folder holding `working_case.yaml`, or by default
/// `working_case.yaml` in the current folder.
pub fn case_path(case: Option<PathBuf>) -> PathBuf {
    match case {
        Some(dir) if dir.is_dir() => dir.join(DEFAULT_CASE),
        Some(case) => case,
        None => PathBuf::from(DEFAULT_CASE),
    }
}

fn case_dir(case: &Path) -> PathBuf {
    playbook_engine::project::case_dir(case)
}

/// Exit code = job result: 0 succeeded, 1 failed or interrupted, 130 aborted, 2 could not start.
pub fn build(case: Option<PathBuf>, options: BuildOptions) -> ExitCode {
    let case = case_path(case);
    let cancel = CancelToken::new();
    cancel_on_interrupt(&cancel);
    let registry = playbook_engine::handlers::registry();
    let observer = terminal_observer();
    match run_build(&case, &options, &registry, &cancel, Some(observer)) {
        Ok(outcome) => {
            for w in &outcome.warnings {
                eprintln!("warning: {w}");
            }
            println!("job {} ({})", outcome.job_id, outcome.job_dir.display());
            match outcome.status {
                JobStatus::Succeeded => ExitCode::SUCCESS,
                JobStatus::Aborted => ExitCode::from(130),
                _ => ExitCode::from(1),
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Print each event as a terminal line; on a terminal, a spinner shows the running step below the log.
fn terminal_observer() -> Observer {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return Box::new(|event| {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", terminal_line(event));
            let _ = out.flush();
        });
    }
    let bar = indicatif::ProgressBar::new_spinner();
    if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
        bar.set_style(style);
    }
    Box::new(move |event| {
        bar.println(terminal_line(event));
        match event.kind {
            EventKind::StepStart => {
                bar.set_message(event.activity.clone().unwrap_or_default());
                bar.reset_elapsed();
                bar.enable_steady_tick(Duration::from_millis(100));
            }
            EventKind::StepDone | EventKind::StepFail | EventKind::StepSkip => {
                bar.disable_steady_tick();
                bar.set_message("");
            }
            EventKind::Summary => bar.finish_and_clear(),
            _ => {}
        }
    })
}

/// The terminal log: `▸ phase`, `→ step`, `· message`, `✓ step 2.3s`, `✗ step`.
pub fn terminal_line(event: &Event) -> String {
    let activity = event.activity.as_deref().unwrap_or("");
    let message = event.message.as_deref().unwrap_or("");
    let secs = event.duration_ms.map(|ms| format!(" {:.1}s", ms as f64 / 1000.0)).unwrap_or_default();
    match event.kind {
        EventKind::JobStart => format!("▸ {message}"),
        EventKind::StepStart => format!("→ {activity}"),
        EventKind::Log | EventKind::Progress => format!("  · {message}"),
        EventKind::StepDone => format!("✓ {activity}{secs}"),
        EventKind::StepFail => format!("✗ {activity}{secs} — {message}"),
        EventKind::StepSkip => format!("○ {activity} — skipped, {message}"),
        EventKind::Summary => format!("▸ {message}"),
    }
}

/// Print a job's events.jsonl; with `follow`, keep printing new lines until the job ends.
pub fn events(job: &str, case: Option<PathBuf>, follow: bool) -> ExitCode {
    let dir = case_dir(&case_path(case));
    let found = match find_job(&dir, job) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let path = found.events_path();
    let mut printed = 0usize;
    loop {
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", path.display());
                return ExitCode::from(2);
            }
        };
        let mut out = std::io::stdout().lock();
        for line in complete_lines(&bytes).skip(printed) {
            let _ = out.write_all(line);
            let _ = out.write_all(b"\n");
            printed += 1;
        }
        let _ = out.flush();
        drop(out);
        if !follow {
            return ExitCode::SUCCESS;
        }
        // The job is over when its record says so (a dead writer is marked interrupted first).
        let _ = recover_interrupted(&dir);
        let done = Job::load(&found.dir).map(|j| j.record.status.is_final()).unwrap_or(true);
        if done {
            let bytes = std::fs::read(&path).unwrap_or_default();
            let mut out = std::io::stdout().lock();
            for line in complete_lines(&bytes).skip(printed) {
                let _ = out.write_all(line);
                let _ = out.write_all(b"\n");
            }
            return ExitCode::SUCCESS;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Mark jobs left running by a dead process `interrupted` (said on stderr) and return every
/// job beside the case, oldest first.
pub fn recover_and_list(dir: &Path) -> Vec<Job> {
    match recover_interrupted(dir) {
        Ok(ids) => ids.iter().for_each(|id| eprintln!("marked job {id} interrupted: its process is gone")),
        Err(e) => eprintln!("warning: {e}"),
    }
    list_jobs(dir)
}

/// One line per job: id, status, start, steps.
pub fn print_builds(dir: &Path, jobs: &[Job]) {
    if jobs.is_empty() {
        println!("no builds in {}", dir.join(".playbook/builds").display());
    }
    for job in jobs {
        let r = &job.record;
        let steps: Vec<String> = r.steps.iter().map(|s| format!("{}={}", s.activity, s.status.as_str())).collect();
        println!("{}  {:<11}  {}  {}", r.id, r.status.as_str(), r.started, steps.join(" "));
    }
}
