//! Workspace scale: the real server indexing a generated workspace of many cases of the 10×
//! synthetic playbook, then keystroke latency, workspace symbols and the playbook's outline.
//!
//! ```sh
//! cargo run --release -p playbook --example lsp_scale                       # 1,000 cases
//! cargo run --release -p playbook --example lsp_scale -- --cases 5000 --edits 300
//! ```
//!
//! The workspace (in a temporary directory) holds `playbook-10x.md`
//! (`playbook_core::testing::synthetic_playbook(real, 10)`) and `cases/case-NNNN/working_case.yaml`,
//! each the OpenG2P case renamed to the first copy's ids. The driver spawns `playbook lsp` with
//! that folder as the workspace and prints: the index time (`initialized` → the first idle
//! `playbook/status`, by which every case is read, checked and its diagnostics published), the
//! server's RSS, the edit → diagnostics latency on one open case with all the others loaded, and
//! the time and size of a workspace-symbol query and of the 10× playbook's outline, both capped
//! with a visible note.

#[path = "common/lsp_driver.rs"]
mod lsp_driver;

use lsp_driver::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let cases: usize = flag("--cases").map_or(1000, |n| n.parse().expect("--cases N"));
    let edits: usize = flag("--edits").map_or(100, |n| n.parse().expect("--edits N"));
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root");
    let server = match flag("--server") {
        Some(path) => PathBuf::from(&path).canonicalize().unwrap_or_else(|e| panic!("--server {path}: {e}")),
        None => build_server(),
    };

    let real_case_text = std::fs::read_to_string(repo.join("fixtures/openg2p/working_case.yaml")).expect("the OpenG2P case");
    let real_playbook = repo.join("fixtures/openg2p").join(playbook_path(&real_case_text));
    let real_playbook_text = std::fs::read_to_string(&real_playbook).unwrap_or_else(|e| panic!("{}: {e}", real_playbook.display()));
    let big_playbook_text = playbook_core::testing::synthetic_playbook(&real_playbook_text, 10);
    let scratch = std::env::temp_dir().join(format!("playbook-lsp-scale-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();
    let scratch = scratch.canonicalize().unwrap();
    std::fs::write(scratch.join("playbook-10x.md"), &big_playbook_text).unwrap();
    let case_text = first_copy_case(&real_case_text, "../../playbook-10x.md");
    let generated = Instant::now();
    for i in 1..=cases {
        let dir = scratch.join(format!("cases/case-{i:04}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("working_case.yaml"), &case_text).unwrap();
    }
    println!("server:    {}", server.display());
    println!(
        "workspace: {} — {cases} cases of a {} KB playbook (written in {:.0} ms)",
        scratch.display(),
        big_playbook_text.len() / 1024,
        ms(generated.elapsed())
    );
    let load =
        || std::fs::read_to_string("/proc/loadavg").map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" ")).unwrap_or_default();
    println!("load average before: {}", load());

    let spawned = Instant::now();
    let mut lsp = Lsp::spawn(&server, &scratch);
    lsp.initialize(&scratch);
    let initialized = Instant::now();
    let mut published = 0usize;
    let (idle_at, _) = lsp.wait_for(|m| {
        if m["method"] == "textDocument/publishDiagnostics" {
            published += 1;
        }
        m["method"] == "playbook/status" && m["params"]["busy"] == false && m["params"]["generation"].as_u64().unwrap_or(0) >= 1
    });
    let (hwm, rss) = (proc_status(lsp.child.id(), "VmHWM"), proc_status(lsp.child.id(), "VmRSS"));

    let case = scratch.join("cases/case-0001/working_case.yaml");
    let case_uri = file_uri(&case);
    lsp.open(&case_uri, &case_text);
    lsp.diagnostics_for(&case_uri, 1);
    let latency = lsp.toggle_burst(&case_uri, &case_text, "has_foundational_id_c0", edits);

    let t = Instant::now();
    let symbols = lsp.request("workspace/symbol", json!({ "query": "" }));
    let symbol_time = t.elapsed();
    let symbols = symbols.as_array().cloned().unwrap_or_default();
    let symbol_note = symbols.last().and_then(|s| s["name"].as_str()).filter(|n| n.contains("more not shown")).map(String::from);
    let t = Instant::now();
    let outline =
        lsp.request("textDocument/documentSymbol", json!({ "textDocument": { "uri": file_uri(&scratch.join("playbook-10x.md")) } }));
    let outline_time = t.elapsed();
    let (outline_count, outline_note) = outline_size(&outline);
    let exit = lsp.shutdown();
    let _ = std::fs::remove_dir_all(&scratch);

    println!();
    println!(
        "index: initialized → first idle status {:.0} ms (spawn → idle {:.0} ms); {published} diagnostics published",
        ms(idle_at - initialized),
        ms(idle_at - spawned)
    );
    println!("RSS after indexing: {} (peak {})", rss.as_deref().unwrap_or("?"), hwm.as_deref().unwrap_or("?"));
    println!();
    println!("| Edit → until (with {cases} cases loaded) | Samples | p50 | p90 | p99 | max |");
    println!("|---|---|---|---|---|---|");
    println!("{}", row("one case → its diagnostics", &latency));
    println!();
    println!(
        "workspace/symbol \"\": {} symbols in {:.1} ms; note: {}",
        symbols.len(),
        ms(symbol_time),
        symbol_note.as_deref().unwrap_or("none")
    );
    println!(
        "documentSymbol of the 10x playbook: {outline_count} symbols in {:.1} ms; note: {}",
        ms(outline_time),
        outline_note.as_deref().unwrap_or("none")
    );
    println!("shutdown + exit: {:.1} ms", ms(exit));
    println!("load average after: {}", load());
}

/// How many symbols an outline holds (children included) and the "… more not shown" note, if any.
fn outline_size(outline: &serde_json::Value) -> (usize, Option<String>) {
    fn walk(symbols: &[serde_json::Value], count: &mut usize, note: &mut Option<String>) {
        for s in symbols {
            *count += 1;
            if let Some(name) = s["name"].as_str().filter(|n| n.contains("more not shown")) {
                *note = Some(name.to_string());
            }
            walk(s["children"].as_array().map(Vec::as_slice).unwrap_or_default(), count, note);
        }
    }
    let (mut count, mut note) = (0, None);
    walk(outline.as_array().map(Vec::as_slice).unwrap_or_default(), &mut count, &mut note);
    (count, note)
}
