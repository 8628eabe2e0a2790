//! Hover, completion and go-to-definition over the in-process harness, on the registry playbook
//! with its demo case and on the real OpenG2P playbook.

mod common;
use common::*;
use serde_json::{Value, json};
use std::path::Path;

const DEMO: &str = "fixtures/demo/working_case.yaml";
const REGISTRY: &str = "playbooks/registry.md";

fn at(uri: &str, line: u32, character: u32) -> Value {
    json!({ "textDocument": { "uri": uri }, "position": position(line, character) })
}

/// The position `delta` UTF-16 units after the start of `needle`.
fn pos_of(text: &str, needle: &str, delta: u32) -> (u32, u32) {
    let (line, col) = find(text, needle);
    (line, col + delta)
}

async fn hover(client: &Client, uri: &str, (line, col): (u32, u32)) -> Value {
    client.call("textDocument/hover", at(uri, line, col)).await
}

fn hover_text(hover: &Value) -> String {
    assert_eq!(hover["contents"]["kind"], "markdown", "{hover}");
    hover["contents"]["value"].as_str().unwrap().to_string()
}

fn range(hover_or_location: &Value) -> (u64, u64, u64, u64) {
    let r = &hover_or_location["range"];
    let n = |v: &Value| v.as_u64().unwrap();
    (n(&r["start"]["line"]), n(&r["start"]["character"]), n(&r["end"]["line"]), n(&r["end"]["character"]))
}

async fn complete(client: &Client, uri: &str, (line, col): (u32, u32)) -> Vec<Value> {
    let result = client.call("textDocument/completion", at(uri, line, col)).await;
    let mut items = match &result {
        Value::Null => Vec::new(),
        Value::Array(items) => items.clone(),
        list => list["items"].as_array().unwrap().clone(),
    };
    items.sort_by_key(sort_key);
    items
}

fn sort_key(item: &Value) -> String {
    item["sortText"].as_str().or(item["label"].as_str()).unwrap().to_string()
}

/// One line per completion item: label, where it ranks and what it writes.
fn describe(items: &[Value]) -> String {
    items
        .iter()
        .map(|i| {
            let edit = &i["textEdit"];
            let (l1, c1, l2, c2) = range(edit);
            format!(
                "{} [{}] {:?} @{l1}:{c1}-{l2}:{c2} — {}",
                i["label"].as_str().unwrap(),
                i["labelDetails"]["description"].as_str().unwrap_or("-"),
                edit["newText"].as_str().unwrap(),
                i["detail"].as_str().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Replace line `line` with `text` (the line break stays).
async fn set_line(client: &Client, uri: &str, original: &str, line: u32, text: &str) {
    let len = original.lines().nth(line as usize).unwrap().encode_utf16().count() as u32;
    client.change(uri, json!([{ "range": { "start": position(line, 0), "end": position(line, len) }, "text": text }])).await;
    client.wait_idle().await;
}

// ---------------------------------------------------------------------------------------------
// Hover

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hover_on_a_case_key_shows_the_item_and_whether_it_is_required_now() {
    let root = workspace("hover-case");
    let client = Client::start(&root, capabilities(true, false)).await;
    let text = std::fs::read_to_string(root.join(DEMO)).unwrap();
    let uri = client.open(DEMO).await;
    client.wait_idle().await;

    let on_key = hover(&client, &uri, pos_of(&text, "has_foundational_id:", 4)).await;
    let (line, col) = find(&text, "has_foundational_id:");
    assert_eq!(range(&on_key), (line as u64, col as u64, line as u64, col as u64 + "has_foundational_id".len() as u64));
    insta::assert_snapshot!("hover_case_key_has_foundational_id", hover_text(&on_key));

    // The same hover on the value, with the value's range.
    let on_value = hover(&client, &uri, pos_of(&text, "foundational_id_verification: online-api", 32)).await;
    let (line, col) = find(&text, "online-api");
    assert_eq!(range(&on_value), (line as u64, col as u64, line as u64, col as u64 + 10));
    insta::assert_snapshot!("hover_case_value_enum", hover_text(&on_value));

    // Comments and the `playbook:` line have no hover.
    assert_eq!(hover(&client, &uri, pos_of(&text, "Demo working case", 2)).await, Value::Null);
    assert_eq!(hover(&client, &uri, pos_of(&text, "playbook:", 2)).await, Value::Null);
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hover_in_a_case_tells_when_a_condition_is_not_known_yet() {
    let root = workspace("hover-unknown");
    let client = Client::start(&root, capabilities(true, false)).await;
    let text = std::fs::read_to_string(root.join(DEMO)).unwrap();
    let uri = client.open(DEMO).await;
    client.wait_idle().await;
    // Without `has_foundational_id`, whether its follow-up items are required is not known.
    let (line, _) = find(&text, "  has_foundational_id: yes");
    set_line(&client, &uri, &text, line, "").await;
    let value = hover_text(&hover(&client, &uri, pos_of(&text, "foundational_id_name:", 3)).await);
    assert!(value.contains("*In this case:* the condition is not yet known (waiting on `has_foundational_id`)"), "{value}");
    // A condition that holds, and one made false by an edit.
    let value = hover_text(&hover(&client, &uri, pos_of(&text, "existing_system_name:", 3)).await);
    assert!(value.contains("*In this case:* the condition is true — **required now**"), "{value}");
    let (line, _) = find(&text, "  existing_data: brownfield");
    set_line(&client, &uri, &text, line, "  existing_data: greenfield").await;
    let value = hover_text(&hover(&client, &uri, pos_of(&text, "existing_system_name:", 3)).await);
    assert!(value.contains("*In this case:* the condition is false — not required"), "{value}");
    // A plain `yes` item.
    let value = hover_text(&hover(&client, &uri, pos_of(&text, "country:", 3)).await);
    assert!(value.contains("**Required:** yes  \n*In this case:* **required now**"), "{value}");
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hover_in_the_playbook_on_items_references_activities_and_phases() {
    let root = workspace("hover-playbook");
    let client = Client::start(&root, capabilities(true, false)).await;
    let text = std::fs::read_to_string(root.join(REGISTRY)).unwrap();
    let uri = client.open(REGISTRY).await;
    client.wait_idle().await;

    // A conditional item, on its heading: no case, so no "in this case" line.
    let heading = hover(&client, &uri, pos_of(&text, "#### identity_fallback_process", 8)).await;
    let (line, col) = find(&text, "#### identity_fallback_process");
    assert_eq!(range(&heading), (line as u64, col as u64 + 5, line as u64, col as u64 + 30));
    insta::assert_snapshot!("hover_playbook_conditional_item", hover_text(&heading));

    // An enum item, through a reference in another item's condition.
    let (line, col) = find(&text, "`foundational_id_verification` in");
    let reference = hover(&client, &uri, (line, col + 3)).await;
    assert_eq!(range(&reference), (line as u64, col as u64 + 1, line as u64, col as u64 + 29));
    insta::assert_snapshot!("hover_playbook_enum_item_from_condition", hover_text(&reference));

    // An item with recognised Validation rules and prose.
    let validated = hover(&client, &uri, pos_of(&text, "#### registry_mnemonic", 6)).await;
    insta::assert_snapshot!("hover_playbook_validation", hover_text(&validated));

    // An Activity Inputs reference shows the item too.
    let (line, col) = find(&text, "`reference_registry_url`, `reference_registry_ref`");
    let input = hover_text(&hover(&client, &uri, (line, col + 4)).await);
    assert!(input.starts_with("### reference_registry_url\n"), "{input}");

    // Activities: a local one with a built-in handler, a remote one, a manual one.
    let local = hover(&client, &uri, pos_of(&text, "#### 2. clone_reference_registry", 10)).await;
    insta::assert_snapshot!("hover_activity_local", hover_text(&local));
    let remote = hover_text(&hover(&client, &uri, pos_of(&text, "#### 13. push_extension_repo", 12)).await);
    assert!(remote.contains("*Reach:* **remote**"), "{remote}");
    let manual = hover(&client, &uri, pos_of(&text, "#### walk_discovery", 6)).await;
    insta::assert_snapshot!("hover_activity_manual", hover_text(&manual));

    // Phases: a build phase and one that is coming soon.
    let phase = hover(&client, &uri, pos_of(&text, "## Phase 2: Build", 4)).await;
    insta::assert_snapshot!("hover_phase_build", hover_text(&phase));
    let soon = hover_text(&hover(&client, &uri, pos_of(&text, "## Phase 3: Sandbox", 4)).await);
    assert!(soon.contains("**Coming soon**"), "{soon}");

    // Prose is not a target.
    assert_eq!(hover(&client, &uri, pos_of(&text, "This playbook describes", 3)).await, Value::Null);
    client.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Completion

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completing_a_deleted_answer_offers_the_missing_item_first_as_a_snippet() {
    let root = workspace("complete-snippet");
    let client = Client::start(&root, capabilities(true, false)).await;
    let text = std::fs::read_to_string(root.join(DEMO)).unwrap();
    let uri = client.open(DEMO).await;
    let (line, _) = find(&text, "  has_foundational_id: yes");
    set_line(&client, &uri, &text, line, "").await;

    let items = complete(&client, &uri, (line, 0)).await;
    let first = &items[0];
    assert_eq!(first["label"], "has_foundational_id");
    assert_eq!(first["kind"], 5, "FIELD");
    assert_eq!(first["insertTextFormat"], 2, "snippet");
    assert_eq!(first["textEdit"]["newText"], "  has_foundational_id: ${1|yes,no|}");
    assert_eq!(first["labelDetails"]["description"], "required now");
    assert!(first["documentation"]["value"].as_str().unwrap().starts_with("### has_foundational_id\n"));
    // Only unanswered items are offered: nothing the case already has.
    assert!(items.iter().all(|i| i["label"] != "country" && i["label"] != "foundational_id_name"));
    insta::assert_snapshot!("complete_missing_answer_snippets", describe(&items));
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_snippet_support_completion_inserts_plain_text() {
    let root = workspace("complete-plain");
    let client = Client::start(&root, capabilities(false, false)).await;
    let text = std::fs::read_to_string(root.join(DEMO)).unwrap();
    let uri = client.open(DEMO).await;
    let (line, _) = find(&text, "  functional_id_format: alphanumeric");
    // The answer is deleted and `func` typed in its place, with the line's indentation.
    set_line(&client, &uri, &text, line, "  func").await;

    let items = complete(&client, &uri, (line, 6)).await;
    assert_eq!(items[0]["label"], "functional_id_format");
    assert_eq!(items[0]["labelDetails"]["description"], "required now");
    for item in &items {
        assert_eq!(item["insertTextFormat"], 1, "{item}");
        let new_text = item["textEdit"]["newText"].as_str().unwrap();
        assert!(!new_text.contains('$'), "{new_text}");
        // The typed word is replaced, the indentation is kept.
        assert_eq!(range(&item["textEdit"]), (line as u64, 2, line as u64, 6));
    }
    assert_eq!(items[0]["textEdit"]["newText"], "functional_id_format: ");
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_required_in_the_current_phase_come_first() {
    let root = workspace("complete-phase");
    std::fs::create_dir_all(root.join("fixtures/demo/.playbook")).unwrap();
    std::fs::write(root.join("fixtures/demo/.playbook/state.json"), r#"{"current_phase": 2}"#).unwrap();
    let client = Client::start(&root, capabilities(true, false)).await;
    let text = std::fs::read_to_string(root.join(DEMO)).unwrap();
    let uri = client.open(DEMO).await;
    let (line, _) = find(&text, "  registry_mnemonic: aurelia-households");
    set_line(&client, &uri, &text, line, "  ").await;
    let items = complete(&client, &uri, (line, 2)).await;
    assert_eq!(items[0]["label"], "registry_mnemonic");
    assert_eq!(items[0]["textEdit"]["newText"], "registry_mnemonic: \"${1}\"");
    // Phase 1 items that are not required now follow; nothing of a later phase is left.
    assert!(items[1..].iter().all(|i| i["labelDetails"]["description"] != "required now"));
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completing_values_offers_enum_members_and_yes_no() {
    let root = workspace("complete-values");
    let client = Client::start(&root, capabilities(true, false)).await;
    let text = std::fs::read_to_string(root.join(DEMO)).unwrap();
    let uri = client.open(DEMO).await;
    client.wait_idle().await;

    // Enum: the cursor inside the value; the whole value is replaced.
    let (line, col) = find(&text, "alphanumeric");
    let items = complete(&client, &uri, (line, col + 5)).await;
    insta::assert_snapshot!("complete_enum_values", describe(&items));
    assert_eq!(items[0]["kind"], 20, "ENUM_MEMBER");

    // Boolean.
    let (line, col) = find(&text, "field_agents: yes");
    let items = complete(&client, &uri, (line, col + 17)).await;
    let labels: Vec<&str> = items.iter().map(|i| i["label"].as_str().unwrap()).collect();
    assert_eq!(labels, vec!["yes", "no"]);
    assert_eq!(range(&items[1]["textEdit"]), (line as u64, col as u64 + 14, line as u64, col as u64 + 17));

    // Right after the colon, a space is written before the value.
    set_line(&client, &uri, &text, line, "  field_agents:").await;
    let items = complete(&client, &uri, (line, 15)).await;
    assert_eq!(items[0]["textEdit"]["newText"], " yes");

    // Free text, a comment and a nested value get nothing.
    let (line, col) = find(&text, "country: Republic");
    assert!(complete(&client, &uri, (line, col + 12)).await.is_empty());
    let (line, col) = find(&text, "# Project context");
    assert!(complete(&client, &uri, (line, col + 3)).await.is_empty());
    let (line, col) = find(&text, "Households: HOUSEHOLD");
    assert!(complete(&client, &uri, (line, col + 4)).await.is_empty());
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completion_survives_end_of_file_empty_documents_crlf_and_broken_yaml() {
    let root = workspace("complete-edges");
    let client = Client::start(&root, capabilities(true, false)).await;

    // The end of the file, right after the last answer's line break.
    let text = "playbook: ../../playbooks/registry.md\nanswers:\n  country: Kenya\n";
    let uri = client.open_text("fixtures/demo/edge_case.yaml", text).await;
    client.wait_idle().await;
    let items = complete(&client, &uri, (3, 0)).await;
    assert_eq!(items[0]["label"], "implementing_organisation");
    assert_eq!(items[0]["textEdit"]["newText"], "  implementing_organisation: \"${1}\"");
    assert_eq!(range(&items[0]["textEdit"]), (3, 0, 3, 0));
    assert!(items.iter().all(|i| i["label"] != "country"));

    // CRLF, with a value being typed on the last line (no final line break).
    let crlf = "playbook: ../../playbooks/registry.md\r\nanswers:\r\n  country: Kenya\r\n  has_functional_id: n";
    let uri = client.open_text("fixtures/demo/crlf_case.yaml", crlf).await;
    client.wait_idle().await;
    let items = complete(&client, &uri, (3, 22)).await;
    let labels: Vec<&str> = items.iter().map(|i| i["label"].as_str().unwrap()).collect();
    assert_eq!(labels, vec!["yes", "no"]);
    assert_eq!(range(&items[0]["textEdit"]), (3, 21, 3, 22));

    // Broken YAML elsewhere: positions are read from the lines, the playbook from its line.
    let broken = "playbook: ../../playbooks/registry.md\nanswers:\n  country: [Kenya\n  registry_purpose: gen\n  \n";
    let uri = client.open_text("fixtures/demo/broken_case.yaml", broken).await;
    client.wait_idle().await;
    let items = complete(&client, &uri, (3, 23)).await;
    let labels: Vec<&str> = items.iter().map(|i| i["label"].as_str().unwrap()).collect();
    assert_eq!(labels, vec!["single-programme", "multi-programme", "general-purpose"]);
    let items = complete(&client, &uri, (4, 2)).await;
    assert!(items.iter().any(|i| i["label"] == "implementing_organisation"));
    assert!(items.iter().all(|i| i["label"] != "country" && i["label"] != "registry_purpose"));
    // Hover and definition read the key from its line too.
    let on_key = hover_text(&hover(&client, &uri, (3, 4)).await);
    assert!(on_key.starts_with("### registry_purpose\n"), "{on_key}");
    let location = client.call("textDocument/definition", at(&uri, 3, 4)).await;
    assert!(location["uri"].as_str().unwrap().ends_with(REGISTRY), "{location}");

    // An empty document: only the top-level keys.
    let uri = client.open_text("fixtures/demo/working_case_new.yaml", "").await;
    client.wait_idle().await;
    let items = complete(&client, &uri, (0, 0)).await;
    let labels: Vec<&str> = items.iter().map(|i| i["label"].as_str().unwrap()).collect();
    assert_eq!(labels, vec!["answers", "playbook"]);

    // A playbook gets no completion.
    let uri = client.open(REGISTRY).await;
    client.wait_idle().await;
    assert!(complete(&client, &uri, (0, 0)).await.is_empty());
    client.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Definition

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn definition_goes_from_case_keys_and_condition_refs_to_the_heading() {
    let root = workspace("definition");
    let client = Client::start(&root, capabilities(true, false)).await;
    let case_text = std::fs::read_to_string(root.join(DEMO)).unwrap();
    let pb_text = std::fs::read_to_string(root.join(REGISTRY)).unwrap();
    let case_uri = client.open(DEMO).await;
    let pb_uri = client.open(REGISTRY).await;
    client.wait_idle().await;

    let heading = |id: &str| {
        let line = pb_text.lines().position(|l| l == format!("#### {id}")).unwrap() as u64;
        (line, 5, line, 5 + id.len() as u64)
    };
    let (line, col) = find(&case_text, "foundational_id_name:");
    let location = client.call("textDocument/definition", at(&case_uri, line, col + 2)).await;
    assert_eq!(location["uri"], pb_uri.as_str());
    assert_eq!(range(&location), heading("foundational_id_name"));

    // From a value.
    let (line, col) = find(&case_text, "online-api");
    let location = client.call("textDocument/definition", at(&case_uri, line, col + 2)).await;
    assert_eq!(range(&location), heading("foundational_id_verification"));

    // From a condition reference in the playbook.
    let (line, col) = find(&pb_text, "conditional: `has_foundational_id` = yes");
    let location = client.call("textDocument/definition", at(&pb_uri, line, col + 16)).await;
    assert_eq!(location["uri"], pb_uri.as_str());
    assert_eq!(range(&location), heading("has_foundational_id"));

    // On the heading itself, and in prose: nowhere to go.
    let (line, col) = find(&pb_text, "#### has_foundational_id");
    assert_eq!(client.call("textDocument/definition", at(&pb_uri, line, col + 7)).await, Value::Null);
    assert_eq!(client.call("textDocument/definition", at(&pb_uri, 2, 10)).await, Value::Null);
    client.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// The real OpenG2P playbook

/// Copy the shared OpenG2P playbook into the workspace and the repository's case for it, with
/// its `playbook:` line pointing at the copy.
fn openg2p_workspace(name: &str) -> (std::path::PathBuf, String, String) {
    let root = workspace(name);
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let playbook = std::fs::read_to_string(repo.join("../shared/fixtures/openg2p/use-case-implementation.md")).unwrap();
    std::fs::create_dir_all(root.join("shared/openg2p")).unwrap();
    std::fs::write(root.join("shared/openg2p/use-case-implementation.md"), &playbook).unwrap();
    let case = std::fs::read_to_string(repo.join("fixtures/openg2p/working_case.yaml")).unwrap();
    let case: String = case
        .lines()
        .map(|l| if l.starts_with("playbook:") { "playbook: ../../shared/openg2p/use-case-implementation.md" } else { l })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    std::fs::create_dir_all(root.join("fixtures/openg2p")).unwrap();
    std::fs::write(root.join("fixtures/openg2p/working_case.yaml"), &case).unwrap();
    (root, playbook, case)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openg2p_hover_completion_and_definition() {
    let (root, pb_text, case_text) = openg2p_workspace("openg2p-hcd");
    let client = Client::start(&root, capabilities(true, false)).await;
    let uri = client.open("fixtures/openg2p/working_case.yaml").await;
    client.wait_idle().await;
    assert_eq!(client.codes(&uri), vec![], "the copied case is clean against the copied playbook");

    // Hover on `has_foundational_id`.
    let (line, col) = find(&case_text, "has_foundational_id:");
    let value = hover_text(&hover(&client, &uri, (line, col + 3)).await);
    insta::assert_snapshot!("openg2p_hover_has_foundational_id", value);

    // Definition lands on its heading line.
    let location = client.call("textDocument/definition", at(&uri, line, col + 3)).await;
    let (heading_line, heading_col) = find(&pb_text, "#### has_foundational_id");
    assert!(location["uri"].as_str().unwrap().ends_with("shared/openg2p/use-case-implementation.md"), "{location}");
    assert_eq!(range(&location), (heading_line as u64, heading_col as u64 + 5, heading_line as u64, heading_col as u64 + 24));

    // Completion on a new line at the end of the answers lists exactly the items not written yet.
    let pb = playbook_core::playbook::parse(&pb_text);
    let case = playbook_core::case::Case::parse(&case_text);
    let mut expected: Vec<&str> = Vec::new();
    for item in &pb.items {
        if case.answer_entry(&item.id).is_none() && !expected.contains(&item.id.as_str()) {
            expected.push(&item.id);
        }
    }
    let last = case_text.lines().count() as u32;
    let items = complete(&client, &uri, (last, 0)).await;
    let mut labels: Vec<&str> = items.iter().map(|i| i["label"].as_str().unwrap()).collect();
    assert!(!labels.is_empty());
    labels.sort();
    expected.sort();
    assert_eq!(labels, expected);
    assert!(items.iter().all(|i| i["labelDetails"]["description"] != "required now"), "the case is complete for Phase 1");

    // With its answer deleted, `has_foundational_id` is missing and comes first.
    set_line(&client, &uri, &case_text, line, "").await;
    let items = complete(&client, &uri, (line, 0)).await;
    assert_eq!(items[0]["label"], "has_foundational_id");
    assert_eq!(items[0]["textEdit"]["newText"], "  has_foundational_id: ${1|yes,no|}");
    assert_eq!(items[0]["detail"], "If a main Register identifies a person, does the country have a nationwide Foundational Identity?");
    client.shutdown().await;
}
