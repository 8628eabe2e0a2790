//! The deployment side of the registry build:
//!
//! - `generate_deployment_files` ([`GenerateDeploymentFiles`]) — Dockerfiles, the staff-portal
//!   site, the Helm wrapper chart, the sandbox compose file, `images.json` and a README under
//!   `deployment/` (everything there is replaced except `tests/`, `test-results/` and `.git`).
//! - `compile_deployment` ([`CompileDeployment`]) — strict YAML (syntax, duplicate keys, tabs in
//!   indentation) and JSON parsing of `deployment/`, then `helm lint` when Helm is installed.
//! - `generate_test_suite` ([`GenerateTestSuite`]) — the pytest suite under `deployment/tests/`.
//!
//! All text is built here from the answers (no network, no provider), so generating twice from
//! the same case gives the same bytes.

mod manifests;
mod portal;
pub mod strict_yaml;
mod suite;
mod yaml_out;

use super::inputs::{ImageSpec, RegistryInputs, layout};
use super::outputs::write_output;
use crate::build::{Handler, StepContext, StepOutcome};
use crate::workspace::workspace_root;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What `generate_deployment_files` records for later steps and the Build Report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentFiles {
    /// Every file written, relative to the job workspace, sorted.
    pub files: Vec<String>,
    pub chart: String,
    pub images: Vec<ImageSpec>,
}

/// What `generate_test_suite` records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestSuiteFiles {
    pub files: Vec<String>,
}

/// What `compile_deployment` records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompileReport {
    pub yaml_files: Vec<String>,
    pub json_files: Vec<String>,
    /// False when Helm is not installed.
    pub helm_linted: bool,
}

/// The container registry path images are tagged under: env `CONTAINER_REGISTRY`, else
/// `localhost/<organisation>`.
pub fn registry_path(inputs: &RegistryInputs) -> String {
    match std::env::var("CONTAINER_REGISTRY") {
        Ok(path) if !path.trim().is_empty() => path.trim().trim_end_matches('/').to_string(),
        _ => format!("localhost/{}", inputs.organisation),
    }
}

/// A logo read from the case's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logo {
    /// Lowercase file extension (`png`, `svg`, …).
    pub ext: String,
    pub bytes: Vec<u8>,
}

const LOGO_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "gif", "svg", "webp"];
const MAX_LOGO_BYTES: u64 = 5 * 1024 * 1024;

/// Read a logo answer: a path relative to the case folder that must stay inside `root`.
pub fn read_logo(case_dir: &Path, root: &Path, item: &str, answer: Option<&str>) -> Result<Option<Logo>, String> {
    let Some(answer) = answer else { return Ok(None) };
    // Compare absolute paths: the case folder may be given relative to the current directory.
    let absolute =
        |p: &Path| p.canonicalize().unwrap_or_else(|_| std::env::current_dir().map(|cwd| cwd.join(p)).unwrap_or_else(|_| p.to_path_buf()));
    let case_dir = &absolute(case_dir);
    let joined = case_dir.join(answer);
    let root = absolute(root);
    // Refuse before touching the file: a path that climbs out is refused even if it exists.
    let lexical = normalise(&joined);
    let resolved = joined.canonicalize();
    let inside = |p: &Path| p.starts_with(&root);
    if !inside(&lexical) || resolved.as_ref().is_ok_and(|p| !inside(p)) {
        return Err(format!(
            "{item}: `{answer}` is outside the workspace {}; put the logo inside the project and answer its path relative to the case",
            root.display()
        ));
    }
    let path = resolved.map_err(|e| format!("{item}: cannot read `{answer}` (relative to {}): {e}", case_dir.display()))?;
    let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    if !LOGO_EXTENSIONS.contains(&ext.as_str()) {
        return Err(format!("{item}: `{answer}` is not an image this portal can show (use one of {})", LOGO_EXTENSIONS.join(", ")));
    }
    let meta = std::fs::metadata(&path).map_err(|e| format!("{item}: cannot read `{answer}`: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{item}: `{answer}` is not a file"));
    }
    if meta.len() > MAX_LOGO_BYTES {
        return Err(format!("{item}: `{answer}` is {} KB; logos over {} KB are refused", meta.len() / 1024, MAX_LOGO_BYTES / 1024));
    }
    let bytes = std::fs::read(&path).map_err(|e| format!("{item}: cannot read `{answer}`: {e}"))?;
    Ok(Some(Logo { ext, bytes }))
}

/// `a/b/../c` → `a/c`, without touching the file system (the path is absolute here).
fn normalise(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// A square placeholder with the registry's initials, for a logo not answered.
fn placeholder_logo(inputs: &RegistryInputs, primary: &str) -> Logo {
    let initials: String =
        inputs.registry_name.split_whitespace().filter_map(|w| w.chars().next()).filter(|c| c.is_alphanumeric()).take(3).collect();
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 64 64\"><rect width=\"64\" height=\"64\" rx=\"8\" fill=\"{primary}\"/><text x=\"32\" y=\"40\" font-size=\"22\" text-anchor=\"middle\" fill=\"#fff\" font-family=\"sans-serif\">{}</text></svg>\n",
        portal::escape_html(&initials)
    );
    Logo { ext: "svg".into(), bytes: svg.into_bytes() }
}

/// Every file of `deployment/` (paths relative to the workspace), in a fixed order.
pub fn deployment_files(
    inputs: &RegistryInputs,
    registry_path: &str,
    small: Option<Logo>,
    medium: Option<Logo>,
) -> Result<Vec<(String, Vec<u8>)>, String> {
    let chart = inputs.chart_name();
    let images = manifests::image_specs(inputs, registry_path);
    let components = manifests::components(inputs)?;
    let theme = portal::theme(inputs.ui_theme.as_deref());
    let small = small.unwrap_or_else(|| placeholder_logo(inputs, &theme.primary));
    let medium = medium.unwrap_or_else(|| placeholder_logo(inputs, &theme.primary));
    let small_name = format!("logo-small.{}", small.ext);
    let medium_name = format!("logo-medium.{}", medium.ext);
    let d = layout::DEPLOYMENT;
    let portal_dir = format!("{d}/docker/staff-portal");
    let chart_dir = format!("{d}/helm/{chart}");
    let text = |path: String, body: String| (path, body.into_bytes());
    let mut images_json = serde_json::to_string_pretty(&images).map_err(|e| format!("cannot encode images.json: {e}"))?;
    images_json.push('\n');
    let mut files = vec![
        text(format!("{d}/README.md"), readme(inputs, &images)),
        text(format!("{d}/.gitignore"), "test-results/\n__pycache__/\n.pytest_cache/\n".into()),
        text(layout::IMAGES.into(), images_json),
        text(layout::COMPOSE.into(), manifests::compose_yaml(inputs, &images)),
        text(format!("{d}/docker/api/Dockerfile"), portal::api_dockerfile(inputs)),
        text(format!("{portal_dir}/Dockerfile"), portal::portal_dockerfile(inputs)),
        text(format!("{portal_dir}/.dockerignore"), "Dockerfile\n".into()),
        text(format!("{portal_dir}/entrypoint.py"), portal::entrypoint_py()),
        text(format!("{portal_dir}/site/index.html"), portal::index_html(inputs, &small_name, &medium_name)),
        text(format!("{portal_dir}/site/app.js"), portal::APP_JS.into()),
        text(format!("{portal_dir}/site/config.js"), portal::default_config_js()),
        text(format!("{portal_dir}/site/theme.css"), portal::theme_css(&theme)),
        (format!("{portal_dir}/site/{small_name}"), small.bytes),
        (format!("{portal_dir}/site/{medium_name}"), medium.bytes),
        text(format!("{chart_dir}/Chart.yaml"), manifests::chart_yaml(inputs)),
        text(format!("{chart_dir}/values.yaml"), manifests::values_yaml(inputs, &components, &images)),
        text(format!("{chart_dir}/values-sandbox.yaml"), manifests::sandbox_values_yaml(inputs, &components)),
        text(format!("{chart_dir}/.helmignore"), ".git/\n*.swp\n*.tmp\n".into()),
        text(format!("{chart_dir}/templates/_helpers.tpl"), manifests::helpers_tpl(&chart)),
        text(format!("{chart_dir}/templates/deployment.yaml"), manifests::deployment_tpl(&chart)),
        text(format!("{chart_dir}/templates/service.yaml"), manifests::service_tpl(&chart)),
        text(format!("{chart_dir}/templates/ingress.yaml"), manifests::ingress_tpl(&chart)),
    ];
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}

fn readme(inputs: &RegistryInputs, images: &[ImageSpec]) -> String {
    let chart = inputs.chart_name();
    let image_lines: String = images
        .iter()
        .map(|i| format!("- `{}` — `{}` (context `{}`, Dockerfile `{}`)\n", i.service, i.image, i.context, i.dockerfile))
        .collect();
    let registers: String = inputs.registers.iter().map(|r| format!("- {} — `/api/{}`\n", r.name, r.path_segment())).collect();
    format!(
        r#"# {name} — deployment

Generated by the registry playbook's `generate_deployment_files` and `generate_test_suite`
Activities. Regenerating replaces everything here except `tests/` (rewritten by
`generate_test_suite`) and `test-results/`.

## Images

{image_lines}
Both Dockerfiles start with `ARG BASE_IMAGE=python:3.11-slim`. Build from the workspace root
(the folder holding `extension/` and `deployment/`):

```sh
docker build -f deployment/docker/api/Dockerfile -t {api} extension
docker build -t {portal} deployment/docker/staff-portal
```

## Local sandbox

```sh
docker compose -f deployment/docker-compose.sandbox.yaml up -d --wait
```

The API listens on `127.0.0.1:${{SANDBOX_API_PORT:-18080}}`, the staff portal on
`127.0.0.1:${{SANDBOX_UI_PORT:-18081}}`. The compose file never pulls or builds: build the
images first. Stop it with `docker compose -f deployment/docker-compose.sandbox.yaml down -v`.

Registers served by the API:

{registers}
## Tests

```sh
python3 -m venv .venv && .venv/bin/pip install -r deployment/tests/requirements.txt
SANDBOX_API_URL=http://127.0.0.1:18080 SANDBOX_UI_URL=http://127.0.0.1:18081 \
  PLAYWRIGHT_CHROMIUM_EXECUTABLE=/usr/bin/chromium \
  .venv/bin/python -m pytest deployment/tests
```

`-m api` runs the API tests only, `-m ui` the browser tests only.

## Helm

`helm/{chart}/` is a wrapper chart: one Deployment and Service per enabled component of
`values.yaml` (sized from `helm_resource_profile`), an Ingress for the production domains.
`values-sandbox.yaml` uses the smallest size and the sandbox domain `{sandbox}`.

```sh
helm lint helm/{chart}
helm upgrade --install {chart} helm/{chart} -f helm/{chart}/values-sandbox.yaml
```

The API keeps its data in SQLite on an `emptyDir` volume: fine for a sandbox, not for
production with more than one replica.
"#,
        name = inputs.registry_name,
        api = images.iter().find(|i| i.service == "api").map_or("", |i| i.image.as_str()),
        portal = images.iter().find(|i| i.service == "staff-portal").map_or("", |i| i.image.as_str()),
        sandbox = inputs.sandbox_domain,
    )
}

/// Remove everything in `dir` except the named entries.
fn wipe(dir: &Path, keep: &[&str]) -> Result<(), String> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("cannot read {}: {e}", dir.display())),
    };
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        if keep.iter().any(|k| entry.file_name() == *k) {
            continue;
        }
        let path = entry.path();
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        let removed = if is_dir { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        removed.map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
    }
    Ok(())
}

fn write_files(workspace: &Path, files: &[(String, Vec<u8>)]) -> Result<(), String> {
    for (relative, bytes) in files {
        let path = workspace.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

fn inputs_of(ctx: &StepContext<'_>) -> Result<RegistryInputs, String> {
    RegistryInputs::from_case(ctx.case).map_err(|e| format!("{e}; record it in the case and build again"))
}

pub struct GenerateDeploymentFiles;

impl Handler for GenerateDeploymentFiles {
    fn settings(&self) -> &'static [&'static str] {
        &["CONTAINER_REGISTRY"]
    }

    fn run(&self, ctx: &StepContext<'_>) -> StepOutcome {
        match generate_deployment(ctx) {
            Ok(()) => StepOutcome::Succeeded,
            Err(message) => StepOutcome::Failed(message),
        }
    }
}

fn generate_deployment(ctx: &StepContext<'_>) -> Result<(), String> {
    let inputs = inputs_of(ctx)?;
    let root = workspace_root(ctx.case_dir);
    let small = read_logo(ctx.case_dir, &root, "registry_logo_small", inputs.logo_small.as_deref())?;
    let medium = read_logo(ctx.case_dir, &root, "registry_logo_medium", inputs.logo_medium.as_deref())?;
    for (item, logo) in [("registry_logo_small", &small), ("registry_logo_medium", &medium)] {
        if logo.is_none() {
            ctx.log(None, format!("{item} is not answered: the portal shows a placeholder with the registry's initials"));
        }
    }
    let registry_path = registry_path(&inputs);
    let files = deployment_files(&inputs, &registry_path, small, medium)?;
    let dir = ctx.workspace.join(layout::DEPLOYMENT);
    // tests/ and test-results/ belong to generate_test_suite and run_smoke_tests; .git to the push.
    wipe(&dir, &["tests", "test-results", ".git"])?;
    write_files(ctx.workspace, &files)?;
    let images = manifests::image_specs(&inputs, &registry_path);
    for image in &images {
        ctx.log(None, format!("image {}: {} (context {})", image.service, image.image, image.context));
    }
    ctx.log(None, format!("wrote {} files under deployment/ (chart {})", files.len(), inputs.chart_name()));
    let output = DeploymentFiles { files: files.iter().map(|(p, _)| p.clone()).collect(), chart: inputs.chart_name(), images };
    write_output(ctx.workspace, "generate_deployment_files", &output)
}

pub struct GenerateTestSuite;

impl Handler for GenerateTestSuite {
    fn run(&self, ctx: &StepContext<'_>) -> StepOutcome {
        let run = || -> Result<(), String> {
            let inputs = inputs_of(ctx)?;
            let files = suite::test_files(&inputs)?;
            let dir = ctx.workspace.join(layout::TESTS);
            if dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(|e| format!("cannot remove {}: {e}", dir.display()))?;
            }
            write_files(ctx.workspace, &files)?;
            let tests = files.iter().filter(|(p, _)| p.rsplit('/').next().is_some_and(|n| n.starts_with("test_"))).count();
            ctx.log(None, format!("wrote {} files under deployment/tests/ ({tests} test modules)", files.len()));
            write_output(ctx.workspace, "generate_test_suite", &TestSuiteFiles { files: files.into_iter().map(|(p, _)| p).collect() })
        };
        match run() {
            Ok(()) => StepOutcome::Succeeded,
            Err(message) => StepOutcome::Failed(message),
        }
    }
}

pub struct CompileDeployment;

impl Handler for CompileDeployment {
    fn run(&self, ctx: &StepContext<'_>) -> StepOutcome {
        match compile(ctx) {
            Ok(report) => match write_output(ctx.workspace, "compile_deployment", &report) {
                Ok(()) => StepOutcome::Succeeded,
                Err(e) => StepOutcome::Failed(e),
            },
            Err(Stop::Cancelled) => StepOutcome::Cancelled,
            Err(Stop::Failed(message)) => StepOutcome::Failed(message),
        }
    }
}

enum Stop {
    Cancelled,
    Failed(String),
}

impl From<String> for Stop {
    fn from(message: String) -> Stop {
        Stop::Failed(message)
    }
}

/// The files `compile_deployment` parses: YAML and JSON under `deployment/`, except the test
/// suite, test results, `.git` and chart templates (Go templates, not YAML).
fn files_to_compile(workspace: &Path) -> Result<Vec<PathBuf>, String> {
    let dir = workspace.join(layout::DEPLOYMENT);
    if !dir.is_dir() {
        return Err("deployment/ does not exist: run generate_deployment_files first".into());
    }
    let mut files = Vec::new();
    let walker = walkdir::WalkDir::new(&dir).sort_by_file_name().into_iter().filter_entry(|e| {
        let relative = e.path().strip_prefix(&dir).unwrap_or(e.path());
        let parts: Vec<String> = relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        let skipped = matches!(parts.first().map(String::as_str), Some("tests" | "test-results" | ".git"))
            || (parts.len() >= 3 && parts[0] == "helm" && parts[2] == "templates");
        !skipped
    });
    for entry in walker {
        let entry = entry.map_err(|e| format!("cannot walk {}: {e}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().to_ascii_lowercase();
        if entry.file_type().is_file() && [".yaml", ".yml", ".json"].iter().any(|ext| name.ends_with(ext)) {
            files.push(entry.into_path());
        }
    }
    Ok(files)
}

fn compile(ctx: &StepContext<'_>) -> Result<CompileReport, Stop> {
    let files = files_to_compile(ctx.workspace)?;
    let mut report = CompileReport { yaml_files: Vec::new(), json_files: Vec::new(), helm_linted: false };
    let mut problems = Vec::new();
    for path in &files {
        if ctx.cancel.is_cancelled() {
            return Err(Stop::Cancelled);
        }
        let relative = path.strip_prefix(ctx.workspace).unwrap_or(path).to_string_lossy().into_owned();
        let text = match crate::workspace::read_text(path) {
            Ok(text) => text,
            Err(e) => {
                problems.push(format!("{relative}: {e}"));
                continue;
            }
        };
        if relative.ends_with(".json") {
            if let Err(e) = serde_json::from_str::<serde_json::Value>(&text) {
                problems.push(format!("{relative}:{}:{}: {e}", e.line(), e.column()));
            }
            report.json_files.push(relative);
        } else {
            for p in strict_yaml::check(&text) {
                problems.push(format!("{relative}:{}:{}: {}", p.line, p.col, p.message));
            }
            report.yaml_files.push(relative);
        }
    }
    for problem in &problems {
        ctx.log(None, problem.clone());
    }
    if !problems.is_empty() {
        let n = problems.len();
        return Err(Stop::Failed(format!(
            "{n} problem{} in deployment/: {}",
            if n == 1 { "" } else { "s" },
            problems.iter().take(10).cloned().collect::<Vec<_>>().join("; ")
        )));
    }
    if report.yaml_files.is_empty() {
        return Err(Stop::Failed("no YAML files under deployment/: run generate_deployment_files first".into()));
    }
    ctx.log(None, format!("{} YAML and {} JSON files parse strictly", report.yaml_files.len(), report.json_files.len()));
    match find_on_path("helm") {
        None => ctx.log(None, "warning: helm not installed: chart not linted".into()),
        Some(helm) => {
            for chart in charts(ctx.workspace)? {
                lint(ctx, &helm, &chart)?;
            }
            report.helm_linted = true;
        }
    }
    Ok(report)
}

/// The chart folders: `deployment/helm/*/Chart.yaml`.
fn charts(workspace: &Path) -> Result<Vec<PathBuf>, String> {
    let dir = workspace.join(layout::DEPLOYMENT).join("helm");
    let mut charts: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.join("Chart.yaml").is_file()).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(format!("cannot read {}: {e}", dir.display())),
    };
    charts.sort();
    Ok(charts)
}

/// `helm lint` with the chart's values, then with each `values-*.yaml` overlay.
fn lint(ctx: &StepContext<'_>, helm: &Path, chart: &Path) -> Result<(), Stop> {
    let mut overlays: Vec<Option<PathBuf>> = vec![None];
    let mut extra: Vec<PathBuf> = std::fs::read_dir(chart)
        .map(|r| r.filter_map(Result::ok).map(|e| e.path()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("values-") && n.to_string_lossy().ends_with(".yaml")))
        .collect();
    extra.sort();
    overlays.extend(extra.into_iter().map(Some));
    for overlay in overlays {
        if ctx.cancel.is_cancelled() {
            return Err(Stop::Cancelled);
        }
        let mut command = Command::new(helm);
        command.arg("lint").arg(chart).current_dir(ctx.workspace).stdin(Stdio::null());
        if let Some(values) = &overlay {
            command.arg("-f").arg(values);
        }
        let label = match &overlay {
            Some(v) => format!("helm lint {} -f {}", rel(ctx.workspace, chart), rel(ctx.workspace, v)),
            None => format!("helm lint {}", rel(ctx.workspace, chart)),
        };
        let output = command.output().map_err(|e| format!("cannot run {}: {e}", helm.display()))?;
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            ctx.log(None, line.to_string());
        }
        if !output.status.success() {
            let tail: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
            let tail = tail[tail.len().saturating_sub(20)..].join("\n");
            return Err(Stop::Failed(format!("{label} failed:\n{tail}")));
        }
        ctx.log(None, format!("{label}: passed"));
    }
    Ok(())
}

fn rel(base: &Path, path: &Path) -> String {
    path.strip_prefix(base).unwrap_or(path).display().to_string()
}

/// An executable file named `program` in a folder of `PATH`.
pub fn find_on_path(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| std::fs::metadata(candidate).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logos_resolve_from_a_relative_case_folder_and_may_not_climb_out() {
        // Tests run in the package folder: the demo case folder, relative.
        let case_dir = Path::new("../../fixtures/demo");
        let root = workspace_root(case_dir);
        let logo = read_logo(case_dir, &root, "registry_logo_small", Some("assets/logo-small.png")).unwrap().unwrap();
        assert_eq!(logo.ext, "png");
        assert_eq!(logo.bytes, std::fs::read("../../fixtures/demo/assets/logo-small.png").unwrap());
        let error = read_logo(case_dir, case_dir, "registry_logo_small", Some("../../Cargo.toml")).unwrap_err();
        assert!(error.contains("is outside the workspace"), "{error}");
        assert!(read_logo(case_dir, &root, "x", None).unwrap().is_none());
    }
}
