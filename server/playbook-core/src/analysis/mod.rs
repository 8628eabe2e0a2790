//! Analysis: pure functions from models to findings.

mod case_check;
mod playbook_lint;
pub mod required;

pub use case_check::{CaseContext, check_case, check_case_or_missing, playbook_not_found, record_answer, structural};
pub use playbook_lint::{lint_playbook, runnable};

/// Why a file named by `playbook:` is refused when it has no phases.
pub const NOT_A_PLAYBOOK: &str = "it has no `## Phase <n>: <Name>` headings, so it is not a playbook";

/// Activities of the registry build that have built-in handlers (the engine provides one for
/// each); other Activities need a `sh run` block to be runnable.
pub const BUILTIN_HANDLERS: [&str; 16] = [
    "collect_build_inputs",
    "prepare_gitlab_workspace",
    "clone_reference_registry",
    "generate_extension_files",
    "review_extension_code",
    "compile_extension",
    "generate_deployment_files",
    "compile_deployment",
    "build_images_locally",
    "generate_test_suite",
    "deploy_local_sandbox",
    "run_smoke_tests",
    "push_extension_repo",
    "push_deployment_repo",
    "push_images_to_registry",
    "produce_build_report",
];
