//! Code generation behind one interface. `generate_extension_files` asks a provider for the
//! model, schema and service files of each Register (one call per Register; the shared files —
//! package, identifier generator, constraints, seed SQL — are made deterministically by the
//! handler), and `review_extension_code` asks the same provider for findings.
//!
//! Providers: the deterministic template provider (the default, no network) and an
//! OpenAI-compatible chat-completions provider, chosen by [`provider_from_env`].

pub mod chat;
pub mod fallback;
pub mod template;

use super::inputs::{Register, RegistryInputs};
use crate::build::StepContext;
use crate::build::events::{Draft, EventKind};
use serde::{Deserialize, Serialize};

/// One file a provider wrote, its path relative to `extension/` (never absolute, never `..`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneratedFile {
    pub path: String,
    pub contents: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingSeverity {
    /// Stops the build.
    Critical,
    /// Logged; the build goes on.
    Warning,
}

/// A review finding: the file, the answer it contradicts, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewFinding {
    pub severity: FindingSeverity,
    /// Relative to `extension/`.
    pub file: String,
    /// The Discovery item id it contradicts (`register_columns`).
    pub answer: String,
    pub message: String,
}

/// Tokens and cost of provider calls (zero for the template provider).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// US dollars, from the configured prices.
    pub cost_usd: f64,
}

impl Usage {
    pub fn total_tokens(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }

    pub fn add(&mut self, other: Usage) {
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.cost_usd += other.cost_usd;
    }
}

/// A provider's answer and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation<T> {
    pub value: T,
    pub usage: Usage,
}

/// What a provider gets to write one Register's files.
pub struct RegisterRequest<'a> {
    pub inputs: &'a RegistryInputs,
    pub register: &'a Register,
    /// The reference registry's example files for one Register, paths relative to its
    /// extension, to follow its layout and style.
    pub reference: &'a [GeneratedFile],
}

/// What a provider gets to review the generated extension.
pub struct ReviewRequest<'a> {
    pub inputs: &'a RegistryInputs,
    /// Every generated file of `extension/`.
    pub files: &'a [GeneratedFile],
}

/// Log lines a provider emits while it works (retries, streaming progress, fallbacks).
pub type ProviderLog<'a> = &'a (dyn Fn(String) + Sync);

pub trait CodeProvider: Send + Sync {
    /// For logs: `template`, `openai:<model> at <host>`.
    fn describe(&self) -> String;
    /// The model, schema and service files of one Register.
    fn generate_register(&self, request: &RegisterRequest<'_>, log: ProviderLog<'_>) -> Result<Generation<Vec<GeneratedFile>>, String>;
    /// Findings about the generated files.
    fn review(&self, request: &ReviewRequest<'_>, log: ProviderLog<'_>) -> Result<Generation<Vec<ReviewFinding>>, String>;
}

/// The settings that choose a provider and its models (part of the generate and review steps'
/// content hash; keys and prices are not: keys are secret, prices change only the cost).
pub const PROVIDER_SETTINGS: &[&str] =
    &["CODEGEN_PROVIDER", "CODEGEN_BASE_URL", "CODEGEN_MODEL", "CODEGEN_FALLBACK", "CODEGEN_FALLBACK_BASE_URL", "CODEGEN_FALLBACK_MODEL"];

/// The provider the environment configures: `CODEGEN_PROVIDER` = `template` (default) or
/// `openai` (see docs/handlers/chat-provider.md for its settings).
pub fn provider_from_env() -> Result<Box<dyn CodeProvider>, String> {
    match std::env::var("CODEGEN_PROVIDER").unwrap_or_default().trim() {
        "" | "template" => Ok(Box::new(template::TemplateProvider)),
        "openai" => openai_from_lookup(&|name| std::env::var(name).ok()),
        other => Err(format!("CODEGEN_PROVIDER={other}: unknown provider (expected `template` or `openai`)")),
    }
}

/// `CODEGEN_PROVIDER=openai`: the chat provider from `CODEGEN_*`, wrapped with the provider
/// `CODEGEN_FALLBACK` names (`template`, `openai` from `CODEGEN_FALLBACK_*`, or none).
pub fn openai_from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Box<dyn CodeProvider>, String> {
    let primary: Box<dyn CodeProvider> = Box::new(chat::ChatProvider::new(chat::ChatConfig::from_lookup("CODEGEN", lookup)?)?);
    let fallback: Box<dyn CodeProvider> = match lookup("CODEGEN_FALLBACK").unwrap_or_default().trim() {
        "" | "none" => return Ok(primary),
        "openai" => Box::new(chat::ChatProvider::new(chat::ChatConfig::from_lookup("CODEGEN_FALLBACK", lookup)?)?),
        "template" => template_fallback()?,
        other => return Err(format!("CODEGEN_FALLBACK={other}: unknown provider (expected `template`, `openai` or `none`)")),
    };
    Ok(Box::new(fallback::WithFallback { primary, fallback }))
}

/// The template provider as the chat provider's fallback (`CODEGEN_FALLBACK=template`).
fn template_fallback() -> Result<Box<dyn CodeProvider>, String> {
    Ok(Box::new(template::TemplateProvider))
}

/// How handlers report a provider's usage: `1800 tokens (1500 prompt + 300 completion), $0.0070`.
pub fn usage_message(usage: &Usage) -> String {
    format!(
        "{} tokens ({} prompt + {} completion), ${:.4}",
        usage.total_tokens(),
        usage.prompt_tokens,
        usage.completion_tokens,
        usage.cost_usd
    )
}

/// The `log` event recording what a step's provider calls used: the message names the provider,
/// the tokens and the cost; `tokens` carries the total.
pub fn usage_draft(activity: &str, index: u32, provider: &str, usage: &Usage) -> Draft {
    Draft {
        activity: Some(activity.to_string()),
        index: Some(index),
        message: Some(format!("code generation with {provider}: {}", usage_message(usage))),
        tokens: Some(usage.total_tokens()),
        ..Draft::default()
    }
}

/// Emit [`usage_draft`] for the running step.
pub fn record_usage(ctx: &StepContext<'_>, provider: &str, usage: &Usage) {
    ctx.events.emit(EventKind::Log, usage_draft(&ctx.activity.name.text, ctx.index, provider, usage));
}

/// A `log` event of the running step with its own message, whose `tokens` carries the total.
pub fn log_with_tokens(ctx: &StepContext<'_>, message: String, usage: &Usage) {
    let draft = Draft { message: Some(message), ..usage_draft(&ctx.activity.name.text, ctx.index, "", usage) };
    ctx.events.emit(EventKind::Log, draft);
}

/// A provider's file path, checked: relative, no `..`, no absolute or Windows prefix, so a
/// provider can never write outside `extension/`.
pub fn safe_relative_path(path: &str) -> Result<std::path::PathBuf, String> {
    use std::path::{Component, Path};
    let p = Path::new(path);
    if path.is_empty() || path.contains('\\') || path.contains('\0') {
        return Err(format!("unsafe file path `{path}`"));
    }
    let mut clean = std::path::PathBuf::new();
    for component in p.components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            _ => return Err(format!("unsafe file path `{path}`: it must stay inside extension/")),
        }
    }
    if clean.as_os_str().is_empty() {
        return Err(format!("unsafe file path `{path}`"));
    }
    Ok(clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_paths_stay_inside() {
        assert_eq!(safe_relative_path("src/pkg/models/household.py").unwrap(), std::path::Path::new("src/pkg/models/household.py"));
        for bad in ["../x.py", "/etc/passwd", "a/../../b", "", "a\\b", "./"] {
            assert!(safe_relative_path(bad).is_err(), "{bad}");
        }
    }
}
