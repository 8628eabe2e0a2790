//! Arbitrary bytes as a playbook: parse, lint, export the schema of an empty case.
//! Invalid UTF-8 is read lossily (the shells refuse it, but the parser should not care).

#![no_main]

use libfuzzer_sys::fuzz_target;
use playbook_core::analysis::{BUILTIN_HANDLERS, lint_playbook};
use playbook_core::case::Case;
use playbook_core::playbook::{self, RequiredRule};
use playbook_core::schema::case_schema;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let p = playbook::parse(&text);
    for item in &p.items {
        common::assert_span(&text, &item.id_span, "item id");
        assert_eq!(&text[item.id_span.clone()], item.id, "an item's id span spells its id");
        common::assert_span(&text, &item.span, "item");
        assert!(item.phase < p.phases.len(), "item in a phase");
        for f in &item.fields {
            common::assert_span(&text, &f.span, "field");
            common::assert_span(&text, &f.value.span, "field value");
        }
        if let Some(RequiredRule::Conditional { text: source, condition }) = item.required.as_ref().map(|r| &r.rule) {
            common::assert_span(&text, &source.span, "condition");
            if let Err(e) = condition {
                assert!(source.text.get(e.span.clone()).is_some(), "condition error span");
            }
        }
    }
    for a in &p.activities {
        common::assert_span(&text, &a.heading, "activity heading");
        common::assert_span(&text, &a.name.span, "activity name");
    }
    let findings = lint_playbook(&p, &BUILTIN_HANDLERS);
    common::assert_findings(&findings, "", &text);
    if !p.phases.is_empty() {
        let empty = Case::parse("playbook: p.md\nanswers:\n");
        let schema = case_schema(&p, &empty, Some(u32::MAX));
        common::assert_patterns_compile(&schema);
        assert!(serde_json::to_string(&schema).is_ok());
    }
});
