//! SARIF 2.1.0 output: one run of the `playbook` driver, every rule listed in
//! `tool.driver.rules`, one result per finding. See `docs/check-output.md`.

use playbook_core::finding::Rule;
use serde::Serialize;

use super::{Located, Severity};

pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// The crate's `repository` (or `homepage`) from Cargo.toml, else the project's address.
pub const INFORMATION_URI: &str = first_non_empty(
    env!("CARGO_PKG_REPOSITORY"),
    first_non_empty(env!("CARGO_PKG_HOMEPAGE"), "https://github.com/playbook-as-code/playbook"),
);

const fn first_non_empty<'a>(a: &'a str, b: &'a str) -> &'a str {
    if a.is_empty() { b } else { a }
}

/// SARIF `level` for a severity: information and hint both become `note`.
pub fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Information | Severity::Hint => "note",
    }
}

pub(super) fn render(findings: &[Located], out: &mut dyn std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &document(findings))?;
    writeln!(out)
}

// The subset of the SARIF 2.1.0 object model we emit, in the order the spec lists properties.

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool<'a>,
    column_kind: &'static str,
    results: Vec<SarifResult<'a>>,
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    name: &'static str,
    version: &'static str,
    information_uri: &'static str,
    rules: Vec<ReportingDescriptor<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportingDescriptor<'a> {
    id: &'a str,
    short_description: Text<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_configuration: Option<Configuration>,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct Text<'a> {
    text: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'a str,
    rule_index: usize,
    level: &'static str,
    message: Text<'a>,
    locations: [Location<'a>; 1],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_locations: Vec<Location<'a>>,
    #[serde(skip_serializing_if = "Properties::is_empty")]
    properties: Properties<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<usize>,
    physical_location: PhysicalLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Text<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Serialize)]
struct ArtifactLocation {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
    start_column: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_column: Option<usize>,
}

/// Extra data without a SARIF property of its own (property bag).
#[derive(Serialize)]
struct Properties<'a> {
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    notes: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    item: Option<&'a str>,
}

impl Properties<'_> {
    fn is_empty(&self) -> bool {
        self.notes.is_empty() && self.item.is_none()
    }
}

fn document(findings: &[Located]) -> Log<'_> {
    // Every known rule, in `Rule::ALL` order, then any other rule id a finding carries, so
    // that every result's `ruleIndex` points into `rules`.
    let mut rule_ids: Vec<&str> = Rule::ALL.iter().map(|r| r.id()).collect();
    for finding in findings {
        if !rule_ids.contains(&finding.rule) {
            rule_ids.push(finding.rule);
        }
    }
    let rules = rule_ids
        .iter()
        .map(|&id| match Rule::from_id(id) {
            Some(rule) => ReportingDescriptor {
                id,
                short_description: Text { text: rule.summary() },
                default_configuration: Some(Configuration { level: level(rule.severity()) }),
            },
            None => ReportingDescriptor { id, short_description: Text { text: id }, default_configuration: None },
        })
        .collect();

    let results = findings
        .iter()
        .map(|f| {
            let end_line = f.end_line.max(f.line).max(1);
            // Regions must not end before they start.
            let end_column = if end_line == f.line.max(1) { f.end_column.max(f.column) } else { f.end_column };
            SarifResult {
                rule_id: f.rule,
                rule_index: rule_ids.iter().position(|id| *id == f.rule).unwrap_or(0),
                level: level(f.severity),
                message: Text { text: &f.message },
                locations: [Location {
                    id: None,
                    physical_location: PhysicalLocation {
                        artifact_location: ArtifactLocation { uri: uri(&f.file) },
                        region: Region {
                            start_line: f.line.max(1),
                            start_column: f.column.max(1),
                            end_line: Some(end_line),
                            end_column: Some(end_column.max(1)),
                        },
                    },
                    message: None,
                }],
                related_locations: f
                    .related
                    .iter()
                    .enumerate()
                    .map(|(id, r)| Location {
                        id: Some(id),
                        physical_location: PhysicalLocation {
                            artifact_location: ArtifactLocation { uri: uri(&r.file) },
                            region: Region { start_line: r.line.max(1), start_column: r.column.max(1), end_line: None, end_column: None },
                        },
                        message: Some(Text { text: &r.message }),
                    })
                    .collect(),
                properties: Properties { notes: &f.notes, item: f.item.as_deref() },
            }
        })
        .collect();

    Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: [Run {
            tool: Tool { driver: Driver { name: "playbook", version: env!("CARGO_PKG_VERSION"), information_uri: INFORMATION_URI, rules } },
            column_kind: "unicodeCodePoints",
            results,
        }],
    }
}

/// A relative URI reference for a path: forward slashes, percent-encoding for anything that
/// is not unreserved or a path separator. Absolute paths become `file://` URIs.
pub fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let path = path.strip_prefix("./").unwrap_or(&path);
    let bytes = path.as_bytes();
    let windows_drive = bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':';
    let (prefix, rest) = if windows_drive {
        ("file:///", path)
    } else if path.starts_with('/') {
        ("file://", path)
    } else {
        ("", path)
    };
    let mut encoded = String::with_capacity(prefix.len() + rest.len());
    encoded.push_str(prefix);
    for (i, byte) in rest.bytes().enumerate() {
        let keep =
            byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') || (windows_drive && i == 1 && byte == b':');
        if keep {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{Format, LocatedRelated, Sources, render as render_any};
    use serde_json::{Value, json};

    fn sample() -> Vec<Located> {
        let case = "answers:\n  backups: yes-ish\n";
        let playbook = "### backups\n### backups\n";
        let value = case.find("yes-ish").unwrap();
        vec![
            Located::at("duplicate-item", Severity::Error, "playbooks/infra.md", playbook, 12..23, "item `backups` is defined twice")
                .with_related(LocatedRelated::at("playbooks/infra.md", playbook, 0..11, "first defined here")),
            Located::at("invalid-value", Severity::Error, "cases\\acme case.yaml", case, value..value + 7, "`yes-ish` is not yes or no")
                .with_item("backups")
                .with_note("expected one of: yes, no"),
            Located::at("unparsed-condition", Severity::Hint, "playbooks/infra.md", playbook, 0..0, "hint"),
            Located::at("io-error", Severity::Error, "missing.yaml", "", 0..0, "cannot read"),
        ]
    }

    fn sarif(findings: &[Located]) -> String {
        let mut out = Vec::new();
        render_any(Format::Sarif, findings, &Sources::new(), 3, false, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn required_keys_and_one_result_per_finding() {
        let findings = sample();
        let text = sarif(&findings);
        assert!(text.ends_with("}\n"));
        let at = |key: &str| text.find(key).unwrap();
        assert!(at("\"$schema\"") < at("\"version\"") && at("\"version\"") < at("\"runs\""));
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["$schema"], SCHEMA);
        assert_eq!(v["version"], "2.1.0");
        let runs = v["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 1);
        let driver = &runs[0]["tool"]["driver"];
        assert_eq!(driver["name"], "playbook");
        assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
        assert!(driver["informationUri"].as_str().unwrap().starts_with("https://"));

        let rules = driver["rules"].as_array().unwrap();
        assert_eq!(rules.len(), Rule::ALL.len() + 1); // + the unknown "io-error"
        for (rule, entry) in Rule::ALL.iter().zip(rules) {
            assert_eq!(entry["id"], rule.id());
            assert_eq!(entry["shortDescription"]["text"], rule.summary());
            assert_eq!(entry["defaultConfiguration"]["level"], level(rule.severity()));
        }
        assert_eq!(rules[Rule::ALL.len()]["id"], "io-error");

        let results = runs[0]["results"].as_array().unwrap();
        assert_eq!(results.len(), findings.len());
        for (finding, result) in findings.iter().zip(results) {
            assert_eq!(result["ruleId"], finding.rule);
            let index = result["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[index]["id"], finding.rule);
            assert_eq!(result["message"]["text"], finding.message.as_str());
            let region = &result["locations"][0]["physicalLocation"]["region"];
            for key in ["startLine", "startColumn", "endLine", "endColumn"] {
                assert!(region[key].as_u64().unwrap() >= 1, "{key}");
            }
        }
        let levels: Vec<&str> = results.iter().map(|r| r["level"].as_str().unwrap()).collect();
        assert_eq!(levels, ["error", "error", "note", "error"]);

        let first = &results[0];
        assert_eq!(first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "playbooks/infra.md");
        assert_eq!(
            first["locations"][0]["physicalLocation"]["region"],
            json!({"startLine": 2, "startColumn": 1, "endLine": 2, "endColumn": 12})
        );
        assert_eq!(first["relatedLocations"][0]["id"], 0);
        assert_eq!(first["relatedLocations"][0]["message"]["text"], "first defined here");
        assert_eq!(results[1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "cases/acme%20case.yaml");
    }

    #[test]
    fn uris() {
        assert_eq!(uri("a/b.md"), "a/b.md");
        assert_eq!(uri("./a\\b c.md"), "a/b%20c.md");
        assert_eq!(uri("/tmp/x#1.yaml"), "file:///tmp/x%231.yaml");
        assert_eq!(uri("C:\\work\\a.md"), "file:///C:/work/a.md");
        assert_eq!(uri("résumé.md"), "r%C3%A9sum%C3%A9.md");
    }

    #[test]
    fn snapshot() {
        let text =
            sarif(&sample()).replace(&format!("\"version\": \"{}\"", env!("CARGO_PKG_VERSION")), "\"version\": \"[CARGO_PKG_VERSION]\"");
        insta::assert_snapshot!(text);
    }
}
