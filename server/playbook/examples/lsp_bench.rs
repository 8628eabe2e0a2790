//! Language-server latency: edit → diagnostics for that version, over the real binary's stdio.
//!
//! ```sh
//! cargo run --release -p playbook --example lsp_bench                 # builds the server first
//! cargo run --release -p playbook --example lsp_bench -- --edits 1000 --server path/to/playbook
//! ```
//!
//! Spawns `playbook lsp` (the release build next to this example, rebuilt with cargo unless
//! `--server` names one), initialises it with the repository as the workspace and opens two
//! cases: (a) the OpenG2P case with the real playbook, (b) a case of a 10× synthetic playbook
//! (`playbook_core::testing::synthetic_playbook(real, 10)`) written to a temporary directory,
//! answering the items the first copy of the real case answers. Then, for each case and each
//! of `--edits` edits (default 300), it sends one `didChange` that flips `has_foundational_id`
//! between yes and no (switching conditional items on and off) and measures the time until
//! `textDocument/publishDiagnostics` for that version arrives. It prints p50/p90/p99/max, the
//! cold start (spawn → first diagnostics of the first case) and the server's peak RSS. Last, a
//! second server in a trusted scratch workspace runs a build that streams ~1,000 events a second
//! while hover and completion on the OpenG2P case are timed.
//!
//! The server waits `DEBOUNCE` (5 ms) of quiet before analysing, so every latency here
//! includes that wait: the figures are what an editor sees, not the analysis alone.

#[path = "common/lsp_driver.rs"]
mod lsp_driver;

use lsp_driver::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let edits: usize = flag("--edits").map_or(300, |n| n.parse().expect("--edits N"));
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root");
    let server = match flag("--server") {
        Some(path) => PathBuf::from(&path).canonicalize().unwrap_or_else(|e| panic!("--server {path}: {e}")),
        None => build_server(),
    };

    // The inputs: the real playbook and its case; the 10× playbook and a case for it.
    let real_case = repo.join("fixtures/openg2p/working_case.yaml");
    let real_case_text = std::fs::read_to_string(&real_case).expect("the OpenG2P case");
    let real_playbook = real_case.parent().unwrap().join(playbook_path(&real_case_text));
    let real_playbook_text = std::fs::read_to_string(&real_playbook).unwrap_or_else(|e| panic!("{}: {e}", real_playbook.display()));
    let big_playbook_text = playbook_core::testing::synthetic_playbook(&real_playbook_text, 10);
    let scratch = std::env::temp_dir().join(format!("playbook-lsp-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let scratch = scratch.canonicalize().unwrap();
    std::fs::write(scratch.join("playbook-10x.md"), &big_playbook_text).unwrap();
    let big_case_text = first_copy_case(&real_case_text, "playbook-10x.md");
    let big_case = scratch.join("working_case.yaml");
    std::fs::write(&big_case, &big_case_text).unwrap();

    println!("server:   {}", server.display());
    println!("playbook: {} ({} bytes)", real_playbook.display(), real_playbook_text.len());
    println!("10x:      {} ({} bytes)", scratch.join("playbook-10x.md").display(), big_playbook_text.len());
    println!("edits:    {edits} per case, each waiting for its diagnostics");
    let load =
        || std::fs::read_to_string("/proc/loadavg").map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" ")).unwrap_or_default();
    println!("load average before: {} ({} CPUs)", load(), std::thread::available_parallelism().map_or(0, |n| n.get()));

    let spawned = Instant::now();
    let mut lsp = Lsp::spawn(&server, &repo);
    lsp.initialize(&repo);
    let real_uri = file_uri(&real_case);
    lsp.open(&real_uri, &real_case_text);
    let (first, published) = lsp.diagnostics_for(&real_uri, 1);
    let cold = first - spawned;
    let real_findings = published["diagnostics"].as_array().map_or(0, Vec::len);

    let big_uri = file_uri(&big_case);
    let opened = Instant::now();
    lsp.open(&big_uri, &big_case_text);
    let (first, published) = lsp.diagnostics_for(&big_uri, 1);
    let big_open = first - opened;
    let big_findings = published["diagnostics"].as_array().map_or(0, Vec::len);

    let real = lsp.toggle_burst(&real_uri, &real_case_text, "has_foundational_id", edits);
    let big = lsp.toggle_burst(&big_uri, &big_case_text, "has_foundational_id_c0", edits);
    // Editing a playbook re-parses and re-lints it and re-checks the open case that uses it.
    let real_pb_uri = file_uri(&real_playbook.canonicalize().unwrap());
    let real_pb = lsp.playbook_burst(&real_pb_uri, &real_playbook_text, edits);
    let big_pb_uri = file_uri(&scratch.join("playbook-10x.md"));
    let big_pb = lsp.playbook_burst(&big_pb_uri, &big_playbook_text, edits);
    let (hwm, rss) = (proc_status(lsp.child.id(), "VmHWM"), proc_status(lsp.child.id(), "VmRSS"));
    let exit = lsp.shutdown();
    let streaming = while_a_build_streams(&server, &scratch, &real_case, &real_case_text);
    let _ = std::fs::remove_dir_all(&scratch);

    println!();
    println!("cold start (spawn → first diagnostics of the OpenG2P case): {:.1} ms", ms(cold));
    println!("open of the 10x case → its first diagnostics (10x playbook read and parsed): {:.1} ms", ms(big_open));
    println!("diagnostics after opening: OpenG2P case {real_findings}, 10x case {big_findings}");
    println!();
    println!("| Edit → until | Edits | p50 | p90 | p99 | max |");
    println!("|---|---|---|---|---|---|");
    let rows = [
        ("OpenG2P case (real playbook, 74 KB) → its diagnostics", &real),
        ("case of the 10x playbook (719 KB) → its diagnostics", &big),
        ("real playbook → its diagnostics and the case's (idle)", &real_pb),
        ("10x playbook → its diagnostics and the case's (idle)", &big_pb),
    ];
    for (name, samples) in rows {
        println!("{}", row(name, samples));
    }
    println!();
    println!("server peak RSS (VmHWM): {} (VmRSS at the end: {})", hwm.as_deref().unwrap_or("?"), rss.as_deref().unwrap_or("?"));
    println!("shutdown + exit: {:.1} ms", ms(exit));
    println!();
    println!(
        "while a build streams {} events ({:.0} events/s received) — OpenG2P case, hover and completion one after the other:",
        streaming.events, streaming.rate
    );
    println!("| Request | Samples | p50 | p90 | p99 | max |");
    println!("|---|---|---|---|---|---|");
    println!("{}", row("hover", &streaming.hover));
    println!("{}", row("completion", &streaming.completion));
    println!("load average after: {}", load());
}

struct Streaming {
    events: u64,
    rate: f64,
    hover: Vec<Duration>,
    completion: Vec<Duration>,
}

/// A second server, in a trusted scratch workspace, runs a build whose step prints ~1,000 lines
/// a second for about five seconds; meanwhile hover and completion on the OpenG2P case are timed.
fn while_a_build_streams(server: &Path, scratch: &Path, real_case: &Path, real_case_text: &str) -> Streaming {
    let dir = scratch.join("build");
    std::fs::create_dir_all(&dir).unwrap();
    let script = r#"i=0; while [ $i -lt 5000 ]; do echo "line $i"; i=$((i+1)); [ $((i % 10)) -eq 0 ] && sleep 0.01; done; true"#;
    let playbook = format!(
        "# Streaming build\n\n## Phase 1: Build\n\n### Purpose\n\nStream logs.\n\n### Activities\n\n#### 1. stream_logs\n\n\
         * **Side effects:** none.\n* **On failure:** abort.\n\nPrints lines quickly.\n\n```sh run\n{script}\n```\n"
    );
    std::fs::write(dir.join("playbook.md"), playbook).unwrap();
    std::fs::write(dir.join("working_case.yaml"), "playbook: playbook.md\nanswers: {}\n").unwrap();
    let mut lsp = Lsp::spawn(server, scratch);
    lsp.initialize_with(scratch, json!({ "trustedWorkspace": true }));
    let real_uri = file_uri(real_case);
    lsp.open(&real_uri, real_case_text);
    lsp.diagnostics_for(&real_uri, 1);
    let build_uri = file_uri(&dir.join("working_case.yaml"));
    lsp.open(&build_uri, &std::fs::read_to_string(dir.join("working_case.yaml")).unwrap());
    lsp.diagnostics_for(&build_uri, 1);

    // A key of the real case: hover shows its item, completion lists items and values.
    let (line, col) = real_case_text
        .lines()
        .enumerate()
        .find_map(|(i, l)| l.strip_prefix("  ").filter(|r| r.starts_with("has_foundational_id:")).map(|_| (i, 4)))
        .expect("has_foundational_id in the OpenG2P case");
    let position = json!({ "line": line, "character": col });
    let doc = json!({ "uri": real_uri });
    let started = Instant::now();
    lsp.request("workspace/executeCommand", json!({ "command": "playbook.runBuild", "arguments": [{ "uri": build_uri }] }));
    let (mut hover, mut completion) = (Vec::new(), Vec::new());
    while lsp.summary_at.is_none() && started.elapsed() < TIMEOUT {
        let t0 = Instant::now();
        lsp.request("textDocument/hover", json!({ "textDocument": doc, "position": position }));
        let t1 = Instant::now();
        lsp.request("textDocument/completion", json!({ "textDocument": doc, "position": position }));
        let t2 = Instant::now();
        if lsp.summary_at.is_none() {
            hover.push(t1 - t0);
            completion.push(t2 - t1);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let events = lsp.build_events;
    let rate = lsp.summary_at.map_or(0.0, |at| events as f64 / (at - started).as_secs_f64());
    lsp.shutdown();
    Streaming { events, rate, hover, completion }
}
