//! Build events: the shape of product.md §6, the append-only `events.jsonl` writer and reader.
//!
//! Every event is written as one complete line with a single `write` call, so the file is
//! flushed at every event (and so at every step boundary); a reader skips a torn last line.

use super::redact::Redactor;
use crate::time::{now_ms, rfc3339};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: u64,
    pub job: String,
    pub ts: String,
    pub kind: EventKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<Stream>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    JobStart,
    StepStart,
    Log,
    Progress,
    StepDone,
    StepFail,
    StepSkip,
    Summary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// What an event says, before the sink gives it an id, the job and a time.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub activity: Option<String>,
    pub index: Option<u32>,
    pub message: Option<String>,
    pub stream: Option<Stream>,
    pub duration_ms: Option<u64>,
    pub tokens: Option<u64>,
    pub status: Option<String>,
}

/// Sees every event (already redacted) right after it is written.
pub type Observer = Box<dyn Fn(&Event) + Send>;

struct Inner {
    job: String,
    file: File,
    next_id: u64,
    redactor: Redactor,
    observer: Option<Observer>,
    error: Option<String>,
}

/// The one writer of a job's `events.jsonl`; clones share it (handlers stream from threads).
#[derive(Clone)]
pub struct EventSink(Arc<Mutex<Inner>>);

impl EventSink {
    /// Open `path` for appending; ids continue after `last_id`.
    pub fn open(path: &Path, job: &str, last_id: u64, redactor: Redactor, observer: Option<Observer>) -> Result<EventSink, String> {
        let file = OpenOptions::new().create(true).append(true).open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        Ok(EventSink(Arc::new(Mutex::new(Inner { job: job.to_string(), file, next_id: last_id + 1, redactor, observer, error: None }))))
    }

    /// Redact, number, append and show one event. A write error is kept for [`EventSink::error`].
    pub fn emit(&self, kind: EventKind, draft: Draft) -> Option<Event> {
        let mut inner = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let event = Event {
            id: inner.next_id,
            job: inner.job.clone(),
            ts: rfc3339(now_ms()),
            kind,
            activity: draft.activity,
            index: draft.index,
            message: draft.message.map(|m| inner.redactor.redact(&m)),
            stream: draft.stream,
            duration_ms: draft.duration_ms,
            tokens: draft.tokens,
            status: draft.status,
        };
        let mut line = match serde_json::to_string(&event) {
            Ok(line) => line,
            Err(e) => {
                inner.error.get_or_insert(format!("cannot encode an event: {e}"));
                return None;
            }
        };
        line.push('\n');
        if let Err(e) = inner.file.write_all(line.as_bytes()) {
            inner.error.get_or_insert(format!("cannot append to events.jsonl: {e}"));
        }
        inner.next_id += 1;
        if let Some(observer) = &inner.observer {
            observer(&event);
        }
        Some(event)
    }

    /// A step boundary: make the log durable.
    pub fn sync(&self) {
        let mut inner = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = inner.file.sync_data() {
            inner.error.get_or_insert(format!("cannot flush events.jsonl: {e}"));
        }
    }

    pub fn redact(&self, text: &str) -> String {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).redactor.redact(text)
    }

    /// The first write error, if any.
    pub fn error(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).error.clone()
    }
}

/// The events of a log with an id greater than `after`. A last line without its newline (a
/// writer killed mid-write) is not an event yet and is skipped; so is any line that does not parse.
pub fn read_events(path: &Path, after: u64) -> Result<Vec<Event>, String> {
    let text = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(complete_lines(&text).filter_map(|line| serde_json::from_slice::<Event>(line).ok()).filter(|e| e.id > after).collect())
}

/// Every newline-terminated line of `bytes` (the torn tail is left out).
pub fn complete_lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let end = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    bytes[..end].split(|&b| b == b'\n').filter(|l| !l.is_empty())
}

/// The highest id in a log (0 when empty), cutting off a torn last line so that appending
/// after a crash keeps every line whole.
pub fn repair_and_last_id(path: &Path) -> Result<u64, String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let end = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if end < bytes.len() {
        let file = OpenOptions::new().write(true).open(path).map_err(|e| format!("cannot repair {}: {e}", path.display()))?;
        file.set_len(end as u64).map_err(|e| format!("cannot repair {}: {e}", path.display()))?;
    }
    Ok(complete_lines(&bytes).filter_map(|l| serde_json::from_slice::<Event>(l).ok()).map(|e| e.id).max().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_skips_a_torn_last_line_and_filters_by_id() {
        let dir = std::env::temp_dir().join(format!("playbook-events-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("events.jsonl");
        let _ = std::fs::remove_file(&path);
        let sink = EventSink::open(&path, "j1", 0, Redactor::default(), None).unwrap();
        for i in 0..3 {
            sink.emit(EventKind::Log, Draft { message: Some(format!("line {i}")), ..Draft::default() });
        }
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"id":4,"job":"j1","ts":"x","ki"#).unwrap();
        let all = read_events(&path, 0).unwrap();
        assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(read_events(&path, 2).unwrap().len(), 1);
        assert_eq!(repair_and_last_id(&path).unwrap(), 3);
        assert!(std::fs::read(&path).unwrap().ends_with(b"\n"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
