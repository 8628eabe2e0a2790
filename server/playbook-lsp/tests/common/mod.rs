//! An in-process LSP client over `tokio::io::duplex`: frames messages, demultiplexes responses
//! from notifications, answers the server's own requests, and waits on `playbook/status`
//! instead of sleeping.
#![allow(dead_code, reason = "each test file uses a different part of the harness")]

use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream, WriteHalf};
use tokio::sync::{Notify, oneshot};

type Pending = Arc<Mutex<HashMap<i64, oneshot::Sender<Value>>>>;

pub struct Client {
    writer: tokio::sync::Mutex<WriteHalf<DuplexStream>>,
    pending: Pending,
    /// Every notification from the server, in arrival order.
    pub notifications: Arc<Mutex<Vec<Value>>>,
    arrived: Arc<Notify>,
    /// Workspace edits the server asked us to apply (`workspace/applyEdit`).
    pub applied_edits: Arc<Mutex<Vec<Value>>>,
    /// Every request the server sent us, in arrival order.
    pub server_requests: Arc<Mutex<Vec<Value>>>,
    /// Server requests with these methods are never answered (a client that hangs).
    pub unanswered: Mutex<Vec<String>>,
    next_id: Mutex<i64>,
    versions: Mutex<HashMap<String, i64>>,
    pub root: PathBuf,
}

/// Capability sets like the ones real editors send.
pub fn capabilities(snippets: bool, utf8: bool) -> Value {
    let encodings = if utf8 { json!(["utf-8", "utf-16"]) } else { json!(["utf-16"]) };
    json!({
        "general": { "positionEncodings": encodings },
        "textDocument": {
            "completion": { "completionItem": { "snippetSupport": snippets } },
            "publishDiagnostics": { "relatedInformation": true, "versionSupport": true },
            "codeAction": { "codeActionLiteralSupport": { "codeActionKind": { "valueSet": ["quickfix", "source"] } } },
            "rename": { "prepareSupport": true },
            "documentSymbol": { "hierarchicalDocumentSymbolSupport": true }
        },
        "workspace": { "applyEdit": true, "workspaceEdit": { "documentChanges": true }, "didChangeWatchedFiles": { "dynamicRegistration": true } }
    })
}

impl Client {
    /// Start the server in-process and initialise it with `root` as the workspace folder.
    pub async fn start(root: &Path, caps: Value) -> Arc<Client> {
        Client::start_with(root, caps, Value::Null).await
    }

    /// [`Client::start`] with `initializationOptions` (such as `{"trustedWorkspace": true}`).
    pub async fn start_with(root: &Path, caps: Value, options: Value) -> Arc<Client> {
        let (client_side, server_side) = tokio::io::duplex(1 << 20);
        let (server_read, server_write) = tokio::io::split(server_side);
        tokio::spawn(playbook_lsp::serve(server_read, server_write));
        let (read, write) = tokio::io::split(client_side);
        let client = Arc::new(Client {
            writer: tokio::sync::Mutex::new(write),
            pending: Arc::default(),
            notifications: Arc::default(),
            arrived: Arc::new(Notify::new()),
            applied_edits: Arc::default(),
            server_requests: Arc::default(),
            unanswered: Mutex::default(),
            next_id: Mutex::new(1),
            versions: Mutex::default(),
            root: root.to_path_buf(),
        });
        let reader = client.clone();
        tokio::spawn(async move { reader.read_loop(BufReader::new(read)).await });
        let root_uri = uri(root);
        let init = client
            .request("initialize", json!({ "processId": null, "rootUri": root_uri, "workspaceFolders": [{ "uri": root_uri, "name": "ws" }], "capabilities": caps, "initializationOptions": options }))
            .await;
        assert!(init.get("result").is_some(), "initialize failed: {init}");
        client.notify("initialized", json!({})).await;
        client.wait_idle().await;
        client
    }

    async fn read_loop(self: Arc<Self>, mut reader: BufReader<tokio::io::ReadHalf<DuplexStream>>) {
        loop {
            let mut length = None;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
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
            let mut body = vec![0; length.expect("Content-Length header")];
            if reader.read_exact(&mut body).await.is_err() {
                return;
            }
            let message: Value = serde_json::from_slice(&body).expect("server sent valid JSON");
            let id = message.get("id").and_then(Value::as_i64);
            match (message.get("method"), id) {
                (Some(method), Some(id)) => self.answer_server_request(method.as_str().unwrap_or_default(), id, &message).await,
                (Some(_), None) => {
                    self.notifications.lock().unwrap().push(message);
                    self.arrived.notify_waiters();
                }
                (None, Some(id)) => {
                    if let Some(tx) = self.pending.lock().unwrap().remove(&id) {
                        let _ = tx.send(message);
                    }
                }
                (None, None) => {}
            }
        }
    }

    async fn answer_server_request(&self, method: &str, id: i64, message: &Value) {
        self.server_requests.lock().unwrap().push(message.clone());
        if self.unanswered.lock().unwrap().iter().any(|m| m == method) {
            return;
        }
        let result = match method {
            "workspace/applyEdit" => {
                self.applied_edits.lock().unwrap().push(message["params"]["edit"].clone());
                json!({ "applied": true })
            }
            _ => Value::Null,
        };
        self.send(json!({ "jsonrpc": "2.0", "id": id, "result": result })).await;
    }

    pub async fn send(&self, message: Value) {
        let body = serde_json::to_vec(&message).unwrap();
        self.send_raw(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes(), &body).await;
    }

    /// Write bytes as they are (for malformed-traffic tests).
    pub async fn send_raw(&self, header: &[u8], body: &[u8]) {
        let mut w = self.writer.lock().await;
        w.write_all(header).await.unwrap();
        w.write_all(body).await.unwrap();
        w.flush().await.unwrap();
    }

    /// Send a request and wait for its response (the whole response object).
    pub async fn request(&self, method: &str, params: Value) -> Value {
        let id = {
            let mut next = self.next_id.lock().unwrap();
            *next += 1;
            *next
        };
        let (tx, rx) = oneshot::channel();
        self.pending.lock().unwrap().insert(id, tx);
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })).await;
        tokio::time::timeout(Duration::from_secs(20), rx).await.expect("response within 20 s").expect("response")
    }

    /// Send a request and return its `result`, failing the test on an error response.
    pub async fn call(&self, method: &str, params: Value) -> Value {
        let response = self.request(method, params).await;
        assert!(response.get("error").is_none(), "{method} failed: {response}");
        response["result"].clone()
    }

    pub async fn notify(&self, method: &str, params: Value) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params })).await;
    }

    /// Wait until the server has analysed every change sent so far and published its diagnostics.
    pub async fn wait_idle(&self) {
        let status = self.call("playbook/status", json!(null)).await;
        let generation = status["generation"].as_u64().unwrap();
        if !status["busy"].as_bool().unwrap() && self.saw_idle(generation) {
            return;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let arrived = self.arrived.notified();
            if self.saw_idle(generation) {
                return;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!("server not idle within 20 s (waiting for generation {generation})");
            }
        }
    }

    /// Wait until `done` holds for the notifications so far (at most `secs`).
    pub async fn wait_until(&self, secs: u64, what: &str, done: impl Fn(&[Value]) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let arrived = self.arrived.notified();
            if done(&self.notifications.lock().unwrap()) {
                return;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!("{what}: not within {secs} s");
            }
        }
    }

    /// Wait until a notification with this method has arrived (at most 20 s); returns it.
    pub async fn wait_for_notification(&self, method: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let arrived = self.arrived.notified();
            if let Some(n) = self.notifications.lock().unwrap().iter().find(|n| n["method"] == method) {
                return n.clone();
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!("no {method} notification within 20 s");
            }
        }
    }

    fn saw_idle(&self, generation: u64) -> bool {
        self.notifications.lock().unwrap().iter().any(|n| {
            n["method"] == "playbook/status"
                && n["params"]["busy"] == false
                && n["params"]["generation"].as_u64().unwrap_or(0) >= generation
        })
    }

    /// Open a file of the workspace (relative to the root) with its text on disk.
    pub async fn open(&self, relative: &str) -> String {
        let path = self.root.join(relative);
        let text = std::fs::read_to_string(&path).unwrap();
        self.open_text(relative, &text).await
    }

    pub async fn open_text(&self, relative: &str, text: &str) -> String {
        let uri = uri(&self.root.join(relative));
        let language = if relative.ends_with(".md") { "markdown" } else { "yaml" };
        self.versions.lock().unwrap().insert(uri.clone(), 1);
        self.notify("textDocument/didOpen", json!({ "textDocument": { "uri": uri, "languageId": language, "version": 1, "text": text } }))
            .await;
        uri
    }

    /// Send one `didChange` with these content changes; returns the new version.
    pub async fn change(&self, uri: &str, changes: Value) -> i64 {
        let version = {
            let mut versions = self.versions.lock().unwrap();
            let v = versions.entry(uri.to_string()).or_insert(0);
            *v += 1;
            *v
        };
        self.notify("textDocument/didChange", json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": changes }))
            .await;
        version
    }

    /// The latest diagnostics published for `uri` (as of now).
    pub fn diagnostics(&self, uri: &str) -> Option<Value> {
        self.notifications
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|n| n["method"] == "textDocument/publishDiagnostics" && n["params"]["uri"] == uri)
            .map(|n| n["params"].clone())
    }

    /// `(code, start line)` of the latest diagnostics for `uri`.
    pub fn codes(&self, uri: &str) -> Vec<(String, u64)> {
        let Some(params) = self.diagnostics(uri) else { return Vec::new() };
        params["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| (d["code"].as_str().unwrap_or_default().to_string(), d["range"]["start"]["line"].as_u64().unwrap()))
            .collect()
    }

    pub async fn shutdown(&self) {
        self.call("shutdown", json!(null)).await;
        self.notify("exit", json!(null)).await;
    }
}

/// Titles of the code lenses of `uri` on a 0-based line.
pub async fn lens_titles_at(client: &Client, uri: &str, line: u64) -> Vec<String> {
    let lenses = client.call("textDocument/codeLens", json!({ "textDocument": { "uri": uri } })).await;
    lenses
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["range"]["start"]["line"] == line)
        .map(|l| l["command"]["title"].as_str().unwrap().to_string())
        .collect()
}

pub fn uri(path: &Path) -> String {
    tower_lsp_server::ls_types::Uri::from_file_path(path).expect("absolute path").as_str().to_string()
}

pub fn position(line: u32, character: u32) -> Value {
    json!({ "line": line, "character": character })
}

/// A scratch workspace: a copy of the repository's playbook and fixtures, so tests may write.
pub fn workspace(name: &str) -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap();
    let dir = std::env::temp_dir().join(format!("playbook-lsp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for sub in ["playbooks", "fixtures/demo", "fixtures/broken"] {
        copy_tree(&repo.join(sub), &dir.join(sub));
    }
    dir.canonicalize().unwrap()
}

pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The line (0-based) of the first line of `text` containing `needle`, and the column of it.
pub fn find(text: &str, needle: &str) -> (u32, u32) {
    for (i, line) in text.lines().enumerate() {
        if let Some(col) = line.find(needle) {
            return (i as u32, line[..col].encode_utf16().count() as u32);
        }
    }
    panic!("`{needle}` not found");
}
