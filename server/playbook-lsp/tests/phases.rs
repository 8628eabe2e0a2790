//! Phases and reports through the server: the four commands, their refusals (with reasons in
//! `data`), the phase lenses and the gate on a phase heading's hover.

mod common;

use common::{Client, capabilities, copy_tree, lens_titles_at as lens_titles, uri};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn phases_workspace(name: &str) -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap();
    let dir = std::env::temp_dir().join(format!("playbook-lsp-phases-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_tree(&repo.join("fixtures/phases"), &dir);
    dir.canonicalize().unwrap()
}

async fn command(client: &Client, command: &str, args: Value) -> Value {
    client.request("workspace/executeCommand", json!({ "command": command, "arguments": [args] })).await
}

async fn hover_on(client: &Client, uri: &str, text: &str, needle: &str) -> String {
    let (line, col) = common::find(text, needle);
    let hover =
        client.call("textDocument/hover", json!({ "textDocument": { "uri": uri }, "position": common::position(line, col + 3) })).await;
    hover["contents"]["value"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn phases_and_reports_from_the_editor() {
    let root = phases_workspace("flow");
    let case_path = root.join("working_case.yaml");
    let full = std::fs::read_to_string(&case_path).unwrap();
    let without_email: String = full.lines().filter(|l| !l.contains("contact_email")).map(|l| format!("{l}\n")).collect();
    std::fs::write(&case_path, &without_email).unwrap();

    let client = Client::start_with(&root, capabilities(false, false), json!({ "trustedWorkspace": true })).await;
    let case = client.open_text("working_case.yaml", &without_email).await;
    let playbook_text = std::fs::read_to_string(root.join("playbook.md")).unwrap();
    let playbook = client.open("playbook.md").await;
    client.wait_idle().await;

    // A required item is missing: completion is refused and names it.
    let refused = command(&client, "playbook.completePhase", json!({ "uri": case })).await;
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.contains("contact_email"), "{refused}");
    assert!(
        refused["error"]["data"]["reasons"].as_array().unwrap().iter().any(|r| r["code"] == "missing-item" && r["item"] == "contact_email")
    );
    let top = lens_titles(&client, &case, 0).await;
    assert!(top[0].starts_with("Phase 1 (current) · answered 4/5 · report not generated · gate: "), "{top:?}");
    assert!(top.iter().any(|t| t.starts_with("Complete phase (")), "{top:?}");

    // Unsaved answers are not reported on.
    client.change(&case, json!([{ "text": full }])).await;
    client.wait_idle().await;
    let unsaved = command(&client, "playbook.generateReport", json!({ "uri": case })).await;
    assert!(unsaved["error"]["message"].as_str().unwrap().contains("unsaved changes"), "{unsaved}");
    assert!(!root.join("reports").exists());

    // Saved: generate, approve, complete.
    std::fs::write(&case_path, &full).unwrap();
    let generated = command(&client, "playbook.generateReport", json!({ "uri": case })).await;
    assert_eq!(generated["result"]["version"], 1, "{generated}");
    let report_uri = generated["result"]["uri"].as_str().unwrap();
    assert!(report_uri.ends_with("/reports/phase-1-discovery-report-v1.md"), "{report_uri}");
    let top = lens_titles(&client, &case, 0).await;
    assert!(top.contains(&"Approve v1".to_string()) && top[0].contains("report v1 draft"), "{top:?}");

    // Approving never writes a report the editor has open.
    let report_path = root.join("reports/phase-1-discovery-report-v1.md");
    client.open_text("reports/phase-1-discovery-report-v1.md", &std::fs::read_to_string(&report_path).unwrap()).await;
    let open = command(&client, "playbook.approveReport", json!({ "uri": case })).await;
    assert!(open["error"]["message"].as_str().unwrap().contains("close"), "{open}");
    client.notify("textDocument/didClose", json!({ "textDocument": { "uri": uri(&report_path) } })).await;
    let approved = command(&client, "playbook.approveReport", json!({ "uri": case })).await;
    assert_eq!(approved["result"]["version"], 1, "{approved}");
    let hover = hover_on(&client, &playbook, &playbook_text, "## Phase 1").await;
    assert!(hover.contains("**Discovery Report:** v1 approved"), "{hover}");

    let done = command(&client, "playbook.completePhase", json!({ "uri": case, "reason": "discovery signed off" })).await;
    assert_eq!((done["result"]["from"].clone(), done["result"]["to"].clone()), (json!(1), json!(2)), "{done}");
    let state: Value = serde_json::from_str(&std::fs::read_to_string(root.join(".playbook/state.json")).unwrap()).unwrap();
    assert_eq!(state["current_phase"], 2);
    assert_eq!(state["history"][0]["action"], "complete");
    assert_eq!(state["history"][0]["reason"], "discovery signed off");
    client.wait_idle().await;
    let (phase2, _) = common::find(&playbook_text, "## Phase 2");
    let lenses = lens_titles(&client, &playbook, phase2 as u64).await;
    assert!(lenses[0].starts_with("Phase 2 (current)"), "{lenses:?}");
    let (phase1, _) = common::find(&playbook_text, "## Phase 1");
    assert!(lens_titles(&client, &playbook, phase1 as u64).await.contains(&"↩ Reopen".to_string()));
    let hover = hover_on(&client, &playbook, &playbook_text, "## Phase 2").await;
    assert!(hover.contains("**Gate to Phase 3: Launch:** refused"), "{hover}");
    let (phase3, _) = common::find(&playbook_text, "## Phase 3");
    assert_eq!(lens_titles(&client, &playbook, phase3 as u64).await, vec!["Phase 3 · coming soon".to_string()]);

    // Reopen needs a reason, and records it.
    let bare = command(&client, "playbook.reopenPhase", json!({ "uri": case, "to": 1 })).await;
    assert!(bare["error"]["message"].as_str().unwrap().contains("needs a `reason`"), "{bare}");
    let reopened =
        command(&client, "playbook.reopenPhase", json!({ "uri": case, "to": 1, "reason": "the committee changed its mind" })).await;
    assert_eq!(reopened["result"]["to"], 1, "{reopened}");
    let state: Value = serde_json::from_str(&std::fs::read_to_string(root.join(".playbook/state.json")).unwrap()).unwrap();
    assert_eq!(state["history"][1]["reason"], "the committee changed its mind");
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test]
async fn an_untrusted_workspace_changes_no_phase_and_writes_no_report() {
    let root = phases_workspace("untrusted");
    let client = Client::start(&root, capabilities(false, false)).await;
    let case = client.open("working_case.yaml").await;
    client.wait_idle().await;
    for name in ["playbook.generateReport", "playbook.approveReport", "playbook.completePhase"] {
        let response = command(&client, name, json!({ "uri": case })).await;
        assert!(response["error"]["message"].as_str().unwrap().contains("not trusted"), "{name}: {response}");
    }
    assert!(!root.join("reports").exists() && !root.join(".playbook").exists());
    let top = lens_titles(&client, &case, 0).await;
    assert_eq!(top.len(), 1, "status only, no commands: {top:?}");
    let _ = std::fs::remove_dir_all(&root);
}
