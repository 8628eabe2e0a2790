//! `playbook check` on input it cannot check: invalid UTF-8, empty directories and files,
//! paths that do not exist. It never panics, says what is wrong and where, and exits 2 when a
//! document could not be checked at all, 1 when it found errors, 0 otherwise.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh, empty directory for one test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!("playbook-bad-input-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr))
    }
}

fn check(cwd: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_playbook"))
        .arg("check")
        .args(args)
        .args(["--color", "never"])
        .current_dir(cwd)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run playbook check");
    let run = Run {
        code: out.status.code().unwrap_or_else(|| panic!("killed by a signal: {out:?}")),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!run.stderr.contains("panicked"), "playbook check panicked:\n{}", run.stderr);
    run
}

const BAD_PLAYBOOK: &[u8] = b"# Title\n\n## Phase 1: Start\n\n### Discovery items\n\n#### country\n\n* **Ask:** Where? \xff\xfe\n";
const BAD_CASE: &[u8] = b"playbook: playbook.md\nanswers:\n  country: Ken\xc3\x28ya\n";

#[test]
fn invalid_utf8_playbook_exits_2_naming_the_file() {
    let dir = TempDir::new("utf8-playbook");
    dir.write("bad.md", BAD_PLAYBOOK);
    let run = check(&dir.0, &["bad.md"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("bad.md") && run.stderr.contains("not valid UTF-8"), "{}", run.stderr);
    let at = BAD_PLAYBOOK.iter().position(|&b| b == 0xff).unwrap();
    assert!(run.stderr.contains(&format!("offset {at}")), "the message says where: {}", run.stderr);

    // The JSON report is still a complete document; the problem goes to stderr.
    let run = check(&dir.0, &["bad.md", "--format", "json"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.json()["findings"], serde_json::json!([]));
    assert!(run.stderr.contains("not valid UTF-8"), "{}", run.stderr);
}

#[test]
fn invalid_utf8_case_exits_2_naming_the_file() {
    let dir = TempDir::new("utf8-case");
    dir.write("cases/bad.yaml", BAD_CASE);
    let run = check(&dir.0, &["cases/bad.yaml"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("bad.yaml") && run.stderr.contains("not valid UTF-8"), "{}", run.stderr);
}

#[test]
fn invalid_utf8_documents_found_in_a_directory_are_reported_too() {
    let dir = TempDir::new("utf8-walk");
    dir.write("bad.md", BAD_PLAYBOOK);
    dir.write("bad.yaml", BAD_CASE);
    let run = check(&dir.0, &["."]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    for name in ["bad.md", "bad.yaml"] {
        assert!(run.stderr.lines().any(|l| l.contains(name) && l.contains("not valid UTF-8")), "{name}: {}", run.stderr);
    }
}

#[test]
fn a_case_whose_playbook_is_not_utf8_reports_playbook_not_found_with_the_reason() {
    let dir = TempDir::new("utf8-target");
    dir.write("playbook.md", BAD_PLAYBOOK);
    dir.write("case.yaml", b"playbook: playbook.md\nanswers:\n  country: Kenya\n");
    let run = check(&dir.0, &["case.yaml", "--format", "json"]);
    let json = run.json();
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{json:#}");
    assert_eq!(findings[0]["rule"], "playbook-not-found");
    assert_eq!((findings[0]["file"].as_str(), findings[0]["line"].as_u64()), (Some("case.yaml"), Some(1)));
    assert!(findings[0]["message"].as_str().unwrap().contains("not valid UTF-8"), "{json:#}");
    assert_eq!(run.code, 1, "{}", run.stderr);
}

#[test]
fn an_empty_directory_has_no_findings_in_zero_files() {
    let dir = TempDir::new("empty-dir");
    std::fs::create_dir_all(dir.0.join("nothing/here")).unwrap();
    let run = check(&dir.0, &["nothing"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.trim(), "no findings in 0 files");
    assert_eq!(run.stderr, "");
    // Files that are neither playbooks nor cases are skipped, not counted.
    dir.write("nothing/notes.txt", b"hello");
    dir.write("nothing/readme.md", b"# Not a playbook\n");
    dir.write("nothing/config.yaml", b"key: value\n");
    let run = check(&dir.0, &["nothing"]);
    assert_eq!((run.code, run.stdout.trim()), (0, "no findings in 0 files"), "{}", run.stderr);
}

#[test]
fn a_nonexistent_path_exits_2_with_a_message() {
    let dir = TempDir::new("missing");
    let run = check(&dir.0, &["no/such/playbook.md"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(run.stderr.contains("no/such/playbook.md") && run.stderr.contains("no such file"), "{}", run.stderr);
    // Other paths are still checked.
    dir.write("case.yaml", b"answers: [unclosed\n");
    let run = check(&dir.0, &["missing.yaml", "case.yaml", "--format", "json"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.json()["findings"][0]["rule"], "yaml-syntax");
    assert!(run.stderr.contains("missing.yaml"), "{}", run.stderr);
}

#[test]
fn an_empty_case_file_is_a_playbook_not_found_error() {
    let dir = TempDir::new("empty-case");
    dir.write("empty.yaml", b"");
    let run = check(&dir.0, &["empty.yaml", "--format", "json"]);
    let json = run.json();
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{json:#}");
    let f = &findings[0];
    assert_eq!(
        (f["rule"].as_str(), f["severity"].as_str(), f["file"].as_str()),
        (Some("playbook-not-found"), Some("error"), Some("empty.yaml"))
    );
    assert_eq!((f["line"].as_u64(), f["column"].as_u64()), (Some(1), Some(1)));
    assert!(f["message"].as_str().unwrap().contains("playbook:"), "{f:#}");
    assert_eq!(json["summary"]["errors"], 1);
    assert_eq!(run.code, 1, "{}", run.stderr);
}
