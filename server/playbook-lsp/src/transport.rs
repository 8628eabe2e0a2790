//! The stdio transport: LSP framing that survives malformed input.
//!
//! tower-lsp-server's own `Server::serve` reads through tokio-util's `FramedRead`, which ends
//! the stream after the first decoding error (tokio#3976): one bad frame and the server stops
//! reading. This loop frames by hand instead. A header block without a usable
//! `Content-Length` is skipped; garbage before a header is dropped up to the next
//! `Content-Length:`; a body that is not UTF-8 or not JSON gets a parse error (-32700) and one
//! that is not a JSON-RPC message an invalid-request error (-32600), both with id null as the
//! spec says; then reading goes on. Requests reach the `LspService` through `Service::call`
//! one at a time, in arrival order, and run up to [`CONCURRENCY`] at once.

use futures::channel::mpsc as fmpsc;
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use std::pin::pin;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};
use tower_lsp_server::ClientSocket;
use tower_lsp_server::jsonrpc::{Error, Id, Request, Response};
use tower_service::Service;

/// Requests handled at once (as tower-lsp-server's default).
pub const CONCURRENCY: usize = 4;
/// A header line longer than this is garbage.
const MAX_HEADER_LINE: usize = 8 * 1024;
/// A message larger than this is refused (its bytes are read and dropped).
const MAX_BODY: usize = 256 * 1024 * 1024;

/// How the session ended, for the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// `shutdown` was requested before the end (LSP: exit code 0 only then).
    pub shutdown_requested: bool,
    /// The client sent `exit` (else the input ended).
    pub exit_received: bool,
}

/// One unit read from the input.
enum Frame {
    Body(Vec<u8>),
    /// Bytes that did not form a message; already logged.
    Skipped,
}

/// Serve `service` over `input`/`output` until `exit` or the end of the input.
pub async fn serve<I, O, S>(input: I, output: O, mut service: S, socket: ClientSocket) -> Outcome
where
    I: AsyncRead + Unpin,
    O: AsyncWrite,
    S: Service<Request, Response = Option<Response>>,
    S::Error: std::fmt::Display,
{
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let mut output = pin!(output);
    let writer = async move {
        while let Some(frame) = out_rx.recv().await {
            if output.write_all(&frame).await.is_err() || output.flush().await.is_err() {
                tracing::error!("cannot write to the client; output closed");
                break;
            }
        }
    };

    let (mut client_requests, mut client_responses) = socket.split();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let forward_out = out_tx.clone();
    let forward = async move {
        let mut stop = pin!(stop_rx);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                next = client_requests.next() => match next {
                    Some(request) => { let _ = forward_out.send(frame(&request)); }
                    None => break,
                },
            }
        }
    };

    let (futures_tx, futures_rx) = fmpsc::channel::<S::Future>(64);
    let handler_out = out_tx.clone();
    let handlers = futures_rx.buffer_unordered(CONCURRENCY).for_each(move |result| {
        match result {
            Ok(Some(response)) => {
                let _ = handler_out.send(frame(&response));
            }
            Ok(None) => {}
            Err(e) => tracing::error!("request failed: {e}"),
        }
        futures::future::ready(())
    });

    let read_out = out_tx;
    let read = async move {
        let mut futures_tx = futures_tx;
        let mut reader = BufReader::new(input);
        let mut outcome = Outcome { shutdown_requested: false, exit_received: false };
        while let Some(next) = read_frame(&mut reader).await {
            let Frame::Body(body) = next else { continue };
            match classify(&body) {
                Incoming::Request(request) => {
                    let method = request.method().to_string();
                    if futures::future::poll_fn(|cx| service.poll_ready(cx)).await.is_err() {
                        break;
                    }
                    let future = service.call(request);
                    if futures_tx.send(future).await.is_err() {
                        break;
                    }
                    match method.as_str() {
                        "shutdown" => outcome.shutdown_requested = true,
                        "exit" => {
                            outcome.exit_received = true;
                            break;
                        }
                        _ => {}
                    }
                }
                Incoming::Response(response) => {
                    if client_responses.send(response).await.is_err() {
                        tracing::warn!("a response from the client arrived after the server stopped");
                    }
                }
                Incoming::Invalid(response) => {
                    let _ = read_out.send(frame(&response));
                }
            }
        }
        outcome
    };

    let session = async {
        let (outcome, ()) = tokio::join!(read, handlers);
        let _ = stop_tx.send(());
        outcome
    };
    let (outcome, (), ()) = tokio::join!(session, forward, writer);
    outcome
}

enum Incoming {
    Request(Request),
    Response(Response),
    /// The error response to send back for a body that is not a message.
    Invalid(Response),
}

fn classify(body: &[u8]) -> Incoming {
    let Ok(text) = std::str::from_utf8(body) else {
        tracing::warn!("message body is not UTF-8");
        return Incoming::Invalid(Response::from_error(Id::Null, Error::parse_error()));
    };
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!("message body is not JSON: {e}");
            return Incoming::Invalid(Response::from_error(Id::Null, Error::parse_error()));
        }
    };
    let id = value.get("id").and_then(|id| serde_json::from_value::<Id>(id.clone()).ok()).unwrap_or(Id::Null);
    let is_request = value.get("method").is_some();
    let is_response = value.get("id").is_some() && (value.get("result").is_some() || value.get("error").is_some());
    if is_request {
        if let Ok(request) = serde_json::from_value::<Request>(value) {
            return Incoming::Request(request);
        }
    } else if is_response && let Ok(response) = serde_json::from_value::<Response>(value) {
        return Incoming::Response(response);
    }
    tracing::warn!("message is not a JSON-RPC request, notification or response");
    Incoming::Invalid(Response::from_error(id, Error::invalid_request()))
}

fn frame<T: serde::Serialize>(message: &T) -> Vec<u8> {
    let body = serde_json::to_vec(message).unwrap_or_else(|_| b"{}".to_vec());
    let mut bytes = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    bytes.extend(body);
    bytes
}

/// Split `input` into frames with the reader [`serve`] uses: `Some(body)` for each message,
/// `None` for each block skipped as malformed, until the input ends. Needs no runtime (the
/// reader only awaits in-memory bytes). For tests and the `lsp_framing` fuzz target.
#[doc(hidden)]
pub fn split_frames(input: &[u8]) -> Vec<Option<Vec<u8>>> {
    futures::executor::block_on(async {
        let mut reader = BufReader::new(input);
        let mut out = Vec::new();
        while let Some(frame) = read_frame(&mut reader).await {
            out.push(match frame {
                Frame::Body(body) => Some(body),
                Frame::Skipped => None,
            });
        }
        out
    })
}

/// What [`serve`] makes of a frame's body: `Ok(true)` a request or notification, `Ok(false)` a
/// response from the client, `Err(code)` the JSON-RPC error it answers with. For the fuzz target.
#[doc(hidden)]
pub fn classify_body(body: &[u8]) -> Result<bool, i64> {
    match classify(body) {
        Incoming::Request(_) => Ok(true),
        Incoming::Response(_) => Ok(false),
        Incoming::Invalid(response) => Err(response.error().map_or(0, |e| e.code.code())),
    }
}

/// Read the next frame; `None` at the end of the input.
async fn read_frame<R: AsyncBufRead + Unpin>(reader: &mut R) -> Option<Frame> {
    let mut length: Option<Result<usize, String>> = None;
    let mut saw_header = false;
    loop {
        let mut line = read_line(reader).await?;
        // Garbage glued in front of a header: resynchronise on the next Content-Length.
        if let Some(at) = find_content_length(&line)
            && at > 0
        {
            tracing::warn!("skipped {at} bytes of garbage before a header");
            line.drain(..at);
        }
        let trimmed = trim_line_end(&line);
        if trimmed.is_empty() {
            if !saw_header {
                continue; // Blank lines between messages.
            }
            break;
        }
        saw_header = true;
        match std::str::from_utf8(trimmed).ok().and_then(|l| l.split_once(':')) {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("content-length") => {
                length = Some(value.trim().parse::<usize>().map_err(|_| format!("bad Content-Length `{}`", value.trim())));
            }
            Some((name, _)) if is_token(name) => {} // Content-Type and friends.
            _ => {
                length = Some(Err("a header line that is not a header".into()));
            }
        }
    }
    match length {
        Some(Ok(n)) if n <= MAX_BODY => {
            // The buffer grows with the bytes that arrive: a header alone claiming a huge body
            // costs nothing until the body comes.
            let mut body = Vec::with_capacity(n.min(64 * 1024));
            reader.take(n as u64).read_to_end(&mut body).await.ok()?;
            if body.len() < n {
                return None; // the input ended inside the body
            }
            Some(Frame::Body(body))
        }
        Some(Ok(n)) => {
            tracing::warn!("dropping a message of {n} bytes (over {MAX_BODY})");
            let mut rest = reader.take(n as u64);
            tokio::io::copy(&mut rest, &mut tokio::io::sink()).await.ok()?;
            Some(Frame::Skipped)
        }
        Some(Err(reason)) => {
            tracing::warn!("skipping a header block: {reason}");
            Some(Frame::Skipped)
        }
        None => {
            tracing::warn!("skipping a header block without Content-Length");
            Some(Frame::Skipped)
        }
    }
}

/// One line including its `\n`, at most [`MAX_HEADER_LINE`] bytes (longer lines are cut: the
/// rest is read as the next line, and both are garbage). `None` at the end of the input.
async fn read_line<R: AsyncBufRead + Unpin>(reader: &mut R) -> Option<Vec<u8>> {
    let mut line = Vec::new();
    loop {
        let available = reader.fill_buf().await.ok()?;
        if available.is_empty() {
            return if line.is_empty() { None } else { Some(line) };
        }
        let room = MAX_HEADER_LINE - line.len();
        let window = &available[..available.len().min(room)];
        match window.iter().position(|&b| b == b'\n') {
            Some(i) => {
                line.extend_from_slice(&window[..=i]);
                reader.consume(i + 1);
                return Some(line);
            }
            None => {
                let n = window.len();
                line.extend_from_slice(window);
                reader.consume(n);
                if line.len() >= MAX_HEADER_LINE {
                    return Some(line);
                }
            }
        }
    }
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    &line[..end]
}

fn find_content_length(line: &[u8]) -> Option<usize> {
    const NEEDLE: &[u8] = b"content-length:";
    line.windows(NEEDLE.len()).position(|w| w.eq_ignore_ascii_case(NEEDLE))
}

fn is_token(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn frames(input: &[u8]) -> Vec<Option<Vec<u8>>> {
        split_frames(input)
    }

    #[test]
    fn a_header_claiming_a_huge_body_that_never_comes_ends_the_stream() {
        // Under MAX_BODY, so it is not dropped as oversized: the reader waits for the bytes,
        // growing its buffer only as they come, and the input ends inside the body.
        let input = format!("Content-Length: {}\r\n\r\n{{\"jsonrpc\":\"2.0\"}}", MAX_BODY - 1);
        assert_eq!(split_frames(input.as_bytes()), Vec::<Option<Vec<u8>>>::new());
    }

    #[tokio::test]
    async fn frames_resynchronise_after_garbage() {
        let input = b"Content-Length: 2\r\n\r\n{}\
Content-Length: twelve\r\n\r\n{\"a\":1}hello there\r\n\r\n\x00\x01junkContent-Length: 3\r\nContent-Type: x\r\n\r\n[1]";
        let got = frames(input).await;
        assert_eq!(got.first(), Some(&Some(b"{}".to_vec())));
        assert_eq!(got.last(), Some(&Some(b"[1]".to_vec())));
        assert!(got[1..got.len() - 1].iter().all(Option::is_none), "{got:?}");
    }

    #[tokio::test]
    async fn a_truncated_body_ends_the_input() {
        assert_eq!(frames(b"Content-Length: 10\r\n\r\nabc").await, Vec::<Option<Vec<u8>>>::new());
        assert_eq!(frames(b"").await, Vec::<Option<Vec<u8>>>::new());
    }

    #[test]
    fn bodies_are_classified_with_the_right_errors() {
        let code = |body: &[u8]| match classify(body) {
            Incoming::Invalid(r) => r.error().map(|e| e.code.code()),
            _ => None,
        };
        assert_eq!(code(b"{\"jsonrpc\":"), Some(-32700));
        assert_eq!(code(b"\xff\xfe"), Some(-32700));
        assert_eq!(code(b"{\"hello\":\"world\"}"), Some(-32600));
        assert_eq!(code(b"[]"), Some(-32600));
        assert!(matches!(classify(br#"{"jsonrpc":"2.0","id":1,"method":"x"}"#), Incoming::Request(_)));
        assert!(matches!(classify(br#"{"jsonrpc":"2.0","id":1,"result":null}"#), Incoming::Response(_)));
    }
}
