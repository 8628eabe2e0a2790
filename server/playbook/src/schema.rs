//! `playbook schema CASE`: print the JSON Schema of a working case's answers (the core's
//! `schema::case_schema`), so that other YAML tools can validate the case too.

use playbook_core::analysis::NOT_A_PLAYBOOK;
use playbook_core::case::Case;
use playbook_core::playbook;
use playbook_core::schema::case_schema;
use playbook_engine::workspace::{current_phase, read_text};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const DEFAULT_CASE: &str = "working_case.yaml";

/// Exit 0 with the schema on stdout; 2 when the case or its playbook cannot be read.
pub fn run(case: Option<PathBuf>) -> ExitCode {
    match schema(case) {
        Ok(text) => {
            let mut stdout = std::io::stdout().lock();
            match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: cannot write the schema: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn schema(case: Option<PathBuf>) -> Result<String, String> {
    let path = match case {
        Some(dir) if dir.is_dir() => dir.join(DEFAULT_CASE),
        Some(path) => path,
        None => PathBuf::from(DEFAULT_CASE),
    };
    let text = read_text(&path)?;
    let case = Case::parse(&text);
    if let Some(e) = &case.syntax_error {
        return Err(format!("{}: YAML syntax error: {}", path.display(), e.message));
    }
    let reference = case.playbook.as_ref().map(|r| r.path.as_str()).filter(|p| !p.is_empty());
    let Some(reference) = reference else {
        return Err(format!("{} has no `playbook:` naming its playbook", path.display()));
    };
    let case_dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
    let playbook_path = case_dir.join(reference);
    let playbook = playbook::parse(&read_text(&playbook_path)?);
    if playbook.phases.is_empty() {
        return Err(format!("{}: {NOT_A_PLAYBOOK}", playbook_path.display()));
    }
    let mut warn = |m: String| eprintln!("warning: {m}");
    let phase = current_phase(&case_dir, &mut warn);
    serde_json::to_string_pretty(&case_schema(&playbook, &case, phase)).map_err(|e| format!("cannot print the schema: {e}"))
}
