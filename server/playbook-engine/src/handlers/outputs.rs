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
