//! `review_extension_code`: the provider's review and, always, the deterministic contract
//! checks; critical findings fail the step, warnings are logged.

use super::load_text_files;
use crate::build::{Handler, StepContext, StepOutcome};
use crate::handlers::codegen::template::contract_checks;
use crate::handlers::codegen::{FindingSeverity, ReviewFinding, ReviewRequest, Usage, provider_from_env};
use crate::handlers::codegen::{log_with_tokens, usage_message};
use crate::handlers::inputs::{RegistryInputs, layout};
use crate::handlers::outputs::write_output;
use serde::Serialize;

pub struct ReviewExtensionCode;

const ACTIVITY: &str = "review_extension_code";

#[derive(Serialize)]
struct Output<'a> {
    provider: String,
    files: usize,
    findings: &'a [ReviewFinding],
    usage: Usage,
}

fn describe(f: &ReviewFinding) -> String {
    format!("{} ({}): {}", f.file, f.answer, f.message)
}

impl Handler for ReviewExtensionCode {
    fn settings(&self) -> &'static [&'static str] {
        crate::handlers::codegen::PROVIDER_SETTINGS
    }

    fn run(&self, ctx: &StepContext<'_>) -> StepOutcome {
        match review(ctx) {
            Ok(outcome) => outcome,
            Err(message) => StepOutcome::Failed(message),
        }
    }
}

fn review(ctx: &StepContext<'_>) -> Result<StepOutcome, String> {
    let inputs = RegistryInputs::from_case(ctx.case).map_err(|e| format!("cannot read the answers: {e}"))?;
    let dir = ctx.workspace.join(layout::EXTENSION);
    if !dir.is_dir() {
        return Err(format!("{} does not exist: run generate_extension_files first", dir.display()));
    }
    let (files, skipped) = load_text_files(&dir)?;
    if skipped > 0 {
        ctx.log(None, format!("{skipped} files under extension/ are not UTF-8 text and are not reviewed"));
    }
    let provider = provider_from_env()?;
    if ctx.cancel.is_cancelled() {
        return Ok(StepOutcome::Cancelled);
    }
    let request = ReviewRequest { inputs: &inputs, files: &files };
    let log = |message: String| ctx.log(None, message);
    let generation = provider.review(&request, &log).map_err(|e| format!("the {} review failed: {e}", provider.describe()))?;
    let usage = generation.usage;

    // The provider's findings, then the contract checks; each finding once.
    let mut findings: Vec<ReviewFinding> = Vec::new();
    for finding in generation.value.into_iter().chain(contract_checks(&inputs, &files)) {
        if !findings.contains(&finding) {
            findings.push(finding);
        }
    }
    let criticals: Vec<&ReviewFinding> = findings.iter().filter(|f| f.severity == FindingSeverity::Critical).collect();
    let warnings = findings.len() - criticals.len();
    for finding in &findings {
        let level = if finding.severity == FindingSeverity::Critical { "critical" } else { "warning" };
        ctx.log(None, format!("{level}: {}", describe(finding)));
    }
    log_with_tokens(
        ctx,
        format!(
            "reviewed {} files with the {} provider and the contract checks: {} critical, {warnings} warnings ({})",
            files.len(),
            provider.describe(),
            criticals.len(),
            usage_message(&usage)
        ),
        &usage,
    );
    write_output(ctx.workspace, ACTIVITY, &Output { provider: provider.describe(), files: files.len(), findings: &findings, usage })?;
    if criticals.is_empty() {
        return Ok(StepOutcome::Succeeded);
    }
    let list: Vec<String> = criticals.iter().map(|f| describe(f)).collect();
    Ok(StepOutcome::Failed(format!(
        "{} critical finding{}: {}",
        criticals.len(),
        if criticals.len() == 1 { "" } else { "s" },
        list.join("; ")
    )))
}
