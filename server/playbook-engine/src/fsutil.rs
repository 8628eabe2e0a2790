//! Writing project files safely: every rewrite is atomic (a temp file in the same folder, then
//! rename), new files never replace an existing one, and writers of one case take a lock.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// A temp file name beside `path`, unique in this process.
fn temp_beside(path: &Path) -> PathBuf {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.{}.tmp", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed)))
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let mut file =
        OpenOptions::new().write(true).create_new(true).open(path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    file.write_all(bytes).and_then(|_| file.sync_all()).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Replace `path` with `bytes` atomically: readers see the old file or the new one, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp = temp_beside(path);
    write_synced(&tmp, bytes)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot replace {}: {e}", path.display())
    })
}

/// Create `path` with `bytes`, complete or not at all, and never over an existing file.
pub fn write_new(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp = temp_beside(path);
    write_synced(&tmp, bytes)?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    linked.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            format!("{} already exists; it is never overwritten", path.display())
        } else {
            format!("cannot create {}: {e}", path.display())
        }
    })
}

/// An exclusive lock on a case's project files (`.playbook/lock`), held until dropped, so that
/// the CLI and the language server never interleave read-modify-write cycles.
pub struct CaseLock {
    _file: File,
}

impl CaseLock {
    pub fn acquire(case_dir: &Path) -> Result<CaseLock, String> {
        let dir = case_dir.join(".playbook");
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let path = dir.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a descriptor we own; the lock goes with the descriptor.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if rc != 0 {
            return Err(format!("cannot lock {}: {}", path.display(), std::io::Error::last_os_error()));
        }
        Ok(CaseLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_files_are_never_replaced_and_atomic_writes_replace() {
        let dir = std::env::temp_dir().join(format!("playbook-fsutil-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.md");
        let _ = std::fs::remove_file(&path);
        write_new(&path, b"one").unwrap();
        assert!(write_new(&path, b"two").unwrap_err().contains("never overwritten"));
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        write_atomic(&path, b"three").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"three");
        let names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1, "no temp files left: {names:?}");
        let _lock = CaseLock::acquire(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
