//! `compile_extension`: `python3 -m py_compile` over every Python file of `extension/`,
//! byte-compiled into a scratch folder (`PYTHONPYCACHEPREFIX`) so `extension/` stays clean.

use super::list_files;
use crate::build::{Handler, StepContext, StepOutcome};
use crate::handlers::inputs::layout;
use regex::Regex;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

pub struct CompileExtension;

/// How many compiler errors the failure lists at most.
const MAX_ERRORS: usize = 5;

/// The Python interpreter: `EXTENSION_PYTHON`, else `python3`.
fn python() -> String {
    std::env::var("EXTENSION_PYTHON").ok().filter(|p| !p.trim().is_empty()).unwrap_or_else(|| "python3".to_string())
}

enum Run {
    Ok,
    Failed(String),
    Cancelled,
}

/// Run py_compile over `files` (relative to `dir`), polling for cancellation.
fn py_compile(ctx: &StepContext<'_>, dir: &Path, scratch: &Path, files: &[String]) -> Result<Run, String> {
    let python = python();
    let mut child = Command::new(&python)
        .arg("-m")
        .arg("py_compile")
        .args(files)
        .current_dir(dir)
        .env("PYTHONPYCACHEPREFIX", scratch)
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `{python}`: {e} (install Python 3.11, or set EXTENSION_PYTHON to the interpreter)"))?;
    let stderr = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = stderr {
            let mut bytes = Vec::new();
            let _ = std::io::Read::read_to_end(&mut pipe, &mut bytes);
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        text
    });
    let status = loop {
        if ctx.cancel.is_cancelled() {
            let _ = child.kill();
            let _ = child.wait();
            let _ = reader.join();
            return Ok(Run::Cancelled);
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("cannot wait for `{python}`: {e}")),
        }
    };
    let stderr = reader.join().unwrap_or_default();
    if status.success() { Ok(Run::Ok) } else { Ok(Run::Failed(stderr)) }
}

/// `file:line: message` from py_compile's stderr for `file` (the one file compiled).
pub fn parse_error(file: &str, stderr: &str) -> String {
    // `  File "x.py", line 3` … `SyntaxError: invalid syntax`
    let located = Regex::new(r#"File "([^"]+)", line (\d+)"#).expect("valid regex");
    if let Some(caps) = located.captures(stderr) {
        let message = stderr.lines().rev().map(str::trim).find(|l| !l.is_empty()).unwrap_or("error");
        return format!("{}:{}: {message}", &caps[1], &caps[2]);
    }
    // `Sorry: IndentationError: unexpected indent (x.py, line 2)`
    let sorry = Regex::new(r"(?s)Sorry:\s*(.*?)\s*\(([^()]*), line (\d+)\)\s*$").expect("valid regex");
    if let Some(caps) = sorry.captures(stderr.trim()) {
        return format!("{file}:{}: {}", &caps[3], &caps[1]);
    }
    let first = stderr.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("py_compile failed without a message");
    format!("{file}: {first}")
}

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Handler for CompileExtension {
    fn settings(&self) -> &'static [&'static str] {
        &["EXTENSION_PYTHON"]
    }

    fn run(&self, ctx: &StepContext<'_>) -> StepOutcome {
        match compile(ctx) {
            Ok(outcome) => outcome,
            Err(message) => StepOutcome::Failed(message),
        }
    }
}

fn compile(ctx: &StepContext<'_>) -> Result<StepOutcome, String> {
    let dir = ctx.workspace.join(layout::EXTENSION);
    if !dir.is_dir() {
        return Err(format!("{} does not exist: run generate_extension_files first", dir.display()));
    }
    let files: Vec<String> = list_files(&dir)?.into_iter().filter(|p| p.ends_with(".py")).collect();
    if files.is_empty() {
        return Err("extension/ holds no Python file to compile: run generate_extension_files first".to_string());
    }
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let scratch = Scratch(std::env::temp_dir().join(format!("playbook-pycache-{}-{nanos}", std::process::id())));
    std::fs::create_dir_all(&scratch.0).map_err(|e| format!("cannot create {}: {e}", scratch.0.display()))?;

    // Everything at once; only when that fails, file by file, for every error (up to MAX_ERRORS).
    match py_compile(ctx, &dir, &scratch.0, &files)? {
        Run::Ok => {
            ctx.log(None, format!("{} Python files compile ({})", files.len(), python()));
            return Ok(StepOutcome::Succeeded);
        }
        Run::Cancelled => return Ok(StepOutcome::Cancelled),
        Run::Failed(_) => {}
    }
    let mut errors = Vec::new();
    let mut failed_files = 0;
    for file in &files {
        match py_compile(ctx, &dir, &scratch.0, std::slice::from_ref(file))? {
            Run::Ok => {}
            Run::Cancelled => return Ok(StepOutcome::Cancelled),
            Run::Failed(stderr) => {
                failed_files += 1;
                if errors.len() < MAX_ERRORS {
                    let error = parse_error(file, &stderr);
                    ctx.log(None, error.clone());
                    errors.push(error);
                }
            }
        }
    }
    if errors.is_empty() {
        return Err(format!("`{} -m py_compile` failed over extension/ but every file compiles on its own; rerun the step", python()));
    }
    Ok(StepOutcome::Failed(format!("{failed_files} of {} Python files do not compile: {}", files.len(), errors.join("; "))))
}

#[cfg(test)]
mod tests {
    use super::parse_error;

    #[test]
    fn py_compile_messages_become_file_line_message() {
        let syntax = "  File \"pkg/a.py\", line 2\n    def f(:\n          ^\nSyntaxError: invalid syntax\n";
        assert_eq!(parse_error("pkg/a.py", syntax), "pkg/a.py:2: SyntaxError: invalid syntax");
        let sorry = "Sorry: IndentationError: unexpected indent (e.py, line 2)";
        assert_eq!(parse_error("pkg/e.py", sorry), "pkg/e.py:2: IndentationError: unexpected indent");
        assert_eq!(parse_error("pkg/x.py", "[Errno 2] No such file"), "pkg/x.py: [Errno 2] No such file");
    }
}
