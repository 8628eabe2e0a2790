//! `playbook`: the command-line shell over the core (and, later, the language server).

mod check;
mod render;
mod workspace;

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
    }
}
