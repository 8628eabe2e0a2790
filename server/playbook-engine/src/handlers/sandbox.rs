//! `deploy_local_sandbox` and `run_smoke_tests`: the compose stack of [`layout::COMPOSE`]
//! brought up (after tearing down any earlier one) and waited on until every service is
//! healthy, then the generated pytest suite run against it.

use super::containers::{connect, engine_host, runtime, setting};
use super::inputs::{RegistryInputs, layout};
use super::outputs::{read_output, write_output};
use crate::build::handler::{Ran, describe_exit, last_lines, run_streamed};
use crate::build::{StepContext, StepOutcome};
use bollard::Docker;
use bollard::query_parameters::{ListContainersOptionsBuilder, LogsOptionsBuilder};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DEFAULT_API_PORT: u16 = 18080;
const DEFAULT_UI_PORT: u16 = 18081;
const DEFAULT_TIMEOUT_SECS: u64 = 120;
/// The compose service whose `/health` is the API's, and the one serving the staff portal.
const API_SERVICE: &str = "api";
const UI_SERVICE: &str = "staff-portal";
/// Lines of a process's output, or of a service's log, that a failure message shows.
use crate::build::handler::RAN_TAIL_LINES as TAIL_LINES;

/// What `deploy_local_sandbox` records; `run_smoke_tests` reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxDeployment {
    pub api_url: String,
    pub ui_url: String,
    pub project: String,
}

/// What `run_smoke_tests` records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmokeTestResults {
    pub tests: u64,
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
    /// The failing (and erroring) tests, `classname::name`.
    pub failures: Vec<String>,
}

/// The compose command line to use: program, leading arguments, and how to name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ComposeCli {
    pub program: String,
    pub args: Vec<String>,
}

impl ComposeCli {
    fn describe(&self) -> String {
        std::iter::once(self.program.as_str()).chain(self.args.iter().map(String::as_str)).collect::<Vec<_>>().join(" ")
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.args);
        command
    }
}

/// True when `program args… version` runs and exits 0.
fn answers_version(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .arg("version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `DOCKER_COMPOSE_CMD` (split on whitespace, never through a shell), else the first of
/// `docker compose`, `docker-compose`, `podman-compose` that answers `version`.
pub(crate) fn detect_compose(ctx: &StepContext<'_>) -> Result<ComposeCli, String> {
    if let Some(text) = setting(ctx, "DOCKER_COMPOSE_CMD") {
        let mut words = text.split_whitespace().map(str::to_string);
        let program = words.next().unwrap_or_default();
        return Ok(ComposeCli { program, args: words.collect() });
    }
    let candidates: [(&str, &[&str]); 3] = [("docker", &["compose"]), ("docker-compose", &[]), ("podman-compose", &[])];
    for (program, args) in candidates {
        if answers_version(program, args) {
            return Ok(ComposeCli { program: program.to_string(), args: args.iter().map(|a| a.to_string()).collect() });
        }
    }
    Err("no compose CLI found: install the Docker Compose plugin (`docker compose`), `docker-compose` (Debian package) or \
         `podman-compose` (PyPI), or set DOCKER_COMPOSE_CMD to the command to run (e.g. `docker-compose`)"
        .to_string())
}

fn port_from_env(ctx: &StepContext<'_>, name: &str, default: u16) -> Result<u16, String> {
    match setting(ctx, name) {
        Some(text) => text
            .trim()
            .parse()
            .map_err(|_| format!("{name}={text} is not a port number (1–65535)"))
            .and_then(|p: u16| if p == 0 { Err(format!("{name}=0 is not a port number (1–65535)")) } else { Ok(p) }),
        _ => Ok(default),
    }
}

fn timeout_from_env(ctx: &StepContext<'_>) -> Result<Duration, String> {
    match setting(ctx, "SANDBOX_TIMEOUT_SECS") {
        Some(text) => text
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|s| *s > 0)
            .map(Duration::from_secs)
            .ok_or_else(|| format!("SANDBOX_TIMEOUT_SECS={text} is not a whole number of seconds")),
        _ => Ok(Duration::from_secs(DEFAULT_TIMEOUT_SECS)),
    }
}

pub struct DeployLocalSandbox;

impl crate::build::Handler for DeployLocalSandbox {
    fn settings(&self) -> &'static [&'static str] {
        &["DOCKER_HOST", "DOCKER_COMPOSE_CMD", "SANDBOX_API_PORT", "SANDBOX_UI_PORT"]
    }

    fn run(&self, ctx: &StepContext<'_>) -> StepOutcome {
        match deploy(ctx) {
            Ok(outcome) => outcome,
            Err(e) => StepOutcome::Failed(e),
        }
    }
}

fn deploy(ctx: &StepContext<'_>) -> Result<StepOutcome, String> {
    let inputs = RegistryInputs::from_case(ctx.case)?;
    let project = inputs.sandbox_project();
    if !ctx.workspace.join(layout::COMPOSE).is_file() {
        return Err(format!("{} does not exist: generate_deployment_files writes it; run that Activity first", layout::COMPOSE));
    }
    let api_port = port_from_env(ctx, "SANDBOX_API_PORT", DEFAULT_API_PORT)?;
    let ui_port = port_from_env(ctx, "SANDBOX_UI_PORT", DEFAULT_UI_PORT)?;
    let timeout = timeout_from_env(ctx)?;
    let compose = detect_compose(ctx)?;
    ctx.log(None, format!("compose CLI: {}; project {project}; ports api {api_port}, ui {ui_port}", compose.describe()));

    let compose_run = |args: &[&str]| -> Result<Option<()>, String> {
        let mut command = compose.command();
        command
            .args(["-p", project.as_str(), "-f", layout::COMPOSE])
            .args(args)
            .env("SANDBOX_API_PORT", api_port.to_string())
            .env("SANDBOX_UI_PORT", ui_port.to_string())
            .env("DOCKER_HOST", engine_host(ctx));
        let what = format!("{} {}", compose.describe(), args.join(" "));
        match run_streamed(ctx, command, &what, Some(timeout))? {
            Ran::Cancelled => Ok(None),
            Ran::Exited(status, _) if status.success() => Ok(Some(())),
            Ran::Exited(status, tail) => Err(format!("`{what}` {}:\n{tail}", describe_exit(status))),
        }
    };
    // Tear down an earlier sandbox of this registry first (containers, network, orphans). An
    // engine may still be removing the containers when compose removes the network ("network
    // is being used"): try again once, then go on and let `up` say what is in the way.
    // `--volumes`: each build's smoke tests start from an empty database, not from every earlier run's records.
    let down = ["down", "--remove-orphans", "--volumes", "--timeout", "5"];
    match compose_run(&down) {
        Ok(Some(())) => {}
        Ok(None) => return Ok(StepOutcome::Cancelled),
        // A compose CLI that cannot even start will not start on a second try either.
        Err(first) if first.starts_with("cannot start ") => return Err(first),
        Err(first) => {
            ctx.log(None, format!("tearing down the earlier sandbox failed; trying once more: {}", first.lines().next().unwrap_or("")));
            std::thread::sleep(Duration::from_secs(2));
            match compose_run(&down) {
                Ok(Some(())) => {}
                Ok(None) => return Ok(StepOutcome::Cancelled),
                Err(second) => ctx.log(None, format!("warning: the earlier sandbox could not be torn down completely: {second}")),
            }
        }
    }
    // An engine can fail to start a container for passing reasons (runc's "write child: broken
    // pipe" under load): tear the half-started stack down and try once more before failing.
    match compose_run(&["up", "-d"]) {
        Ok(Some(())) => {}
        Ok(None) => return Ok(StepOutcome::Cancelled),
        Err(first) if first.starts_with("cannot start ") || first.contains("did not finish within") => return Err(first),
        Err(first) => {
            ctx.log(
                None,
                format!("bringing the sandbox up failed; tearing it down and trying once more: {}", first.lines().last().unwrap_or("")),
            );
            if let Ok(None) = compose_run(&down) {
                return Ok(StepOutcome::Cancelled);
            }
            std::thread::sleep(Duration::from_secs(2));
            if compose_run(&["up", "-d"])
                .map_err(|second| format!("{second}\n(the first attempt failed too: {})", first.lines().last().unwrap_or("")))?
                .is_none()
            {
                return Ok(StepOutcome::Cancelled);
            }
        }
    }

    let deployment = SandboxDeployment {
        api_url: format!("http://127.0.0.1:{api_port}"),
        ui_url: format!("http://127.0.0.1:{ui_port}"),
        project: project.clone(),
    };
    let rt = runtime()?;
    match rt.block_on(wait_healthy(ctx, &deployment, timeout))? {
        Waited::Healthy => {}
        Waited::Cancelled => return Ok(StepOutcome::Cancelled),
        Waited::Failed(message) => return Err(message),
    }
    write_output(ctx.workspace, "deploy_local_sandbox", &deployment)?;
    ctx.log(None, format!("sandbox {project} healthy: API {}, staff portal {}", deployment.api_url, deployment.ui_url));
    Ok(StepOutcome::Succeeded)
}

enum Waited {
    Healthy,
    Cancelled,
    Failed(String),
}

/// One poll's view of a service: healthy, or why not.
type Verdicts = BTreeMap<String, Result<(), String>>;

async fn http_ok(client: &reqwest::Client, url: &str) -> Result<(), String> {
    match client.get(url).send().await {
        Ok(response) if response.status().is_success() => Ok(()),
        Ok(response) => Err(format!("GET {url} answered {}", response.status())),
        Err(e) => Err(format!("GET {url} failed: {}", without_url(&e))),
    }
}

fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        text = format!("{text}: {inner}");
        source = inner.source();
    }
    text
}

/// Poll until every service is healthy: the API's `/health` and the portal answer, and every
/// container of the project runs and passes its healthcheck. Engines that run no healthcheck
/// timers (podman without systemd) leave health at `starting`: then the handler runs the
/// container's healthcheck command itself, through an exec.
async fn wait_healthy(ctx: &StepContext<'_>, deployment: &SandboxDeployment, timeout: Duration) -> Result<Waited, String> {
    let client =
        reqwest::Client::builder().timeout(Duration::from_secs(3)).build().map_err(|e| format!("cannot make an HTTP client: {e}"))?;
    let docker = match connect(ctx).await {
        Ok(docker) => Some(docker),
        Err(e) => {
            ctx.log(None, format!("container states cannot be read ({e}); waiting on the URLs alone"));
            None
        }
    };
    let started = Instant::now();
    let mut last: Verdicts = BTreeMap::new();
    let mut containers: HashMap<String, String> = HashMap::new();
    loop {
        if ctx.cancel.is_cancelled() {
            return Ok(Waited::Cancelled);
        }
        let mut verdicts: Verdicts = BTreeMap::new();
        verdicts.insert(API_SERVICE.to_string(), http_ok(&client, &format!("{}/health", deployment.api_url)).await);
        verdicts.insert(UI_SERVICE.to_string(), http_ok(&client, &format!("{}/", deployment.ui_url)).await);
        if let Some(docker) = &docker {
            match container_verdicts(docker, &deployment.project).await {
                Ok(found) => {
                    for (service, (id, verdict)) in found {
                        containers.insert(service.clone(), id);
                        match verdict {
                            ContainerVerdict::Ready => {}
                            ContainerVerdict::Waiting(why) => {
                                let entry = verdicts.entry(service).or_insert(Ok(()));
                                *entry = Err(match entry.as_ref() {
                                    Err(http) => format!("{http}; {why}"),
                                    Ok(()) => why,
                                });
                            }
                            ContainerVerdict::Exited(why) => {
                                let logs = match containers.get(&service) {
                                    Some(id) => container_logs(docker, id).await,
                                    None => String::new(),
                                };
                                return Ok(Waited::Failed(format!("sandbox service `{service}` {why}; its last log lines:\n{logs}")));
                            }
                        }
                    }
                }
                Err(e) => ctx.log(None, format!("cannot list the sandbox's containers: {e}")),
            }
        }
        if verdicts.values().all(Result::is_ok) {
            return Ok(Waited::Healthy);
        }
        if verdicts != last {
            for (service, verdict) in &verdicts {
                if last.get(service) != Some(verdict) {
                    let state = match verdict {
                        Ok(()) => "healthy".to_string(),
                        Err(why) => format!("waiting: {why}"),
                    };
                    ctx.log(None, format!("{service}: {state}"));
                }
            }
            last = verdicts.clone();
        }
        if started.elapsed() >= timeout {
            let mut message = format!("the sandbox {} did not become healthy within {} s", deployment.project, timeout.as_secs());
            for (service, verdict) in &verdicts {
                if let Err(why) = verdict {
                    message.push_str(&format!("\n`{service}` is not healthy: {why}"));
                    let mut logs = match (&docker, containers.get(service)) {
                        (Some(docker), Some(id)) => container_logs(docker, id).await,
                        _ => NO_OUTPUT.to_string(),
                    };
                    // The engine's log API has answered empty for a container that had printed
                    // (podman 4.3 under load): ask the compose CLI before saying there is none.
                    if logs == NO_OUTPUT {
                        logs = compose_logs(ctx, deployment, service);
                    }
                    message.push_str(&format!("\nlast log lines of `{service}`:\n{logs}"));
                }
            }
            return Ok(Waited::Failed(message));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

enum ContainerVerdict {
    Ready,
    Waiting(String),
    Exited(String),
}

/// The project's containers by compose service: each one's id and verdict.
async fn container_verdicts(docker: &Docker, project: &str) -> Result<BTreeMap<String, (String, ContainerVerdict)>, String> {
    let filters = HashMap::from([("label".to_string(), vec![format!("com.docker.compose.project={project}")])]);
    let options = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
    let list = docker.list_containers(Some(options)).await.map_err(|e| e.to_string())?;
    let mut found = BTreeMap::new();
    for summary in list {
        let Some(id) = summary.id.clone() else { continue };
        let service = summary.labels.as_ref().and_then(|l| l.get("com.docker.compose.service")).cloned().unwrap_or_else(|| id.clone());
        let inspect = docker.inspect_container(&id, None).await.map_err(|e| e.to_string())?;
        let state = inspect.state.unwrap_or_default();
        let status = state.status.map(|s| s.to_string()).unwrap_or_default();
        let verdict = if state.running != Some(true) {
            if matches!(status.as_str(), "exited" | "dead") {
                ContainerVerdict::Exited(format!("exited (code {})", state.exit_code.unwrap_or_default()))
            } else {
                ContainerVerdict::Waiting(format!("container {status}"))
            }
        } else {
            let health = state.health.and_then(|h| h.status).map(|s| s.to_string()).unwrap_or_default();
            match health.as_str() {
                "" | "none" | "healthy" => ContainerVerdict::Ready,
                "unhealthy" => ContainerVerdict::Waiting("container unhealthy".to_string()),
                _ => {
                    let test = inspect.config.and_then(|c| c.healthcheck).and_then(|h| h.test).unwrap_or_default();
                    match run_healthcheck(docker, &id, &test).await {
                        Ok(()) => ContainerVerdict::Ready,
                        Err(why) => ContainerVerdict::Waiting(format!("health {health}: {why}")),
                    }
                }
            }
        };
        found.insert(service, (id, verdict));
    }
    Ok(found)
}

/// Run a container's healthcheck (`["CMD", …]` or `["CMD-SHELL", "…"]`) through an exec.
async fn run_healthcheck(docker: &Docker, id: &str, test: &[String]) -> Result<(), String> {
    let cmd: Vec<String> = match test.split_first() {
        Some((kind, rest)) if kind == "CMD" && !rest.is_empty() => rest.to_vec(),
        Some((kind, rest)) if kind == "CMD-SHELL" && !rest.is_empty() => vec!["/bin/sh".into(), "-c".into(), rest.join(" ")],
        _ => return Err("the healthcheck has not passed yet".to_string()),
    };
    let exec = docker
        .create_exec(
            id,
            bollard::exec::CreateExecOptions { cmd: Some(cmd), attach_stdout: Some(true), attach_stderr: Some(true), ..Default::default() },
        )
        .await
        .map_err(|e| format!("cannot run the healthcheck: {e}"))?;
    let mut said = String::new();
    match docker.start_exec(&exec.id, None).await.map_err(|e| format!("cannot run the healthcheck: {e}"))? {
        bollard::exec::StartExecResults::Attached { mut output, .. } => {
            let run = async {
                while let Some(Ok(chunk)) = output.next().await {
                    said.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
                }
            };
            if tokio::time::timeout(Duration::from_secs(10), run).await.is_err() {
                return Err("the healthcheck took over 10 s".to_string());
            }
        }
        bollard::exec::StartExecResults::Detached => {}
    }
    // The exit code can lag the end of the output a little.
    for _ in 0..20 {
        let inspect = docker.inspect_exec(&exec.id).await.map_err(|e| format!("cannot read the healthcheck's result: {e}"))?;
        if inspect.running != Some(true) {
            let said = last_lines(said.trim(), 3);
            let said = if said.is_empty() { String::new() } else { format!(": {said}") };
            return match inspect.exit_code {
                Some(0) => Ok(()),
                Some(code) => Err(format!("the healthcheck exited with {code}{said}")),
                None => Err(format!("the healthcheck did not finish{said}")),
            };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("the healthcheck is still running after 12 s".to_string())
}

/// A container's last log lines, through the engine.
async fn container_logs(docker: &Docker, id: &str) -> String {
    let options = LogsOptionsBuilder::default().stdout(true).stderr(true).tail(&TAIL_LINES.to_string()).build();
    let mut stream = docker.logs(id, Some(options));
    let mut text = String::new();
    let read = async {
        while let Some(item) = stream.next().await {
            match item {
                Ok(chunk) => text.push_str(&String::from_utf8_lossy(&chunk.into_bytes())),
                Err(e) => {
                    text.push_str(&format!("(cannot read more of the log: {e})"));
                    break;
                }
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), read).await;
    if text.trim().is_empty() { NO_OUTPUT.to_string() } else { last_lines(&text, TAIL_LINES) }
}

/// What a service's log excerpt says when it has no lines.
const NO_OUTPUT: &str = "(no output)";

/// A service's last log lines through the compose CLI (when the engine cannot be asked).
fn compose_logs(ctx: &StepContext<'_>, deployment: &SandboxDeployment, service: &str) -> String {
    let Ok(compose) = detect_compose(ctx) else { return "(no compose CLI to read the logs)".to_string() };
    let output = compose
        .command()
        .args(["-p", deployment.project.as_str(), "-f", layout::COMPOSE, "logs", "--no-color", "--tail", &TAIL_LINES.to_string(), service])
        .current_dir(ctx.workspace)
        .env("DOCKER_HOST", engine_host(ctx))
        .stdin(Stdio::null())
        .output();
    match output {
        Ok(out) => last_lines(&format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)), TAIL_LINES),
        Err(e) => format!("(cannot run {}: {e})", compose.describe()),
    }
}

pub struct RunSmokeTests;

impl crate::build::Handler for RunSmokeTests {
    fn settings(&self) -> &'static [&'static str] {
        &["SMOKE_TEST_PYTHON", "PLAYWRIGHT_CHROMIUM_EXECUTABLE"]
    }

    fn run(&self, ctx: &StepContext<'_>) -> StepOutcome {
        match smoke_tests(ctx) {
            Ok(outcome) => outcome,
            Err(e) => StepOutcome::Failed(e),
        }
    }
}

fn smoke_tests(ctx: &StepContext<'_>) -> Result<StepOutcome, String> {
    let deployment: SandboxDeployment = read_output(ctx.workspace, "deploy_local_sandbox")?
        .ok_or("no sandbox recorded: deploy_local_sandbox writes the URLs the smoke tests run against; run it first")?;
    if !ctx.workspace.join(layout::TESTS).is_dir() {
        return Err(format!("{} does not exist: generate_test_suite writes it; run that Activity first", layout::TESTS));
    }
    let results_dir = ctx.workspace.join(layout::TEST_RESULTS);
    std::fs::create_dir_all(&results_dir).map_err(|e| format!("cannot create {}: {e}", layout::TEST_RESULTS))?;
    let junit_rel = format!("{}/junit.xml", layout::TEST_RESULTS);
    let junit = ctx.workspace.join(&junit_rel);
    let _ = std::fs::remove_file(&junit);

    let python = setting(ctx, "SMOKE_TEST_PYTHON").unwrap_or_else(|| "python3".to_string());
    let mut command = Command::new(python.trim());
    command
        .args(["-m", "pytest", layout::TESTS, "-q", "--junitxml", junit_rel.as_str()])
        .env("SANDBOX_API_URL", &deployment.api_url)
        .env("SANDBOX_UI_URL", &deployment.ui_url);
    if let Some(chromium) = setting(ctx, "PLAYWRIGHT_CHROMIUM_EXECUTABLE") {
        command.env("PLAYWRIGHT_CHROMIUM_EXECUTABLE", chromium);
    }
    ctx.log(None, format!("{python} -m pytest {} against {} and {}", layout::TESTS, deployment.api_url, deployment.ui_url));
    let (status, tail) = match run_streamed(ctx, command, &format!("{python} -m pytest"), None)? {
        Ran::Cancelled => return Ok(StepOutcome::Cancelled),
        Ran::Exited(status, tail) => (status, tail),
    };
    let code = status.code();
    if code == Some(5) {
        return Err(format!("pytest collected no tests in {} (exit 5): the suite is empty or not found\n{tail}", layout::TESTS));
    }
    let results = match std::fs::read_to_string(&junit) {
        Ok(xml) => parse_junit(&xml),
        Err(_) if !status.success() => {
            return Err(format!("pytest {} and wrote no JUnit report (is pytest installed for {python}?):\n{tail}", describe_exit(status)));
        }
        Err(e) => return Err(format!("pytest passed but {junit_rel} cannot be read: {e}")),
    };
    write_output(ctx.workspace, "run_smoke_tests", &results)?;
    ctx.log(None, format!("{} tests: {} passed, {} failed, {} skipped", results.tests, results.passed, results.failed, results.skipped));
    match code {
        Some(0) if results.failed == 0 => Ok(StepOutcome::Succeeded),
        Some(0) => Err(format!("pytest passed but its report lists failures: {}", results.failures.join(", "))),
        Some(1) => Err(format!(
            "{} of {} smoke tests failed: {} (details in the log and {junit_rel})",
            results.failed,
            results.tests,
            if results.failures.is_empty() { "(the report names none)".to_string() } else { results.failures.join(", ") }
        )),
        _ => Err(format!("pytest {} (an internal, usage or interruption error):\n{tail}", describe_exit(status))),
    }
}

/// Read a JUnit XML report (pytest's): counts, and the names of failing or erroring tests.
pub(crate) fn parse_junit(xml: &str) -> SmokeTestResults {
    let mut results = SmokeTestResults { tests: 0, passed: 0, failed: 0, skipped: 0, failures: Vec::new() };
    let mut rest = xml;
    while let Some(at) = rest.find("<testcase") {
        rest = &rest[at + "<testcase".len()..];
        if !rest.starts_with(|c: char| c.is_whitespace() || c == '>' || c == '/') {
            continue;
        }
        let Some(tag_end) = rest.find('>') else { break };
        let tag = &rest[..tag_end];
        let attrs = attributes(tag.trim_end_matches('/'));
        let body = if tag.ends_with('/') {
            ""
        } else {
            let end = rest.find("</testcase>").unwrap_or(rest.len());
            &rest[tag_end + 1..end]
        };
        results.tests += 1;
        let name = match (attrs.get("classname").filter(|c| !c.is_empty()), attrs.get("name")) {
            (Some(class), Some(name)) => format!("{class}::{name}"),
            (None, Some(name)) => name.clone(),
            (Some(class), None) => class.clone(),
            (None, None) => format!("test #{}", results.tests),
        };
        if body.contains("<failure") || body.contains("<error") {
            results.failed += 1;
            results.failures.push(name);
        } else if body.contains("<skipped") {
            results.skipped += 1;
        } else {
            results.passed += 1;
        }
    }
    results
}

/// `key="value"` pairs of a tag, entities decoded.
fn attributes(tag: &str) -> HashMap<String, String> {
    let mut attrs = HashMap::new();
    let mut rest = tag;
    while let Some(eq) = rest.find('=') {
        let key = rest[..eq].trim().rsplit(char::is_whitespace).next().unwrap_or_default().to_string();
        let after = rest[eq + 1..].trim_start();
        let Some(quote) = after.chars().next().filter(|c| *c == '"' || *c == '\'') else { break };
        let Some(close) = after[1..].find(quote) else { break };
        attrs.insert(key, unescape(&after[1..1 + close]));
        rest = &after[close + 2..];
    }
    attrs
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"").replace("&apos;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junit_reports_are_counted_and_failures_named() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" failures="1" skipped="1" tests="4">
<testcase classname="tests.test_api" name="test_health" time="0.01" />
<testcase classname="tests.test_api" name="test_create[a&amp;b]" time="0.02"><failure message="assert 1 == 2">boom</failure></testcase>
<testcase classname="tests.test_ui" name="test_page" time="0"><skipped type="pytest.skip" message="no browser">skip</skipped></testcase>
<testcase classname="tests.test_ui" name="test_setup" time="0"><error message="fixture">x</error></testcase>
</testsuite></testsuites>"#;
        let r = parse_junit(xml);
        assert_eq!((r.tests, r.passed, r.failed, r.skipped), (4, 1, 2, 1));
        assert_eq!(r.failures, ["tests.test_api::test_create[a&b]", "tests.test_ui::test_setup"]);
        assert_eq!(parse_junit("not xml").tests, 0);
    }

    #[test]
    fn only_the_last_lines_are_kept() {
        let text: String = (0..100).map(|i| format!("l{i}\n")).collect();
        let tail = last_lines(&text, 3);
        assert_eq!(tail, "l97\nl98\nl99");
    }
}
