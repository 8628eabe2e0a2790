//! The chat-completions stream: Server-Sent Events whose `data:` fields are JSON chunks
//! (`chat.completion.chunk`), ended by `data: [DONE]`. Tool calls arrive as
//! `choices[0].delta.tool_calls[]` fragments keyed by `index` (the first one carries `id`
//! and `function.name`, the rest pieces of `function.arguments`); with
//! `stream_options.include_usage` a last chunk with empty `choices` carries `usage`.

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::BufRead;

/// One tool call put back together from its fragments.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

/// Token counts as the server reported them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RawUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// Everything a finished stream said.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Completion {
    /// By the `index` the server gave them.
    pub tool_calls: BTreeMap<u64, ToolCall>,
    /// Plain text the model wrote besides (or instead of) calling the tool.
    pub content: String,
    pub finish_reason: Option<String>,
    pub usage: Option<RawUsage>,
    /// `data: [DONE]` was seen.
    pub done: bool,
}

/// Why a stream could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamError {
    /// Reading the body failed (connection reset, timeout): worth another attempt.
    Io { message: String, timed_out: bool },
    /// The body is not the wire format (not JSON, an `error` object): another attempt would
    /// most likely get the same answer.
    Malformed(String),
}

/// Read a whole event stream. `progress` is called with the number of argument characters
/// received so far after each chunk (for throttled progress logs).
pub fn read_stream(reader: impl BufRead, progress: &mut dyn FnMut(usize)) -> Result<Completion, StreamError> {
    let mut completion = Completion::default();
    let mut data = String::new();
    let mut has_data = false;
    let mut line_no = 0usize;
    for line in reader.split(b'\n') {
        let line = line.map_err(|e| StreamError::Io {
            timed_out: e.kind() == std::io::ErrorKind::TimedOut || is_timeout(&e),
            message: format!("reading the event stream failed: {e}"),
        })?;
        line_no += 1;
        let line =
            String::from_utf8(line).map_err(|_| StreamError::Malformed(format!("line {line_no} of the event stream is not UTF-8")))?;
        let line = line.strip_suffix('\r').unwrap_or(&line);
        if line.is_empty() {
            // End of one event: dispatch its data.
            if has_data {
                if dispatch(&mut completion, &data, line_no)? {
                    return Ok(completion);
                }
                progress(completion.tool_calls.values().map(|c| c.arguments.len()).sum());
            }
            data.clear();
            has_data = false;
            continue;
        }
        if line.starts_with(':') {
            continue; // a comment (keep-alive)
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "data" => {
                if has_data {
                    data.push('\n');
                }
                data.push_str(value);
                has_data = true;
            }
            "event" | "id" | "retry" => {}
            _ => {
                let shown: String = line.chars().take(120).collect();
                return Err(StreamError::Malformed(format!("line {line_no} of the event stream is not an SSE field: `{shown}`")));
            }
        }
    }
    // A stream may end without a blank line after its last event.
    if has_data && dispatch(&mut completion, &data, line_no)? {
        return Ok(completion);
    }
    Ok(completion)
}

/// Fold one event's data into the completion; true on `[DONE]`.
fn dispatch(completion: &mut Completion, data: &str, line_no: usize) -> Result<bool, StreamError> {
    let data = data.trim();
    if data == "[DONE]" {
        completion.done = true;
        return Ok(true);
    }
    let chunk: Value = serde_json::from_str(data).map_err(|e| {
        let shown: String = data.chars().take(120).collect();
        StreamError::Malformed(format!("the event ending at line {line_no} is not JSON ({e}): `{shown}`"))
    })?;
    if let Some(error) = chunk.get("error") {
        return Err(StreamError::Malformed(format!("the server reported an error in the stream: {}", error_text(error))));
    }
    if !chunk.is_object() {
        return Err(StreamError::Malformed(format!("the event ending at line {line_no} is not a JSON object")));
    }
    if let Some(usage) = chunk.get("usage").filter(|u| !u.is_null()) {
        completion.usage = Some(parse_usage(usage));
    }
    let Some(choices) = chunk.get("choices") else { return Ok(false) };
    let choices = choices
        .as_array()
        .ok_or_else(|| StreamError::Malformed(format!("the event ending at line {line_no} has `choices` that is not a list")))?;
    for choice in choices {
        // One answer is asked for (n = 1); ignore any other.
        if choice.get("index").and_then(Value::as_u64).unwrap_or(0) != 0 {
            continue;
        }
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            completion.finish_reason = Some(reason.to_string());
        }
        let Some(delta) = choice.get("delta").or_else(|| choice.get("message")) else { continue };
        if let Some(text) = delta.get("content").and_then(Value::as_str) {
            completion.content.push_str(text);
        }
        merge_tool_calls(completion, delta.get("tool_calls"), line_no)?;
    }
    Ok(false)
}

fn merge_tool_calls(completion: &mut Completion, calls: Option<&Value>, line_no: usize) -> Result<(), StreamError> {
    let Some(calls) = calls.filter(|c| !c.is_null()) else { return Ok(()) };
    let calls = calls
        .as_array()
        .ok_or_else(|| StreamError::Malformed(format!("the event ending at line {line_no} has `tool_calls` that is not a list")))?;
    for (position, call) in calls.iter().enumerate() {
        let index = call.get("index").and_then(Value::as_u64).unwrap_or(position as u64);
        let entry = completion.tool_calls.entry(index).or_default();
        if let Some(id) = call.get("id").and_then(Value::as_str) {
            entry.id = id.to_string();
        }
        if let Some(function) = call.get("function") {
            if let Some(name) = function.get("name").and_then(Value::as_str) {
                // Sent once as a rule; some servers repeat it in every fragment.
                if entry.name != name {
                    entry.name.push_str(name);
                }
            }
            match function.get("arguments") {
                Some(Value::String(piece)) => entry.arguments.push_str(piece),
                // A non-streaming style object instead of text.
                Some(object @ Value::Object(_)) => entry.arguments.push_str(&object.to_string()),
                _ => {}
            }
        }
    }
    Ok(())
}

/// A whole (non-streamed) `chat.completion` body, for servers that ignore `stream: true`.
pub fn read_whole(body: &str) -> Result<Completion, StreamError> {
    let mut completion = Completion { done: true, ..Completion::default() };
    dispatch(&mut completion, body, 1)?;
    Ok(completion)
}

pub fn parse_usage(usage: &Value) -> RawUsage {
    RawUsage {
        prompt_tokens: usage.get("prompt_tokens").and_then(Value::as_u64).unwrap_or(0),
        completion_tokens: usage.get("completion_tokens").and_then(Value::as_u64).unwrap_or(0),
    }
}

/// `{"message": …, "type": …, "code": …}` as one line.
pub fn error_text(error: &Value) -> String {
    match error {
        Value::String(s) => s.clone(),
        Value::Object(map) => {
            let message = map.get("message").and_then(Value::as_str).unwrap_or("(no message)");
            let kind =
                map.get("type").or_else(|| map.get("code")).and_then(|v| v.as_str().map(str::to_string).or_else(|| Some(v.to_string())));
            match kind {
                Some(kind) if kind != "null" => format!("{message} ({kind})"),
                _ => message.to_string(),
            }
        }
        other => other.to_string(),
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = e.get_ref().map(|inner| inner as &(dyn std::error::Error + 'static));
    while let Some(err) = source {
        if let Some(reqwest_error) = err.downcast_ref::<reqwest::Error>()
            && reqwest_error.is_timeout()
        {
            return true;
        }
        if err.to_string().contains("timed out") {
            return true;
        }
        source = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Completion, StreamError> {
        read_stream(std::io::Cursor::new(text.as_bytes()), &mut |_| {})
    }

    #[test]
    fn fragments_are_joined_by_index_and_usage_is_read() {
        let body = concat!(
            ": keep-alive\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"submit_files\",\"arguments\":\"\"}}]}}]}\r\n\r\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"fi\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"les\\\": []}\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":5,\"total_tokens\":17}}\n\n",
            "data: [DONE]\n\n",
        );
        let c = read(body).unwrap();
        assert!(c.done);
        assert_eq!(c.tool_calls[&0], ToolCall { id: "call_1".into(), name: "submit_files".into(), arguments: "{\"files\": []}".into() });
        assert_eq!(c.usage, Some(RawUsage { prompt_tokens: 12, completion_tokens: 5 }));
        assert_eq!(c.finish_reason.as_deref(), Some("stop"));
    }

    #[test]
    fn multi_line_data_is_one_event() {
        let c = read("data: {\"choices\":\ndata: []}\n\ndata: [DONE]").unwrap();
        assert!(c.done && c.tool_calls.is_empty());
    }

    #[test]
    fn bad_bodies_are_malformed() {
        for (body, expect) in [
            ("data: {\"choices\": [\n\n", "not JSON"),
            ("<html>oops</html>\n\n", "not an SSE field"),
            ("data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n", "overloaded (server_error)"),
            ("data: {\"choices\": 3}\n\n", "not a list"),
        ] {
            match read(body) {
                Err(StreamError::Malformed(m)) => assert!(m.contains(expect), "{m}"),
                other => panic!("{body}: {other:?}"),
            }
        }
    }
}
