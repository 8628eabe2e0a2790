//! The OpenAI-compatible chat-completions provider: one streamed call per Register answered
//! through the `submit_files` function tool, and one review call answered through
//! `submit_findings`. Retries with exponential backoff on 429, 5xx, timeouts and connection
//! errors (honouring `Retry-After`); the fallback provider is a separate wrapper
//! ([`super::fallback::WithFallback`]). See docs/handlers/chat-provider.md.

mod prompt;
mod sse;

pub use prompt::{SUBMIT_FILES, SUBMIT_FINDINGS, register_paths};

use super::{
    CodeProvider, GeneratedFile, Generation, ProviderLog, RegisterRequest, ReviewFinding, ReviewRequest, Usage, safe_relative_path,
};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde::Deserialize;
use serde_json::{Value, json};
use sse::{Completion, StreamError};
use std::io::{BufReader, Read};
use std::time::{Duration, Instant, SystemTime};

/// The settings of one chat-completions endpoint. Build it directly (tests) or from the
/// environment with [`ChatConfig::from_env`].
#[derive(Clone)]
pub struct ChatConfig {
    /// Up to and without `/chat/completions`: `https://api.openai.com/v1`.
    pub base_url: String,
    pub model: String,
    /// Sent as `Authorization: Bearer …`; empty for servers without keys.
    pub api_key: String,
    /// One request, from connecting to the end of the stream.
    pub timeout: Duration,
    /// Attempts after the first one.
    pub max_retries: u32,
    /// US dollars per million prompt tokens.
    pub price_input_per_mtok: f64,
    /// US dollars per million completion tokens.
    pub price_output_per_mtok: f64,
    /// The first backoff wait; it doubles at each retry.
    pub backoff_base: Duration,
    /// The longest wait between two attempts, `Retry-After` included.
    pub max_wait: Duration,
}

impl std::fmt::Debug for ChatConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &if self.api_key.is_empty() { "" } else { "***" })
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("price_input_per_mtok", &self.price_input_per_mtok)
            .field("price_output_per_mtok", &self.price_output_per_mtok)
            .finish_non_exhaustive()
    }
}

pub const DEFAULT_TIMEOUT_SECS: u64 = 120;
pub const DEFAULT_MAX_RETRIES: u32 = 4;
const DEFAULT_BACKOFF_BASE: Duration = Duration::from_secs(1);
const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(60);
/// Error bodies are read up to this many bytes and shown up to `SHOWN_ERROR_CHARS`.
const ERROR_BODY_LIMIT: u64 = 64 * 1024;
const SHOWN_ERROR_CHARS: usize = 300;
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

impl ChatConfig {
    /// The defaults: 120 s per request, 4 retries, backoff from 1 s, waits capped at 60 s, no prices.
    pub fn new(base_url: &str, model: &str, api_key: &str) -> ChatConfig {
        ChatConfig {
            base_url: base_url.trim().trim_end_matches('/').to_string(),
            model: model.trim().to_string(),
            api_key: api_key.trim().to_string(),
            timeout: Duration::from_secs(DEFAULT_TIMEOUT_SECS),
            max_retries: DEFAULT_MAX_RETRIES,
            price_input_per_mtok: 0.0,
            price_output_per_mtok: 0.0,
            backoff_base: DEFAULT_BACKOFF_BASE,
            max_wait: DEFAULT_MAX_WAIT,
        }
    }

    /// `<prefix>_BASE_URL`, `_MODEL`, `_API_KEY`, `_TIMEOUT_SECS`, `_MAX_RETRIES`,
    /// `_PRICE_INPUT_PER_MTOK`, `_PRICE_OUTPUT_PER_MTOK` from the process environment; prefix
    /// `CODEGEN` for the provider, `CODEGEN_FALLBACK` for an `openai` fallback.
    pub fn from_env(prefix: &str) -> Result<ChatConfig, String> {
        ChatConfig::from_lookup(prefix, &|name| std::env::var(name).ok())
    }

    /// As [`ChatConfig::from_env`], with variables from `lookup`. For the fallback prefix, the
    /// tuning settings (timeout, retries, prices) not set under it come from `CODEGEN_*`.
    pub fn from_lookup(prefix: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<ChatConfig, String> {
        let get = |suffix: &str| lookup(&format!("{prefix}_{suffix}")).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let tuned = |suffix: &str| {
            get(suffix).map(|v| (format!("{prefix}_{suffix}"), v)).or_else(|| {
                (prefix != "CODEGEN")
                    .then(|| lookup(&format!("CODEGEN_{suffix}")).map(|v| (format!("CODEGEN_{suffix}"), v.trim().to_string())))?
                    .filter(|(_, v)| !v.is_empty())
            })
        };
        let base_url = get("BASE_URL").ok_or_else(|| format!("{prefix}_BASE_URL is not set (e.g. https://api.openai.com/v1)"))?;
        let model = get("MODEL").ok_or_else(|| format!("{prefix}_MODEL is not set (e.g. gpt-4.1-mini)"))?;
        let mut config = ChatConfig::new(&base_url, &model, &get("API_KEY").unwrap_or_default());
        if let Some((name, v)) = tuned("TIMEOUT_SECS") {
            let secs: f64 = v
                .parse()
                .ok()
                .filter(|s: &f64| *s > 0.0 && s.is_finite())
                .ok_or_else(|| format!("{name}={v}: expected a positive number of seconds"))?;
            config.timeout = Duration::from_secs_f64(secs);
        }
        if let Some((name, v)) = tuned("MAX_RETRIES") {
            config.max_retries = v.parse().map_err(|_| format!("{name}={v}: expected a whole number ≥ 0"))?;
        }
        for (suffix, slot) in
            [("PRICE_INPUT_PER_MTOK", &mut config.price_input_per_mtok), ("PRICE_OUTPUT_PER_MTOK", &mut config.price_output_per_mtok)]
        {
            if let Some((name, v)) = tuned(suffix) {
                *slot = v
                    .parse()
                    .ok()
                    .filter(|p: &f64| *p >= 0.0 && p.is_finite())
                    .ok_or_else(|| format!("{name}={v}: expected US dollars per million tokens, e.g. 0.40"))?;
            }
        }
        config.validate(prefix)?;
        Ok(config)
    }

    fn validate(&self, prefix: &str) -> Result<(), String> {
        let url = reqwest::Url::parse(&self.base_url).map_err(|e| format!("{prefix}_BASE_URL is not a URL ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(format!("{prefix}_BASE_URL must be an http(s) URL such as https://api.openai.com/v1"));
        }
        if self.model.is_empty() {
            return Err(format!("{prefix}_MODEL is empty"));
        }
        Ok(())
    }

    /// `host[:port]` of the base URL (never its credentials or path).
    fn host(&self) -> String {
        match reqwest::Url::parse(&self.base_url) {
            Ok(url) => match (url.host_str(), url.port()) {
                (Some(host), Some(port)) => format!("{host}:{port}"),
                (Some(host), None) => host.to_string(),
                _ => "?".to_string(),
            },
            Err(_) => "?".to_string(),
        }
    }

    /// The cost of a call at the configured prices.
    pub fn usage(&self, prompt_tokens: u64, completion_tokens: u64) -> Usage {
        Usage {
            prompt_tokens,
            completion_tokens,
            cost_usd: (prompt_tokens as f64 * self.price_input_per_mtok + completion_tokens as f64 * self.price_output_per_mtok)
                / 1_000_000.0,
        }
    }
}

/// The chat-completions provider.
pub struct ChatProvider {
    config: ChatConfig,
    client: reqwest::blocking::Client,
}

/// How one attempt failed.
enum AttemptError {
    /// Worth another attempt, after `retry_after` when the server said so.
    Retryable {
        message: String,
        retry_after: Option<Duration>,
    },
    Fatal(String),
}

impl ChatProvider {
    pub fn new(config: ChatConfig) -> Result<ChatProvider, String> {
        config.validate("the chat provider's base URL")?;
        let client = reqwest::blocking::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(30)))
            .user_agent(concat!("playbook-engine/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot set up the HTTP client of the chat provider: {e}"))?;
        Ok(ChatProvider { config, client })
    }

    pub fn config(&self) -> &ChatConfig {
        &self.config
    }

    fn endpoint(&self) -> String {
        format!("{}/chat/completions", self.config.base_url)
    }

    fn request_body(&self, messages: Value, tool: Value, function: &str) -> Value {
        json!({
            "model": self.config.model,
            "messages": messages,
            "stream": true,
            "stream_options": {"include_usage": true},
            "tools": [tool],
            "tool_choice": prompt::tool_choice(function),
        })
    }

    /// The key never leaves through a message, even when a server echoes it.
    fn redact(&self, text: &str) -> String {
        if self.config.api_key.len() >= 4 { text.replace(&self.config.api_key, "***") } else { text.to_string() }
    }

    /// Call the endpoint until an attempt succeeds, a fatal error, or retries run out; then
    /// parse the function's arguments with `parse`.
    fn call<T>(
        &self,
        what: &str,
        body: &Value,
        function: &str,
        log: ProviderLog<'_>,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Generation<T>, String> {
        let attempts = self.config.max_retries.saturating_add(1);
        let started = Instant::now();
        for attempt in 1..=attempts {
            match self.attempt(what, body, log) {
                Ok(completion) => {
                    let usage = completion.usage.map(|u| self.config.usage(u.prompt_tokens, u.completion_tokens)).unwrap_or_default();
                    let arguments = match tool_arguments(&completion, function) {
                        Ok(arguments) => arguments,
                        Err(e) => return Err(self.fail(what, &e, usage, log)),
                    };
                    return match parse(arguments) {
                        Ok(value) => {
                            log(format!(
                                "{}: {what}: answered in {:.1} s ({} prompt + {} completion tokens)",
                                self.describe(),
                                started.elapsed().as_secs_f64(),
                                usage.prompt_tokens,
                                usage.completion_tokens
                            ));
                            Ok(Generation { value, usage })
                        }
                        Err(e) => {
                            let cut = if completion.finish_reason.as_deref() == Some("length") {
                                " (finish_reason `length`: the answer was cut off at the model's output limit)"
                            } else {
                                ""
                            };
                            Err(self.fail(what, &format!("{e}{cut}"), usage, log))
                        }
                    };
                }
                Err(AttemptError::Fatal(message)) => return Err(format!("{}: {what}: {message}", self.describe())),
                Err(AttemptError::Retryable { message, retry_after }) => {
                    if attempt == attempts {
                        return Err(format!("{}: {what}: failed after {attempts} attempt(s); the last: {message}", self.describe()));
                    }
                    let (wait, why) = match retry_after {
                        Some(after) => (after.min(self.config.max_wait), "as Retry-After asks"),
                        None => (self.backoff(attempt), "backoff"),
                    };
                    log(format!(
                        "{}: {what}: attempt {attempt} of {attempts} failed: {message}; retrying in {} ({why})",
                        self.describe(),
                        span(wait)
                    ));
                    std::thread::sleep(wait);
                }
            }
        }
        unreachable!("the loop returns on its last attempt")
    }

    /// A failed answer still cost tokens: say so in the log, then the error.
    fn fail(&self, what: &str, message: &str, usage: Usage, log: ProviderLog<'_>) -> String {
        if usage.total_tokens() > 0 {
            log(format!("{}: {what}: the unusable answer used {}", self.describe(), super::usage_message(&usage)));
        }
        format!("{}: {what}: {message}", self.describe())
    }

    /// `backoff_base × 2^(attempt − 1)`, capped at `max_wait`.
    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(20));
        self.config.backoff_base.saturating_mul(factor).min(self.config.max_wait)
    }

    /// One HTTP request and its whole stream.
    fn attempt(&self, what: &str, body: &Value, log: ProviderLog<'_>) -> Result<Completion, AttemptError> {
        let mut request = self.client.post(self.endpoint()).timeout(self.config.timeout).header("Accept", "text/event-stream").json(body);
        if !self.config.api_key.is_empty() {
            request = request.bearer_auth(&self.config.api_key);
        }
        let mut response = request.send().map_err(|e| self.transport_error(&e))?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = retry_after(response.headers(), SystemTime::now());
            let mut text = String::new();
            let _ = response.take(ERROR_BODY_LIMIT).read_to_string(&mut text);
            let detail = match serde_json::from_str::<Value>(&text).ok().and_then(|v| v.get("error").cloned()) {
                Some(error) => sse::error_text(&error),
                None => text.trim().to_string(),
            };
            let detail: String = self.redact(&detail).chars().take(SHOWN_ERROR_CHARS).collect();
            let message = format!("HTTP {status}{}{detail}", if detail.is_empty() { "" } else { ": " });
            return if status.as_u16() == 429 || status.as_u16() == 408 || status.is_server_error() {
                Err(AttemptError::Retryable { message, retry_after })
            } else {
                let hint = match status.as_u16() {
                    401 | 403 => " (check the API key)",
                    404 => " (check the base URL and the model)",
                    _ => "",
                };
                Err(AttemptError::Fatal(format!("{message}{hint}")))
            };
        }
        let is_stream = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|v| v.to_ascii_lowercase().starts_with("text/event-stream"));
        let result = if is_stream {
            let mut last_progress = Instant::now();
            let mut progress = |chars: usize| {
                if last_progress.elapsed() >= PROGRESS_EVERY {
                    last_progress = Instant::now();
                    log(format!("{}: {what}: streaming, {chars} characters of arguments so far", self.describe()));
                }
            };
            sse::read_stream(BufReader::new(response), &mut progress)
        } else {
            // A server that ignored `stream: true` and sent one JSON body.
            let mut text = String::new();
            match response.read_to_string(&mut text) {
                Ok(_) => sse::read_whole(&text),
                Err(e) => Err(StreamError::Io {
                    timed_out: e.kind() == std::io::ErrorKind::TimedOut,
                    message: format!("reading the body failed: {e}"),
                }),
            }
        };
        match result {
            Ok(completion) if completion.done || completion.finish_reason.is_some() => Ok(completion),
            Ok(_) => Err(AttemptError::Retryable {
                message: "the stream ended before the answer was complete (no finish_reason, no [DONE])".into(),
                retry_after: None,
            }),
            Err(StreamError::Io { message, timed_out: true }) => Err(AttemptError::Retryable {
                message: format!("timed out after {} while streaming ({message})", span(self.config.timeout)),
                retry_after: None,
            }),
            Err(StreamError::Io { message, .. }) => Err(AttemptError::Retryable { message: self.redact(&message), retry_after: None }),
            Err(StreamError::Malformed(message)) => Err(AttemptError::Fatal(format!("malformed response: {}", self.redact(&message)))),
        }
    }

    fn transport_error(&self, e: &reqwest::Error) -> AttemptError {
        // reqwest's message names the URL; the base URL may carry credentials, so drop it.
        let detail = self.redact(&error_chain(e));
        if e.is_timeout() {
            AttemptError::Retryable {
                message: format!("timed out after {} waiting for the response ({detail})", span(self.config.timeout)),
                retry_after: None,
            }
        } else if e.is_connect() || e.is_request() {
            AttemptError::Retryable { message: format!("cannot reach {}: {detail}", self.config.host()), retry_after: None }
        } else {
            AttemptError::Fatal(format!("the request failed: {detail}"))
        }
    }
}

/// `20 ms`, `1.0 s`, `120 s`.
fn span(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else if d < Duration::from_secs(10) {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        format!("{:.0} s", d.as_secs_f64())
    }
}

/// reqwest's message and its causes (`error sending request: … connection refused`), without
/// the URL: the base URL may carry credentials.
fn error_chain(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(&format!(" for url ({url})"), "").replace(url.as_str(), "<endpoint>");
    }
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

impl CodeProvider for ChatProvider {
    fn describe(&self) -> String {
        format!("openai:{} at {}", self.config.model, self.config.host())
    }

    fn generate_register(&self, request: &RegisterRequest<'_>, log: ProviderLog<'_>) -> Result<Generation<Vec<GeneratedFile>>, String> {
        let what = format!("files of {}", request.register.name);
        let body = self.request_body(prompt::register_messages(request), prompt::submit_files_tool(), SUBMIT_FILES);
        log(format!("{}: asking for the {what}", self.describe()));
        let package = request.inputs.package();
        let required = register_paths(request.inputs, request.register);
        self.call(&what, &body, SUBMIT_FILES, log, |arguments| parse_files(arguments, &package, &required))
    }

    fn review(&self, request: &ReviewRequest<'_>, log: ProviderLog<'_>) -> Result<Generation<Vec<ReviewFinding>>, String> {
        let what = "review".to_string();
        let body = self.request_body(prompt::review_messages(request), prompt::submit_findings_tool(), SUBMIT_FINDINGS);
        log(format!("{}: asking for a review of {} file(s)", self.describe(), request.files.len()));
        self.call(&what, &body, SUBMIT_FINDINGS, log, parse_findings)
    }
}

/// The arguments of the function the model was told to call.
fn tool_arguments<'a>(completion: &'a Completion, function: &str) -> Result<&'a str, String> {
    let call = completion.tool_calls.values().find(|c| c.name == function).or_else(|| {
        // A server that streams the arguments without repeating the name: the only call.
        (completion.tool_calls.len() == 1).then(|| completion.tool_calls.values().next()).flatten().filter(|c| c.name.is_empty())
    });
    match call {
        Some(call) if !call.arguments.trim().is_empty() => Ok(&call.arguments),
        Some(_) => Err(format!("the `{function}` tool call has no arguments")),
        None => {
            let others: Vec<&str> = completion.tool_calls.values().map(|c| c.name.as_str()).collect();
            let text: String = completion.content.trim().chars().take(200).collect();
            let mut message = format!("the response has no `{function}` tool call");
            if !others.is_empty() {
                message.push_str(&format!(" (it called {})", others.join(", ")));
            }
            if !text.is_empty() {
                message.push_str(&format!(" (it wrote: {text:?})"));
            }
            if let Some(reason) = &completion.finish_reason {
                message.push_str(&format!(" (finish_reason `{reason}`)"));
            }
            Err(message)
        }
    }
}

#[derive(Deserialize)]
struct SubmitFiles {
    files: Vec<GeneratedFile>,
}

#[derive(Deserialize)]
struct SubmitFindings {
    findings: Vec<ReviewFinding>,
}

/// `submit_files` arguments, every path checked: safe, inside the package, no duplicates,
/// and the three required files present.
fn parse_files(arguments: &str, package: &str, required: &[String]) -> Result<Vec<GeneratedFile>, String> {
    let parsed: SubmitFiles = serde_json::from_str(arguments)
        .map_err(|e| format!("the `{SUBMIT_FILES}` arguments are not valid JSON of the tool's schema: {e}"))?;
    let mut files: Vec<GeneratedFile> = Vec::new();
    for file in parsed.files {
        let clean = safe_relative_path(&file.path).map_err(|e| format!("the model returned an {e}"))?;
        let clean = clean.to_str().ok_or_else(|| format!("the model returned a path that is not UTF-8: `{}`", file.path))?.to_string();
        if !clean.starts_with(&format!("{package}/")) {
            return Err(format!("the model returned `{}`, outside the package: every path must start with `{package}/`", file.path));
        }
        if files.iter().any(|f| f.path == clean) {
            return Err(format!("the model returned `{clean}` twice"));
        }
        files.push(GeneratedFile { path: clean, contents: file.contents });
    }
    let missing: Vec<&str> = required.iter().filter(|r| !files.iter().any(|f| &f.path == *r)).map(String::as_str).collect();
    if !missing.is_empty() {
        let got: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        return Err(format!(
            "the model did not return {} (it returned: {})",
            missing.join(", "),
            if got.is_empty() { "nothing".into() } else { got.join(", ") }
        ));
    }
    Ok(files)
}

fn parse_findings(arguments: &str) -> Result<Vec<ReviewFinding>, String> {
    let parsed: SubmitFindings = serde_json::from_str(arguments)
        .map_err(|e| format!("the `{SUBMIT_FINDINGS}` arguments are not valid JSON of the tool's schema: {e}"))?;
    Ok(parsed.findings)
}

/// `Retry-After` (seconds, or an HTTP date) or `retry-after-ms`, as a wait from `now`.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if let Some(ms) = headers.get("retry-after-ms").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(1e9)));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_reads_seconds_dates_and_milliseconds() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(3)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("Wed, 21 Oct 2015 07:28:07 GMT"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(7)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("Wed, 21 Oct 2015 07:27:00 GMT"));
        assert_eq!(retry_after(&h, now), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h, now), None);
        h.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_millis(250)));
    }

    #[test]
    fn env_settings_are_read_and_checked() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        };
        let lookup = vars(&[
            ("CODEGEN_BASE_URL", "https://api.example.test/v1/"),
            ("CODEGEN_MODEL", "m1"),
            ("CODEGEN_API_KEY", "sk-secret"),
            ("CODEGEN_TIMEOUT_SECS", "7"),
            ("CODEGEN_MAX_RETRIES", "2"),
            ("CODEGEN_PRICE_INPUT_PER_MTOK", "0.4"),
            ("CODEGEN_FALLBACK_BASE_URL", "http://127.0.0.1:9/v1"),
            ("CODEGEN_FALLBACK_MODEL", "m2"),
            ("CODEGEN_FALLBACK_MAX_RETRIES", "0"),
        ]);
        let c = ChatConfig::from_lookup("CODEGEN", &lookup).unwrap();
        assert_eq!(
            (c.base_url.as_str(), c.model.as_str(), c.timeout, c.max_retries),
            ("https://api.example.test/v1", "m1", Duration::from_secs(7), 2)
        );
        assert!(!format!("{c:?}").contains("sk-secret"));
        let f = ChatConfig::from_lookup("CODEGEN_FALLBACK", &lookup).unwrap();
        assert_eq!(
            (f.model.as_str(), f.timeout, f.max_retries, f.price_input_per_mtok, f.api_key.as_str()),
            ("m2", Duration::from_secs(7), 0, 0.4, "")
        );
        assert!(ChatConfig::from_lookup("CODEGEN", &vars(&[("CODEGEN_MODEL", "m")])).unwrap_err().contains("CODEGEN_BASE_URL is not set"));
        let bad = vars(&[("CODEGEN_BASE_URL", "ftp://x"), ("CODEGEN_MODEL", "m")]);
        assert!(ChatConfig::from_lookup("CODEGEN", &bad).unwrap_err().contains("http(s)"));
        let bad = vars(&[("CODEGEN_BASE_URL", "http://x"), ("CODEGEN_MODEL", "m"), ("CODEGEN_MAX_RETRIES", "-1")]);
        assert!(ChatConfig::from_lookup("CODEGEN", &bad).unwrap_err().contains("CODEGEN_MAX_RETRIES=-1"));
    }

    #[test]
    fn cost_follows_the_prices() {
        let mut c = ChatConfig::new("http://x/v1", "m", "");
        c.price_input_per_mtok = 2.0;
        c.price_output_per_mtok = 8.0;
        let u = c.usage(1_500, 500);
        assert!((u.cost_usd - 0.007).abs() < 1e-12, "{}", u.cost_usd);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let mut c = ChatConfig::new("http://x/v1", "m", "");
        c.backoff_base = Duration::from_millis(500);
        c.max_wait = Duration::from_secs(3);
        let p = ChatProvider::new(c).unwrap();
        let waits: Vec<u128> = (1..=5).map(|a| p.backoff(a).as_millis()).collect();
        assert_eq!(waits, [500, 1000, 2000, 3000, 3000]);
    }

    #[test]
    fn file_paths_must_stay_in_the_package() {
        let required = ["p/models/a.py".to_string()];
        let ok = parse_files(r#"{"files":[{"path":"./p/models/a.py","contents":"x"}]}"#, "p", &required).unwrap();
        assert_eq!(ok[0].path, "p/models/a.py");
        for (args, expect) in [
            (r#"{"files":[{"path":"../p/models/a.py","contents":""}]}"#, "unsafe file path"),
            (r#"{"files":[{"path":"q/x.py","contents":""}]}"#, "outside the package"),
            (r#"{"files":[{"path":"p2/x.py","contents":""}]}"#, "outside the package"),
            (r#"{"files":[{"path":"p/other.py","contents":""}]}"#, "did not return p/models/a.py"),
            (r#"{"files":[{"path":"p/models/a.py","contents":""},{"path":"p/models/a.py","contents":""}]}"#, "twice"),
            (r#"{"files":[{"path":"p/models/a.py"}]}"#, "missing field `contents`"),
            (r#"{"files": ["#, "not valid JSON"),
        ] {
            let e = parse_files(args, "p", &required).unwrap_err();
            assert!(e.contains(expect), "{args}: {e}");
        }
    }
}
