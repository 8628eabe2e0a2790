//! The build engine through its library API: cancellation, skipping unchanged steps,
//! `no-handler`, local-before-remote ordering, answers as environment variables.

use playbook_engine::build::events::read_events;
use playbook_engine::build::{BuildOptions, CancelToken, Event, EventKind, JobStatus, Observer, Registry, run_build};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod common;
use common::TempDir;

/// One Activity of a generated playbook.
struct Step<'a> {
    name: &'a str,
    inputs: &'a str,
    side_effects: &'a str,
    script: Option<&'a str>,
}

fn step<'a>(name: &'a str, script: &'a str) -> Step<'a> {
    Step { name, inputs: "`greeting`", side_effects: "workspace — writes files", script: Some(script) }
}

/// Write a one-phase playbook with these Activities and a case answering `greeting`.
fn project(dir: &Path, steps: &[Step], greeting: &str) -> PathBuf {
    let mut md = String::from(
        "# Test playbook\n\n## Phase 1: Build\n\n### Discovery items\n\n#### greeting\n\n* **Ask:** Greeting?\n* **Why:** Printed.\n* **Required:** yes\n* **Type:** text\n* **Impact:** informational\n\n### Activities\n\n",
    );
    for (i, s) in steps.iter().enumerate() {
        md.push_str(&format!(
            "#### {}. {}\n\n* **Inputs:** {}.\n* **Side effects:** {}.\n* **On failure:** abort.\n\nDoes a thing.\n\n",
            i + 1,
            s.name,
            s.inputs,
            s.side_effects
        ));
        if let Some(script) = s.script {
            md.push_str(&format!("```sh run\n{script}\n```\n\n"));
        }
    }
    std::fs::write(dir.join("playbook.md"), md).unwrap();
    write_case(dir, greeting)
}

fn write_case(dir: &Path, greeting: &str) -> PathBuf {
    let case = dir.join("working_case.yaml");
    let quoted = serde_json::to_string(greeting).unwrap();
    std::fs::write(&case, format!("playbook: playbook.md\nanswers:\n  greeting: {quoted}\n")).unwrap();
    case
}

fn build(case: &Path, options: &BuildOptions) -> (JobStatus, Vec<Event>) {
    // The built-in handlers, as the CLI and the server build (sh run for the rest).
    let outcome = run_build(case, options, &playbook_engine::handlers::registry(), &CancelToken::new(), None).unwrap();
    assert!(outcome.warnings.is_empty(), "{:?}", outcome.warnings);
    (outcome.status, read_events(&outcome.job_dir.join("events.jsonl"), 0).unwrap())
}

fn kinds_for(events: &[Event], kind: EventKind) -> Vec<String> {
    events.iter().filter(|e| e.kind == kind).filter_map(|e| e.activity.clone()).collect()
}

fn logs(events: &[Event]) -> Vec<String> {
    events.iter().filter(|e| e.kind == EventKind::Log).filter_map(|e| e.message.clone()).collect()
}

/// A process is gone when /proc has no entry for it or it is a zombie nobody reaped yet.
fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

#[test]
fn stop_kills_the_whole_process_group_within_a_second_and_aborts_the_job() {
    let dir = TempDir::new("cancel");
    let case = project(&dir.0, &[step("long_step", "sleep 30 &\necho \"child $!\"\nwait"), step("after", "touch after.txt")], "hi");
    let cancel = CancelToken::new();
    let (tx, rx) = mpsc::channel::<String>();
    let tx = std::sync::Mutex::new(tx);
    let observer: Observer = Box::new(move |e| {
        if let Some(m) = e.message.as_deref().and_then(|m| m.strip_prefix("child ")) {
            let _ = tx.lock().unwrap().send(m.to_string());
        }
    });
    let runner = {
        let (case, cancel) = (case.clone(), cancel.clone());
        std::thread::spawn(move || run_build(&case, &BuildOptions::default(), &Registry::new(), &cancel, Some(observer)).unwrap())
    };
    let child: u32 = rx.recv_timeout(Duration::from_secs(10)).expect("the step started its child").parse().unwrap();
    assert!(process_alive(child));
    let stopped_at = Instant::now();
    cancel.cancel();
    let outcome = runner.join().unwrap();
    let took = stopped_at.elapsed();
    assert!(took < Duration::from_secs(1), "stopping took {took:?}");
    assert!(!process_alive(child), "the child sleep {child} survived the stop");
    assert_eq!(outcome.status, JobStatus::Aborted);
    let events = read_events(&outcome.job_dir.join("events.jsonl"), 0).unwrap();
    let fail = events.iter().find(|e| e.kind == EventKind::StepFail).expect("a step_fail for the stopped step");
    assert_eq!(fail.status.as_deref(), Some("aborted"));
    assert_eq!(kinds_for(&events, EventKind::StepStart), ["long_step"], "nothing runs after a stop");
    assert!(!outcome.job_dir.join("workspace/after.txt").exists());
    let job: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(outcome.job_dir.join("job.json")).unwrap()).unwrap();
    assert_eq!(job["status"], "aborted");
}

#[test]
fn unchanged_steps_are_skipped_changed_ones_rerun_and_force_runs_all() {
    let dir = TempDir::new("skip");
    let steps =
        [Step { inputs: "none", ..step("write", "echo written > out.txt") }, step("read", "cat out.txt; echo \"$PLAYBOOK_GREETING\"")];
    let case = project(&dir.0, &steps, "one");
    let (status, first) = build(&case, &BuildOptions::default());
    assert_eq!(status, JobStatus::Succeeded);
    assert_eq!(kinds_for(&first, EventKind::StepDone), ["write", "read"]);

    let (status, second) = build(&case, &BuildOptions::default());
    assert_eq!(status, JobStatus::Succeeded);
    assert_eq!(kinds_for(&second, EventKind::StepSkip), ["write", "read"]);
    assert!(kinds_for(&second, EventKind::StepStart).is_empty());

    // A changed Input reruns `read` only; it still finds what the skipped `write` left.
    write_case(&dir.0, "two");
    let (status, third) = build(&case, &BuildOptions::default());
    assert_eq!(status, JobStatus::Succeeded, "{third:?}");
    assert_eq!(kinds_for(&third, EventKind::StepSkip), ["write"]);
    assert_eq!(kinds_for(&third, EventKind::StepDone), ["read"]);
    assert_eq!(logs(&third), ["written", "two"]);

    let (_, forced) = build(&case, &BuildOptions { force: true, ..BuildOptions::default() });
    assert_eq!(kinds_for(&forced, EventKind::StepDone), ["write", "read"]);

    let (_, single) = build(&case, &BuildOptions { force: true, activity: Some("read".into()), ..BuildOptions::default() });
    assert_eq!(kinds_for(&single, EventKind::StepStart), ["read"]);
}

#[test]
fn an_activity_without_handler_or_run_block_fails_with_no_handler() {
    let dir = TempDir::new("nohandler");
    let case = project(&dir.0, &[Step { script: None, ..step("manual_step", "") }, step("after", "echo after")], "x");
    let (status, events) = build(&case, &BuildOptions::default());
    assert_eq!(status, JobStatus::Failed);
    let fail = events.iter().find(|e| e.kind == EventKind::StepFail).unwrap();
    assert_eq!(fail.activity.as_deref(), Some("manual_step"));
    assert!(fail.message.as_deref().unwrap().starts_with("no-handler:"), "{fail:?}");
    assert_eq!(kinds_for(&events, EventKind::StepStart), ["manual_step"]);
}

#[test]
fn remote_activities_run_after_local_ones_and_local_only_stops_before_them() {
    let dir = TempDir::new("remote");
    let steps =
        [Step { side_effects: "GitLab — creates a project", ..step("push_remote", "echo remote") }, step("local_one", "echo local")];
    let case = project(&dir.0, &steps, "x");
    let (status, events) = build(&case, &BuildOptions::default());
    assert_eq!(status, JobStatus::Succeeded);
    assert_eq!(kinds_for(&events, EventKind::StepStart), ["local_one", "push_remote"]);

    let (status, events) = build(&case, &BuildOptions { local_only: true, force: true, ..BuildOptions::default() });
    assert_eq!(status, JobStatus::Succeeded);
    assert_eq!(kinds_for(&events, EventKind::StepStart), ["local_one"]);

    // A failed local step keeps the remote one from running.
    let steps = [Step { side_effects: "GitLab — creates a project", ..step("push_remote", "echo remote") }, step("local_one", "exit 1")];
    let case = project(&dir.0, &steps, "x");
    let (status, events) = build(&case, &BuildOptions::default());
    assert_eq!(status, JobStatus::Failed);
    assert_eq!(kinds_for(&events, EventKind::StepStart), ["local_one"]);
}

#[test]
fn lists_and_maps_arrive_as_json_and_ids_strictly_increase() {
    let dir = TempDir::new("json");
    let case = project(&dir.0, &[step("show", "printf '%s\\n' \"$PLAYBOOK_LANGS\" \"$PLAYBOOK_COLS\" \"$PLAYBOOK_GREETING\"")], "x");
    std::fs::write(&case, "playbook: playbook.md\nanswers:\n  greeting: yes\n  langs: [English, 'Swa hili']\n  cols: {a: 1, b: [true]}\n")
        .unwrap();
    let (status, events) = build(&case, &BuildOptions::default());
    assert_eq!(status, JobStatus::Succeeded);
    assert_eq!(logs(&events), [r#"["English","Swa hili"]"#, r#"{"a":1,"b":[true]}"#, "yes"]);
    assert!(events.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(events.first().map(|e| e.kind), Some(EventKind::JobStart));
    assert_eq!(events.last().map(|e| e.kind), Some(EventKind::Summary));
}

#[test]
fn a_failure_the_playbook_tolerates_is_logged_and_the_build_goes_on() {
    let dir = TempDir::new("tolerated");
    let case = project(&dir.0, &[step("report", "echo drafting; exit 3"), step("after", "touch after.txt")], "hi");
    // The first Activity says a failure does not fail the build.
    let playbook = dir.0.join("playbook.md");
    let md = std::fs::read_to_string(&playbook).unwrap();
    let md = md.replacen(
        "* **On failure:** abort.",
        "* **On failure:** continue — a report failure is surfaced but does not fail the build.",
        1,
    );
    std::fs::write(&playbook, md).unwrap();
    let (status, events) = build(&case, &BuildOptions::default());
    assert_eq!(status, JobStatus::Succeeded);
    assert_eq!(kinds_for(&events, EventKind::StepFail), ["report"]);
    assert_eq!(kinds_for(&events, EventKind::StepDone), ["after"], "the build went on after the tolerated failure");
    assert!(logs(&events).iter().any(|l| l.contains("continues on failure")), "{:?}", logs(&events));
}

/// The registry playbook in Phase 2 with the demo case: `collect_build_inputs` passes, then
/// fails naming a required answer that was removed, and nothing after it runs.
#[test]
fn collect_build_inputs_checks_every_required_answer_of_the_phase() {
    let tmp = TempDir::new("collect");
    let (case, demo) = demo_project(&tmp.0);
    let registry = playbook_engine::handlers::registry();
    let only = BuildOptions { activity: Some("collect_build_inputs".into()), ..BuildOptions::default() };

    let ok = run_build(&case, &only, &registry, &CancelToken::new(), None).unwrap();
    assert_eq!(ok.status, JobStatus::Succeeded, "the demo case is complete in Phase 2");

    let key = "registry_mnemonic:";
    assert!(demo.contains(key), "the demo case answers {key}");
    let without: String = demo.lines().filter(|l| !l.trim_start().starts_with(key)).map(|l| format!("{l}\n")).collect();
    std::fs::write(&case, without).unwrap();
    let all = BuildOptions { force: true, ..BuildOptions::default() };
    let (status, events) = build(&case, &all);
    assert_eq!(status, JobStatus::Failed);
    let failed = events.iter().find(|e| e.kind == EventKind::StepFail).expect("a failed step");
    assert_eq!(failed.activity.as_deref(), Some("collect_build_inputs"));
    assert!(failed.message.as_deref().unwrap().contains("registry_mnemonic"), "{failed:?}");
    assert!(logs(&events).iter().any(|l| l.starts_with("missing-answer:")), "{:?}", logs(&events));
    assert_eq!(kinds_for(&events, EventKind::StepStart), vec!["collect_build_inputs".to_string()], "nothing after it ran");
}

/// The registry playbook and the demo case (with its assets) in `root`, in Phase 2.
/// Returns the case path and the case text.
fn demo_project(root: &Path) -> (PathBuf, String) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join("case");
    std::fs::create_dir_all(dir.join(".playbook")).unwrap();
    std::fs::copy(repo.join("playbooks/registry.md"), root.join("registry.md")).unwrap();
    let demo = std::fs::read_to_string(repo.join("fixtures/demo/working_case.yaml")).unwrap();
    let demo = demo.lines().map(|l| if l.starts_with("playbook:") { "playbook: ../registry.md" } else { l }).collect::<Vec<_>>().join("\n");
    for asset in std::fs::read_dir(repo.join("fixtures/demo")).unwrap().flatten() {
        if asset.path().is_dir() {
            let to = dir.join(asset.file_name());
            std::fs::create_dir_all(&to).unwrap();
            for file in std::fs::read_dir(asset.path()).unwrap().flatten() {
                std::fs::copy(file.path(), to.join(file.file_name())).unwrap();
            }
        }
    }
    std::fs::write(dir.join(".playbook/state.json"), r#"{"current_phase": 2}"#).unwrap();
    let case = dir.join("working_case.yaml");
    std::fs::write(&case, format!("{demo}\n")).unwrap();
    (case, demo)
}

/// A local Activity that only continues on failure (a report) keeps its place after the
/// remote ones; a remote Activity written before a local one that aborts still waits for it.
#[test]
fn a_tolerated_local_activity_after_remote_ones_keeps_its_place() {
    let dir = TempDir::new("order");
    let remote = |name| Step { side_effects: "GitLab — pushes", ..step(name, "true") };
    let steps = [remote("publish_early"), step("compile", "true"), remote("publish"), step("report", "true")];
    let case = project(&dir.0, &steps, "x");
    let playbook = dir.0.join("playbook.md");
    let md = std::fs::read_to_string(&playbook).unwrap();
    // The last Activity, `report`, continues on failure.
    let at = md.rfind("* **On failure:** abort.").unwrap();
    let md = format!("{}* **On failure:** continue — surfaced only.{}", &md[..at], &md[at + "* **On failure:** abort.".len()..]);
    std::fs::write(&playbook, md).unwrap();
    let (status, events) = build(&case, &BuildOptions::default());
    assert_eq!(status, JobStatus::Succeeded);
    assert_eq!(kinds_for(&events, EventKind::StepStart), ["compile", "publish_early", "publish", "report"]);
}

/// `produce_build_report` hands off to the report machinery: a draft Build Report with the
/// job's Activity table and what earlier steps recorded as published.
#[test]
fn produce_build_report_writes_a_draft_build_report_with_what_was_published() {
    let tmp = TempDir::new("report");
    let (case, _) = demo_project(&tmp.0);
    let registry = playbook_engine::handlers::registry();
    let first = BuildOptions { activity: Some("collect_build_inputs".into()), ..BuildOptions::default() };
    let outcome = run_build(&case, &first, &registry, &CancelToken::new(), None).unwrap();
    assert_eq!(outcome.status, JobStatus::Succeeded);
    // What the push step of an earlier job recorded; the next job starts from that workspace.
    let pushed = playbook_engine::handlers::outputs::PushedRepo {
        remote: "http://127.0.0.1:9/aurelia-dev/aurelia-households-extension.git".into(),
        branch: "develop".into(),
        commit: "0123456789abcdef0123456789abcdef01234567".into(),
    };
    playbook_engine::handlers::outputs::write_output(&outcome.job_dir.join("workspace"), "push_extension_repo", &pushed).unwrap();

    let report = BuildOptions { activity: Some("produce_build_report".into()), ..BuildOptions::default() };
    let outcome = run_build(&case, &report, &registry, &CancelToken::new(), None).unwrap();
    assert_eq!(outcome.status, JobStatus::Succeeded);
    let events = read_events(&outcome.job_dir.join("events.jsonl"), 0).unwrap();
    assert!(logs(&events).iter().any(|l| l.contains("Build Report v1 written to reports/")), "{:?}", logs(&events));
    let reports: Vec<_> = std::fs::read_dir(case.parent().unwrap().join("reports")).unwrap().flatten().map(|e| e.path()).collect();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let text = std::fs::read_to_string(&reports[0]).unwrap();
    assert!(text.contains("status: draft"), "{text}");
    assert!(text.contains("| 16 | produce_build_report | running |"), "the job's Activity table: {text}");
    assert!(
        text.contains("`develop` pushed to http://127.0.0.1:9/aurelia-dev/aurelia-households-extension.git at commit `0123456789ab`"),
        "{text}"
    );
}

/// A handler's settings are part of its step's content hash: a changed image path (or engine,
/// provider, reference URL) reruns the step and, through the chain, every step after it.
#[test]
fn a_changed_setting_changes_the_step_hash_and_secrets_are_not_settings() {
    use playbook_engine::build::runner::{settings_values, step_hash};
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(repo.join("playbooks/registry.md")).unwrap();
    let playbook = playbook_core::playbook::parse(&text);
    let case = playbook_core::case::Case::parse(&std::fs::read_to_string(repo.join("fixtures/demo/working_case.yaml")).unwrap());
    let registry = playbook_engine::handlers::registry();
    let deployment = playbook.activity("generate_deployment_files").unwrap();
    let names = registry.settings_for(deployment);
    assert_eq!(names, ["CONTAINER_REGISTRY"]);

    let with = |value: Option<&str>| {
        let settings = settings_values(names, |_| value.map(str::to_string));
        step_hash(deployment, &text, &case, &settings, "previous")
    };
    assert_eq!(with(Some("registry.example/a")), with(Some("registry.example/a")));
    assert_ne!(with(Some("registry.example/a")), with(Some("registry.example/b")));
    assert_ne!(with(None), with(Some("")), "unset and empty are different settings");

    // Every registry Activity that talks to a service names its settings; none is a secret.
    for activity in &playbook.activities {
        for name in registry.settings_for(activity) {
            assert!(!["_TOKEN", "_KEY", "_SECRET", "_PASSWORD"].iter().any(|s| name.ends_with(s)), "{name} is a secret");
        }
    }
    for name in ["clone_reference_registry", "generate_extension_files", "build_images_locally", "prepare_gitlab_workspace"] {
        assert!(!registry.settings_for(playbook.activity(name).unwrap()).is_empty(), "{name} declares no settings");
    }
}
