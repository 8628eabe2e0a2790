//! The state actor: the one place where documents change.
//!
//! `didOpen`/`didChange`/`didClose` and file-watcher events are queued here strictly in arrival
//! order (see `ordered.rs`), applied to ropes, and published as new immutable [`World`]
//! snapshots. Requests ask for a snapshot through the same queue, so a request sent after an
//! edit always sees it. After a short quiet period, the actor re-analyses what changed and
//! publishes diagnostics with the document version, then reports `playbook/status` idle.

use crate::diagnostics;
use crate::status::{self, Status};
use crate::world::{Document, Kind, World, kind_of};
// Reads are capped in size and refuse invalid UTF-8 with a message (logged, file skipped).
use playbook_engine::workspace::read_text;
use ropey::Rope;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::{FileChangeType, FileEvent, TextDocumentContentChangeEvent, Uri};

/// How long the actor waits for more edits before analysing. Edits that come as a burst
/// (a paste, a formatter, a client replaying changes) arrive well within this and cost one
/// analysis; a person's keystrokes are further apart, so each gets its diagnostics promptly.
pub const DEBOUNCE: Duration = Duration::from_millis(5);
/// Continuous typing still gets diagnostics this often.
pub const MAX_DELAY: Duration = Duration::from_millis(250);

pub enum Msg {
    Configure {
        roots: Vec<PathBuf>,
        encoding: playbook_core::span::ColumnUnit,
        snippets: bool,
        document_changes: bool,
        trusted: bool,
        lens_refresh: bool,
    },
    /// The client granted (or withdrew) trust in the workspace.
    Trust(bool),
    /// A build of the cases in this folder changed its files: re-read their history.
    BuildsChanged(PathBuf),
    /// A phase or report command changed this case folder: re-read its phase and builds, and
    /// refresh lenses (report versions changed) even when neither did.
    ProjectChanged(PathBuf),
    /// The client finished initialising: index the workspace from disk.
    Initialized,
    Open {
        uri: Uri,
        version: i32,
        text: String,
    },
    Change {
        uri: Uri,
        version: i32,
        changes: Vec<TextDocumentContentChangeEvent>,
    },
    Close {
        uri: Uri,
    },
    FilesChanged(Vec<FileEvent>),
    Snapshot(oneshot::Sender<Arc<World>>),
    /// The current `playbook/status`, after every message queued before it.
    Status(oneshot::Sender<Status>),
}

#[derive(Clone)]
pub struct Handle {
    tx: mpsc::UnboundedSender<Msg>,
}

impl Handle {
    /// Queue a message. Never blocks, never awaits: callers stay in arrival order.
    pub fn send(&self, msg: Msg) {
        if self.tx.send(msg).is_err() {
            tracing::error!("state actor is gone; message dropped");
        }
    }

    /// A snapshot that reflects every message queued before this call.
    pub async fn snapshot(&self) -> Arc<World> {
        let (tx, rx) = oneshot::channel();
        self.send(Msg::Snapshot(tx));
        rx.await.unwrap_or_default()
    }

    pub async fn status(&self) -> Status {
        let (tx, rx) = oneshot::channel();
        self.send(Msg::Status(tx));
        rx.await.unwrap_or(Status { busy: false, generation: 0, cases: Vec::new(), removed: Vec::new() })
    }
}

/// The queue and its sending side; [`start`] runs the actor on the queue.
pub struct Queue(mpsc::UnboundedReceiver<Msg>);

pub fn channel() -> (Handle, Queue) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Handle { tx }, Queue(rx))
}

/// Run the actor on a tokio task. Without a client (tests of the actor alone) nothing is published.
pub fn start(queue: Queue, client: Option<Client>) {
    let actor = Actor {
        client,
        world: Arc::new(World::default()),
        ropes: HashMap::new(),
        dirty: BTreeSet::new(),
        published: HashSet::new(),
        generation: 0,
        deadline: None,
        views_changed: false,
        status_cache: status::StatusCache::default(),
    };
    tokio::spawn(actor.run(queue.0));
}

struct Actor {
    client: Option<Client>,
    world: Arc<World>,
    /// Open documents' text as ropes, for cheap incremental edits.
    ropes: HashMap<Uri, Rope>,
    /// Documents whose findings may have changed since the last publish.
    dirty: BTreeSet<Uri>,
    /// Documents we published non-empty diagnostics for (to clear them when a file goes away).
    published: HashSet<Uri>,
    /// Document changes applied so far (see [`Status::generation`]).
    generation: u64,
    /// When pending analysis runs: pushed back by each edit (debounce), never past the cap.
    deadline: Option<(Instant, Instant)>,
    /// Build history or trust changed: code lenses and the status must be refreshed.
    views_changed: bool,
    status_cache: status::StatusCache,
}

impl Actor {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Msg>) {
        loop {
            let msg = match self.deadline {
                None => rx.recv().await,
                Some((due, _)) => match tokio::time::timeout_at(due, rx.recv()).await {
                    Ok(msg) => msg,
                    Err(_) => {
                        self.deadline = None;
                        self.analyse().await;
                        continue;
                    }
                },
            };
            let Some(msg) = msg else { break };
            // A panic while applying one message must not take the server down.
            let applied = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.apply(msg)));
            match applied {
                Ok(Some(busy)) if busy => self.status(true).await,
                Ok(_) => {}
                Err(_) => tracing::error!("panic while applying a document change; state kept as before"),
            }
            if std::mem::take(&mut self.views_changed) {
                self.refresh_views().await;
            }
        }
    }

    /// Apply one message; `Some(true)` when analysis became due (status turns busy).
    fn apply(&mut self, msg: Msg) -> Option<bool> {
        let was_idle = self.dirty.is_empty();
        if matches!(msg, Msg::Open { .. } | Msg::Change { .. } | Msg::Close { .. } | Msg::FilesChanged(_) | Msg::Initialized) {
            self.generation += 1;
            let now = Instant::now();
            let cap = self.deadline.map_or(now + MAX_DELAY, |(_, cap)| cap);
            self.deadline = Some(((now + DEBOUNCE).min(cap), cap));
        }
        match msg {
            Msg::Configure { roots, encoding, snippets, document_changes, trusted, lens_refresh } => {
                let world = Arc::make_mut(&mut self.world);
                world.roots = roots;
                world.encoding = encoding;
                world.snippets = snippets;
                world.document_changes = document_changes;
                world.trusted = trusted;
                world.lens_refresh = lens_refresh;
            }
            Msg::Trust(trusted) => {
                if self.world.trusted != trusted {
                    Arc::make_mut(&mut self.world).trusted = trusted;
                    // "▶ Run" lenses appear or go.
                    self.views_changed = true;
                }
            }
            Msg::BuildsChanged(case_dir) => self.read_builds(case_dir),
            Msg::ProjectChanged(case_dir) => {
                self.read_phase(case_dir.clone());
                self.read_builds(case_dir);
                self.views_changed = true;
            }
            Msg::Initialized => self.index_workspace(),
            Msg::Open { uri, version, text } => {
                self.ropes.insert(uri.clone(), Rope::from_str(&text));
                self.set_document(uri, Some(version), text.into());
            }
            Msg::Change { uri, version, changes } => {
                let Some(rope) = self.ropes.get_mut(&uri) else {
                    tracing::warn!("didChange for {} which is not open; ignored", uri.as_str());
                    return None;
                };
                let encoding = self.world.encoding;
                for change in changes {
                    apply_change(rope, &change, encoding);
                }
                let text = rope.to_string();
                self.set_document(uri, Some(version), text.into());
            }
            Msg::Close { uri } => {
                self.ropes.remove(&uri);
                // The file on disk is what the workspace holds now.
                let on_disk = uri.to_file_path().and_then(|p| read_text(&p).ok());
                match on_disk {
                    Some(text) => self.set_document(uri, None, text.into()),
                    None => self.remove_document(&uri),
                }
            }
            Msg::FilesChanged(events) => {
                for event in events {
                    if let Some(case_dir) = state_file_folder(&event.uri) {
                        self.read_phase(case_dir);
                        // Blocked flags and history live there too: lenses show the gate.
                        self.views_changed = true;
                        continue;
                    }
                    if let Some(case_dir) = job_file_folder(&event.uri) {
                        self.read_builds(case_dir);
                        continue;
                    }
                    if self.ropes.contains_key(&event.uri) {
                        continue; // The editor's buffer wins over the disk while open.
                    }
                    // A file that is not open counts only when its name and content agree, as in
                    // the workspace scan (a report or README is not a playbook).
                    let text = (event.typ != FileChangeType::DELETED)
                        .then(|| event.uri.to_file_path().and_then(|p| read_text(&p).ok()))
                        .flatten()
                        .filter(|text| playbook_engine::workspace::scanned_kind(event.uri.as_str(), text).is_some());
                    match text {
                        Some(text) => self.set_document(event.uri, None, text.into()),
                        None => self.remove_document(&event.uri),
                    }
                }
            }
            Msg::Snapshot(reply) => {
                let _ = reply.send(self.world.clone());
            }
            Msg::Status(reply) => {
                let _ = reply.send(status::compute(&self.world, !self.dirty.is_empty(), self.generation, &mut self.status_cache));
            }
        }
        Some(was_idle && !self.dirty.is_empty())
    }

    fn set_document(&mut self, uri: Uri, version: Option<i32>, text: Arc<str>) {
        let Some(kind) = kind_of(uri.as_str(), &text) else {
            self.remove_document(&uri);
            return;
        };
        let doc = Arc::new(Document::new(uri.clone(), version, text, kind));
        let world = Arc::make_mut(&mut self.world);
        world.docs.insert(uri.clone(), doc.clone());
        self.mark_dirty(&doc);
        // A case may now name a playbook we have not read yet, or sit in a folder whose phase
        // we have not read yet.
        if kind == Kind::Case {
            self.load_playbook_of(&doc);
            if let Some(dir) = doc.path.as_ref().and_then(|p| p.parent()) {
                if !self.world.phases.contains_key(dir) {
                    self.read_phase(dir.to_path_buf());
                }
                if !self.world.builds.contains_key(dir) {
                    self.read_builds(dir.to_path_buf());
                }
            }
        }
    }

    fn remove_document(&mut self, uri: &Uri) {
        // Cases that used a removed playbook must be re-checked: find them first.
        if let Some(doc) = self.world.docs.get(uri).cloned() {
            self.mark_dirty(&doc);
            Arc::make_mut(&mut self.world).docs.remove(uri);
        }
    }

    /// The document and everything whose findings depend on it.
    fn mark_dirty(&mut self, doc: &Document) {
        self.dirty.insert(doc.uri.clone());
        if doc.kind == Kind::Playbook {
            for case in self.world.cases_using(&doc.uri) {
                self.dirty.insert(case.uri.clone());
            }
        }
    }

    /// Read the current phase of the cases in `case_dir` and re-check them.
    fn read_phase(&mut self, case_dir: PathBuf) {
        let mut warn = |message: String| tracing::warn!("{message}");
        let phase = playbook_engine::workspace::current_phase(&case_dir, &mut warn);
        let world = Arc::make_mut(&mut self.world);
        let changed = world.phases.insert(case_dir.clone(), phase) != Some(phase);
        if changed {
            let cases: Vec<Uri> = world
                .docs
                .values()
                .filter(|d| d.kind == Kind::Case && d.path.as_ref().and_then(|p| p.parent()) == Some(case_dir.as_path()))
                .map(|d| d.uri.clone())
                .collect();
            self.dirty.extend(cases);
        }
    }

    /// Re-read the builds beside the cases in `case_dir`; lenses and status follow.
    fn read_builds(&mut self, case_dir: PathBuf) {
        let history = Arc::new(playbook_engine::build::BuildHistory::read(&case_dir));
        let world = Arc::make_mut(&mut self.world);
        if world.builds.get(&case_dir) != Some(&history) {
            world.builds.insert(case_dir, history);
            self.views_changed = true;
        }
    }

    fn load_playbook_of(&mut self, case_doc: &Document) {
        let Some(uri) = self.world.playbook_uri_for(case_doc, &case_doc.case()) else { return };
        if self.world.docs.contains_key(&uri) {
            return;
        }
        if let Some(text) = uri.to_file_path().and_then(|p| read_text(&p).ok()) {
            let doc = Arc::new(Document::new(uri.clone(), None, text.into(), Kind::Playbook));
            Arc::make_mut(&mut self.world).docs.insert(uri, doc);
        }
    }

    /// Read every playbook and case under the workspace roots, so references, rename and
    /// diagnostics cover files that are not open.
    fn index_workspace(&mut self) {
        let roots = self.world.roots.clone();
        for root in roots {
            for path in playbook_engine::workspace::document_files(&root).into_iter().filter_map(Result::ok) {
                let Some(uri) = Uri::from_file_path(&path) else { continue };
                if self.ropes.contains_key(&uri) {
                    continue;
                }
                let Ok(text) = read_text(&path) else { continue };
                // A scan reads only files whose name and content agree (not README.md, not CI YAML).
                if playbook_engine::workspace::scanned_kind(&path.to_string_lossy(), &text).is_some() {
                    self.set_document(uri, None, text.into());
                }
            }
        }
    }

    async fn analyse(&mut self) {
        let world = self.world.clone();
        let dirty = std::mem::take(&mut self.dirty);
        for uri in dirty {
            match world.docs.get(&uri).cloned() {
                Some(doc) => {
                    let published = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| diagnostics::for_document(&world, &doc)));
                    match published {
                        Ok(params) => {
                            if params.diagnostics.is_empty() {
                                self.published.remove(&uri);
                            } else {
                                self.published.insert(uri.clone());
                            }
                            if let Some(client) = &self.client {
                                client.publish_diagnostics(params.uri, params.diagnostics, params.version).await;
                            }
                        }
                        Err(_) => tracing::error!("panic while analysing {}; its diagnostics are unchanged", uri.as_str()),
                    }
                }
                None => {
                    if let (true, Some(client)) = (self.published.remove(&uri), &self.client) {
                        client.publish_diagnostics(uri, Vec::new(), None).await;
                    }
                }
            }
        }
        self.status(false).await;
    }

    /// Ask the client to re-request code lenses, and tell it the new status (when idle; a
    /// busy actor sends the idle status soon anyway).
    async fn refresh_views(&mut self) {
        let Some(client) = &self.client else { return };
        if self.world.lens_refresh {
            let client = client.clone();
            // A request to the client is never awaited on the actor's path.
            tokio::spawn(async move {
                if let Err(e) = client.code_lens_refresh().await {
                    tracing::debug!("client did not refresh code lenses: {e}");
                }
            });
        }
        if self.dirty.is_empty() {
            self.status(false).await;
        }
    }

    async fn status(&mut self, busy: bool) {
        if let Some(client) = &self.client {
            // Turning busy happens on the first keystroke after a pause: say so without
            // computing every case's progress, which the idle notification will carry.
            let status: Status = if busy {
                Status { busy, generation: self.generation, cases: Vec::new(), removed: Vec::new() }
            } else {
                status::notification(&self.world, self.generation, &mut self.status_cache)
            };
            client.send_notification::<status::StatusNotification>(status).await;
        }
    }
}

/// The case folder whose `.playbook/builds/<job>/job.json` this URI names, if it names one.
fn job_file_folder(uri: &Uri) -> Option<PathBuf> {
    let path = uri.to_file_path()?;
    let builds = path.parent()?.parent().filter(|p| p.file_name().is_some_and(|n| n == "builds"))?;
    let dot_playbook = builds.parent().filter(|p| p.file_name().is_some_and(|n| n == ".playbook"))?;
    (path.file_name()? == "job.json").then(|| dot_playbook.parent().map(|p| p.to_path_buf())).flatten()
}

/// The case folder whose `.playbook/state.json` this URI names, if it names one.
fn state_file_folder(uri: &Uri) -> Option<PathBuf> {
    let path = uri.to_file_path()?;
    let dot_playbook = path.parent().filter(|p| p.file_name().is_some_and(|n| n == ".playbook"))?;
    (path.file_name()? == "state.json").then(|| dot_playbook.parent().map(|p| p.to_path_buf())).flatten()
}

/// Apply one content change to a rope. Ranges are in the negotiated encoding and clamped to
/// the document; a change without a range replaces everything.
pub fn apply_change(rope: &mut Rope, change: &TextDocumentContentChangeEvent, encoding: playbook_core::span::ColumnUnit) {
    let Some(range) = change.range else {
        *rope = Rope::from_str(&change.text);
        return;
    };
    let start = char_index(rope, range.start, encoding);
    let end = char_index(rope, range.end, encoding).max(start);
    rope.remove(start..end);
    rope.insert(start, &change.text);
}

/// An LSP position as a char index into the rope, clamped to the line and the document.
fn char_index(rope: &Rope, pos: tower_lsp_server::ls_types::Position, encoding: playbook_core::span::ColumnUnit) -> usize {
    use playbook_core::span::ColumnUnit;
    let line = pos.line as usize;
    if line >= rope.len_lines() {
        return rope.len_chars();
    }
    let line_start = rope.line_to_char(line);
    let line_slice = rope.line(line);
    // The line's length without its line break.
    let mut line_chars = line_slice.len_chars();
    while line_chars > 0 && matches!(line_slice.char(line_chars - 1), '\n' | '\r') {
        line_chars -= 1;
    }
    let col = pos.character as usize;
    let mut units = 0usize;
    for (i, ch) in line_slice.chars().take(line_chars).enumerate() {
        if units >= col {
            return line_start + i;
        }
        units += match encoding {
            ColumnUnit::Utf16 => ch.len_utf16(),
            ColumnUnit::Utf8 => ch.len_utf8(),
            ColumnUnit::Chars => 1,
        };
        if units > col {
            return line_start + i;
        }
    }
    line_start + line_chars
}

#[cfg(test)]
mod tests {
    use super::*;
    use playbook_core::span::ColumnUnit;
    use tower_lsp_server::ls_types::{Position, Range};

    fn change(l1: u32, c1: u32, l2: u32, c2: u32, text: &str) -> TextDocumentContentChangeEvent {
        TextDocumentContentChangeEvent {
            range: Some(Range { start: Position { line: l1, character: c1 }, end: Position { line: l2, character: c2 } }),
            range_length: None,
            text: text.into(),
        }
    }

    #[test]
    fn edits_count_columns_in_the_negotiated_encoding() {
        let mut rope = Rope::from_str("a👋b\nሰላም\n");
        apply_change(&mut rope, &change(0, 3, 0, 4, "B"), ColumnUnit::Utf16);
        assert_eq!(rope.to_string(), "a👋B\nሰላም\n");
        apply_change(&mut rope, &change(1, 3, 1, 6, ""), ColumnUnit::Utf8);
        assert_eq!(rope.to_string(), "a👋B\nሰም\n");
        // Past the end of a line or the document: clamped, never a panic.
        apply_change(&mut rope, &change(0, 99, 0, 99, "!"), ColumnUnit::Utf16);
        apply_change(&mut rope, &change(9, 0, 9, 5, "?"), ColumnUnit::Utf16);
        assert_eq!(rope.to_string(), "a👋B!\nሰም\n?");
        // Reversed ranges are treated as empty at their start.
        apply_change(&mut rope, &change(1, 2, 1, 0, "x"), ColumnUnit::Utf16);
        assert_eq!(rope.to_string(), "a👋B!\nሰምx\n?");
    }
}
