//! The built-in handlers of the registry playbook's Activities, by Activity name. The CLI and
//! the language server both build with [`registry`], so a build runs the same way from either.
//! Activities without a built-in handler run their `sh run` block, or fail with `no-handler`.

mod collect_build_inputs;

use crate::build::Registry;

pub use collect_build_inputs::CollectBuildInputs;

/// Every built-in handler, registered under its Activity name.
pub fn registry() -> Registry {
    let mut registry = Registry::new();
    registry.register("collect_build_inputs", Box::new(CollectBuildInputs));
    registry
}
