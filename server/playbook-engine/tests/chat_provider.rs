//! The chat-completions code provider against a local stub of the OpenAI wire format: HTTP/1.1
//! on loopback, `text/event-stream` bodies (chunked or close-delimited) whose tool-call
//! arguments arrive in several fragments, then a usage chunk and `data: [DONE]`. The stub
//! records every request so the tests can check what the provider sent.

use playbook_core::case::Case;
use playbook_engine::build::Redactor;
use playbook_engine::build::events::{EventKind, EventSink, read_events};
use playbook_engine::handlers::codegen::chat::{ChatConfig, ChatProvider, register_paths};
use playbook_engine::handlers::codegen::fallback::WithFallback;
use playbook_engine::handlers::codegen::{
    CodeProvider, FindingSeverity, GeneratedFile, RegisterRequest, ReviewRequest, openai_from_lookup, usage_draft, usage_message,
};
use playbook_engine::handlers::inputs::RegistryInputs;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KEY: &str = "sk-test-0123456789abcdef";

// ---------------------------------------------------------------- the stub server

#[derive(Debug, Clone)]
struct Recorded {
    at: Instant,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Recorded {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The user message of the request.
    fn prompt(&self) -> String {
        self.body["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["role"] == "user")
            .filter_map(|m| m["content"].as_str())
            .collect()
    }
}

enum Reply {
    /// `200 text/event-stream`, each event written and flushed on its own (chunked encoding
    /// when `chunked`, else delimited by closing the connection).
    Sse { events: Vec<String>, chunked: bool },
    /// Any status with a JSON body and extra headers.
    Status { code: u16, reason: &'static str, headers: Vec<(&'static str, String)>, body: String },
    /// Sleep before answering anything.
    Hang(Duration),
    /// Headers and the first events, then sleep with the connection open.
    Stall { events: Vec<String>, sleep: Duration },
}

type Script = dyn Fn(usize, &Recorded) -> Reply + Send + Sync;

struct Stub {
    url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl Stub {
    /// Serve `script(n, request)` for the n-th request (0-based), one connection per request.
    fn start(script: impl Fn(usize, &Recorded) -> Reply + Send + Sync + 'static) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        let recorded = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (recorded, script) = (recorded.clone(), script.clone());
                std::thread::spawn(move || serve(stream, &recorded, &*script));
            }
        });
        Stub { url, requests }
    }

    fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, recorded: &Mutex<Vec<Recorded>>, script: &Script) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.trim_end().split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let length: usize =
        headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-length")).and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let request = Recorded { at: Instant::now(), method, path, headers, body: serde_json::from_slice(&body).unwrap_or(Value::Null) };
    let n = {
        let mut all = recorded.lock().unwrap();
        all.push(request.clone());
        all.len() - 1
    };
    let mut out = stream;
    let _ = match script(n, &request) {
        Reply::Sse { events, chunked } => write_sse(&mut out, &events, chunked),
        Reply::Status { code, reason, headers, body } => {
            let extra: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
            write!(
                out,
                "HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
                body.len()
            )
        }
        Reply::Hang(time) => {
            std::thread::sleep(time);
            Ok(())
        }
        Reply::Stall { events, sleep } => {
            let _ = write!(out, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n");
            for event in &events {
                let _ = out.write_all(event.as_bytes());
            }
            let _ = out.flush();
            std::thread::sleep(sleep);
            Ok(())
        }
    };
}

fn write_sse(out: &mut TcpStream, events: &[String], chunked: bool) -> std::io::Result<()> {
    let framing = if chunked { "Transfer-Encoding: chunked\r\n" } else { "" };
    write!(
        out,
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nCache-Control: no-cache\r\n{framing}Connection: close\r\n\r\n"
    )?;
    out.flush()?;
    for event in events {
        if chunked {
            write!(out, "{:x}\r\n{event}\r\n", event.len())?;
        } else {
            out.write_all(event.as_bytes())?;
        }
        out.flush()?;
        std::thread::sleep(Duration::from_millis(3));
    }
    if chunked {
        out.write_all(b"0\r\n\r\n")?;
    }
    out.flush()
}

// ---------------------------------------------------------------- the OpenAI wire format

fn event(chunk: Value) -> String {
    format!("data: {chunk}\n\n")
}

fn chunk(choices: Value, usage: Value) -> Value {
    json!({"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": "stub-model", "system_fingerprint": "fp_stub", "choices": choices, "usage": usage})
}

/// A streamed answer calling `function` with `arguments` split into `pieces` fragments, then a
/// usage chunk and `[DONE]`.
fn tool_call_stream(function: &str, arguments: &str, pieces: usize, usage: (u64, u64)) -> Vec<String> {
    tool_call_stream_ending(function, arguments, pieces, usage, "stop")
}

fn tool_call_stream_ending(function: &str, arguments: &str, pieces: usize, usage: (u64, u64), finish: &str) -> Vec<String> {
    let mut events = vec![event(chunk(
        json!([{"index": 0, "delta": {"role": "assistant", "content": null, "tool_calls": [{"index": 0, "id": "call_stub1", "type": "function", "function": {"name": function, "arguments": ""}}], "refusal": null}, "logprobs": null, "finish_reason": null}]),
        Value::Null,
    ))];
    let chars: Vec<char> = arguments.chars().collect();
    let size = chars.len().div_ceil(pieces.max(1)).max(1);
    for piece in chars.chunks(size) {
        let piece: String = piece.iter().collect();
        events.push(event(chunk(
            json!([{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}, "logprobs": null, "finish_reason": null}]),
            Value::Null,
        )));
    }
    events.push(event(chunk(json!([{"index": 0, "delta": {}, "logprobs": null, "finish_reason": finish}]), Value::Null)));
    events.push(event(chunk(
        json!([]),
        json!({"prompt_tokens": usage.0, "completion_tokens": usage.1, "total_tokens": usage.0 + usage.1, "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}}),
    )));
    events.push("data: [DONE]\n\n".to_string());
    events
}

fn status(code: u16, reason: &'static str, headers: Vec<(&'static str, String)>, message: &str) -> Reply {
    Reply::Status {
        code,
        reason,
        headers,
        body: json!({"error": {"message": message, "type": "stub_error", "param": null, "code": null}}).to_string(),
    }
}

// ---------------------------------------------------------------- fixtures

fn demo() -> RegistryInputs {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/demo/working_case.yaml")).unwrap();
    RegistryInputs::from_case(&Case::parse(&text)).unwrap()
}

fn reference() -> Vec<GeneratedFile> {
    vec![GeneratedFile {
        path: "ref_pkg/models/farm.py".into(),
        contents: "class Farm:\n    TABLE = 'ref_farm'  # REFERENCE-MARKER\n".into(),
    }]
}

/// The files a well-behaved model would submit for register `i` of the demo.
fn files_for(inputs: &RegistryInputs, i: usize) -> Vec<GeneratedFile> {
    let register = &inputs.registers[i];
    register_paths(inputs, register)
        .into_iter()
        .map(|path| GeneratedFile {
            contents: format!("# {}\nclass {}:\n    TABLE = \"{}\"\n", path, register.class_name(), inputs.table_name(register)),
            path,
        })
        .collect()
}

fn files_arguments(files: &[GeneratedFile]) -> String {
    json!({"files": files}).to_string()
}

fn config(stub: &Stub) -> ChatConfig {
    let mut config = ChatConfig::new(&stub.url, "stub-model", KEY);
    config.timeout = Duration::from_secs(10);
    config.backoff_base = Duration::from_millis(20);
    config.price_input_per_mtok = 2.0;
    config.price_output_per_mtok = 8.0;
    config
}

/// A log collector for the `ProviderLog` callback.
#[derive(Default)]
struct Logs(Mutex<Vec<String>>);

impl Logs {
    fn all(&self) -> String {
        self.0.lock().unwrap().join("\n")
    }
}

fn generate(
    provider: &dyn CodeProvider,
    inputs: &RegistryInputs,
    i: usize,
    logs: &Logs,
) -> Result<(Vec<GeneratedFile>, u64, u64, f64), String> {
    let reference = reference();
    let request = RegisterRequest { inputs, register: &inputs.registers[i], reference: &reference };
    let log = |line: String| logs.0.lock().unwrap().push(line);
    let g = provider.generate_register(&request, &log)?;
    Ok((g.value, g.usage.prompt_tokens, g.usage.completion_tokens, g.usage.cost_usd))
}

fn assert_no_key(text: &str) {
    assert!(!text.contains(KEY) && !text.contains("Bearer"), "the key leaked: {text}");
}

// ---------------------------------------------------------------- tests

#[test]
fn each_register_is_one_streamed_call_whose_files_tokens_and_cost_are_returned() {
    let inputs = demo();
    let script_inputs = inputs.clone();
    let stub = Stub::start(move |n, _| Reply::Sse {
        events: tool_call_stream("submit_files", &files_arguments(&files_for(&script_inputs, n)), 7, (1000 + n as u64, 200)),
        chunked: true,
    });
    let provider = ChatProvider::new(config(&stub)).unwrap();
    assert_eq!(provider.describe(), format!("openai:stub-model at {}", stub.url.trim_start_matches("http://").trim_end_matches("/v1")));
    let logs = Logs::default();
    let mut total = (0, 0, 0.0);
    for i in 0..inputs.registers.len() {
        let (files, prompt, completion, cost) = generate(&provider, &inputs, i, &logs).unwrap();
        assert_eq!(files, files_for(&inputs, i), "register {i}");
        assert_eq!((prompt, completion), (1000 + i as u64, 200));
        let expected = ((1000 + i) as f64 * 2.0 + 200.0 * 8.0) / 1e6;
        assert!((cost - expected).abs() < 1e-12, "{cost} vs {expected}");
        total = (total.0 + prompt, total.1 + completion, total.2 + cost);
    }
    assert_eq!((total.0, total.1), (3003, 600));

    let requests = stub.requests();
    assert_eq!(requests.len(), inputs.registers.len(), "one call per Register");
    for (i, r) in requests.iter().enumerate() {
        let register = &inputs.registers[i];
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/v1/chat/completions"));
        assert_eq!(r.header("authorization"), Some(format!("Bearer {KEY}").as_str()));
        assert_eq!(r.body["model"], "stub-model");
        assert_eq!(r.body["stream"], true);
        assert_eq!(r.body["stream_options"]["include_usage"], true);
        assert_eq!(r.body["tool_choice"], json!({"type": "function", "function": {"name": "submit_files"}}));
        assert_eq!(r.body["tools"].as_array().unwrap().len(), 1);
        assert_eq!(r.body["tools"][0]["function"]["name"], "submit_files");
        assert_eq!(r.body["tools"][0]["function"]["parameters"]["properties"]["files"]["items"]["required"], json!(["path", "contents"]));
        let prompt = r.prompt();
        for needle in [inputs.table_name(register), register.class_name(), inputs.package(), "REFERENCE-MARKER".to_string()] {
            assert!(prompt.contains(&needle), "request {i} lacks {needle}:\n{prompt}");
        }
        for path in register_paths(&inputs, register) {
            assert!(prompt.contains(&path), "request {i} lacks {path}");
        }
        for column in &register.columns {
            assert!(prompt.contains(&format!("`{}`: {}", column.name, column.sql_type)), "request {i} lacks column {}", column.name);
        }
    }
    // The Households prompt states its constraints and id pattern.
    let households = requests[0].prompt();
    assert!(households.contains("NOT NULL") && households.contains("prefix \"HH\""), "{households}");
    assert_no_key(&logs.all());
}

#[test]
fn a_429_with_retry_after_is_retried_after_the_wait() {
    let inputs = demo();
    let arguments = files_arguments(&files_for(&inputs, 0));
    let stub = Stub::start(move |n, _| match n {
        0 => status(429, "Too Many Requests", vec![("Retry-After", "1".into())], "Rate limit reached for requests"),
        _ => Reply::Sse { events: tool_call_stream("submit_files", &arguments, 4, (50, 60)), chunked: false },
    });
    let mut config = config(&stub);
    config.backoff_base = Duration::from_millis(1); // the wait must come from Retry-After
    let provider = ChatProvider::new(config).unwrap();
    let logs = Logs::default();
    let (files, prompt, completion, _) = generate(&provider, &inputs, 0, &logs).unwrap();
    assert_eq!((files.len(), prompt, completion), (3, 50, 60));
    let requests = stub.requests();
    assert_eq!(requests.len(), 2);
    let waited = requests[1].at - requests[0].at;
    assert!(waited >= Duration::from_millis(950), "waited only {waited:?}");
    let log = logs.all();
    assert!(log.contains("attempt 1 of 5 failed: HTTP 429") && log.contains("retrying in 1.0 s (as Retry-After asks)"), "{log}");
    assert!(log.contains("Rate limit reached"), "{log}");
    assert_no_key(&log);
}

#[test]
fn repeated_500s_fall_back_to_the_second_provider() {
    let inputs = demo();
    let primary =
        Stub::start(|_, _| status(500, "Internal Server Error", vec![], "The server had an error while processing your request."));
    let arguments = files_arguments(&files_for(&inputs, 1));
    let secondary =
        Stub::start(move |_, _| Reply::Sse { events: tool_call_stream("submit_files", &arguments, 5, (70, 30)), chunked: true });
    let mut primary_config = config(&primary);
    primary_config.max_retries = 2;
    let mut fallback_config = config(&secondary);
    fallback_config.model = "fallback-model".into();
    let provider = WithFallback {
        primary: Box::new(ChatProvider::new(primary_config).unwrap()),
        fallback: Box::new(ChatProvider::new(fallback_config).unwrap()),
    };
    let logs = Logs::default();
    let (files, prompt, completion, _) = generate(&provider, &inputs, 1, &logs).unwrap();
    assert_eq!(files, files_for(&inputs, 1));
    assert_eq!((prompt, completion), (70, 30));
    assert_eq!(primary.requests().len(), 3, "1 attempt + 2 retries");
    assert_eq!(secondary.requests().len(), 1);
    assert_eq!(secondary.requests()[0].body["model"], "fallback-model");
    let log = logs.all();
    assert!(log.contains("attempt 1 of 3 failed: HTTP 500") && log.contains("attempt 2 of 3 failed"), "{log}");
    assert!(log.contains("retrying in 20 ms (backoff)") && log.contains("retrying in 40 ms (backoff)"), "{log}");
    assert!(
        log.contains("failed after 3 attempt(s)") && log.contains("(stub_error); trying the fallback provider openai:fallback-model"),
        "{log}"
    );
    // Backoff doubles: 20 ms then 40 ms between the primary's attempts.
    let r = primary.requests();
    assert!(r[2].at - r[1].at >= Duration::from_millis(40) && r[1].at - r[0].at >= Duration::from_millis(20));
}

#[test]
fn when_the_fallback_fails_too_the_error_names_both() {
    let inputs = demo();
    let primary = Stub::start(|_, _| status(503, "Service Unavailable", vec![], "upstream overloaded"));
    let secondary = Stub::start(|_, _| status(404, "Not Found", vec![], "The model `nope` does not exist"));
    let mut primary_config = config(&primary);
    primary_config.max_retries = 1;
    let mut fallback_config = config(&secondary);
    fallback_config.model = "nope".into();
    let provider = WithFallback {
        primary: Box::new(ChatProvider::new(primary_config).unwrap()),
        fallback: Box::new(ChatProvider::new(fallback_config).unwrap()),
    };
    let logs = Logs::default();
    let error = generate(&provider, &inputs, 0, &logs).unwrap_err();
    assert!(error.starts_with("both code-generation providers failed. First openai:stub-model"), "{error}");
    assert!(error.contains("Then the fallback openai:nope"), "{error}");
    assert!(error.contains("openai:stub-model") && error.contains("HTTP 503 Service Unavailable: upstream overloaded"), "{error}");
    assert!(error.contains("failed after 2 attempt(s)"), "{error}");
    assert!(error.contains("openai:nope") && error.contains("HTTP 404 Not Found: The model `nope` does not exist"), "{error}");
    assert!(error.contains("check the base URL and the model"), "{error}");
    assert_eq!((primary.requests().len(), secondary.requests().len()), (2, 1), "a 404 is not retried");
    assert_no_key(&error);
}

#[test]
fn a_server_slower_than_the_timeout_fails_clearly_after_retrying() {
    let inputs = demo();
    // The first request never answers; the second sends the start of a stream, then stalls.
    let stub = Stub::start(|n, _| match n {
        0 => Reply::Hang(Duration::from_secs(4)),
        _ => Reply::Stall {
            events: tool_call_stream("submit_files", "{\"files\": []}", 3, (1, 1))[..2].to_vec(),
            sleep: Duration::from_secs(4),
        },
    });
    let mut config = config(&stub);
    config.timeout = Duration::from_millis(600);
    config.max_retries = 1;
    let provider = ChatProvider::new(config).unwrap();
    let logs = Logs::default();
    let started = Instant::now();
    let error = generate(&provider, &inputs, 0, &logs).unwrap_err();
    let took = started.elapsed();
    assert_eq!(stub.requests().len(), 2, "a timeout is retried");
    assert!(took < Duration::from_secs(3), "the timeout did not apply: {took:?}");
    assert!(took >= Duration::from_millis(1200), "two attempts of 0.6 s each: {took:?}");
    assert!(logs.all().contains("attempt 1 of 2 failed: timed out after 600 ms waiting for the response"), "{}", logs.all());
    assert!(error.contains("failed after 2 attempt(s)") && error.contains("timed out"), "{error}");
    assert!(error.contains("while streaming"), "the second attempt stalled mid-stream: {error}");
}

#[test]
fn a_malformed_body_fails_without_retrying() {
    let inputs = demo();
    let stub = Stub::start(|_, _| Reply::Sse {
        events: vec![
            event(chunk(json!([{"index": 0, "delta": {"role": "assistant"}, "finish_reason": null}]), Value::Null)),
            "data: {\"choices\": [{\"index\": 0, \"delta\": {\"tool_calls\": [\n\n".to_string(),
        ],
        chunked: false,
    });
    let provider = ChatProvider::new(config(&stub)).unwrap();
    let error = generate(&provider, &inputs, 0, &Logs::default()).unwrap_err();
    assert!(error.contains("malformed response") && error.contains("is not JSON"), "{error}");
    assert_eq!(stub.requests().len(), 1, "a malformed body is not retried");
}

#[test]
fn an_answer_without_the_tool_call_or_with_broken_arguments_fails_clearly() {
    let inputs = demo();
    let stub = Stub::start(|n, _| {
        let events = match n {
            0 => vec![
                event(chunk(
                    json!([{"index": 0, "delta": {"role": "assistant", "content": "I cannot "}, "finish_reason": null}]),
                    Value::Null,
                )),
                event(chunk(json!([{"index": 0, "delta": {"content": "write files."}, "finish_reason": "stop"}]), Value::Null)),
                event(chunk(json!([]), json!({"prompt_tokens": 900, "completion_tokens": 4, "total_tokens": 904}))),
                "data: [DONE]\n\n".to_string(),
            ],
            _ => tool_call_stream_ending(
                "submit_files",
                "{\"files\": [{\"path\": \"mosd_aurelia_households/models/househ",
                3,
                (900, 4096),
                "length",
            ),
        };
        Reply::Sse { events, chunked: true }
    });
    let provider = ChatProvider::new(config(&stub)).unwrap();
    let logs = Logs::default();
    let error = generate(&provider, &inputs, 0, &logs).unwrap_err();
    assert!(error.contains("no `submit_files` tool call") && error.contains("I cannot write files."), "{error}");
    assert!(logs.all().contains("the unusable answer used 904 tokens"), "{}", logs.all());
    let error = generate(&provider, &inputs, 0, &logs).unwrap_err();
    assert!(error.contains("not valid JSON") && error.contains("cut off"), "{error}");
    assert_eq!(stub.requests().len(), 2, "neither is retried");
}

#[test]
fn a_path_outside_the_package_is_rejected() {
    let inputs = demo();
    let package = inputs.package();
    let stub = Stub::start(move |n, _| {
        let path = if n == 0 { format!("{package}/../../etc/cron.d/x") } else { "other_pkg/models/household.py".to_string() };
        let arguments = json!({"files": [{"path": path, "contents": "x = 1\n"}]}).to_string();
        Reply::Sse { events: tool_call_stream("submit_files", &arguments, 2, (10, 10)), chunked: true }
    });
    let provider = ChatProvider::new(config(&stub)).unwrap();
    let error = generate(&provider, &inputs, 0, &Logs::default()).unwrap_err();
    assert!(error.contains("unsafe file path") && error.contains("cron.d"), "{error}");
    let error = generate(&provider, &inputs, 0, &Logs::default()).unwrap_err();
    assert!(
        error.contains("`other_pkg/models/household.py`, outside the package") && error.contains("mosd_aurelia_households/"),
        "{error}"
    );
}

#[test]
fn a_rejected_key_is_not_retried_and_never_echoed() {
    let inputs = demo();
    let stub = Stub::start(|_, r| {
        let echoed = r.header("authorization").unwrap_or("").to_string();
        status(401, "Unauthorized", vec![], &format!("Incorrect API key provided: {echoed}"))
    });
    let provider = ChatProvider::new(config(&stub)).unwrap();
    let logs = Logs::default();
    let error = generate(&provider, &inputs, 0, &logs).unwrap_err();
    assert!(error.contains("HTTP 401 Unauthorized") && error.contains("check the API key"), "{error}");
    assert!(error.contains("***"), "{error}");
    assert_no_key(&format!("{error}\n{}", logs.all()).replace("Bearer ***", "***"));
    assert_eq!(stub.requests().len(), 1);
}

#[test]
fn an_unreachable_server_is_retried_then_named() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut config = ChatConfig::new(&format!("http://127.0.0.1:{port}/v1"), "m", KEY);
    config.max_retries = 1;
    config.backoff_base = Duration::from_millis(10);
    let provider = ChatProvider::new(config).unwrap();
    let logs = Logs::default();
    let error = generate(&provider, &demo(), 0, &logs).unwrap_err();
    assert!(error.contains(&format!("cannot reach 127.0.0.1:{port}")) && error.contains("failed after 2 attempt(s)"), "{error}");
    assert!(logs.all().contains("attempt 1 of 2 failed: cannot reach"), "{}", logs.all());
}

#[test]
fn the_review_returns_critical_and_warning_findings() {
    let inputs = demo();
    let findings = json!({"findings": [
        {"severity": "critical", "file": "mosd_aurelia_households/models/household.py", "answer": "register_columns", "message": "column `district` is missing"},
        {"severity": "warning", "file": "mosd_aurelia_households/services/household.py", "answer": "attribute_constraints", "message": "default now() is applied in Python"}
    ]})
    .to_string();
    let stub =
        Stub::start(move |_, _| Reply::Sse { events: tool_call_stream("submit_findings", &findings, 6, (4000, 150)), chunked: true });
    let provider = ChatProvider::new(config(&stub)).unwrap();
    let files = files_for(&inputs, 0);
    let log = |_: String| {};
    let review = provider.review(&ReviewRequest { inputs: &inputs, files: &files }, &log).unwrap();
    assert_eq!(review.value.len(), 2);
    assert_eq!(review.value[0].severity, FindingSeverity::Critical);
    assert_eq!((review.value[0].answer.as_str(), review.value[0].message.as_str()), ("register_columns", "column `district` is missing"));
    assert_eq!(review.value[1].severity, FindingSeverity::Warning);
    assert_eq!(review.value[1].file, "mosd_aurelia_households/services/household.py");
    assert_eq!((review.usage.prompt_tokens, review.usage.completion_tokens), (4000, 150));
    let r = &stub.requests()[0];
    assert_eq!(r.body["tool_choice"]["function"]["name"], "submit_findings");
    assert_eq!(
        r.body["tools"][0]["function"]["parameters"]["properties"]["findings"]["items"]["properties"]["severity"]["enum"],
        json!(["critical", "warning"])
    );
    let prompt = r.prompt();
    assert!(prompt.contains(&files[0].path) && prompt.contains(&files[0].contents), "the files are in the prompt");
    for register in &inputs.registers {
        assert!(prompt.contains(&inputs.table_name(register)), "the answers of every table are in the prompt");
    }
}

#[test]
fn tokens_and_cost_reach_the_build_events() {
    let inputs = demo();
    let arguments = files_arguments(&files_for(&inputs, 0));
    let stub = Stub::start(move |_, _| Reply::Sse { events: tool_call_stream("submit_files", &arguments, 3, (1500, 500)), chunked: true });
    let provider = ChatProvider::new(config(&stub)).unwrap();
    let reference = reference();
    let request = RegisterRequest { inputs: &inputs, register: &inputs.registers[0], reference: &reference };
    let usage = provider.generate_register(&request, &|_| {}).unwrap().usage;
    assert_eq!(usage_message(&usage), "2000 tokens (1500 prompt + 500 completion), $0.0070");

    let dir = std::env::temp_dir().join(format!("playbook-chat-events-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("events.jsonl");
    let sink = EventSink::open(&path, "j1", 0, Redactor::default(), None).unwrap();
    sink.emit(EventKind::Log, usage_draft("generate_extension_files", 4, &provider.describe(), &usage));
    let events = read_events(&path, 0).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].tokens, Some(2000));
    assert_eq!(events[0].activity.as_deref(), Some("generate_extension_files"));
    let message = events[0].message.as_deref().unwrap();
    assert!(message.contains("openai:stub-model") && message.contains("$0.0070"), "{message}");
}

#[test]
fn the_environment_configures_the_provider_and_its_fallback() {
    let vars = [
        ("CODEGEN_BASE_URL", "http://127.0.0.1:9/v1"),
        ("CODEGEN_MODEL", "primary-model"),
        ("CODEGEN_API_KEY", KEY),
        ("CODEGEN_FALLBACK", "openai"),
        ("CODEGEN_FALLBACK_BASE_URL", "http://user:pw@127.0.0.1:10/v1"),
        ("CODEGEN_FALLBACK_MODEL", "second-model"),
    ];
    let lookup = |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string());
    let provider = openai_from_lookup(&lookup).unwrap();
    assert_eq!(provider.describe(), "openai:primary-model at 127.0.0.1:9 (fallback openai:second-model at 127.0.0.1:10)");
    let without = |name: &str| if name == "CODEGEN_FALLBACK" { None } else { lookup(name) };
    assert_eq!(openai_from_lookup(&without).unwrap().describe(), "openai:primary-model at 127.0.0.1:9");
    let unknown = |name: &str| if name == "CODEGEN_FALLBACK" { Some("gemini".to_string()) } else { lookup(name) };
    assert!(openai_from_lookup(&unknown).err().unwrap().contains("CODEGEN_FALLBACK=gemini: unknown provider"));
    let no_model = |name: &str| if name == "CODEGEN_FALLBACK_MODEL" { None } else { lookup(name) };
    assert!(openai_from_lookup(&no_model).err().unwrap().contains("CODEGEN_FALLBACK_MODEL is not set"));
}

#[test]
fn a_stream_cut_short_is_retried() {
    let inputs = demo();
    let arguments = files_arguments(&files_for(&inputs, 2));
    let stub = Stub::start(move |n, _| {
        let mut events = tool_call_stream("submit_files", &arguments, 6, (33, 44));
        if n == 0 {
            events.truncate(3); // the connection closes mid-answer: no finish_reason, no [DONE]
        }
        Reply::Sse { events, chunked: false }
    });
    let provider = ChatProvider::new(config(&stub)).unwrap();
    let logs = Logs::default();
    let (files, prompt, completion, _) = generate(&provider, &inputs, 2, &logs).unwrap();
    assert_eq!((files, prompt, completion), (files_for(&inputs, 2), 33, 44));
    assert_eq!(stub.requests().len(), 2);
    assert!(logs.all().contains("attempt 1 of 5 failed: the stream ended before the answer was complete"), "{}", logs.all());
}

#[test]
fn a_server_that_ignores_stream_true_is_read_as_one_json_answer() {
    let inputs = demo();
    let arguments = files_arguments(&files_for(&inputs, 0));
    let body = json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "stub-model",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": null,
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "submit_files", "arguments": arguments}}]}}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 22, "total_tokens": 33}
    })
    .to_string();
    let stub = Stub::start(move |_, _| Reply::Status { code: 200, reason: "OK", headers: vec![], body: body.clone() });
    let provider = ChatProvider::new(config(&stub)).unwrap();
    let (files, prompt, completion, _) = generate(&provider, &inputs, 0, &Logs::default()).unwrap();
    assert_eq!((files, prompt, completion), (files_for(&inputs, 0), 11, 22));
}
