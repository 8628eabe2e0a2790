//! `playbook schema CASE`: prints the core's schema for the case, as pretty JSON on stdout.

use playbook_core::case::Case;
use playbook_core::playbook;
use playbook_core::schema::case_schema;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn schema(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_playbook")).arg("schema").args(args).current_dir(dir).output().unwrap()
}

#[test]
fn prints_the_cores_schema_of_the_demo_case() {
    let out = schema(&["fixtures/demo/working_case.yaml"], &root());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("{\n  \""), "pretty-printed");
    let printed: Value = serde_json::from_str(&text).unwrap();
    let case = Case::parse(&std::fs::read_to_string(root().join("fixtures/demo/working_case.yaml")).unwrap());
    let playbook = playbook::parse(&std::fs::read_to_string(root().join("playbooks/registry.md")).unwrap());
    assert_eq!(printed, case_schema(&playbook, &case, None));
    // A directory means its working_case.yaml.
    let out = schema(&["demo"], &root().join("fixtures"));
    assert_eq!(serde_json::from_slice::<Value>(&out.stdout).unwrap(), printed);
}

#[test]
fn the_current_phase_comes_from_state_json() {
    let dir = std::env::temp_dir().join(format!("playbook-schema-cli-{}", std::process::id()));
    std::fs::create_dir_all(dir.join(".playbook")).unwrap();
    let case = std::fs::read_to_string(root().join("fixtures/demo/working_case.yaml")).unwrap();
    let registry = root().join("playbooks/registry.md").canonicalize().unwrap();
    let case = case.replace("playbook: ../../playbooks/registry.md", &format!("playbook: {}", registry.display()));
    std::fs::write(dir.join("working_case.yaml"), &case).unwrap();
    std::fs::write(dir.join(".playbook/state.json"), r#"{"current_phase": 2}"#).unwrap();
    let out = schema(&[], &dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let required = printed["properties"]["answers"]["required"].as_array().unwrap();
    assert!(required.iter().any(|r| r == "organisation_mnemonic"), "Phase 2 items are required");
}

#[test]
fn unreadable_cases_and_playbooks_exit_2_with_a_message() {
    let dir = std::env::temp_dir().join(format!("playbook-schema-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        ("missing.yaml", None, "cannot read"),
        ("broken.yaml", Some("answers: [unclosed\n"), "YAML syntax error"),
        ("orphan.yaml", Some("answers:\n  a: 1\n"), "no `playbook:`"),
        ("lost.yaml", Some("playbook: nowhere.md\n"), "cannot read"),
        ("readme.yaml", Some("playbook: notes.md\n"), "not a playbook"),
    ];
    std::fs::write(dir.join("notes.md"), "# Notes\n\nNo phases here.\n").unwrap();
    for (name, text, message) in cases {
        if let Some(text) = text {
            std::fs::write(dir.join(name), text).unwrap();
        }
        let out = schema(&[name], &dir);
        assert_eq!(out.status.code(), Some(2), "{name}");
        assert!(out.stdout.is_empty(), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{name}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
