//! `build_images_locally` and `push_images_to_registry`: the service images of
//! [`layout::IMAGES`] built and pushed through the Docker API (bollard) of the engine at
//! `DOCKER_HOST` — Docker, or podman's `podman system service`.
//!
//! bollard is async: each handler runs it on a current-thread tokio runtime of its own, and
//! checks the cancellation token between stream chunks (and every quarter second while an
//! engine is silent).

use super::inputs::{ImageSpec, layout};
use super::outputs::write_output;
use crate::build::{StepContext, StepOutcome};
use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::query_parameters::{BuildImageOptionsBuilder, PushImageOptionsBuilder};
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The engine address when `DOCKER_HOST` is unset.
pub(crate) const DEFAULT_DOCKER_HOST: &str = "unix:///var/run/docker.sock";
/// How many lines of a failed build's output the failure message shows.
const TAIL_LINES: usize = 20;
/// The name a Dockerfile from outside its context gets inside the context tar.
const OUTSIDE_DOCKERFILE: &str = ".playbook.Dockerfile";
/// Per-request timeout for long engine calls (builds, pushes), in seconds.
const LONG_REQUEST_SECS: u64 = 3600;

/// A setting: from the step's environment when it has it (a caller embedding the engine may
/// set one per build), else from the process environment; blank counts as unset.
pub(crate) fn setting(ctx: &StepContext<'_>, name: &str) -> Option<String> {
    ctx.env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).or_else(|| std::env::var(name).ok()).filter(|v| !v.trim().is_empty())
}

/// The engine address: `DOCKER_HOST` (a `unix://`, `tcp://` or `http://` URL, or a bare socket
/// path), else [`DEFAULT_DOCKER_HOST`].
pub(crate) fn engine_host(ctx: &StepContext<'_>) -> String {
    match setting(ctx, "DOCKER_HOST") {
        Some(host) => {
            let host = host.trim();
            if host.starts_with('/') { format!("unix://{host}") } else { host.to_string() }
        }
        _ => DEFAULT_DOCKER_HOST.to_string(),
    }
}

/// The failure message when no engine answers at `host`: what to start.
pub(crate) fn no_engine_message(host: &str, detail: &str) -> String {
    format!(
        "no container engine at {host} ({detail}): start Docker, or `podman system service --time=0 unix:///run/podman/podman.sock` \
         and set DOCKER_HOST=unix:///run/podman/podman.sock (scripts/container-engine-setup does both for tests)"
    )
}

/// A current-thread runtime for one handler run.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| format!("cannot start an async runtime: {e}"))
}

/// Connect to the engine at [`engine_host`], ping it and agree on an API version. Must run
/// inside the runtime.
pub(crate) async fn connect(ctx: &StepContext<'_>) -> Result<Docker, String> {
    let host = engine_host(ctx);
    let docker = if let Some(path) = host.strip_prefix("unix://") {
        if !Path::new(path).exists() {
            return Err(no_engine_message(&host, "the socket does not exist"));
        }
        Docker::connect_with_unix(&host, LONG_REQUEST_SECS, bollard::API_DEFAULT_VERSION)
    } else if host.starts_with("tcp://") || host.starts_with("http://") {
        Docker::connect_with_http(&host, LONG_REQUEST_SECS, bollard::API_DEFAULT_VERSION)
    } else {
        return Err(format!("DOCKER_HOST={host} is not supported: use unix:///path/to.sock, tcp://host:port or a socket path"));
    }
    .map_err(|e| no_engine_message(&host, &e.to_string()))?;
    match tokio::time::timeout(Duration::from_secs(10), docker.ping()).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Err(no_engine_message(&host, &format!("ping failed: {e}"))),
        Err(_) => return Err(no_engine_message(&host, "no answer to a ping within 10 s")),
    }
    // Podman and older Dockers speak an older API than bollard's default: use theirs.
    docker.negotiate_version().await.map_err(|e| no_engine_message(&host, &format!("version negotiation failed: {e}")))
}

/// What a stream step produced: the next item, the end, or a cancellation.
pub(crate) enum Next<T> {
    Item(T),
    End,
    Cancelled,
}

/// The next item of `stream`, checking `ctx.cancel` every quarter second while waiting.
pub(crate) async fn next_or_cancel<S: Stream + Unpin>(stream: &mut S, ctx: &StepContext<'_>) -> Next<S::Item> {
    loop {
        if ctx.cancel.is_cancelled() {
            return Next::Cancelled;
        }
        match tokio::time::timeout(Duration::from_millis(250), stream.next()).await {
            Ok(Some(item)) => return Next::Item(item),
            Ok(None) => return Next::End,
            Err(_) => continue,
        }
    }
}

/// Read [`layout::IMAGES`].
pub(crate) fn read_image_specs(workspace: &Path) -> Result<Vec<ImageSpec>, String> {
    let path = workspace.join(layout::IMAGES);
    let bytes = std::fs::read(&path)
        .map_err(|e| format!("cannot read {}: {e} (generate_deployment_files writes it; run that Activity first)", layout::IMAGES))?;
    let specs: Vec<ImageSpec> = serde_json::from_slice(&bytes).map_err(|e| format!("{} is not a list of images: {e}", layout::IMAGES))?;
    if specs.is_empty() {
        return Err(format!("{} lists no images", layout::IMAGES));
    }
    Ok(specs)
}

/// A workspace-relative path from the image list, checked to stay inside the workspace.
fn inside(workspace: &Path, what: &str, path: &str) -> Result<PathBuf, String> {
    super::codegen::safe_relative_path(path)
        .map(|p| workspace.join(p))
        .map_err(|_| format!("{}: the {what} `{path}` must be a relative path inside the job workspace", layout::IMAGES))
}

/// The build context as a tar, with the Dockerfile added as [`OUTSIDE_DOCKERFILE`] when it
/// lies outside the context. Returns the tar and the Dockerfile's name inside it.
pub(crate) fn context_tar(context: &Path, dockerfile: &Path) -> Result<(Vec<u8>, String), String> {
    if !context.is_dir() {
        return Err(format!("the build context {} is not a directory", context.display()));
    }
    if !dockerfile.is_file() {
        return Err(format!("the Dockerfile {} does not exist", dockerfile.display()));
    }
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    builder.append_dir_all(".", context).map_err(|e| format!("cannot pack the build context {}: {e}", context.display()))?;
    let name = match dockerfile.strip_prefix(context) {
        Ok(relative) => relative.to_string_lossy().into_owned(),
        Err(_) => {
            let text = std::fs::read(dockerfile).map_err(|e| format!("cannot read {}: {e}", dockerfile.display()))?;
            let mut header = tar::Header::new_gnu();
            header.set_size(text.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(0);
            header.set_cksum();
            builder
                .append_data(&mut header, OUTSIDE_DOCKERFILE, text.as_slice())
                .map_err(|e| format!("cannot add the Dockerfile to the context: {e}"))?;
            OUTSIDE_DOCKERFILE.to_string()
        }
    };
    let tar = builder.into_inner().map_err(|e| format!("cannot finish the context tar: {e}"))?;
    Ok((tar, name))
}

/// One built image, as `build_images_locally` records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuiltImage {
    pub service: String,
    pub image: String,
    /// The engine's image id (`sha256:…`).
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuiltImages {
    pub images: Vec<BuiltImage>,
}

/// One pushed image, as `push_images_to_registry` records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushedImage {
    pub image: String,
    /// The manifest digest the registry stored (`sha256:…`), when the engine reported it.
    pub digest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushedImages {
    pub pushed: Vec<PushedImage>,
}

/// Keeps the last lines of a stream of text chunks (which may split lines anywhere).
#[derive(Default)]
struct LineTail {
    partial: String,
    lines: VecDeque<String>,
}

impl LineTail {
    /// Add a chunk; returns the complete lines it finished.
    fn push(&mut self, chunk: &str) -> Vec<String> {
        self.partial.push_str(chunk);
        let mut done = Vec::new();
        while let Some(at) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=at).collect();
            let line = line.trim_end_matches(['\n', '\r']).to_string();
            self.remember(line.clone());
            done.push(line);
        }
        done
    }

    fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.partial);
        let rest = rest.trim_end().to_string();
        (!rest.is_empty()).then(|| {
            self.remember(rest.clone());
            rest
        })
    }

    fn remember(&mut self, line: String) {
        if self.lines.len() == TAIL_LINES {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }

    fn text(&self) -> String {
        self.lines.iter().map(String::as_str).collect::<Vec<_>>().join("\n")
    }
}

pub struct BuildImagesLocally;

impl crate::build::Handler for BuildImagesLocally {
    fn settings(&self) -> &'static [&'static str] {
        &["DOCKER_HOST", "BUILD_BASE_IMAGE"]
    }

    fn run(&self, ctx: &StepContext<'_>) -> StepOutcome {
        let specs = match read_image_specs(ctx.workspace) {
            Ok(specs) => specs,
            Err(e) => return StepOutcome::Failed(e),
        };
        let rt = match runtime() {
            Ok(rt) => rt,
            Err(e) => return StepOutcome::Failed(e),
        };
        rt.block_on(build_all(ctx, &specs))
    }
}

async fn build_all(ctx: &StepContext<'_>, specs: &[ImageSpec]) -> StepOutcome {
    let docker = match connect(ctx).await {
        Ok(docker) => docker,
        Err(e) => return StepOutcome::Failed(e),
    };
    let base_image = setting(ctx, "BUILD_BASE_IMAGE");
    let mut built = Vec::new();
    for spec in specs {
        if ctx.cancel.is_cancelled() {
            return StepOutcome::Cancelled;
        }
        match build_one(ctx, &docker, spec, base_image.as_deref()).await {
            Ok(Some(image)) => built.push(image),
            Ok(None) => return StepOutcome::Cancelled,
            Err(e) => return StepOutcome::Failed(e),
        }
    }
    match write_output(ctx.workspace, "build_images_locally", &BuiltImages { images: built }) {
        Ok(()) => StepOutcome::Succeeded,
        Err(e) => StepOutcome::Failed(e),
    }
}

/// Build one image; `Ok(None)` when cancelled.
async fn build_one(
    ctx: &StepContext<'_>,
    docker: &Docker,
    spec: &ImageSpec,
    base_image: Option<&str>,
) -> Result<Option<BuiltImage>, String> {
    let context = inside(ctx.workspace, "context", &spec.context)?;
    let dockerfile = inside(ctx.workspace, "Dockerfile", &spec.dockerfile)?;
    let (tar, dockerfile_name) = context_tar(&context, &dockerfile).map_err(|e| format!("{}: {e}", spec.service))?;
    ctx.log(
        None,
        format!(
            "building {} ({}, context {}, {} KiB{})",
            spec.image,
            spec.dockerfile,
            spec.context,
            tar.len().div_ceil(1024),
            base_image.map(|b| format!(", BASE_IMAGE={b}")).unwrap_or_default()
        ),
    );
    let mut build_args = HashMap::new();
    if let Some(base) = base_image {
        build_args.insert("BASE_IMAGE".to_string(), base.to_string());
    }
    let options = BuildImageOptionsBuilder::default().dockerfile(&dockerfile_name).t(&spec.image).rm(true).buildargs(&build_args).build();
    let mut stream = docker.build_image(options, None, Some(bollard::body_full(tar.into())));
    let mut tail = LineTail::default();
    loop {
        match next_or_cancel(&mut stream, ctx).await {
            Next::Cancelled => return Ok(None),
            Next::End => break,
            Next::Item(Ok(info)) => {
                for text in [info.stream.as_deref(), info.status.as_deref()].into_iter().flatten() {
                    for line in tail.push(text) {
                        if !line.trim().is_empty() {
                            ctx.log(None, line);
                        }
                    }
                }
            }
            Next::Item(Err(e)) => {
                if let Some(rest) = tail.finish() {
                    ctx.log(None, rest);
                }
                let error = match e {
                    bollard::errors::Error::DockerStreamError { error } => error,
                    other => other.to_string(),
                };
                return Err(format!(
                    "building {} ({}) failed: {}\nlast lines of the build:\n{}",
                    spec.service,
                    spec.image,
                    error.trim(),
                    tail.text()
                ));
            }
        }
    }
    if let Some(rest) = tail.finish() {
        ctx.log(None, rest);
    }
    let inspect = docker.inspect_image(&spec.image).await.map_err(|e| {
        format!(
            "the build of {} ended but the engine has no image {}: {e}\nlast lines of the build:\n{}",
            spec.service,
            spec.image,
            tail.text()
        )
    })?;
    let id = inspect.id.unwrap_or_default();
    ctx.log(None, format!("built {} = {id}", spec.image));
    Ok(Some(BuiltImage { service: spec.service.clone(), image: spec.image.clone(), id }))
}

/// The registry host of an image reference (`registry.example:5000/group/name:tag` →
/// `registry.example:5000`); `docker.io` when the first part is no host.
pub(crate) fn registry_host(image: &str) -> String {
    match image.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => first.to_string(),
        _ => "docker.io".to_string(),
    }
}

/// `name:tag` split at the tag's colon (not a registry port's); no tag → `latest`.
pub(crate) fn split_tag(image: &str) -> (&str, &str) {
    let image = image.split('@').next().unwrap_or(image);
    let last_slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[last_slash..].rfind(':') {
        Some(at) => (&image[..last_slash + at], &image[last_slash + at + 1..]),
        None => (image, "latest"),
    }
}

pub struct PushImagesToRegistry;

impl crate::build::Handler for PushImagesToRegistry {
    fn settings(&self) -> &'static [&'static str] {
        &["DOCKER_HOST", "CONTAINER_REGISTRY_USER"]
    }

    fn run(&self, ctx: &StepContext<'_>) -> StepOutcome {
        let specs = match read_image_specs(ctx.workspace) {
            Ok(specs) => specs,
            Err(e) => return StepOutcome::Failed(e),
        };
        let rt = match runtime() {
            Ok(rt) => rt,
            Err(e) => return StepOutcome::Failed(e),
        };
        rt.block_on(push_all(ctx, &specs))
    }
}

fn credentials(ctx: &StepContext<'_>, server: &str) -> Option<DockerCredentials> {
    let user = setting(ctx, "CONTAINER_REGISTRY_USER")?;
    let password = setting(ctx, "CONTAINER_REGISTRY_PASSWORD").unwrap_or_default();
    Some(DockerCredentials {
        username: Some(user),
        password: Some(password),
        serveraddress: Some(server.to_string()),
        ..Default::default()
    })
}

async fn push_all(ctx: &StepContext<'_>, specs: &[ImageSpec]) -> StepOutcome {
    let docker = match connect(ctx).await {
        Ok(docker) => docker,
        Err(e) => return StepOutcome::Failed(e),
    };
    let mut pushed = Vec::new();
    for spec in specs {
        if ctx.cancel.is_cancelled() {
            return StepOutcome::Cancelled;
        }
        match push_one(ctx, &docker, &spec.image).await {
            Ok(Some(image)) => pushed.push(image),
            Ok(None) => return StepOutcome::Cancelled,
            Err(e) => return StepOutcome::Failed(e),
        }
    }
    match write_output(ctx.workspace, "push_images_to_registry", &PushedImages { pushed }) {
        Ok(()) => StepOutcome::Succeeded,
        Err(e) => StepOutcome::Failed(e),
    }
}

async fn push_one(ctx: &StepContext<'_>, docker: &Docker, image: &str) -> Result<Option<PushedImage>, String> {
    if let Err(e) = docker.inspect_image(image).await {
        return Err(format!("cannot push {image}: the engine has no such image ({e}); build_images_locally builds it"));
    }
    let server = registry_host(image);
    let creds = credentials(ctx, &server);
    ctx.log(
        None,
        format!("pushing {image} to {server}{}", if creds.is_some() { " (with CONTAINER_REGISTRY_USER's credentials)" } else { "" }),
    );
    let (name, tag) = split_tag(image);
    let options = PushImageOptionsBuilder::default().tag(tag).build();
    let mut stream = docker.push_image(name, Some(options), creds);
    let mut digest = None;
    let mut last_status = String::new();
    loop {
        match next_or_cancel(&mut stream, ctx).await {
            Next::Cancelled => return Ok(None),
            Next::End => break,
            Next::Item(Ok(info)) => {
                if let Some(status) = info.status {
                    let status = status.trim().to_string();
                    if let Some(found) = digest_in(&status) {
                        digest = Some(found);
                    }
                    // Progress updates repeat the same status; log each change once.
                    if !status.is_empty() && status != last_status {
                        ctx.log(None, status.clone());
                        last_status = status;
                    }
                }
            }
            Next::Item(Err(e)) => {
                let error = match e {
                    bollard::errors::Error::DockerStreamError { error } => error,
                    other => other.to_string(),
                };
                return Err(format!("pushing {image} to {server} failed: {}", error.trim()));
            }
        }
    }
    if digest.is_none() {
        // Podman reports no digest in the stream; the engine records it as a repo digest.
        if let Ok(inspect) = docker.inspect_image(image).await {
            digest = inspect
                .repo_digests
                .unwrap_or_default()
                .iter()
                .find_map(|d| d.strip_prefix(name).and_then(|rest| rest.strip_prefix('@')).map(str::to_string));
        }
    }
    ctx.log(None, format!("pushed {image}{}", digest.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()));
    Ok(Some(PushedImage { image: image.to_string(), digest }))
}

/// The `sha256:…` digest in a push status line (`develop: digest: sha256:… size: 1234`).
fn digest_in(status: &str) -> Option<String> {
    let at = status.find("sha256:")?;
    let digest: String = status[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == ':').collect();
    (digest.len() == "sha256:".len() + 64).then_some(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_registries_and_digests_are_read_from_references_and_status_lines() {
        assert_eq!(split_tag("127.0.0.1:5000/org/app-api:develop"), ("127.0.0.1:5000/org/app-api", "develop"));
        assert_eq!(split_tag("127.0.0.1:5000/org/app-api"), ("127.0.0.1:5000/org/app-api", "latest"));
        assert_eq!(registry_host("127.0.0.1:5000/org/app:develop"), "127.0.0.1:5000");
        assert_eq!(registry_host("registry.example/g/app:develop"), "registry.example");
        assert_eq!(registry_host("org/app:develop"), "docker.io");
        let d = format!("develop: digest: sha256:{} size: 528", "a".repeat(64));
        assert_eq!(digest_in(&d), Some(format!("sha256:{}", "a".repeat(64))));
        assert_eq!(digest_in("Pushing sha256:abc"), None);
    }

    #[test]
    fn a_dockerfile_outside_the_context_is_added_to_the_tar() {
        let dir = std::env::temp_dir().join(format!("playbook-ctx-tar-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("ctx/sub")).unwrap();
        std::fs::write(dir.join("ctx/sub/app.py"), "print(1)\n").unwrap();
        std::fs::write(dir.join("Dockerfile"), "FROM x\n").unwrap();
        let (tar, name) = context_tar(&dir.join("ctx"), &dir.join("Dockerfile")).unwrap();
        assert_eq!(name, OUTSIDE_DOCKERFILE);
        let mut archive = tar::Archive::new(tar.as_slice());
        let names: Vec<String> = archive.entries().unwrap().map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned()).collect();
        assert!(names.iter().any(|n| n.ends_with("sub/app.py")), "{names:?}");
        assert!(names.contains(&OUTSIDE_DOCKERFILE.to_string()), "{names:?}");
        std::fs::write(dir.join("ctx/Dockerfile"), "FROM x\n").unwrap();
        assert_eq!(context_tar(&dir.join("ctx"), &dir.join("ctx/Dockerfile")).unwrap().1, "Dockerfile");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_tail_keeps_the_last_lines_across_split_chunks() {
        let mut tail = LineTail::default();
        assert!(tail.push("Step 1/2 : FR").is_empty());
        assert_eq!(tail.push("OM x\nStep 2/2\n"), ["Step 1/2 : FROM x", "Step 2/2"]);
        for i in 0..30 {
            tail.push(&format!("line {i}\n"));
        }
        assert_eq!(tail.finish(), None);
        let text = tail.text();
        assert!(text.starts_with("line 10\n") && text.ends_with("line 29"), "{text}");
    }
}
