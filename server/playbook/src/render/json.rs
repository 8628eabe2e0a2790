//! JSON output: one pretty-printed document followed by a newline. The schema is documented
//! field by field in `docs/check-output.md`; fields are only ever added, never renamed.
//!
//! ```json
//! {
//!   "version": 1,
//!   "findings": [ { "rule": "...", "severity": "error", "file": "...", "line": 1, ... } ],
//!   "summary": { "files": 1, "errors": 1, "warnings": 0, "information": 0, "hints": 0 }
//! }
//! ```

use serde::Serialize;

use super::{Located, Summary};

/// The version of the JSON document's schema. Bumped only for incompatible changes.
pub const VERSION: u32 = 1;

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    findings: &'a [Located],
    summary: Summary,
}

pub(super) fn render(findings: &[Located], files_checked: usize, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let document = Document { version: VERSION, findings, summary: Summary::of(findings, files_checked) };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{Format, LocatedRelated, Severity, Sources, render as render_any};
    use serde_json::Value;

    fn sample() -> Vec<Located> {
        let case = "answers:\n  backups: yes-ish\n  zoë: 1\n";
        let playbook = "### backups\n";
        let value = case.find("yes-ish").unwrap();
        let zoe = case.find("zoë").unwrap();
        vec![
            Located::at("invalid-value", Severity::Error, "cases/acme.yaml", case, value..value + 7, "`yes-ish` is not yes or no")
                .with_item("backups")
                .with_related(LocatedRelated::at("playbooks/infra.md", playbook, 0..11, "the item is defined here"))
                .with_note("expected one of: yes, no"),
            Located::at("unknown-item", Severity::Warning, "cases/acme.yaml", case, zoe..zoe + "zoë".len(), "`zoë` is not an item")
                .with_note("did you mean `zone`?"),
            Located::at("deferred", Severity::Information, "cases/acme.yaml", case, 0..0, "deferred"),
            Located::at("unparsed-condition", Severity::Hint, "playbooks/infra.md", playbook, 4..11, "hint"),
        ]
    }

    fn json(findings: &[Located], files: usize) -> String {
        let mut out = Vec::new();
        render_any(Format::Json, findings, &Sources::new(), files, false, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn document_has_the_documented_keys_and_round_trips() {
        let text = json(&sample(), 2);
        assert!(text.ends_with("}\n") && !text.ends_with("\n\n"));
        let value: Value = serde_json::from_str(&text).unwrap();
        // Round trip: the text parses back to exactly what was serialised.
        let findings = sample();
        let document = Document { version: VERSION, findings: &findings, summary: Summary::of(&findings, 2) };
        assert_eq!(value, serde_json::to_value(&document).unwrap());
        // The keys come out in the documented order.
        let at = |key: &str| text.find(&format!("\"{key}\"")).unwrap();
        assert!(at("version") < at("findings") && at("findings") < at("summary"));

        let mut top: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
        top.sort_unstable();
        assert_eq!(top, ["findings", "summary", "version"]);
        assert_eq!(value["version"], 1);
        assert_eq!(value["summary"], serde_json::json!({"files": 2, "errors": 1, "warnings": 1, "information": 1, "hints": 1}));
        let findings = value["findings"].as_array().unwrap();
        assert_eq!(findings.len(), 4);
        let mut keys: Vec<&str> = findings[0].as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["column", "end_column", "end_line", "file", "item", "line", "message", "notes", "related", "rule", "severity"]);
        let first = &findings[0];
        assert_eq!(first["rule"], "invalid-value");
        assert_eq!(first["severity"], "error");
        assert_eq!((first["line"].as_u64(), first["column"].as_u64()), (Some(2), Some(12)));
        assert_eq!((first["end_line"].as_u64(), first["end_column"].as_u64()), (Some(2), Some(19)));
        assert_eq!(first["item"], "backups");
        assert_eq!(
            first["related"],
            serde_json::json!([{"file": "playbooks/infra.md", "line": 1, "column": 1, "message": "the item is defined here"}])
        );
        // Absent values are still present, as null / [].
        assert_eq!(findings[1]["item"], Value::Null);
        assert_eq!(findings[1]["related"], serde_json::json!([]));
        assert_eq!(findings[1]["end_column"], 6); // counts characters, not bytes
        let severities: Vec<&str> = findings.iter().map(|f| f["severity"].as_str().unwrap()).collect();
        assert_eq!(severities, ["error", "warning", "information", "hint"]);
    }

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(json(&sample(), 2));
    }

    #[test]
    fn empty() {
        insta::assert_snapshot!(json(&[], 0), @r#"
        {
          "version": 1,
          "findings": [],
          "summary": {
            "files": 0,
            "errors": 0,
            "warnings": 0,
            "information": 0,
            "hints": 0
          }
        }
        "#);
    }
}
