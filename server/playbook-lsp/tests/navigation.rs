//! Navigation over the in-process harness: references, rename, document and workspace symbols,
//! folding ranges — on our registry playbook, the demo case, and the real OpenG2P playbook.

mod common;
use common::*;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;

const REGISTRY: &str = "playbooks/registry.md";
const DEMO: &str = "fixtures/demo/working_case.yaml";
/// A second case of the registry playbook, written into the workspace and never opened.
const SECOND: &str = "fixtures/second/working_case.yaml";

fn write_second_case(root: &Path) {
    let dir = root.join("fixtures/second");
    std::fs::create_dir_all(&dir).unwrap();
    let text = "# A second project on the same playbook.\nplaybook: ../../playbooks/registry.md\nanswers:\n  country: Republic of Borealis\n  has_functional_id: no\n  \"registry_mnemonic\": borealis-people\n";
    std::fs::write(dir.join("working_case.yaml"), text).unwrap();
}

/// `path:line:col` (1-based) of an LSP location, relative to the workspace root.
fn place(root: &Path, target: &str, range: &Value) -> String {
    let root_uri = uri(root);
    let rel = target.strip_prefix(&root_uri).map(|r| r.trim_start_matches('/')).unwrap_or(target);
    format!("{rel}:{}:{}", range["start"]["line"].as_u64().unwrap() + 1, range["start"]["character"].as_u64().unwrap() + 1)
}

fn places(root: &Path, locations: &Value) -> Vec<String> {
    let mut out: Vec<String> = locations.as_array().unwrap().iter().map(|l| place(root, l["uri"].as_str().unwrap(), &l["range"])).collect();
    out.sort();
    out
}

fn doc_position(uri: &str, line: u32, character: u32) -> Value {
    json!({ "textDocument": { "uri": uri }, "position": position(line, character) })
}

async fn references(client: &Client, uri: &str, (line, col): (u32, u32), include_declaration: bool) -> Value {
    let mut params = doc_position(uri, line, col);
    params["context"] = json!({ "includeDeclaration": include_declaration });
    client.call("textDocument/references", params).await
}

async fn start(root: &Path) -> Arc<Client> {
    Client::start(root, capabilities(false, false)).await
}

fn read(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).unwrap()
}

/// Byte offset of a UTF-16 LSP position.
fn offset(text: &str, pos: &Value) -> usize {
    let line = pos["line"].as_u64().unwrap() as usize;
    let col = pos["character"].as_u64().unwrap() as usize;
    let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
    let mut units = 0;
    for (i, ch) in text[start..].char_indices() {
        if units >= col || ch == '\n' {
            return start + i;
        }
        units += ch.len_utf16();
    }
    text.len()
}

/// Apply LSP text edits (non-overlapping) to a text.
fn apply(text: &str, edits: &Value) -> String {
    let mut spans: Vec<(usize, usize, String)> = edits
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (offset(text, &e["range"]["start"]), offset(text, &e["range"]["end"]), e["newText"].as_str().unwrap().to_string()))
        .collect();
    spans.sort_by_key(|s| std::cmp::Reverse(s.0));
    let mut out = text.to_string();
    for (start, end, new) in spans {
        out.replace_range(start..end, &new);
    }
    out
}

/// `path @ version` and `line:col `old` → `new`` per edit, to snapshot a workspace edit.
fn describe_edit(root: &Path, edit: &Value) -> String {
    let mut out = String::new();
    for change in edit["documentChanges"].as_array().expect("documentChanges") {
        let uri: tower_lsp_server::ls_types::Uri = change["textDocument"]["uri"].as_str().unwrap().parse().expect("a URI");
        let path = uri.to_file_path().expect("a file URI").into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        out.push_str(&format!("{} @ version {}\n", path.strip_prefix(root).unwrap().display(), change["textDocument"]["version"]));
        for e in change["edits"].as_array().unwrap() {
            let (start, end) = (offset(&text, &e["range"]["start"]), offset(&text, &e["range"]["end"]));
            let at = &e["range"]["start"];
            out.push_str(&format!(
                "  {}:{} `{}` → `{}`\n",
                at["line"].as_u64().unwrap() + 1,
                at["character"].as_u64().unwrap() + 1,
                &text[start..end],
                e["newText"].as_str().unwrap()
            ));
        }
    }
    out
}

fn kind_name(kind: u64) -> &'static str {
    match kind {
        1 => "file",
        2 => "module",
        3 => "namespace",
        4 => "package",
        8 => "field",
        12 => "function",
        15 => "string",
        19 => "object",
        21 => "null",
        _ => "other",
    }
}

/// One line per symbol: indentation, kind, name, detail, line range (1-based).
fn symbol_tree(symbols: &Value, depth: usize, out: &mut String) {
    for s in symbols.as_array().unwrap() {
        let detail = s["detail"].as_str().map(|d| format!(" — {d}")).unwrap_or_default();
        let range = &s["range"];
        out.push_str(&format!(
            "{}{} {}{} [{}-{}]\n",
            "  ".repeat(depth),
            kind_name(s["kind"].as_u64().unwrap()),
            s["name"].as_str().unwrap(),
            detail,
            range["start"]["line"].as_u64().unwrap() + 1,
            range["end"]["line"].as_u64().unwrap() + 1,
        ));
        // The selection must lie inside the range, children inside their parent.
        let sel = &s["selectionRange"];
        let key = |p: &Value| (p["line"].as_u64().unwrap(), p["character"].as_u64().unwrap());
        assert!(key(&range["start"]) <= key(&sel["start"]) && key(&sel["end"]) <= key(&range["end"]), "selection outside range: {s}");
        if let Some(children) = s.get("children") {
            for c in children.as_array().unwrap() {
                assert!(
                    key(&range["start"]) <= key(&c["range"]["start"]) && key(&c["range"]["end"]) <= key(&range["end"]),
                    "child outside parent"
                );
            }
            symbol_tree(children, depth + 1, out);
        }
    }
}

fn count_symbols(symbols: &Value) -> usize {
    symbols.as_array().unwrap().iter().map(|s| 1 + s.get("children").map_or(0, count_symbols)).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn references_from_the_heading_and_from_a_case_key_include_unopened_cases() {
    let root = workspace("nav-refs");
    write_second_case(&root);
    let client = start(&root).await;
    let pb_text = read(&root, REGISTRY);
    let pb_uri = client.open(REGISTRY).await;
    client.wait_idle().await;
    let (line, col) = find(&pb_text, "#### has_functional_id");
    let with_heading = places(&root, &references(&client, &pb_uri, (line, col + 6), true).await);
    insta::assert_snapshot!("references_has_functional_id", with_heading.join("\n"));
    assert!(with_heading.iter().any(|p| p.starts_with(SECOND)), "the unopened case is found: {with_heading:?}");

    let without = places(&root, &references(&client, &pb_uri, (line, col + 6), false).await);
    assert_eq!(without.len(), with_heading.len() - 1);
    assert!(!without.contains(&format!("{REGISTRY}:{}:{}", line + 1, col + 6)));

    // The same item from a key of the open demo case, and from a condition that names it.
    let case_text = read(&root, DEMO);
    let case_uri = client.open(DEMO).await;
    client.wait_idle().await;
    let (kl, kc) = find(&case_text, "has_functional_id:");
    assert_eq!(places(&root, &references(&client, &case_uri, (kl, kc + 3), true).await), with_heading);
    let (cl, cc) = find(&pb_text, "conditional: `has_functional_id` = yes AND");
    assert_eq!(places(&root, &references(&client, &pb_uri, (cl, cc + 15), true).await), with_heading);
    // From an answer's value too.
    let (vl, vc) = find(&case_text, "has_functional_id: yes");
    assert_eq!(places(&root, &references(&client, &case_uri, (vl, vc + 20), true).await), with_heading);

    // Activity Inputs are references; prose is not.
    let (ml, mc) = find(&pb_text, "#### registry_mnemonic");
    let inputs = places(&root, &references(&client, &pb_uri, (ml, mc + 5), false).await);
    insta::assert_snapshot!("references_registry_mnemonic", inputs.join("\n"));

    // Nowhere near an item: no references.
    let (pl, _) = find(&pb_text, "### Purpose");
    assert_eq!(references(&client, &pb_uri, (pl + 2, 3), true).await, Value::Null);
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_edits_the_playbook_the_open_case_and_the_unopened_case_at_their_versions() {
    let root = workspace("nav-rename");
    write_second_case(&root);
    let client = start(&root).await;
    let pb_text = read(&root, REGISTRY);
    let pb_uri = client.open(REGISTRY).await;
    let case_text = read(&root, DEMO);
    let case_uri = client.open(DEMO).await;
    // Edit the case once (a comment), so its version differs from the playbook's.
    let case_version =
        client.change(&case_uri, json!([{ "range": { "start": position(0, 2), "end": position(0, 6) }, "text": "Demo" }])).await;
    assert_eq!(case_version, 2);
    client.wait_idle().await;

    let (line, col) = find(&pb_text, "#### registry_mnemonic");
    let prepared = client.call("textDocument/prepareRename", doc_position(&pb_uri, line, col + 8)).await;
    assert_eq!(
        prepared,
        json!({ "range": { "start": position(line, col + 5), "end": position(line, col + 22) }, "placeholder": "registry_mnemonic" })
    );
    // From the case key as well.
    let (kl, kc) = find(&case_text, "registry_mnemonic:");
    let prepared = client.call("textDocument/prepareRename", doc_position(&case_uri, kl, kc)).await;
    assert_eq!(prepared["placeholder"], "registry_mnemonic");

    let mut params = doc_position(&case_uri, kl, kc + 4);
    params["newName"] = json!("registry_code");
    let edit = client.call("textDocument/rename", params).await;
    let changes = edit["documentChanges"].as_array().expect("documentChanges");
    let versions: Vec<(String, Value)> = changes
        .iter()
        .map(|c| {
            (
                place(&root, c["textDocument"]["uri"].as_str().unwrap(), &json!({ "start": position(0, 0) })),
                c["textDocument"]["version"].clone(),
            )
        })
        .collect();
    assert_eq!(
        versions,
        vec![(format!("{REGISTRY}:1:1"), json!(1)), (format!("{DEMO}:1:1"), json!(2)), (format!("{SECOND}:1:1"), Value::Null)],
        "the playbook, the open case at its version, the unopened case with no version"
    );
    insta::assert_snapshot!("rename_registry_mnemonic", describe_edit(&root, &edit));

    // Applied, every reference uses the new id and the old one survives only in prose.
    let renamed = apply(&pb_text, &changes[0]["edits"]);
    assert_eq!(renamed.matches("`registry_code`").count(), 4);
    assert!(renamed.contains("#### registry_code\n"));
    assert_eq!(renamed.matches("<registry_mnemonic>").count(), 3, "prose mentions are not references");
    assert_eq!(renamed.matches("registry_mnemonic").count(), 3);
    let second = apply(&read(&root, SECOND), &changes[2]["edits"]);
    assert!(second.contains("  \"registry_code\": borealis-people\n"), "{second}");
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_refuses_invalid_ids_ids_in_use_and_places_without_an_item() {
    let root = workspace("nav-refuse");
    write_second_case(&root);
    let client = start(&root).await;
    let pb_text = read(&root, REGISTRY);
    let pb_uri = client.open(REGISTRY).await;
    client.wait_idle().await;
    let (line, col) = find(&pb_text, "#### has_functional_id");
    let rename = |new_name: &str| {
        let mut params = doc_position(&pb_uri, line, col + 6);
        params["newName"] = json!(new_name);
        params
    };
    for bad in ["Has_Functional_ID", "has-functional-id", "1st_id", "", "has functional id"] {
        let response = client.request("textDocument/rename", rename(bad)).await;
        assert_eq!(response["error"]["code"], -32602, "{bad:?}: {response}");
        let message = response["error"]["message"].as_str().unwrap();
        assert!(message.contains("not a valid item id"), "{message}");
    }
    let response = client.request("textDocument/rename", rename("country")).await;
    let message = response["error"]["message"].as_str().unwrap();
    assert!(message.contains("`country` is already the id of another item"), "{message}");
    // Not an item id: prepareRename explains instead of offering a range.
    let (pl, _) = find(&pb_text, "### Purpose");
    let response = client.request("textDocument/prepareRename", doc_position(&pb_uri, pl + 2, 3)).await;
    assert!(response["error"]["message"].as_str().unwrap().contains("place the cursor on a Discovery item id"), "{response}");
    let (al, ac) = find(&pb_text, "#### walk_discovery");
    let response = client.request("textDocument/prepareRename", doc_position(&pb_uri, al, ac + 6)).await;
    assert!(response["error"]["message"].as_str().unwrap().contains("not Activities"), "{response}");
    // Nothing was written to disk by any of this.
    assert_eq!(read(&root, REGISTRY), pb_text);
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_symbols_of_the_registry_playbook_and_the_demo_case() {
    let root = workspace("nav-symbols");
    let client = start(&root).await;
    let pb_uri = client.open(REGISTRY).await;
    let case_uri = client.open(DEMO).await;
    client.wait_idle().await;
    let symbols = client.call("textDocument/documentSymbol", json!({ "textDocument": { "uri": pb_uri } })).await;
    let mut tree = String::new();
    symbol_tree(&symbols, 0, &mut tree);
    insta::assert_snapshot!("symbols_registry", tree);
    let symbols = client.call("textDocument/documentSymbol", json!({ "textDocument": { "uri": case_uri } })).await;
    let mut tree = String::new();
    symbol_tree(&symbols, 0, &mut tree);
    insta::assert_snapshot!("symbols_demo_case", tree);
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symbols_are_capped_with_a_visible_note() {
    let root = workspace("nav-cap");
    let client = start(&root).await;
    let mut text = String::from("# Big\n\n## Phase 1: Big\n\n### Discovery items\n\n");
    for i in 0..5_100 {
        text.push_str(&format!("#### item_{i:04}\n\n* **Ask:** Item {i}?\n* **Type:** text\n\n"));
    }
    let uri = client.open_text("big/playbook.md", &text).await;
    client.wait_idle().await;
    let symbols = client.call("textDocument/documentSymbol", json!({ "textDocument": { "uri": uri } })).await;
    // 1 phase + 1 section + 5,100 items; 4,999 shown and the note.
    assert_eq!(count_symbols(&symbols), 5_000);
    let last = symbols.as_array().unwrap().last().unwrap();
    assert_eq!(last["name"], format!("… {} more not shown", 5_102 - 4_999));
    let found = client.call("workspace/symbol", json!({ "query": "item_" })).await;
    let found = found.as_array().unwrap();
    assert_eq!(found.len(), 500);
    // Substring matches rank before fuzzy ones, so the 500 shown are the first items.
    let note = found[499]["name"].as_str().unwrap();
    let more: usize =
        note.strip_prefix("item_0499 (… ").and_then(|r| r.strip_suffix(" more not shown: refine the query)")).unwrap().parse().unwrap();
    assert!(more >= 4_600, "{note}");
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workspace_symbols_match_items_activities_and_phases_of_every_playbook() {
    let root = workspace("nav-wsym");
    let client = start(&root).await;
    let describe = |found: &Value| {
        found
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                format!(
                    "{} {} ({}) {}",
                    kind_name(s["kind"].as_u64().unwrap()),
                    s["name"].as_str().unwrap(),
                    s["containerName"].as_str().unwrap_or("-"),
                    place(&root, s["location"]["uri"].as_str().unwrap(), &s["location"]["range"])
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    // Nothing is open: the playbooks come from the workspace index.
    let found = client.call("workspace/symbol", json!({ "query": "Foundational" })).await;
    insta::assert_snapshot!("workspace_symbols_foundational", describe(&found));
    let found = client.call("workspace/symbol", json!({ "query": "build" })).await;
    insta::assert_snapshot!("workspace_symbols_build", describe(&found));
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folding_ranges_of_the_playbook_and_the_case() {
    let root = workspace("nav-fold");
    let client = start(&root).await;
    let pb_uri = client.open(REGISTRY).await;
    let case_uri = client.open(DEMO).await;
    client.wait_idle().await;
    for (name, uri, rel) in [("folding_registry", &pb_uri, REGISTRY), ("folding_demo_case", &case_uri, DEMO)] {
        let text = read(&root, rel);
        let lines: Vec<&str> = text.lines().collect();
        let ranges = client.call("textDocument/foldingRange", json!({ "textDocument": { "uri": uri } })).await;
        let described: Vec<String> = ranges
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let (start, end) = (r["startLine"].as_u64().unwrap() as usize, r["endLine"].as_u64().unwrap() as usize);
                assert!(end > start && end < lines.len(), "{r}");
                let first: String = lines[start].chars().take(50).collect();
                format!("{}-{}: {first}", start + 1, end + 1)
            })
            .collect();
        insta::assert_snapshot!(name, described.join("\n"));
    }
    client.shutdown().await;
}

/// The real OpenG2P playbook, copied into the workspace with a case that names the copy.
fn openg2p_workspace(name: &str) -> std::path::PathBuf {
    let root = workspace(name);
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join("openg2p");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(repo.join("../shared/fixtures/openg2p/use-case-implementation.md"), dir.join("use-case-implementation.md")).unwrap();
    let case = std::fs::read_to_string(repo.join("fixtures/openg2p/working_case.yaml")).unwrap();
    let case: String = case
        .lines()
        .map(|l| if l.starts_with("playbook:") { "playbook: use-case-implementation.md" } else { l })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    std::fs::write(dir.join("working_case.yaml"), case).unwrap();
    root
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn references_and_rename_on_the_real_openg2p_playbook() {
    let root = openg2p_workspace("nav-openg2p");
    let client = start(&root).await;
    let pb_rel = "openg2p/use-case-implementation.md";
    let case_rel = "openg2p/working_case.yaml";
    let pb_text = read(&root, pb_rel);
    let pb_uri = client.open(pb_rel).await;
    client.wait_idle().await;

    let (line, col) = find(&pb_text, "#### has_foundational_id");
    let found = places(&root, &references(&client, &pb_uri, (line, col + 5), true).await);
    let in_playbook = found.iter().filter(|p| p.starts_with(pb_rel)).count();
    let in_case: Vec<&String> = found.iter().filter(|p| p.starts_with(case_rel)).collect();
    assert_eq!(found.len(), 12, "{found:#?}");
    assert_eq!(in_playbook, 11, "the heading and 10 conditions");
    assert_eq!(in_case.len(), 1, "the case key (the case is not open)");
    assert!(found.contains(&format!("{pb_rel}:{}:{}", line + 1, col + 6)), "the heading");

    let (line, col) = find(&pb_text, "#### has_scores");
    let mut params = doc_position(&pb_uri, line, col + 5);
    params["newName"] = json!("uses_scores");
    let edit = client.call("textDocument/rename", params).await;
    let changes = edit["documentChanges"].as_array().unwrap();
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0]["textDocument"]["version"], 1);
    assert_eq!(changes[0]["edits"].as_array().unwrap().len(), 8, "the heading and 7 conditions");
    assert_eq!(changes[1]["textDocument"]["version"], Value::Null);
    assert_eq!(changes[1]["edits"].as_array().unwrap().len(), 1, "the case key");
    let renamed = apply(&pb_text, &changes[0]["edits"]);
    assert!(!renamed.contains("has_scores"));
    assert_eq!(renamed.matches("conditional: uses_scores = yes").count(), 7);
    let case = apply(&read(&root, case_rel), &changes[1]["edits"]);
    assert!(case.contains("\n  uses_scores: yes\n") && !case.contains("has_scores"));

    // Its outline holds every item and Activity, each inside its parent; folding stays in the file.
    let model = playbook_core::playbook::parse(&pb_text);
    let symbols = client.call("textDocument/documentSymbol", json!({ "textDocument": { "uri": pb_uri } })).await;
    let mut tree = String::new();
    symbol_tree(&symbols, 0, &mut tree);
    let count = |kind: &str| tree.lines().filter(|l| l.trim_start().starts_with(kind)).count();
    assert_eq!(count("field "), model.items.len());
    assert_eq!(count("function "), model.activities.len());
    assert_eq!(count("namespace "), model.phases.len());
    let ranges = client.call("textDocument/foldingRange", json!({ "textDocument": { "uri": pb_uri } })).await;
    let lines = pb_text.lines().count() as u64;
    for r in ranges.as_array().unwrap() {
        assert!(r["startLine"].as_u64() < r["endLine"].as_u64() && r["endLine"].as_u64().unwrap() < lines, "{r}");
    }
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn references_work_from_a_case_whose_yaml_is_broken_mid_edit() {
    let root = workspace("nav-broken");
    let client = Client::start(&root, capabilities(true, false)).await;
    let text = std::fs::read_to_string(root.join("fixtures/demo/working_case.yaml")).unwrap();
    let uri = client.open("fixtures/demo/working_case.yaml").await;
    // An unclosed flow sequence at the end: the document no longer parses.
    let end = text.lines().count() as u32;
    client.change(&uri, json!([{ "range": { "start": position(end, 0), "end": position(end, 0) }, "text": "  oops: [\n" }])).await;
    client.wait_idle().await;
    assert!(client.codes(&uri).iter().any(|c| c.0 == "yaml-syntax"));
    let (line, col) = find(&text, "country:");
    let refs = client
        .call(
            "textDocument/references",
            json!({ "textDocument": { "uri": uri }, "position": position(line, col + 2), "context": { "includeDeclaration": true } }),
        )
        .await;
    let refs = refs.as_array().expect("references while the YAML is broken");
    assert!(refs.iter().any(|r| r["uri"].as_str().unwrap().ends_with("playbooks/registry.md")), "{refs:?}");
    client.shutdown().await;
}
