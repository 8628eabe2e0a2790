//! The extension side of the registry build: `generate_extension_files` (the package from the
//! reference's layout, the provider's Register files and the deterministic shared files),
//! `review_extension_code` (the provider's review plus the contract checks) and
//! `compile_extension` (`python3 -m py_compile` over every file). See docs/handlers/extension.md.

mod compile;
mod generate;
mod review;
pub mod shared;

pub use compile::CompileExtension;
pub use generate::GenerateExtensionFiles;
pub use review::ReviewExtensionCode;

use crate::handlers::codegen::GeneratedFile;
use std::path::Path;

/// Every file under `dir` (recursively, sorted, relative with `/`), skipping `.git`,
/// `__pycache__` and symbolic links.
fn list_files(dir: &Path) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let walker = walkdir::WalkDir::new(dir).follow_links(false).sort_by_file_name().into_iter().filter_entry(|e| {
        let name = e.file_name().to_string_lossy();
        e.depth() == 0 || !(name == ".git" || name == "__pycache__")
    });
    for entry in walker {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let relative = entry.path().strip_prefix(dir).map_err(|e| e.to_string())?;
        let parts: Vec<String> = relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        out.push(parts.join("/"));
    }
    Ok(out)
}

/// The UTF-8 files under `dir` as [`GeneratedFile`]s (others are skipped and counted).
fn load_text_files(dir: &Path) -> Result<(Vec<GeneratedFile>, usize), String> {
    let mut files = Vec::new();
    let mut skipped = 0;
    for path in list_files(dir)? {
        let bytes = std::fs::read(dir.join(&path)).map_err(|e| format!("cannot read {}: {e}", dir.join(&path).display()))?;
        match String::from_utf8(bytes) {
            Ok(contents) => files.push(GeneratedFile { path, contents }),
            Err(_) => skipped += 1,
        }
    }
    Ok((files, skipped))
}
