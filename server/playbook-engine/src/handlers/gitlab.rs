//! `prepare_gitlab_workspace` (Activity 12): make sure the implementer's subgroup exists under
//! the configured parent group, with the two private projects (`<registry>-extension`,
//! `<registry>-deployment`) whose default branch is `develop`, and the implementer a Developer
//! on both. Idempotent: a re-run finds everything and creates nothing. A project or group that
//! GitLab has scheduled for deletion is refused, never reused.
//!
//! A small GitLab REST v4 client over reqwest (blocking). Configuration ([`GitlabConfig`]) from
//! `GITLAB_API_URL`, `GITLAB_TOKEN` (sent as the `PRIVATE-TOKEN` header, never logged nor put in
//! a URL) and `GITLAB_GROUP`. See `docs/handlers/gitlab.md`.

use super::inputs::RegistryInputs;
use super::outputs::{GitlabProject, GitlabWorkspace, write_output};
use crate::build::{CancelToken, Handler, StepContext, StepOutcome};
use reqwest::Method;
use reqwest::blocking::{Client, Response};
use serde_json::{Value, json};
use std::fmt;
use std::time::Duration;

/// The Activity this module implements, and the name of its step output.
pub const ACTIVITY: &str = "prepare_gitlab_workspace";
/// GitLab's Developer role.
pub const DEVELOPER: u64 = 30;
/// The default branch of both projects.
pub const DEFAULT_BRANCH: &str = super::inputs::BRANCH;

/// Where GitLab is and who we are there.
#[derive(Clone, PartialEq, Eq)]
pub struct GitlabConfig {
    /// The REST v4 root, e.g. `https://gitlab.example.org/api/v4` (no trailing slash).
    pub api_url: String,
    /// A personal, group or project access token with the `api` scope.
    pub token: String,
    /// The full path of the parent group (`openg2p/implementations`).
    pub group: String,
}

impl fmt::Debug for GitlabConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitlabConfig").field("api_url", &self.api_url).field("token", &"***").field("group", &self.group).finish()
    }
}

impl GitlabConfig {
    /// A configuration from these values, checked: every value present, the URL http(s).
    /// A URL without a path gets `/api/v4`.
    pub fn new(api_url: &str, token: &str, group: &str) -> Result<GitlabConfig, String> {
        GitlabConfig::from_lookup(|name| match name {
            "GITLAB_API_URL" => Some(api_url.to_string()),
            "GITLAB_TOKEN" => Some(token.to_string()),
            "GITLAB_GROUP" => Some(group.to_string()),
            _ => None,
        })
    }

    /// The configuration from the process environment.
    pub fn from_env() -> Result<GitlabConfig, String> {
        GitlabConfig::from_lookup(|name| std::env::var(name).ok())
    }

    /// The configuration from variables looked up by name; errors name every missing one.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<GitlabConfig, String> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let (api_url, token, group) = (get("GITLAB_API_URL"), get("GITLAB_TOKEN"), get("GITLAB_GROUP"));
        let missing: Vec<&str> = [("GITLAB_API_URL", &api_url), ("GITLAB_TOKEN", &token), ("GITLAB_GROUP", &group)]
            .iter()
            .filter(|(_, v)| v.is_none())
            .map(|(n, _)| *n)
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "GitLab is not configured: set {} (GITLAB_API_URL = the REST v4 root, e.g. https://gitlab.example.org/api/v4; \
                 GITLAB_TOKEN = an access token with the `api` scope; GITLAB_GROUP = the full path of the parent group, \
                 e.g. openg2p/implementations)",
                missing.join(", ")
            ));
        }
        let (api_url, token, group) = (api_url.unwrap_or_default(), token.unwrap_or_default(), group.unwrap_or_default());
        let api_url = normalise_api_url(&api_url)?;
        let group = group.trim_matches('/').to_string();
        if group.is_empty() || group.split('/').any(str::is_empty) {
            return Err(format!("GITLAB_GROUP `{group}` is not a group path (expected e.g. openg2p/implementations)"));
        }
        if token.chars().any(|c| c.is_control() || c == ' ') {
            return Err("GITLAB_TOKEN contains spaces or control characters; set it to the token alone".to_string());
        }
        Ok(GitlabConfig { api_url, token, group })
    }
}

fn normalise_api_url(raw: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(raw).map_err(|e| format!("GITLAB_API_URL `{raw}` is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("GITLAB_API_URL `{raw}` must be an http(s) URL such as https://gitlab.example.org/api/v4"));
    }
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
        return Err("GITLAB_API_URL must not carry credentials or a query; put the token in GITLAB_TOKEN".to_string());
    }
    let text = url.as_str().trim_end_matches('/').to_string();
    Ok(if url.path() == "/" { format!("{text}/api/v4") } else { text })
}

/// Percent-encode one path segment (`openg2p/impl` → `openg2p%2Fimpl`), as GitLab wants ids.
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Why a call did not give what we wanted.
#[derive(Debug)]
pub enum Stop {
    Cancelled,
    Failed(String),
}

impl From<String> for Stop {
    fn from(message: String) -> Stop {
        Stop::Failed(message)
    }
}

/// The answer to one call: status and JSON body (`Null` when empty or not JSON).
struct Answer {
    status: u16,
    body: Value,
    next_page: Option<String>,
}

/// A GitLab REST v4 client. Every request carries the token in `PRIVATE-TOKEN`; errors name the
/// method and the API path (never the token) and carry GitLab's own `message`/`error`.
pub struct GitlabClient {
    http: Client,
    base: String,
    token: String,
    cancel: Option<CancelToken>,
}

impl GitlabClient {
    pub fn new(config: &GitlabConfig) -> Result<GitlabClient, String> {
        let http = Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("playbook-engine/", env!("CARGO_PKG_VERSION")))
            // A redirect could carry the token to another host; GitLab's API does not redirect.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
        Ok(GitlabClient { http, base: config.api_url.clone(), token: config.token.clone(), cancel: None })
    }

    /// Stop before the next call once this token is cancelled.
    pub fn with_cancel(mut self, cancel: CancelToken) -> GitlabClient {
        self.cancel = Some(cancel);
        self
    }

    fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Answer, Stop> {
        if self.cancel.as_ref().is_some_and(CancelToken::is_cancelled) {
            return Err(Stop::Cancelled);
        }
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method.clone(), &url).header("PRIVATE-TOKEN", &self.token).header("Accept", "application/json");
        if let Some(body) = body {
            request = request.header("Content-Type", "application/json").body(body.to_string());
        }
        let response: Response = request.send().map_err(|e| {
            let e = e.without_url();
            let kind = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "could not connect"
            } else {
                "failed"
            };
            Stop::Failed(format!("{method} {path} at GITLAB_API_URL {}: {kind}: {}", self.base, error_chain(&e)))
        })?;
        let status = response.status().as_u16();
        let next_page = response.headers().get("x-next-page").and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty());
        let next_page = next_page.map(str::to_string);
        let text = response.text().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(if text.trim().is_empty() { Value::Null } else { Value::String(text) });
        Ok(Answer { status, body, next_page })
    }

    /// A call that must succeed (2xx): its JSON body.
    fn expect(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value, Stop> {
        let answer = self.call(method.clone(), path, body)?;
        if (200..300).contains(&answer.status) { Ok(answer.body) } else { Err(Stop::Failed(refusal(&method, path, &answer))) }
    }

    /// A GET that may find nothing: `None` on 404.
    pub fn get_optional(&self, path: &str) -> Result<Option<Value>, Stop> {
        let answer = self.call(Method::GET, path, None)?;
        match answer.status {
            404 => Ok(None),
            200..=299 => Ok(Some(answer.body)),
            _ => Err(Stop::Failed(refusal(&Method::GET, path, &answer))),
        }
    }

    pub fn post(&self, path: &str, body: &Value) -> Result<Value, Stop> {
        self.expect(Method::POST, path, Some(body))
    }

    pub fn put(&self, path: &str, body: &Value) -> Result<Value, Stop> {
        self.expect(Method::PUT, path, Some(body))
    }

    /// Every item of a list, following GitLab's offset pagination (`X-Next-Page`).
    pub fn get_all(&self, path: &str) -> Result<Vec<Value>, Stop> {
        const MAX_PAGES: usize = 100;
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut page = "1".to_string();
        for _ in 0..MAX_PAGES {
            let page_path = format!("{path}{sep}per_page=100&page={}", encode_segment(&page));
            let answer = self.call(Method::GET, &page_path, None)?;
            if !(200..300).contains(&answer.status) {
                return Err(Stop::Failed(refusal(&Method::GET, &page_path, &answer)));
            }
            match answer.body {
                Value::Array(list) => items.extend(list),
                other => return Err(Stop::Failed(format!("GET {page_path}: GitLab answered {} instead of a list", kind_of(&other)))),
            }
            match answer.next_page {
                Some(next) if next != page => page = next,
                _ => return Ok(items),
            }
        }
        Err(Stop::Failed(format!("GET {path}: more than {MAX_PAGES} pages; stopped reading")))
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// GitLab's own words from an error body: `message` (text, list or field → errors map),
/// `error` and `error_description`.
pub fn gitlab_message(body: &Value) -> String {
    fn flatten(v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Array(items) => items.iter().map(flatten).collect::<Vec<_>>().join(", "),
            Value::Object(map) => map.iter().map(|(k, v)| format!("{k} {}", flatten(v))).collect::<Vec<_>>().join("; "),
            Value::Null => String::new(),
            other => other.to_string(),
        }
    }
    let mut parts = Vec::new();
    if let Some(m) = body.get("message") {
        parts.push(flatten(m));
    }
    if let Some(e) = body.get("error") {
        parts.push(flatten(e));
    }
    if let Some(d) = body.get("error_description") {
        parts.push(flatten(d));
    }
    if parts.is_empty()
        && let Value::String(s) = body
    {
        // Not JSON (a proxy's page): the first line, kept short.
        parts.push(s.lines().next().unwrap_or_default().chars().take(200).collect());
    }
    parts.retain(|p| !p.trim().is_empty());
    parts.join(" — ")
}

fn refusal(method: &Method, path: &str, answer: &Answer) -> String {
    let reason = reqwest::StatusCode::from_u16(answer.status).ok().and_then(|s| s.canonical_reason()).unwrap_or("");
    let message = gitlab_message(&answer.body);
    let said = if message.is_empty() { String::new() } else { format!(": {message}") };
    let hint = match answer.status {
        401 => " (GITLAB_TOKEN is invalid, expired or revoked; it needs the `api` scope)",
        403 => {
            " (the token's user lacks the permission: it needs the Owner or Maintainer role on GITLAB_GROUP, or the instance restricts this)"
        }
        404 => " (not found, or not visible to the token's user)",
        409 => " (conflict: it already exists or is being changed)",
        400 | 422 => " (GitLab rejected the request: a naming or validation problem)",
        429 => " (rate limited; retry later)",
        500..=599 => " (GitLab had an internal problem; retry later)",
        _ => "",
    };
    format!("GitLab answered {} {reason} to {method} {path}{said}{hint}", answer.status)
}

/// Why GitLab's object must not be reused, if it is scheduled for deletion.
fn deletion_scheduled(object: &Value) -> Option<String> {
    for key in ["marked_for_deletion_at", "marked_for_deletion_on"] {
        if let Some(v) = object.get(key).filter(|v| !v.is_null()) {
            let when = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            return Some(format!("{key} {when}"));
        }
    }
    for key in ["path_with_namespace", "full_path", "path"] {
        if let Some(p) = object.get(key).and_then(Value::as_str).filter(|p| p.contains("-deletion_scheduled-")) {
            return Some(format!("renamed to `{p}` for deletion"));
        }
    }
    None
}

fn id_of(object: &Value, what: &str) -> Result<u64, Stop> {
    object.get("id").and_then(Value::as_u64).ok_or_else(|| {
        Stop::Failed(format!("the answer for {what} has no numeric id: is GITLAB_API_URL the REST v4 root (https://<host>/api/v4)?"))
    })
}

fn text_of(object: &Value, key: &str) -> Option<String> {
    object.get(key).and_then(Value::as_str).map(str::to_string)
}

fn role(level: u64) -> &'static str {
    match level {
        0 => "No access",
        5 => "Minimal access",
        10 => "Guest",
        15 => "Planner",
        20 => "Reporter",
        30 => "Developer",
        40 => "Maintainer",
        50 => "Owner",
        _ => "a custom role",
    }
}

/// What the Activity works from: the answers it needs, and the parent group.
#[derive(Debug, Clone)]
pub struct Plan {
    pub parent_group: String,
    pub user_handle: String,
    pub user_email: Option<String>,
    pub projects: [String; 2],
}

impl Plan {
    pub fn from_inputs(inputs: &RegistryInputs, parent_group: &str) -> Result<Plan, String> {
        let user_handle = inputs.gitlab_user.clone().ok_or_else(|| {
            "`gitlab_user_handle` is not answered: record the implementer's GitLab username (the subgroup is named after it)".to_string()
        })?;
        let user_handle = user_handle.trim().trim_start_matches('@').to_string();
        let valid = user_handle.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && user_handle.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
            && (2..=255).contains(&user_handle.len());
        if !valid {
            return Err(format!(
                "gitlab_user_handle `{user_handle}` is not a GitLab username (letters, digits, `_`, `.`, `-`; 2–255 characters)"
            ));
        }
        Ok(Plan {
            parent_group: parent_group.to_string(),
            user_handle,
            user_email: inputs.gitlab_email.clone(),
            projects: [inputs.extension_project(), inputs.deployment_project()],
        })
    }

    pub fn group_path(&self) -> String {
        format!("{}/{}", self.parent_group, self.user_handle)
    }
}

/// Make the GitLab workspace exist as the plan says; `log` hears what was found or done.
pub fn ensure_workspace(client: &GitlabClient, plan: &Plan, log: &dyn Fn(String)) -> Result<GitlabWorkspace, Stop> {
    // The parent group: must exist (we do not create top-level structure).
    let parent_path = format!("/groups/{}", encode_segment(&plan.parent_group));
    let parent = client.get_optional(&parent_path)?.ok_or_else(|| {
        Stop::Failed(format!(
            "the parent group `{}` (GITLAB_GROUP) does not exist or is not visible to the token's user; create it in GitLab or fix GITLAB_GROUP",
            plan.parent_group
        ))
    })?;
    if let Some(why) = deletion_scheduled(&parent) {
        return Err(Stop::Failed(format!(
            "the parent group `{}` (GITLAB_GROUP) is scheduled for deletion in GitLab ({why}); restore it in GitLab or set GITLAB_GROUP to another group",
            plan.parent_group
        )));
    }
    let parent_id = id_of(&parent, "the parent group")?;

    // The implementer's subgroup.
    let group_path = plan.group_path();
    let group = match client.get_optional(&format!("/groups/{}", encode_segment(&group_path)))? {
        Some(group) => {
            if let Some(why) = deletion_scheduled(&group) {
                return Err(Stop::Failed(format!(
                    "the group `{group_path}` is scheduled for deletion in GitLab ({why}); restore it in GitLab (Group settings → Advanced → Restore) \
                     or record another gitlab_user_handle"
                )));
            }
            check_same_path(&group, "full_path", &group_path, "group")?;
            log(format!("group `{group_path}` exists (id {})", id_of(&group, "the group")?));
            group
        }
        None => {
            let body = json!({
                "parent_id": parent_id,
                "path": plan.user_handle,
                "name": plan.user_handle,
                "visibility": "private",
            });
            let group = client.post("/groups", &body)?;
            log(format!("created the private group `{group_path}` (id {})", id_of(&group, "the new group")?));
            group
        }
    };
    let group_id = id_of(&group, "the group")?;
    let group_full_path = text_of(&group, "full_path").unwrap_or_else(|| group_path.clone());

    // The two projects.
    let mut projects = Vec::new();
    for name in &plan.projects {
        projects.push(ensure_project(client, group_id, &group_full_path, name, log)?);
    }

    // The implementer as Developer on both.
    let user = find_user(client, plan, log)?;
    let user_id = id_of(&user, "the user")?;
    for (project, name) in projects.iter().zip(&plan.projects) {
        ensure_developer(client, project, name, &plan.user_handle, user_id, log)?;
    }

    let mut projects = projects.into_iter().map(|p| describe(&p));
    let extension = projects.next().ok_or_else(|| Stop::Failed("internal: no extension project".into()))??;
    let deployment = projects.next().ok_or_else(|| Stop::Failed("internal: no deployment project".into()))??;
    Ok(GitlabWorkspace { group_path: group_full_path, group_id, extension, deployment })
}

/// GitLab follows redirects of renamed or moved paths: an answer for another path is not ours.
fn check_same_path(object: &Value, key: &str, wanted: &str, what: &str) -> Result<(), Stop> {
    match text_of(object, key) {
        Some(actual) if !actual.eq_ignore_ascii_case(wanted) => Err(Stop::Failed(format!(
            "GitLab answers for the {what} `{wanted}` with `{actual}` (it was renamed or moved); rename it back in GitLab \
             or pick another registry mnemonic"
        ))),
        _ => Ok(()),
    }
}

fn ensure_project(client: &GitlabClient, group_id: u64, group_path: &str, name: &str, log: &dyn Fn(String)) -> Result<Value, Stop> {
    let full = format!("{group_path}/{name}");
    let project = match client.get_optional(&format!("/projects/{}", encode_segment(&full)))? {
        Some(project) => {
            if let Some(why) = deletion_scheduled(&project) {
                return Err(Stop::Failed(format!(
                    "the project `{full}` is scheduled for deletion in GitLab ({why}) and will not be reused; restore it in GitLab \
                     (Settings → General → Advanced → Restore project) or pick another registry mnemonic"
                )));
            }
            check_same_path(&project, "path_with_namespace", &full, "project")?;
            let id = id_of(&project, "the project")?;
            log(format!("project `{full}` exists (id {id})"));
            if let Some(visibility) = text_of(&project, "visibility").filter(|v| v != "private") {
                log(format!(
                    "note: project `{full}` is {visibility}, not private; left as it is (change it in GitLab if it should be private)"
                ));
            }
            ensure_default_branch(client, project, &full, log)?
        }
        None => {
            let body = json!({
                "namespace_id": group_id,
                "path": name,
                "name": name,
                "visibility": "private",
                "default_branch": DEFAULT_BRANCH,
                "initialize_with_readme": false,
            });
            let project = client.post("/projects", &body)?;
            let id = id_of(&project, "the new project")?;
            log(format!(
                "created the private project `{full}` (id {id}); it is empty, and `{DEFAULT_BRANCH}` becomes its default branch with the first push"
            ));
            project
        }
    };
    Ok(project)
}

/// Make `develop` the default branch of an existing project. GitLab only accepts an existing
/// branch: an empty project gets it with the first push; a project with commits but no
/// `develop` gets the branch made from its current default first (the push replaces it).
fn ensure_default_branch(client: &GitlabClient, project: Value, full: &str, log: &dyn Fn(String)) -> Result<Value, Stop> {
    let current = text_of(&project, "default_branch");
    if current.as_deref() == Some(DEFAULT_BRANCH) {
        log(format!("project `{full}` has the default branch `{DEFAULT_BRANCH}`"));
        return Ok(project);
    }
    let id = id_of(&project, "the project")?;
    let empty = project.get("empty_repo").and_then(Value::as_bool).unwrap_or(current.is_none());
    if empty {
        log(format!(
            "project `{full}` is empty; GitLab can only name an existing branch as default, so `{DEFAULT_BRANCH}` becomes the default with the first push"
        ));
        return Ok(project);
    }
    let current = current.unwrap_or_default();
    let branch_path = format!("/projects/{id}/repository/branches/{}", encode_segment(DEFAULT_BRANCH));
    if client.get_optional(&branch_path)?.is_none() {
        let create =
            format!("/projects/{id}/repository/branches?branch={}&ref={}", encode_segment(DEFAULT_BRANCH), encode_segment(&current));
        client.post(&create, &json!({}))?;
        log(format!("project `{full}` had no `{DEFAULT_BRANCH}` branch: created it from `{current}`"));
    }
    let updated = client.put(&format!("/projects/{id}"), &json!({ "default_branch": DEFAULT_BRANCH }))?;
    log(format!("project `{full}`: default branch changed from `{current}` to `{DEFAULT_BRANCH}`"));
    Ok(if updated.is_object() { updated } else { project })
}

fn find_user(client: &GitlabClient, plan: &Plan, log: &dyn Fn(String)) -> Result<Value, Stop> {
    let handle = &plan.user_handle;
    let users = client.get_all(&format!("/users?username={}", encode_segment(handle)))?;
    let user = users
        .into_iter()
        .find(|u| u.get("username").and_then(Value::as_str).is_some_and(|n| n.eq_ignore_ascii_case(handle)))
        .ok_or_else(|| {
            Stop::Failed(format!(
                "no GitLab user `{handle}` (gitlab_user_handle): record the implementer's GitLab username (as in their profile URL), \
                 not their display name or email"
            ))
        })?;
    if let Some(state) = text_of(&user, "state").filter(|s| s != "active") {
        log(format!("note: the GitLab user `{handle}` is {state}"));
    }
    let id = id_of(&user, "the user")?;
    // GitLab shows `email` to administrators only, and `public_email` when the user set one.
    let shown: Vec<String> = ["email", "public_email"].iter().filter_map(|k| text_of(&user, k)).filter(|e| !e.is_empty()).collect();
    match &plan.user_email {
        Some(email) if shown.iter().any(|e| e.eq_ignore_ascii_case(email)) => {
            log(format!("found the GitLab user `{handle}` (id {id}) with the email {email}"));
        }
        Some(email) if !shown.is_empty() => {
            log(format!(
                "found the GitLab user `{handle}` (id {id}); warning: GitLab shows {} for them, not gitlab_user_email {email} \
                 (it may be a secondary address); adding them by username",
                shown.join(", ")
            ));
        }
        Some(email) => log(format!(
            "found the GitLab user `{handle}` (id {id}); GitLab does not show their email to this token, so gitlab_user_email {email} \
             is recorded but not verified; adding them by username"
        )),
        None => log(format!("found the GitLab user `{handle}` (id {id}); no gitlab_user_email recorded")),
    }
    Ok(user)
}

fn ensure_developer(
    client: &GitlabClient,
    project: &Value,
    name: &str,
    handle: &str,
    user_id: u64,
    log: &dyn Fn(String),
) -> Result<(), Stop> {
    let id = id_of(project, "the project")?;
    let effective = client.get_optional(&format!("/projects/{id}/members/all/{user_id}"))?;
    let level = effective.as_ref().and_then(|m| m.get("access_level")).and_then(Value::as_u64);
    match level {
        Some(level) if level >= DEVELOPER => {
            log(format!("`{handle}` is a member of `{name}` as {} ({level}); left as it is", role(level)));
            return Ok(());
        }
        _ => {}
    }
    // Absent or below Developer: raise a direct membership, else add one.
    let direct = match level {
        Some(_) => client.get_optional(&format!("/projects/{id}/members/{user_id}"))?,
        None => None,
    };
    if direct.is_some() {
        let from = level.unwrap_or_default();
        client.put(&format!("/projects/{id}/members/{user_id}"), &json!({ "access_level": DEVELOPER }))?;
        log(format!("raised `{handle}` on `{name}` from {} ({from}) to Developer ({DEVELOPER})", role(from)));
    } else {
        client.post(&format!("/projects/{id}/members"), &json!({ "user_id": user_id, "access_level": DEVELOPER }))?;
        log(format!("added `{handle}` to `{name}` as Developer ({DEVELOPER})"));
    }
    Ok(())
}

fn describe(project: &Value) -> Result<GitlabProject, Stop> {
    let id = id_of(project, "the project")?;
    let need = |key: &str| text_of(project, key).ok_or_else(|| Stop::Failed(format!("GitLab's answer for project {id} has no `{key}`")));
    Ok(GitlabProject {
        id,
        path_with_namespace: need("path_with_namespace")?,
        http_url_to_repo: need("http_url_to_repo")?,
        web_url: need("web_url")?,
        container_registry_image_prefix: text_of(project, "container_registry_image_prefix").filter(|p| !p.is_empty()),
    })
}

/// The handler. Without a configuration of its own it reads the environment when it runs.
#[derive(Debug, Default)]
pub struct PrepareGitlabWorkspace {
    config: Option<GitlabConfig>,
}

impl PrepareGitlabWorkspace {
    /// Configured from `GITLAB_*` when it runs.
    pub fn from_env() -> PrepareGitlabWorkspace {
        PrepareGitlabWorkspace { config: None }
    }

    pub fn with_config(config: GitlabConfig) -> PrepareGitlabWorkspace {
        PrepareGitlabWorkspace { config: Some(config) }
    }
}

impl Handler for PrepareGitlabWorkspace {
    fn settings(&self) -> &'static [&'static str] {
        &["GITLAB_API_URL", "GITLAB_GROUP"]
    }

    fn run(&self, ctx: &StepContext<'_>) -> StepOutcome {
        let config = match &self.config {
            Some(c) => c.clone(),
            None => match GitlabConfig::from_env() {
                Ok(c) => c,
                Err(e) => return StepOutcome::Failed(e),
            },
        };
        let inputs = match RegistryInputs::from_case(ctx.case) {
            Ok(i) => i,
            Err(e) => return StepOutcome::Failed(format!("cannot read the answers: {e}")),
        };
        let plan = match Plan::from_inputs(&inputs, &config.group) {
            Ok(p) => p,
            Err(e) => return StepOutcome::Failed(e),
        };
        let client = match GitlabClient::new(&config) {
            Ok(c) => c.with_cancel(ctx.cancel.clone()),
            Err(e) => return StepOutcome::Failed(e),
        };
        ctx.log(
            None,
            format!(
                "GitLab at {}: the group `{}` with `{}` and `{}`",
                config.api_url,
                plan.group_path(),
                plan.projects[0],
                plan.projects[1]
            ),
        );
        let log = |m: String| ctx.log(None, m);
        match ensure_workspace(&client, &plan, &log) {
            Ok(workspace) => {
                if let Err(e) = write_output(ctx.workspace, ACTIVITY, &workspace) {
                    return StepOutcome::Failed(format!("the GitLab workspace is ready, but {e}"));
                }
                ctx.log(None, format!("ready: {} and {}", workspace.extension.http_url_to_repo, workspace.deployment.http_url_to_repo));
                StepOutcome::Succeeded
            }
            Err(Stop::Cancelled) => StepOutcome::Cancelled,
            Err(Stop::Failed(message)) => StepOutcome::Failed(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_names_every_missing_variable_and_hides_the_token() {
        let e = GitlabConfig::from_lookup(|n| (n == "GITLAB_TOKEN").then(|| "glpat-secret".to_string())).unwrap_err();
        assert!(e.contains("set GITLAB_API_URL, GITLAB_GROUP "), "{e}");
        assert!(!e.contains("glpat-secret"));
        let c = GitlabConfig::new("https://gitlab.example.org/", "glpat-secret", "/openg2p/impl/").unwrap();
        assert_eq!((c.api_url.as_str(), c.group.as_str()), ("https://gitlab.example.org/api/v4", "openg2p/impl"));
        assert!(!format!("{c:?}").contains("glpat-secret"));
        assert!(GitlabConfig::new("ftp://x", "t", "g").unwrap_err().contains("http(s)"));
        assert!(GitlabConfig::new("https://u:p@x/api/v4", "t", "g").unwrap_err().contains("credentials"));
        assert!(GitlabConfig::new("https://x/api/v4", "t", "a//b").unwrap_err().contains("not a group path"));
    }

    #[test]
    fn messages_come_out_of_every_error_shape() {
        assert_eq!(gitlab_message(&json!({"message": "403 Forbidden"})), "403 Forbidden");
        assert_eq!(gitlab_message(&json!({"message": {"path": ["has already been taken"]}})), "path has already been taken");
        assert_eq!(
            gitlab_message(&json!({"error": "invalid_token", "error_description": "Token was revoked."})),
            "invalid_token — Token was revoked."
        );
        assert_eq!(gitlab_message(&json!("<html>Bad gateway</html>\nmore")), "<html>Bad gateway</html>");
        assert_eq!(encode_segment("openg2p/impl-x.y"), "openg2p%2Fimpl-x.y");
    }

    #[test]
    fn deletion_marks_are_seen_in_every_form() {
        assert!(deletion_scheduled(&json!({"marked_for_deletion_at": "2026-11-20"})).is_some());
        assert!(deletion_scheduled(&json!({"marked_for_deletion_on": "2026-11-20"})).is_some());
        assert!(deletion_scheduled(&json!({"path": "x-deletion_scheduled-12"})).is_some());
        assert!(deletion_scheduled(&json!({"marked_for_deletion_at": null, "path": "x"})).is_none());
    }
}
