//! A case and its playbook, read from disk together: what builds, phases and reports start from.

use crate::workspace::read_text;
use playbook_core::case::Case;
use playbook_core::playbook::{self, Playbook};
use std::path::{Path, PathBuf};

pub struct Project {
    pub case_path: PathBuf,
    /// The folder of the case: `.playbook/` and `reports/` live here.
    pub case_dir: PathBuf,
    pub case_text: String,
    pub case: Case,
    /// The `playbook:` value as written in the case.
    pub playbook_ref: String,
    pub playbook_path: PathBuf,
    pub playbook_text: String,
    pub playbook: Playbook,
}

/// The folder a case lives in (`.` for a bare file name).
pub fn case_dir(case_path: &Path) -> PathBuf {
    case_path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf()
}

/// Read a case and the playbook it names. Fails with a message that says what is wrong: the
/// case cannot be read or is not valid YAML, it names no playbook, the playbook cannot be
/// read or has no phases.
pub fn load(case_path: &Path) -> Result<Project, String> {
    let case_text = read_text(case_path)?;
    let case = Case::parse(&case_text);
    if let Some(e) = &case.syntax_error {
        return Err(format!("{} is not valid YAML: {}", case_path.display(), e.message));
    }
    let Some(reference) = case.playbook.as_ref().filter(|r| !r.path.is_empty()) else {
        return Err(format!("{} has no `playbook:` key", case_path.display()));
    };
    let playbook_ref = reference.path.clone();
    let case_dir = case_dir(case_path);
    let playbook_path = case_dir.join(&playbook_ref);
    let playbook_text = read_text(&playbook_path).map_err(|e| format!("the playbook named by {}: {e}", case_path.display()))?;
    let playbook = playbook::parse(&playbook_text);
    if playbook.phases.is_empty() {
        return Err(format!("{}: {}", playbook_path.display(), playbook_core::analysis::NOT_A_PLAYBOOK));
    }
    Ok(Project { case_path: case_path.to_path_buf(), case_dir, case_text, case, playbook_ref, playbook_path, playbook_text, playbook })
}
