//! Arbitrary bytes as a working case, checked against the project's registry playbook in its
//! first phase and in Phase 2, and exported as a schema (whose patterns must compile).

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use playbook_core::analysis::{BUILTIN_HANDLERS, CaseContext, check_case, lint_playbook};
use playbook_core::case::Case;
use playbook_core::playbook::{self, Playbook};
use playbook_core::schema::{case_json, case_schema};
use playbook_core::types::NoFileProbe;

#[path = "common.rs"]
mod common;

const REGISTRY: &str = include_str!("../../playbooks/registry.md");

static PLAYBOOK: LazyLock<Playbook> = LazyLock::new(|| {
    let p = playbook::parse(REGISTRY);
    assert!(lint_playbook(&p, &BUILTIN_HANDLERS).is_empty(), "the registry playbook lints clean");
    p
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let case = Case::parse(text);
    for entry in &case.answers {
        common::assert_span(text, &entry.key_span, "answer key");
        common::assert_span(text, &entry.value.span, "answer value");
    }
    if let Some(e) = &case.syntax_error {
        assert!(e.offset <= text.len(), "syntax error offset");
    }
    for phase in [None, Some(2)] {
        let ctx = CaseContext { current_phase: phase, files: &NoFileProbe };
        let findings = check_case(&case, text, &PLAYBOOK, &ctx);
        common::assert_findings(&findings, text, REGISTRY);
    }
    // Phase 2's schema holds every requirement of Phase 1 and more.
    common::assert_patterns_compile(&case_schema(&PLAYBOOK, &case, Some(2)));
    assert!(serde_json::to_string(&case_json(&case)).is_ok());
});
