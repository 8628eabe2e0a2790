//! Human output: rustc-style reports rendered by `annotate-snippets`, then a summary line.
//!
//! ```text
//! error[invalid-value]: `yes-ish` is not a valid yes/no answer
//!  --> cases/acme.yaml:3:12
//!   |
//! 3 |   backups: yes-ish
//!   |            ^^^^^^^
//!   |
//!  ::: playbooks/infra.md:5:1
//!   |
//! 5 | ### backups
//!   | ----------- the item is defined here
//!   |
//!   = note: expected one of: yes, no
//!
//! 1 error, 0 warnings, 0 infos, 0 hints in 2 files
//! ```

use std::borrow::Cow;
use std::ops::Range;

use annotate_snippets::{Annotation, AnnotationKind, Element, Group, Level, Origin, Renderer, Snippet};
use playbook_core::span::LineIndex;

use super::{Located, Severity, Sources, Summary, clamp_span};

pub(super) fn render(
    findings: &[Located],
    sources: &Sources,
    files_checked: usize,
    color: bool,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let renderer = if color { Renderer::styled() } else { Renderer::plain() };
    for finding in findings {
        let text = report(finding, sources, &renderer);
        writeln!(out, "{text}")?;
        writeln!(out)?;
    }
    let summary = summary_line(&Summary::of(findings, files_checked));
    if color { writeln!(out, "\x1b[1m{summary}\x1b[0m") } else { writeln!(out, "{summary}") }
}

/// `2 errors, 1 warning, 0 infos, 0 hints in 3 files`, or `no findings in 3 files`.
pub(super) fn summary_line(summary: &Summary) -> String {
    let files = plural(summary.files, "file", "files");
    if summary.total() == 0 {
        return format!("no findings in {files}");
    }
    format!(
        "{}, {}, {}, {} in {files}",
        plural(summary.errors, "error", "errors"),
        plural(summary.warnings, "warning", "warnings"),
        plural(summary.information, "info", "infos"),
        plural(summary.hints, "hint", "hints"),
    )
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn level(severity: Severity) -> Level<'static> {
    match severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Information => Level::INFO,
        Severity::Hint => Level::HELP.with_name("hint"),
    }
}

/// One finding as a rustc-style report (no trailing newline).
fn report(finding: &Located, sources: &Sources, renderer: &Renderer) -> String {
    let title = level(finding.severity).primary_title(finding.message.as_str()).id(finding.rule);
    let mut elements: Vec<Element<'_>> = Vec::new();
    let mut unplaced: Vec<String> = Vec::new();

    // The finding's own file: the primary span plus every related span in the same file.
    match sources.get_indexed(&finding.file) {
        Some((text, index)) => {
            let mut spans = vec![(finding.span.clone(), AnnotationKind::Primary, None)];
            for related in finding.related.iter().filter(|r| r.file == finding.file) {
                spans.push((related.span.clone(), AnnotationKind::Context, Some(related.message.as_str())));
            }
            elements.push(snippet(&finding.file, text, index, spans).into());
        }
        None => {
            elements.push(Origin::path(finding.file.as_str()).line(finding.line).char_column(finding.column).into());
            for related in finding.related.iter().filter(|r| r.file == finding.file) {
                unplaced.push(format!("{}:{}:{}: {}", related.file, related.line, related.column, related.message));
            }
        }
    }

    // Related spans in other files: one secondary snippet per file, in order of appearance.
    let mut others: Vec<&str> = Vec::new();
    for related in &finding.related {
        if related.file != finding.file && !others.contains(&related.file.as_str()) {
            others.push(&related.file);
        }
    }
    for file in others {
        let in_file = finding.related.iter().filter(|r| r.file == file);
        match sources.get_indexed(file) {
            Some((text, index)) => {
                let spans = in_file.map(|r| (r.span.clone(), AnnotationKind::Context, Some(r.message.as_str()))).collect();
                elements.push(snippet(file, text, index, spans).into());
            }
            None => {
                for r in in_file {
                    unplaced.push(format!("{}:{}:{}: {}", r.file, r.line, r.column, r.message));
                }
            }
        }
    }

    for note in unplaced {
        elements.push(Level::NOTE.message(clean(&note).into_owned()).into());
    }
    for note in &finding.notes {
        let (level, text) = note_level(note);
        elements.push(level.message(clean(text)).into());
    }

    let group = Group::with_title(title).elements(elements);
    renderer.render(&[group])
}

/// A note is a `help` when it suggests something ("did you mean ...", or an explicit `help:`
/// prefix); an explicit `note:` prefix is dropped since the renderer adds its own.
fn note_level(note: &str) -> (Level<'static>, &str) {
    if let Some(rest) = strip_prefix_ci(note, "help:") {
        return (Level::HELP, rest.trim_start());
    }
    if let Some(rest) = strip_prefix_ci(note, "note:") {
        return (Level::NOTE, rest.trim_start());
    }
    if strip_prefix_ci(note, "did you mean").is_some() {
        return (Level::HELP, note);
    }
    (Level::NOTE, note)
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

/// Notes are "trusted" text for annotate-snippets (not normalised, may carry styling), but ours
/// may quote user input: normalise them like the other untrusted strings and drop other
/// control characters (an ESC could otherwise restyle the terminal).
fn clean(text: &str) -> Cow<'_, str> {
    let normalized = annotate_snippets::normalize_untrusted_str(text);
    if normalized.chars().any(|c| c.is_control() && c != '\n') {
        Cow::Owned(normalized.chars().filter(|c| !c.is_control() || *c == '\n').collect())
    } else if normalized == text {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(normalized)
    }
}

/// A snippet of `text` showing just the lines the `spans` touch (annotate-snippets folds the
/// lines in between), with every span clamped so that the renderer cannot panic.
fn snippet<'a>(
    file: &'a str,
    text: &'a str,
    index: &LineIndex,
    spans: Vec<(Range<usize>, AnnotationKind, Option<&'a str>)>,
) -> Snippet<'a, Annotation<'a>> {
    let spans: Vec<_> = spans.into_iter().map(|(span, kind, label)| (clamp_span(text, span), kind, label)).collect();
    let first = spans.iter().map(|(s, ..)| index.line_of(s.start)).min().unwrap_or(0);
    let last = spans.iter().map(|(s, ..)| index.line_of(s.end.max(s.start + 1) - 1)).max().unwrap_or(0);
    let first = first.min(last);
    let lo = index.line_start(first);
    let hi = index.line_start(last + 1).max(lo);
    let source = &text[lo..hi];
    let annotations = spans.into_iter().map(|(span, kind, label)| {
        let span = (span.start - lo).min(source.len())..(span.end - lo).min(source.len());
        let annotation = kind.span(span);
        match label {
            Some(label) => annotation.label(label),
            None => annotation,
        }
    });
    Snippet::source(source).line_start(first + 1).path(file).annotations(annotations)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{Format, LocatedRelated, render as render_any};

    fn human(findings: &[Located], sources: &Sources, files: usize) -> String {
        let mut out = Vec::new();
        render_any(Format::Human, findings, sources, files, false, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn multi_file_with_related_location_and_help() {
        let case = "playbook: ../playbooks/infra.md\nanswers:\n  backups: yes-ish\n  contry: FR\n";
        let playbook = "# Infra\n\n## Discovery\n\n### backups\n\n- Ask: Do you back up?\n- Type: yes/no\n\n### country\n";
        let mut sources = Sources::new();
        sources.insert("cases/acme.yaml".into(), case.into());
        sources.insert("playbooks/infra.md".into(), playbook.into());
        let value = case.find("yes-ish").unwrap();
        let heading = playbook.find("### backups").unwrap();
        let contry = case.find("contry").unwrap();
        let findings = vec![
            Located::at(
                "invalid-value",
                Severity::Error,
                "cases/acme.yaml",
                case,
                value..value + "yes-ish".len(),
                "`yes-ish` is not a valid yes/no answer",
            )
            .with_item("backups")
            .with_related(LocatedRelated::at(
                "playbooks/infra.md",
                playbook,
                heading..heading + "### backups".len(),
                "the item is defined here",
            ))
            .with_note("expected one of: yes, no"),
            Located::at(
                "unknown-item",
                Severity::Warning,
                "cases/acme.yaml",
                case,
                contry..contry + "contry".len(),
                "`contry` is not a Discovery item of playbooks/infra.md",
            )
            .with_note("did you mean `country`?"),
        ];
        insta::assert_snapshot!(human(&findings, &sources, 2));
    }

    #[test]
    fn related_in_same_file_and_missing_sources() {
        let playbook = "### a\n- Ask: x\n\n### a\n- Ask: y\n";
        let mut sources = Sources::new();
        sources.insert("p.md".into(), playbook.into());
        let second = playbook.rfind("### a").unwrap();
        let findings = vec![
            Located::at("duplicate-item", Severity::Error, "p.md", playbook, second..second + 5, "item `a` is defined twice")
                .with_related(LocatedRelated::at("p.md", playbook, 0..5, "first defined here")),
            // Neither file's text is known: fall back to bare locations.
            Located::at("deferred", Severity::Information, "gone.yaml", "a: 1\nb: !deferred\n", 8..17, "`b` is deferred")
                .with_related(LocatedRelated::at("gone.md", "x\ny\n", 2..3, "asked here"))
                .with_note("help: answer it before the build phase"),
            Located::at("unparsed-condition", Severity::Hint, "p.md", playbook, 6..14, "condition not understood"),
        ];
        insta::assert_snapshot!(human(&findings, &sources, 2));
    }

    #[test]
    fn crlf_multibyte_and_tabs() {
        let text = "name: \"Zoë\"\r\n\tcity:\t\"Zürich ✓\"\r\nrésumé: 👋 wave\r\n";
        let mut sources = Sources::new();
        sources.insert("c.yaml".into(), text.into());
        let city = text.find("\"Zürich").unwrap();
        let wave = text.find("👋").unwrap();
        let findings = vec![
            Located::at("invalid-value", Severity::Error, "c.yaml", text, city..city + "\"Zürich ✓\"".len(), "not a city code"),
            Located::at("unknown-item", Severity::Warning, "c.yaml", text, wave..wave + "👋 wave".len(), "emoji"),
            // A span that cuts a character in two, and one that covers a whole CRLF line break.
            Located::at("yaml-syntax", Severity::Error, "c.yaml", text, 10..11, "cut inside `ë`"),
            Located::at("yaml-syntax", Severity::Error, "c.yaml", text, 11..text.len(), "two lines"),
        ];
        let output = human(&findings, &sources, 1);
        assert!(output.contains("c.yaml:2:8"), "{output}");
        insta::assert_snapshot!(output);
    }

    #[test]
    fn empty_spans_at_and_past_eof() {
        let text = "a: 1\nb: 2\n";
        let mut sources = Sources::new();
        sources.insert("c.yaml".into(), text.into());
        sources.insert("empty.yaml".into(), String::new());
        sources.insert("crlf.yaml".into(), "a: 1\r\n".into());
        let mut past = Located::at("missing-answer", Severity::Warning, "c.yaml", text, 0..0, "past the end");
        past.span = Range { start: 40, end: 7 }; // inverted and out of range: must not panic
        let findings = vec![
            Located::at("missing-answer", Severity::Warning, "c.yaml", text, text.len()..text.len(), "`c` has no answer"),
            past,
            Located::at("yaml-syntax", Severity::Error, "empty.yaml", "", 0..0, "empty document"),
            Located::at("missing-answer", Severity::Warning, "crlf.yaml", "a: 1\r\n", 6..6, "at EOF after CRLF"),
            Located::at("missing-answer", Severity::Warning, "c.yaml", text, 2..2, "empty span mid-line"),
        ];
        insta::assert_snapshot!(human(&findings, &sources, 3));
    }

    #[test]
    fn never_panics_on_any_span() {
        let texts = ["", "\n", "\r\n", "x", "a\tñ\r\n👋\r\n\r\nz", "é\n\n", "a\rb\n\t\t"];
        for text in texts {
            let mut sources = Sources::new();
            sources.insert("f".into(), text.into());
            sources.insert("g".into(), text.into());
            let mut findings = Vec::new();
            for start in 0..text.len() + 3 {
                for end in 0..text.len() + 3 {
                    let mut located = Located::at("yaml-syntax", Severity::Error, "f", text, 0..0, "m");
                    located.span = start..end;
                    let mut same = LocatedRelated::at("f", text, 0..0, "same file");
                    same.span = end..start;
                    let mut other = LocatedRelated::at("g", text, 0..0, "other file");
                    other.span = start..end + 1;
                    findings.push(located.with_related(same).with_related(other));
                }
            }
            let output = human(&findings, &sources, 2);
            assert!(output.ends_with("in 2 files\n"));
        }
    }

    #[test]
    fn no_findings_summary() {
        assert_eq!(human(&[], &Sources::new(), 3), "no findings in 3 files\n");
        assert_eq!(human(&[], &Sources::new(), 1), "no findings in 1 file\n");
        let s = Summary { files: 3, errors: 2, warnings: 1, information: 0, hints: 0 };
        assert_eq!(summary_line(&s), "2 errors, 1 warning, 0 infos, 0 hints in 3 files");
    }

    #[test]
    fn color_only_when_asked() {
        let text = "a: 1\n";
        let mut sources = Sources::new();
        sources.insert("c.yaml".into(), text.into());
        let findings = [Located::at("invalid-value", Severity::Error, "c.yaml", text, 3..4, "bad")];
        let plain = human(&findings, &sources, 1);
        assert!(!plain.contains('\x1b'));
        let mut out = Vec::new();
        render_any(Format::Human, &findings, &sources, 1, true, &mut out).unwrap();
        let colored = String::from_utf8(out).unwrap();
        assert!(colored.contains('\x1b'));
    }

    #[test]
    fn control_characters_in_notes_are_dropped() {
        assert_eq!(clean("a\x1b[31mb"), "a␛[31mb");
        assert_eq!(note_level("Did you mean `x`?").0, Level::HELP);
        assert_eq!(note_level("note: hi"), (Level::NOTE, "hi"));
        assert_eq!(note_level("help: try"), (Level::HELP, "try"));
    }
}
