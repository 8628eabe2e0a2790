//! Invariants the fuzz targets assert, beyond "does not panic".

#![allow(dead_code)]

use playbook_core::finding::{DocRef, Finding, Fix};
use playbook_core::span::Span;
use serde_json::Value;
use std::cell::RefCell;
use std::collections::HashSet;

/// `span` is a range of `text` on char boundaries.
pub fn assert_span(text: &str, span: &Span, what: &str) {
    assert!(text.get(span.clone()).is_some(), "{what}: span {span:?} is not a range of the {} bytes of text", text.len());
}

/// Every span a finding carries (its own, related ones, replacement fixes) is in its document.
pub fn assert_findings(findings: &[Finding], case: &str, playbook: &str) {
    let text = |doc: DocRef| if doc == DocRef::Case { case } else { playbook };
    for f in findings {
        assert!(!f.message.is_empty(), "empty message: {f:?}");
        assert_span(text(f.doc), &f.span, f.rule.id());
        for r in &f.related {
            assert_span(text(r.doc), &r.span, "related");
        }
        for fix in &f.fixes {
            if let Fix::Replace { span, .. } = fix {
                assert_span(text(f.doc), span, "fix");
            }
        }
    }
}

thread_local! {
    /// Patterns already compiled: most repeat from input to input, and compiling is slow.
    static COMPILED: RefCell<HashSet<String>> = RefCell::new(HashSet::new());
}

/// Every `pattern` in an exported JSON Schema compiles (as Rust's regex: the subset that
/// ECMAScript validators share).
pub fn assert_patterns_compile(schema: &Value) {
    match schema {
        Value::Object(map) => {
            for (key, value) in map {
                if key == "pattern"
                    && let Value::String(p) = value
                    && COMPILED.with(|c| !c.borrow().contains(p))
                {
                    assert!(regex::Regex::new(p).is_ok(), "pattern {p:?} does not compile");
                    COMPILED.with(|c| {
                        let mut c = c.borrow_mut();
                        if c.len() > 100_000 {
                            c.clear();
                        }
                        c.insert(p.clone());
                    });
                }
                assert_patterns_compile(value);
            }
        }
        Value::Array(items) => items.iter().for_each(assert_patterns_compile),
        _ => {}
    }
}
