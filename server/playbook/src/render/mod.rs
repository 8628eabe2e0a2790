//! Output renderers for `playbook check`: human (rustc-style snippets), JSON and SARIF 2.1.0.
//!
//! The caller turns core findings into [`Located`] values (real file, 1-based positions),
//! sorts them, collects the text of every file they point into in [`Sources`], and calls
//! [`render`]. The formats are documented in `docs/check-output.md`.

mod human;
mod json;
mod sarif;

use std::collections::HashMap;
use std::ops::Range;

pub use playbook_core::finding::Severity;
use playbook_core::span::{ColumnUnit, LineIndex};

/// A finding placed in a real file, ready to print. Lines/columns are 1-based; columns count characters.
///
/// `end_line`/`end_column` name the position just past the last character of the span
/// (exclusive end, as in SARIF); an empty span has `end == start`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Located {
    /// Stable rule id, e.g. "missing-answer".
    pub rule: &'static str,
    pub severity: Severity,
    /// Path as given on the command line / relative to the working directory.
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    /// Byte range into the file's text.
    #[serde(skip)]
    pub span: Range<usize>,
    pub message: String,
    /// Extra lines for humans, e.g. "did you mean `country`?".
    pub notes: Vec<String>,
    pub related: Vec<LocatedRelated>,
    pub item: Option<String>,
}

/// Another place (possibly in another file) that explains a finding.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LocatedRelated {
    pub file: String,
    pub line: usize,
    pub column: usize,
    #[serde(skip)]
    pub span: Range<usize>,
    pub message: String,
}

impl Located {
    /// A finding at byte range `span` of `text` (the contents of `file`), with positions
    /// computed from the text. The span is clamped to the text and to char boundaries.
    #[cfg(test)]
    pub fn at(
        rule: &'static str,
        severity: Severity,
        file: impl Into<String>,
        text: &str,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> Self {
        Located::at_indexed(rule, severity, file, text, &LineIndex::new(text), span, message)
    }

    /// [`Located::at`] with the text's line table already built (see [`Sources::get_indexed`]):
    /// building one per finding is quadratic on large files with many findings.
    pub fn at_indexed(
        rule: &'static str,
        severity: Severity,
        file: impl Into<String>,
        text: &str,
        index: &LineIndex,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> Self {
        let span = clamp_span(text, span);
        let (line, column) = position_with(index, text, span.start);
        let (end_line, end_column) = position_with(index, text, span.end);
        Located {
            rule,
            severity,
            file: file.into(),
            line,
            column,
            end_line,
            end_column,
            span,
            message: message.into(),
            notes: Vec::new(),
            related: Vec::new(),
            item: None,
        }
    }

    #[cfg(test)]
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    #[cfg(test)]
    pub fn with_related(mut self, related: LocatedRelated) -> Self {
        self.related.push(related);
        self
    }

    #[cfg(test)]
    pub fn with_item(mut self, item: impl Into<String>) -> Self {
        self.item = Some(item.into());
        self
    }
}

impl LocatedRelated {
    /// A related place at byte range `span` of `text` (the contents of `file`).
    #[cfg(test)]
    pub fn at(file: impl Into<String>, text: &str, span: Range<usize>, message: impl Into<String>) -> Self {
        LocatedRelated::at_indexed(file, text, &LineIndex::new(text), span, message)
    }

    pub fn at_indexed(file: impl Into<String>, text: &str, index: &LineIndex, span: Range<usize>, message: impl Into<String>) -> Self {
        let span = clamp_span(text, span);
        let (line, column) = position_with(index, text, span.start);
        LocatedRelated { file: file.into(), line, column, span, message: message.into() }
    }
}

/// 1-based line and character column of byte `offset` in `text` (clamped to the text).
#[cfg(test)]
pub fn position(text: &str, offset: usize) -> (usize, usize) {
    position_with(&LineIndex::new(text), text, offset)
}

fn position_with(index: &LineIndex, text: &str, offset: usize) -> (usize, usize) {
    let lc = index.line_col(text, offset, ColumnUnit::Chars);
    (lc.line as usize + 1, lc.col as usize + 1)
}

/// Clamp `span` into `text`: both ends at most `text.len()`, `start <= end`, the start moved
/// back and the end moved forward to char boundaries. Never panics.
pub fn clamp_span(text: &str, span: Range<usize>) -> Range<usize> {
    let len = text.len();
    let mut start = span.start.min(len);
    let mut end = span.end.min(len).max(start);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    while !text.is_char_boundary(end) {
        end += 1;
    }
    start..end
}

/// Every file that findings point into, with its text, for snippets.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    files: HashMap<String, (String, LineIndex)>,
}

impl Sources {
    pub fn new() -> Self {
        Sources::default()
    }

    pub fn contains(&self, file: &str) -> bool {
        self.files.contains_key(file)
    }

    pub fn insert(&mut self, file: String, text: String) {
        let index = LineIndex::new(&text);
        self.files.insert(file, (text, index));
    }

    #[allow(dead_code, reason = "part of the API; the renderers use `get_indexed`")]
    pub fn get(&self, file: &str) -> Option<&str> {
        self.files.get(file).map(|(text, _)| text.as_str())
    }

    /// The text of `file` with its line table.
    pub fn get_indexed(&self, file: &str) -> Option<(&str, &LineIndex)> {
        self.files.get(file).map(|(text, index)| (text.as_str(), index))
    }
}

/// The output format of `playbook check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Sarif,
}

/// Counts of findings by severity, plus how many files were checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub files: usize,
    pub errors: usize,
    pub warnings: usize,
    pub information: usize,
    pub hints: usize,
}

impl Summary {
    pub fn of(findings: &[Located], files_checked: usize) -> Self {
        let mut summary = Summary { files: files_checked, ..Summary::default() };
        for finding in findings {
            match finding.severity {
                Severity::Error => summary.errors += 1,
                Severity::Warning => summary.warnings += 1,
                Severity::Information => summary.information += 1,
                Severity::Hint => summary.hints += 1,
            }
        }
        summary
    }

    pub fn total(&self) -> usize {
        self.errors + self.warnings + self.information + self.hints
    }
}

/// Write all findings (already sorted by the caller) to `out`. `files_checked` is the number
/// of files the check read, for the summary. `color` only affects [`Format::Human`].
pub fn render(
    format: Format,
    findings: &[Located],
    sources: &Sources,
    files_checked: usize,
    color: bool,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    match format {
        Format::Human => human::render(findings, sources, files_checked, color, out),
        Format::Json => json::render(findings, files_checked, out),
        Format::Sarif => sarif::render(findings, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamp_span_never_panics_and_snaps_to_chars() {
        let text = "añb\r\n";
        assert_eq!(clamp_span(text, 0..100), 0..text.len());
        assert_eq!(clamp_span(text, 50..60), text.len()..text.len());
        assert_eq!(clamp_span(text, Range { start: 3, end: 1 }), 3..3);
        // 'ñ' is bytes 1..3: a cut inside it widens to the whole char.
        assert_eq!(clamp_span(text, 2..2), 1..3);
        assert_eq!(clamp_span(text, 1..2), 1..3);
        assert_eq!(clamp_span("", 3..9), 0..0);
    }

    #[test]
    fn positions_are_one_based_characters() {
        let text = "ab\nñx\n";
        assert_eq!(position(text, 0), (1, 1));
        assert_eq!(position(text, 5), (2, 2)); // after 'ñ'
        assert_eq!(position(text, text.len()), (3, 1));
        assert_eq!(position(text, 999), (3, 1));
        let located = Located::at("invalid-value", Severity::Error, "a.yaml", text, 3..6, "m");
        assert_eq!((located.line, located.column, located.end_line, located.end_column), (2, 1, 2, 3));
    }

    #[test]
    fn docs_list_every_rule_with_its_severity() {
        use playbook_core::finding::Rule;
        let docs = include_str!("../../../../docs/check-output.md");
        for rule in Rule::ALL {
            let severity = match rule.severity() {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Information => "information",
                Severity::Hint => "hint",
            };
            let row = docs
                .lines()
                .find(|l| l.starts_with(&format!("| `{}` ", rule.id())))
                .unwrap_or_else(|| panic!("docs/check-output.md lacks rule `{rule}`"));
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            assert_eq!(cells[2], severity, "severity of `{rule}` in docs/check-output.md");
        }
    }

    #[test]
    fn sources_keep_text() {
        let mut sources = Sources::new();
        sources.insert("a.md".into(), "x\ny".into());
        assert_eq!(sources.get("a.md"), Some("x\ny"));
        assert_eq!(sources.get("b.md"), None);
    }

    #[test]
    fn summary_counts() {
        let text = "x";
        let e = Located::at("invalid-value", Severity::Error, "a", text, 0..1, "e");
        let w = Located::at("missing-answer", Severity::Warning, "a", text, 0..1, "w");
        let h = Located::at("unparsed-condition", Severity::Hint, "a", text, 0..1, "h");
        let s = Summary::of(&[e, w, h], 4);
        assert_eq!(s, Summary { files: 4, errors: 1, warnings: 1, information: 0, hints: 1 });
        assert_eq!(s.total(), 3);
    }
}
