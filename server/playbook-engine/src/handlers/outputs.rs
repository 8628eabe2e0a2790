//! Step outputs: what one Activity hands to later ones (project URLs, pushed commits, image
//! references, test results), as `<workspace>/.outputs/<activity>.json`. They live in the job
//! workspace, so a skipped step's outputs carry over with the workspace the next job starts from.

use super::inputs::layout;
use crate::fsutil::write_atomic;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

fn output_path(workspace: &Path, activity: &str) -> PathBuf {
    workspace.join(layout::OUTPUTS).join(format!("{activity}.json"))
}

/// Record an Activity's outputs (replacing the previous ones).
pub fn write_output<T: Serialize>(workspace: &Path, activity: &str, value: &T) -> Result<(), String> {
    let path = output_path(workspace, activity);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let json = serde_json::to_vec_pretty(value).map_err(|e| format!("cannot encode the outputs of `{activity}`: {e}"))?;
    write_atomic(&path, &json)
}

/// An Activity's recorded outputs: `Ok(None)` when it recorded none (it has not run yet).
pub fn read_output<T: DeserializeOwned>(workspace: &Path, activity: &str) -> Result<Option<T>, String> {
    let path = output_path(workspace, activity);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| format!("{} is not valid: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_round_trip_and_absent_ones_are_none() {
        let dir = std::env::temp_dir().join(format!("playbook-outputs-{}", std::process::id()));
        write_output(&dir, "prepare_gitlab_workspace", &serde_json::json!({"url": "http://x"})).unwrap();
        let back: Option<serde_json::Value> = read_output(&dir, "prepare_gitlab_workspace").unwrap();
        assert_eq!(back.unwrap()["url"], "http://x");
        assert!(read_output::<serde_json::Value>(&dir, "push_extension_repo").unwrap().is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// The outputs of `prepare_gitlab_workspace`, read by the push Activities and the Build Report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct GitlabWorkspace {
    /// The subgroup named after `gitlab_user_handle` (`openg2p/aurelia-dev`).
    pub group_path: String,
    pub group_id: u64,
    pub extension: GitlabProject,
    pub deployment: GitlabProject,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct GitlabProject {
    pub id: u64,
    pub path_with_namespace: String,
    /// Where the push Activities push (`http(s)://…/<group>/<project>.git`).
    pub http_url_to_repo: String,
    pub web_url: String,
    /// GitLab's `container_registry_image_prefix`, when the instance has a registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_registry_image_prefix: Option<String>,
}

/// The outputs of `push_extension_repo` / `push_deployment_repo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PushedRepo {
    /// The remote, without credentials.
    pub remote: String,
    pub branch: String,
    pub commit: String,
}

/// What a job published or proved, one Markdown line each, from the outputs its steps recorded
/// (for the Build Report). Outputs that are missing or of an unexpected shape are left out.
pub fn published_summary(workspace: &Path) -> Vec<String> {
    use serde_json::Value;
    let read = |activity: &str| read_output::<Value>(workspace, activity).ok().flatten();
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    let mut lines = Vec::new();
    if let Some(clone) = read("clone_reference_registry")
        && let (Some(url), Some(commit)) = (text(&clone, "url"), text(&clone, "commit"))
    {
        lines.push(format!("Reference registry `{url}` at commit `{}`", short(&commit)));
    }
    if let Some(gitlab) = read_output::<GitlabWorkspace>(workspace, "prepare_gitlab_workspace").ok().flatten() {
        for project in [&gitlab.extension, &gitlab.deployment] {
            lines.push(format!("GitLab project `{}` — {}", project.path_with_namespace, project.web_url));
        }
    }
    for activity in ["push_extension_repo", "push_deployment_repo"] {
        if let Some(pushed) = read_output::<PushedRepo>(workspace, activity).ok().flatten() {
            lines.push(format!("`{}` pushed to {} at commit `{}`", pushed.branch, pushed.remote, short(&pushed.commit)));
        }
    }
    if let Some(built) = read("build_images_locally") {
        for image in built.get("images").and_then(Value::as_array).into_iter().flatten() {
            if let Some(reference) = text(image, "image") {
                lines.push(format!("Image `{reference}` built locally"));
            }
        }
    }
    if let Some(pushed) = read("push_images_to_registry") {
        for image in pushed.get("pushed").and_then(Value::as_array).into_iter().flatten() {
            if let Some(reference) = text(image, "image") {
                let digest = text(image, "digest").map(|d| format!(" ({d})")).unwrap_or_default();
                lines.push(format!("Image `{reference}` pushed{digest}"));
            }
        }
    }
    if let Some(sandbox) = read("deploy_local_sandbox")
        && let (Some(api), Some(ui)) = (text(&sandbox, "api_url"), text(&sandbox, "ui_url"))
    {
        lines.push(format!("Sandbox healthy: API at {api}, staff portal at {ui}"));
    }
    if let Some(tests) = read("run_smoke_tests") {
        let count = |key: &str| tests.get(key).and_then(Value::as_u64).unwrap_or(0);
        lines.push(format!("Smoke tests: {} passed, {} failed, {} skipped", count("passed"), count("failed"), count("skipped")));
    }
    lines
}

fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}
