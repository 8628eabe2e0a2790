//! `prepare_gitlab_workspace` against a local stub of the GitLab REST v4 endpoints it uses
//! (written here: std TcpListener on 127.0.0.1:0, stateful, checks PRIVATE-TOKEN, records every
//! request), driven through `run_build` on a temp copy of the demo project, Phase 2.
//! The Python twin of the stub (`tests/stubs/gitlab_stub.py`) is exercised by the last test.

use playbook_engine::build::events::read_events;
use playbook_engine::build::{BuildOptions, CancelToken, Event, EventKind, JobStatus, Observer, Registry, run_build};
use playbook_engine::handlers::gitlab::{GitlabConfig, PrepareGitlabWorkspace};
use playbook_engine::handlers::outputs::{GitlabWorkspace, read_output};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

mod common;
use common::TempDir;

const TOKEN: &str = "glpat-stub-Q7x9VtZk3mN2";
const PARENT: &str = "openg2p/implementations";
const HANDLE: &str = "aurelia-dev";
const EXTENSION: &str = "aurelia-households-extension";
const DEPLOYMENT: &str = "aurelia-households-deployment";

// ---------------------------------------------------------------------------------------------
// The stub
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Group {
    id: u64,
    path: String,
    full_path: String,
    parent_id: Option<u64>,
    marked: Option<String>,
}

#[derive(Clone, Debug)]
struct Project {
    id: u64,
    path: String,
    namespace_id: u64,
    full_path: String,
    default_branch: String,
    branches: Vec<String>,
    visibility: String,
    marked: Option<String>,
}

#[derive(Clone, Debug)]
struct Recorded {
    method: String,
    path: String,
    body: String,
}

#[derive(Default)]
struct State {
    token: String,
    http_base: String,
    next_id: u64,
    groups: Vec<Group>,
    projects: Vec<Project>,
    /// id, username, public email.
    users: Vec<(u64, String, String)>,
    /// Direct project memberships: (project, user) → access level.
    members: HashMap<(u64, u64), u64>,
    /// Group memberships, inherited by the group's projects.
    group_members: HashMap<(u64, u64), u64>,
    /// (method, path without query) → (status, body): answered instead of the real thing.
    faults: HashMap<(String, String), (u16, Value)>,
    requests: Vec<Recorded>,
}

struct Stub {
    url: String,
    state: Arc<Mutex<State>>,
}

impl Stub {
    /// A stub with the parent group `openg2p/implementations` and the user `aurelia-dev`.
    fn start() -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State { token: TOKEN.into(), http_base: base.clone(), next_id: 100, ..State::default() }));
        {
            let state = state.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    let _ = serve(stream, &state);
                }
            });
        }
        let stub = Stub { url: format!("{base}/api/v4"), state };
        stub.group(PARENT);
        stub.user(HANDLE, "");
        stub
    }

    fn st(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// Make the group and its ancestors; its id.
    fn group(&self, full_path: &str) -> u64 {
        let mut st = self.st();
        ensure_group(&mut st, full_path)
    }

    fn user(&self, username: &str, public_email: &str) -> u64 {
        let mut st = self.st();
        st.next_id += 1;
        let id = st.next_id;
        st.users.push((id, username.into(), public_email.into()));
        id
    }

    fn project(&self, group: &str, path: &str, default_branch: &str, branches: &[&str], marked: Option<&str>) -> u64 {
        let ns = self.group(group);
        let mut st = self.st();
        st.next_id += 1;
        let id = st.next_id;
        st.projects.push(Project {
            id,
            path: path.into(),
            namespace_id: ns,
            full_path: format!("{group}/{path}"),
            default_branch: default_branch.into(),
            branches: branches.iter().map(|b| b.to_string()).collect(),
            visibility: "private".into(),
            marked: marked.map(str::to_string),
        });
        id
    }

    fn fault(&self, method: &str, path: &str, status: u16, body: Value) {
        self.st().faults.insert((method.into(), path.into()), (status, body));
    }

    fn requests(&self) -> Vec<Recorded> {
        self.st().requests.clone()
    }

    fn writes(&self) -> Vec<String> {
        self.requests().iter().filter(|r| r.method != "GET").map(|r| format!("{} {}", r.method, r.path)).collect()
    }

    fn config(&self) -> GitlabConfig {
        GitlabConfig::new(&self.url, TOKEN, PARENT).unwrap()
    }
}

fn ensure_group(st: &mut State, full_path: &str) -> u64 {
    if let Some(g) = st.groups.iter().find(|g| g.full_path == full_path) {
        return g.id;
    }
    let (parent_id, path) = match full_path.rsplit_once('/') {
        Some((parent, path)) => (Some(ensure_group(st, parent)), path),
        None => (None, full_path),
    };
    st.next_id += 1;
    let id = st.next_id;
    st.groups.push(Group { id, path: path.into(), full_path: full_path.into(), parent_id, marked: None });
    id
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn serve(stream: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let length: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let body = String::from_utf8_lossy(&body).into_owned();
    let (status, answer) = {
        let mut st = state.lock().unwrap();
        st.requests.push(Recorded { method: method.clone(), path: target.clone(), body: body.clone() });
        route(&mut st, &method, &target, headers.get("private-token").map(String::as_str), &body)
    };
    let text = answer.to_string();
    let reason = match status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        _ => "Other",
    };
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nX-Next-Page: \r\nConnection: close\r\n\r\n{text}",
        text.len()
    )?;
    out.flush()
}

fn not_found(what: &str) -> (u16, Value) {
    (404, json!({"message": format!("404 {what} Not Found")}))
}

fn group_json(st: &State, g: &Group) -> Value {
    json!({
        "id": g.id, "name": g.path, "path": g.path, "full_path": g.full_path, "parent_id": g.parent_id,
        "visibility": "private", "web_url": format!("{}/groups/{}", st.http_base, g.full_path), "marked_for_deletion_on": g.marked,
    })
}

fn project_json(st: &State, p: &Project) -> Value {
    json!({
        "id": p.id, "name": p.path, "path": p.path, "path_with_namespace": p.full_path,
        "namespace": {"id": p.namespace_id, "full_path": p.full_path.rsplit_once('/').map(|x| x.0)},
        "default_branch": p.default_branch, "empty_repo": p.branches.is_empty(), "visibility": p.visibility,
        "http_url_to_repo": format!("{}/{}.git", st.http_base, p.full_path), "web_url": format!("{}/{}", st.http_base, p.full_path),
        "marked_for_deletion_at": p.marked,
    })
}

/// The effective access level: direct, else inherited from the project's groups.
fn effective_level(st: &State, p: &Project, user: u64) -> Option<u64> {
    let mut best = st.members.get(&(p.id, user)).copied();
    let mut group = Some(p.namespace_id);
    while let Some(gid) = group {
        if let Some(l) = st.group_members.get(&(gid, user)) {
            best = Some(best.map_or(*l, |b| b.max(*l)));
        }
        group = st.groups.iter().find(|g| g.id == gid).and_then(|g| g.parent_id);
    }
    best
}

fn route(st: &mut State, method: &str, target: &str, token: Option<&str>, body: &str) -> (u16, Value) {
    if token != Some(st.token.as_str()) {
        return (401, json!({"message": "401 Unauthorized"}));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let Some(path) = path.strip_prefix("/api/v4") else { return not_found("API") };
    if let Some(fault) = st.faults.get(&(method.to_string(), path.to_string())) {
        return fault.clone();
    }
    let query: HashMap<String, String> =
        query.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (decode(k), decode(v))).collect();
    let input: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let segs: Vec<String> = path.trim_start_matches('/').split('/').map(decode).collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let find_project = |st: &State, key: &str| st.projects.iter().position(|p| p.id.to_string() == key || p.full_path == key);
    match (method, segs.as_slice()) {
        ("GET", ["groups", key]) => match st.groups.iter().find(|g| g.id.to_string() == *key || g.full_path == *key) {
            Some(g) => (200, group_json(st, g)),
            None => not_found("Group"),
        },
        ("POST", ["groups"]) => {
            let parent_id = input["parent_id"].as_u64();
            let path = input["path"].as_str().unwrap_or_default().to_string();
            let Some(parent) = st.groups.iter().find(|g| Some(g.id) == parent_id).cloned() else {
                return (400, json!({"message": {"parent_id": ["is invalid"]}}));
            };
            let full_path = format!("{}/{path}", parent.full_path);
            if st.groups.iter().any(|g| g.full_path == full_path) {
                return (400, json!({"message": {"path": ["has already been taken"]}}));
            }
            st.next_id += 1;
            let g = Group { id: st.next_id, path, full_path, parent_id, marked: None };
            st.groups.push(g.clone());
            (201, group_json(st, &g))
        }
        ("GET", ["projects", key]) => match find_project(st, key) {
            Some(i) => (200, project_json(st, &st.projects[i])),
            None => not_found("Project"),
        },
        ("POST", ["projects"]) => {
            let ns = input["namespace_id"].as_u64();
            let Some(group) = st.groups.iter().find(|g| Some(g.id) == ns).cloned() else {
                return (400, json!({"message": {"namespace": ["is not valid"]}}));
            };
            let path = input["path"].as_str().unwrap_or_default().to_string();
            let full_path = format!("{}/{path}", group.full_path);
            if st.projects.iter().any(|p| p.full_path == full_path) {
                return (400, json!({"message": {"path": ["has already been taken"]}}));
            }
            st.next_id += 1;
            // As GitLab: without a README the repository is empty and `default_branch` is ignored.
            let p = Project {
                id: st.next_id,
                path,
                namespace_id: group.id,
                full_path,
                default_branch: "main".into(),
                branches: Vec::new(),
                visibility: input["visibility"].as_str().unwrap_or("private").into(),
                marked: None,
            };
            st.projects.push(p.clone());
            (201, project_json(st, &p))
        }
        ("PUT", ["projects", key]) => {
            let Some(i) = find_project(st, key) else { return not_found("Project") };
            if let Some(branch) = input["default_branch"].as_str() {
                if !st.projects[i].branches.iter().any(|b| b == branch) {
                    return (400, json!({"message": format!("Could not set the default branch. Do you have a branch named '{branch}'?")}));
                }
                st.projects[i].default_branch = branch.into();
            }
            (200, project_json(st, &st.projects[i]))
        }
        ("GET", ["projects", key, "repository", "branches", branch]) => match find_project(st, key) {
            Some(i) if st.projects[i].branches.iter().any(|b| b == branch) => (200, json!({"name": branch})),
            _ => not_found("Branch"),
        },
        ("POST", ["projects", key, "repository", "branches"]) => {
            let Some(i) = find_project(st, key) else { return not_found("Project") };
            let (branch, from) = (query.get("branch").cloned().unwrap_or_default(), query.get("ref").cloned().unwrap_or_default());
            if !st.projects[i].branches.contains(&from) {
                return (400, json!({"message": "Invalid reference name"}));
            }
            st.projects[i].branches.push(branch.clone());
            (201, json!({"name": branch}))
        }
        ("GET", ["users"]) => {
            let wanted = query.get("username").map(|u| u.to_lowercase());
            let list: Vec<Value> = st
                .users
                .iter()
                .filter(|(_, name, _)| wanted.as_ref().is_none_or(|w| &name.to_lowercase() == w))
                .map(|(id, name, email)| json!({"id": id, "username": name, "state": "active", "public_email": email}))
                .collect();
            (200, Value::Array(list))
        }
        ("GET", ["projects", key, "members", "all", uid]) | ("GET", ["projects", key, "members", uid]) => {
            let Some(i) = find_project(st, key) else { return not_found("Project") };
            let uid: u64 = uid.parse().unwrap_or(0);
            let all = segs.len() == 5;
            let level = if all { effective_level(st, &st.projects[i], uid) } else { st.members.get(&(st.projects[i].id, uid)).copied() };
            match level {
                Some(l) => (200, json!({"id": uid, "access_level": l})),
                None => not_found("Member"),
            }
        }
        ("POST", ["projects", key, "members"]) => {
            let Some(i) = find_project(st, key) else { return not_found("Project") };
            let (uid, level) = (input["user_id"].as_u64().unwrap_or(0), input["access_level"].as_u64().unwrap_or(0));
            let pid = st.projects[i].id;
            if st.members.contains_key(&(pid, uid)) {
                return (409, json!({"message": "Member already exists"}));
            }
            st.members.insert((pid, uid), level);
            (201, json!({"id": uid, "access_level": level}))
        }
        ("PUT", ["projects", key, "members", uid]) => {
            let Some(i) = find_project(st, key) else { return not_found("Project") };
            let (pid, uid) = (st.projects[i].id, uid.parse().unwrap_or(0));
            if !st.members.contains_key(&(pid, uid)) {
                return not_found("Member");
            }
            let level = input["access_level"].as_u64().unwrap_or(0);
            st.members.insert((pid, uid), level);
            (200, json!({"id": uid, "access_level": level}))
        }
        _ => not_found("Endpoint"),
    }
}

// ---------------------------------------------------------------------------------------------
// The demo project and the build
// ---------------------------------------------------------------------------------------------

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The demo case and its playbook in a temp folder (relative paths kept), in Phase 2.
fn demo_project(dir: &Path) -> PathBuf {
    for rel in [
        "playbooks/registry.md",
        "fixtures/demo/working_case.yaml",
        "fixtures/demo/assets/logo-small.png",
        "fixtures/demo/assets/logo-medium.png",
    ] {
        let to = dir.join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(repo().join(rel), &to).unwrap();
    }
    let case_dir = dir.join("fixtures/demo");
    std::fs::create_dir_all(case_dir.join(".playbook")).unwrap();
    std::fs::write(case_dir.join(".playbook/state.json"), r#"{"current_phase": 2}"#).unwrap();
    case_dir.join("working_case.yaml")
}

struct Run {
    status: JobStatus,
    events: Vec<Event>,
    job_dir: PathBuf,
}

impl Run {
    fn logs(&self) -> Vec<String> {
        self.events.iter().filter(|e| e.kind == EventKind::Log).filter_map(|e| e.message.clone()).collect()
    }

    fn failure(&self) -> String {
        let fail = self.events.iter().find(|e| e.kind == EventKind::StepFail).unwrap_or_else(|| panic!("no step_fail: {:#?}", self.events));
        fail.message.clone().unwrap_or_default()
    }

    fn output(&self) -> Option<GitlabWorkspace> {
        read_output(&self.job_dir.join("workspace"), "prepare_gitlab_workspace").unwrap()
    }
}

fn build_with(case: &Path, registry: &Registry, observer: Option<Observer>, cancel: &CancelToken) -> Run {
    // `force`: a re-run must really talk to GitLab, not be skipped as unchanged.
    let options = BuildOptions { activity: Some("prepare_gitlab_workspace".into()), force: true, ..BuildOptions::default() };
    let outcome = run_build(case, &options, registry, cancel, observer).unwrap();
    assert!(outcome.warnings.is_empty(), "{:?}", outcome.warnings);
    let events = read_events(&outcome.job_dir.join("events.jsonl"), 0).unwrap();
    Run { status: outcome.status, events, job_dir: outcome.job_dir }
}

fn build(case: &Path, config: GitlabConfig) -> Run {
    let mut registry = Registry::new();
    registry.register("prepare_gitlab_workspace", Box::new(PrepareGitlabWorkspace::with_config(config)));
    build_with(case, &registry, None, &CancelToken::new())
}

/// Every file under `dir`, as text (lossy), with its path.
fn all_text(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push((path.clone(), String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned()));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn a_first_run_creates_the_group_both_projects_and_memberships_and_a_second_creates_nothing() {
    let dir = TempDir::new("first");
    let case = demo_project(&dir.0);
    let stub = Stub::start();
    let user_id = stub.st().users[0].0;

    let first = build(&case, stub.config());
    assert_eq!(first.status, JobStatus::Succeeded, "{:#?}", first.events);
    let (ext, dep) = {
        let st = stub.st();
        (st.projects[0].id, st.projects[1].id)
    };
    assert_eq!(
        stub.writes(),
        [
            "POST /api/v4/groups".to_string(),
            "POST /api/v4/projects".to_string(),
            "POST /api/v4/projects".to_string(),
            format!("POST /api/v4/projects/{ext}/members"),
            format!("POST /api/v4/projects/{dep}/members"),
        ]
    );
    let requests = stub.requests();
    assert!(requests.iter().any(|r| r.method == "GET" && r.path == "/api/v4/groups/openg2p%2Fimplementations%2Faurelia-dev"));
    let group_post: Value = serde_json::from_str(&requests.iter().find(|r| r.path == "/api/v4/groups").unwrap().body).unwrap();
    let parent_id = stub.st().groups[1].id;
    assert_eq!(group_post, json!({"parent_id": parent_id, "path": HANDLE, "name": HANDLE, "visibility": "private"}));
    let project_post: Value = serde_json::from_str(&requests.iter().find(|r| r.path == "/api/v4/projects").unwrap().body).unwrap();
    assert_eq!(project_post["path"], EXTENSION);
    assert_eq!((&project_post["visibility"], &project_post["default_branch"]), (&json!("private"), &json!("develop")));
    assert_eq!(project_post["initialize_with_readme"], false);
    {
        let st = stub.st();
        let group = st.groups.iter().find(|g| g.full_path == format!("{PARENT}/{HANDLE}")).expect("the subgroup");
        let paths: Vec<_> = st.projects.iter().map(|p| (p.full_path.as_str(), p.namespace_id)).collect();
        assert_eq!(
            paths,
            [(format!("{PARENT}/{HANDLE}/{EXTENSION}").as_str(), group.id), (&*format!("{PARENT}/{HANDLE}/{DEPLOYMENT}"), group.id)]
        );
        for p in &st.projects {
            assert_eq!(st.members.get(&(p.id, user_id)), Some(&30), "Developer on {}", p.full_path);
        }
    }
    let out = first.output().expect("the step output");
    assert_eq!(out.group_path, "openg2p/implementations/aurelia-dev");
    assert_eq!(out.extension.path_with_namespace, format!("{PARENT}/{HANDLE}/{EXTENSION}"));
    let base = stub.url.trim_end_matches("/api/v4");
    assert_eq!(out.extension.http_url_to_repo, format!("{base}/{PARENT}/{HANDLE}/{EXTENSION}.git"));
    assert_eq!(out.deployment.http_url_to_repo, format!("{base}/{PARENT}/{HANDLE}/{DEPLOYMENT}.git"));
    let logs = first.logs().join("\n");
    assert!(logs.contains("created the private group `openg2p/implementations/aurelia-dev`"), "{logs}");
    assert!(logs.contains("is empty, and `develop` becomes its default branch with the first push"), "{logs}");
    assert!(logs.contains("gitlab_user_email registry-team@social.aurelia.example is recorded but not verified"), "{logs}");

    let before = stub.requests().len();
    let second = build(&case, stub.config());
    assert_eq!(second.status, JobStatus::Succeeded, "{:#?}", second.events);
    let rerun: Vec<_> = stub.requests()[before..].to_vec();
    assert!(rerun.iter().all(|r| r.method == "GET"), "a re-run only reads: {rerun:#?}");
    assert_eq!(stub.writes().len(), 5);
    let logs = second.logs().join("\n");
    assert!(logs.contains("group `openg2p/implementations/aurelia-dev` exists"), "{logs}");
    assert!(logs.contains(&format!("project `{PARENT}/{HANDLE}/{EXTENSION}` exists")), "{logs}");
    assert!(logs.contains(&format!("project `{PARENT}/{HANDLE}/{DEPLOYMENT}` exists")), "{logs}");
    assert_eq!(logs.matches("`aurelia-dev` is a member of").count(), 2, "{logs}");
    assert_eq!(second.output(), Some(out));
}

#[test]
fn existing_projects_get_develop_as_default_and_memberships_are_raised_never_lowered() {
    let dir = TempDir::new("existing");
    let case = demo_project(&dir.0);
    let stub = Stub::start();
    let group = format!("{PARENT}/{HANDLE}");
    let gid = stub.group(&group);
    let ext = stub.project(&group, EXTENSION, "main", &["main"], None);
    let dep = stub.project(&group, DEPLOYMENT, "develop", &["develop"], None);
    let uid_main = stub.st().users[0].0;
    stub.st().members.insert((ext, uid_main), 20); // Reporter: raised
    stub.st().group_members.insert((gid, uid_main), 10); // Guest inherited: does not count
    stub.st().members.insert((dep, uid_main), 40); // Maintainer: kept

    let run = build(&case, stub.config());
    assert_eq!(run.status, JobStatus::Succeeded, "{:#?}", run.events);
    assert_eq!(
        stub.writes(),
        [
            format!("POST /api/v4/projects/{ext}/repository/branches?branch=develop&ref=main"),
            format!("PUT /api/v4/projects/{ext}"),
            format!("PUT /api/v4/projects/{ext}/members/{uid_main}"),
        ]
    );
    let st = stub.st();
    assert_eq!(st.projects[0].default_branch, "develop");
    assert_eq!(st.members[&(ext, uid_main)], 30);
    assert_eq!(st.members[&(dep, uid_main)], 40);
    drop(st);
    let logs = run.logs().join("\n");
    assert!(logs.contains("had no `develop` branch: created it from `main`"), "{logs}");
    assert!(logs.contains("default branch changed from `main` to `develop`"), "{logs}");
    assert!(logs.contains("raised `aurelia-dev` on `aurelia-households-extension` from Reporter (20) to Developer (30)"), "{logs}");
    assert!(logs.contains("is a member of `aurelia-households-deployment` as Maintainer (40); left as it is"), "{logs}");
}

#[test]
fn a_project_scheduled_for_deletion_is_refused_with_what_to_do() {
    let dir = TempDir::new("deletion");
    let case = demo_project(&dir.0);
    let stub = Stub::start();
    let group = format!("{PARENT}/{HANDLE}");
    stub.project(&group, EXTENSION, "develop", &["develop"], None);
    stub.project(&group, DEPLOYMENT, "develop", &["develop"], Some("2026-11-28"));
    let run = build(&case, stub.config());
    assert_eq!(run.status, JobStatus::Failed);
    let message = run.failure();
    assert!(message.contains(&format!("the project `{group}/{DEPLOYMENT}` is scheduled for deletion")), "{message}");
    assert!(message.contains("marked_for_deletion_at 2026-11-28"), "{message}");
    assert!(message.contains("restore it in GitLab") && message.contains("pick another registry mnemonic"), "{message}");
    assert!(stub.writes().is_empty(), "{:?}", stub.writes());
    assert!(run.output().is_none());

    // Renamed by GitLab for deletion, reached through the old path's redirect.
    let stub = Stub::start();
    stub.project(&group, &format!("{EXTENSION}-deletion_scheduled-7"), "develop", &["develop"], None);
    stub.st().projects[0].full_path = format!("{group}/{EXTENSION}"); // GitLab redirects the old path
    stub.st().projects[0].path = format!("{EXTENSION}-deletion_scheduled-7");
    let run = build(&case, stub.config());
    assert_eq!(run.status, JobStatus::Failed);
    let message = run.failure();
    assert!(message.contains("is scheduled for deletion") && message.contains("-deletion_scheduled-7"), "{message}");
}

#[test]
fn a_refused_group_creation_surfaces_gitlabs_message_method_and_path() {
    let dir = TempDir::new("forbidden");
    let case = demo_project(&dir.0);
    let stub = Stub::start();
    stub.fault("POST", "/groups", 403, json!({"message": "403 Forbidden - You are not allowed to create subgroups in this group"}));
    let run = build(&case, stub.config());
    assert_eq!(run.status, JobStatus::Failed);
    let message = run.failure();
    assert!(message.contains("GitLab answered 403 Forbidden to POST /groups"), "{message}");
    assert!(message.contains("You are not allowed to create subgroups in this group"), "{message}");
    assert!(message.contains("GITLAB_GROUP"), "says which permission is missing where: {message}");
    assert!(stub.st().projects.is_empty());

    // A validation error in GitLab's field → messages shape.
    let stub = Stub::start();
    stub.fault("POST", "/projects", 400, json!({"message": {"path": ["can contain only letters, digits"]}}));
    let run = build(&case, stub.config());
    let message = run.failure();
    assert!(message.contains("400 Bad Request to POST /projects: path can contain only letters, digits"), "{message}");
}

#[test]
fn an_unknown_user_handle_fails_naming_it() {
    let dir = TempDir::new("nouser");
    let case = demo_project(&dir.0);
    let stub = Stub::start();
    stub.st().users.clear();
    stub.user("someone-else", "");
    let run = build(&case, stub.config());
    assert_eq!(run.status, JobStatus::Failed);
    let message = run.failure();
    assert!(message.contains("no GitLab user `aurelia-dev` (gitlab_user_handle)"), "{message}");
    assert!(stub.requests().iter().any(|r| r.path.starts_with("/api/v4/users?username=aurelia-dev&per_page=100&page=1")));
    assert!(stub.writes().iter().all(|w| !w.contains("/members")), "no membership for nobody: {:?}", stub.writes());
}

#[test]
fn a_wrong_token_surfaces_401_and_the_token_is_nowhere() {
    let dir = TempDir::new("token");
    let case = demo_project(&dir.0);
    let stub = Stub::start();
    let wrong = "glpat-WRONG-zz81kq0PmXa";
    let run = build(&case, GitlabConfig::new(&stub.url, wrong, PARENT).unwrap());
    assert_eq!(run.status, JobStatus::Failed);
    let message = run.failure();
    assert!(message.contains("GitLab answered 401 Unauthorized to GET /groups/openg2p%2Fimplementations"), "{message}");
    assert!(message.contains("GITLAB_TOKEN is invalid"), "{message}");
    assert_eq!(stub.requests().len(), 1, "stops at the first refusal");
    for (path, text) in all_text(&dir.0) {
        assert!(!text.contains(wrong) && !text.contains(TOKEN), "a token in {}", path.display());
    }
    // The right token on a successful run is nowhere either.
    let run = build(&case, stub.config());
    assert_eq!(run.status, JobStatus::Succeeded, "{:#?}", run.events);
    for (path, text) in all_text(&dir.0) {
        assert!(!text.contains(TOKEN), "the token in {}", path.display());
    }
}

#[test]
fn a_parent_group_that_does_not_exist_is_named() {
    let dir = TempDir::new("noparent");
    let case = demo_project(&dir.0);
    let stub = Stub::start();
    let run = build(&case, GitlabConfig::new(&stub.url, TOKEN, "openg2p/nowhere").unwrap());
    let message = run.failure();
    assert!(message.contains("the parent group `openg2p/nowhere` (GITLAB_GROUP) does not exist"), "{message}");
    assert!(stub.writes().is_empty());
}

#[test]
fn a_stop_before_the_first_call_cancels_without_touching_gitlab() {
    let dir = TempDir::new("cancel");
    let case = demo_project(&dir.0);
    let stub = Stub::start();
    let cancel = CancelToken::new();
    let stopper = cancel.clone();
    // The handler announces itself before its first call; stop right then.
    let observer: Observer = Box::new(move |e| {
        if e.message.as_deref().is_some_and(|m| m.starts_with("GitLab at ")) {
            stopper.cancel();
        }
    });
    let mut registry = Registry::new();
    registry.register("prepare_gitlab_workspace", Box::new(PrepareGitlabWorkspace::with_config(stub.config())));
    let run = build_with(&case, &registry, Some(observer), &cancel);
    assert_eq!(run.status, JobStatus::Aborted);
    assert!(stub.requests().is_empty(), "{:?}", stub.requests());
}

#[test]
fn the_built_in_registry_runs_it_and_missing_configuration_names_the_variables() {
    if ["GITLAB_API_URL", "GITLAB_TOKEN", "GITLAB_GROUP"].iter().any(|v| std::env::var_os(v).is_some()) {
        eprintln!("SKIP the missing-configuration half: GITLAB_* is set in this environment");
        return;
    }
    let dir = TempDir::new("registry");
    let case = demo_project(&dir.0);
    let run = build_with(&case, &playbook_engine::handlers::registry(), None, &CancelToken::new());
    assert_eq!(run.status, JobStatus::Failed);
    let message = run.failure();
    assert!(!message.starts_with("no-handler"), "{message}");
    assert!(message.contains("GitLab is not configured: set GITLAB_API_URL, GITLAB_TOKEN, GITLAB_GROUP"), "{message}");
}

// ---------------------------------------------------------------------------------------------
// The Python stub gives the same answers
// ---------------------------------------------------------------------------------------------

struct PyStub {
    child: std::process::Child,
    url: String,
}

impl Drop for PyStub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http(method: &str, url: &str, body: Option<&Value>) -> Value {
    let client = reqwest::blocking::Client::new();
    let mut req = client.request(method.parse().unwrap(), url);
    if let Some(b) = body {
        req = req.header("Content-Type", "application/json").body(b.to_string());
    }
    let resp = req.send().unwrap();
    assert!(resp.status().is_success(), "{method} {url}: {}", resp.status());
    resp.json().unwrap()
}

#[test]
fn the_python_stub_behaves_like_the_rust_one() {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let script = repo().join("tests/stubs/gitlab_stub.py");
    let spawned = std::process::Command::new(&python)
        .arg(&script)
        .args(["--port", "0", "--token", TOKEN, "--group", PARENT, "--user", &format!("{HANDLE}:registry-team@social.aurelia.example")])
        .args(["--http-base", "http://127.0.0.1:9/git"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("SKIP: cannot start {python} ({e}); install python3 to run the Python stub");
            return;
        }
        Err(e) => panic!("cannot start {python}: {e}; install python3 (apt-get install -y python3)"),
    };
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    let stub = PyStub { child, url: first.trim().to_string() };
    assert!(stub.url.starts_with("http://127.0.0.1:") && stub.url.ends_with("/api/v4"), "{:?}", stub.url);
    let control = stub.url.trim_end_matches("/api/v4").to_string();

    let dir = TempDir::new("python");
    let case = demo_project(&dir.0);
    let config = GitlabConfig::new(&stub.url, TOKEN, PARENT).unwrap();
    let run = build(&case, config.clone());
    assert_eq!(run.status, JobStatus::Succeeded, "{:#?}", run.events);
    let out = run.output().unwrap();
    assert_eq!(out.extension.http_url_to_repo, format!("http://127.0.0.1:9/git/{PARENT}/{HANDLE}/{EXTENSION}.git"));
    assert!(run.logs().join("\n").contains("with the email registry-team@social.aurelia.example"), "{:?}", run.logs());
    let writes = |reqs: &Value| -> Vec<String> {
        reqs.as_array().unwrap().iter().filter(|r| r["method"] != "GET").map(|r| format!("{} {}", r["method"], r["path"])).collect()
    };
    let reqs = http("GET", &format!("{control}/_stub/requests"), None);
    assert_eq!(writes(&reqs).len(), 5, "{reqs:#}");
    assert!(reqs.as_array().unwrap().iter().all(|r| r["token_ok"] == true));

    let again = build(&case, config);
    assert_eq!(again.status, JobStatus::Succeeded);
    let reqs = http("GET", &format!("{control}/_stub/requests"), None);
    assert_eq!(writes(&reqs).len(), 5, "a re-run only reads");

    // Seeding and faults through the control endpoints.
    http(
        "POST",
        &format!("{control}/_stub/fault"),
        Some(&json!({"method": "GET", "path": "/users", "status": 500, "body": {"message": "boom"}})),
    );
    let failed = build(&case, GitlabConfig::new(&stub.url, TOKEN, PARENT).unwrap());
    assert!(
        failed.failure().contains("GitLab answered 500 Internal Server Error to GET /users?username=aurelia-dev"),
        "{}",
        failed.failure()
    );
    http("POST", &format!("{control}/_stub/reset"), None);
    http(
        "POST",
        &format!("{control}/_stub/project"),
        Some(&json!({"path": format!("{PARENT}/{HANDLE}/{EXTENSION}"), "marked_for_deletion_at": "2026-12-01"})),
    );
    let refused = build(&case, GitlabConfig::new(&stub.url, TOKEN, PARENT).unwrap());
    assert!(refused.failure().contains("is scheduled for deletion"), "{}", refused.failure());
}

#[test]
fn lists_are_read_page_by_page_until_x_next_page_is_empty() {
    use playbook_engine::handlers::gitlab::GitlabClient;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api/v4", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    {
        let seen = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                while reader.read_line(&mut String::new()).is_ok_and(|n| n > 2) {}
                let target = line.split_whitespace().nth(1).unwrap_or_default().to_string();
                seen.lock().unwrap().push(target.clone());
                let (body, next) = if target.ends_with("page=1") { (r#"[{"id":1},{"id":2}]"#, "2") } else { (r#"[{"id":3}]"#, "") };
                let mut out = stream;
                let _ = write!(
                    out,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nX-Next-Page: {next}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
    }
    let client = GitlabClient::new(&GitlabConfig::new(&url, TOKEN, PARENT).unwrap()).unwrap();
    let items = client.get_all("/users?username=x").map_err(|e| format!("{e:?}")).unwrap();
    let ids: Vec<u64> = items.iter().filter_map(|i| i["id"].as_u64()).collect();
    assert_eq!(ids, [1, 2, 3]);
    assert_eq!(*seen.lock().unwrap(), ["/api/v4/users?username=x&per_page=100&page=1", "/api/v4/users?username=x&per_page=100&page=2"]);
}
