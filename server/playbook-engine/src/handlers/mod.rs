//! The built-in handlers of the registry playbook's Activities, by Activity name. The CLI and
//! the language server both build with [`registry`], so a build runs the same way from either.
//! Activities without a built-in handler run their `sh run` block, or fail with `no-handler`.
//!
//! - [`inputs`] — the answers as typed values and every name derived from them.
//! - [`outputs`] — what a step hands to later ones, in the job workspace.
//! - [`codegen`] — the code-generation provider interface and its providers.

pub mod codegen;
mod collect_build_inputs;
mod deployment;
pub mod inputs;
pub mod outputs;

use crate::build::Registry;

pub use collect_build_inputs::CollectBuildInputs;

/// Every built-in handler, registered under its Activity name.
pub fn registry() -> Registry {
    let mut registry = Registry::new();
    registry.register("collect_build_inputs", Box::new(CollectBuildInputs));
    registry.register("generate_deployment_files", Box::new(deployment::GenerateDeploymentFiles));
    registry.register("compile_deployment", Box::new(deployment::CompileDeployment));
    registry.register("generate_test_suite", Box::new(deployment::GenerateTestSuite));
    registry
}
