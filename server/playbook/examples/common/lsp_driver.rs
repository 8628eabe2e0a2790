//! A minimal LSP client over a real server's stdio, shared by the benchmark drivers: frames
//! messages, answers the server's own requests with `null`, counts build events, and times
//! what arrives.
#![allow(dead_code, reason = "each driver uses a different part")]

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

pub const TIMEOUT: Duration = Duration::from_secs(60);

/// `| name | n | p50 | p90 | p99 | max |` for a Markdown table.
pub fn row(name: &str, samples: &[Duration]) -> String {
    let mut s = samples.to_vec();
    s.sort();
    if s.is_empty() {
        return format!("| {name} | 0 | | | | |");
    }
    let p = |q: f64| ms(s[((q * s.len() as f64).ceil() as usize).clamp(1, s.len()) - 1]);
    format!("| {name} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms |", s.len(), p(0.50), p(0.90), p(0.99), p(1.0))
}

/// `cargo build --release -p playbook --bin playbook`, then the binary next to the running example.
pub fn build_server() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo).args(["build", "--release", "-p", "playbook", "--bin", "playbook"]).status().expect("run cargo build");
    assert!(status.success(), "cargo build failed");
    // target/release/examples/lsp_bench → target/release/playbook
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).expect("target/<profile>");
    dir.join(format!("playbook{}", std::env::consts::EXE_SUFFIX))
}

/// The `playbook:` value of a case.
pub fn playbook_path(case: &str) -> String {
    case.lines().find_map(|l| l.strip_prefix("playbook:")).expect("a playbook: line").trim().to_string()
}

/// The real case for the 10× playbook: its `playbook:` replaced and every answer key renamed to
/// the first copy's id (`<id>_c0`), so it answers the items the real case answers in copy 0.
pub fn first_copy_case(real: &str, playbook: &str) -> String {
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

pub fn file_uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A field of /proc/<pid>/status, e.g. `VmHWM` → "23456 kB".
pub fn proc_status(pid: u32, field: &str) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(&format!("{field}:")))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(format!("{:.1} MiB", kb / 1024.0))
}

pub struct Lsp {
    pub child: Child,
    stdin: ChildStdin,
    /// Every message from the server with the time it was read.
    rx: Receiver<(Instant, Value)>,
    next_id: i64,
    /// `playbook/buildEvent` notifications seen so far, and when the summary came.
    pub build_events: u64,
    pub summary_at: Option<Instant>,
}

impl Lsp {
    /// `playbook lsp` from this binary.
    pub fn spawn(server: &Path, cwd: &Path) -> Lsp {
        Lsp::spawn_command(server, &["lsp"], cwd)
    }

    /// Any language server speaking LSP over stdio.
    pub fn spawn_command(server: &Path, args: &[&str], cwd: &Path) -> Lsp {
        let mut child = Command::new(server)
            .args(args)
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

    pub fn send(&mut self, message: &Value) {
        let body = serde_json::to_vec(message).unwrap();
        let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        frame.extend(body);
        self.stdin.write_all(&frame).unwrap();
        self.stdin.flush().unwrap();
    }

    /// The first message that satisfies `pred`; the server's own requests are answered on the way.
    pub fn wait_for(&mut self, mut pred: impl FnMut(&Value) -> bool) -> (Instant, Value) {
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

    pub fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        let (_, response) = self.wait_for(|m| m.get("method").is_none() && m["id"] == id);
        assert!(response.get("error").is_none(), "{method}: {response}");
        response["result"].clone()
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    pub fn initialize(&mut self, root: &Path) {
        self.initialize_with(root, Value::Null);
    }

    pub fn initialize_with(&mut self, root: &Path, options: Value) {
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

    pub fn open(&mut self, uri: &str, text: &str) {
        self.notify("textDocument/didOpen", json!({ "textDocument": { "uri": uri, "languageId": "yaml", "version": 1, "text": text } }));
    }

    /// When the diagnostics for `version` of `uri` arrived, and them.
    pub fn diagnostics_for(&mut self, uri: &str, version: i64) -> (Instant, Value) {
        let (at, message) = self.wait_for(|m| {
            m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri && m["params"]["version"] == version
        });
        (at, message["params"].clone())
    }

    /// The next diagnostics for `uri`, whatever their version (for servers that send none).
    pub fn next_diagnostics(&mut self, uri: &str) -> (Instant, Value) {
        let (at, message) = self.wait_for(|m| m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri);
        (at, message["params"].clone())
    }

    /// Flip `key` between yes and no `edits` times; the latency of each edit's diagnostics.
    pub fn toggle_burst(&mut self, uri: &str, text: &str, key: &str, edits: usize) -> Vec<Duration> {
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
    pub fn playbook_burst(&mut self, uri: &str, text: &str, edits: usize) -> Vec<Duration> {
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
    pub fn shutdown(mut self) -> Duration {
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
