//! `playbook status`, `playbook report generate|approve` and `playbook phase
//! complete|reopen|block|unblock` end to end, in temporary folders: exit codes (0 done,
//! 1 refused, 2 usage or I/O), every reason printed, state.json and report files on disk.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!("playbook-phase-cli-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const CASE: &str = "playbook: playbook.md\nanswers:\n  library_name: Elm Street Library\n  contact_email: desk@elm.example\n  lends_equipment: yes\n  equipment_kinds: !deferred \"the committee decides in May\"\n  opening_days: [Tuesday, Saturday]\n";

fn project(dir: &Path, case: &str) {
    std::fs::copy(repo().join("fixtures/phases/playbook.md"), dir.join("playbook.md")).unwrap();
    std::fs::write(dir.join("working_case.yaml"), case).unwrap();
    // Who acts: the git user of this (test-only) global config.
    std::fs::write(dir.join("gitconfig"), "[user]\n\tname = Test Implementer\n").unwrap();
}

/// `playbook` in `dir`, with a known git user.
fn playbook(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_playbook"))
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", dir.join("gitconfig"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

fn state(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join(".playbook/state.json")).unwrap()).unwrap()
}

fn status_json(dir: &Path) -> Value {
    let out = playbook(dir, &["status", "working_case.yaml", "--format", "json"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

/// The `status:` line of a report's front matter.
fn report_status(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let line = text.lines().find(|l| l.starts_with("status: ")).unwrap();
    line["status: ".len()..].to_string()
}

#[test]
fn completing_phase_1_names_the_missing_item_then_succeeds_after_a_report_is_approved() {
    let dir = TempDir::new("complete");
    project(&dir.0, &CASE.replace("  contact_email: desk@elm.example\n", ""));

    let out = playbook(&dir.0, &["phase", "complete", "working_case.yaml"]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("`contact_email` is required and not recorded"), "{text}");
    assert!(text.contains("Discovery Report has no version yet"), "every reason is printed: {text}");
    assert!(!dir.0.join(".playbook/state.json").exists());

    std::fs::write(dir.0.join("working_case.yaml"), CASE).unwrap();
    let out = playbook(&dir.0, &["report", "generate", "working_case.yaml"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let v1 = dir.0.join("reports/phase-1-discovery-report-v1.md");
    assert!(stdout(&out).contains("phase-1-discovery-report-v1.md"), "{}", stdout(&out));
    assert_eq!(report_status(&v1), "draft");
    let out = playbook(&dir.0, &["phase", "complete", "working_case.yaml"]);
    assert_eq!(code(&out), Some(1));
    assert!(stdout(&out).contains("no approved version"), "{}", stdout(&out));

    let out = playbook(&dir.0, &["report", "approve", "working_case.yaml"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let report = std::fs::read_to_string(&v1).unwrap();
    assert!(report.contains("status: approved\n") && report.contains("approved_by: \"Test Implementer\"\n"), "{report}");

    let out = playbook(&dir.0, &["phase", "complete", "working_case.yaml", "--reason", "the committee signed the report"]);
    assert_eq!(code(&out), Some(0), "{}{}", stdout(&out), stderr(&out));
    let s = state(&dir.0);
    assert_eq!(s["current_phase"], 2);
    assert_eq!(s["blocked"], false);
    let h = &s["history"][0];
    assert_eq!((h["action"].as_str(), h["from"].as_u64(), h["to"].as_u64()), (Some("complete"), Some(1), Some(2)));
    assert_eq!(h["by"], "Test Implementer");
    assert_eq!(h["reason"], "the committee signed the report");
    assert!(h["at"].as_str().unwrap().ends_with('Z'));

    let st = status_json(&dir.0);
    assert_eq!((st["phase"].as_u64(), st["name"].as_str()), (Some(2), Some("Build")));
    assert_eq!(st["history"].as_array().unwrap().len(), 1);
    assert_eq!(st["phases"][0]["report"]["approved"], 1);
}

#[test]
fn an_answer_changed_after_approval_blocks_completion_until_a_new_version_is_approved() {
    let dir = TempDir::new("stale");
    project(&dir.0, CASE);
    assert_eq!(code(&playbook(&dir.0, &["report", "generate"])), Some(0));
    assert_eq!(code(&playbook(&dir.0, &["report", "approve", "--version", "1"])), Some(0));

    std::fs::write(dir.0.join("working_case.yaml"), CASE.replace("Tuesday, Saturday", "Tuesday, Friday")).unwrap();
    let out = playbook(&dir.0, &["phase", "complete"]);
    assert_eq!(code(&out), Some(1));
    assert!(stdout(&out).contains("answers changed since approval"), "{}", stdout(&out));
    let st = status_json(&dir.0);
    assert!(st["gate"]["reasons"].as_array().unwrap().iter().any(|r| r["code"] == "report-stale"), "{st}");
    assert_eq!(st["report"]["versions"][0]["matches_answers"], false);

    assert_eq!(code(&playbook(&dir.0, &["report", "generate"])), Some(0));
    let out = playbook(&dir.0, &["report", "approve"]);
    assert_eq!(code(&out), Some(0));
    assert!(stdout(&out).contains("v1 superseded"), "{}", stdout(&out));
    let v1 = dir.0.join("reports/phase-1-discovery-report-v1.md");
    let v2 = dir.0.join("reports/phase-1-discovery-report-v2.md");
    assert_eq!((report_status(&v1), report_status(&v2)), ("superseded".to_string(), "approved".to_string()));
    assert!(std::fs::read_to_string(&v1).unwrap().contains("- **opening_days**: Tuesday, Saturday"), "v1 keeps its body");
    assert!(std::fs::read_to_string(&v2).unwrap().contains("- **opening_days**: Tuesday, Friday"));
    let approved = st_versions(&dir.0).into_iter().filter(|s| s == "approved").count();
    assert_eq!(approved, 1);

    let out = playbook(&dir.0, &["report", "approve", "--version", "1"]);
    assert_eq!(code(&out), Some(1), "a superseded version cannot come back");
    assert!(stdout(&out).contains("superseded"), "{}", stdout(&out));
    assert_eq!(code(&playbook(&dir.0, &["report", "approve", "--version", "7"])), Some(2));
    assert_eq!(code(&playbook(&dir.0, &["phase", "complete"])), Some(0));
}

fn st_versions(dir: &Path) -> Vec<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("reports")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files.iter().map(|f| report_status(f)).collect()
}

#[test]
fn reopen_records_its_reason_and_block_stops_completion() {
    let dir = TempDir::new("reopen");
    project(&dir.0, CASE);
    std::fs::create_dir_all(dir.0.join(".playbook")).unwrap();
    std::fs::write(dir.0.join(".playbook/state.json"), r#"{"current_phase": 2}"#).unwrap();

    let out = playbook(&dir.0, &["phase", "reopen"]);
    assert_eq!(code(&out), Some(2), "a reason is required");
    assert!(stderr(&out).contains("reason is required"), "{}", stderr(&out));
    let out = playbook(&dir.0, &["phase", "reopen", "--to", "9", "--reason", "x"]);
    assert_eq!(code(&out), Some(2));
    assert!(stderr(&out).contains("no Phase 9"), "{}", stderr(&out));

    let out = playbook(&dir.0, &["phase", "reopen", "working_case.yaml", "--reason", "the opening days were wrong"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let s = state(&dir.0);
    assert_eq!(s["current_phase"], 1);
    assert_eq!(s["history"][0]["action"], "reopen");
    assert_eq!(s["history"][0]["reason"], "the opening days were wrong");
    assert_eq!((s["history"][0]["from"].as_u64(), s["history"][0]["to"].as_u64()), (Some(2), Some(1)));

    assert_eq!(code(&playbook(&dir.0, &["report", "generate"])), Some(0));
    assert_eq!(code(&playbook(&dir.0, &["report", "approve"])), Some(0));
    let out = playbook(&dir.0, &["phase", "block", "--reason", "waiting for the committee"]);
    assert_eq!(code(&out), Some(0));
    assert_eq!(state(&dir.0)["blocked"], true);
    assert_eq!(state(&dir.0)["blocked_reason"], "waiting for the committee");
    let out = playbook(&dir.0, &["phase", "complete", "--format", "json"]);
    assert_eq!(code(&out), Some(1));
    let refusal: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(refusal["ok"], false);
    assert_eq!(refusal["reasons"][0]["code"], "blocked");
    let human = playbook(&dir.0, &["status"]);
    assert!(stdout(&human).contains("blocked: waiting for the committee"), "{}", stdout(&human));
    assert_eq!(code(&playbook(&dir.0, &["phase", "unblock", "--reason", "approved at the meeting"])), Some(0));
    assert_eq!(code(&playbook(&dir.0, &["phase", "unblock"])), Some(1), "not blocked any more");
    assert_eq!(code(&playbook(&dir.0, &["phase", "complete"])), Some(0));
    let actions: Vec<String> =
        state(&dir.0)["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap().to_string()).collect();
    assert_eq!(actions, ["reopen", "block", "unblock", "complete"]);
}

#[test]
fn the_openg2p_placeholder_phases_are_coming_soon() {
    let dir = TempDir::new("openg2p");
    let shared = repo().join("../shared/fixtures/openg2p/use-case-implementation.md").canonicalize().unwrap();
    let fixture = std::fs::read_to_string(repo().join("fixtures/openg2p/working_case.yaml")).unwrap();
    let case = fixture
        .replace("playbook: ../../../shared/fixtures/openg2p/use-case-implementation.md", &format!("playbook: {}", shared.display()));
    std::fs::write(dir.0.join("working_case.yaml"), case).unwrap();
    std::fs::write(dir.0.join("gitconfig"), "").unwrap();

    let st = status_json(&dir.0);
    let coming: Vec<bool> = st["phases"].as_array().unwrap().iter().map(|p| p["coming_soon"].as_bool().unwrap()).collect();
    assert_eq!(coming, [false, false, false, true, true]);
    assert_eq!(st["report"]["name"], "Requirements Analysis Report");
    assert_eq!(st["answered"], st["required"]);

    std::fs::create_dir_all(dir.0.join(".playbook")).unwrap();
    std::fs::write(dir.0.join(".playbook/state.json"), r#"{"current_phase": 3}"#).unwrap();
    let out = playbook(&dir.0, &["phase", "complete"]);
    assert_eq!(code(&out), Some(1));
    assert!(stdout(&out).contains("Phase 4: Pilot is coming soon"), "{}", stdout(&out));
    // Back to Phase 1, then its report, generated from the real playbook's Output section.
    assert_eq!(code(&playbook(&dir.0, &["phase", "reopen", "--to", "1", "--reason", "requirements changed"])), Some(0));
    let out = playbook(&dir.0, &["report", "generate"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let report = std::fs::read_to_string(dir.0.join("reports/phase-1-requirements-analysis-report-v1.md")).unwrap();
    assert!(report.contains("## 2. Discovered facts\n\n### Project context\n\n- **country**: Kingdom of Veldmark\n"), "{report}");
    assert!(report.contains("## 5. Resource requirements\n"), "{report}");
}

#[test]
fn status_keeps_listing_builds_and_bad_input_exits_2_with_a_message() {
    let dir = TempDir::new("bad");
    project(&dir.0, CASE);
    let out = playbook(&dir.0, &["status"]);
    assert_eq!(code(&out), Some(0));
    let text = stdout(&out);
    assert!(text.contains("Phase 1: Discovery") && text.contains("answered 5/5 required"), "{text}");
    assert!(text.contains("report: Discovery Report — no version yet") && text.contains("no builds in"), "{text}");
    assert!(text.contains("  [ ] visit_the_library"), "manual Activities are a checklist: {text}");

    std::fs::create_dir_all(dir.0.join(".playbook")).unwrap();
    std::fs::write(dir.0.join(".playbook/state.json"), "{ not json").unwrap();
    for args in [
        &["status"][..],
        &["status", "--format", "json"],
        &["phase", "complete"],
        &["report", "generate"],
        &["phase", "block", "--reason", "x"],
    ] {
        let out = playbook(&dir.0, args);
        assert_eq!(code(&out), Some(2), "{args:?}");
        assert!(stderr(&out).contains("state.json") && stderr(&out).contains("is not valid"), "{args:?}: {}", stderr(&out));
    }
    assert_eq!(std::fs::read_to_string(dir.0.join(".playbook/state.json")).unwrap(), "{ not json");
    std::fs::write(dir.0.join(".playbook/state.json"), r#"{"current_phase": 8}"#).unwrap();
    let out = playbook(&dir.0, &["phase", "complete"]);
    assert_eq!(code(&out), Some(2));
    assert!(stderr(&out).contains("current phase is 8"), "{}", stderr(&out));
    std::fs::remove_file(dir.0.join(".playbook/state.json")).unwrap();

    let out = playbook(&dir.0, &["report", "generate", "--phase", "3"]);
    assert_eq!(code(&out), Some(2));
    assert!(stderr(&out).contains("Phase 3: Launch declares no report"), "{}", stderr(&out));
    let out = playbook(&dir.0, &["phase", "complete", "missing.yaml"]);
    assert_eq!(code(&out), Some(2));
    assert!(stderr(&out).contains("missing.yaml"), "{}", stderr(&out));
    assert_eq!(code(&playbook(&dir.0, &["phase", "fly"])), Some(2), "clap usage error");
}

#[test]
fn who_falls_back_to_the_os_user_without_a_git_user() {
    let dir = TempDir::new("who");
    project(&dir.0, CASE);
    std::fs::write(dir.0.join("gitconfig"), "").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_playbook"))
        .current_dir(&dir.0)
        .args(["phase", "block", "--reason", "waiting"])
        .env("GIT_CONFIG_GLOBAL", dir.0.join("gitconfig"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("USER", "os-user-7")
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(state(&dir.0)["history"][0]["by"], "os-user-7");
}
