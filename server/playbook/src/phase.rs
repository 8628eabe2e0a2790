//! `playbook status` and `playbook phase complete|reopen|block|unblock`: the terminal shell
//! over the engine's phases. Exit codes: 0 done, 1 refused (every reason printed), 2 usage or
//! I/O errors.

use crate::build::{case_path, print_builds, recover_and_list};
use playbook_core::phase::{GapStatus, Reason};
use playbook_core::state::Transition;
use playbook_engine::phase::{self, Outcome, PhaseStatus};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
}

pub enum Action {
    Complete,
    Reopen { to: Option<u32> },
    Block,
    Unblock,
}

/// Print an error and return exit code 2.
pub fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

/// `playbook status`: the phase, its gate, reports and builds. Jobs left running by a dead
/// process are marked `interrupted` first.
pub fn status(case: Option<PathBuf>, format: Format) -> ExitCode {
    let case = case_path(case);
    let dir = playbook_engine::project::case_dir(&case);
    let jobs = recover_and_list(&dir);
    let status = phase::status(&case);
    match format {
        Format::Json => match status {
            Ok(status) => {
                let mut value = serde_json::to_value(&status).expect("the status serialises");
                value["builds"] = serde_json::to_value(jobs.iter().map(|j| &j.record).collect::<Vec<_>>()).expect("jobs serialise");
                println!("{}", serde_json::to_string_pretty(&value).expect("JSON prints"));
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        },
        Format::Human => {
            let code = match &status {
                Ok(status) => {
                    print_status(status);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            };
            println!("builds:");
            print_builds(&dir, &jobs);
            code
        }
    }
}

fn print_status(s: &PhaseStatus) {
    let phases: Vec<String> = s
        .phases
        .iter()
        .map(|p| {
            let tag = if p.current {
                " (current)"
            } else if p.coming_soon {
                " (coming soon)"
            } else {
                ""
            };
            format!("{} {}{tag}", p.number, p.name)
        })
        .collect();
    println!("{} — playbook {}", s.case, s.playbook);
    println!("Phase {}: {}{}", s.phase, s.name, if s.build_phase { " (build phase)" } else { "" });
    println!("phases: {}", phases.join(" · "));
    if s.blocked {
        println!("blocked: {}", s.blocked_reason.as_deref().unwrap_or("no reason recorded"));
    }
    let missing = if s.missing.is_empty() {
        String::new()
    } else {
        let shown: Vec<&str> = s.missing.iter().take(10).map(String::as_str).collect();
        let more = if s.missing.len() > 10 { format!(" and {} more", s.missing.len() - 10) } else { String::new() };
        format!(" — missing: {}{more}", shown.join(", "))
    };
    println!("answered {}/{} required{missing}", s.answered, s.required);
    match &s.report {
        None => println!("report: none declared by this phase's Output"),
        Some(r) if r.versions.is_empty() => println!("report: {} — no version yet", r.name),
        Some(r) => {
            let versions: Vec<String> = r
                .versions
                .iter()
                .map(|v| {
                    let status = v.status.map_or("unreadable", |s| s.as_str());
                    let stale = if v.status.is_some() && !v.matches_answers { ", answers changed since" } else { "" };
                    format!("v{} {status}{stale}", v.version)
                })
                .collect();
            println!("report: {} — {}", r.name, versions.join(", "));
        }
    }
    match &s.last_build {
        Some(job) => println!("last build: {} {}", job.id, job.status.as_str()),
        None if s.build_phase => println!("last build: none"),
        None => {}
    }
    let next = s.gate.next.as_ref().map(|n| format!("Phase {}: {}", n.number, n.name)).unwrap_or_else(|| "no next phase".into());
    if s.gate.holds {
        println!("gate to {next}: holds (`playbook phase complete` advances)");
    } else {
        println!("gate to {next}: refused");
        print_reasons(&s.gate.reasons);
    }
    if !s.gate.gap_checks.is_empty() {
        println!("gap analysis:");
        for c in &s.gate.gap_checks {
            let mark = match c.status {
                GapStatus::Passed => "✓",
                GapStatus::Failed => "✗",
                GapStatus::Manual => "[ ]",
            };
            let detail = c.detail.as_deref().map(|d| format!(" — {d}")).unwrap_or_default();
            println!("  {mark} {}{detail}", c.text);
        }
    }
    let manual: Vec<&str> = s.gate.checklist.iter().filter(|c| c.kind == "activity").map(|c| c.text.as_str()).collect();
    if !manual.is_empty() {
        println!("manual Activities:");
        for m in manual {
            println!("  [ ] {m}");
        }
    }
    if !s.history.is_empty() {
        println!("history:");
        for t in &s.history {
            println!("  {}", transition_line(t));
        }
    }
    for w in &s.warnings {
        eprintln!("warning: {w}");
    }
}

pub fn print_reasons(reasons: &[Reason]) {
    for r in reasons {
        println!("  ✗ {}", r.message);
    }
}

fn transition_line(t: &Transition) -> String {
    let moves = if t.from == t.to { format!("Phase {}", t.from) } else { format!("Phase {} → Phase {}", t.from, t.to) };
    let why = t.reason.as_deref().map(|r| format!(" — {r}")).unwrap_or_default();
    format!("{}  {:<8} {moves}  by {}{why}", t.at, t.action.as_str(), t.by)
}

/// `playbook phase complete|reopen|block|unblock`.
pub fn run(action: Action, case: Option<PathBuf>, reason: Option<String>, format: Format) -> ExitCode {
    let case = case_path(case);
    let reason = reason.as_deref();
    let result = match action {
        Action::Complete => phase::complete(&case, reason),
        Action::Reopen { to } => phase::reopen(&case, to, reason.unwrap_or("")),
        Action::Block => phase::block(&case, reason.unwrap_or("")),
        Action::Unblock => phase::unblock(&case, reason),
    };
    match result {
        Err(e) => fail(&e),
        Ok(Outcome::Done(t)) => {
            match format {
                Format::Json => println!("{}", json!({"ok": true, "transition": t})),
                Format::Human => println!("{}", transition_line(&t)),
            }
            ExitCode::SUCCESS
        }
        Ok(Outcome::Refused(reasons)) => {
            print_refusal(&reasons, format, "refused:");
            ExitCode::from(1)
        }
    }
}

/// A refusal: every reason, on stdout (JSON `{"ok": false, "reasons": [...]}` with `--format json`).
pub fn print_refusal(reasons: &[Reason], format: Format, header: &str) {
    match format {
        Format::Json => println!("{}", json!({"ok": false, "reasons": reasons})),
        Format::Human => {
            println!("{header}");
            print_reasons(reasons);
        }
    }
}
