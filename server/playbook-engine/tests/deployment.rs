//! The deployment Activities on the demo case, through `run_build` with the built-in handlers:
//! `generate_deployment_files`, `compile_deployment` and `generate_test_suite`.

use playbook_engine::build::events::read_events;
use playbook_engine::build::{BuildOptions, CancelToken, EventKind, JobStatus, run_build};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::TempDir;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The registry playbook and the demo case (with its logos) in a temp project, in Phase 2.
/// `edit` may change the case text.
fn demo_project(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    let demo = dir.join("fixtures/demo");
    std::fs::create_dir_all(demo.join("assets")).unwrap();
    std::fs::create_dir_all(dir.join("playbooks")).unwrap();
    std::fs::copy(repo().join("playbooks/registry.md"), dir.join("playbooks/registry.md")).unwrap();
    for logo in ["logo-small.png", "logo-medium.png"] {
        std::fs::copy(repo().join("fixtures/demo/assets").join(logo), demo.join("assets").join(logo)).unwrap();
    }
    let case = demo.join("working_case.yaml");
    std::fs::write(&case, edit(std::fs::read_to_string(repo().join("fixtures/demo/working_case.yaml")).unwrap())).unwrap();
    std::fs::create_dir_all(demo.join(".playbook")).unwrap();
    std::fs::write(demo.join(".playbook/state.json"), r#"{"current_phase": 2}"#).unwrap();
    case
}

struct Run {
    status: JobStatus,
    workspace: PathBuf,
    logs: Vec<String>,
    failure: Option<String>,
}

fn run(case: &Path, activity: &str) -> Run {
    let options = BuildOptions { activity: Some(activity.into()), force: true, ..BuildOptions::default() };
    let outcome = run_build(case, &options, &playbook_engine::handlers::registry(), &CancelToken::new(), None).unwrap();
    let events = read_events(&outcome.job_dir.join("events.jsonl"), 0).unwrap();
    let logs = events.iter().filter(|e| e.kind == EventKind::Log).filter_map(|e| e.message.clone()).collect();
    let failure = events.iter().find(|e| e.kind == EventKind::StepFail).and_then(|e| e.message.clone());
    Run { status: outcome.status, workspace: outcome.job_dir.join("workspace"), logs, failure }
}

fn succeeded(case: &Path, activity: &str) -> Run {
    let r = run(case, activity);
    assert_eq!(r.status, JobStatus::Succeeded, "{activity}: {:?}\n{:#?}", r.failure, r.logs);
    r
}

/// Every file under a folder, relative and sorted, with its bytes.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = walk(dir).into_iter().map(|p| (rel(dir, &p), std::fs::read(&p).unwrap())).collect();
    files.sort();
    files
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { out.extend(walk(&path)) } else { out.push(path) }
    }
    out
}

fn rel(base: &Path, path: &Path) -> String {
    path.strip_prefix(base).unwrap().to_string_lossy().into_owned()
}

/// A YAML file parsed strictly by the handler's own checker, then as JSON through the core's
/// tree (to read values).
fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    let node = playbook_core::yaml::parse(&text).unwrap_or_else(|e| panic!("{}: {e:?}", path.display())).unwrap();
    playbook_core::yaml::node_to_json(&node)
}

const CHART: &str = "deployment/helm/mosd-aurelia-households";

#[test]
fn generated_files_parse_strictly_and_carry_the_answers() {
    let dir = TempDir::new("generate");
    let case = demo_project(&dir.0, |t| t);
    let generated = succeeded(&case, "generate_deployment_files");
    let ws = &generated.workspace;

    // Every YAML file outside the chart templates passes compile_deployment's strict check.
    let compiled = succeeded(&case, "compile_deployment");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(compiled.workspace.join(".outputs/compile_deployment.json")).unwrap()).unwrap();
    let yaml_files: Vec<&str> = report["yaml_files"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(
        yaml_files,
        [
            "deployment/docker-compose.sandbox.yaml",
            &format!("{CHART}/Chart.yaml"),
            &format!("{CHART}/values-sandbox.yaml"),
            &format!("{CHART}/values.yaml"),
        ]
    );
    assert_eq!(report["json_files"], serde_json::json!(["deployment/images.json"]));

    // values.yaml: the demo's helm_resource_profile, component by component, and its hosts.
    let values = yaml(&ws.join(CHART).join("values.yaml"));
    let expected = [
        ("staff-portal-api", 2, "500m", "1Gi", true),
        ("partner-api", 2, "250m", "512Mi", true),
        ("celery", 1, "250m", "512Mi", false),
        ("staff-portal-ui", 2, "100m", "256Mi", true),
        ("db", 1, "1", "2Gi", false),
    ];
    let components = values["components"].as_object().unwrap();
    assert_eq!(components.len(), expected.len());
    for (name, replicas, cpu, memory, enabled) in expected {
        let c = &components[name];
        assert_eq!(c["replicaCount"], replicas, "{name}");
        assert_eq!(c["enabled"], enabled, "{name}");
        for kind in ["requests", "limits"] {
            assert_eq!(c["resources"][kind]["cpu"], cpu, "{name}");
            assert_eq!(c["resources"][kind]["memory"], memory, "{name}");
        }
    }
    let values_text = std::fs::read_to_string(ws.join(CHART).join("values.yaml")).unwrap();
    assert!(values_text.contains("cpu: \"1\"\n"), "cpu 1 stays a string: {values_text}");
    let hosts: Vec<&str> = values["ingress"]["hosts"].as_array().unwrap().iter().map(|h| h["host"].as_str().unwrap()).collect();
    assert_eq!(hosts, ["staff.households.aurelia.example", "portal.households.aurelia.example", "api.households.aurelia.example"]);
    assert_eq!(values["ingress"]["hosts"][2]["paths"][0]["component"], "staff-portal-api");
    assert_eq!(values["ingress"]["hosts"][0]["paths"][2]["component"], "staff-portal-ui");

    // images.json and the image references in values and compose.
    let images: Value = serde_json::from_str(&std::fs::read_to_string(ws.join("deployment/images.json")).unwrap()).unwrap();
    let api_image = images[0]["image"].as_str().unwrap();
    let portal_image = images[1]["image"].as_str().unwrap();
    assert_eq!(images[0]["service"], "api");
    assert_eq!(images[0]["context"], "extension");
    assert_eq!(images[1]["dockerfile"], "deployment/docker/staff-portal/Dockerfile");
    assert!(api_image.ends_with("/mosd-aurelia-households-api:develop"), "{api_image}");
    assert_eq!(components["staff-portal-api"]["image"]["repository"].as_str().map(|r| format!("{r}:develop")).as_deref(), Some(api_image));
    assert_eq!(
        components["staff-portal-ui"]["image"]["repository"].as_str().map(|r| format!("{r}:develop")).as_deref(),
        Some(portal_image)
    );

    let compose = yaml(&ws.join("deployment/docker-compose.sandbox.yaml"));
    let services = compose["services"].as_object().unwrap();
    assert_eq!(services.keys().collect::<Vec<_>>(), ["api", "staff-portal"]);
    assert_eq!(services["api"]["image"], api_image);
    assert_eq!(services["staff-portal"]["image"], portal_image);
    assert_eq!(services["api"]["pull_policy"], "never");
    assert_eq!(services["api"]["ports"][0], "127.0.0.1:${SANDBOX_API_PORT:-18080}:8080");
    assert_eq!(services["staff-portal"]["ports"][0], "127.0.0.1:${SANDBOX_UI_PORT:-18081}:8080");
    assert_eq!(services["staff-portal"]["environment"]["API_URL"], "http://127.0.0.1:${SANDBOX_API_PORT:-18080}");
    assert!(compose.get("name").is_none(), "docker-compose 1.x rejects a top-level name");
    for service in ["api", "staff-portal"] {
        let test = services[service]["healthcheck"]["test"].as_array().unwrap();
        // One shell string: podman 4.3 splits `CMD` list arguments at spaces.
        assert_eq!(test.len(), 2, "{service}");
        assert_eq!(test[0], "CMD-SHELL", "{service}");
        assert!(test[1].as_str().unwrap().starts_with("python3 -c \"import urllib.request;"), "{service}");
        assert!(test[1].as_str().unwrap().contains("urllib.request.urlopen('http://127.0.0.1:8080/"), "{service}");
    }

    // Sandbox values: the smallest size and sandbox hosts.
    let sandbox = yaml(&ws.join(CHART).join("values-sandbox.yaml"));
    assert_eq!(sandbox["components"]["staff-portal-api"]["replicaCount"], 1);
    assert_eq!(sandbox["components"]["staff-portal-api"]["resources"]["requests"]["cpu"], "250m");
    assert_eq!(sandbox["ingress"]["hosts"][0]["host"], "staff.aurelia-households.internal");

    // Dockerfiles, the portal site, the theme and the logos.
    let api_df = std::fs::read_to_string(ws.join("deployment/docker/api/Dockerfile")).unwrap();
    let portal_df = std::fs::read_to_string(ws.join("deployment/docker/staff-portal/Dockerfile")).unwrap();
    for df in [&api_df, &portal_df] {
        let code: Vec<&str> = df.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(&code[..2], ["ARG BASE_IMAGE=python:3.11-slim", "FROM ${BASE_IMAGE}"]);
        assert!(df.contains("HEALTHCHECK") && df.contains("EXPOSE 8080"));
    }
    assert!(api_df.contains("COPY mosd_aurelia_households/ /app/mosd_aurelia_households/"), "{api_df}");
    assert!(api_df.contains(r#"CMD ["python3", "-m", "mosd_aurelia_households.server"]"#), "{api_df}");
    let site = ws.join("deployment/docker/staff-portal/site");
    for (answer, copy) in [("logo-small.png", "logo-small.png"), ("logo-medium.png", "logo-medium.png")] {
        assert_eq!(std::fs::read(site.join(copy)).unwrap(), std::fs::read(repo().join("fixtures/demo/assets").join(answer)).unwrap());
    }
    let css = std::fs::read_to_string(site.join("theme.css")).unwrap();
    assert!(css.contains("--primary: #1f5f8b;") && css.contains("--font: \"Noto Sans\", "), "{css}");
    let html = std::fs::read_to_string(site.join("index.html")).unwrap();
    for seg in ["household", "individual", "household-asset"] {
        assert!(html.contains(&format!("data-testid=\"form-{seg}\"")) && html.contains(&format!("data-testid=\"rows-{seg}\"")), "{seg}");
    }
    assert!(html.contains("data-testid=\"input-individual-household_id\""));

    // The outputs name every file and the images.
    let out: Value = serde_json::from_str(&std::fs::read_to_string(ws.join(".outputs/generate_deployment_files.json")).unwrap()).unwrap();
    assert_eq!(out["chart"], "mosd-aurelia-households");
    assert_eq!(out["images"], images);
    assert!(out["files"].as_array().unwrap().iter().any(|f| f == "deployment/docker/staff-portal/site/theme.css"));
    assert_eq!(out["files"].as_array().unwrap().len(), tree(&ws.join("deployment")).len());
}

#[test]
fn generating_twice_gives_identical_bytes_and_keeps_tests_and_results() {
    let dir = TempDir::new("determinism");
    let case = demo_project(&dir.0, |t| t);
    let first = succeeded(&case, "generate_deployment_files");
    succeeded(&case, "generate_test_suite");
    // Something of run_smoke_tests' in the workspace the next job starts from.
    let last = succeeded(&case, "generate_test_suite");
    std::fs::create_dir_all(last.workspace.join("deployment/test-results")).unwrap();
    std::fs::write(last.workspace.join("deployment/test-results/junit.xml"), "<testsuites/>").unwrap();
    std::fs::write(last.workspace.join("deployment/stale.txt"), "left by an older generator").unwrap();
    let second = succeeded(&case, "generate_deployment_files");
    let (a, b) = (tree(&first.workspace.join("deployment")), tree(&second.workspace.join("deployment")));
    let b_generated: Vec<_> = b.iter().filter(|(p, _)| !p.starts_with("tests/") && !p.starts_with("test-results/")).cloned().collect();
    assert_eq!(a, b_generated, "the same case gives the same bytes; stale files are gone");
    assert!(second.workspace.join("deployment/test-results/junit.xml").exists(), "test-results/ is kept");
    assert!(second.workspace.join("deployment/tests/conftest.py").exists(), "tests/ is kept");

    let suite_a = tree(&last.workspace.join("deployment/tests"));
    let again = succeeded(&case, "generate_test_suite");
    assert_eq!(suite_a, tree(&again.workspace.join("deployment/tests")));
}

#[test]
fn compile_deployment_names_the_file_and_line_of_a_duplicate_key_or_a_bad_indentation() {
    let dir = TempDir::new("compile");
    let case = demo_project(&dir.0, |t| t);
    let generated = succeeded(&case, "generate_deployment_files");
    let compose = generated.workspace.join("deployment/docker-compose.sandbox.yaml");
    let original = std::fs::read_to_string(&compose).unwrap();
    // A second `pull_policy` under the api service.
    let duplicated = original.replacen("    pull_policy: never\n", "    pull_policy: never\n    pull_policy: always\n", 1);
    assert_ne!(duplicated, original);
    let line = duplicated.lines().position(|l| l == "    pull_policy: always").unwrap() + 1;
    std::fs::write(&compose, &duplicated).unwrap();
    let failed = run(&case, "compile_deployment");
    assert_eq!(failed.status, JobStatus::Failed);
    let message = failed.failure.unwrap();
    assert!(message.contains(&format!("deployment/docker-compose.sandbox.yaml:{line}:5: duplicate key `pull_policy`")), "{message}");

    // A job whose only step failed seeds nothing: the generating job's workspace seeds each run.
    let values = generated.workspace.join(CHART).join("values.yaml");
    std::fs::write(&compose, &original).unwrap();
    let text = std::fs::read_to_string(&values).unwrap();
    let original_values = text.clone();
    let broken = text.replacen("\n  staff-portal-api:\n", "\n\tstaff-portal-api:\n", 1);
    let line = broken.lines().position(|l| l == "\tstaff-portal-api:").unwrap() + 1;
    std::fs::write(&values, broken).unwrap();
    let failed = run(&case, "compile_deployment");
    let message = failed.failure.unwrap();
    assert!(message.contains(&format!("{CHART}/values.yaml:{line}:1: tab in indentation")), "{message}");

    // Mis-indented key: a syntax error on its line.
    let text = text.replacen("    enabled: true\n    image:\n", "    enabled: true\n   image:\n", 1);
    let line = text.lines().position(|l| l == "   image:").unwrap() + 1;
    std::fs::write(&values, &text).unwrap();
    let failed = run(&case, "compile_deployment");
    let message = failed.failure.unwrap();
    assert!(message.contains(&format!("{CHART}/values.yaml:{line}:")), "line {line}: {message}");

    // JSON too.
    std::fs::write(&values, &original_values).unwrap();
    std::fs::write(generated.workspace.join("deployment/images.json"), "[{\"a\": 1,}]").unwrap();
    let failed = run(&case, "compile_deployment");
    assert!(failed.failure.unwrap().contains("deployment/images.json:1:"));
}

#[test]
fn without_helm_the_chart_is_not_linted_and_a_warning_says_so() {
    let dir = TempDir::new("helm");
    let case = demo_project(&dir.0, |t| t);
    succeeded(&case, "generate_deployment_files");
    let compiled = succeeded(&case, "compile_deployment");
    let has_helm = std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("helm").is_file()));
    if has_helm {
        assert!(compiled.logs.iter().any(|l| l == "helm lint deployment/helm/mosd-aurelia-households: passed"), "{:#?}", compiled.logs);
    } else {
        assert!(compiled.logs.iter().any(|l| l.contains("helm not installed: chart not linted")), "{:#?}", compiled.logs);
    }
}

#[test]
fn a_logo_outside_the_workspace_is_refused() {
    let dir = TempDir::new("logo");
    // The target exists, so only the escape can be the reason.
    std::fs::create_dir_all(dir.0.join("etc")).unwrap();
    std::fs::write(dir.0.join("etc/passwd"), "root:x:0:0").unwrap();
    let case = demo_project(&dir.0, |t| t.replace("registry_logo_small: assets/logo-small.png", "registry_logo_small: ../../etc/passwd"));
    let failed = run(&case, "generate_deployment_files");
    assert_eq!(failed.status, JobStatus::Failed);
    let message = failed.failure.unwrap();
    assert!(message.contains("registry_logo_small: `../../etc/passwd` is outside the workspace"), "{message}");
    assert!(!failed.workspace.join("deployment").exists(), "nothing is written");
}

/// The Python with pytest, httpx and pytest-playwright: `DEPLOYMENT_TEST_PYTHON`, else
/// `SMOKE_TEST_PYTHON` (scripts/test exports it), else the repository's `.venv`.
fn test_python() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("DEPLOYMENT_TEST_PYTHON").map(PathBuf::from),
        std::env::var_os("SMOKE_TEST_PYTHON").map(PathBuf::from),
        Some(repo().join(".venv/bin/python")),
    ];
    candidates.into_iter().flatten().find(|python| {
        Command::new(python).args(["-c", "import pytest, httpx, pytest_playwright"]).output().is_ok_and(|o| o.status.success())
    })
}

#[test]
fn the_generated_suite_is_collected_by_pytest_with_a_module_per_register_and_the_ui_test() {
    let dir = TempDir::new("suite");
    let case = demo_project(&dir.0, |t| t);
    let generated = succeeded(&case, "generate_test_suite");
    let tests = generated.workspace.join("deployment/tests");
    let data = std::fs::read_to_string(tests.join("registry_data.py")).unwrap();
    // The foreign key creates its parent; the CHECK `quantity > 0` gets a positive quantity.
    assert!(data.contains("parent_household_id = create(client, \"household\", body_household(client))"), "{data}");
    assert!(data.contains("\"quantity\": 1,"), "{data}");
    assert!(data.contains("\"national_id_number\": text(\"national_id_number\", 12),"), "{data}");
    let households = std::fs::read_to_string(tests.join("test_api_household.py")).unwrap();
    assert!(households.contains(r#"re.compile("^" + re.escape("HH") + re.escape("-") + "[0-9]{8}" + "$")"#), "{households}");
    let conftest = std::fs::read_to_string(tests.join("conftest.py")).unwrap();
    assert!(conftest.contains("PLAYWRIGHT_CHROMIUM_EXECUTABLE") && conftest.contains("--no-sandbox"));

    let Some(python) = test_python() else {
        let hint =
            "install pytest, httpx and pytest-playwright (deployment/tests/requirements.txt) into .venv or set DEPLOYMENT_TEST_PYTHON";
        assert!(std::env::var_os("CI").is_none(), "no Python with the suite's packages: {hint}");
        eprintln!("SKIP pytest collection: no Python with the suite's packages ({hint})");
        return;
    };
    let output = Command::new(&python)
        .args(["-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "deployment/tests"])
        .current_dir(&generated.workspace)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let ids: Vec<&str> = stdout.lines().filter(|l| l.contains("::")).collect();
    let modules: std::collections::BTreeSet<&str> = ids.iter().map(|id| id.split("::").next().unwrap()).collect();
    assert_eq!(
        modules.into_iter().collect::<Vec<_>>(),
        ["test_api_household.py", "test_api_household_asset.py", "test_api_individual.py", "test_ui_staff_portal.py"].map(|m| m),
        "{stdout}"
    );
    for id in [
        "test_api_household.py::test_the_functional_id_follows_the_encoding_pattern_and_is_unique",
        "test_api_individual.py::test_a_missing_required_column_is_422[household_id]",
        "test_api_household_asset.py::test_update_changes_only_the_given_column",
        // pytest-playwright parametrizes browser tests by browser.
        "test_ui_staff_portal.py::test_a_record_created_through_the_form_is_listed[chromium]",
        "test_ui_staff_portal.py::test_the_portal_shows_every_register[chromium]",
    ] {
        assert!(ids.contains(&id), "{id} not collected:\n{stdout}");
    }
    assert!(!ids.iter().any(|id| id.starts_with("test_api_household_asset.py::test_the_functional_id")), "no pattern, no id test");
}

/// A stand-in for the extension's API, written to the brief's contract (stdlib Python): it
/// lets the generated suite run here before the real server exists. Reads the Registers as
/// `RegistryInputs` JSON from argv[1], prints its port.
const CONTRACT_API: &str = r#"
import datetime, json, random, re, string, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

registers = {r["mnemonic"]: r for r in json.load(open(sys.argv[1]))["registers"]}
tables = {seg: {} for seg in registers}
lock = threading.Lock()

def kind(sql):
    base = re.split(r"[( ]", sql.lower())[0]
    if base in ("int", "integer", "smallint", "bigint"): return "integer"
    if base in ("numeric", "decimal", "real", "float", "double"): return "number"
    if base in ("bool", "boolean"): return "boolean"
    return "text"

def problems(reg, body, partial):
    if not isinstance(body, dict): return ["body is not an object"]
    cols = {c["name"]: c for c in reg["columns"]}
    errors = ["unknown column %s" % k for k in body if k not in cols]
    for name, c in cols.items():
        if name not in body:
            if not partial and not c["nullable"] and c["default"] is None: errors.append("%s is required" % name)
            continue
        v, k = body[name], kind(c["sql_type"])
        ok = (v is None and c["nullable"]) or (k == "integer" and isinstance(v, int) and not isinstance(v, bool)) \
            or (k == "number" and isinstance(v, (int, float)) and not isinstance(v, bool)) or (k == "boolean" and isinstance(v, bool)) \
            or (k == "text" and isinstance(v, str))
        if not ok: errors.append("%s: wrong type" % name)
    return errors

def functional_id(p, n):
    if p["body_kind"] == "random": body = "".join(random.choice(string.ascii_uppercase + string.digits) for _ in range(p["body_length"]))
    else: body = str(n).zfill(p["body_length"])
    out = (p["prefix"] + p["separator"] if p["prefix"] else "") + body
    return out + (p["separator"] + p["suffix"] if p["suffix"] else "")

class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args): pass
    def send(self, status, obj=None):
        data = b"" if obj is None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "GET, POST, PUT, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "Content-Type")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def route(self):
        parts = self.path.split("?")[0].strip("/").split("/")
        if len(parts) in (2, 3) and parts[0] == "api" and parts[1] in registers:
            return parts[1], (parts[2] if len(parts) == 3 else None)
        return None, None
    def body(self):
        try: return json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"null")
        except ValueError: return None
    def do_OPTIONS(self): self.send(204)
    def do_GET(self):
        if self.path == "/health": return self.send(200, {"status": "ok"})
        seg, rid = self.route()
        if seg is None: return self.send(404, {"errors": ["not found"]})
        if rid is None: return self.send(200, {"items": list(tables[seg].values())})
        rec = tables[seg].get(rid)
        self.send(200, rec) if rec else self.send(404, {"errors": ["no record %s" % rid]})
    def do_POST(self):
        seg, rid = self.route()
        if seg is None or rid is not None: return self.send(404, {"errors": ["not found"]})
        reg, body = registers[seg], self.body()
        errors = problems(reg, body, False)
        if errors: return self.send(422, {"errors": errors})
        with lock:
            n = len(tables[seg]) + 1
            rec = {"id": n}
            for c in reg["columns"]:
                default = c["default"]
                if default == "now()": default = datetime.date.today().isoformat()
                rec[c["name"]] = body.get(c["name"], default)
            if reg["id_pattern"]: rec["functional_id"] = functional_id(reg["id_pattern"], n)
            tables[seg][str(n)] = rec
        self.send(201, rec)
    def do_PUT(self):
        seg, rid = self.route()
        if seg is None or rid not in tables.get(seg, {}): return self.send(404, {"errors": ["not found"]})
        body = self.body()
        errors = problems(registers[seg], body, True)
        if errors: return self.send(422, {"errors": errors})
        with lock: tables[seg][rid].update(body)
        self.send(200, tables[seg][rid])

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

/// A child process killed when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start a process and read its port from the first stdout line that has one.
fn start_with_port(command: &mut Command, port_in: impl Fn(&str) -> Option<u16> + Send + 'static) -> (Child, u16) {
    use std::io::BufRead;
    let mut child = Child(command.stdout(std::process::Stdio::piped()).spawn().unwrap());
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(port) = port_in(&line) {
                let _ = tx.send(port);
            }
        }
    });
    let port = rx.recv_timeout(std::time::Duration::from_secs(20)).expect("the process printed its port");
    (child, port)
}

#[test]
fn the_generated_suite_passes_against_an_api_that_follows_the_contract_and_the_real_portal() {
    let Some(python) = test_python() else {
        assert!(std::env::var_os("CI").is_none(), "no Python with pytest, httpx and pytest-playwright (set DEPLOYMENT_TEST_PYTHON)");
        eprintln!("SKIP: no Python with the suite's packages");
        return;
    };
    let dir = TempDir::new("run");
    let case = demo_project(&dir.0, |t| t);
    succeeded(&case, "generate_deployment_files");
    let ws = succeeded(&case, "generate_test_suite").workspace;

    let text = std::fs::read_to_string(&case).unwrap();
    let inputs = playbook_engine::handlers::inputs::RegistryInputs::from_case(&playbook_core::case::Case::parse(&text)).unwrap();
    std::fs::write(dir.0.join("registers.json"), serde_json::to_vec(&inputs).unwrap()).unwrap();
    std::fs::write(dir.0.join("contract_api.py"), CONTRACT_API).unwrap();
    let (_api, api_port) =
        start_with_port(Command::new(&python).arg(dir.0.join("contract_api.py")).arg(dir.0.join("registers.json")), |l| {
            l.trim().parse().ok()
        });
    let api_url = format!("http://127.0.0.1:{api_port}");

    // The portal as its image runs it: entrypoint.py writes config.js, then http.server.
    let portal = ws.join("deployment/docker/staff-portal");
    let (_ui, ui_port) = start_with_port(
        Command::new(&python)
            .arg(portal.join("entrypoint.py"))
            .env("SITE_DIR", portal.join("site"))
            .env("PORT", "0")
            .env("BIND", "127.0.0.1")
            .env("API_URL", &api_url)
            .env("PYTHONUNBUFFERED", "1")
            .stderr(std::process::Stdio::null()),
        |l| l.split(" port ").nth(1)?.split_whitespace().next()?.parse().ok(),
    );
    let config = std::fs::read_to_string(portal.join("site/config.js")).unwrap();
    assert_eq!(config, format!("window.PLAYBOOK_API_URL = \"{api_url}\";\n"));

    let chromium = std::env::var_os("PLAYWRIGHT_CHROMIUM_EXECUTABLE")
        .map(PathBuf::from)
        .or_else(|| ["/usr/bin/chromium", "/usr/bin/chromium-browser"].iter().map(PathBuf::from).find(|p| p.exists()));
    let mut pytest = Command::new(&python);
    pytest
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "deployment/tests"])
        .current_dir(&ws)
        .env("SANDBOX_API_URL", &api_url)
        .env("SANDBOX_UI_URL", format!("http://127.0.0.1:{ui_port}"));
    match &chromium {
        Some(path) => {
            pytest.env("PLAYWRIGHT_CHROMIUM_EXECUTABLE", path);
        }
        None => {
            assert!(std::env::var_os("CI").is_none(), "no Chromium for the UI tests: apt-get install chromium");
            eprintln!("SKIP the UI tests: no Chromium (apt-get install chromium)");
            pytest.args(["-m", "api"]);
        }
    }
    let output = pytest.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let summary = stdout.lines().last().unwrap_or("");
    let passed: u32 = summary.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0);
    // 9 household + 10 individual + 8 household-asset API tests, 2 browser tests.
    let expected = if chromium.is_some() { 29 } else { 27 };
    assert_eq!(passed, expected, "{summary}\n{stdout}");
    assert!(!summary.contains("failed") && !summary.contains("error"), "{summary}");
}
