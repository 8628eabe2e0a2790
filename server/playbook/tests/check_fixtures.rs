//! `playbook check` end to end on the project's fixtures and the real OpenG2P playbook.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

struct Run {
    code: i32,
    json: Value,
    stderr: String,
}

fn check(args: &[&str], cwd: &Path) -> Run {
    let out =
        Command::new(env!("CARGO_BIN_EXE_playbook")).arg("check").args(args).args(["--format", "json"]).current_dir(cwd).output().unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    Run { code: out.status.code().unwrap(), json, stderr: String::from_utf8_lossy(&out.stderr).into() }
}

fn findings(run: &Run) -> Vec<&Value> {
    run.json["findings"].as_array().unwrap().iter().collect()
}

#[test]
fn the_demo_case_and_the_registry_playbook_check_clean() {
    let run = check(&["fixtures/demo/working_case.yaml", "playbooks/registry.md", "fixtures/openg2p/working_case.yaml"], &repo());
    assert_eq!(findings(&run), Vec::<&Value>::new(), "{}", run.stderr);
    assert_eq!(run.code, 0);
    assert_eq!(run.json["summary"]["files"], 3);
}

#[test]
fn the_demo_case_checks_clean_in_phase_two_as_well() {
    let dir = tempdir("phase2");
    copy_tree(&repo().join("fixtures/demo"), &dir.join("fixtures/demo"));
    std::fs::create_dir_all(dir.join("playbooks")).unwrap();
    std::fs::copy(repo().join("playbooks/registry.md"), dir.join("playbooks/registry.md")).unwrap();
    std::fs::create_dir_all(dir.join("fixtures/demo/.playbook")).unwrap();
    std::fs::write(dir.join("fixtures/demo/.playbook/state.json"), r#"{"current_phase": 2}"#).unwrap();
    let run = check(&["fixtures/demo/working_case.yaml"], &dir);
    assert_eq!(findings(&run), Vec::<&Value>::new());
    // Removing a Phase 2 answer now reports it as missing; in Phase 1 it would not.
    let case = dir.join("fixtures/demo/working_case.yaml");
    let text = std::fs::read_to_string(&case).unwrap();
    let without: String = text.lines().filter(|l| !l.trim_start().starts_with("gitlab_user_email:")).map(|l| format!("{l}\n")).collect();
    std::fs::write(&case, without).unwrap();
    let run = check(&["fixtures/demo/working_case.yaml"], &dir);
    let rules: Vec<(&str, &str)> = findings(&run).iter().map(|f| (f["rule"].as_str().unwrap(), f["item"].as_str().unwrap())).collect();
    assert_eq!(rules, [("missing-answer", "gitlab_user_email")]);
    std::fs::remove_file(dir.join("fixtures/demo/.playbook/state.json")).unwrap();
    let run = check(&["fixtures/demo/working_case.yaml"], &dir);
    assert_eq!(findings(&run), Vec::<&Value>::new());
}

#[test]
fn the_real_playbook_reports_exactly_its_two_known_problems() {
    let shared = repo().join("../shared/fixtures/openg2p/use-case-implementation.md");
    let run = check(&[shared.to_str().unwrap()], &repo());
    let got: Vec<(String, u64, String)> = findings(&run)
        .iter()
        .map(|f| (f["rule"].as_str().unwrap().to_string(), f["line"].as_u64().unwrap(), f["item"].as_str().unwrap_or_default().to_string()))
        .collect();
    let text = std::fs::read_to_string(&shared).unwrap();
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() as u64 + 1;
    assert_eq!(
        got,
        [
            ("undefined-reference".to_string(), line_of("`existing_system_to_replace` (Phase 1)"), "migration_plan_summary".to_string()),
            ("remote-before-local".to_string(), line_of("#### 2. prepare_gitlab_workspace"), "prepare_gitlab_workspace".to_string()),
        ]
    );
    assert_eq!(run.code, 1, "an undefined reference is an error");
}

/// Every directory under fixtures/broken holds one broken input and an `expected.tsv` with
/// exactly the findings it must produce: `rule<TAB>file<TAB>line`.
#[test]
fn each_broken_fixture_reports_its_rule_at_its_place() {
    let broken = repo().join("fixtures/broken");
    let mut seen_rules = BTreeSet::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&broken).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    for dir in dirs {
        let expected: BTreeSet<(String, String, u64)> = std::fs::read_to_string(dir.join("expected.tsv"))
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let parts: Vec<&str> = l.split('\t').collect();
                (parts[0].to_string(), parts[1].to_string(), parts[2].parse().unwrap())
            })
            .collect();
        let run = check(&["."], &dir);
        let got: BTreeSet<(String, String, u64)> = findings(&run)
            .iter()
            .map(|f| (f["rule"].as_str().unwrap().to_string(), f["file"].as_str().unwrap().to_string(), f["line"].as_u64().unwrap()))
            .collect();
        assert_eq!(got, expected, "{}", dir.display());
        let severities: Vec<&str> = findings(&run).iter().map(|f| f["severity"].as_str().unwrap()).collect();
        let has_error = severities.contains(&"error");
        assert_eq!(run.code, i32::from(has_error), "{}: exit 1 exactly when there is an error", dir.display());
        let strict = check(&[".", "--deny-warnings"], &dir);
        assert_eq!(strict.code, i32::from(has_error || severities.contains(&"warning")), "{} with --deny-warnings", dir.display());
        seen_rules.extend(expected.into_iter().map(|(rule, _, _)| rule));
    }
    let all: BTreeSet<String> = playbook_core::finding::Rule::ALL.iter().map(|r| r.id().to_string()).collect();
    assert_eq!(seen_rules, all, "every rule id has a broken fixture");
}

#[test]
fn human_output_points_at_the_source() {
    let out = Command::new(env!("CARGO_BIN_EXE_playbook"))
        .args(["check", "fixtures/broken/unknown-item", "--color", "never"])
        .current_dir(repo())
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("warning[unknown-item]"), "{stdout}");
    assert!(stdout.contains("--> fixtures/broken/unknown-item/working_case.yaml:8:"), "{stdout}");
    assert!(stdout.contains("help: did you mean"), "{stdout}");
    assert!(stdout.trim_end().ends_with("in 1 file"), "{stdout}");
}

#[test]
fn sarif_output_is_sarif_2_1_0() {
    let out = Command::new(env!("CARGO_BIN_EXE_playbook"))
        .args(["check", "fixtures/broken", "--format", "sarif"])
        .current_dir(repo())
        .output()
        .unwrap();
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), playbook_core::finding::Rule::ALL.len());
    let results = run["results"].as_array().unwrap();
    assert!(results.len() >= 18);
    for r in results {
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], r["ruleId"]);
        assert!(r["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64().unwrap() >= 1);
    }
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("playbook-check-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
