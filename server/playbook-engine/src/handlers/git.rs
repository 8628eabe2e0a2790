//! Git through libgit2 (git2): `clone_reference_registry` clones the reference registry into
//! `reference/`; `push_extension_repo` / `push_deployment_repo` commit `extension/` resp.
//! `deployment/` on branch `develop` and force-push it to the projects `prepare_gitlab_workspace`
//! recorded.
//!
//! The pushed directories stay plain files: each push keeps its git metadata in a bare
//! repository `<workspace>/.git-push/<extension|deployment>` and builds the commit's tree
//! straight from the files, so no `.git` ever appears inside the generated directories. That
//! repository travels with the job workspace, so each build's commit has the previous one as
//! its parent and the history accumulates.
//!
//! Configuration (environment): `REFERENCE_REGISTRY_URL`, `REFERENCE_REGISTRY_REF`,
//! `GIT_AUTHOR_NAME`, `GIT_AUTHOR_EMAIL`, `GIT_PUSH_USERNAME`, `GIT_PUSH_PASSWORD`,
//! `GITLAB_TOKEN` — see `docs/handlers/git.md`.

use super::inputs::{BRANCH, RegistryInputs, layout};
use super::outputs::{GitlabProject, GitlabWorkspace, PushedRepo, read_output, write_output};
use crate::build::{Handler, StepContext, StepOutcome};
use git2::build::{CheckoutBuilder, CloneLocal, RepoBuilder};
use git2::{
    AutotagOption, BranchType, Commit, Cred, CredentialType, ErrorClass, ErrorCode, FetchOptions, Oid, ProxyOptions, PushOptions,
    RemoteCallbacks, Repository, Signature,
};
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The reference registry cloned when neither the answer nor `REFERENCE_REGISTRY_URL` names one.
pub const DEFAULT_REFERENCE_URL: &str = "https://github.com/OpenG2P/openg2p-registry.git";
/// Where the push Activities keep their bare repositories, inside the job workspace.
pub const PUSH_GIT_DIR: &str = ".git-push";
/// Directory names never committed, at any depth: nested repositories and Python caches.
pub const NEVER_PUSHED: [&str; 3] = [".git", "__pycache__", ".pytest_cache"];
const DEFAULT_AUTHOR_NAME: &str = "playbook build";
const DEFAULT_AUTHOR_EMAIL: &str = "build@playbook.invalid";
const DEFAULT_PUSH_USERNAME: &str = "oauth2";
/// At most one progress line per this interval.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// The outputs of `clone_reference_registry`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferenceClone {
    /// What was cloned: a URL without credentials, or a local path.
    pub url: String,
    /// The branch, tag or commit checked out (the remote's default branch when none was asked for).
    #[serde(rename = "ref")]
    pub reference: String,
    pub commit: String,
}

/// Where a handler reads its configuration: the process environment, or (for tests) a fixed set.
#[derive(Debug, Clone, Default)]
pub struct GitEnv(Option<HashMap<String, String>>);

impl GitEnv {
    /// The process environment.
    pub fn process() -> GitEnv {
        GitEnv(None)
    }

    /// Exactly these variables; every other one counts as unset.
    pub fn fixed(vars: &[(&str, &str)]) -> GitEnv {
        GitEnv(Some(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()))
    }

    /// A variable's value; empty counts as unset.
    fn get(&self, name: &str) -> Option<String> {
        let value = match &self.0 {
            Some(vars) => vars.get(name).cloned(),
            None => std::env::var(name).ok(),
        };
        value.filter(|v| !v.trim().is_empty())
    }
}

/// Why a step stopped early.
enum Stop {
    Failed(String),
    Cancelled,
}

impl From<String> for Stop {
    fn from(message: String) -> Stop {
        Stop::Failed(message)
    }
}

fn outcome(result: Result<(), Stop>) -> StepOutcome {
    match result {
        Ok(()) => StepOutcome::Succeeded,
        Err(Stop::Failed(message)) => StepOutcome::Failed(message),
        Err(Stop::Cancelled) => StepOutcome::Cancelled,
    }
}

/// `scheme://user:secret@host/path` → `scheme://host/path`; anything else unchanged.
pub fn without_credentials(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else { return url.to_string() };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}{}", &url[..scheme_end + 3], &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// A URL (`scheme://…` or scp-like `user@host:path`) rather than a local path.
fn is_url(source: &str) -> bool {
    if source.contains("://") {
        return true;
    }
    // scp-like: `git@host:group/repo.git` — a colon before any slash, not a Windows drive.
    match (source.find(':'), source.find('/')) {
        (Some(colon), slash) => colon > 1 && slash.is_none_or(|s| colon < s),
        _ => false,
    }
}

/// Logs progress at most every [`PROGRESS_EVERY`], plus once when a phase completes.
struct Throttle {
    last: Option<Instant>,
}

impl Throttle {
    fn new() -> Throttle {
        Throttle { last: None }
    }

    fn due(&mut self, done: bool) -> bool {
        let now = Instant::now();
        let due = done || self.last.is_none_or(|last| now.duration_since(last) >= PROGRESS_EVERY);
        if due {
            self.last = Some(now);
        }
        due
    }
}

fn kib(bytes: usize) -> String {
    if bytes >= 1024 * 1024 { format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0)) } else { format!("{} KiB", bytes.div_ceil(1024)) }
}

fn remove_path(path: &Path) -> Result<(), String> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => Err(e),
    }
    .map_err(|e| format!("cannot remove {}: {e}", path.display()))
}

/// The job id: the name of the directory holding `workspace/`.
fn job_id(workspace: &Path) -> String {
    workspace.parent().and_then(Path::file_name).map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "unknown".into())
}

// ── clone_reference_registry ────────────────────────────────────────────────────────────────

/// `clone_reference_registry`: a fresh clone of the reference registry under `reference/`, at
/// the asked-for branch, tag or commit (detached), else at the remote's default branch.
#[derive(Debug, Clone, Default)]
pub struct CloneReferenceRegistry {
    env: GitEnv,
}

impl CloneReferenceRegistry {
    pub const ACTIVITY: &'static str = "clone_reference_registry";

    /// Configured from the process environment.
    pub fn new() -> CloneReferenceRegistry {
        CloneReferenceRegistry { env: GitEnv::process() }
    }

    /// Configured from the given variables instead of the process environment.
    pub fn with_env(env: GitEnv) -> CloneReferenceRegistry {
        CloneReferenceRegistry { env }
    }
}

impl Handler for CloneReferenceRegistry {
    fn settings(&self) -> &'static [&'static str] {
        &["REFERENCE_REGISTRY_URL", "REFERENCE_REGISTRY_REF"]
    }

    fn run(&self, ctx: &StepContext<'_>) -> StepOutcome {
        outcome(self.clone_reference(ctx))
    }
}

impl CloneReferenceRegistry {
    fn clone_reference(&self, ctx: &StepContext<'_>) -> Result<(), Stop> {
        let inputs = RegistryInputs::from_case(ctx.case)?;
        let (source, origin) = match (&inputs.reference_url, self.env.get("REFERENCE_REGISTRY_URL")) {
            (Some(answer), _) => (answer.trim().to_string(), "the answer `reference_registry_url`"),
            (None, Some(env)) => (env.trim().to_string(), "REFERENCE_REGISTRY_URL"),
            (None, None) => (DEFAULT_REFERENCE_URL.to_string(), "the built-in default"),
        };
        let wanted = inputs.reference_ref.clone().or_else(|| self.env.get("REFERENCE_REGISTRY_REF")).map(|r| r.trim().to_string());

        // A local path is absolute or relative to the case folder, and must be a directory.
        let location = if is_url(&source) {
            source.clone()
        } else {
            let path = ctx.case_dir.join(&source);
            if !path.is_dir() {
                return Err(Stop::Failed(format!(
                    "the reference registry `{source}` (from {origin}) is neither a URL nor an existing directory ({} does not exist)",
                    path.display()
                )));
            }
            path.to_string_lossy().into_owned()
        };
        let shown = without_credentials(&location);

        let dest = ctx.workspace.join(layout::REFERENCE);
        remove_path(&dest)?;
        ctx.log(None, format!("cloning {shown} (from {origin}) into {}/", layout::REFERENCE));

        let started = Instant::now();
        let repo = match clone_repo(ctx, &location, &dest) {
            Ok(repo) => repo,
            Err(e) => {
                let _ = remove_path(&dest);
                if ctx.cancel.is_cancelled() {
                    return Err(Stop::Cancelled);
                }
                return Err(Stop::Failed(describe_clone_error(&e, &location, &shown, origin)));
            }
        };
        if ctx.cancel.is_cancelled() {
            let _ = remove_path(&dest);
            return Err(Stop::Cancelled);
        }

        let (reference, commit) = match &wanted {
            Some(name) => {
                let commit = resolve_ref(&repo, name).map_err(|e| format!("{e} (from {shown})"))?;
                let mut checkout = CheckoutBuilder::new();
                checkout.force();
                repo.checkout_tree(commit.as_object(), Some(&mut checkout))
                    .and_then(|()| repo.set_head_detached(commit.id()))
                    .map_err(|e| format!("cannot check out `{name}` ({}) in {}: {}", commit.id(), dest.display(), e.message()))?;
                (name.clone(), commit.id())
            }
            None => {
                let head = repo.head().map_err(|e| format!("{shown} has no default branch to check out: {}", e.message()))?;
                let commit = head.peel_to_commit().map_err(|e| format!("the default branch of {shown} has no commit: {}", e.message()))?;
                (head.shorthand().unwrap_or("HEAD").to_string(), commit.id())
            }
        };
        ctx.log(None, format!("checked out {reference} at commit {commit} from {shown} in {:.1} s", started.elapsed().as_secs_f64()));
        let output = ReferenceClone { url: shown, reference, commit: commit.to_string() };
        write_output(ctx.workspace, Self::ACTIVITY, &output)?;
        Ok(())
    }
}

fn clone_repo(ctx: &StepContext<'_>, location: &str, dest: &Path) -> Result<Repository, git2::Error> {
    let mut throttle = Throttle::new();
    let mut callbacks = RemoteCallbacks::new();
    callbacks.transfer_progress(|progress| {
        if ctx.cancel.is_cancelled() {
            return false;
        }
        let (received, total) = (progress.received_objects(), progress.total_objects());
        let done = total > 0 && received == total && progress.indexed_deltas() == progress.total_deltas();
        if total > 0 && throttle.due(done) {
            ctx.log(
                None,
                format!(
                    "received {received}/{total} objects ({}), resolved {}/{} deltas",
                    kib(progress.received_bytes()),
                    progress.indexed_deltas(),
                    progress.total_deltas()
                ),
            );
        }
        true
    });
    callbacks.sideband_progress(|_| !ctx.cancel.is_cancelled());
    let mut proxy = ProxyOptions::new();
    proxy.auto();
    let mut fetch = FetchOptions::new();
    fetch.remote_callbacks(callbacks).download_tags(AutotagOption::All).proxy_options(proxy);
    let mut checkout = CheckoutBuilder::new();
    checkout.progress(|_, _, _| {}); // no per-file output
    RepoBuilder::new().fetch_options(fetch).with_checkout(checkout).clone_local(CloneLocal::NoLinks).clone(location, dest)
}

fn describe_clone_error(e: &git2::Error, location: &str, shown: &str, origin: &str) -> String {
    let message = e.message().replace(location, shown);
    let network = matches!(e.class(), ErrorClass::Net | ErrorClass::Http | ErrorClass::Ssl | ErrorClass::Os | ErrorClass::Ssh);
    if e.code() == ErrorCode::Auth || message.contains("authentication") || message.contains("401") {
        format!("cannot clone {shown}: the server asks for credentials ({message}); use a public URL, a mirror or a local path")
    } else if network || message.contains("failed to resolve") || message.contains("connect") {
        format!(
            "cannot reach the reference registry at {shown} (from {origin}): {message}; check the URL and the network, or point \
             reference_registry_url / REFERENCE_REGISTRY_URL at a reachable mirror or a local clone"
        )
    } else {
        format!("cannot clone the reference registry {shown} (from {origin}): {message}")
    }
}

fn looks_like_sha(name: &str) -> bool {
    (4..=40).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A branch of the remote, a tag, a full ref name or a (possibly abbreviated) commit id.
fn resolve_ref<'r>(repo: &'r Repository, name: &str) -> Result<Commit<'r>, String> {
    let candidates = if name.starts_with("refs/") {
        vec![name.to_string()]
    } else {
        vec![format!("refs/remotes/origin/{name}"), format!("refs/tags/{name}"), format!("refs/heads/{name}")]
    };
    for candidate in &candidates {
        if let Ok(reference) = repo.find_reference(candidate) {
            return reference.peel_to_commit().map_err(|e| format!("`{name}` does not point at a commit: {}", e.message()));
        }
    }
    if looks_like_sha(name)
        && let Ok(object) = repo.revparse_single(name)
    {
        return object.peel_to_commit().map_err(|e| format!("`{name}` is not a commit: {}", e.message()));
    }
    Err(format!(
        "reference_registry_ref `{name}` is neither a branch, a tag nor a commit of the reference registry; {}",
        available_refs(repo)
    ))
}

/// A few branches and tags, for an error message.
fn available_refs(repo: &Repository) -> String {
    const SHOWN: usize = 8;
    let mut branches: Vec<String> = repo
        .branches(Some(BranchType::Remote))
        .map(|it| {
            it.filter_map(Result::ok)
                .filter_map(|(b, _)| b.name().ok().flatten().map(str::to_string))
                .filter_map(|n| n.strip_prefix("origin/").map(str::to_string))
                .filter(|n| n != "HEAD")
                .collect()
        })
        .unwrap_or_default();
    branches.sort();
    let mut tags: Vec<String> =
        repo.tag_names(None).map(|names| names.iter().filter_map(|n| n.ok().flatten().map(str::to_string)).collect()).unwrap_or_default();
    tags.sort();
    tags.reverse(); // newest versions first, roughly
    fn list(kind: &str, names: &[String]) -> String {
        if names.is_empty() {
            return format!("no {kind}");
        }
        let more = if names.len() > SHOWN { format!(" … and {} more", names.len() - SHOWN) } else { String::new() };
        format!("{kind}: {}{more}", names.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", "))
    }
    format!("{}; {}", list("branches", &branches), list("tags", &tags))
}

// ── push_extension_repo / push_deployment_repo ──────────────────────────────────────────────

/// Which generated repository a push handler publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushTarget {
    Extension,
    Deployment,
}

impl PushTarget {
    pub fn activity(self) -> &'static str {
        match self {
            PushTarget::Extension => "push_extension_repo",
            PushTarget::Deployment => "push_deployment_repo",
        }
    }

    /// The directory pushed, relative to the workspace.
    pub fn dir(self) -> &'static str {
        match self {
            PushTarget::Extension => layout::EXTENSION,
            PushTarget::Deployment => layout::DEPLOYMENT,
        }
    }

    /// Paths (relative to [`Self::dir`]) never pushed: the smoke-test results stay local.
    pub fn excluded(self) -> &'static [&'static str] {
        match self {
            PushTarget::Extension => &[],
            PushTarget::Deployment => &["test-results"],
        }
    }

    fn project(self, gitlab: &GitlabWorkspace) -> &GitlabProject {
        match self {
            PushTarget::Extension => &gitlab.extension,
            PushTarget::Deployment => &gitlab.deployment,
        }
    }
}

/// `push_extension_repo` / `push_deployment_repo`: commit the generated directory on `develop`
/// (on top of the previous build's commit) and force-push it to the GitLab project.
#[derive(Debug, Clone)]
pub struct PushRepo {
    target: PushTarget,
    env: GitEnv,
}

impl PushRepo {
    /// Configured from the process environment.
    pub fn new(target: PushTarget) -> PushRepo {
        PushRepo { target, env: GitEnv::process() }
    }

    /// Configured from the given variables instead of the process environment.
    pub fn with_env(target: PushTarget, env: GitEnv) -> PushRepo {
        PushRepo { target, env }
    }
}

impl Handler for PushRepo {
    fn settings(&self) -> &'static [&'static str] {
        &["GIT_PUSH_USERNAME", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL"]
    }

    fn run(&self, ctx: &StepContext<'_>) -> StepOutcome {
        outcome(self.push(ctx))
    }
}

/// What a tree walk found.
#[derive(Default)]
struct TreeStats {
    files: usize,
    bytes: u64,
    skipped: Vec<String>,
}

impl PushRepo {
    fn push(&self, ctx: &StepContext<'_>) -> Result<(), Stop> {
        let activity = self.target.activity();
        let gitlab: GitlabWorkspace = read_output(ctx.workspace, "prepare_gitlab_workspace")?.ok_or_else(|| {
            format!(
                "no GitLab project to push to: `prepare_gitlab_workspace` has recorded no outputs in this workspace \
                 ({}/prepare_gitlab_workspace.json); run the build with `prepare_gitlab_workspace` before `{activity}`",
                layout::OUTPUTS
            )
        })?;
        let project = self.target.project(&gitlab);
        let url = project.http_url_to_repo.trim().to_string();
        if url.is_empty() {
            return Err(Stop::Failed(format!(
                "`prepare_gitlab_workspace` recorded no http_url_to_repo for {}; run it again",
                project.path_with_namespace
            )));
        }
        let shown = without_credentials(&url);

        let content = ctx.workspace.join(self.target.dir());
        if !content.is_dir() {
            return Err(Stop::Failed(format!(
                "nothing to push: {}/ does not exist in the job workspace; the generation steps before `{activity}` write it",
                self.target.dir()
            )));
        }

        let git_dir = ctx.workspace.join(PUSH_GIT_DIR).join(self.target.dir());
        let repo = open_push_repo(ctx, &git_dir)?;
        let mut stats = TreeStats::default();
        let tree_id = build_tree(&repo, &content, Path::new(""), self.target.excluded(), ctx, &mut stats)?
            .ok_or_else(|| format!("nothing to push: {}/ contains no files", self.target.dir()))?;
        for skipped in &stats.skipped {
            ctx.log(None, format!("not committed: {skipped}"));
        }

        let branch_ref = format!("refs/heads/{BRANCH}");
        let parent = repo.find_reference(&branch_ref).ok().and_then(|r| r.peel_to_commit().ok());
        let commit_id = match &parent {
            Some(parent) if parent.tree_id() == tree_id => {
                ctx.log(None, format!("{}/ is unchanged since commit {}; pushing that commit again", self.target.dir(), parent.id()));
                parent.id()
            }
            _ => {
                let signature = self.signature()?;
                let tree = repo.find_tree(tree_id).map_err(|e| format!("cannot read the new tree: {}", e.message()))?;
                let message = self.commit_message(ctx, project);
                let parents: Vec<&Commit> = parent.iter().collect();
                let id = repo
                    .commit(Some(&branch_ref), &signature, &signature, &message, &tree, &parents)
                    .map_err(|e| format!("cannot commit {}/: {}", self.target.dir(), e.message()))?;
                let on_top = parent.as_ref().map_or_else(|| "the first commit".to_string(), |p| format!("on top of {}", p.id()));
                ctx.log(
                    None,
                    format!(
                        "committed {} files ({}) of {}/ as {id} on {BRANCH}, {on_top}",
                        stats.files,
                        kib(stats.bytes as usize),
                        self.target.dir()
                    ),
                );
                id
            }
        };

        if ctx.cancel.is_cancelled() {
            return Err(Stop::Cancelled);
        }
        let started = Instant::now();
        self.push_commit(ctx, &repo, &url, &shown)?;
        ctx.log(None, format!("pushed {commit_id} to {BRANCH} of {shown} in {:.1} s", started.elapsed().as_secs_f64()));
        let output = PushedRepo { remote: shown, branch: BRANCH.to_string(), commit: commit_id.to_string() };
        write_output(ctx.workspace, activity, &output)?;
        Ok(())
    }

    fn signature(&self) -> Result<Signature<'static>, String> {
        let name = self.env.get("GIT_AUTHOR_NAME").unwrap_or_else(|| DEFAULT_AUTHOR_NAME.to_string());
        let email = self.env.get("GIT_AUTHOR_EMAIL").unwrap_or_else(|| DEFAULT_AUTHOR_EMAIL.to_string());
        Signature::now(&name, &email)
            .map_err(|e| format!("GIT_AUTHOR_NAME / GIT_AUTHOR_EMAIL (`{name} <{email}>`) is not a valid git author: {}", e.message()))
    }

    fn commit_message(&self, ctx: &StepContext<'_>, project: &GitlabProject) -> String {
        let job = job_id(ctx.workspace);
        let registry = match RegistryInputs::from_case(ctx.case) {
            Ok(inputs) => format!("{} ({}/{})", inputs.registry_name, inputs.organisation, inputs.registry),
            Err(_) => project.path_with_namespace.clone(),
        };
        format!(
            "Build {job}: {} of {registry}\n\nGenerated by playbook build job {job} (Activity `{}`) and pushed to {}.\n",
            self.target.dir(),
            self.target.activity(),
            project.path_with_namespace
        )
    }

    /// Force-push `develop`; a rejected update or an authentication failure stops the step.
    fn push_commit(&self, ctx: &StepContext<'_>, repo: &Repository, url: &str, shown: &str) -> Result<(), Stop> {
        let username = self.env.get("GIT_PUSH_USERNAME");
        let (password, password_source) = match (self.env.get("GIT_PUSH_PASSWORD"), self.env.get("GITLAB_TOKEN")) {
            (Some(p), _) => (Some(p), "GIT_PUSH_PASSWORD"),
            (None, Some(t)) => (Some(t), "GITLAB_TOKEN"),
            (None, None) => (None, "GIT_PUSH_PASSWORD"),
        };
        let used_username = RefCell::new(String::new());
        let asked = Cell::new(0u32);
        let rejected: RefCell<Vec<(String, String)>> = RefCell::new(Vec::new());
        let remote_lines: RefCell<Vec<String>> = RefCell::new(Vec::new());
        let pending = RefCell::new(String::new());
        let mut throttle = Throttle::new();

        let mut callbacks = RemoteCallbacks::new();
        callbacks.credentials(|_url, from_url, allowed| {
            asked.set(asked.get() + 1);
            if asked.get() > 1 {
                return Err(git2::Error::from_str("the server rejected the credentials"));
            }
            if !allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
                return Err(git2::Error::from_str("the server asks for a kind of credential other than username and password"));
            }
            let Some(password) = &password else {
                return Err(git2::Error::from_str("the server asks for credentials and none are configured"));
            };
            let user = username.clone().or_else(|| from_url.map(str::to_string)).unwrap_or_else(|| DEFAULT_PUSH_USERNAME.to_string());
            *used_username.borrow_mut() = user.clone();
            Cred::userpass_plaintext(&user, password)
        });
        callbacks.sideband_progress(|data| {
            let mut pending = pending.borrow_mut();
            pending.push_str(&String::from_utf8_lossy(data));
            while let Some(end) = pending.find(['\n', '\r']) {
                let line: String = pending.drain(..=end).collect();
                let line = line.trim_end();
                if !line.trim().is_empty() {
                    ctx.log(None, format!("remote: {line}"));
                    remote_lines.borrow_mut().push(line.to_string());
                }
            }
            !ctx.cancel.is_cancelled()
        });
        callbacks.push_transfer_progress(|current, total, bytes| {
            if total > 0 && current > 0 && throttle.due(current == total) {
                ctx.log(None, format!("sent {current}/{total} objects ({})", kib(bytes)));
            }
        });
        callbacks.push_negotiation(|_| if ctx.cancel.is_cancelled() { Err(git2::Error::from_str("cancelled")) } else { Ok(()) });
        callbacks.push_update_reference(|refname, status| {
            if let Some(status) = status {
                rejected.borrow_mut().push((refname.to_string(), status.to_string()));
            }
            Ok(())
        });
        let mut proxy = ProxyOptions::new();
        proxy.auto();
        let mut options = PushOptions::new();
        options.remote_callbacks(callbacks).proxy_options(proxy);

        ctx.log(None, format!("pushing {BRANCH} to {shown}"));
        let refspec = format!("+refs/heads/{BRANCH}:refs/heads/{BRANCH}");
        let result = repo.remote_anonymous(url).and_then(|mut remote| remote.push(&[refspec.as_str()], Some(&mut options)));
        drop(options);
        {
            let rest = pending.borrow();
            if !rest.trim().is_empty() {
                ctx.log(None, format!("remote: {}", rest.trim_end()));
                remote_lines.borrow_mut().push(rest.trim_end().to_string());
            }
        }
        let remote_says = {
            let lines = remote_lines.borrow();
            if lines.is_empty() { String::new() } else { format!("; the server said: {}", lines.join(" | ")) }
        };
        if ctx.cancel.is_cancelled() {
            return Err(Stop::Cancelled);
        }
        if let Err(e) = result {
            let message = e.message().replace(url, shown);
            let user = used_username.borrow();
            if asked.get() > 1 {
                return Err(Stop::Failed(format!(
                    "authentication failed for {shown} as user `{user}`: the server rejected the password from {password_source}; \
                     check it and that it may push to the project{remote_says}"
                )));
            }
            if asked.get() == 1 && password.is_none() {
                return Err(Stop::Failed(format!(
                    "{shown} asks for credentials: set GIT_PUSH_PASSWORD (or GITLAB_TOKEN), and GIT_PUSH_USERNAME if the user is \
                     not `{DEFAULT_PUSH_USERNAME}`{remote_says}"
                )));
            }
            if e.code() == ErrorCode::Auth || message.contains("401") {
                return Err(Stop::Failed(format!("authentication failed for {shown}: {message}{remote_says}")));
            }
            return Err(Stop::Failed(format!("cannot push {BRANCH} to {shown}: {message}{remote_says}")));
        }
        let rejected = rejected.borrow();
        if !rejected.is_empty() {
            let list: Vec<String> = rejected.iter().map(|(r, status)| format!("{r}: {status}")).collect();
            return Err(Stop::Failed(format!("{shown} rejected the push ({}){remote_says}", list.join("; "))));
        }
        Ok(())
    }
}

/// The bare repository holding this push's history; a damaged one is started afresh (the push
/// is forced, so the remote takes the new history).
fn open_push_repo(ctx: &StepContext<'_>, git_dir: &Path) -> Result<Repository, String> {
    if git_dir.exists() {
        match Repository::open_bare(git_dir) {
            Ok(repo) => return Ok(repo),
            Err(e) => {
                ctx.log(None, format!("{} is not a usable repository ({}); starting a new history", git_dir.display(), e.message()));
                remove_path(git_dir)?;
            }
        }
    }
    Repository::init_bare(git_dir).map_err(|e| format!("cannot create the repository {}: {}", git_dir.display(), e.message()))
}

/// Write the tree of `dir` (relative path `rel` inside the pushed directory) into the repository,
/// file by file; `None` when it holds no files. Executable bits and symbolic links are kept.
fn build_tree(
    repo: &Repository,
    dir: &Path,
    rel: &Path,
    excluded: &[&str],
    ctx: &StepContext<'_>,
    stats: &mut TreeStats,
) -> Result<Option<Oid>, Stop> {
    if ctx.cancel.is_cancelled() {
        return Err(Stop::Cancelled);
    }
    let git_error = |what: &str, path: &Path, e: git2::Error| Stop::Failed(format!("cannot {what} {}: {}", path.display(), e.message()));
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    let mut builder = repo.treebuilder(None).map_err(|e| git_error("start a tree for", dir, e))?;
    for entry in entries {
        let name = entry.file_name();
        let path = entry.path();
        let rel_path: PathBuf = rel.join(&name);
        if NEVER_PUSHED.iter().any(|n| name.as_bytes() == n.as_bytes()) || excluded.iter().any(|x| rel_path == Path::new(x)) {
            continue;
        }
        let meta = std::fs::symlink_metadata(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let (oid, mode) = if meta.is_dir() {
            match build_tree(repo, &path, &rel_path, excluded, ctx, stats)? {
                Some(oid) => (oid, 0o040000),
                None => continue, // git has no empty directories
            }
        } else if meta.is_file() {
            let oid = repo.blob_path(&path).map_err(|e| git_error("store", &path, e))?;
            stats.files += 1;
            stats.bytes += meta.len();
            (oid, if meta.permissions().mode() & 0o111 != 0 { 0o100755 } else { 0o100644 })
        } else if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path).map_err(|e| format!("cannot read the link {}: {e}", path.display()))?;
            let oid = repo.blob(target.as_os_str().as_bytes()).map_err(|e| git_error("store the link", &path, e))?;
            stats.files += 1;
            (oid, 0o120000)
        } else {
            stats.skipped.push(format!("{} (neither a file, a directory nor a link)", rel_path.display()));
            continue;
        };
        builder.insert(&name, oid, mode).map_err(|e| git_error("add", &path, e))?;
    }
    if builder.is_empty() {
        return Ok(None);
    }
    builder.write().map(Some).map_err(|e| git_error("write the tree of", dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_cut_from_urls_only() {
        assert_eq!(without_credentials("https://oauth2:glpat-xyz@gitlab.example/g/p.git"), "https://gitlab.example/g/p.git");
        assert_eq!(without_credentials("http://user@127.0.0.1:8080/p.git"), "http://127.0.0.1:8080/p.git");
        assert_eq!(without_credentials("https://gitlab.example/g/p@2.git"), "https://gitlab.example/g/p@2.git");
        assert_eq!(without_credentials("/srv/git/ref.git"), "/srv/git/ref.git");
    }

    #[test]
    fn urls_and_local_paths_are_told_apart() {
        for url in ["https://github.com/OpenG2P/openg2p-registry.git", "file:///srv/ref.git", "git@gitlab.example:g/p.git"] {
            assert!(is_url(url), "{url}");
        }
        for path in ["upstream/ref.git", "/srv/git/ref.git", "./ref", "../mirrors/ref.git", "dir/with:colon"] {
            assert!(!is_url(path), "{path}");
        }
    }

    #[test]
    fn short_and_full_hex_names_look_like_commits() {
        assert!(looks_like_sha("a1b2c3d"));
        assert!(looks_like_sha(&"f".repeat(40)));
        assert!(!looks_like_sha("main"));
        assert!(!looks_like_sha("abc"));
        assert!(!looks_like_sha(&"a".repeat(41)));
    }
}
