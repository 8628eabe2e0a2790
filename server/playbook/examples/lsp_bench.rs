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

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(60);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let edits: usize = flag("--edits").map_or(300, |n| n.parse().expect("--edits N"));
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root");
    let server = match flag("--server") {
        Some(path) => PathBuf::from(path),
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
        let mut s = samples.clone();
        s.sort();
        let p = |q: f64| ms(s[((q * s.len() as f64).ceil() as usize).clamp(1, s.len()) - 1]);
        println!("| {name} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms |", s.len(), p(0.50), p(0.90), p(0.99), p(1.0));
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
    for (name, samples) in [("hover", &streaming.hover), ("completion", &streaming.completion)] {
        let mut s = samples.clone();
        s.sort();
        if s.is_empty() {
            println!("| {name} | 0 | | | | |");
            continue;
        }
        let p = |q: f64| ms(s[((q * s.len() as f64).ceil() as usize).clamp(1, s.len()) - 1]);
        println!("| {name} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms |", s.len(), p(0.50), p(0.90), p(0.99), p(1.0));
    }
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

/// `cargo build --release -p playbook --bin playbook`, then the binary next to this example.
fn build_server() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo).args(["build", "--release", "-p", "playbook", "--bin", "playbook"]).status().expect("run cargo build");
    assert!(status.success(), "cargo build failed");
    // target/release/examples/lsp_bench → target/release/playbook
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).expect("target/<profile>");
    dir.join(format!("playbook{}", std::env::consts::EXE_SUFFIX))
}

/// The `playbook:` value of a case.
fn playbook_path(case: &str) -> String {
    case.lines().find_map(|l| l.strip_prefix("playbook:")).expect("a playbook: line").trim().to_string()
}

/// The real case for the 10× playbook: its `playbook:` replaced and every answer key renamed to
/// the first copy's id (`<id>_c0`), so it answers the items the real case answers in copy 0.
fn first_copy_case(real: &str, playbook: &str) -> String {
    let mut out = String::with_capacity(real.len() + 4096);
    for line in real.lines() {
        if line.starts_with("playbook:") {
            out.push_str(&format!("playbook: {playbook}"));
        } else if let Some(key) = line.strip_prefix("  ").and_then(|rest| rest.split_once(':').map(|(k, _)| k))
            && !key.is_empty()
            && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            out.push_str(&format!("  {key}_c0{}", &line[2 + key.len()..]));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

fn file_uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A field of /proc/<pid>/status, e.g. `VmHWM` → "23456 kB".
fn proc_status(pid: u32, field: &str) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(&format!("{field}:")))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(format!("{:.1} MiB", kb / 1024.0))
}

struct Lsp {
    child: Child,
    stdin: ChildStdin,
    /// Every message from the server with the time it was read.
    rx: Receiver<(Instant, Value)>,
    next_id: i64,
    /// `playbook/buildEvent` notifications seen so far, and when the summary came.
    build_events: u64,
    summary_at: Option<Instant>,
}

impl Lsp {
    fn spawn(server: &Path, cwd: &Path) -> Lsp {
        let mut child = Command::new(server)
            .arg("lsp")
            .current_dir(cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", server.display()));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut length = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("Content-Length:") {
                        length = v.trim().parse::<usize>().ok();
                    }
                }
                let mut body = vec![0; length.expect("Content-Length")];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                let message: Value = serde_json::from_slice(&body).expect("JSON from the server");
                if tx.send((Instant::now(), message)).is_err() {
                    return;
                }
            }
        });
        Lsp { stdin: child.stdin.take().unwrap(), child, rx, next_id: 0, build_events: 0, summary_at: None }
    }

    fn send(&mut self, message: &Value) {
        let body = serde_json::to_vec(message).unwrap();
        let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        frame.extend(body);
        self.stdin.write_all(&frame).unwrap();
        self.stdin.flush().unwrap();
    }

    /// The first message that satisfies `pred`; the server's own requests are answered on the way.
    fn wait_for(&mut self, pred: impl Fn(&Value) -> bool) -> (Instant, Value) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let (at, message) = self.rx.recv_timeout(left).expect("the server answered in time");
            if let (Some(_), Some(id)) = (message.get("method"), message.get("id")) {
                let id = id.clone();
                self.send(&json!({ "jsonrpc": "2.0", "id": id, "result": null }));
                continue;
            }
            if message["method"] == "playbook/buildEvent" {
                self.build_events += 1;
                if message["params"]["kind"] == "summary" {
                    self.summary_at = Some(at);
                }
            }
            if pred(&message) {
                return (at, message);
            }
        }
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        let (_, response) = self.wait_for(|m| m.get("method").is_none() && m["id"] == id);
        assert!(response.get("error").is_none(), "{method}: {response}");
        response["result"].clone()
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    fn initialize(&mut self, root: &Path) {
        self.initialize_with(root, Value::Null);
    }

    fn initialize_with(&mut self, root: &Path, options: Value) {
        let root_uri = file_uri(root);
        self.request(
            "initialize",
            json!({
                "processId": std::process::id(),
                "rootUri": root_uri,
                "workspaceFolders": [{ "uri": root_uri, "name": "repo" }],
                "capabilities": {
                    "general": { "positionEncodings": ["utf-16"] },
                    "textDocument": { "publishDiagnostics": { "relatedInformation": true, "versionSupport": true } }
                },
                "initializationOptions": options
            }),
        );
        self.notify("initialized", json!({}));
    }

    fn open(&mut self, uri: &str, text: &str) {
        self.notify("textDocument/didOpen", json!({ "textDocument": { "uri": uri, "languageId": "yaml", "version": 1, "text": text } }));
    }

    /// When the diagnostics for `version` of `uri` arrived, and them.
    fn diagnostics_for(&mut self, uri: &str, version: i64) -> (Instant, Value) {
        let (at, message) = self.wait_for(|m| {
            m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri && m["params"]["version"] == version
        });
        (at, message["params"].clone())
    }

    /// Flip `key` between yes and no `edits` times; the latency of each edit's diagnostics.
    fn toggle_burst(&mut self, uri: &str, text: &str, key: &str, edits: usize) -> Vec<Duration> {
        let prefix = format!("  {key}: ");
        let line = text.lines().position(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("no `{key}` answer"));
        let mut value = text.lines().nth(line).unwrap()[prefix.len()..].to_string();
        let col = prefix.len() as u32;
        let mut samples = Vec::with_capacity(edits);
        for i in 0..edits {
            let version = i as i64 + 2;
            let new = if value == "yes" { "no" } else { "yes" };
            let range =
                json!({ "start": { "line": line, "character": col }, "end": { "line": line, "character": col + value.len() as u32 } });
            let sent = Instant::now();
            self.notify(
                "textDocument/didChange",
                json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "range": range, "text": new }] }),
            );
            let (arrived, _) = self.diagnostics_for(uri, version);
            samples.push(arrived - sent);
            value = new.to_string();
        }
        samples
    }

    /// Open a playbook and edit its first line `edits` times (a character appended, then
    /// removed); each sample ends when the idle `playbook/status` after the playbook's
    /// diagnostics for that version arrives, i.e. when the cases using it are re-published too.
    fn playbook_burst(&mut self, uri: &str, text: &str, edits: usize) -> Vec<Duration> {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "markdown", "version": 1, "text": text } }),
        );
        self.diagnostics_for(uri, 1);
        self.wait_for(|m| m["method"] == "playbook/status" && m["params"]["busy"] == false);
        let end = text.lines().next().unwrap_or_default().encode_utf16().count() as u32;
        let mut samples = Vec::with_capacity(edits);
        for i in 0..edits {
            let version = i as i64 + 2;
            let (range, new) = if i % 2 == 0 {
                (json!({ "start": { "line": 0, "character": end }, "end": { "line": 0, "character": end } }), "x")
            } else {
                (json!({ "start": { "line": 0, "character": end }, "end": { "line": 0, "character": end + 1 } }), "")
            };
            let sent = Instant::now();
            self.notify(
                "textDocument/didChange",
                json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "range": range, "text": new }] }),
            );
            self.diagnostics_for(uri, version);
            let (idle, _) = self.wait_for(|m| m["method"] == "playbook/status" && m["params"]["busy"] == false);
            samples.push(idle - sent);
        }
        samples
    }

    /// `shutdown` + `exit`; how long until the process ended.
    fn shutdown(mut self) -> Duration {
        let started = Instant::now();
        self.request("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        loop {
            if self.child.try_wait().unwrap().is_some() || started.elapsed() > Duration::from_secs(10) {
                return started.elapsed();
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
