//! Code actions and commands over the in-process harness: every edit is applied by the test
//! (as a client would), sent back as `didChange`, and the diagnostics must show it worked.

mod common;
use common::*;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const CASE: &str = "fixtures/demo/working_case.yaml";

/// Byte offset of an LSP position (UTF-16 columns) in `text`.
fn offset(text: &str, position: &Value) -> usize {
    let line = position["line"].as_u64().unwrap() as usize;
    let character = position["character"].as_u64().unwrap() as usize;
    let mut start = 0;
    for _ in 0..line {
        match text[start..].find('\n') {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    let line_text = &text[start..text[start..].find('\n').map_or(text.len(), |i| start + i)];
    let mut units = 0;
    for (i, c) in line_text.char_indices() {
        if units >= character {
            return start + i;
        }
        units += c.len_utf16();
    }
    start + line_text.len()
}

/// The text edits of `edit` for `uri`, with the version they were computed against.
fn text_edits(edit: &Value, uri: &str) -> (Option<i64>, Vec<Value>) {
    let changes = edit["documentChanges"].as_array().expect("documentChanges");
    let change = changes.iter().find(|c| c["textDocument"]["uri"] == uri).expect("an edit for the document");
    (change["textDocument"]["version"].as_i64(), change["edits"].as_array().unwrap().clone())
}

/// Apply a WorkspaceEdit's TextEdits to `text` (positions refer to the text before the edit).
fn apply_to(text: &str, edits: &[Value]) -> String {
    let mut spans: Vec<(usize, usize, &str)> = edits
        .iter()
        .map(|e| (offset(text, &e["range"]["start"]), offset(text, &e["range"]["end"]), e["newText"].as_str().unwrap()))
        .collect();
    spans.sort_by_key(|s| (s.0, s.1));
    for pair in spans.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "overlapping edits: {edits:?}");
    }
    let mut out = text.to_string();
    for (start, end, new) in spans.into_iter().rev() {
        out.replace_range(start..end, new);
    }
    out
}

/// One open case the test edits the way an editor would.
struct Doc {
    client: Arc<Client>,
    uri: String,
    text: String,
    version: i64,
}

impl Doc {
    async fn open(name: &str) -> Doc {
        let root = workspace(name);
        let client = Client::start(&root, capabilities(true, false)).await;
        let text = std::fs::read_to_string(root.join(CASE)).unwrap();
        let uri = client.open(CASE).await;
        client.wait_idle().await;
        Doc { client, uri, text, version: 1 }
    }

    /// Replace the first occurrence of `from` with `to`, as one incremental change.
    async fn replace(&mut self, from: &str, to: &str) {
        let start = self.text.find(from).unwrap_or_else(|| panic!("`{from}` not in the case"));
        let range = json!({ "start": pos(&self.text, start), "end": pos(&self.text, start + from.len()) });
        self.text.replace_range(start..start + from.len(), to);
        self.version = self.client.change(&self.uri, json!([{ "range": range, "text": to }])).await;
        self.client.wait_idle().await;
    }

    /// Delete the whole line holding `needle`.
    async fn delete_line(&mut self, needle: &str) {
        let at = self.text.find(needle).unwrap_or_else(|| panic!("`{needle}` not in the case"));
        let start = self.text[..at].rfind('\n').map_or(0, |i| i + 1);
        let end = self.text[at..].find('\n').map_or(self.text.len(), |i| at + i + 1);
        let line = self.text[start..end].to_string();
        self.replace(&line, "").await;
    }

    /// Apply a WorkspaceEdit as a client does: check its version, send its edits (last first,
    /// so earlier positions stay valid) as one didChange, and keep our copy in step.
    async fn apply(&mut self, edit: &Value) {
        let (version, edits) = text_edits(edit, &self.uri);
        assert_eq!(version, Some(self.version), "the edit targets the current version");
        let expected = apply_to(&self.text, &edits);
        let mut ordered = edits.clone();
        ordered.sort_by_key(|e| std::cmp::Reverse(offset(&self.text, &e["range"]["start"])));
        let changes: Vec<Value> = ordered.iter().map(|e| json!({ "range": e["range"], "text": e["newText"] })).collect();
        self.version = self.client.change(&self.uri, json!(changes)).await;
        self.text = expected;
        self.client.wait_idle().await;
    }

    fn diagnostics(&self) -> Vec<Value> {
        self.client.diagnostics(&self.uri).unwrap()["diagnostics"].as_array().unwrap().clone()
    }

    fn codes(&self) -> Vec<String> {
        self.client.codes(&self.uri).into_iter().map(|c| c.0).collect()
    }

    /// Code actions for a range, with the published diagnostics of that range in the context.
    async fn actions(&self, range: Value) -> Vec<Value> {
        let (start, end) = (offset(&self.text, &range["start"]), offset(&self.text, &range["end"]));
        let context: Vec<Value> = self
            .diagnostics()
            .into_iter()
            .filter(|d| offset(&self.text, &d["range"]["start"]) <= end && start <= offset(&self.text, &d["range"]["end"]))
            .collect();
        let result = self
            .client
            .call(
                "textDocument/codeAction",
                json!({ "textDocument": { "uri": self.uri }, "range": range, "context": { "diagnostics": context } }),
            )
            .await;
        result.as_array().cloned().unwrap_or_default()
    }

    /// The range of the `answers` key (where missing answers are reported).
    fn answers_key(&self) -> Value {
        let start = self.text.find("\nanswers:").expect("an answers key") + 1;
        json!({ "start": pos(&self.text, start), "end": pos(&self.text, start + "answers".len()) })
    }

    /// The range of the first occurrence of `needle`.
    fn range_of(&self, needle: &str) -> Value {
        let start = self.text.find(needle).unwrap_or_else(|| panic!("`{needle}` not in the case"));
        json!({ "start": pos(&self.text, start), "end": pos(&self.text, start + needle.len()) })
    }
}

/// The LSP position (UTF-16) of a byte offset.
fn pos(text: &str, offset: usize) -> Value {
    let before = &text[..offset];
    let line = before.matches('\n').count() as u32;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    position(line, before[line_start..].encode_utf16().count() as u32)
}

fn titled<'a>(actions: &'a [Value], title: &str) -> &'a Value {
    actions.iter().find(|a| a["title"] == title).unwrap_or_else(|| {
        let titles: Vec<&Value> = actions.iter().map(|a| &a["title"]).collect();
        panic!("no action `{title}` among {titles:?}")
    })
}

/// What a snapshot should show of actions: no URIs (the workspace is a temp dir).
fn summary(actions: &[Value]) -> Value {
    actions
        .iter()
        .map(|a| {
            let edits: Vec<Value> = a["edit"]["documentChanges"][0]["edits"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| json!({ "range": e["range"], "newText": e["newText"] }))
                .collect();
            let diagnostics: Vec<Value> =
                a["diagnostics"].as_array().into_iter().flatten().map(|d| json!([d["code"], d["message"]])).collect();
            json!({ "title": a["title"], "kind": a["kind"], "isPreferred": a["isPreferred"], "diagnostics": diagnostics, "edits": edits })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_answer_quick_fix_restores_a_deleted_answer() {
    let mut doc = Doc::open("ca-record").await;
    doc.delete_line("  approval_levels: 2").await;
    assert_eq!(doc.codes(), ["missing-answer"]);
    let published = doc.diagnostics()[0].clone();
    let actions = doc.actions(doc.answers_key()).await;
    insta::assert_json_snapshot!(summary(&actions));
    let record = titled(&actions, "Record answer for `approval_levels`");
    assert_eq!(record["diagnostics"][0], published, "the action names the client's diagnostic");
    doc.apply(&record["edit"]).await;
    assert_eq!(doc.codes(), Vec::<String>::new(), "{:#?}", doc.diagnostics());
    let start = doc.text.find("  required_documents").unwrap();
    let window = &doc.text[doc.text.find("  # Workflow").unwrap()..start];
    insta::assert_snapshot!("record_answer_window", window);
    doc.client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_placeholders_are_type_correct_for_every_kind_of_item() {
    let mut doc = Doc::open("ca-types").await;
    // text, enum, boolean, list, number: one at a time, each recorded by its quick fix.
    for (line, id) in [
        ("  country: Republic of Aurelia", "country"),
        // (Not `registry_purpose`: its first member switches on a follow-up, which is then missing.)
        ("  functional_id_format: alphanumeric", "functional_id_format"),
        ("  field_agents: yes", "field_agents"),
        ("  supported_languages: [English, Aurelian]", "supported_languages"),
        ("  staff_users: 450", "staff_users"),
    ] {
        doc.delete_line(line).await;
        assert_eq!(doc.codes(), ["missing-answer"], "after deleting {id}");
        let actions = doc.actions(doc.answers_key()).await;
        let record = titled(&actions, &format!("Record answer for `{id}`"));
        assert_eq!(record["kind"], "quickfix");
        assert_eq!(record["isPreferred"], true);
        doc.apply(&record["edit"]).await;
        assert_eq!(doc.codes(), Vec::<String>::new(), "after recording {id}: {:#?}", doc.diagnostics());
    }
    let recorded: Vec<&str> = doc
        .text
        .lines()
        .filter(|l| {
            ["country", "functional_id_format", "field_agents", "supported_languages", "staff_users"]
                .iter()
                .any(|id| l.starts_with(&format!("  {id}:")))
        })
        .collect();
    assert_eq!(
        recorded,
        ["  country: \"\"", "  supported_languages: []", "  functional_id_format: numeric", "  field_agents: yes", "  staff_users: 0"]
    );
    doc.client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_all_missing_inserts_every_item_in_playbook_order() {
    let mut doc = Doc::open("ca-all").await;
    for line in ["  staff_users: 450", "  registry_name: Aurelia", "  approval_levels: 2"] {
        doc.delete_line(line).await;
    }
    assert_eq!(doc.codes(), ["missing-answer"; 3]);
    // Offered anywhere, even where no diagnostic is.
    let first_line = json!({ "start": position(0, 0), "end": position(0, 0) });
    let actions = doc.actions(first_line).await;
    assert_eq!(actions.len(), 1, "{actions:#?}");
    let all = titled(&actions, "Record all 3 missing items of Phase 1");
    assert_eq!(all["kind"], "source");
    insta::assert_json_snapshot!(summary(&actions));
    doc.apply(&all["edit"]).await;
    assert_eq!(doc.codes(), Vec::<String>::new(), "{:#?}", doc.diagnostics());
    let keys: Vec<usize> = ["registry_name:", "approval_levels:", "staff_users:"].iter().map(|k| doc.text.find(k).unwrap()).collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "playbook order");
    for (key, ask) in [
        ("registry_name:", "# What is the registry called, in full?"),
        ("staff_users:", "# How many staff users"),
        ("approval_levels:", "# How many approvals"),
    ] {
        let at = doc.text.find(key).unwrap();
        let previous = doc.text[..at].trim_end_matches(' ').trim_end_matches('\n').rsplit('\n').next().unwrap().trim();
        assert!(previous.starts_with(ask), "`{key}` has its Ask above it, found `{previous}`");
    }
    // Nothing is missing any more: nothing to offer.
    let none = doc.actions(doc.answers_key()).await;
    assert_eq!(none, Vec::<Value>::new());
    doc.client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_filters_by_kind() {
    let mut doc = Doc::open("ca-only").await;
    doc.delete_line("  staff_users: 450").await;
    let context = json!({ "diagnostics": doc.diagnostics(), "only": ["source"] });
    let result = doc
        .client
        .call("textDocument/codeAction", json!({ "textDocument": { "uri": doc.uri }, "range": doc.answers_key(), "context": context }))
        .await;
    let titles: Vec<&str> = result.as_array().unwrap().iter().map(|a| a["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Record all 1 missing item of Phase 1"]);
    doc.client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deferred_and_unknown_actions_record_pending_items() {
    let mut doc = Doc::open("ca-deferred").await;
    doc.delete_line("  staff_users: 450").await;
    doc.delete_line("  cutover_approach: phased").await;
    let actions = doc.actions(doc.answers_key()).await;
    doc.apply(&titled(&actions, "Mark `cutover_approach` as deferred")["edit"]).await;
    let actions = doc.actions(doc.answers_key()).await;
    doc.apply(&titled(&actions, "Mark `staff_users` as unknown")["edit"]).await;
    assert!(doc.text.contains("  cutover_approach: !deferred \"reason to be recorded\"\n"), "{}", doc.text);
    assert!(doc.text.contains("  staff_users: !unknown\n"), "{}", doc.text);
    let diagnostics = doc.diagnostics();
    assert_eq!(doc.codes(), ["deferred", "deferred"], "{diagnostics:#?}");
    assert!(diagnostics.iter().all(|d| d["severity"] == 3), "information");
    doc.client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enum_replacement_fixes_an_invalid_value() {
    let mut doc = Doc::open("ca-enum").await;
    doc.replace("registry_purpose: general-purpose", "registry_purpose: general-purpse").await;
    assert_eq!(doc.codes(), ["invalid-value"]);
    let actions = doc.actions(doc.range_of("general-purpse")).await;
    insta::assert_json_snapshot!(summary(&actions));
    let preferred: Vec<&Value> = actions.iter().filter(|a| a["isPreferred"] == true).collect();
    assert_eq!(preferred.len(), 1);
    assert_eq!(preferred[0]["title"], "Replace with `general-purpose`");
    doc.apply(&preferred[0]["edit"]).await;
    assert_eq!(doc.codes(), Vec::<String>::new());
    assert!(doc.text.contains("  registry_purpose: general-purpose\n"));
    doc.client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boolean_and_list_replacements() {
    let mut doc = Doc::open("ca-bool").await;
    doc.replace("field_agents: yes", "field_agents: sure").await;
    doc.replace("registers: [Households, Individuals]", "registers: Households").await;
    let actions = doc.actions(doc.range_of("sure")).await;
    let titles: Vec<&str> = actions.iter().map(|a| a["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Replace with `yes`", "Replace with `no`"]);
    doc.apply(&actions[0]["edit"]).await;
    let actions = doc.actions(doc.range_of("registers: Households")).await;
    doc.apply(&titled(&actions, "Replace with `[Households]`")["edit"]).await;
    assert_eq!(doc.codes(), Vec::<String>::new(), "{:#?}", doc.diagnostics());
    doc.client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_key_is_renamed_to_its_suggestion() {
    let mut doc = Doc::open("ca-rename").await;
    doc.replace("  country:", "  contry:").await;
    let mut codes = doc.codes();
    codes.sort();
    assert_eq!(codes, ["missing-answer", "unknown-item"]);
    let actions = doc.actions(doc.range_of("contry")).await;
    let titles: Vec<&str> = actions.iter().map(|a| a["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Rename to `country`", "Record all 1 missing item of Phase 1"]);
    let rename = &actions[0];
    assert_eq!(rename["diagnostics"][0]["code"], "unknown-item");
    doc.apply(&rename["edit"]).await;
    assert_eq!(doc.codes(), Vec::<String>::new());
    doc.client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playbook_findings_offer_their_replacements() {
    let root = workspace("ca-playbook");
    let client = Client::start(&root, capabilities(true, false)).await;
    let mut text = std::fs::read_to_string(root.join("playbooks/registry.md")).unwrap();
    let uri = client.open("playbooks/registry.md").await;
    client.wait_idle().await;
    let at = text.find("* **Impact:** configuration").unwrap() + "* **Impact:** ".len();
    let range = json!({ "start": pos(&text, at), "end": pos(&text, at + "configuration".len()) });
    client.change(&uri, json!([{ "range": range, "text": "configuratoin" }])).await;
    text.replace_range(at..at + "configuration".len(), "configuratoin");
    client.wait_idle().await;
    assert_eq!(client.codes(&uri).into_iter().map(|c| c.0).collect::<Vec<_>>(), ["unknown-impact"]);
    let diagnostics = client.diagnostics(&uri).unwrap()["diagnostics"].clone();
    let actions = client
        .call(
            "textDocument/codeAction",
            json!({ "textDocument": { "uri": uri }, "range": range, "context": { "diagnostics": diagnostics } }),
        )
        .await;
    let action = &actions[0];
    assert_eq!(action["title"], "Change to `configuration`");
    assert_eq!(action["isPreferred"], true);
    assert_eq!(action["diagnostics"], diagnostics);
    let (version, edits) = text_edits(&action["edit"], &uri);
    assert_eq!(version, Some(2));
    let fixed = apply_to(&text, &edits);
    client.change(&uri, json!([{ "text": fixed }])).await;
    client.wait_idle().await;
    assert_eq!(client.codes(&uri), vec![]);
    client.shutdown().await;
}

/// Wait until the server has asked the client to apply `n` edits.
async fn applied(client: &Client, n: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let edits = client.applied_edits.lock().unwrap().clone();
        if edits.len() >= n {
            return edits;
        }
        assert!(tokio::time::Instant::now() < deadline, "no workspace/applyEdit within 20 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_answer_command_asks_the_client_to_apply_the_edit() {
    let mut doc = Doc::open("ca-command").await;
    doc.delete_line("  approval_levels: 2").await;
    let args = json!([{ "uri": doc.uri, "item": "approval_levels", "value": 3 }]);
    let result = doc.client.call("workspace/executeCommand", json!({ "command": "playbook.recordAnswer", "arguments": args })).await;
    assert_eq!(result, Value::Null);
    let edits = applied(&doc.client, 1).await;
    doc.apply(&edits[0]).await;
    assert!(doc.text.contains("  approval_levels: 3\n"), "{}", doc.text);
    assert_eq!(doc.codes(), Vec::<String>::new());

    // Without a value: the quick fix's placeholder; a string value is text when it must be.
    let args = json!([{ "uri": doc.uri, "item": "country", "value": "Aurelia: the republic" }]);
    doc.client.call("workspace/executeCommand", json!({ "command": "playbook.recordAnswer", "arguments": args })).await;
    let edits = applied(&doc.client, 2).await;
    doc.apply(&edits[1]).await;
    assert!(doc.text.contains("  country: \"Aurelia: the republic\"\n"), "existing answers are replaced in place");
    assert_eq!(doc.text.matches("country:").count(), 1);

    doc.delete_line("  staff_users: 450").await;
    doc.delete_line("  registry_name: Aurelia").await;
    let args = json!([{ "uri": doc.uri }]);
    doc.client.call("workspace/executeCommand", json!({ "command": "playbook.recordAllMissing", "arguments": args })).await;
    let edits = applied(&doc.client, 3).await;
    doc.apply(&edits[2]).await;
    assert_eq!(doc.codes(), Vec::<String>::new());

    let bad = [
        json!({ "command": "playbook.noSuchThing", "arguments": [] }),
        json!({ "command": "playbook.recordAnswer", "arguments": [] }),
        json!({ "command": "playbook.recordAnswer", "arguments": [{ "uri": doc.uri, "item": "nation" }] }),
        json!({ "command": "playbook.recordAllMissing", "arguments": [{ "uri": "file:///nowhere/working_case.yaml" }] }),
    ];
    for params in bad {
        let response = doc.client.request("workspace/executeCommand", params.clone()).await;
        assert!(response["error"]["message"].is_string(), "{params} → {response}");
    }
    assert_eq!(doc.client.applied_edits.lock().unwrap().len(), 3);
    doc.client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unopened_documents_and_ranges_past_the_end_get_no_actions() {
    let mut doc = Doc::open("ca-empty").await;
    doc.delete_line("  staff_users: 450").await;
    let other = uri(&doc.client.root.join("fixtures/broken/unknown-item/working_case.yaml"));
    let never = json!({ "start": position(0, 0), "end": position(5, 0) });
    let result = doc
        .client
        .call("textDocument/codeAction", json!({ "textDocument": { "uri": other }, "range": never, "context": { "diagnostics": [] } }))
        .await;
    assert_eq!(result, json!([]));
    let past = json!({ "start": position(10_000, 0), "end": position(10_001, 3) });
    let result = doc
        .client
        .call("textDocument/codeAction", json!({ "textDocument": { "uri": doc.uri }, "range": past, "context": { "diagnostics": [] } }))
        .await;
    assert_eq!(result, json!([]));
    doc.client.shutdown().await;
}
