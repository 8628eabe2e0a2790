//! Diagnostics over the in-process harness: published with versions, kept in step with edits.

mod common;
use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_the_demo_case_publishes_clean_diagnostics_with_its_version() {
    let root = workspace("diag-clean");
    let client = Client::start(&root, capabilities(true, false)).await;
    let uri = client.open("fixtures/demo/working_case.yaml").await;
    client.wait_idle().await;
    let published = client.diagnostics(&uri).expect("diagnostics for the case");
    assert_eq!(published["version"], 1);
    assert_eq!(published["diagnostics"], json!([]));
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_answer_reports_it_missing_and_restoring_clears_it() {
    let root = workspace("diag-missing");
    let client = Client::start(&root, capabilities(true, false)).await;
    let text = std::fs::read_to_string(root.join("fixtures/demo/working_case.yaml")).unwrap();
    let uri = client.open("fixtures/demo/working_case.yaml").await;
    let (line, _) = find(&text, "  country:");
    let removed = text.lines().nth(line as usize).unwrap().to_string() + "\n";
    let range = json!({ "start": position(line, 0), "end": position(line + 1, 0) });
    let version = client.change(&uri, json!([{ "range": range, "text": "" }])).await;
    client.wait_idle().await;
    let published = client.diagnostics(&uri).unwrap();
    assert_eq!(published["version"], version);
    let codes = client.codes(&uri);
    assert_eq!(codes.len(), 1, "{published}");
    assert_eq!(codes[0].0, "missing-answer");
    let message = published["diagnostics"][0]["message"].as_str().unwrap();
    assert!(message.contains("`country`"), "{message}");
    // The related location is the item's heading in the playbook.
    let related = &published["diagnostics"][0]["relatedInformation"][0]["location"];
    assert!(related["uri"].as_str().unwrap().ends_with("playbooks/registry.md"));
    let insert = json!({ "start": position(line, 0), "end": position(line, 0) });
    client.change(&uri, json!([{ "range": insert, "text": removed }])).await;
    client.wait_idle().await;
    assert_eq!(client.codes(&uri), vec![]);
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_a_playbook_rechecks_the_cases_that_use_it() {
    let root = workspace("diag-playbook");
    let client = Client::start(&root, capabilities(true, false)).await;
    let case_uri = client.open("fixtures/demo/working_case.yaml").await;
    let pb_text = std::fs::read_to_string(root.join("playbooks/registry.md")).unwrap();
    let pb_uri = client.open("playbooks/registry.md").await;
    client.wait_idle().await;
    assert_eq!(client.codes(&case_uri), vec![]);
    // Rename the heading of an answered item: the case key becomes unknown, the new id missing.
    let (line, col) = find(&pb_text, "#### country");
    let range = json!({ "start": position(line, col + 5), "end": position(line, col + 12) });
    client.change(&pb_uri, json!([{ "range": range, "text": "nation" }])).await;
    client.wait_idle().await;
    let mut codes: Vec<String> = client.codes(&case_uri).into_iter().map(|c| c.0).collect();
    codes.sort();
    assert!(codes.contains(&"unknown-item".to_string()) && codes.contains(&"missing-answer".to_string()), "{codes:?}");
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_that_are_not_open_are_followed_through_watched_file_events() {
    let root = workspace("diag-watched");
    let client = Client::start(&root, capabilities(true, false)).await;
    // A case created on disk after start-up: the server learns of it from the watcher.
    let path = root.join("fixtures/demo/second_case.yaml");
    std::fs::write(&path, "playbook: ../../playbooks/registry.md\nanswers:\n  contry: Aurelia\n").unwrap();
    let case_uri = uri(&path);
    client.notify("workspace/didChangeWatchedFiles", json!({ "changes": [{ "uri": case_uri, "type": 1 }] })).await;
    client.wait_idle().await;
    let published = client.diagnostics(&case_uri).expect("diagnostics for a case that is not open");
    assert_eq!(published["version"], serde_json::Value::Null, "files not open carry no version");
    let codes: Vec<String> = client.codes(&case_uri).into_iter().map(|c| c.0).collect();
    assert!(codes.contains(&"unknown-item".to_string()) && codes.contains(&"missing-answer".to_string()), "{codes:?}");
    // Changed on disk: re-read.
    std::fs::write(&path, "playbook: ../../playbooks/registry.md\nanswers:\n  country: Aurelia\n").unwrap();
    client.notify("workspace/didChangeWatchedFiles", json!({ "changes": [{ "uri": case_uri, "type": 2 }] })).await;
    client.wait_idle().await;
    assert!(!client.codes(&case_uri).iter().any(|c| c.0 == "unknown-item"), "{:?}", client.codes(&case_uri));
    // Deleted: its diagnostics are cleared.
    std::fs::remove_file(&path).unwrap();
    client.notify("workspace/didChangeWatchedFiles", json!({ "changes": [{ "uri": case_uri, "type": 3 }] })).await;
    client.wait_idle().await;
    assert_eq!(client.codes(&case_uri), vec![]);
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_edits_costs_one_analysis() {
    let root = workspace("diag-burst");
    let client = Client::start(&root, capabilities(true, false)).await;
    let uri = client.open("fixtures/demo/working_case.yaml").await;
    client.wait_idle().await;
    let published_before = client.notifications.lock().unwrap().len();
    // 100 changes (type and delete a character) delivered in one write, as a paste or a
    // formatter would produce them.
    let mut burst = Vec::new();
    for version in 2..102 {
        let text = if version % 2 == 0 { "x" } else { "" };
        let end = if version % 2 == 0 { 0 } else { 1 };
        let change = json!({ "jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": { "uri": uri, "version": version },
            "contentChanges": [{ "range": { "start": position(0, 0), "end": position(0, end) }, "text": text }] } });
        let body = serde_json::to_vec(&change).unwrap();
        burst.extend(format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes());
        burst.extend(body);
    }
    client.send_raw(&burst, b"").await;
    client.wait_idle().await;
    let publishes: Vec<serde_json::Value> = client.notifications.lock().unwrap()[published_before..]
        .iter()
        .filter(|n| n["method"] == "textDocument/publishDiagnostics" && n["params"]["uri"] == uri)
        .map(|n| n["params"]["version"].clone())
        .collect();
    // One analysis is the design; a loaded machine may split the burst once or twice.
    assert!(!publishes.is_empty() && publishes.len() <= 3, "{} analyses for one burst: {publishes:?}", publishes.len());
    assert_eq!(publishes.last().unwrap(), &json!(101));
    assert_eq!(client.codes(&uri), vec![], "the final text equals the original");
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phase_change_in_state_json_rechecks_the_cases_beside_it() {
    let root = workspace("diag-phase");
    let client = Client::start(&root, capabilities(true, false)).await;
    let text = std::fs::read_to_string(root.join("fixtures/demo/working_case.yaml")).unwrap();
    let case_uri = client.open("fixtures/demo/working_case.yaml").await;
    // Remove a Phase 2 answer: nothing is missing while the case is in Phase 1.
    let (line, _) = find(&text, "  gitlab_user_email:");
    client.change(&case_uri, json!([{ "range": { "start": position(line, 0), "end": position(line + 1, 0) }, "text": "" }])).await;
    client.wait_idle().await;
    assert_eq!(client.codes(&case_uri), vec![]);
    // The project moves to Phase 2 on disk; the watcher tells the server.
    let state = root.join("fixtures/demo/.playbook/state.json");
    std::fs::create_dir_all(state.parent().unwrap()).unwrap();
    std::fs::write(&state, r#"{"current_phase": 2}"#).unwrap();
    client.notify("workspace/didChangeWatchedFiles", json!({ "changes": [{ "uri": uri(&state), "type": 1 }] })).await;
    client.wait_idle().await;
    assert_eq!(client.codes(&case_uri).into_iter().map(|c| c.0).collect::<Vec<_>>(), ["missing-answer"]);
    client.shutdown().await;
}
