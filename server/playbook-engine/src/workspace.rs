//! The file system as the core needs it: reading documents, probing file answers inside the
//! workspace, and the project state next to a case.

use playbook_core::state::parse_state;
use playbook_core::types::{FileProbe, FileStatus, looks_like_image};
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// Documents larger than this are refused with a message rather than parsed.
pub const MAX_DOCUMENT_BYTES: u64 = 64 * 1024 * 1024;

/// Read a document as UTF-8, with a message that says what is wrong when it cannot be.
pub fn read_text(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if meta.is_dir() {
        return Err(format!("{} is a directory", path.display()));
    }
    if meta.len() > MAX_DOCUMENT_BYTES {
        return Err(format!(
            "{} is {} MB; documents over {} MB are not checked",
            path.display(),
            meta.len() >> 20,
            MAX_DOCUMENT_BYTES >> 20
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        format!("{} is not valid UTF-8 (first bad byte at offset {at})", path.display())
    })
}

/// The two kinds of document the tools read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    Playbook,
    Case,
}

/// What a file is by its name: Markdown is a playbook, YAML a case. For files the user names
/// or opens; a workspace scan also asks [`looks_like`], so README.md or CI YAML is left alone.
pub fn kind_by_name(name: &str) -> Option<DocumentKind> {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".md") || lower.ends_with(".markdown") {
        Some(DocumentKind::Playbook)
    } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        Some(DocumentKind::Case)
    } else {
        None
    }
}

/// What a text is by its content: a top-level `playbook:` key makes a case, a
/// `## Phase <n>` heading a playbook. One rule for the CLI and the language server.
pub fn looks_like(text: &str) -> Option<DocumentKind> {
    let lines = || text.lines().map(|l| l.trim_start_matches('\u{feff}'));
    if lines().any(|l| l.starts_with("playbook:")) {
        Some(DocumentKind::Case)
    } else if lines().any(|l| l.trim_start().strip_prefix("## ").is_some_and(|h| h.trim_start().to_lowercase().starts_with("phase "))) {
        Some(DocumentKind::Playbook)
    } else {
        None
    }
}

/// Every file under `root` whose name says playbook or case, in a stable order, skipping
/// hidden folders (`.git`, `.playbook`), `node_modules` and `target`. Unreadable entries come
/// back as messages.
pub fn document_files(root: &Path) -> Vec<Result<PathBuf, String>> {
    walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            e.depth() == 0 || !(name.starts_with('.') || name == "node_modules" || name == "target")
        })
        .filter_map(|entry| match entry {
            Ok(e) if e.file_type().is_file() && kind_by_name(&e.file_name().to_string_lossy()).is_some() => Some(Ok(e.into_path())),
            Ok(_) => None,
            Err(e) => Some(Err(format!("cannot walk {}: {e}", root.display()))),
        })
        .collect()
}

/// A file a workspace scan should read: its name and content agree on its kind.
pub fn scanned_kind(name: &str, text: &str) -> Option<DocumentKind> {
    kind_by_name(name).filter(|kind| looks_like(text) == Some(*kind))
}

/// The workspace a case belongs to: the enclosing git work tree, else the case's folder.
pub fn workspace_root(case_dir: &Path) -> PathBuf {
    let start = case_dir.canonicalize().unwrap_or_else(|_| case_dir.to_path_buf());
    start.ancestors().find(|d| d.join(".git").exists()).map(Path::to_path_buf).unwrap_or(start)
}

/// The current phase recorded in `.playbook/state.json` beside the case, if any.
/// A state file that cannot be read is reported through `warn` and ignored.
pub fn current_phase(case_dir: &Path, warn: &mut dyn FnMut(String)) -> Option<u32> {
    let path = case_dir.join(".playbook").join("state.json");
    if !path.exists() {
        return None;
    }
    match read_text(&path).and_then(|text| parse_state(&text)) {
        Ok(state) => state.current_phase,
        Err(e) => {
            warn(format!("{e} ({}); assuming the first phase", path.display()));
            None
        }
    }
}

/// File answers resolve relative to the case and must stay inside the workspace.
pub struct FsProbe {
    pub case_dir: PathBuf,
    pub root: PathBuf,
}

impl FileProbe for FsProbe {
    fn probe(&self, answer: &str) -> FileStatus {
        let joined = self.case_dir.join(answer);
        let lexical = normalize(&joined);
        let root = self.root.canonicalize().unwrap_or_else(|_| self.root.clone());
        let resolved = match joined.canonicalize() {
            Ok(real) => real,
            Err(_) => {
                return if lexical.starts_with(&root) || lexical.starts_with(&self.root) {
                    FileStatus::Missing
                } else {
                    FileStatus::OutsideWorkspace
                };
            }
        };
        // Symlinks count by where they lead.
        if !resolved.starts_with(&root) {
            return FileStatus::OutsideWorkspace;
        }
        if resolved.is_dir() {
            return FileStatus::Directory;
        }
        let mut head = [0u8; 512];
        let read = std::fs::File::open(&resolved).and_then(|mut f| f.read(&mut head)).unwrap_or(0);
        FileStatus::File { image: looks_like_image(&head[..read]) }
    }
}

/// Resolve `.` and `..` without touching the file system (relative paths from the current directory).
pub fn normalize(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() { path.to_path_buf() } else { std::env::current_dir().unwrap_or_default().join(path) };
    let mut out = PathBuf::new();
    for part in absolute.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_told_apart_by_name_and_content() {
        assert_eq!(kind_by_name("a/Playbook.MD"), Some(DocumentKind::Playbook));
        assert_eq!(kind_by_name("working_case.yml"), Some(DocumentKind::Case));
        assert_eq!(kind_by_name("notes.txt"), None);
        assert_eq!(looks_like("\u{feff}playbook: x.md\nanswers: {}\n"), Some(DocumentKind::Case));
        assert_eq!(looks_like("# T\n\n##  Phase 1: One\n"), Some(DocumentKind::Playbook));
        assert_eq!(scanned_kind("README.md", "# Readme\n## Usage\n"), None);
        assert_eq!(scanned_kind("ci.yaml", "jobs: {}\n"), None);
        assert_eq!(scanned_kind("registry.md", "## Phase 1: One\n"), Some(DocumentKind::Playbook));
    }

    #[test]
    fn probes_stay_inside_the_workspace() {
        let dir = std::env::temp_dir().join(format!("playbook-probe-{}", std::process::id()));
        let case_dir = dir.join("case");
        std::fs::create_dir_all(&case_dir).unwrap();
        std::fs::write(case_dir.join("logo.png"), b"\x89PNG\r\n\x1a\nrest").unwrap();
        std::fs::write(case_dir.join("notes.txt"), b"hello").unwrap();
        std::fs::write(dir.join("outside.png"), b"\x89PNG\r\n\x1a\n").unwrap();
        let probe = FsProbe { case_dir: case_dir.clone(), root: case_dir.clone() };
        assert_eq!(probe.probe("logo.png"), FileStatus::File { image: true });
        assert_eq!(probe.probe("notes.txt"), FileStatus::File { image: false });
        assert_eq!(probe.probe("missing.png"), FileStatus::Missing);
        assert_eq!(probe.probe("../outside.png"), FileStatus::OutsideWorkspace);
        assert_eq!(probe.probe("/etc/passwd"), FileStatus::OutsideWorkspace);
        assert_eq!(probe.probe("."), FileStatus::Directory);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
