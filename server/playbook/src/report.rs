//! `playbook report generate|approve`: versioned reports beside the case. Exit codes: 0 done,
//! 1 refused (every reason printed), 2 usage or I/O errors.

use crate::build::case_path;
use crate::phase::{Format, fail, print_refusal};
use playbook_engine::phase::Outcome;
use playbook_engine::report;
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

/// Write a new draft version of the phase's report.
pub fn generate(case: Option<PathBuf>, phase: Option<u32>, format: Format) -> ExitCode {
    let case = case_path(case);
    match report::generate_with(&case, phase, None) {
        Err(e) => fail(&e),
        Ok(g) => {
            for w in &g.warnings {
                eprintln!("warning: {w}");
            }
            match format {
                Format::Json => println!("{}", json!({"ok": true, "report": g})),
                Format::Human => println!("wrote {} ({} v{}, draft)", g.path.display(), g.report, g.version),
            }
            ExitCode::SUCCESS
        }
    }
}

/// Approve a version (the newest by default); the previous approved version is superseded.
pub fn approve(case: Option<PathBuf>, phase: Option<u32>, version: Option<u32>, format: Format) -> ExitCode {
    let case = case_path(case);
    match report::approve_phase(&case, phase, version) {
        Err(e) => fail(&e),
        Ok(Outcome::Refused(reasons)) => {
            print_refusal(&reasons, format, "cannot approve:");
            ExitCode::from(1)
        }
        Ok(Outcome::Done(a)) => {
            match format {
                Format::Json => println!("{}", json!({"ok": true, "approved": a})),
                Format::Human if a.unchanged => {
                    println!("{} v{} is already the approved version ({})", a.report, a.version, a.path.display())
                }
                Format::Human => {
                    let superseded: Vec<String> = a.superseded.iter().map(|v| format!("v{v}")).collect();
                    let note = if superseded.is_empty() { String::new() } else { format!("; {} superseded", superseded.join(", ")) };
                    println!("approved {} v{} ({}){note}", a.report, a.version, a.path.display());
                }
            }
            ExitCode::SUCCESS
        }
    }
}
