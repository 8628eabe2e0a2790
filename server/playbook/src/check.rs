//! `playbook check`: find the documents, run the core on them, print the findings.

use crate::render::{self, Located, LocatedRelated, Sources};
use playbook_core::analysis::{self, BUILTIN_HANDLERS, CaseContext};
use playbook_core::case::Case;
use playbook_core::finding::{self, DocRef, Finding, Severity};
use playbook_core::playbook::{self, Playbook};
use playbook_engine::workspace::{
    DocumentKind as Kind, FsProbe, current_phase, document_files, kind_by_name, looks_like, read_text, scanned_kind, workspace_root,
};
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;
use std::rc::Rc;

struct Loaded {
    display: String,
    text: String,
    playbook: Playbook,
}

pub fn run(paths: &[PathBuf], format: render::Format, color: bool, deny_warnings: bool) -> ExitCode {
    let default = [PathBuf::from(".")];
    let paths = if paths.is_empty() { &default[..] } else { paths };
    let mut problems = Vec::new();
    let inputs = collect(paths, &mut problems);
    let mut checker = Checker { sources: Sources::new(), findings: Vec::new(), playbooks: HashMap::new(), problems };
    for (path, kind) in &inputs {
        match kind {
            Kind::Playbook => checker.playbook(path),
            Kind::Case => checker.case(path),
        }
    }
    let Checker { sources, mut findings, problems, .. } = checker;
    findings.sort_by(|a, b| (&a.file, a.line, a.column, a.rule).cmp(&(&b.file, b.line, b.column, b.rule)));
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = render::render(format, &findings, &sources, inputs.len(), color, &mut stdout) {
        eprintln!("error: cannot write the report: {e}");
        return ExitCode::from(2);
    }
    for problem in &problems {
        eprintln!("error: {problem}");
    }
    let errors = findings.iter().any(|f| f.severity == Severity::Error);
    let warnings = findings.iter().any(|f| f.severity == Severity::Warning);
    if !problems.is_empty() {
        ExitCode::from(2)
    } else if errors || (deny_warnings && warnings) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

struct Checker {
    sources: Sources,
    findings: Vec<Located>,
    /// Parsed playbooks by canonical path: many cases share one.
    playbooks: HashMap<PathBuf, Result<Rc<Loaded>, String>>,
    /// Documents that could not be checked at all (unreadable, not UTF-8, too large).
    problems: Vec<String>,
}

impl Checker {
    fn load_playbook(&mut self, path: &Path) -> Result<Rc<Loaded>, String> {
        let key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        self.playbooks
            .entry(key)
            .or_insert_with(|| {
                let text = read_text(path)?;
                let playbook = playbook::parse(&text);
                Ok(Rc::new(Loaded { display: display_path(path), text, playbook }))
            })
            .clone()
    }

    fn playbook(&mut self, path: &Path) {
        let loaded = match self.load_playbook(path) {
            Ok(l) => l,
            Err(e) => return self.problems.push(e),
        };
        let mut found = analysis::lint_playbook(&loaded.playbook, &BUILTIN_HANDLERS);
        finding::sort(&mut found);
        self.add_source(&loaded.display, &loaded.text);
        for f in found {
            self.findings.push(locate(&f, &self.sources, &loaded.display, &loaded.display));
        }
    }

    fn case(&mut self, path: &Path) {
        let text = match read_text(path) {
            Ok(t) => t,
            Err(e) => return self.problems.push(e),
        };
        let display = display_path(path);
        self.add_source(&display, &text);
        let case = Case::parse(&text);
        let case_dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
        // A case whose YAML does not parse is not followed to its playbook.
        let target = case.playbook.as_ref().filter(|r| !r.path.is_empty() && case.syntax_error.is_none()).map(|r| case_dir.join(&r.path));
        let loaded = match target.as_deref().map(|p| self.load_playbook(p)) {
            Some(Ok(loaded)) if !loaded.playbook.phases.is_empty() => Ok(loaded),
            Some(Ok(_)) => Err(analysis::NOT_A_PLAYBOOK.to_string()),
            Some(Err(e)) => Err(e),
            None => Err("no path given".to_string()),
        };
        let mut warn = |m: String| eprintln!("warning: {m}");
        let phase = current_phase(&case_dir, &mut warn);
        let probe = FsProbe { root: workspace_root(&case_dir), case_dir: case_dir.clone() };
        let ctx = CaseContext { current_phase: phase, files: &probe };
        let mut found = analysis::check_case_or_missing(&case, &text, loaded.as_ref().map(|l| &l.playbook).map_err(String::as_str), &ctx);
        let playbook_doc = loaded.ok();
        if let Some(l) = &playbook_doc {
            self.add_source(&l.display, &l.text);
        }
        finding::sort(&mut found);
        let playbook_file = playbook_doc.as_ref().map_or(display.as_str(), |l| l.display.as_str());
        for f in found {
            self.findings.push(locate(&f, &self.sources, &display, playbook_file));
        }
    }

    /// Keep a document's text (and line table) for positions and snippets, once per file.
    fn add_source(&mut self, display: &str, text: &str) {
        if !self.sources.contains(display) {
            self.sources.insert(display.to_string(), text.to_string());
        }
    }
}

/// Place a core finding in real files (both already in `sources`).
fn locate(f: &Finding, sources: &Sources, case_file: &str, playbook_file: &str) -> Located {
    let pick = |doc: DocRef| {
        let file = if doc == DocRef::Case { case_file } else { playbook_file };
        let (text, index) = sources.get_indexed(file).expect("documents are added to sources before their findings are placed");
        (file, text, index)
    };
    let (file, text, index) = pick(f.doc);
    let mut located = Located::at_indexed(f.rule.id(), f.severity, file, text, index, f.span.clone(), f.message.clone());
    located.notes = f.notes.clone();
    located.item = f.item.clone();
    for r in &f.related {
        let (file, text, index) = pick(r.doc);
        located.related.push(LocatedRelated::at_indexed(file, text, index, r.span.clone(), r.message.clone()));
    }
    located
}

/// Expand the command-line paths into documents to check, in a stable order.
fn collect(paths: &[PathBuf], problems: &mut Vec<String>) -> Vec<(PathBuf, Kind)> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            for file in document_files(path) {
                match file {
                    Ok(file) => out.extend(sniff(&file).map(|kind| (file, kind))),
                    Err(e) => problems.push(e),
                }
            }
        } else if path.exists() {
            match explicit_kind(path) {
                Some(kind) => out.push((path.clone(), kind)),
                None => problems.push(format!("{} is neither a playbook (.md) nor a working case (.yaml)", path.display())),
            }
        } else {
            problems.push(format!("{}: no such file or directory", path.display()));
        }
    }
    out
}

/// A file named on the command line is checked by its name (or, failing that, its content).
fn explicit_kind(path: &Path) -> Option<Kind> {
    let name = path.to_string_lossy();
    kind_by_name(&name).or_else(|| looks_like(&String::from_utf8_lossy(&std::fs::read(path).ok()?)))
}

/// In a directory, only documents that look like ours are checked: Markdown with a
/// `## Phase <n>` heading, YAML with a top-level `playbook:` key.
fn sniff(path: &Path) -> Option<Kind> {
    let name = path.to_string_lossy();
    let bytes = std::fs::read(path).ok()?;
    scanned_kind(&name, &String::from_utf8_lossy(&bytes))
}

/// A path as people want to read it: relative stays relative, `a/b/../c` becomes `a/c`.
fn display_path(path: &Path) -> String {
    let mut parts: Vec<Component<'_>> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(parts.last(), Some(Component::Normal(_))) => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    let joined: PathBuf = parts.iter().collect();
    let s = joined.to_string_lossy().replace('\\', "/");
    if s.is_empty() { ".".into() } else { s }
}
