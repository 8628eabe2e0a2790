//! The world as request handlers see it: an immutable snapshot of every known document with
//! its parsed model, plus position conversion at the edge.
//!
//! The state actor owns the mutable side and hands out `Arc<World>` snapshots; a snapshot is
//! never changed after it is handed out, so handlers can take their time without locks.

use playbook_core::analysis::{self, BUILTIN_HANDLERS, CaseContext};
use playbook_core::case::Case;
use playbook_core::finding::Finding;
use playbook_core::playbook::{self, Playbook};
use playbook_core::span::{ColumnUnit, LineCol, LineIndex, Span};
use playbook_engine::build::BuildHistory;
use playbook_engine::workspace::{self, FsProbe, normalize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use tower_lsp_server::ls_types::{Position, Range, Uri};

pub use playbook_engine::workspace::DocumentKind as Kind;

/// One version of one document. Models are parsed lazily, once per version.
#[derive(Debug)]
pub struct Document {
    pub uri: Uri,
    pub path: Option<PathBuf>,
    /// The client's version while the document is open; `None` for files read from disk.
    pub version: Option<i32>,
    pub text: Arc<str>,
    pub kind: Kind,
    line_index: OnceLock<LineIndex>,
    playbook: OnceLock<Arc<Playbook>>,
    case: OnceLock<Arc<Case>>,
}

impl Document {
    pub fn new(uri: Uri, version: Option<i32>, text: Arc<str>, kind: Kind) -> Self {
        let path = uri.to_file_path().map(|p| p.into_owned());
        Document { uri, path, version, text, kind, line_index: OnceLock::new(), playbook: OnceLock::new(), case: OnceLock::new() }
    }

    pub fn is_open(&self) -> bool {
        self.version.is_some()
    }

    pub fn line_index(&self) -> &LineIndex {
        self.line_index.get_or_init(|| LineIndex::new(&self.text))
    }

    pub fn playbook(&self) -> Arc<Playbook> {
        self.playbook.get_or_init(|| Arc::new(playbook::parse(&self.text))).clone()
    }

    pub fn case(&self) -> Arc<Case> {
        self.case.get_or_init(|| Arc::new(Case::parse(&self.text))).clone()
    }
}

/// What kind of document an open file is: any Markdown is a playbook to lint; YAML is a case
/// when it is named like one or has a `playbook:` key (the shared rule in the engine).
pub fn kind_of(path_or_uri: &str, text: &str) -> Option<Kind> {
    match workspace::kind_by_name(path_or_uri)? {
        Kind::Playbook => Some(Kind::Playbook),
        Kind::Case => {
            let named = path_or_uri.rsplit('/').next().is_some_and(|n| n.to_ascii_lowercase().starts_with("working_case"));
            (named || workspace::looks_like(text) == Some(Kind::Case)).then_some(Kind::Case)
        }
    }
}

#[derive(Debug, Clone)]
pub struct World {
    pub docs: HashMap<Uri, Arc<Document>>,
    pub roots: Vec<PathBuf>,
    pub encoding: ColumnUnit,
    /// The client accepts snippet completions and snippet edits.
    pub snippets: bool,
    /// The client accepts versioned `documentChanges` in workspace edits (else plain `changes`).
    pub document_changes: bool,
    /// The current phase recorded in `.playbook/state.json`, per case folder: read once by
    /// the actor and refreshed by watched-file events, never on a request's path.
    pub phases: HashMap<PathBuf, Option<u32>>,
    /// What the builds on disk say, per case folder: read by the actor when a case folder is
    /// first seen and again when a build changes it, never on a request's path.
    pub builds: HashMap<PathBuf, Arc<BuildHistory>>,
    /// The client said the workspace is trusted: only then may anything run.
    pub trusted: bool,
    /// The client supports `workspace/codeLens/refresh`.
    pub lens_refresh: bool,
}

impl Default for World {
    fn default() -> Self {
        World {
            docs: HashMap::new(),
            roots: Vec::new(),
            encoding: ColumnUnit::Utf16,
            snippets: false,
            document_changes: false,
            phases: HashMap::new(),
            builds: HashMap::new(),
            trusted: false,
            lens_refresh: false,
        }
    }
}

/// A case with the playbook it names, both resolved.
pub struct CaseView {
    pub case_doc: Arc<Document>,
    pub case: Arc<Case>,
    pub playbook_doc: Option<Arc<Document>>,
    /// Why the playbook could not be found, when it could not.
    pub playbook_error: Option<String>,
}

impl World {
    pub fn get(&self, uri: &Uri) -> Option<&Arc<Document>> {
        self.docs.get(uri)
    }

    /// Convert a byte span of `doc` to an LSP range in the negotiated encoding.
    pub fn range(&self, doc: &Document, span: &Span) -> Range {
        let index = doc.line_index();
        Range { start: self.position(doc, index, span.start), end: self.position(doc, index, span.end) }
    }

    fn position(&self, doc: &Document, index: &LineIndex, offset: usize) -> Position {
        let lc = index.line_col(&doc.text, offset, self.encoding);
        Position { line: lc.line, character: lc.col }
    }

    /// Convert an LSP position to a byte offset of `doc` (clamped to the text).
    pub fn offset(&self, doc: &Document, position: Position) -> usize {
        doc.line_index().offset(&doc.text, LineCol { line: position.line, col: position.character }, self.encoding)
    }

    /// The document a case names in `playbook:`, resolved relative to the case.
    /// While the case does not parse (the user is typing), its `playbook:` line still names it.
    pub fn playbook_uri_for(&self, case_doc: &Document, case: &Case) -> Option<Uri> {
        let path = match &case.playbook {
            Some(r) => Some(r.path.clone()),
            None if case.syntax_error.is_some() => crate::features::completion::playbook_line(&case_doc.text),
            None => None,
        }
        .filter(|p| !p.is_empty())?;
        let dir = case_doc.path.as_ref()?.parent()?;
        Uri::from_file_path(normalize(&dir.join(path)))
    }

    pub fn case_view(&self, case_doc: &Arc<Document>) -> CaseView {
        let case = case_doc.case();
        let (playbook_doc, playbook_error) = match self.playbook_uri_for(case_doc, &case) {
            None => (None, None),
            Some(uri) => match self.docs.get(&uri) {
                Some(doc) if !doc.playbook().phases.is_empty() => (Some(doc.clone()), None),
                Some(_) => (None, Some(analysis::NOT_A_PLAYBOOK.to_string())),
                None => (None, Some("no such file".to_string())),
            },
        };
        CaseView { case_doc: case_doc.clone(), case, playbook_doc, playbook_error }
    }

    /// Every case document (open or on disk) whose `playbook:` names `playbook_uri`.
    pub fn cases_using(&self, playbook_uri: &Uri) -> Vec<Arc<Document>> {
        let mut cases: Vec<Arc<Document>> = self
            .docs
            .values()
            .filter(|d| d.kind == Kind::Case && self.playbook_uri_for(d, &d.case()).as_ref() == Some(playbook_uri))
            .cloned()
            .collect();
        cases.sort_by(|a, b| a.uri.as_str().cmp(b.uri.as_str()));
        cases
    }

    /// The workspace a file belongs to: the root that contains it, else its folder.
    pub fn root_of(&self, path: &Path) -> PathBuf {
        self.roots
            .iter()
            .filter(|r| path.starts_with(r))
            .max_by_key(|r| r.as_os_str().len())
            .cloned()
            .unwrap_or_else(|| path.parent().map(Path::to_path_buf).unwrap_or_default())
    }

    /// The current phase number from `.playbook/state.json` next to the case.
    pub fn current_phase(&self, case_doc: &Document) -> Option<u32> {
        let dir = case_doc.path.as_ref()?.parent()?;
        self.phases.get(dir).copied().flatten()
    }

    /// The builds recorded beside a case.
    pub fn builds_of(&self, case_doc: &Document) -> Option<&Arc<BuildHistory>> {
        self.builds.get(case_doc.path.as_ref()?.parent()?)
    }

    /// Findings for a case (against its playbook) or a playbook.
    pub fn findings(&self, doc: &Arc<Document>) -> Vec<Finding> {
        match doc.kind {
            Kind::Playbook => analysis::lint_playbook(&doc.playbook(), &BUILTIN_HANDLERS),
            Kind::Case => {
                let view = self.case_view(doc);
                let playbook = view.playbook_doc.as_ref().map(|d| d.playbook());
                let playbook = playbook.as_deref().ok_or(view.playbook_error.as_deref().unwrap_or("no path given"));
                let probe = self.file_probe(doc);
                let ctx = CaseContext { current_phase: self.current_phase(doc), files: &probe };
                analysis::check_case_or_missing(&view.case, &doc.text, playbook, &ctx)
            }
        }
    }

    fn file_probe(&self, case_doc: &Document) -> FsProbe {
        let case_dir = case_doc.path.as_ref().and_then(|p| p.parent()).map(Path::to_path_buf).unwrap_or_default();
        FsProbe { root: self.root_of(&case_dir.join("x")), case_dir }
    }
}
