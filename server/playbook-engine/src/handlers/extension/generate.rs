//! `generate_extension_files`: adapt the reference extension into the team's own package.

use super::list_files;
use super::shared::shared_files;
use crate::build::{Handler, StepContext, StepOutcome};
use crate::fsutil::write_atomic;
use crate::handlers::codegen::template::check_register;
use crate::handlers::codegen::{GeneratedFile, RegisterRequest, Usage, provider_from_env, safe_relative_path};
use crate::handlers::codegen::{log_with_tokens, usage_message};
use crate::handlers::inputs::{RegistryInputs, layout};
use crate::handlers::outputs::write_output;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub struct GenerateExtensionFiles;

const ACTIVITY: &str = "generate_extension_files";

/// The reference extension: its package, its example Register's files, everything else.
struct Reference {
    package: String,
    /// The example Register's model, schema and service, paths relative to `reference/extension/`.
    example: Vec<GeneratedFile>,
    /// Other files to carry over (relative paths), except the per-Register folders.
    others: Vec<String>,
    root: PathBuf,
}

fn load_reference(workspace: &Path) -> Result<Reference, String> {
    let root = workspace.join(layout::REFERENCE).join("extension");
    if !root.is_dir() {
        return Err(format!(
            "{} does not exist: run clone_reference_registry first (the reference registry must have an extension/ folder)",
            root.display()
        ));
    }
    let mut packages = Vec::new();
    let entries = std::fs::read_dir(&root).map_err(|e| format!("cannot list {}: {e}", root.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.join("__init__.py").is_file() && path.join("models").is_dir() {
            packages.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    packages.sort();
    let package =
        packages.first().cloned().ok_or_else(|| format!("{} holds no Python package with a models/ folder to follow", root.display()))?;
    let models = root.join(&package).join("models");
    let mut modules: Vec<String> = std::fs::read_dir(&models)
        .map_err(|e| format!("cannot list {}: {e}", models.display()))?
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| n.ends_with(".py") && n != "__init__.py")
        .collect();
    modules.sort();
    let mut example = Vec::new();
    if let Some(module) = modules.first() {
        for kind in ["models", "schemas", "services"] {
            let relative = format!("{package}/{kind}/{module}");
            if let Ok(contents) = std::fs::read_to_string(root.join(&relative)) {
                example.push(GeneratedFile { path: relative, contents });
            }
        }
    }
    let per_register: Vec<String> = ["models", "schemas", "services"].iter().map(|k| format!("{package}/{k}/")).collect();
    let others = list_files(&root)?
        .into_iter()
        .filter(|p| !per_register.iter().any(|d| p.starts_with(d.as_str())) && !p.ends_with(".pyc"))
        .collect();
    Ok(Reference { package, example, others, root })
}

/// Empty `extension/`, keeping its `.git` (a push Activity may have made it a repository).
fn wipe(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for entry in std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?.flatten() {
        if entry.file_name() == ".git" {
            continue;
        }
        let path = entry.path();
        let removed =
            if entry.file_type().is_ok_and(|t| t.is_dir()) { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        removed.map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
    }
    Ok(())
}

fn write_file(root: &Path, relative: &Path, bytes: &[u8]) -> Result<(), String> {
    let path = root.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    write_atomic(&path, bytes)
}

#[derive(Serialize)]
struct RegisterOutput {
    name: String,
    module: String,
    files: Vec<String>,
    usage: Usage,
}

#[derive(Serialize)]
struct Output {
    provider: String,
    package: String,
    reference_package: String,
    files: Vec<String>,
    registers: Vec<RegisterOutput>,
    usage: Usage,
    total_tokens: u64,
}

impl Handler for GenerateExtensionFiles {
    fn settings(&self) -> &'static [&'static str] {
        crate::handlers::codegen::PROVIDER_SETTINGS
    }

    fn run(&self, ctx: &StepContext<'_>) -> StepOutcome {
        match generate(ctx) {
            Ok(outcome) => outcome,
            Err(message) => StepOutcome::Failed(message),
        }
    }
}

fn generate(ctx: &StepContext<'_>) -> Result<StepOutcome, String> {
    let inputs = RegistryInputs::from_case(ctx.case).map_err(|e| format!("cannot read the answers: {e}"))?;
    if inputs.registers.is_empty() {
        return Err("register_mnemonics names no Register: nothing to generate".to_string());
    }
    for register in &inputs.registers {
        check_register(register)?;
    }
    let shared = shared_files(&inputs)?;
    let provider = provider_from_env()?;
    let reference = load_reference(ctx.workspace)?;
    let package = inputs.package();
    ctx.log(
        None,
        format!(
            "generating `{package}` for {} Registers with the {} provider, following the reference package `{}`",
            inputs.registers.len(),
            provider.describe(),
            reference.package
        ),
    );

    // One provider call per Register; nothing is written until every call has succeeded.
    let mut total = Usage::default();
    let mut registers = Vec::new();
    let mut provider_files: BTreeMap<PathBuf, (String, String)> = BTreeMap::new();
    for register in &inputs.registers {
        if ctx.cancel.is_cancelled() {
            return Ok(StepOutcome::Cancelled);
        }
        let request = RegisterRequest { inputs: &inputs, register, reference: &reference.example };
        let log = |message: String| ctx.log(None, message);
        let generation = provider
            .generate_register(&request, &log)
            .map_err(|e| format!("{} could not generate `{}`: {e}", provider.describe(), register.name))?;
        let mut paths = Vec::new();
        for file in generation.value {
            let path = safe_relative_path(&file.path).map_err(|e| format!("{} wrote for `{}`: {e}", provider.describe(), register.name))?;
            paths.push(file.path.clone());
            provider_files.insert(path, (file.contents, register.name.clone()));
        }
        total.add(generation.usage);
        ctx.log(None, format!("`{}` ({}): {} — {}", register.name, register.module(), paths.join(", "), usage_message(&generation.usage)));
        registers.push(RegisterOutput { name: register.name.clone(), module: register.module(), files: paths, usage: generation.usage });
    }
    if ctx.cancel.is_cancelled() {
        return Ok(StepOutcome::Cancelled);
    }

    let out_dir = ctx.workspace.join(layout::EXTENSION);
    wipe(&out_dir)?;
    let mut written = std::collections::BTreeSet::new();
    // The reference's other files, with the package renamed.
    let prefix = format!("{}/", reference.package);
    for relative in &reference.others {
        let target = match relative.strip_prefix(&prefix) {
            Some(rest) => format!("{package}/{rest}"),
            None => relative.clone(),
        };
        let bytes = std::fs::read(reference.root.join(relative)).map_err(|e| format!("cannot read the reference file {relative}: {e}"))?;
        let bytes = match String::from_utf8(bytes) {
            Ok(text) => text.replace(&reference.package, &package).into_bytes(),
            Err(e) => e.into_bytes(),
        };
        write_file(&out_dir, Path::new(&target), &bytes)?;
        written.insert(target);
    }
    for (path, (contents, _)) in &provider_files {
        write_file(&out_dir, path, contents.as_bytes())?;
        written.insert(path.to_string_lossy().into_owned());
    }
    // The shared files come last: a provider never replaces them.
    for file in &shared {
        let path = safe_relative_path(&file.path)?;
        if let Some((_, register)) = provider_files.get(&path) {
            ctx.log(None, format!("{} (written for `{register}`) is a shared file: the generated one is kept", file.path));
        }
        write_file(&out_dir, &path, file.contents.as_bytes())?;
        written.insert(file.path.clone());
    }

    let files: Vec<String> = written.into_iter().collect();
    let mut message =
        format!("wrote {} files under extension/ with the {} provider: {}", files.len(), provider.describe(), usage_message(&total));
    if total.total_tokens() == 0 && total.cost_usd == 0.0 {
        message = format!("wrote {} files under extension/ with the {} provider (no tokens used)", files.len(), provider.describe());
    }
    log_with_tokens(ctx, message, &total);
    let output = Output {
        provider: provider.describe(),
        package,
        reference_package: reference.package,
        files,
        registers,
        usage: total,
        total_tokens: total.total_tokens(),
    };
    write_output(ctx.workspace, ACTIVITY, &output)?;
    Ok(StepOutcome::Succeeded)
}
