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
