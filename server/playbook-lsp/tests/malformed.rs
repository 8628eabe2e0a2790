//! Malformed traffic, in process: bad framing, bad JSON, unknown methods, wrong parameters,
//! positions and documents that do not exist. The server must answer what deserves an answer,
//! ignore what does not, and keep serving.
//!
//! These tests use their own small client (not `common::Client`) because they must see every
//! frame the server writes, including error responses whose id is null, and must not wait 20 s
//! when a server has stopped answering.

mod common;
use common::{capabilities, find, position, uri, workspace};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream, ReadHalf, WriteHalf};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// How long a live server may take to answer anything here.
const ANSWER: Duration = Duration::from_secs(5);

struct Raw {
    writer: tokio::sync::Mutex<Option<WriteHalf<DuplexStream>>>,
    /// Every message the server wrote, in order (server requests included).
    frames: Arc<Mutex<Vec<Value>>>,
    arrived: Arc<Notify>,
    next_id: AtomicI64,
    server: Mutex<Option<JoinHandle<playbook_lsp::transport::Outcome>>>,
    root: PathBuf,
}

impl Raw {
    async fn start(name: &str) -> Arc<Raw> {
        let root = workspace(name);
        let (client_side, server_side) = tokio::io::duplex(1 << 20);
        let (server_read, server_write) = tokio::io::split(server_side);
        let server = tokio::spawn(playbook_lsp::serve(server_read, server_write));
        let (read, write) = tokio::io::split(client_side);
        let raw = Arc::new(Raw {
            writer: tokio::sync::Mutex::new(Some(write)),
            frames: Arc::default(),
            arrived: Arc::new(Notify::new()),
            next_id: AtomicI64::new(1),
            server: Mutex::new(Some(server)),
            root: root.clone(),
        });
        tokio::spawn(raw.clone().read_loop(BufReader::new(read)));
        let root_uri = uri(&root);
        let init = raw
            .request(
                "initialize",
                json!({ "processId": null, "rootUri": root_uri, "workspaceFolders": [{ "uri": root_uri, "name": "ws" }], "capabilities": capabilities(true, false) }),
            )
            .await
            .expect("initialize answered");
        assert!(init.get("result").is_some(), "{init}");
        raw.notify("initialized", json!({})).await;
        raw.wait_idle().await;
        raw
    }

    async fn read_loop(self: Arc<Self>, mut reader: BufReader<ReadHalf<DuplexStream>>) {
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
            let mut body = vec![0; length.expect("the server framed its message with Content-Length")];
            if reader.read_exact(&mut body).await.is_err() {
                return;
            }
            let message: Value = serde_json::from_slice(&body).expect("the server writes valid JSON");
            if let (Some(method), Some(id)) = (message.get("method"), message.get("id")) {
                // Answer the server's own requests (capability registration and the like).
                let result = if method == "workspace/applyEdit" { json!({ "applied": true }) } else { Value::Null };
                let answer = json!({ "jsonrpc": "2.0", "id": id, "result": result });
                self.send(&answer).await;
            }
            self.frames.lock().unwrap().push(message);
            self.arrived.notify_waiters();
        }
    }

    /// Write bytes as they are. A server that has stopped reading makes this fail; the test
    /// then fails on the answer that does not come, which says more than a broken pipe.
    async fn write(&self, bytes: &[u8]) {
        let mut w = self.writer.lock().await;
        let w = w.as_mut().expect("input still open");
        if w.write_all(bytes).await.and(w.flush().await).is_err() {
            eprintln!("the server no longer reads its input");
        }
    }

    fn frame(message: &Value) -> Vec<u8> {
        let body = serde_json::to_vec(message).unwrap();
        let mut bytes = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        bytes.extend(body);
        bytes
    }

    async fn send(&self, message: &Value) {
        self.write(&Self::frame(message)).await;
    }

    async fn notify(&self, method: &str, params: Value) {
        self.send(&json!({ "jsonrpc": "2.0", "method": method, "params": params })).await;
    }

    fn id(&self) -> i64 {
        self.next_id.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Send a request; its whole response, or `None` when none comes within [`ANSWER`].
    async fn request(&self, method: &str, params: Value) -> Option<Value> {
        let id = self.id();
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })).await;
        self.response(json!(id)).await
    }

    /// The response with this id, waiting up to [`ANSWER`].
    async fn response(&self, id: Value) -> Option<Value> {
        self.wait_for(0, |m| m.get("method").is_none() && m["id"] == id).await
    }

    /// The first frame at index `from` or later that satisfies `pred`, waiting up to [`ANSWER`].
    async fn wait_for(&self, from: usize, pred: impl Fn(&Value) -> bool) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + ANSWER;
        loop {
            let arrived = self.arrived.notified();
            if let Some(found) = self.frames.lock().unwrap().iter().skip(from).find(|m| pred(m)) {
                return Some(found.clone());
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return None;
            }
        }
    }

    fn count(&self) -> usize {
        self.frames.lock().unwrap().len()
    }

    /// `playbook/status`, failing the test when the server does not answer.
    async fn status(&self, context: &str) -> Value {
        let response = self.request("playbook/status", json!(null)).await;
        let response = response.unwrap_or_else(|| panic!("the server stopped answering {context}"));
        assert!(response.get("error").is_none(), "{context}: {response}");
        response["result"].clone()
    }

    /// Wait until every change sent so far is analysed and its diagnostics published.
    async fn wait_idle(&self) {
        let generation = self.status("while waiting for idle").await["generation"].as_u64().unwrap();
        let idle = self
            .wait_for(0, |m| {
                m["method"] == "playbook/status" && m["params"]["busy"] == false && m["params"]["generation"].as_u64() >= Some(generation)
            })
            .await;
        assert!(idle.is_some(), "no idle status for generation {generation}");
    }

    async fn open(&self, relative: &str, text: &str) -> String {
        let uri = uri(&self.root.join(relative));
        self.notify("textDocument/didOpen", json!({ "textDocument": { "uri": uri, "languageId": "yaml", "version": 1, "text": text } }))
            .await;
        uri
    }

    fn diagnostics(&self, uri: &str) -> Option<Value> {
        let frames = self.frames.lock().unwrap();
        let found = frames.iter().rev().find(|n| n["method"] == "textDocument/publishDiagnostics" && n["params"]["uri"] == uri);
        found.map(|n| n["params"].clone())
    }

    /// Close the input and wait for `serve` to return.
    async fn close_input(&self) -> bool {
        // Dropping a split half does not end a duplex stream: shut the write side down.
        if let Some(mut writer) = self.writer.lock().await.take() {
            let _ = tokio::io::AsyncWriteExt::shutdown(&mut writer).await;
        }
        let server = self.server.lock().unwrap().take().expect("server running");
        tokio::time::timeout(ANSWER, server).await.is_ok_and(|r| r.is_ok())
    }

    /// The demo case opens clean and hover/status still answer: the server is alive and sane.
    async fn demo_case_is_still_right(&self, context: &str) {
        let text = std::fs::read_to_string(self.root.join("fixtures/demo/working_case.yaml")).unwrap();
        let uri = self.open("fixtures/demo/working_case.yaml", &text).await;
        self.wait_idle().await;
        let published = self.diagnostics(&uri).unwrap_or_else(|| panic!("{context}: no diagnostics for the demo case"));
        assert_eq!(published["version"], 1, "{context}");
        assert_eq!(published["diagnostics"], json!([]), "{context}");
        let (line, col) = find(&text, "country:");
        let hover =
            self.request("textDocument/hover", json!({ "textDocument": { "uri": uri }, "position": position(line, col + 2) })).await;
        let hover = hover.unwrap_or_else(|| panic!("{context}: hover not answered"));
        assert!(hover.get("error").is_none(), "{context}: {hover}");
        let status = self.status(context).await;
        assert!(status["cases"].as_array().unwrap().iter().any(|c| c["uri"] == uri), "{context}: {status}");
    }
}

fn error_code(response: &Value) -> Option<i64> {
    response["error"]["code"].as_i64()
}

/// `(header, body)` with a Content-Length that does not match the body.
fn framed_with_length(message: &Value, delta: isize) -> Vec<u8> {
    let body = serde_json::to_vec(message).unwrap();
    let mut bytes = format!("Content-Length: {}\r\n\r\n", body.len() as isize + delta).into_bytes();
    bytes.extend(body);
    bytes
}

/// A body that is not JSON gets a JSON-RPC parse error (id null), and the next request an answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_json_gets_a_parse_error_and_the_server_keeps_answering() {
    let raw = Raw::start("malformed-json").await;
    let from = raw.count();
    let body = br#"{"jsonrpc":"2.0","id":77,"method":"#;
    raw.write(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes()).await;
    raw.write(body).await;
    let error = raw.wait_for(from, |m| m.get("method").is_none() && m["id"].is_null()).await;
    let error = error.expect("a parse error response with id null");
    assert_eq!(error_code(&error), Some(-32700), "{error}");
    raw.status("after invalid JSON").await;
    raw.demo_case_is_still_right("after invalid JSON").await;
}

/// JSON that is not a JSON-RPC message is an invalid request (id null); the server goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_that_is_not_a_message_gets_invalid_request_and_the_server_keeps_answering() {
    let raw = Raw::start("malformed-notmessage").await;
    let from = raw.count();
    raw.write(&Raw::frame(&json!({ "hello": "world" }))).await;
    let error = raw.wait_for(from, |m| m.get("method").is_none() && m["id"].is_null()).await;
    let error = error.expect("an error response with id null");
    assert_eq!(error_code(&error), Some(-32600), "{error}");
    raw.status("after a body that is not a message").await;
}

/// A body that is not UTF-8 is a parse error like any other, not the end of the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_is_not_utf8_gets_a_parse_error_and_the_server_keeps_answering() {
    let raw = Raw::start("malformed-utf8").await;
    let from = raw.count();
    let body: &[u8] = b"{\"jsonrpc\":\"2.0\",\"method\":\"x\xff\xfe\"}";
    raw.write(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes()).await;
    raw.write(body).await;
    let error = raw.wait_for(from, |m| m.get("method").is_none() && m["id"].is_null()).await;
    assert!(error.is_some(), "no parse error response for a body that is not UTF-8");
    raw.status("after a body that is not UTF-8").await;
}

/// A Content-Length shorter than the body: that message is cut (parse error) and the rest of its
/// body runs into the next message, which is garbled. The one after that must be answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_content_length_too_short_garbles_one_message_then_the_server_recovers() {
    let raw = Raw::start("malformed-short").await;
    let from = raw.count();
    let cut = json!({ "jsonrpc": "2.0", "id": 1001, "method": "playbook/status", "params": null });
    raw.write(&framed_with_length(&cut, -12)).await;
    let garbled = json!({ "jsonrpc": "2.0", "id": 1002, "method": "playbook/status", "params": null });
    raw.write(&Raw::frame(&garbled)).await;
    let error = raw.wait_for(from, |m| m.get("method").is_none() && m["id"].is_null()).await;
    assert!(error.is_some(), "no parse error for the cut message");
    let next = json!({ "jsonrpc": "2.0", "id": 1003, "method": "playbook/status", "params": null });
    raw.write(&Raw::frame(&next)).await;
    let answer = raw.response(json!(1003)).await;
    assert!(answer.is_some(), "the server did not recover from a short Content-Length");
    assert!(raw.response(json!(1001)).await.is_none(), "the cut request cannot have been answered");
}

/// A header block that is not a Content-Length header (garbage, a non-number) is skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_bad_headers_are_skipped() {
    let raw = Raw::start("malformed-header").await;
    raw.write(b"Content-Length: twelve\r\n\r\n{\"a\":1}").await;
    raw.write(b"hello there\r\n\r\n").await;
    raw.write(b"\x00\x01garbage without a header at all").await;
    let next = json!({ "jsonrpc": "2.0", "id": 2001, "method": "playbook/status", "params": null });
    raw.write(&Raw::frame(&next)).await;
    assert!(raw.response(json!(2001)).await.is_some(), "the server stopped answering after garbage and a bad header");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_request_is_method_not_found() {
    let raw = Raw::start("malformed-unknown").await;
    let response = raw.request("playbook/noSuchThing", json!({ "x": 1 })).await.expect("an answer");
    assert_eq!(error_code(&response), Some(-32601), "{response}");
    // String ids are legal JSON-RPC: the error must echo them.
    raw.send(&json!({ "jsonrpc": "2.0", "id": "abc", "method": "textDocument/noSuchThing", "params": {} })).await;
    let response = raw.response(json!("abc")).await.expect("an answer to a string id");
    assert_eq!(error_code(&response), Some(-32601), "{response}");
    raw.status("after unknown requests").await;
}

/// Unknown notifications, and document-sync notifications with malformed parameters, get no
/// answer at all (a notification never does) and change nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_malformed_notifications_are_ignored() {
    let raw = Raw::start("malformed-notify").await;
    let from = raw.count();
    raw.notify("playbook/noSuchNotification", json!({ "x": 1 })).await;
    raw.notify("$/noSuchNotification", json!({})).await;
    raw.notify("textDocument/didOpen", json!({ "textDocument": 5 })).await;
    raw.notify("textDocument/didChange", json!({ "textDocument": { "uri": 1 }, "contentChanges": "nope" })).await;
    raw.notify("textDocument/didClose", json!(null)).await;
    raw.status("after unknown notifications").await;
    let frames = raw.frames.lock().unwrap()[from..].to_vec();
    let responses: Vec<&Value> = frames.iter().filter(|m| m.get("method").is_none() && m["id"].is_null()).collect();
    assert!(responses.is_empty(), "notifications must not be answered: {responses:?}");
    drop(frames);
    raw.demo_case_is_still_right("after unknown notifications").await;
}

/// Parameters of the wrong type are InvalidParams, for standard and custom requests alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_parameter_types_are_invalid_params() {
    let raw = Raw::start("malformed-params").await;
    let bad = [
        ("textDocument/hover", json!({ "textDocument": 5, "position": "top" })),
        ("textDocument/completion", json!({ "textDocument": { "uri": 7 }, "position": { "line": -1, "character": "x" } })),
        ("textDocument/definition", json!([1, 2, 3])),
        ("textDocument/hover", Value::Null),
    ];
    for (method, params) in bad {
        let response = raw.request(method, params.clone()).await.unwrap_or_else(|| panic!("{method} {params} not answered"));
        assert_eq!(error_code(&response), Some(-32602), "{method} {params}: {response}");
    }
    raw.demo_case_is_still_right("after wrong parameter types").await;
}

/// Positions past the end of a document, and documents never opened (nor on disk): null
/// results, never an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_past_the_end_and_unknown_documents_give_null_results() {
    let raw = Raw::start("malformed-positions").await;
    let text = std::fs::read_to_string(raw.root.join("fixtures/demo/working_case.yaml")).unwrap();
    let open = raw.open("fixtures/demo/working_case.yaml", &text).await;
    raw.wait_idle().await;
    let never = uri(&raw.root.join("fixtures/demo/never_opened.yaml"));
    let last_line = text.lines().count() as u32;
    let places = [
        (open.as_str(), position(last_line + 10, 0)),
        (open.as_str(), position(99_999, 99_999)),
        (open.as_str(), position(u32::MAX, u32::MAX)),
        (never.as_str(), position(0, 0)),
        (never.as_str(), position(3, 40)),
    ];
    for (doc, at) in places {
        for method in ["textDocument/hover", "textDocument/definition", "textDocument/completion"] {
            let params = json!({ "textDocument": { "uri": doc }, "position": at });
            let response = raw.request(method, params).await.unwrap_or_else(|| panic!("{method} at {at} in {doc} not answered"));
            assert!(response.get("error").is_none(), "{method} at {at} in {doc}: {response}");
            // Completion at a clamped end of an open document may offer keys; the rest is null.
            if method != "textDocument/completion" || doc == never {
                assert_eq!(response["result"], Value::Null, "{method} at {at} in {doc}");
            }
        }
    }
    raw.demo_case_is_still_right("after requests at impossible positions").await;
}

/// A `didChange` for a document that was never opened is ignored: nothing is published for it
/// and later requests are fine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_to_a_document_never_opened_is_ignored() {
    let raw = Raw::start("malformed-unopened").await;
    let never = uri(&raw.root.join("fixtures/demo/never_opened.yaml"));
    let range = json!({ "start": position(0, 0), "end": position(0, 0) });
    for version in 2..5 {
        raw.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": never, "version": version }, "contentChanges": [{ "range": range, "text": "answers: {}\n" }] }),
        )
        .await;
    }
    // A case on disk that is indexed but not open: its disk text stays what the server has.
    let on_disk = uri(&raw.root.join("fixtures/demo/working_case.yaml"));
    raw.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": on_disk, "version": 9 }, "contentChanges": [{ "text": "playbook: nowhere.md\n" }] }),
    )
    .await;
    raw.wait_idle().await;
    assert!(raw.diagnostics(&never).is_none(), "diagnostics published for a document never opened");
    let status = raw.status("after changes to unopened documents").await;
    let cases = status["cases"].as_array().unwrap();
    assert!(!cases.iter().any(|c| c["uri"] == never), "{status}");
    let on_disk_status = cases.iter().find(|c| c["uri"] == on_disk).expect("the case on disk is indexed");
    assert!(on_disk_status["required"].as_u64() > Some(0), "the ignored change reached the indexed case: {on_disk_status}");
    raw.demo_case_is_still_right("after changes to unopened documents").await;
}

/// Ranges past the end of a line or of the document are clamped, as LSP says for columns
/// ("defaults back to the line length") and as the server chooses for lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_with_a_range_past_the_end_is_clamped() {
    let raw = Raw::start("malformed-clamp").await;
    let text = std::fs::read_to_string(raw.root.join("fixtures/demo/working_case.yaml")).unwrap();
    let uri = raw.open("fixtures/demo/working_case.yaml", &text).await;
    raw.wait_idle().await;
    // Past the end of the `country` line: appended to the value, before the line break.
    let (line, _) = find(&text, "  country:");
    let past_line = json!({ "start": position(line, 500), "end": position(line, 900) });
    // Past the end of the document: appended at the very end.
    let past_doc = json!({ "start": position(10_000, 3), "end": position(20_000, 0) });
    // From inside the last line to far past the end: the rest of the document is replaced.
    let (last, _) = find(&text, "  gitlab_user_email:");
    let tail = json!({ "start": position(last, 0), "end": position(50_000, 7) });
    let changes = json!([
        { "range": past_line, "text": " Federation" },
        { "range": past_doc, "text": "# appended\n" },
        { "range": tail, "text": "  gitlab_user_email: not-an-email\n" },
    ]);
    raw.notify("textDocument/didChange", json!({ "textDocument": { "uri": uri, "version": 2 }, "contentChanges": changes })).await;
    raw.wait_idle().await;

    let mut expected: Vec<String> = text.lines().map(str::to_string).collect();
    expected[line as usize].push_str(" Federation");
    expected.truncate(last as usize);
    let expected = expected.join("\n") + "\n  gitlab_user_email: not-an-email\n";
    let fresh = raw.open("fixtures/demo/working_case_clamped.yaml", &expected).await;
    raw.wait_idle().await;
    let (got, want) = (raw.diagnostics(&uri).unwrap(), raw.diagnostics(&fresh).unwrap());
    assert_eq!(got["version"], 2);
    assert_eq!(got["diagnostics"], want["diagnostics"], "clamped edits did not give the expected text:\n{expected}");
    assert!(!want["diagnostics"].as_array().unwrap().is_empty(), "the invalid e-mail should be reported: {want}");
}

/// Everything above in one session, then a Content-Length longer than its body (sent last: the
/// server waits for bytes that never come), then end of input: `serve` returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_session_survives_all_malformed_traffic_and_ends_at_end_of_input() {
    let raw = Raw::start("malformed-all").await;
    let body = br#"{"jsonrpc":"2.0","id":5,"#;
    raw.write(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes()).await;
    raw.write(body).await;
    raw.write(&framed_with_length(&json!({ "jsonrpc": "2.0", "id": 6, "method": "playbook/status" }), -3)).await;
    raw.write(b"garbage\r\n\r\n").await;
    raw.notify("playbook/noSuchNotification", json!({})).await;
    raw.send(&json!({ "jsonrpc": "2.0", "id": 7, "method": "playbook/noSuchThing" })).await;
    raw.send(&json!({ "jsonrpc": "2.0", "id": 8, "method": "textDocument/hover", "params": { "textDocument": 1 } })).await;
    let never = uri(&raw.root.join("fixtures/demo/never_opened.yaml"));
    raw.notify("textDocument/didChange", json!({ "textDocument": { "uri": never, "version": 2 }, "contentChanges": [{ "text": "x" }] }))
        .await;
    raw.send(&json!({ "jsonrpc": "2.0", "id": 9, "method": "textDocument/hover", "params": { "textDocument": { "uri": never }, "position": position(7, 7) } })).await;
    for id in [7, 8, 9] {
        assert!(raw.response(json!(id)).await.is_some(), "request {id} after malformed traffic not answered");
    }
    raw.demo_case_is_still_right("after all malformed traffic").await;

    let from = raw.count();
    raw.write(&framed_with_length(&json!({ "jsonrpc": "2.0", "id": 10, "method": "playbook/status" }), 100)).await;
    assert!(raw.close_input().await, "serve did not return at end of input after a too-long Content-Length");
    let frames = raw.frames.lock().unwrap()[from..].to_vec();
    assert!(!frames.iter().any(|m| m["id"] == 10), "the truncated request cannot be answered: {frames:?}");
}
