//! The built-in handlers of the registry playbook's Activities, by Activity name. The CLI and
//! the language server both build with [`registry`], so a build runs the same way from either.
//! Activities without a built-in handler run their `sh run` block, or fail with `no-handler`.
//! Each handler's settings and behaviour are documented in `docs/handlers/`.
//!
//! - [`inputs`] — the answers as typed values and every name derived from them.
//! - [`outputs`] — what a step hands to later ones, in the job workspace.
//! - [`codegen`] — the code-generation provider interface and its providers (template, chat).
//! - `collect_build_inputs` — the core's check of the saved case.
//! - [`git`] — clone the reference registry; commit and push the two repositories.
//! - `extension` — generate, review and byte-compile the extension package.
//! - `deployment` — Dockerfiles, Helm chart, compose file, strict YAML checks, the test suite.
//! - `containers` / `sandbox` — images through bollard; the compose sandbox and smoke tests.
//! - [`gitlab`] — the GitLab subgroup, projects and membership.
//! - `produce_build_report` — the hand-off to the report machinery.

pub mod codegen;
mod collect_build_inputs;
mod containers;
mod deployment;
mod extension;
pub mod git;
pub mod gitlab;
pub mod inputs;
pub mod outputs;
mod produce_build_report;
mod sandbox;

use crate::build::Registry;

pub use collect_build_inputs::CollectBuildInputs;
pub use produce_build_report::ProduceBuildReport;

/// Every built-in handler, registered under its Activity name (in playbook order).
pub fn registry() -> Registry {
    let mut registry = Registry::new();
    registry.register("collect_build_inputs", Box::new(CollectBuildInputs));
    registry.register(git::CloneReferenceRegistry::ACTIVITY, Box::new(git::CloneReferenceRegistry::new()));
    registry.register("generate_extension_files", Box::new(extension::GenerateExtensionFiles));
    registry.register("review_extension_code", Box::new(extension::ReviewExtensionCode));
    registry.register("compile_extension", Box::new(extension::CompileExtension));
    registry.register("generate_deployment_files", Box::new(deployment::GenerateDeploymentFiles));
    registry.register("compile_deployment", Box::new(deployment::CompileDeployment));
    registry.register("build_images_locally", Box::new(containers::BuildImagesLocally));
    registry.register("generate_test_suite", Box::new(deployment::GenerateTestSuite));
    registry.register("deploy_local_sandbox", Box::new(sandbox::DeployLocalSandbox));
    registry.register("run_smoke_tests", Box::new(sandbox::RunSmokeTests));
    registry.register(gitlab::ACTIVITY, Box::new(gitlab::PrepareGitlabWorkspace::from_env()));
    registry.register(git::PushTarget::Extension.activity(), Box::new(git::PushRepo::new(git::PushTarget::Extension)));
    registry.register(git::PushTarget::Deployment.activity(), Box::new(git::PushRepo::new(git::PushTarget::Deployment)));
    registry.register("push_images_to_registry", Box::new(containers::PushImagesToRegistry));
    registry.register("produce_build_report", Box::new(ProduceBuildReport));
    registry
}
