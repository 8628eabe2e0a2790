//! `playbook build`, `events` and `status` end to end: the fixture build that fails in its
//! second step, answers that look like shell code, secrets, and `kill -9` mid-build.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!("playbook-build-cli-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fixture(dir: &Path, case_yaml: Option<&str>) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/build");
    std::fs::copy(src.join("playbook.md"), dir.join("playbook.md")).unwrap();
    let case = dir.join("working_case.yaml");
    match case_yaml {
        Some(text) => std::fs::write(&case, text).unwrap(),
        None => drop(std::fs::copy(src.join("working_case.yaml"), &case).unwrap()),
    }
    case
}

fn playbook(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_playbook"));
    cmd.current_dir(dir).env_remove("DEPLOY_TOKEN");
    cmd
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The only job directory beside the case (panics when there is not exactly one).
fn job_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut jobs: Vec<PathBuf> =
        std::fs::read_dir(dir.join(".playbook/builds")).map_or(Vec::new(), |r| r.map(|e| e.unwrap().path()).collect());
    jobs.sort();
    jobs
}

/// Every line of events.jsonl, parsed (panics on a line that does not parse).
fn events(job: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(job.join("events.jsonl")).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("line {l:?}: {e}"))).collect()
}

fn activities_of(events: &[Value], kind: &str) -> Vec<String> {
    events.iter().filter(|e| e["kind"] == kind).map(|e| e["activity"].as_str().unwrap().to_string()).collect()
}

#[test]
fn a_failing_step_fails_the_build_and_nothing_after_it_runs() {
    let dir = TempDir::new("fail");
    fixture(&dir.0, None);
    let out = playbook(&dir.0).args(["build", "working_case.yaml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("→ say_hello") && text.contains("✓ say_hello") && text.contains("✗ fail_here"), "{text}");
    assert!(!text.contains("never_runs"), "{text}");

    let jobs = job_dirs(&dir.0);
    assert_eq!(jobs.len(), 1);
    let events = events(&jobs[0]);
    let ids: Vec<u64> = events.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    assert_eq!(activities_of(&events, "step_start"), ["say_hello", "fail_here"]);
    let fail = events.iter().position(|e| e["kind"] == "step_fail").unwrap();
    assert!(events[fail + 1..].iter().all(|e| e["kind"] == "summary"), "only the summary follows the failure");
    assert_eq!(events.last().unwrap()["status"], "failed");
    assert!(!jobs[0].join("workspace/never.txt").exists());
    let job: Value = serde_json::from_str(&std::fs::read_to_string(jobs[0].join("job.json")).unwrap()).unwrap();
    assert_eq!(job["status"], "failed");
    assert_eq!(job["steps"][2]["status"], "pending");
}

#[test]
fn an_answer_that_looks_like_shell_code_reaches_the_script_as_data() {
    let dir = TempDir::new("inject");
    let home = dir.0.join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("keep.txt"), "still here").unwrap();
    let answer = "$(touch x); rm -rf ~ `id`";
    fixture(&dir.0, Some("playbook: playbook.md\nanswers:\n  greeting: '$(touch x); rm -rf ~ `id`'\n"));
    let out = playbook(&dir.0).args(["build", "working_case.yaml"]).env("HOME", &home).env("PLAYBOOK_LANGUAGES", "stale").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let job = &job_dirs(&dir.0)[0];
    let stderr_logs: Vec<Value> = events(job).into_iter().filter(|e| e["stream"] == "stderr").collect();
    assert_eq!(stderr_logs[0]["message"], "languages: ", "an unanswered item is unset, not inherited");
    let stdout_logs: Vec<String> = events(job)
        .iter()
        .filter(|e| e["kind"] == "log" && e["stream"] == "stdout" && e["activity"] == "say_hello")
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(stdout_logs.first().map(String::as_str), Some(answer));
    assert_eq!(std::fs::read_to_string(job.join("workspace/hello.txt")).unwrap(), format!("{answer}\n"));
    for place in [job.join("workspace"), dir.0.clone(), home.clone()] {
        assert!(!place.join("x").exists(), "{} has an x", place.display());
    }
    assert!(home.join("keep.txt").exists());
    assert!(!stdout(&out).contains("uid="), "`id` ran");
}

#[test]
fn secret_values_never_reach_events_or_the_terminal() {
    let dir = TempDir::new("secret");
    fixture(&dir.0, None);
    let secret = "tok-8c1f3d9e-very-secret";
    let out = playbook(&dir.0).args(["build", "working_case.yaml"]).env("DEPLOY_TOKEN", secret).output().unwrap();
    let job = &job_dirs(&dir.0)[0];
    let log = std::fs::read_to_string(job.join("events.jsonl")).unwrap();
    assert!(log.contains("token: ***"), "the step did print the token: {log}");
    assert!(!log.contains(secret));
    assert!(stdout(&out).contains("· token: ***"));
    assert!(!stdout(&out).contains(secret) && !String::from_utf8_lossy(&out.stderr).contains(secret));
    assert!(!std::fs::read_to_string(job.join("job.json")).unwrap().contains(secret));
}

const SLOW_PLAYBOOK: &str = "# Slow\n\n## Phase 1: Build\n\n### Activities\n\n#### 1. slow\n\n* **Side effects:** workspace — none.\n\nSlow when asked.\n\n```sh run\nif [ -n \"$SLOW_BUILD\" ]; then sleep 5; fi\necho slow done\n```\n\n#### 2. second\n\n* **Side effects:** workspace — none.\n\nQuick.\n\n```sh run\necho second\n```\n";

#[test]
fn kill_9_mid_build_is_marked_interrupted_and_a_rerun_succeeds_then_skips() {
    let dir = TempDir::new("kill");
    std::fs::write(dir.0.join("playbook.md"), SLOW_PLAYBOOK).unwrap();
    std::fs::write(dir.0.join("working_case.yaml"), "playbook: playbook.md\nanswers: {}\n").unwrap();

    let mut child = spawn_slow_build(&dir.0);
    let job = wait_for_step_start(&dir.0);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before: Value = serde_json::from_str(&std::fs::read_to_string(job.join("job.json")).unwrap()).unwrap();
    assert_eq!(before["status"], "running");

    let status = playbook(&dir.0).args(["status", "working_case.yaml"]).output().unwrap();
    assert_eq!(status.status.code(), Some(0));
    assert!(stdout(&status).contains("interrupted"), "{}", stdout(&status));
    let after: Value = serde_json::from_str(&std::fs::read_to_string(job.join("job.json")).unwrap()).unwrap();
    assert_eq!(after["status"], "interrupted");
    let log = events(&job); // every line parses
    assert_eq!(log.last().unwrap()["status"], "interrupted");
    let ids: Vec<u64> = log.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");

    let job_id = job.file_name().unwrap().to_str().unwrap().to_string();
    let replay = playbook(&dir.0).args(["events", &job_id, "--case", "working_case.yaml", "--follow"]).output().unwrap();
    assert_eq!(stdout(&replay), std::fs::read_to_string(job.join("events.jsonl")).unwrap());

    let rerun = playbook(&dir.0).args(["build", "working_case.yaml"]).output().unwrap();
    assert_eq!(rerun.status.code(), Some(0), "{}", stdout(&rerun));
    let unchanged = playbook(&dir.0).args(["build", "working_case.yaml"]).output().unwrap();
    assert_eq!(unchanged.status.code(), Some(0));
    let newest = job_dirs(&dir.0).pop().unwrap();
    assert_eq!(activities_of(&events(&newest), "step_skip"), ["slow", "second"]);
    assert!(stdout(&unchanged).contains("○ slow"), "{}", stdout(&unchanged));
}

/// Write the slow project, with its first step sleeping this long (in a child of the shell).
fn slow_project(dir: &Path, seconds: &str) {
    std::fs::write(dir.join("playbook.md"), SLOW_PLAYBOOK.replace("sleep 5", &format!("sleep {seconds} & wait"))).unwrap();
    std::fs::write(dir.join("working_case.yaml"), "playbook: playbook.md\nanswers: {}\n").unwrap();
}

/// The job directory of the build beside the case, once its first step has started.
fn wait_for_step_start(dir: &Path) -> PathBuf {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(Instant::now() < deadline, "no step_start within 20 s");
        if let Some(job) = job_dirs(dir).pop()
            && std::fs::read_to_string(job.join("events.jsonl")).is_ok_and(|t| t.contains("\"step_start\""))
        {
            return job;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn spawn_slow_build(dir: &Path) -> std::process::Child {
    playbook(dir).args(["build", "working_case.yaml"]).env("SLOW_BUILD", "1").stdout(std::process::Stdio::piped()).spawn().unwrap()
}

#[test]
fn ctrl_c_stops_the_running_step_and_exits_130_with_the_job_aborted() {
    let dir = TempDir::new("sigint");
    slow_project(&dir.0, "30");
    let child = spawn_slow_build(&dir.0);
    let job = wait_for_step_start(&dir.0);
    let sent = Instant::now();
    let kill = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert!(sent.elapsed() < Duration::from_secs(2), "took {:?}", sent.elapsed());
    assert_eq!(out.status.code(), Some(130), "{}", stdout(&out));
    let record: Value = serde_json::from_str(&std::fs::read_to_string(job.join("job.json")).unwrap()).unwrap();
    assert_eq!(record["status"], "aborted");
    assert_eq!(record["steps"][0]["status"], "aborted");
    assert_eq!(activities_of(&events(&job), "step_start"), ["slow"]);
}

#[test]
fn events_follow_prints_a_live_job_until_it_ends() {
    let dir = TempDir::new("follow");
    slow_project(&dir.0, "1");
    let child = spawn_slow_build(&dir.0);
    let job = wait_for_step_start(&dir.0);
    let second = playbook(&dir.0).args(["build", "working_case.yaml"]).output().unwrap();
    assert_eq!(second.status.code(), Some(2), "a second build of the same case is refused while one runs");
    assert!(String::from_utf8_lossy(&second.stderr).contains("already running"));
    let job_id = job.file_name().unwrap().to_str().unwrap().to_string();
    let follow = playbook(&dir.0).args(["events", &job_id, "--case", "working_case.yaml", "--follow"]).output().unwrap();
    let build = child.wait_with_output().unwrap();
    assert_eq!(build.status.code(), Some(0));
    let printed = stdout(&follow);
    assert_eq!(printed, std::fs::read_to_string(job.join("events.jsonl")).unwrap());
    let last: Value = serde_json::from_str(printed.lines().last().unwrap()).unwrap();
    assert_eq!(last["kind"], "summary");
    assert_eq!(last["status"], "succeeded");
}
