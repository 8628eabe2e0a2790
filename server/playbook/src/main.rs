//! `playbook`: the command-line shell over the core (and, later, the language server).

mod build;
mod check;
mod phase;
mod render;
mod report;
mod schema;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "playbook", version, about = "Check, serve and build playbook-as-code: Markdown playbooks and their YAML working cases.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the language server over stdio.
    Lsp {
        /// Accepted for editors that pass it; stdio is the only transport.
        #[arg(long)]
        stdio: bool,
        /// Write logs to this file instead of stderr (never stdout: that is the protocol).
        #[arg(long)]
        log_file: Option<PathBuf>,
    },
    /// Check playbooks and working cases; exit 1 when any error is found.
    Check {
        /// Playbooks (.md), working cases (.yaml) or directories to search for both [default: .]
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
        format: OutputFormat,
        /// Also exit 1 when there are warnings.
        #[arg(long)]
        deny_warnings: bool,
        /// Colour for human output.
        #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
        color: ColorChoice,
    },
    /// Run the current phase's Activities as one job; exit 0 succeeded, 1 failed, 130 aborted.
    Build {
        /// The working case [default: working_case.yaml]
        case: Option<PathBuf>,
        /// Stop before the first remote Activity.
        #[arg(long)]
        local: bool,
        /// Run only this Activity.
        #[arg(long, value_name = "NAME")]
        activity: Option<String>,
        /// Run every step, even unchanged ones.
        #[arg(long)]
        force: bool,
        /// Also redact the value of this environment variable (repeatable).
        #[arg(long = "secret", value_name = "VAR")]
        secrets: Vec<String>,
    },
    /// Print a job's events.jsonl (JOB is a job id or a job directory).
    Events {
        job: String,
        /// The working case the job belongs to [default: working_case.yaml]
        #[arg(long)]
        case: Option<PathBuf>,
        /// Keep printing new events until the job ends.
        #[arg(long)]
        follow: bool,
    },
    /// Show the case's phase, its gate (every blocking reason), answered/required items, report
    /// versions and builds (jobs left running by a dead process become `interrupted`).
    Status {
        /// The working case, or a folder holding working_case.yaml [default: working_case.yaml]
        case: Option<PathBuf>,
        /// Output format (json: documented in docs/phases.md).
        #[arg(long, value_enum, default_value_t = phase::Format::Human)]
        format: phase::Format,
    },
    /// Generate or approve versions of the phase's report (reports/phase-<n>-<slug>-v<k>.md).
    Report {
        #[command(subcommand)]
        action: ReportAction,
    },
    /// Move between phases: exit 0 done, 1 refused (every reason printed), 2 usage or I/O error.
    Phase {
        #[command(subcommand)]
        action: PhaseAction,
    },
    /// Print the JSON Schema (draft-07) of a working case's answers, from its playbook, for
    /// other YAML tools (yaml-language-server: `# yaml-language-server: $schema=<file>`).
    Schema {
        /// The working case, or its directory [default: working_case.yaml]
        case: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ReportAction {
    /// Write a new draft version of the current phase's report (never replaces a file).
    Generate {
        /// The working case [default: working_case.yaml]
        case: Option<PathBuf>,
        /// The phase whose report to generate [default: the current phase]
        #[arg(long, value_name = "N")]
        phase: Option<u32>,
        #[arg(long, value_enum, default_value_t = phase::Format::Human)]
        format: phase::Format,
    },
    /// Approve a version (the newest by default); the previous approved version becomes superseded.
    Approve {
        /// The working case [default: working_case.yaml]
        case: Option<PathBuf>,
        /// The version to approve [default: the newest]
        #[arg(long, value_name = "K")]
        version: Option<u32>,
        /// The phase whose report to approve [default: the current phase]
        #[arg(long, value_name = "N")]
        phase: Option<u32>,
        #[arg(long, value_enum, default_value_t = phase::Format::Human)]
        format: phase::Format,
    },
}

#[derive(Subcommand)]
enum PhaseAction {
    /// Advance one phase when the gate holds; otherwise print every blocking reason (exit 1).
    Complete {
        /// The working case [default: working_case.yaml]
        case: Option<PathBuf>,
        /// Why (recorded in the history).
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        #[arg(long, value_enum, default_value_t = phase::Format::Human)]
        format: phase::Format,
    },
    /// Go back to an earlier phase (the previous one unless --to); a reason is required.
    Reopen {
        /// The working case [default: working_case.yaml]
        case: Option<PathBuf>,
        /// Why (required; recorded in the history).
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        /// The phase to go back to [default: the one before the current phase]
        #[arg(long, value_name = "N")]
        to: Option<u32>,
        #[arg(long, value_enum, default_value_t = phase::Format::Human)]
        format: phase::Format,
    },
    /// Block the current phase (it cannot be completed until unblocked); a reason is required.
    Block {
        /// The working case [default: working_case.yaml]
        case: Option<PathBuf>,
        /// Why (required; recorded in state.json and the history).
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        #[arg(long, value_enum, default_value_t = phase::Format::Human)]
        format: phase::Format,
    },
    /// Unblock the current phase.
    Unblock {
        /// The working case [default: working_case.yaml]
        case: Option<PathBuf>,
        /// Why (recorded in the history).
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        #[arg(long, value_enum, default_value_t = phase::Format::Human)]
        format: phase::Format,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum OutputFormat {
    Human,
    Json,
    Sarif,
}

#[derive(Clone, Copy, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Lsp { stdio: _, log_file } => lsp(log_file),
        Command::Check { paths, format, deny_warnings, color } => {
            let format = match format {
                OutputFormat::Human => render::Format::Human,
                OutputFormat::Json => render::Format::Json,
                OutputFormat::Sarif => render::Format::Sarif,
            };
            let color = match color {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => {
                    use std::io::IsTerminal;
                    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                }
            };
            check::run(&paths, format, color, deny_warnings)
        }
        Command::Build { case, local, activity, force, secrets } => {
            build::build(case, playbook_engine::build::BuildOptions { local_only: local, activity, force, secret_names: secrets })
        }
        Command::Events { job, case, follow } => build::events(&job, case, follow),
        Command::Status { case, format } => phase::status(case, format),
        Command::Report { action } => match action {
            ReportAction::Generate { case, phase, format } => report::generate(case, phase, format),
            ReportAction::Approve { case, version, phase, format } => report::approve(case, phase, version, format),
        },
        Command::Phase { action } => match action {
            PhaseAction::Complete { case, reason, format } => phase::run(phase::Action::Complete, case, reason, format),
            PhaseAction::Reopen { case, reason, to, format } => phase::run(phase::Action::Reopen { to }, case, reason, format),
            PhaseAction::Block { case, reason, format } => phase::run(phase::Action::Block, case, reason, format),
            PhaseAction::Unblock { case, reason, format } => phase::run(phase::Action::Unblock, case, reason, format),
        },
        Command::Schema { case } => schema::run(case),
    }
}

fn lsp(log_file: Option<PathBuf>) -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PLAYBOOK_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(false);
    match log_file {
        Some(path) => match std::fs::OpenOptions::new().create(true).append(true).open(&path) {
            Ok(file) => builder.with_writer(std::sync::Mutex::new(file)).init(),
            Err(e) => {
                eprintln!("error: cannot open log file {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
        None => builder.with_writer(std::io::stderr).init(),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let outcome = runtime.block_on(playbook_lsp::serve(tokio::io::stdin(), tokio::io::stdout()));
    // Do not wait for the blocking stdin reader: `exit` must end the process promptly.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    // LSP: exit code 0 only when `shutdown` came first.
    if outcome.shutdown_requested { ExitCode::SUCCESS } else { ExitCode::from(1) }
}
