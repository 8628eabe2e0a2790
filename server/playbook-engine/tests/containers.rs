//! The container Activities against a real engine: podman's Docker API (started through
//! `scripts/container-engine-setup` unless `DOCKER_HOST` already points at a live engine), a
//! real image registry (Debian's `docker-registry`, started here on a free loopback port), a
//! compose CLI, and pytest. Each test has its own workspace, image names, compose project and
//! ports, so they run in parallel.
//!
//! With `CI` set a missing component fails the test with the command that installs it;
//! without, the test prints SKIP and the reason.

use playbook_core::case::Case;
use playbook_core::playbook::{Playbook, parse};
use playbook_engine::build::events::read_events;
use playbook_engine::build::{CancelToken, EventKind, EventSink, Redactor, StepContext, StepOutcome};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

mod common;
use common::TempDir;

const SETUP_HINT: &str = "run `sudo bash scripts/container-engine-setup` (installs podman, runc, debootstrap, docker-registry, docker-compose and starts the engine)";

/// A name no other test (of this or a parallel run) uses.
fn unique() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{}{}{:x}", std::process::id(), N.fetch_add(1, Ordering::SeqCst), nanos % 0xffff)
}

/// Sandboxes of these tests start one at a time: an engine starting several stacks at once on a
/// loaded 2-core machine has failed container starts that a real build (one sandbox) never sees.
fn one_sandbox_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static SANDBOX: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SANDBOX.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn playbook() -> &'static Playbook {
    static PLAYBOOK: OnceLock<Playbook> = OnceLock::new();
    PLAYBOOK.get_or_init(|| parse(&std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../playbooks/registry.md")).unwrap()))
}

/// A case whose registry mnemonic (and so compose project) is unique to the test.
fn case_text(registry: &str) -> String {
    format!(
        "playbook: registry.md\nanswers:\n  organisation_mnemonic: pbt\n  registry_mnemonic: {registry}\n  register_mnemonics: {{Farms: farm}}\n  register_columns:\n    Farms:\n      - {{column_name: name, type: text}}\n"
    )
}

struct StepRun {
    outcome: StepOutcome,
    logs: Vec<String>,
}

/// Run one Activity's built-in handler in `workspace`, with step settings `env`.
fn run_step(activity: &str, workspace: &Path, case_text: &str, env: &[(&str, String)]) -> StepRun {
    let playbook = playbook();
    let activity = playbook.activities.iter().find(|a| a.name.text == activity).expect("the Activity is in registry.md");
    let registry = playbook_engine::handlers::registry();
    let handler = registry.handler_for(activity).unwrap();
    let events_path = workspace.with_extension("events.jsonl");
    let events = EventSink::open(&events_path, "test", 0, Redactor::from_env(&[]), None).unwrap();
    let case = Case::parse(case_text);
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    let cancel = CancelToken::new();
    let ctx = StepContext {
        activity,
        index: 0,
        workspace,
        env: &env,
        events: &events,
        cancel: &cancel,
        case: &case,
        case_path: &workspace.join("working_case.yaml"),
        case_text,
        case_dir: workspace,
        playbook,
        phase_number: Some(2),
    };
    let outcome = handler.run(&ctx);
    events.sync();
    let logs = read_events(&events_path, 0).unwrap().into_iter().filter(|e| e.kind == EventKind::Log).filter_map(|e| e.message).collect();
    let _ = std::fs::remove_file(&events_path);
    StepRun { outcome, logs }
}

fn output(workspace: &Path, activity: &str) -> Value {
    serde_json::from_slice(&std::fs::read(workspace.join(format!(".outputs/{activity}.json"))).unwrap()).unwrap()
}

fn failure(run: &StepRun) -> &str {
    match &run.outcome {
        StepOutcome::Failed(message) => message,
        other => panic!("expected a failure, got {other:?}; logs:\n{}", run.logs.join("\n")),
    }
}

fn assert_succeeded(run: &StepRun) {
    assert_eq!(run.outcome, StepOutcome::Succeeded, "logs:\n{}", run.logs.join("\n"));
}

/// A component is missing: fail under CI, else say SKIP.
fn missing(what: &str, hint: &str) -> Option<()> {
    if std::env::var_os("CI").is_some() {
        panic!("{what} is missing (CI is set, so this fails instead of skipping): {hint}");
    }
    eprintln!("SKIP: {what} is missing: {hint}");
    None
}

/// The engine the tests use.
struct Engine {
    docker_host: String,
    base_image: String,
}

impl Engine {
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![("DOCKER_HOST", self.docker_host.clone()), ("BUILD_BASE_IMAGE", self.base_image.clone())]
    }

    fn socket(&self) -> &str {
        self.docker_host.strip_prefix("unix://").unwrap_or(&self.docker_host)
    }

    /// A raw Docker-API GET through the unix socket: (status, body).
    fn get(&self, path: &str) -> (u16, String) {
        let mut stream = std::os::unix::net::UnixStream::connect(self.socket()).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(stream, "GET {path} HTTP/1.0\r\nHost: d\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
        (status, body)
    }

    fn image(&self, image: &str) -> Option<Value> {
        let (status, body) = self.get(&format!("/v1.41/images/{image}/json"));
        (status == 200).then(|| serde_json::from_str(&body).unwrap())
    }

    /// The ids of a compose project's containers.
    fn project_containers(&self, project: &str) -> Vec<String> {
        let filters = serde_json::json!({"label": [format!("com.docker.compose.project={project}")]}).to_string();
        let (_, body) = self.get(&format!("/v1.41/containers/json?all=true&filters={}", percent(&filters)));
        let list: Vec<Value> = serde_json::from_str(&body).unwrap_or_default();
        let mut ids: Vec<String> = list.iter().filter_map(|c| c["Id"].as_str().map(str::to_string)).collect();
        ids.sort();
        ids
    }
}

fn percent(text: &str) -> String {
    text.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

fn pings(socket: &str) -> bool {
    let Ok(mut stream) = std::os::unix::net::UnixStream::connect(socket) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    if write!(stream, "GET /_ping HTTP/1.0\r\nHost: d\r\n\r\n").is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.starts_with("HTTP/1.") && response.contains(" 200 ")
}

fn have(program: &str) -> bool {
    Command::new("sh").arg("-c").arg("command -v \"$0\"").arg(program).stdout(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// A live engine: `DOCKER_HOST` when it answers, else the one `scripts/container-engine-setup`
/// starts (idempotent: it reuses a running one). None (SKIP) only without `CI`.
fn engine() -> Option<&'static Engine> {
    static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();
    let result = ENGINE.get_or_init(|| {
        if let Ok(host) = std::env::var("DOCKER_HOST")
            && pings(host.strip_prefix("unix://").unwrap_or(&host))
        {
            let base_image = std::env::var("BUILD_BASE_IMAGE").unwrap_or_else(|_| "localhost/playbook-python:bookworm".to_string());
            return Ok(Engine { docker_host: host, base_image });
        }
        for program in ["podman", "runc", "debootstrap", "docker-registry", "docker-compose"] {
            if !have(program) {
                return Err(format!("`{program}` is not installed"));
            }
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/container-engine-setup");
        let started = Instant::now();
        let out = Command::new("bash").arg(script).env("ENGINE_REGISTRY", "").output().map_err(|e| format!("cannot run {script}: {e}"))?;
        if !out.status.success() {
            return Err(format!("{script} failed:\n{}", String::from_utf8_lossy(&out.stderr)));
        }
        eprintln!("container engine ready in {:.1} s", started.elapsed().as_secs_f64());
        let exports = String::from_utf8_lossy(&out.stdout);
        let var = |name: &str| exports.lines().find_map(|l| l.strip_prefix(&format!("export {name}=")).map(str::to_string));
        Ok(Engine {
            docker_host: var("DOCKER_HOST").ok_or("the setup script printed no DOCKER_HOST")?,
            base_image: var("BUILD_BASE_IMAGE").ok_or("the setup script printed no BUILD_BASE_IMAGE")?,
        })
    });
    match result {
        Ok(engine) => Some(engine),
        Err(e) => missing(&format!("a container engine ({e})"), SETUP_HINT).map(|_| unreachable!()),
    }
}

/// Debian's docker-registry on a free loopback port, storage in a temp dir; killed on drop.
struct ImageRegistry {
    child: Child,
    address: String,
    _dir: TempDir,
}

impl ImageRegistry {
    fn start(read_only: bool) -> ImageRegistry {
        let dir = TempDir::new("registry");
        let address = format!("127.0.0.1:{}", free_port());
        let readonly = if read_only { "  maintenance:\n    readonly:\n      enabled: true\n" } else { "" };
        let config = dir.0.join("config.yml");
        write(
            &config,
            &format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n{readonly}http:\n  addr: {address}\n",
                dir.0.join("data").display()
            ),
        );
        let child = Command::new("docker-registry").arg("serve").arg(&config).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let registry = ImageRegistry { child, address, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while http_get(&format!("http://{}/v2/", registry.address)).is_none() {
            assert!(Instant::now() < deadline, "docker-registry did not answer on {}", registry.address);
            std::thread::sleep(Duration::from_millis(50));
        }
        registry
    }
}

impl Drop for ImageRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// GET over HTTP/1.0 on loopback: (status, headers, body), None when nothing answers.
fn http_get(url: &str) -> Option<(u16, String, String)> {
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_once('/').map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let mut stream = std::net::TcpStream::connect(host).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\nAccept: application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    Some((status, head.to_string(), body.to_string()))
}

/// A deployment workspace with two images: `api` (its Dockerfile outside its context) and
/// `staff-portal` (Dockerfile inside), refs under `path`. `tag` in the RUN lines keeps the
/// engine's layer cache from skipping them.
fn image_workspace(dir: &Path, path: &str, tag: &str, api_run: &str) -> Vec<String> {
    let api = format!("{path}/pbt-{tag}-api:develop");
    let portal = format!("{path}/pbt-{tag}-staff-portal:develop");
    write(&dir.join("extension/pkg/__init__.py"), "VALUE = 1\n");
    write(
        &dir.join("deployment/docker/api/Dockerfile"),
        &format!(
            "ARG BASE_IMAGE=python:3.11-slim\nFROM ${{BASE_IMAGE}}\nARG BASE_IMAGE\nCOPY . /app\nRUN {api_run}\nCMD [\"python3\", \"-c\", \"import pkg\"]\n"
        ),
    );
    write(
        &dir.join("deployment/docker/staff-portal/Dockerfile"),
        &format!(
            "ARG BASE_IMAGE=python:3.11-slim\nFROM ${{BASE_IMAGE}}\nCOPY index.html /srv/index.html\nRUN test -f /srv/index.html && echo portal-marker {tag}\n"
        ),
    );
    write(&dir.join("deployment/docker/staff-portal/index.html"), "<h1>portal</h1>\n");
    let images = serde_json::json!([
        {"service": "api", "dockerfile": "deployment/docker/api/Dockerfile", "context": "extension", "image": api},
        {"service": "staff-portal", "dockerfile": "deployment/docker/staff-portal/Dockerfile", "context": "deployment/docker/staff-portal", "image": portal},
    ]);
    write(&dir.join("deployment/images.json"), &images.to_string());
    vec![api, portal]
}

#[test]
fn without_an_engine_the_image_steps_fail_saying_what_to_start() {
    let dir = TempDir::new("no-engine");
    let ws = dir.0.join("workspace");
    image_workspace(&ws, "localhost/pbt", "none", "true");
    // A socket file nobody listens on, and a path with no socket at all.
    let dead = dir.0.join("dead.sock");
    drop(std::os::unix::net::UnixListener::bind(&dead).unwrap());
    for host in [format!("unix://{}", dead.display()), format!("unix://{}", dir.0.join("absent.sock").display())] {
        for activity in ["build_images_locally", "push_images_to_registry"] {
            let run = run_step(activity, &ws, &case_text("none"), &[("DOCKER_HOST", host.clone())]);
            let message = failure(&run);
            assert!(message.contains(&format!("no container engine at {host}")), "{message}");
            assert!(message.contains("start Docker, or `podman system service --time=0"), "{message}");
            assert!(message.contains("set DOCKER_HOST"), "{message}");
        }
    }
    assert!(!ws.join(".outputs/build_images_locally.json").exists());
}

#[test]
fn images_build_from_dockerfiles_in_and_outside_their_context_and_push_to_a_registry() {
    let Some(engine) = engine() else { return };
    let dir = TempDir::new("build");
    let ws = dir.0.join("workspace");
    let registry = ImageRegistry::start(false);
    let tag = unique();
    let images = image_workspace(
        &ws,
        &format!("{}/pbt", registry.address),
        &tag,
        &format!("test -f /app/pkg/__init__.py && echo api-marker-$BASE_IMAGE {tag}"),
    );
    let case = case_text(&format!("b{tag}"));
    let mut _cleanup = RemoveImages(engine, images.clone());

    let started = Instant::now();
    let run = run_step("build_images_locally", &ws, &case, &engine.env());
    assert_succeeded(&run);
    eprintln!("two images built in {:.1} s", started.elapsed().as_secs_f64());
    // The build output streamed as log events, the build-arg reached the Dockerfile.
    assert!(run.logs.iter().any(|l| l.contains(&format!("api-marker-{}", engine.base_image))), "{:#?}", run.logs);
    assert!(run.logs.iter().any(|l| l.contains("portal-marker")), "{:#?}", run.logs);
    let built = output(&ws, "build_images_locally");
    let base = engine.image(&engine.base_image).expect("the base image exists");
    let base_layer = base["RootFS"]["Layers"][0].clone();
    for (i, (service, image)) in [("api", &images[0]), ("staff-portal", &images[1])].into_iter().enumerate() {
        let entry = &built["images"][i];
        assert_eq!((entry["service"].as_str(), entry["image"].as_str()), (Some(service), Some(image.as_str())));
        let inspect = engine.image(image).unwrap_or_else(|| panic!("{image} is not in the engine"));
        let id = inspect["Id"].as_str().unwrap();
        assert!(entry["id"].as_str().unwrap().ends_with(id.trim_start_matches("sha256:")), "{entry} vs {id}");
        assert_eq!(inspect["RootFS"]["Layers"][0], base_layer, "{image} is built FROM the base image");
    }

    let started = Instant::now();
    let run = run_step("push_images_to_registry", &ws, &case, &engine.env());
    assert_succeeded(&run);
    eprintln!("two images pushed in {:.1} s", started.elapsed().as_secs_f64());
    let pushed = output(&ws, "push_images_to_registry");
    for (i, image) in images.iter().enumerate() {
        let name = image.split_once('/').unwrap().1.split(':').next().unwrap();
        let (status, _, body) = http_get(&format!("http://{}/v2/{name}/tags/list", registry.address)).unwrap();
        assert_eq!(status, 200, "{body}");
        let tags: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(tags["tags"], serde_json::json!(["develop"]), "{body}");
        let (status, head, _) = http_get(&format!("http://{}/v2/{name}/manifests/develop", registry.address)).unwrap();
        assert_eq!(status, 200);
        let digest = head.lines().find_map(|l| l.strip_prefix("Docker-Content-Digest: ")).unwrap().trim().to_string();
        assert_eq!(pushed["pushed"][i]["image"], image.as_str());
        assert_eq!(pushed["pushed"][i]["digest"], digest.as_str(), "the recorded digest is the registry's");
    }

    // A registry that refuses the push: the step aborts with the registry's message.
    let refusing = ImageRegistry::start(true);
    let ws2 = dir.0.join("workspace2");
    let refs = image_workspace(&ws2, &format!("{}/pbt", refusing.address), &tag, "true");
    _cleanup.1.extend(refs.iter().cloned());
    for (from, to) in images.iter().zip(&refs) {
        let (name, tag) = to.rsplit_once(':').unwrap();
        let status = Command::new("podman").args(["--url", &engine.docker_host, "tag", from, &format!("{name}:{tag}")]).status();
        assert!(status.is_ok_and(|s| s.success()), "tagging {from} as {to}");
    }
    let run = run_step("push_images_to_registry", &ws2, &case, &engine.env());
    let message = failure(&run);
    assert!(message.contains(&format!("pushing {} to {} failed", refs[0], refusing.address)), "{message}");
    // The registry's answer as the engine relays it (a read-only registry refuses uploads).
    assert!(message.contains("405") && message.contains("blobs/uploads"), "{message}");
    assert!(!ws2.join(".outputs/push_images_to_registry.json").exists());
}

/// Removes the test's images from the engine when the test ends, passed or not.
struct RemoveImages<'a>(&'a Engine, Vec<String>);

impl Drop for RemoveImages<'_> {
    fn drop(&mut self) {
        for image in &self.1 {
            let _ = Command::new("podman").args(["--url", &self.0.docker_host, "rmi", "-f", image]).output();
        }
    }
}

#[test]
fn a_failing_run_instruction_shows_the_tail_of_the_build() {
    let Some(engine) = engine() else { return };
    let dir = TempDir::new("build-fail");
    let ws = dir.0.join("workspace");
    let tag = unique();
    let images = image_workspace(&ws, "localhost/pbt", &tag, &format!("echo tail-marker-one {tag} && echo tail-marker-two && exit 3"));
    let run = run_step("build_images_locally", &ws, &case_text(&format!("f{tag}")), &engine.env());
    let message = failure(&run);
    assert!(message.contains(&format!("building api ({}) failed", images[0])), "{message}");
    assert!(message.contains("tail-marker-two"), "the tail shows the RUN's output: {message}");
    assert!(message.contains("exit status 3") || message.contains("exit code: 3") || message.contains("exited with 3"), "{message}");
    assert!(engine.image(&images[0]).is_none());
    assert!(!ws.join(".outputs/build_images_locally.json").exists());
}

/// Compose services `api` and `staff-portal` on the base image: tiny python http.servers.
fn compose_workspace(dir: &Path, base_image: &str, portal_healthy: bool) {
    let serve = |marker: &str| {
        format!(
            "[\"sh\", \"-c\", \"mkdir -p /srv && cd /srv && echo ok > health && echo {marker} && exec python3 -u -m http.server 8080\"]"
        )
    };
    let portal_command = if portal_healthy {
        serve("portal-started")
    } else {
        "[\"python3\", \"-u\", \"-c\", \"print('never-healthy-marker'); import time; time.sleep(600)\"]".to_string()
    };
    // CMD-SHELL: podman 4.3's Docker API splits the arguments of a `CMD` healthcheck at spaces.
    let health = r#"["CMD-SHELL", "python3 -c \"import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health')\""]"#;
    write(
        &dir.join("deployment/docker-compose.sandbox.yaml"),
        &format!(
            "services:\n  api:\n    image: {base_image}\n    command: {api}\n    ports: [\"127.0.0.1:${{SANDBOX_API_PORT:-18080}}:8080\"]\n    healthcheck:\n      test: {health}\n      interval: 2s\n      timeout: 3s\n      retries: 30\n  staff-portal:\n    image: {base_image}\n    command: {portal_command}\n    ports: [\"127.0.0.1:${{SANDBOX_UI_PORT:-18081}}:8080\"]\n    healthcheck:\n      test: {health}\n      interval: 2s\n      timeout: 3s\n      retries: 30\n",
            api = serve("api-started"),
        ),
    );
}

/// Tears a compose project down when the test ends, passed or not.
struct ComposeDown<'a> {
    workspace: &'a Path,
    project: String,
    docker_host: String,
}

impl Drop for ComposeDown<'_> {
    fn drop(&mut self) {
        let _ = Command::new("docker-compose")
            .args(["-p", &self.project, "-f", "deployment/docker-compose.sandbox.yaml", "down", "--remove-orphans", "--timeout", "1"])
            .current_dir(self.workspace)
            .env("DOCKER_HOST", &self.docker_host)
            .output();
    }
}

fn sandbox_env(engine: &Engine, api_port: u16, ui_port: u16, timeout: u64) -> Vec<(&'static str, String)> {
    let mut env = engine.env();
    env.push(("SANDBOX_API_PORT", api_port.to_string()));
    env.push(("SANDBOX_UI_PORT", ui_port.to_string()));
    env.push(("SANDBOX_TIMEOUT_SECS", timeout.to_string()));
    env
}

#[test]
fn the_sandbox_comes_up_healthy_and_a_redeploy_replaces_it() {
    let Some(engine) = engine() else { return };
    let _one = one_sandbox_at_a_time();
    let dir = TempDir::new("sandbox");
    let ws = dir.0.join("workspace");
    compose_workspace(&ws, &engine.base_image, true);
    let registry = format!("s{}", unique());
    let project = format!("pbt-{registry}-sandbox");
    let _down = ComposeDown { workspace: &ws, project: project.clone(), docker_host: engine.docker_host.clone() };
    let (api_port, ui_port) = (free_port(), free_port());
    let env = sandbox_env(engine, api_port, ui_port, 90);

    let started = Instant::now();
    let run = run_step("deploy_local_sandbox", &ws, &case_text(&registry), &env);
    assert_succeeded(&run);
    eprintln!("sandbox deployed in {:.1} s", started.elapsed().as_secs_f64());
    let deployed = output(&ws, "deploy_local_sandbox");
    assert_eq!(
        deployed,
        serde_json::json!({"api_url": format!("http://127.0.0.1:{api_port}"), "ui_url": format!("http://127.0.0.1:{ui_port}"), "project": project})
    );
    assert_eq!(http_get(&format!("http://127.0.0.1:{api_port}/health")).map(|r| r.0), Some(200));
    assert_eq!(http_get(&format!("http://127.0.0.1:{ui_port}/health")).map(|r| r.0), Some(200));
    assert!(run.logs.iter().any(|l| l.contains("healthy")), "{:#?}", run.logs);
    let first = engine.project_containers(&project);
    assert_eq!(first.len(), 2, "{first:?}");

    let started = Instant::now();
    let run = run_step("deploy_local_sandbox", &ws, &case_text(&registry), &env);
    assert_succeeded(&run);
    eprintln!("sandbox re-deployed (down + up + healthy) in {:.1} s", started.elapsed().as_secs_f64());
    let second = engine.project_containers(&project);
    assert_eq!(second.len(), 2, "{second:?}");
    assert!(first.iter().all(|id| !second.contains(id)), "the re-deploy replaced the containers: {first:?} → {second:?}");
    assert_eq!(http_get(&format!("http://127.0.0.1:{api_port}/health")).map(|r| r.0), Some(200));
}

#[test]
fn a_service_that_never_gets_healthy_times_out_with_its_logs() {
    let Some(engine) = engine() else { return };
    let _one = one_sandbox_at_a_time();
    let dir = TempDir::new("sandbox-unhealthy");
    let ws = dir.0.join("workspace");
    compose_workspace(&ws, &engine.base_image, false);
    let registry = format!("u{}", unique());
    let project = format!("pbt-{registry}-sandbox");
    let _down = ComposeDown { workspace: &ws, project: project.clone(), docker_host: engine.docker_host.clone() };
    // Long enough for the container to have started and printed its line on a loaded machine.
    let run = run_step("deploy_local_sandbox", &ws, &case_text(&registry), &sandbox_env(engine, free_port(), free_port(), 25));
    let message = failure(&run);
    assert!(message.contains(&format!("the sandbox {project} did not become healthy within 25 s")), "{message}");
    assert!(message.contains("`staff-portal` is not healthy"), "{message}");
    assert!(!message.contains("`api` is not healthy"), "the API was healthy: {message}");
    assert!(message.contains("never-healthy-marker"), "the portal's log is shown: {message}");
    assert!(!ws.join(".outputs/deploy_local_sandbox.json").exists());
}

#[test]
fn without_a_compose_cli_the_sandbox_step_names_the_options() {
    let dir = TempDir::new("no-compose");
    let ws = dir.0.join("workspace");
    write(&ws.join("deployment/docker-compose.sandbox.yaml"), "services: {}\n");
    // DOCKER_COMPOSE_CMD wins over detection; a program that does not exist fails to start.
    let run = run_step("deploy_local_sandbox", &ws, &case_text("nc"), &[("DOCKER_COMPOSE_CMD", "/nonexistent/compose --flag".to_string())]);
    let message = failure(&run);
    assert!(message.contains("cannot start /nonexistent/compose --flag down"), "{message}");
}

/// A compose CLI that never returns (as `up` does on a health condition an engine never
/// evaluates) is stopped at the sandbox timeout, with a message, instead of hanging the build.
#[test]
fn a_compose_command_that_hangs_is_stopped_at_the_timeout() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("hung-compose");
    let ws = dir.0.join("workspace");
    write(&ws.join("deployment/docker-compose.sandbox.yaml"), "services: {}\n");
    let hung = dir.0.join("hung-compose");
    write(&hung, "#!/bin/sh\nexec sleep 60\n");
    std::fs::set_permissions(&hung, std::fs::Permissions::from_mode(0o755)).unwrap();
    let started = std::time::Instant::now();
    let env = [("DOCKER_COMPOSE_CMD", hung.display().to_string()), ("SANDBOX_TIMEOUT_SECS", "1".to_string())];
    let run = run_step("deploy_local_sandbox", &ws, &case_text("hung"), &env);
    let message = failure(&run);
    assert!(message.contains("up -d did not finish within 1 s and was stopped"), "{message}");
    let warned = run.logs.iter().any(|l| l.contains("could not be torn down completely") && l.contains("did not finish within 1 s"));
    assert!(warned, "the hung `down` was stopped too, and said so: {:#?}", run.logs);
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "the hung command was not stopped");
}

/// An `up` that fails once (an engine's passing start error) is retried after a teardown; the
/// step says so. The fake compose CLI records its calls and fails the first `up` only.
#[test]
fn a_failed_sandbox_start_is_torn_down_and_tried_once_more() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("flaky-compose");
    let ws = dir.0.join("workspace");
    write(&ws.join("deployment/docker-compose.sandbox.yaml"), "services: {}\n");
    let calls = dir.0.join("calls");
    let flaky = dir.0.join("flaky-compose");
    let script = format!(
        "#!/bin/sh\necho \"$*\" >> '{calls}'\ncase \"$*\" in *' up -d'*) [ -e '{calls}.failed' ] && exit 0; touch '{calls}.failed'; echo 'Cannot start service api: write child: broken pipe' >&2; exit 1;; esac\nexit 0\n",
        calls = calls.display()
    );
    write(&flaky, &script);
    std::fs::set_permissions(&flaky, std::fs::Permissions::from_mode(0o755)).unwrap();
    let env = [
        ("DOCKER_COMPOSE_CMD", flaky.display().to_string()),
        ("SANDBOX_TIMEOUT_SECS", "1".to_string()),
        ("SANDBOX_API_PORT", free_port().to_string()),
        ("SANDBOX_UI_PORT", free_port().to_string()),
        ("DOCKER_HOST", format!("unix://{}/no-engine.sock", dir.0.display())),
    ];
    let run = run_step("deploy_local_sandbox", &ws, &case_text("flaky"), &env);
    let made: Vec<String> =
        std::fs::read_to_string(&calls).unwrap().lines().map(|l| l.split(" -f ").nth(1).unwrap_or(l).to_string()).collect();
    let expected = [
        "deployment/docker-compose.sandbox.yaml down --remove-orphans --volumes --timeout 5",
        "deployment/docker-compose.sandbox.yaml up -d",
        "deployment/docker-compose.sandbox.yaml down --remove-orphans --volumes --timeout 5",
        "deployment/docker-compose.sandbox.yaml up -d",
    ];
    assert_eq!(made[..4], expected, "then only `logs` of the unhealthy services: {made:#?}");
    assert!(made[4..].iter().all(|c| c.contains(" logs ")), "{made:#?}");
    assert!(run.logs.iter().any(|l| l.contains("trying once more") && l.contains("broken pipe")), "{:#?}", run.logs);
    // Nothing answers on the ports, so the step then fails waiting for health, not on `up`.
    assert!(failure(&run).contains("did not become healthy within 1 s"), "{}", failure(&run));
}

/// The Python the smoke-test step will use (as the handler picks it) has pytest.
fn have_pytest() -> bool {
    let python = std::env::var("SMOKE_TEST_PYTHON").unwrap_or_else(|_| "python3".to_string());
    Command::new(python).args(["-m", "pytest", "--version"]).output().is_ok_and(|o| o.status.success())
}

#[test]
fn smoke_tests_name_the_failing_test_and_write_junit() {
    if !have_pytest()
        && missing("pytest for SMOKE_TEST_PYTHON (default python3)", "set SMOKE_TEST_PYTHON to .venv/bin/python (scripts/test does)")
            .is_none()
    {
        return;
    }
    let dir = TempDir::new("smoke");
    let ws = dir.0.join("workspace");
    let api = format!("http://127.0.0.1:{}", free_port());
    std::fs::create_dir_all(ws.join(".outputs")).unwrap();
    write(
        &ws.join(".outputs/deploy_local_sandbox.json"),
        &serde_json::json!({"api_url": api, "ui_url": "http://127.0.0.1:1", "project": "p"}).to_string(),
    );
    write(
        &ws.join("deployment/tests/test_smoke.py"),
        "import os\n\ndef test_sees_the_sandbox_urls():\n    assert os.environ['SANDBOX_API_URL'].startswith('http://127.0.0.1:')\n    assert os.environ['SANDBOX_UI_URL'] == 'http://127.0.0.1:1'\n\ndef test_the_broken_register():\n    print('smoke-output-marker')\n    assert 1 == 2, 'deliberately failing'\n",
    );
    let run = run_step("run_smoke_tests", &ws, &case_text("smoke"), &[]);
    let message = failure(&run);
    assert!(message.contains("1 of 2 smoke tests failed"), "{message}");
    assert!(message.contains("test_smoke::test_the_broken_register"), "{message}");
    assert!(!message.contains("test_sees_the_sandbox_urls"), "{message}");
    assert!(run.logs.iter().any(|l| l.contains("deliberately failing")), "pytest's output is streamed: {:#?}", run.logs);
    let junit = std::fs::read_to_string(ws.join("deployment/test-results/junit.xml")).unwrap();
    assert!(junit.contains("test_the_broken_register"));
    let results = output(&ws, "run_smoke_tests");
    assert_eq!(
        results,
        serde_json::json!({"tests": 2, "passed": 1, "failed": 1, "skipped": 0, "failures": ["deployment.tests.test_smoke::test_the_broken_register"]})
    );

    // All passing → success; an empty suite (pytest exit 5) → failure.
    write(&ws.join("deployment/tests/test_smoke.py"), "def test_ok():\n    pass\n");
    assert_succeeded(&run_step("run_smoke_tests", &ws, &case_text("smoke"), &[]));
    assert_eq!(output(&ws, "run_smoke_tests")["passed"], 1);
    std::fs::remove_file(ws.join("deployment/tests/test_smoke.py")).unwrap();
    let message = failure(&run_step("run_smoke_tests", &ws, &case_text("smoke"), &[])).to_string();
    assert!(message.contains("collected no tests") && message.contains("exit 5"), "{message}");
}
