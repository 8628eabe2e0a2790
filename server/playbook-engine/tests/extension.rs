//! The extension Activities on the demo case, with the template provider: generation from the
//! demo reference registry (made by scripts/make-demo-reference and cloned with git), the
//! review's contract checks, py_compile, and the generated HTTP server started on loopback and
//! exercised with a real client.

use playbook_core::case::Case;
use playbook_core::playbook::{Playbook, parse};
use playbook_engine::build::events::read_events;
use playbook_engine::build::{CancelToken, Event, EventKind, EventSink, Handler, Redactor, StepContext, StepOutcome};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::TempDir;

const PACKAGE: &str = "mosd_aurelia_households";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// python3 and git are needed; in CI their absence fails, elsewhere the test is skipped.
fn tools_present() -> bool {
    for tool in ["python3", "git"] {
        let found = Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
        if !found {
            assert!(
                std::env::var_os("CI").is_none(),
                "{tool} is missing: install it (apt-get install -y --no-install-recommends python3 git)"
            );
            eprintln!("SKIP: {tool} is not installed");
            return false;
        }
    }
    true
}

fn run_ok(command: &mut Command) -> String {
    let output = command.output().unwrap();
    assert!(output.status.success(), "{command:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A job workspace with the demo reference cloned into `reference/`, as clone_reference_registry leaves it.
struct Project {
    dir: TempDir,
    playbook: Playbook,
    case: Case,
    case_text: String,
    events: EventSink,
    cancel: CancelToken,
}

impl Project {
    fn new(name: &str) -> Project {
        Project::with_case(name, &std::fs::read_to_string(repo().join("fixtures/demo/working_case.yaml")).unwrap())
    }

    fn with_case(name: &str, case_text: &str) -> Project {
        let dir = TempDir::new(name);
        let source = dir.0.join("reference-source");
        run_ok(Command::new(repo().join("scripts/make-demo-reference")).arg(&source));
        std::fs::create_dir_all(dir.0.join("workspace")).unwrap();
        run_ok(
            Command::new("git")
                .arg("clone")
                .arg("--quiet")
                .arg("--branch")
                .arg("develop")
                .arg(&source)
                .arg(dir.0.join("workspace/reference")),
        );
        let playbook = parse(&std::fs::read_to_string(repo().join("playbooks/registry.md")).unwrap());
        let events = EventSink::open(&dir.0.join("events.jsonl"), "test-job", 0, Redactor::from_vars(Vec::new(), &[]), None).unwrap();
        Project { playbook, case: Case::parse(case_text), case_text: case_text.to_string(), events, cancel: CancelToken::new(), dir }
    }

    fn workspace(&self) -> PathBuf {
        self.dir.0.join("workspace")
    }

    fn extension(&self) -> PathBuf {
        self.workspace().join("extension")
    }

    fn package_file(&self, relative: &str) -> PathBuf {
        self.extension().join(PACKAGE).join(relative)
    }

    /// Run one Activity's built-in handler; its outcome and the events it emitted.
    fn run(&self, activity: &str) -> (StepOutcome, Vec<Event>) {
        let before = read_events(&self.dir.0.join("events.jsonl"), 0).unwrap().len();
        let registry = playbook_engine::handlers::registry();
        let activity = self.playbook.activity(activity).unwrap_or_else(|| panic!("no Activity {activity}"));
        let handler: &dyn Handler = registry.handler_for(activity).unwrap();
        let workspace = self.workspace();
        let ctx = StepContext {
            activity,
            index: 0,
            workspace: &workspace,
            env: &[],
            events: &self.events,
            cancel: &self.cancel,
            case: &self.case,
            case_path: &repo().join("fixtures/demo/working_case.yaml"),
            case_text: &self.case_text,
            case_dir: &repo().join("fixtures/demo"),
            playbook: &self.playbook,
            phase_number: Some(2),
        };
        let outcome = handler.run(&ctx);
        self.events.sync();
        let events = read_events(&self.dir.0.join("events.jsonl"), 0).unwrap().split_off(before);
        (outcome, events)
    }

    fn generate(&self) {
        let (outcome, events) = self.run("generate_extension_files");
        assert_eq!(outcome, StepOutcome::Succeeded, "{:#?}", messages(&events));
    }
}

fn messages(events: &[Event]) -> Vec<String> {
    events.iter().filter_map(|e| e.message.clone()).collect()
}

fn failure(outcome: StepOutcome) -> String {
    match outcome {
        StepOutcome::Failed(message) => message,
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().strip_prefix(dir).unwrap().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
        .collect();
    files.sort();
    files
}

#[test]
fn the_demo_reference_script_is_deterministic() {
    if !tools_present() {
        return;
    }
    let dir = TempDir::new("reference");
    let a = run_ok(Command::new(repo().join("scripts/make-demo-reference")).arg(dir.0.join("a")));
    let b = run_ok(Command::new(repo().join("scripts/make-demo-reference")).arg(dir.0.join("b")));
    assert_eq!(a, b);
    assert_eq!(a.trim().len(), 40, "{a}");
    let git = |args: &[&str]| run_ok(Command::new("git").arg("-C").arg(dir.0.join("a")).args(args));
    assert_eq!(git(&["rev-parse", "--abbrev-ref", "HEAD"]).trim(), "develop");
    assert_eq!(git(&["rev-parse", "v1.0.0^{commit}"]).trim(), a.trim());
    let tree = git(&["ls-tree", "-r", "--name-only", "HEAD"]);
    for path in [
        "extension/registry_extension/models/example.py",
        "extension/registry_extension/schemas/example.py",
        "extension/registry_extension/services/example.py",
        "extension/registry_extension/idgen.py",
        "extension/registry_extension/server.py",
        "extension/registry_extension/sql/seed.sql",
        "extension/pyproject.toml",
        "deployment/README.md",
    ] {
        assert!(tree.lines().any(|l| l == path), "{path} not in\n{tree}");
    }
    // A second run into a folder that is not empty is refused.
    let again = Command::new(repo().join("scripts/make-demo-reference")).arg(dir.0.join("a")).output().unwrap();
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("not empty"));
}

#[test]
fn the_generated_extension_is_renamed_reviewed_clean_compiles_and_regenerates_identically() {
    if !tools_present() {
        return;
    }
    let project = Project::new("generate");
    let (outcome, events) = project.run("generate_extension_files");
    assert_eq!(outcome, StepOutcome::Succeeded, "{:#?}", messages(&events));
    let logs = messages(&events);
    assert!(logs.iter().any(|m| m.starts_with("`Households` (household): mosd_aurelia_households/models/household.py")), "{logs:#?}");
    // The step's token count (zero for the template provider) is on its events.
    assert!(events.iter().any(|e| e.kind == EventKind::Log && e.tokens == Some(0)), "{events:#?}");

    let files = snapshot(&project.extension());
    let names: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    for module in ["household", "individual", "household_asset"] {
        for kind in ["models", "schemas", "services"] {
            let path = format!("{PACKAGE}/{kind}/{module}.py");
            assert!(names.contains(&path.as_str()), "{path} missing from {names:#?}");
        }
    }
    for shared in ["__init__.py", "idgen.py", "db.py", "server.py", "sql/constraints.sql", "sql/seed.sql"] {
        assert!(names.contains(&format!("{PACKAGE}/{shared}").as_str()), "{shared} missing");
    }
    assert!(names.contains(&"pyproject.toml") && names.contains(&"README.md"));
    // The package is renamed: nothing of the reference's package or its example Register is left.
    assert!(!names.iter().any(|n| n.contains("registry_extension") || n.contains("example")), "{names:#?}");
    for (path, bytes) in &files {
        assert!(!String::from_utf8_lossy(bytes).contains("registry_extension"), "{path} mentions the reference package");
    }
    // The reference's header comment is carried into the generated Register files.
    let model = std::fs::read_to_string(project.package_file("models/household.py")).unwrap();
    assert!(model.starts_with("# SPDX-License-Identifier: MPL-2.0\n"), "{model}");
    assert!(model.contains("TABLE_NAME = \"aurelia_households_household\"") && model.contains("class Household:"));

    let output: Value =
        serde_json::from_slice(&std::fs::read(project.workspace().join(".outputs/generate_extension_files.json")).unwrap()).unwrap();
    assert_eq!(output["package"], PACKAGE);
    assert_eq!(output["provider"], "template");
    assert_eq!(output["files"].as_array().unwrap().len(), files.len());
    assert_eq!(output["total_tokens"], 0);

    let (outcome, events) = project.run("review_extension_code");
    assert_eq!(outcome, StepOutcome::Succeeded, "{:#?}", messages(&events));
    assert!(messages(&events).iter().any(|m| m.contains("0 critical, 0 warnings")), "{:#?}", messages(&events));

    let (outcome, events) = project.run("compile_extension");
    assert_eq!(outcome, StepOutcome::Succeeded, "{:#?}", messages(&events));
    assert!(messages(&events).iter().any(|m| m.contains("Python files compile")));
    // Byte-compiled elsewhere: extension/ is unchanged, no __pycache__.
    assert_eq!(snapshot(&project.extension()), files);

    // A rerun wipes and rewrites the same bytes; a stray file is gone, .git is kept.
    std::fs::write(project.extension().join("stray.txt"), "x").unwrap();
    std::fs::create_dir_all(project.extension().join(".git")).unwrap();
    std::fs::write(project.extension().join(".git/HEAD"), "ref: refs/heads/develop\n").unwrap();
    project.generate();
    let mut again = snapshot(&project.extension());
    again.retain(|(p, _)| !p.starts_with(".git"));
    assert_eq!(again, files);
    assert!(project.extension().join(".git/HEAD").is_file());
}

#[test]
fn a_planted_syntax_error_fails_compile_naming_file_and_line() {
    if !tools_present() {
        return;
    }
    let project = Project::new("compile");
    project.generate();
    let path = project.package_file("services/individual.py");
    let mut text = std::fs::read_to_string(&path).unwrap();
    let line = text.lines().count() + 1;
    text.push_str("def broken(:\n    pass\n");
    std::fs::write(&path, text).unwrap();
    std::fs::write(project.package_file("schemas/household.py"), "if True:\nprint(1)\n").unwrap();
    let message = failure(project.run("compile_extension").0);
    assert!(message.contains(&format!("{PACKAGE}/services/individual.py:{line}: SyntaxError")), "{message}");
    assert!(message.contains(&format!("{PACKAGE}/schemas/household.py:2: IndentationError")), "{message}");
    assert!(message.starts_with("2 of "), "{message}");
    assert!(!project.extension().join(PACKAGE).join("__pycache__").exists());
}

#[test]
fn the_review_fails_on_a_missing_column_or_hard_coded_prefix_and_warns_on_drifts() {
    if !tools_present() {
        return;
    }
    let project = Project::new("review");
    project.generate();
    let model_path = project.package_file("models/household.py");
    let model = std::fs::read_to_string(&model_path).unwrap();
    // A hand edit: `district` gone from the DDL and the dataclass; `dwelling_type` made NOT NULL.
    let edited: String = model
        .lines()
        .filter(|l| !l.contains("district"))
        .map(|l| if l.contains("\"dwelling_type\" varchar(32),") { "    \"dwelling_type\" varchar(32) NOT NULL," } else { l })
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(edited, model);
    std::fs::write(&model_path, edited).unwrap();
    let (outcome, events) = project.run("review_extension_code");
    let message = failure(outcome);
    assert!(message.starts_with("1 critical finding: "), "{message}");
    assert!(
        message.contains(&format!("{PACKAGE}/models/household.py (register_columns): column `district` of `Households` is missing")),
        "{message}"
    );
    let logs = messages(&events);
    assert!(
        logs.iter().any(|m| m.starts_with("warning: ") && m.contains("(attribute_constraints)") && m.contains("dwelling_type")),
        "{logs:#?}"
    );
    let output: Value =
        serde_json::from_slice(&std::fs::read(project.workspace().join(".outputs/review_extension_code.json")).unwrap()).unwrap();
    assert_eq!(output["findings"].as_array().unwrap().len(), 2, "{output:#}");

    // A hard-coded prefix in a service.
    project.generate();
    let service_path = project.package_file("services/individual.py");
    let service = std::fs::read_to_string(&service_path).unwrap();
    std::fs::write(&service_path, service.replace("idgen.next_id(conn, REGISTER)", "\"IN-\" + str(len(values)).zfill(8)")).unwrap();
    let message = failure(project.run("review_extension_code").0);
    assert!(message.contains(&format!("{PACKAGE}/services/individual.py (functional_id_encoding_pattern)")), "{message}");
    assert!(message.contains("hard-codes the id prefix `IN`"), "{message}");

    // A wrong table name.
    project.generate();
    let model = std::fs::read_to_string(project.package_file("models/individual.py")).unwrap();
    std::fs::write(project.package_file("models/individual.py"), model.replace("aurelia_households_individual", "individuals")).unwrap();
    let message = failure(project.run("review_extension_code").0);
    assert!(
        message
            .contains("(register_mnemonics): creates table `individuals`; the table of `Individuals` is `aurelia_households_individual`"),
        "{message}"
    );
}

#[test]
fn constraints_and_seed_sql_come_from_the_answers() {
    if !tools_present() {
        return;
    }
    let project = Project::new("sql");
    project.generate();
    let constraints = std::fs::read_to_string(project.package_file("sql/constraints.sql")).unwrap();
    for line in [
        r#"ALTER TABLE "aurelia_households_individual" ADD CONSTRAINT "fk_aurelia_households_individual_household_id" FOREIGN KEY ("household_id") REFERENCES "aurelia_households_household" ("id");"#,
        r#"ALTER TABLE "aurelia_households_household_asset" ADD CONSTRAINT "fk_aurelia_households_household_asset_household_id" FOREIGN KEY ("household_id") REFERENCES "aurelia_households_household" ("id");"#,
        r#"ALTER TABLE "aurelia_households_individual" ADD CONSTRAINT "uq_aurelia_households_individual_national_id_number" UNIQUE ("national_id_number");"#,
        r#"ALTER TABLE "aurelia_households_household_asset" ADD CONSTRAINT "ck_aurelia_households_household_asset_1" CHECK (quantity > 0);"#,
    ] {
        assert!(constraints.lines().any(|l| l == line), "missing {line}\n{constraints}");
    }
    let seed = std::fs::read_to_string(project.package_file("sql/seed.sql")).unwrap();
    assert!(
        seed.contains(
            "('record_approved', 'email', 'Registration approved', 'Dear {head_name}, household {household_id} has been approved.')"
        ),
        "{seed}"
    );
    assert_eq!(seed.matches("INSERT INTO \"aurelia_households_message_template\"").count(), 6, "{seed}");
    // The seed runs against SQLite when the database is made (twice: it is idempotent).
    let script = format!(
        "from {PACKAGE} import db\nconn = db.connect(':memory:')\ndb.init(conn)\ndb.init(conn)\nprint(conn.execute('SELECT count(*) FROM aurelia_households_message_template').fetchone()[0])"
    );
    let out =
        run_ok(Command::new("python3").arg("-c").arg(script).env("PYTHONPATH", project.extension()).env("PYTHONDONTWRITEBYTECODE", "1"));
    assert_eq!(out.trim(), "6");
}

#[test]
fn idgen_makes_sequential_random_and_year_seq_identifiers() {
    if !tools_present() {
        return;
    }
    let case = std::fs::read_to_string(repo().join("fixtures/demo/working_case.yaml")).unwrap().replace(
        r#"Households: {prefix: HH, suffix: "", separator: "-", body_kind: sequential, body_length: 8}"#,
        r#"Households: {prefix: HH, suffix: "A", separator: "/", body_kind: year_seq, body_length: 8}"#,
    );
    let project = Project::with_case("idgen", &case);
    project.generate();
    let script = format!(
        r#"
import datetime, re
from {PACKAGE} import db, idgen
conn = db.connect(':memory:')
db.init(conn)
day = datetime.date(2031, 5, 1)
print(idgen.next_id(conn, 'household', day))
print(idgen.next_id(conn, 'household', day))
print(idgen.next_id(conn, 'household', datetime.date(2032, 1, 1)))
print(idgen.pattern_regex('household'))
ids = [idgen.next_id(conn, 'individual') for _ in range(20)]
print(all(re.fullmatch(idgen.pattern_regex('individual'), i) for i in ids), len(set(ids)), ids[0])
"#
    );
    let out =
        run_ok(Command::new("python3").arg("-c").arg(script).env("PYTHONPATH", project.extension()).env("PYTHONDONTWRITEBYTECODE", "1"));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(&lines[..3], ["HH/20310001/A", "HH/20310002/A", "HH/20320001/A"], "{out}");
    assert_eq!(lines[3], r"^HH/[0-9]{8}/A$", "{out}");
    let random: Vec<&str> = lines[4].split(' ').collect();
    assert_eq!(&random[..2], ["True", "20"], "{out}");
    assert!(random[2].starts_with("IN-") && random[2].len() == 11, "{out}");
}

#[test]
fn a_missing_reference_or_a_bad_answer_fails_clearly() {
    if !tools_present() {
        return;
    }
    let project = Project::new("no-reference");
    std::fs::remove_dir_all(project.workspace().join("reference")).unwrap();
    let message = failure(project.run("generate_extension_files").0);
    assert!(message.contains("run clone_reference_registry first"), "{message}");
    assert!(!project.extension().exists(), "nothing is written");

    let case = std::fs::read_to_string(repo().join("fixtures/demo/working_case.yaml"))
        .unwrap()
        .replace("{kind: unique, table: Individuals, columns: [national_id_number]}", "{kind: unique, table: People, columns: [nin]}");
    let project = Project::with_case("bad-constraint", &case);
    let message = failure(project.run("generate_extension_files").0);
    assert!(message.contains("database_constraints: entry 3 names the table `People`"), "{message}");

    let message = failure(project.run("compile_extension").0);
    assert!(message.contains("run generate_extension_files first"), "{message}");
}

/// The server process, killed when the test ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn the_generated_server_serves_the_api_contract() {
    if !tools_present() {
        return;
    }
    let project = Project::new("server");
    project.generate();
    let data = project.dir.0.join("data");
    let port = free_port();
    let mut server = Server(
        Command::new("python3")
            .args(["-m", &format!("{PACKAGE}.server")])
            .env("PYTHONPATH", project.extension())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("DATA_DIR", &data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(response) = client.get(format!("{base}/health")).send() {
            assert_eq!(response.status(), 200);
            assert_eq!(response.headers()["access-control-allow-origin"], "*");
            assert_eq!(response.json::<Value>().unwrap(), json!({"status": "ok"}));
            break;
        }
        assert!(server.0.try_wait().unwrap().is_none(), "the server exited");
        assert!(Instant::now() < deadline, "the server did not answer /health within 20 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(data.join("registry.sqlite3").is_file());
    let post = |segment: &str, body: Value| {
        let response = client.post(format!("{base}/api/{segment}")).json(&body).send().unwrap();
        (response.status().as_u16(), response.json::<Value>().unwrap())
    };

    // Create: 201, every column, the default filled in, a functional id from the pattern.
    let (status, household) = post("household", json!({"household_name": "Ncube", "district": "North"}));
    assert_eq!(status, 201, "{household}");
    assert_eq!(household["id"], 1);
    assert_eq!(household["functional_id"], "HH-00000001");
    assert_eq!(household["dwelling_type"], Value::Null);
    assert!(household["registered_on"].as_str().is_some_and(|d| d.len() == 10 && d.as_bytes()[4] == b'-'), "{household}");
    let (_, second) = post("household", json!({"household_name": "Dube", "district": "South", "dwelling_type": "hut"}));
    assert_eq!(second["functional_id"], "HH-00000002");

    // Read, update, list.
    let read: Value = client.get(format!("{base}/api/household/1")).send().unwrap().json().unwrap();
    assert_eq!(read, household);
    let response = client.put(format!("{base}/api/household/1")).json(&json!({"dwelling_type": "flat"})).send().unwrap();
    assert_eq!(response.status(), 200);
    let updated: Value = response.json().unwrap();
    assert_eq!((updated["dwelling_type"].as_str(), updated["household_name"].as_str()), (Some("flat"), Some("Ncube")));
    let list: Value = client.get(format!("{base}/api/household")).send().unwrap().json().unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert_eq!(list["items"][0], updated);
    assert_eq!(client.get(format!("{base}/api/household/99")).send().unwrap().status(), 404);
    assert_eq!(client.get(format!("{base}/api/nothing")).send().unwrap().status(), 404);
    assert_eq!(client.put(format!("{base}/api/household/99")).json(&json!({"district": "x"})).send().unwrap().status(), 404);

    // 422: a required column missing, an unknown column, a wrong type, a too-long text, bad JSON.
    let (status, body) = post("household", json!({"district": "North", "colour": "red"}));
    assert_eq!(status, 422);
    let errors: Vec<&str> = body["errors"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(errors.contains(&"`household_name` is required") && errors.contains(&"unknown column `colour`"), "{errors:?}");
    let (status, body) = post("household", json!({"household_name": 7, "district": "x".repeat(65)}));
    assert_eq!(status, 422);
    assert_eq!(body["errors"], json!(["`household_name` must be a string", "`district` must be at most 64 characters"]));
    let (status, body) =
        post("individual", json!({"household_id": "one", "given_name": "A", "family_name": "B", "date_of_birth": "1990-13-01"}));
    assert_eq!(status, 422);
    assert_eq!(body["errors"], json!(["`household_id` must be an integer", "`date_of_birth` must be an ISO date string"]));
    let response = client.put(format!("{base}/api/household/1")).json(&json!({"household_name": null})).send().unwrap();
    assert_eq!(response.status(), 422);
    let response =
        client.post(format!("{base}/api/household")).header("content-type", "application/json").body("{not json").send().unwrap();
    assert_eq!(response.status(), 422);
    assert_eq!(response.json::<Value>().unwrap()["errors"], json!(["the body is not valid JSON"]));

    // A random-body identifier; the database constraints (FK, UNIQUE, CHECK) answer 409.
    let person = json!({"household_id": 1, "given_name": "Ada", "family_name": "Ncube", "national_id_number": "AUR123"});
    let (status, individual) = post("individual", person.clone());
    assert_eq!(status, 201, "{individual}");
    let id = individual["functional_id"].as_str().unwrap();
    assert!(id.len() == 11 && id.starts_with("IN-") && id[3..].chars().all(|c| c.is_ascii_digit()), "{id}");
    assert_eq!(post("individual", person).0, 409);
    let (status, body) = post("individual", json!({"household_id": 999, "given_name": "X", "family_name": "Y"}));
    assert_eq!(status, 409, "{body}");
    let (status, asset) = post("household-asset", json!({"household_id": 2, "asset_kind": "goat"}));
    assert_eq!((status, &asset["quantity"]), (201, &json!(1)), "{asset}");
    assert!(asset.get("functional_id").is_none(), "{asset}");
    assert_eq!(post("household-asset", json!({"household_id": 2, "asset_kind": "cow", "quantity": 0})).0, 409);

    // CORS preflight.
    let response = client.request(reqwest::Method::OPTIONS, format!("{base}/api/household")).send().unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert!(response.headers()["access-control-allow-methods"].to_str().unwrap().contains("PUT"));
}
