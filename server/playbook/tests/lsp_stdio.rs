//! `playbook lsp` as a real process over stdio: it survives garbage on its input, answers,
//! writes nothing but LSP frames on stdout (logs go to stderr), and `shutdown` + `exit` end it
//! promptly.

use serde_json::{Value, json};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the server may take to answer one request.
const ANSWER: Duration = Duration::from_secs(10);
/// `shutdown` + `exit` must end the process within this (see the measured time in the output).
const EXIT_CAP: Duration = Duration::from_secs(1);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// A scratch workspace holding the registry playbook and the demo case.
fn workspace(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("playbook-stdio-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for sub in ["playbooks", "fixtures/demo"] {
        copy_tree(&repo().join(sub), &dir.join(sub));
    }
    dir.canonicalize().unwrap()
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

fn file_uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// Split `bytes` into LSP frames. `Err` names the first byte offset that is not part of a
/// well-formed `Content-Length`-framed JSON message; a trailing incomplete frame is `Ok` with
/// the complete ones when `allow_partial`.
fn frames(bytes: &[u8], allow_partial: bool) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let Some(end) = bytes[at..].windows(4).position(|w| w == b"\r\n\r\n") else {
            return if allow_partial { Ok(out) } else { Err(format!("incomplete header at byte {at}")) };
        };
        let header = std::str::from_utf8(&bytes[at..at + end]).map_err(|_| format!("header at byte {at} is not UTF-8"))?;
        let mut length = None;
        for line in header.split("\r\n") {
            let (name, value) = line.split_once(':').ok_or_else(|| format!("bad header line {line:?} at byte {at}"))?;
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = Some(value.trim().parse::<usize>().map_err(|e| format!("bad length {value:?}: {e}"))?),
                "content-type" => {}
                other => return Err(format!("unexpected header {other:?} at byte {at}")),
            }
        }
        let length = length.ok_or_else(|| format!("no Content-Length at byte {at}"))?;
        let body = at + end + 4;
        if body + length > bytes.len() {
            return if allow_partial { Ok(out) } else { Err(format!("truncated body at byte {body}")) };
        }
        let message: Value =
            serde_json::from_slice(&bytes[body..body + length]).map_err(|e| format!("body at byte {body} is not JSON: {e}"))?;
        if message["jsonrpc"] != "2.0" {
            return Err(format!("not a JSON-RPC 2.0 message at byte {body}: {message}"));
        }
        out.push(message);
        at = body + length;
    }
    Ok(out)
}

struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
    /// How many of the server's own requests we have answered.
    answered: usize,
}

impl Server {
    fn spawn(root: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_playbook"))
            .arg("lsp")
            .current_dir(root)
            .env_remove("PLAYBOOK_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn playbook lsp");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let readers = vec![drain(child.stdout.take().unwrap(), stdout.clone()), drain(child.stderr.take().unwrap(), stderr.clone())];
        Server { stdin: child.stdin.take(), child, stdout, stderr, readers, answered: 0 }
    }

    fn write(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
    }

    fn send(&mut self, message: &Value) {
        let body = serde_json::to_vec(message).unwrap();
        self.write(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        self.write(&body);
    }

    fn messages(&self) -> Vec<Value> {
        let bytes = self.stdout.lock().unwrap();
        frames(&bytes, true).unwrap_or_else(|e| panic!("stdout is not clean LSP framing: {e}\n{}", String::from_utf8_lossy(&bytes)))
    }

    /// The first message that satisfies `pred`, answering the server's own requests meanwhile.
    fn wait_for(&mut self, pred: impl Fn(&Value) -> bool) -> Option<Value> {
        let deadline = Instant::now() + ANSWER;
        while Instant::now() < deadline {
            let messages = self.messages();
            let server_requests: Vec<Value> =
                messages.iter().filter(|m| m.get("method").is_some() && m.get("id").is_some()).skip(self.answered).cloned().collect();
            for request in server_requests {
                self.answered += 1;
                self.send(&json!({ "jsonrpc": "2.0", "id": request["id"], "result": null }));
            }
            if let Some(found) = messages.into_iter().find(|m| pred(m)) {
                return Some(found);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        None
    }

    /// The response with this id.
    fn response(&mut self, id: i64) -> Option<Value> {
        self.wait_for(|m| m.get("method").is_none() && m["id"] == id)
    }

    fn request(&mut self, id: i64, method: &str, params: Value) -> Option<Value> {
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        self.response(id)
    }

    fn initialize(&mut self, root: &Path) {
        let root_uri = file_uri(root);
        let params = json!({
            "processId": std::process::id(),
            "rootUri": root_uri,
            "workspaceFolders": [{ "uri": root_uri, "name": "ws" }],
            "capabilities": { "general": { "positionEncodings": ["utf-16"] } }
        });
        let init = self.request(1, "initialize", params).expect("initialize answered");
        assert!(init.get("result").is_some(), "{init}");
        self.send(&json!({ "jsonrpc": "2.0", "method": "initialized", "params": {} }));
    }

    /// Wait for the process to end; its exit status and how long it took.
    fn wait(&mut self, limit: Duration) -> (Option<std::process::ExitStatus>, Duration) {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (Some(status), start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        (None, start.elapsed())
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }
}

fn drain(mut from: impl Read + Send + 'static, into: Arc<Mutex<Vec<u8>>>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            into.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    })
}

/// Open the demo case, hover, optionally throw garbage at stdin and hover again, then
/// `shutdown` + `exit`: the process ends promptly with code 0, every byte it wrote on stdout is
/// an LSP frame, and its logs are on stderr.
fn session(garbage: bool) {
    let root = workspace(if garbage { "garbage" } else { "clean" });
    let mut server = Server::spawn(&root);
    server.initialize(&root);
    let case = root.join("fixtures/demo/working_case.yaml");
    let text = std::fs::read_to_string(&case).unwrap();
    let case_uri = file_uri(&case);
    server.send(&json!({ "jsonrpc": "2.0", "method": "textDocument/didOpen",
        "params": { "textDocument": { "uri": case_uri, "languageId": "yaml", "version": 1, "text": text } } }));
    // Something the server logs (at its default level) without it being an error.
    let never = file_uri(&root.join("fixtures/demo/never_opened.yaml"));
    server.send(&json!({ "jsonrpc": "2.0", "method": "textDocument/didChange",
        "params": { "textDocument": { "uri": never, "version": 2 }, "contentChanges": [{ "text": "x" }] } }));
    let hover = json!({ "textDocument": { "uri": case_uri }, "position": { "line": 8, "character": 4 } });
    let published = server.wait_for(|m| m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == case_uri);
    let published = published.expect("diagnostics for the demo case");
    assert_eq!(published["params"]["diagnostics"], json!([]), "{published}");
    let before = server.request(2, "textDocument/hover", hover.clone()).expect("hover answered");
    assert!(before.get("error").is_none(), "{before}");

    if garbage {
        // Garbage bytes, then a header whose length is not a number, then a valid request.
        server.write(b"\x00\x01 this is not LSP \xff\r\n\r\n");
        server.write(b"Content-Length: twelve\r\n\r\n{\"jsonrpc\":\"2.0\"}");
        let after = server.request(3, "textDocument/hover", hover);
        let stderr = server.stderr();
        let after = after.unwrap_or_else(|| panic!("the server stopped answering after garbage on stdin\nstderr:\n{stderr}"));
        assert!(after.get("error").is_none(), "{after}");
    }

    let started = Instant::now();
    let shutdown = server.request(4, "shutdown", Value::Null).expect("shutdown answered");
    assert_eq!(shutdown["result"], Value::Null, "{shutdown}");
    server.send(&json!({ "jsonrpc": "2.0", "method": "exit" }));
    let (status, _) = server.wait(Duration::from_secs(5));
    let took = started.elapsed();
    println!("shutdown + exit ended the process in {:.1} ms", took.as_secs_f64() * 1000.0);
    let status = status.expect("the process ended after exit");
    assert!(took < EXIT_CAP, "shutdown + exit took {} ms", took.as_millis());
    assert_eq!(status.code(), Some(0), "exit after shutdown must be code 0");

    drop(server.stdin.take());
    for reader in server.readers.drain(..) {
        reader.join().unwrap();
    }
    // Every byte of stdout is an LSP frame; the logs went to stderr.
    let bytes = server.stdout.lock().unwrap().clone();
    let all = frames(&bytes, false).unwrap_or_else(|e| panic!("stdout is not only LSP frames: {e}"));
    assert!(all.iter().any(|m| m["id"] == 4), "the shutdown response is on stdout");
    let stderr = server.stderr();
    assert!(stderr.contains("not open"), "the ignored didChange should be logged on stderr:\n{stderr}");
    println!("{} frames on stdout; stderr:\n{stderr}", all.len());
}

#[test]
fn shutdown_and_exit_end_the_process_promptly_and_stdout_holds_only_frames() {
    session(false);
}

#[test]
fn the_binary_survives_garbage_and_a_bad_header_on_stdin() {
    session(true);
}

/// LSP: "The server should exit with success code 0 if the shutdown request has been received
/// before; otherwise with error code 1."
#[test]
fn exit_without_shutdown_exits_with_code_1() {
    let root = workspace("no-shutdown");
    let mut server = Server::spawn(&root);
    server.initialize(&root);
    assert!(server.request(2, "playbook/status", Value::Null).is_some());
    server.send(&json!({ "jsonrpc": "2.0", "method": "exit" }));
    let (status, took) = server.wait(Duration::from_secs(5));
    let status = status.expect("the process ended after exit");
    println!("exit without shutdown ended the process in {} ms", took.as_millis());
    assert_eq!(status.code(), Some(1), "exit without shutdown must be code 1");
}

/// A client that dies closes the server's stdin: the server must end, not linger.
#[test]
fn end_of_input_ends_the_server() {
    let root = workspace("eof");
    let mut server = Server::spawn(&root);
    server.initialize(&root);
    assert!(server.request(2, "playbook/status", Value::Null).is_some());
    drop(server.stdin.take());
    let (status, took) = server.wait(Duration::from_secs(5));
    println!("end of input ended the process in {} ms", took.as_millis());
    assert!(status.is_some(), "the server kept running after its input closed");
}
