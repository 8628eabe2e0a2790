//! The git handlers against real repositories: a bare repository on disk built with the git CLI,
//! and a real git-over-HTTP server (nginx + fcgiwrap + git http-backend, started by
//! `scripts/git-http-server` on loopback, with basic auth). What is pushed is cloned back with
//! the git CLI, an independent client, and compared file by file.

use playbook_core::case::Case;
use playbook_engine::build::events::read_events;
use playbook_engine::build::{CancelToken, EventSink, Handler, Observer, Redactor, StepContext, StepOutcome};
use playbook_engine::handlers::git::{CloneReferenceRegistry, GitEnv, PushRepo, PushTarget, ReferenceClone};
use playbook_engine::handlers::outputs::{GitlabProject, GitlabWorkspace, PushedRepo, read_output, write_output};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::TempDir;

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

// ── the git CLI ─────────────────────────────────────────────────────────────────────────────

/// Run the git CLI with no user or system configuration; panics with its output on failure.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Upstream Dev")
        .env("GIT_AUTHOR_EMAIL", "dev@upstream.invalid")
        .env("GIT_COMMITTER_NAME", "Upstream Dev")
        .env("GIT_COMMITTER_EMAIL", "dev@upstream.invalid")
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .expect("the git CLI must be installed");
    assert!(out.status.success(), "git {args:?} failed: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The commits of the upstream reference repository built for the clone tests.
struct Upstream {
    bare: PathBuf,
    first: String,
    main: String,
    release: String,
}

/// A bare repository: `main` (two commits, tag `v1.0` annotated on the first, `v2` light on
/// the second), and a branch `release` with a third commit only it has.
fn upstream(dir: &Path) -> Upstream {
    let work = dir.join("upstream-work");
    std::fs::create_dir_all(&work).unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    write(&work.join("README.md"), "reference v1\n");
    write(&work.join("src/registry/models.py"), "class Model:\n    pass\n");
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "first"]);
    let first = git(&work, &["rev-parse", "HEAD"]);
    git(&work, &["tag", "-a", "v1.0", "-m", "version 1.0"]);
    write(&work.join("README.md"), "reference v2\n");
    write(&work.join("docs/guide.md"), "guide\n");
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "second"]);
    let main = git(&work, &["rev-parse", "HEAD"]);
    git(&work, &["tag", "v2"]);
    git(&work, &["checkout", "-q", "-b", "release"]);
    write(&work.join("RELEASE"), "release notes\n");
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "release"]);
    let release = git(&work, &["rev-parse", "HEAD"]);
    git(&work, &["checkout", "-q", "main"]);
    let bare = dir.join("upstream/reference.git");
    git(dir, &["clone", "-q", "--bare", work.to_str().unwrap(), bare.to_str().unwrap()]);
    Upstream { bare, first, main, release }
}

// ── a step run against the registry playbook and the demo case ──────────────────────────────

struct Fixture {
    _dir: TempDir,
    case_dir: PathBuf,
    workspace: PathBuf,
    events: PathBuf,
    case_text: String,
}

impl Fixture {
    /// The demo case (its playbook by absolute path) plus `extra` answers.
    fn new(name: &str, extra: &[(&str, &str)]) -> Fixture {
        let dir = TempDir::new(name);
        let case_dir = dir.0.join("case");
        let workspace = case_dir.join(".playbook/builds/job-7/workspace");
        std::fs::create_dir_all(&workspace).unwrap();
        let demo = std::fs::read_to_string(format!("{MANIFEST}/../../fixtures/demo/working_case.yaml")).unwrap();
        let playbook = Path::new(MANIFEST).join("../../playbooks/registry.md").canonicalize().unwrap();
        let mut case_text = demo.replace("playbook: ../../playbooks/registry.md", &format!("playbook: {}", playbook.display()));
        for (id, value) in extra {
            case_text.push_str(&format!("  {id}: {}\n", serde_json::to_string(value).unwrap()));
        }
        std::fs::write(case_dir.join("working_case.yaml"), &case_text).unwrap();
        let events = case_dir.join(".playbook/builds/job-7/events.jsonl");
        Fixture { _dir: dir, case_dir, workspace, events, case_text }
    }

    fn root(&self) -> &Path {
        &self._dir.0
    }

    /// Run one Activity's handler; its outcome and every logged message. The event sink gets
    /// no secrets to redact, so anything a handler leaked would show.
    fn run(&self, activity: &str, handler: &dyn Handler, cancel: &CancelToken) -> (StepOutcome, Vec<String>) {
        self.run_observed(activity, handler, cancel, None)
    }

    fn run_observed(
        &self,
        activity: &str,
        handler: &dyn Handler,
        cancel: &CancelToken,
        observer: Option<Observer>,
    ) -> (StepOutcome, Vec<String>) {
        let playbook_text = std::fs::read_to_string(format!("{MANIFEST}/../../playbooks/registry.md")).unwrap();
        let playbook = playbook_core::playbook::parse(&playbook_text);
        let activity = playbook.activity(activity).unwrap_or_else(|| panic!("the registry playbook has no Activity {activity}"));
        let case = Case::parse(&self.case_text);
        let _ = std::fs::remove_file(&self.events);
        let sink = EventSink::open(&self.events, "job-7", 0, Redactor::default(), observer).unwrap();
        let ctx = StepContext {
            activity,
            index: 0,
            workspace: &self.workspace,
            env: &[],
            events: &sink,
            cancel,
            case: &case,
            case_path: &self.case_dir.join("working_case.yaml"),
            case_text: &self.case_text,
            case_dir: &self.case_dir,
            playbook: &playbook,
            phase_number: Some(2),
        };
        let outcome = handler.run(&ctx);
        sink.sync();
        let logs = read_events(&self.events, 0).unwrap().into_iter().filter_map(|e| e.message).collect();
        (outcome, logs)
    }

    fn clone_reference(&self, env: &[(&str, &str)]) -> (StepOutcome, Vec<String>) {
        let handler = CloneReferenceRegistry::with_env(GitEnv::fixed(env));
        self.run(CloneReferenceRegistry::ACTIVITY, &handler, &CancelToken::new())
    }

    fn push(&self, target: PushTarget, env: &[(&str, &str)]) -> (StepOutcome, Vec<String>) {
        let handler = PushRepo::with_env(target, GitEnv::fixed(env));
        self.run(target.activity(), &handler, &CancelToken::new())
    }

    fn reference_output(&self) -> ReferenceClone {
        read_output(&self.workspace, CloneReferenceRegistry::ACTIVITY).unwrap().expect("clone_reference_registry wrote no outputs")
    }

    /// The outputs `prepare_gitlab_workspace` would have recorded for these two remotes.
    fn gitlab_output(&self, extension_url: &str, deployment_url: &str) {
        let project = |id: u64, name: &str, url: &str| GitlabProject {
            id,
            path_with_namespace: format!("openg2p/aurelia-dev/{name}"),
            http_url_to_repo: url.to_string(),
            web_url: format!("https://gitlab.invalid/openg2p/aurelia-dev/{name}"),
            container_registry_image_prefix: None,
        };
        let gitlab = GitlabWorkspace {
            group_path: "openg2p/aurelia-dev".into(),
            group_id: 10,
            extension: project(11, "aurelia-households-extension", extension_url),
            deployment: project(12, "aurelia-households-deployment", deployment_url),
        };
        write_output(&self.workspace, "prepare_gitlab_workspace", &gitlab).unwrap();
    }
}

fn failure(outcome: StepOutcome) -> String {
    match outcome {
        StepOutcome::Failed(message) => message,
        other => panic!("expected the step to fail, it ended {other:?}"),
    }
}

fn assert_succeeded(outcome: &StepOutcome, logs: &[String]) {
    assert_eq!(*outcome, StepOutcome::Succeeded, "logs:\n{}", logs.join("\n"));
}

// ── the HTTP server ─────────────────────────────────────────────────────────────────────────

/// A running `scripts/git-http-server`, stopped on drop.
struct GitServer {
    prefix: PathBuf,
    url: String,
    root: PathBuf,
}

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/git-http-server");

impl GitServer {
    /// Serve the bare repositories under `root`; with `auth`, basic auth as that user and
    /// password. `None` (after printing SKIP) when nginx or fcgiwrap is missing and `CI` is unset.
    fn start(root: &Path, prefix: &Path, auth: Option<(&str, &str)>) -> Option<GitServer> {
        let mut command = Command::new("bash");
        command.arg(SCRIPT).arg("start").arg("--root").arg(root).arg("--prefix").arg(prefix);
        if let Some((user, password)) = auth {
            command.arg("--user").arg(user).env("GIT_HTTP_PASSWORD", password);
        }
        let out = command.output().expect("cannot run bash");
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() == Some(3) {
            let hint = format!("nginx-light / fcgiwrap are missing ({}); install them with scripts/install-git-http-server", stderr.trim());
            if std::env::var_os("CI").is_some() {
                panic!("{hint}");
            }
            eprintln!("SKIP: {hint}");
            return None;
        }
        assert!(out.status.success(), "git-http-server did not start: {stderr}");
        let url = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "unexpected base URL {url:?}");
        Some(GitServer { prefix: prefix.to_path_buf(), url, root: root.to_path_buf() })
    }

    /// A new empty bare repository `<name>.git` whose HEAD is `develop`, and its URL.
    fn bare(&self, name: &str) -> (PathBuf, String) {
        let path = self.root.join(format!("{name}.git"));
        git(&self.root, &["init", "-q", "--bare", "-b", "develop", path.to_str().unwrap()]);
        (path, format!("{}/{name}.git", self.url))
    }

    /// The URL of a repository with credentials in it, for the git CLI.
    fn url_with(&self, name: &str, user: &str, password: &str) -> String {
        format!("http://{user}:{password}@{}/{name}.git", self.url.trim_start_matches("http://"))
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        let _ = Command::new("bash").arg(SCRIPT).arg("stop").arg("--prefix").arg(&self.prefix).status();
    }
}

// ── tree comparison ─────────────────────────────────────────────────────────────────────────

/// Every file under `dir` (relative path → content, executable bit), skipping the `.git`
/// directory and the top-level `skip` paths.
fn files(dir: &Path, skip: &[&str]) -> BTreeMap<String, (Vec<u8>, bool)> {
    fn walk(root: &Path, dir: &Path, skip: &[&str], out: &mut BTreeMap<String, (Vec<u8>, bool)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let rel = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if entry.file_name() == ".git" || skip.contains(&rel.as_str()) {
                continue;
            }
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                walk(root, &path, skip, out);
            } else if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                out.insert(rel, (format!("-> {}", target.display()).into_bytes(), false));
            } else {
                out.insert(rel, (std::fs::read(&path).unwrap(), meta.permissions().mode() & 0o111 != 0));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, skip, &mut out);
    out
}

/// Generated content like the extension and deployment steps write.
fn generated_dirs(workspace: &Path) {
    let ext = workspace.join("extension");
    write(&ext.join("mosd_aurelia_households/__init__.py"), "");
    write(&ext.join("mosd_aurelia_households/server.py"), "print('serve')\n");
    write(&ext.join("mosd_aurelia_households/models/household.py"), "class Household:\n    table = 'aurelia_households_household'\n");
    write(&ext.join("bin/run.sh"), "#!/bin/sh\nexec python3 -m mosd_aurelia_households.server\n");
    std::fs::set_permissions(ext.join("bin/run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("bin/run.sh", ext.join("run")).unwrap();
    write(&ext.join("mosd_aurelia_households/__pycache__/server.cpython-311.pyc"), "bytecode");
    std::fs::create_dir_all(ext.join("empty-dir")).unwrap();
    let dep = workspace.join("deployment");
    write(&dep.join("images.json"), "[]\n");
    write(&dep.join("docker/api/Dockerfile"), "ARG BASE_IMAGE=python:3.11-slim\nFROM ${BASE_IMAGE}\n");
    write(&dep.join("docker-compose.sandbox.yaml"), "services: {}\n");
    write(&dep.join("tests/test_api.py"), "def test_health():\n    assert True\n");
    write(&dep.join("test-results/junit.xml"), "<testsuite/>\n");
    write(&dep.join("tests/test-results/keep.txt"), "only the top-level test-results/ is local\n");
}

// ── clone_reference_registry ────────────────────────────────────────────────────────────────

#[test]
fn clones_a_local_bare_repository_at_its_default_branch_a_tag_a_branch_and_a_commit() {
    // No answer: the URL comes from REFERENCE_REGISTRY_URL, relative to the case folder.
    let fx = Fixture::new("clone-local", &[]);
    let up = upstream(fx.root());
    let relative = "../upstream/reference.git";
    assert!(fx.case_dir.join(relative).is_dir());
    write(&fx.workspace.join("reference/stale.txt"), "from an earlier job");

    let (outcome, logs) = fx.clone_reference(&[("REFERENCE_REGISTRY_URL", relative)]);
    assert_succeeded(&outcome, &logs);
    let out = fx.reference_output();
    assert_eq!((out.reference.as_str(), out.commit.as_str()), ("main", up.main.as_str()));
    let reference = fx.workspace.join("reference");
    assert!(!reference.join("stale.txt").exists(), "the earlier clone was not wiped");
    assert_eq!(std::fs::read_to_string(reference.join("README.md")).unwrap(), "reference v2\n");
    assert!(logs.iter().any(|l| l.contains(&up.main)), "the resolved commit is not logged: {logs:?}");

    // An annotated tag (peeled to its commit), checked out detached.
    let (outcome, logs) = fx.clone_reference(&[("REFERENCE_REGISTRY_URL", relative), ("REFERENCE_REGISTRY_REF", "v1.0")]);
    assert_succeeded(&outcome, &logs);
    assert_eq!(fx.reference_output().commit, up.first);
    assert_eq!(std::fs::read_to_string(reference.join("README.md")).unwrap(), "reference v1\n");
    assert!(!reference.join("docs/guide.md").exists());
    assert_eq!(git(&reference, &["rev-parse", "HEAD"]), up.first);
    assert_eq!(git(&reference, &["rev-parse", "--abbrev-ref", "HEAD"]), "HEAD", "HEAD is not detached");
    assert_eq!(git(&reference, &["status", "--porcelain"]), "", "the checkout is not clean");

    // The answers win over the environment: a branch by name, then a commit by abbreviated id.
    let fx = Fixture::new("clone-answer", &[("reference_registry_url", up.bare.to_str().unwrap()), ("reference_registry_ref", "release")]);
    let (outcome, logs) = fx.clone_reference(&[("REFERENCE_REGISTRY_URL", "/nonexistent/elsewhere.git"), ("REFERENCE_REGISTRY_REF", "v2")]);
    assert_succeeded(&outcome, &logs);
    assert_eq!(fx.reference_output().commit, up.release);
    assert!(fx.workspace.join("reference/RELEASE").is_file());

    let short = &up.first[..10];
    let fx = Fixture::new("clone-sha", &[("reference_registry_url", up.bare.to_str().unwrap()), ("reference_registry_ref", short)]);
    let (outcome, logs) = fx.clone_reference(&[]);
    assert_succeeded(&outcome, &logs);
    let out = fx.reference_output();
    assert_eq!((out.reference.as_str(), out.commit.as_str()), (short, up.first.as_str()));
}

#[test]
fn an_unknown_ref_fails_and_lists_the_branches_and_tags_there_are() {
    let fx = Fixture::new("clone-unknown", &[("reference_registry_ref", "no-such-branch")]);
    let up = upstream(fx.root());
    let (outcome, _) = fx.clone_reference(&[("REFERENCE_REGISTRY_URL", up.bare.to_str().unwrap())]);
    let message = failure(outcome);
    for expected in ["`no-such-branch`", "neither a branch, a tag nor a commit", "main", "release", "v1.0", "v2"] {
        assert!(message.contains(expected), "`{expected}` missing from: {message}");
    }
    assert!(read_output::<ReferenceClone>(&fx.workspace, CloneReferenceRegistry::ACTIVITY).unwrap().is_none());
}

#[test]
fn a_missing_local_path_and_an_unreachable_host_fail_clearly() {
    let fx = Fixture::new("clone-unreachable", &[]);
    let message = failure(fx.clone_reference(&[("REFERENCE_REGISTRY_URL", "mirrors/nowhere.git")]).0);
    assert!(message.contains("neither a URL nor an existing directory") && message.contains("mirrors/nowhere.git"), "{message}");

    // A port nobody listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://reader:hunter2-secret@127.0.0.1:{port}/reference.git");
    let (outcome, logs) = fx.clone_reference(&[("REFERENCE_REGISTRY_URL", &url)]);
    let message = failure(outcome);
    assert!(message.contains("cannot reach the reference registry"), "{message}");
    assert!(message.contains(&format!("http://127.0.0.1:{port}/reference.git")), "{message}");
    assert!(!message.contains("hunter2") && !logs.iter().any(|l| l.contains("hunter2")), "credentials leaked: {message} {logs:?}");
    assert!(!fx.workspace.join("reference").exists(), "a failed clone left reference/ behind");
}

#[test]
fn clones_over_http_from_a_real_git_server_and_honours_cancellation() {
    let fx = Fixture::new("clone-http", &[]);
    let up = upstream(fx.root());
    let root = fx.root().join("srv-repos");
    std::fs::create_dir_all(&root).unwrap();
    git(fx.root(), &["clone", "-q", "--bare", up.bare.to_str().unwrap(), root.join("reference.git").to_str().unwrap()]);
    let Some(server) = GitServer::start(&root, &fx.root().join("srv"), None) else { return };
    // Credentials in the URL are not needed here, and must not show anywhere.
    let url = format!("http://reader:hunter2-secret@{}/reference.git", server.url.trim_start_matches("http://"));

    let (outcome, logs) = fx.clone_reference(&[("REFERENCE_REGISTRY_URL", &url), ("REFERENCE_REGISTRY_REF", "v2")]);
    assert_succeeded(&outcome, &logs);
    let out = fx.reference_output();
    assert_eq!(out.url, format!("{}/reference.git", server.url));
    assert_eq!(out.commit, up.main);
    assert_eq!(std::fs::read_to_string(fx.workspace.join("reference/docs/guide.md")).unwrap(), "guide\n");
    assert!(!logs.iter().any(|l| l.contains("hunter2")), "{logs:?}");

    // A build stopped before the transfer: the step ends Cancelled and leaves no half clone.
    let cancel = CancelToken::new();
    cancel.cancel();
    let handler = CloneReferenceRegistry::with_env(GitEnv::fixed(&[("REFERENCE_REGISTRY_URL", &url)]));
    let (outcome, _) = fx.run(CloneReferenceRegistry::ACTIVITY, &handler, &cancel);
    assert_eq!(outcome, StepOutcome::Cancelled);
    assert!(!fx.workspace.join("reference").exists());

    // Stopped during the transfer (at the first progress line) of an 8 MiB incompressible repository.
    let big = fx.root().join("big-work");
    std::fs::create_dir_all(&big).unwrap();
    git(&big, &["init", "-q", "-b", "main"]);
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..32 {
        let bytes: Vec<u8> = (0..256 * 1024)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        std::fs::write(big.join(format!("blob-{i}.bin")), bytes).unwrap();
    }
    git(&big, &["add", "-A"]);
    git(&big, &["commit", "-q", "-m", "big"]);
    git(fx.root(), &["clone", "-q", "--bare", big.to_str().unwrap(), root.join("big.git").to_str().unwrap()]);
    let cancel = CancelToken::new();
    let on_progress = cancel.clone();
    let observer: Observer = Box::new(move |event| {
        if event.message.as_deref().is_some_and(|m| m.starts_with("received ")) {
            on_progress.cancel();
        }
    });
    let handler = CloneReferenceRegistry::with_env(GitEnv::fixed(&[("REFERENCE_REGISTRY_URL", &format!("{}/big.git", server.url))]));
    let (outcome, logs) = fx.run_observed(CloneReferenceRegistry::ACTIVITY, &handler, &cancel, Some(observer));
    assert_eq!(outcome, StepOutcome::Cancelled, "{logs:?}");
    let progress: Vec<_> = logs.iter().filter(|l| l.starts_with("received ")).collect();
    assert_eq!(progress.len(), 1, "the transfer went on after the cancellation: {logs:?}");
    let counts = progress[0].trim_start_matches("received ").split(' ').next().unwrap();
    let (received, total) = counts.split_once('/').unwrap();
    let (received, total): (u32, u32) = (received.parse().unwrap(), total.parse().unwrap());
    assert!(received < total, "cancelled only after the whole transfer: {progress:?}");
    assert!(!fx.workspace.join("reference").exists());
}

// ── push_extension_repo / push_deployment_repo ──────────────────────────────────────────────

const USER: &str = "builder";
const PASSWORD: &str = "pa55-Word-for-push";

fn push_env() -> Vec<(&'static str, &'static str)> {
    vec![("GIT_PUSH_USERNAME", USER), ("GIT_PUSH_PASSWORD", PASSWORD)]
}

#[test]
fn pushes_both_repositories_over_http_and_a_git_clone_gets_the_same_files() {
    let fx = Fixture::new("push-both", &[]);
    let root = fx.root().join("srv-repos");
    std::fs::create_dir_all(&root).unwrap();
    let Some(server) = GitServer::start(&root, &fx.root().join("srv"), Some((USER, PASSWORD))) else { return };
    let (_, ext_url) = server.bare("ext");
    let (_, dep_url) = server.bare("dep");
    fx.gitlab_output(&ext_url, &dep_url);
    generated_dirs(&fx.workspace);

    for (target, name, skip) in
        [(PushTarget::Extension, "ext", vec!["mosd_aurelia_households/__pycache__"]), (PushTarget::Deployment, "dep", vec!["test-results"])]
    {
        let (outcome, logs) = fx.push(target, &push_env());
        assert_succeeded(&outcome, &logs);
        if std::env::var_os("GIT_TEST_SHOW_LOGS").is_some() {
            eprintln!("{}", logs.join("\n"));
        }
        assert!(!logs.iter().any(|l| l.contains(PASSWORD)), "the password was logged: {logs:?}");
        let pushed: PushedRepo = read_output(&fx.workspace, target.activity()).unwrap().unwrap();
        assert_eq!(pushed.remote, format!("{}/{name}.git", server.url));
        assert_eq!(pushed.branch, "develop");

        // An independent client: the git CLI clones what the server has.
        let clone = fx.root().join(format!("check-{name}"));
        git(fx.root(), &["clone", "-q", "--branch", "develop", &server.url_with(name, USER, PASSWORD), clone.to_str().unwrap()]);
        assert_eq!(git(&clone, &["rev-parse", "HEAD"]), pushed.commit);
        let content = fx.workspace.join(target.dir());
        let expected = files(&content, &skip);
        assert!(expected.len() >= 4, "{expected:?}");
        assert_eq!(files(&clone, &[]), expected, "the clone of {name} differs from {}", content.display());
        assert!(!content.join(".git").exists(), "git metadata was put inside {}", content.display());
        let author = git(&clone, &["log", "-1", "--format=%an <%ae>|%cn <%ce>|%P|%B"]);
        let [author, committer, parents, message] = author.splitn(4, '|').collect::<Vec<_>>()[..] else { panic!("{author}") };
        assert_eq!((author, committer, parents), ("playbook build <build@playbook.invalid>", author, ""));
        assert!(message.contains("job-7") && message.contains("Aurelia National Household Registry"), "{message}");
        assert!(message.contains(target.activity()), "{message}");
    }
    // The deployment's nested `tests/test-results` is content; only the top-level one is local.
    assert!(fx.root().join("check-dep/tests/test-results/keep.txt").is_file());
    assert!(!fx.root().join("check-dep/test-results").exists());
    assert!(fx.root().join("check-ext/bin/run.sh").metadata().unwrap().permissions().mode() & 0o100 != 0);
}

#[test]
fn a_second_push_commits_on_top_of_the_first_and_overwrites_unrelated_remote_history() {
    let fx = Fixture::new("push-again", &[]);
    let root = fx.root().join("srv-repos");
    std::fs::create_dir_all(&root).unwrap();
    let Some(server) = GitServer::start(&root, &fx.root().join("srv"), Some((USER, PASSWORD))) else { return };
    let (ext_bare, ext_url) = server.bare("ext");
    let (_, dep_url) = server.bare("dep");
    fx.gitlab_output(&ext_url, &dep_url);
    generated_dirs(&fx.workspace);
    let env = [
        ("GIT_PUSH_PASSWORD", PASSWORD),
        ("GIT_PUSH_USERNAME", USER),
        ("GIT_AUTHOR_NAME", "Aurelia CI"),
        ("GIT_AUTHOR_EMAIL", "ci@aurelia.invalid"),
    ];

    let (outcome, logs) = fx.push(PushTarget::Extension, &env);
    assert_succeeded(&outcome, &logs);
    let first: PushedRepo = read_output(&fx.workspace, "push_extension_repo").unwrap().unwrap();
    assert_eq!(git(&ext_bare, &["log", "-1", "--format=%an <%ae>", "develop"]), "Aurelia CI <ci@aurelia.invalid>");

    // Someone pushes an unrelated history to develop meanwhile.
    let other = fx.root().join("other");
    std::fs::create_dir_all(&other).unwrap();
    git(&other, &["init", "-q", "-b", "develop"]);
    write(&other.join("unrelated.txt"), "x\n");
    git(&other, &["add", "-A"]);
    git(&other, &["commit", "-q", "-m", "unrelated"]);
    git(&other, &["push", "-q", "--force", &server.url_with("ext", USER, PASSWORD), "develop"]);
    let unrelated = git(&other, &["rev-parse", "HEAD"]);
    assert_eq!(git(&ext_bare, &["rev-parse", "develop"]), unrelated);

    write(&fx.workspace.join("extension/mosd_aurelia_households/server.py"), "print('serve v2')\n");
    std::fs::remove_file(fx.workspace.join("extension/mosd_aurelia_households/models/household.py")).unwrap();
    let (outcome, logs) = fx.push(PushTarget::Extension, &env);
    assert_succeeded(&outcome, &logs);
    let second: PushedRepo = read_output(&fx.workspace, "push_extension_repo").unwrap().unwrap();
    assert_ne!(second.commit, first.commit);
    assert_eq!(git(&ext_bare, &["rev-parse", "develop"]), second.commit, "the server's develop did not move");
    assert_eq!(git(&ext_bare, &["rev-parse", "develop^"]), first.commit, "the second commit's parent is not the first");
    assert_eq!(git(&ext_bare, &["show", "develop:mosd_aurelia_households/server.py"]), "print('serve v2')");
    assert_eq!(git(&ext_bare, &["ls-tree", "-r", "--name-only", "develop", "mosd_aurelia_households/models"]), "");
    let ancestor =
        Command::new("git").args(["merge-base", "--is-ancestor", &unrelated, "develop"]).current_dir(&ext_bare).status().unwrap();
    assert!(!ancestor.success(), "the unrelated history was merged instead of overwritten");

    // Nothing changed: no new commit, the same one is pushed again.
    let (outcome, logs) = fx.push(PushTarget::Extension, &env);
    assert_succeeded(&outcome, &logs);
    let third: PushedRepo = read_output(&fx.workspace, "push_extension_repo").unwrap().unwrap();
    assert_eq!(third.commit, second.commit);
    assert!(logs.iter().any(|l| l.contains("unchanged")), "{logs:?}");
}

#[test]
fn a_push_refused_by_a_pre_receive_hook_fails_with_the_servers_message() {
    let fx = Fixture::new("push-hook", &[]);
    let root = fx.root().join("srv-repos");
    std::fs::create_dir_all(&root).unwrap();
    let Some(server) = GitServer::start(&root, &fx.root().join("srv"), Some((USER, PASSWORD))) else { return };
    let (ext_bare, ext_url) = server.bare("ext");
    let (_, dep_url) = server.bare("dep");
    let hook = ext_bare.join("hooks/pre-receive");
    write(&hook, "#!/bin/sh\necho 'GL-HOOK-ERR: pushes to develop are locked' >&2\nexit 1\n");
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    fx.gitlab_output(&ext_url, &dep_url);
    generated_dirs(&fx.workspace);

    let (outcome, logs) = fx.push(PushTarget::Extension, &push_env());
    let message = failure(outcome);
    assert!(message.contains("GL-HOOK-ERR: pushes to develop are locked"), "{message}\nlogs: {logs:?}");
    assert!(message.contains("rejected"), "{message}");
    assert!(read_output::<PushedRepo>(&fx.workspace, "push_extension_repo").unwrap().is_none());
    let refs = git(&ext_bare, &["for-each-ref"]);
    assert_eq!(refs, "", "the refused push changed the server: {refs}");
}

#[test]
fn a_wrong_or_missing_password_fails_with_an_auth_error_that_never_shows_it() {
    let fx = Fixture::new("push-auth", &[]);
    let root = fx.root().join("srv-repos");
    std::fs::create_dir_all(&root).unwrap();
    let Some(server) = GitServer::start(&root, &fx.root().join("srv"), Some((USER, PASSWORD))) else { return };
    let (ext_bare, ext_url) = server.bare("ext");
    let (_, dep_url) = server.bare("dep");
    fx.gitlab_output(&ext_url, &dep_url);
    generated_dirs(&fx.workspace);

    let wrong = "Wr0ng-secret-value";
    let (outcome, logs) = fx.push(PushTarget::Deployment, &[("GIT_PUSH_USERNAME", USER), ("GITLAB_TOKEN", wrong)]);
    let message = failure(outcome);
    assert!(message.contains("authentication failed") && message.contains("GITLAB_TOKEN") && message.contains(USER), "{message}");
    assert!(!message.contains(wrong) && !logs.iter().any(|l| l.contains(wrong)), "the password leaked: {message} {logs:?}");

    let message = failure(fx.push(PushTarget::Deployment, &[]).0);
    assert!(message.contains("asks for credentials") && message.contains("GIT_PUSH_PASSWORD"), "{message}");
    assert_eq!(git(&ext_bare, &["for-each-ref"]), "");
}

#[test]
fn a_push_without_the_gitlab_outputs_or_without_content_fails_clearly() {
    let fx = Fixture::new("push-missing", &[]);
    generated_dirs(&fx.workspace);
    let message = failure(fx.push(PushTarget::Extension, &push_env()).0);
    assert!(message.contains("prepare_gitlab_workspace") && message.contains("no GitLab project to push to"), "{message}");

    fx.gitlab_output("http://127.0.0.1:9/ext.git", "http://127.0.0.1:9/dep.git");
    std::fs::remove_dir_all(fx.workspace.join("deployment")).unwrap();
    let message = failure(fx.push(PushTarget::Deployment, &push_env()).0);
    assert!(message.contains("nothing to push") && message.contains("deployment/"), "{message}");
}
