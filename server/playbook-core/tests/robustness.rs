//! Bad input never panics, and every finding the core produces can be placed in its document.
//!
//! `check_everything` runs the whole pipeline (parse + lint the playbook, parse + check the case
//! against it in the first phase and in Phase 2) and asserts the invariants every shell relies
//! on: spans, related spans and fix spans are valid byte ranges on char boundaries, they convert
//! to positions and back in every column unit, severities match rules, messages are not empty,
//! fixes name an item or a replacement. Property tests feed it arbitrary bytes, token soup and
//! random edits of the real fixtures; named tests pin down the edge cases (CRLF, BOM, tabs,
//! non-ASCII, empty, huge, deeply nested, alias bombs, enormous conditions).
//!
//! `PROPTEST_CASES` overrides the number of cases per property (default 256).
//!
//! Tests that could abort the whole binary (stack overflow) or run for minutes (quadratic
//! behaviour) run their body in a child process of this binary, under a deadline: the parent
//! test `x` runs the ignored test `child_x` and reports what the child printed.

use std::collections::HashMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use playbook_core::analysis::{self, BUILTIN_HANDLERS, CaseContext};
use playbook_core::case::Case;
use playbook_core::condition::{Expr, ParseError};
use playbook_core::finding::{DocRef, Finding, Fix, Rule, Severity};
use playbook_core::playbook::{self, Playbook, RequiredRule, Text};
use playbook_core::span::{ColumnUnit, LineIndex, Span};
use playbook_core::types::{NoFileProbe, ValueType};
use playbook_core::yaml::{Node, NodeKind};
use proptest::prelude::*;
use proptest::sample::Index;

// ---------------------------------------------------------------------------------------------
// Fixtures

struct Fixtures {
    /// The real OpenG2P playbook (shared, read-only).
    openg2p: String,
    /// The project's registry playbook.
    registry: String,
    /// Working case for `registry`.
    demo_case: String,
    /// Working case for `openg2p`.
    openg2p_case: String,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read fixture {path}: {e}"))
}

static FIXTURES: LazyLock<Fixtures> = LazyLock::new(|| Fixtures {
    openg2p: read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/openg2p/use-case-implementation.md")),
    registry: read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../playbooks/registry.md")),
    demo_case: read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/demo/working_case.yaml")),
    openg2p_case: read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/openg2p/working_case.yaml")),
});

const BROKEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/broken");

/// (playbook, its working case) pairs of the real fixtures.
fn pairs() -> [(&'static str, &'static str); 2] {
    let f = &*FIXTURES;
    [(f.openg2p.as_str(), f.openg2p_case.as_str()), (f.registry.as_str(), f.demo_case.as_str())]
}

/// Every playbook fixture: the real ones and the broken-on-purpose ones (one rule each).
fn playbook_fixtures() -> Vec<(String, String)> {
    let f = &*FIXTURES;
    let mut out = vec![("openg2p".to_string(), f.openg2p.clone()), ("registry".to_string(), f.registry.clone())];
    out.push(("broken/mini-playbook.md".into(), read(&format!("{BROKEN}/mini-playbook.md"))));
    for dir in broken_dirs() {
        let path = format!("{BROKEN}/{dir}/playbook.md");
        if std::path::Path::new(&path).exists() {
            out.push((format!("broken/{dir}/playbook.md"), read(&path)));
        }
    }
    out
}

/// Every (name, playbook, case) fixture triple: the real ones and the broken-on-purpose cases.
fn case_fixtures() -> Vec<(String, String, String)> {
    let f = &*FIXTURES;
    let mut out = vec![
        ("openg2p".to_string(), f.openg2p.clone(), f.openg2p_case.clone()),
        ("demo".to_string(), f.registry.clone(), f.demo_case.clone()),
    ];
    let mini = read(&format!("{BROKEN}/mini-playbook.md"));
    for dir in broken_dirs() {
        let path = format!("{BROKEN}/{dir}/working_case.yaml");
        if std::path::Path::new(&path).exists() {
            out.push((format!("broken/{dir}/working_case.yaml"), mini.clone(), read(&path)));
        }
    }
    out
}

fn broken_dirs() -> Vec<String> {
    let mut dirs: Vec<String> = std::fs::read_dir(BROKEN)
        .unwrap_or_else(|e| panic!("cannot list {BROKEN}: {e}"))
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    dirs
}

// ---------------------------------------------------------------------------------------------
// The pipeline and its invariants

/// Everything the pipeline produced for one playbook and one case.
struct Checked {
    playbook: Playbook,
    lint: Vec<Finding>,
    case: Case,
    /// `check_case` with the current phase unset (the first phase).
    first_phase: Vec<Finding>,
    /// `check_case` with the current phase set to 2.
    phase_two: Vec<Finding>,
}

/// A document's text with its line table, to check spans against.
struct Doc<'t> {
    name: &'static str,
    text: &'t str,
    index: LineIndex,
}

impl<'t> Doc<'t> {
    fn new(name: &'static str, text: &'t str) -> Self {
        Doc { name, text, index: LineIndex::new(text) }
    }

    /// `span` is a valid range of this document, and both ends survive a trip through
    /// positions in every column unit.
    fn check_span(&self, span: &Span, what: &str, finding: &Finding) {
        let len = self.text.len();
        assert!(
            span.start <= span.end && span.end <= len,
            "{what} {span:?} of a {} finding is not a range of the {} ({len} bytes): {finding:#?}",
            finding.rule,
            self.name
        );
        for offset in [span.start, span.end] {
            assert!(
                self.text.is_char_boundary(offset),
                "{what} {span:?} of a {} finding cuts a character of the {} at {offset}: {finding:#?}",
                finding.rule,
                self.name
            );
            for unit in [ColumnUnit::Utf8, ColumnUnit::Utf16, ColumnUnit::Chars] {
                let pos = self.index.line_col(self.text, offset, unit);
                assert!((pos.line as usize) < self.index.line_count(), "line {} out of range", pos.line);
                let back = self.index.offset(self.text, pos, unit);
                assert_eq!(
                    back, offset,
                    "{what} {span:?} of a {} finding: offset {offset} -> {pos:?} ({unit:?}) -> {back} in the {}",
                    finding.rule, self.name
                );
            }
        }
    }
}

fn check_findings(findings: &[Finding], home: DocRef, playbook: &Doc<'_>, case: &Doc<'_>) {
    let doc = |d: DocRef| if d == DocRef::Playbook { playbook } else { case };
    for f in findings {
        assert_eq!(f.doc, home, "a finding in the wrong document: {f:#?}");
        assert!(!f.message.trim().is_empty(), "empty message: {f:#?}");
        assert_eq!(f.severity, f.rule.severity(), "severity of {}", f.rule);
        assert!(f.item.as_deref() != Some(""), "a finding about an item with no name: {f:#?}");
        let own = doc(f.doc);
        own.check_span(&f.span, "span", f);
        for r in &f.related {
            assert!(!r.message.trim().is_empty(), "empty related message: {f:#?}");
            doc(r.doc).check_span(&r.span, "related span", f);
        }
        for fix in &f.fixes {
            match fix {
                Fix::Replace { span, text, title } => {
                    assert!(!title.trim().is_empty(), "untitled fix: {f:#?}");
                    assert!(!text.is_empty(), "a fix that replaces text with nothing: {f:#?}");
                    own.check_span(span, "fix span", f);
                }
                Fix::RecordAnswer { item, .. } | Fix::MarkDeferred { item } | Fix::MarkUnknown { item } => {
                    assert!(!item.is_empty(), "a fix for an item with no name: {f:#?}")
                }
            }
        }
    }
}

/// `span` is a range of `text` on char boundaries.
fn assert_range(text: &str, span: &Span, what: impl FnOnce() -> String) {
    assert!(
        span.start <= span.end && span.end <= text.len() && text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
        "{} {span:?} is not a range of its document ({} bytes)",
        what(),
        text.len()
    );
}

/// `t.span` slices exactly to `t.text`.
fn assert_slice(text: &str, t: &Text, what: &str) {
    assert_range(text, &t.span, || format!("{what} {:?}", t.text));
    assert_eq!(&text[t.span.clone()], t.text, "{what}: the span does not slice to the text");
}

/// `inner` lies within `outer`.
fn assert_within(inner: &Span, outer: &Span, what: impl FnOnce() -> String) {
    assert!(outer.start <= inner.start && inner.end <= outer.end, "{} {inner:?} lies outside {outer:?}", what());
}

fn check_condition(text: &str, source: &Text, condition: &Result<Expr, ParseError>, what: &str) {
    assert_slice(text, source, what);
    match condition {
        Ok(expr) => {
            for r in expr.refs() {
                let span = source.span.start + r.span.start..source.span.start + r.span.end;
                assert_range(text, &span, || format!("{what}: reference `{}`", r.id));
                assert_eq!(&text[span], r.id, "{what}: the reference span does not slice to its id");
            }
        }
        Err(e) => assert_range(&source.text, &e.span, || format!("{what}: parse error {:?}", e.message)),
    }
}

/// Every span of the playbook model is a range of the text, and the spans that name a piece of
/// text (ids, labels, values, names, enum members, references) slice exactly to it.
fn check_model(p: &Playbook, text: &str) {
    if let Some(title) = &p.title {
        assert_slice(text, title, "title");
    }
    for (pi, phase) in p.phases.iter().enumerate() {
        assert_slice(text, &phase.name, "phase name");
        assert_range(text, &phase.span, || format!("phase {}", phase.number));
        assert_within(&phase.heading, &phase.span, || format!("heading of phase {}", phase.number));
        for section in &phase.sections {
            assert_slice(text, &section.title, "section title");
            assert_within(&section.heading, &section.span, || format!("heading of section {:?}", section.title.text));
            assert_within(&section.span, &phase.span, || format!("section {:?}", section.title.text));
        }
        for block in &phase.blocks {
            assert_range(text, &block.name.span, || format!("block {:?}", block.name.text));
            assert_eq!(text[block.name.span.clone()].trim(), block.name.text, "block name");
            assert!(block.items.iter().all(|&i| p.items[i].phase == pi), "block items in another phase");
        }
        for field in phase.enter.iter().chain(&phase.exit) {
            assert_slice(text, &field.label, "Enter/Exit label");
            assert_slice(text, &field.value, "Enter/Exit value");
        }
        for check in &phase.gap_checks {
            assert_slice(text, check, "gap check");
        }
        assert!(phase.items.iter().all(|&i| p.items[i].phase == pi) && phase.activities.iter().all(|&a| p.activities[a].phase == pi));
    }
    for item in &p.items {
        let what = || format!("item `{}`", item.id);
        assert_slice(text, &Text { text: item.id.clone(), span: item.id_span.clone() }, "item id");
        assert_within(&item.heading, &item.span, what);
        assert_within(&item.id_span, &item.span, what);
        assert_within(&item.span, &p.phases[item.phase].span, what);
        for field in &item.fields {
            assert_slice(text, &field.label, "field label");
            assert_slice(text, &field.value, "field value");
            assert_within(&field.value.span, &item.span, what);
        }
        if let Some(ValueType::Enum { members }) = item.value_type.as_ref().map(|t| &t.value_type) {
            members.iter().for_each(|m| assert_slice(text, m, "enum member"));
        }
        if let Some(RequiredRule::Conditional { text: source, condition }) = item.required.as_ref().map(|r| &r.rule) {
            check_condition(text, source, condition, &format!("condition of `{}`", item.id));
        }
    }
    for activity in &p.activities {
        let what = || format!("activity `{}`", activity.name.text);
        assert_slice(text, &activity.name, "activity name");
        assert_within(&activity.name.span, &activity.span, what);
        assert_within(&activity.span, &p.phases[activity.phase].span, what);
        if let Some((number, span)) = &activity.number {
            assert_range(text, span, what);
            assert_eq!(text[span.clone()].parse::<u32>().ok(), Some(*number), "activity number");
        }
        for field in &activity.fields {
            assert_slice(text, &field.label, "activity field label");
            assert_slice(text, &field.value, "activity field value");
        }
        activity.input_refs.iter().for_each(|r| assert_slice(text, r, "input reference"));
        if let Some(run) = &activity.run {
            assert_slice(text, &run.script, "run block");
            assert_within(&run.span, &activity.span, what);
        }
    }
}

/// Every node of the case's YAML tree and every answer span is a range of the text; plain keys
/// slice exactly to their id.
fn check_case_model(case: &Case, text: &str) {
    let mut stack: Vec<&Node> = case.root.iter().collect();
    while let Some(node) = stack.pop() {
        assert_range(text, &node.span, || format!("YAML node {:?}", node.kind));
        match &node.kind {
            NodeKind::Seq(items) => stack.extend(items),
            NodeKind::Map(entries) => entries.iter().for_each(|e| {
                stack.push(&e.key);
                stack.push(&e.value);
            }),
            NodeKind::Scalar(_) | NodeKind::Alias => {}
        }
    }
    for a in &case.answers {
        assert_range(text, &a.key_span, || format!("key of `{}`", a.id));
        let raw = &text[a.key_span.clone()];
        if !raw.starts_with(['"', '\'', '!', '&', '?']) && !raw.contains('\n') {
            assert_eq!(raw, a.id, "the key span does not slice to the id");
        }
    }
    if let Some(e) = &case.syntax_error {
        assert_range(text, &(e.offset..e.offset), || "the syntax error".into());
    }
}

/// A finding as a hashable key, to compare collections of findings as multisets.
fn key(f: &Finding) -> (Rule, usize, usize, &str) {
    (f.rule, f.span.start, f.span.end, f.message.as_str())
}

/// Run the whole pipeline on a playbook and a case and assert the invariants on every finding.
fn check_everything(playbook_text: &str, case_text: &str) -> Checked {
    let playbook = playbook::parse(playbook_text);
    let lint = analysis::lint_playbook(&playbook, &BUILTIN_HANDLERS);
    let case = Case::parse(case_text);
    let check = |current_phase| {
        let ctx = CaseContext { current_phase, files: &NoFileProbe };
        analysis::check_case(&case, case_text, &playbook, &ctx)
    };
    let first_phase = check(None);
    let phase_two = check(Some(2));
    let structural = analysis::structural(&case);
    let not_found = analysis::playbook_not_found(&case, "robustness test");

    check_model(&playbook, playbook_text);
    check_case_model(&case, case_text);
    let pb_doc = Doc::new("playbook", playbook_text);
    let case_doc = Doc::new("case", case_text);
    check_findings(&lint, DocRef::Playbook, &pb_doc, &case_doc);
    check_findings(&first_phase, DocRef::Case, &pb_doc, &case_doc);
    check_findings(&phase_two, DocRef::Case, &pb_doc, &case_doc);
    check_findings(&structural, DocRef::Case, &pb_doc, &case_doc);
    check_findings(std::slice::from_ref(&not_found), DocRef::Case, &pb_doc, &case_doc);
    assert_eq!(not_found.rule, Rule::PlaybookNotFound);
    // The structural findings are part of every full check.
    for full in [&first_phase, &phase_two] {
        let mut have: HashMap<_, usize> = HashMap::new();
        full.iter().for_each(|f| *have.entry(key(f)).or_default() += 1);
        for f in &structural {
            let n = have.get_mut(&key(f)).unwrap_or_else(|| panic!("structural finding missing from check_case: {f:#?}"));
            assert!(*n > 0, "structural finding missing from check_case: {f:#?}");
            *n -= 1;
        }
    }
    // Moving to a later phase only adds missing answers; everything else stays the same.
    let mut later: HashMap<_, usize> = HashMap::new();
    phase_two.iter().for_each(|f| *later.entry(key(f)).or_default() += 1);
    for f in &first_phase {
        match later.get_mut(&key(f)) {
            Some(n) if *n > 0 => *n -= 1,
            _ => panic!("a Phase 1 finding is gone in Phase 2: {f:#?}"),
        }
    }
    assert!(later.iter().all(|(k, &n)| n == 0 || k.0 == Rule::MissingAnswer), "Phase 2 adds more than missing answers");
    Checked { playbook, lint, case, first_phase, phase_two }
}

// ---------------------------------------------------------------------------------------------
// Helpers for the named tests

/// (rule id, 1-based line of the span start) of every finding, sorted.
fn rules_and_lines(text: &str, findings: &[Finding]) -> Vec<(&'static str, u32)> {
    let index = LineIndex::new(text);
    let mut out: Vec<_> = findings.iter().map(|f| (f.rule.id(), line_of(&index, text, f.span.start))).collect();
    out.sort_unstable();
    out
}

/// 1-based line of a byte offset.
fn line_of(index: &LineIndex, text: &str, offset: usize) -> u32 {
    index.line_col(text, offset, ColumnUnit::Chars).line + 1
}

fn count(findings: &[Finding], rule: Rule) -> usize {
    findings.iter().filter(|f| f.rule == rule).count()
}

fn rule_counts(findings: &[Finding]) -> HashMap<Rule, usize> {
    let mut out = HashMap::new();
    findings.iter().for_each(|f| *out.entry(f.rule).or_default() += 1);
    out
}

/// (phases, items, activities, blocks, items with a Required field) of a playbook.
fn shape(p: &Playbook) -> (usize, usize, usize, usize, usize) {
    let blocks = p.phases.iter().map(|ph| ph.blocks.len()).sum();
    let required = p.items.iter().filter(|i| i.required.is_some()).count();
    (p.phases.len(), p.items.len(), p.activities.len(), blocks, required)
}

/// An item as (id, Required, Type, [(label, value)]), independent of offsets and line endings.
type ItemSummary = (String, String, String, Vec<(String, String)>);

/// What each item looks like, independent of byte offsets and line endings.
fn item_summary(p: &Playbook) -> Vec<ItemSummary> {
    p.items
        .iter()
        .map(|i| {
            let required = match i.required.as_ref().map(|r| &r.rule) {
                None => "absent".to_string(),
                Some(RequiredRule::Yes) => "yes".into(),
                Some(RequiredRule::No) => "no".into(),
                Some(RequiredRule::Conditional { condition: Ok(e), .. }) => {
                    format!("conditional on {:?}", e.refs().iter().map(|r| &r.id).collect::<Vec<_>>())
                }
                Some(RequiredRule::Conditional { condition: Err(e), .. }) => format!("unparsed: {}", e.message),
                Some(RequiredRule::Invalid) => "invalid".into(),
            };
            let ty = i.value_type.as_ref().map_or("absent".into(), |t| t.value_type.describe());
            let fields = i.fields.iter().map(|f| (f.label.text.clone(), f.value.text.replace("\r\n", "\n"))).collect();
            (i.id.clone(), required, ty, fields)
        })
        .collect()
}

/// Every scalar value of a node, depth first.
fn scalars(node: &Node, out: &mut Vec<String>) {
    match &node.kind {
        NodeKind::Scalar(s) => out.push(s.value.clone()),
        NodeKind::Seq(items) => items.iter().for_each(|n| scalars(n, out)),
        NodeKind::Map(entries) => entries.iter().for_each(|e| {
            scalars(&e.key, out);
            scalars(&e.value, out);
        }),
        NodeKind::Alias => out.push("*alias".into()),
    }
}

/// (id, scalar values) of every answer of a case.
fn answer_values(case: &Case) -> Vec<(String, Vec<String>)> {
    case.answers
        .iter()
        .map(|a| {
            let mut values = Vec::new();
            scalars(&a.value, &mut values);
            (a.id.clone(), values)
        })
        .collect()
}

fn crlf(text: &str) -> String {
    text.replace('\n', "\r\n")
}

fn within(limit: Duration, what: &str, started: Instant) {
    let elapsed = started.elapsed();
    assert!(elapsed < limit, "{what} took {elapsed:?} (limit {limit:?})");
}

/// A playbook with one phase holding the given Discovery items text.
fn one_phase(items: &str) -> String {
    format!("# T\n\n## Phase 1: One\n\n### Discovery items\n\n{items}")
}

fn answer<'c>(case: &'c Case, id: &str) -> &'c Node {
    &case.answer_entry(id).unwrap_or_else(|| panic!("no answer `{id}`")).value
}

const CHILD_ENV: &str = "PLAYBOOK_ROBUSTNESS_CHILD";

/// Whether this process is a child started by [`in_child`] (child tests do nothing otherwise).
fn is_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

/// Run the ignored test `name` of this test binary in a child process, kill it after `limit`,
/// and fail with everything it printed unless it passed.
fn in_child(name: &str, limit: Duration) {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut child = Command::new(exe)
        .args(["--ignored", "--exact", name, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the child test");
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child test") {
            break Some(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = format!("--- stdout\n{}\n--- stderr\n{}", stdout.join().unwrap_or_default(), stderr.join().unwrap_or_default());
    match status {
        None => panic!("`{name}` did not finish within {limit:?} (killed)\n{output}"),
        Some(status) => {
            assert!(status.success(), "`{name}` failed ({status})\n{output}");
            assert!(output.contains("1 passed"), "`{name}` did not run in the child\n{output}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Line endings and byte-order marks

#[test]
fn crlf_playbooks_parse_and_lint_like_lf() {
    for (name, lf) in playbook_fixtures() {
        let crlf = crlf(&lf);
        let a = check_everything(&lf, "");
        let b = check_everything(&crlf, "");
        assert_eq!(shape(&b.playbook), shape(&a.playbook), "{name}: counts with CRLF");
        assert_eq!(item_summary(&b.playbook), item_summary(&a.playbook), "{name}: items with CRLF");
        let activities = |p: &Playbook| {
            p.activities.iter().map(|x| (x.name.text.clone(), x.remote, x.aborts_on_failure, x.run.is_some())).collect::<Vec<_>>()
        };
        assert_eq!(activities(&b.playbook), activities(&a.playbook), "{name}: activities with CRLF");
        assert_eq!(rules_and_lines(&crlf, &b.lint), rules_and_lines(&lf, &a.lint), "{name}: lint with CRLF");
    }
}

#[test]
fn crlf_cases_check_like_lf() {
    for (name, playbook, lf) in case_fixtures() {
        let crlf = crlf(&lf);
        let a = check_everything(&playbook, &lf);
        let b = check_everything(&playbook, &crlf);
        assert_eq!(answer_values(&b.case), answer_values(&a.case), "{name}: answers with CRLF");
        assert!(answer_values(&b.case).iter().flat_map(|(_, v)| v).all(|v| !v.contains('\r')), "{name}: a value kept a CR");
        assert_eq!(rules_and_lines(&crlf, &b.first_phase), rules_and_lines(&lf, &a.first_phase), "{name}: findings with CRLF");
        assert_eq!(rules_and_lines(&crlf, &b.phase_two), rules_and_lines(&lf, &a.phase_two), "{name}: Phase 2 findings with CRLF");
    }
}

#[test]
fn leading_bom_playbooks_keep_counts_and_rules() {
    for (name, text) in playbook_fixtures() {
        let bom = format!("\u{feff}{text}");
        let a = check_everything(&text, "");
        let b = check_everything(&bom, "");
        assert_eq!(shape(&b.playbook), shape(&a.playbook), "{name}: counts with a BOM");
        assert_eq!(item_summary(&b.playbook), item_summary(&a.playbook), "{name}: items with a BOM");
        assert_eq!(rules_and_lines(&bom, &b.lint), rules_and_lines(&text, &a.lint), "{name}: lint with a BOM");
    }
}

/// A BOM is not text: the first line after it is read as if it were not there.
#[test]
fn leading_bom_keeps_the_title_and_a_first_line_phase() {
    let text = &FIXTURES.openg2p;
    let title = |t: &str| playbook::parse(t).title.map(|t| t.text);
    assert_eq!(title(&format!("\u{feff}{text}")), title(text), "the H1 title after a BOM");
    let starts_with_phase = one_phase("#### a\n\n* **Ask:** q?\n").replacen("# T\n\n", "", 1);
    let plain = playbook::parse(&starts_with_phase);
    assert_eq!((plain.phases.len(), plain.items.len()), (1, 1));
    let bom = playbook::parse(&format!("\u{feff}{starts_with_phase}"));
    assert_eq!((bom.phases.len(), bom.items.len()), (1, 1), "a playbook whose first line (after a BOM) is `## Phase 1: …` lost its phase");
}

#[test]
fn leading_bom_cases_check_like_without() {
    for (name, playbook, text) in case_fixtures() {
        let bom = format!("\u{feff}{text}");
        let a = check_everything(&playbook, &text);
        let b = check_everything(&playbook, &bom);
        assert_eq!(answer_values(&b.case), answer_values(&a.case), "{name}: answers with a BOM");
        assert_eq!(b.case.playbook.as_ref().map(|p| &p.path), a.case.playbook.as_ref().map(|p| &p.path), "{name}");
        assert_eq!(rules_and_lines(&bom, &b.first_phase), rules_and_lines(&text, &a.first_phase), "{name}: findings with a BOM");
    }
}

/// Regression: positions after a lone CR at the end of a line do not map back to their offset.
/// (Minimal input found by `token_soup_as_playbook_and_case`.)
#[test]
fn lone_carriage_returns_round_trip_through_positions() {
    for text in ["x\r", "a\r\r\nb", "ሰ\r\n👋\r"] {
        let index = LineIndex::new(text);
        for offset in (0..=text.len()).filter(|&o| text.is_char_boundary(o)) {
            // Between the CR and the LF of a CRLF no position exists; skip it.
            if text[..offset].ends_with('\r') && text[offset..].starts_with('\n') {
                continue;
            }
            for unit in [ColumnUnit::Utf8, ColumnUnit::Utf16, ColumnUnit::Chars] {
                let pos = index.line_col(text, offset, unit);
                assert_eq!(index.offset(text, pos, unit), offset, "{text:?}: offset {offset} -> {pos:?} ({unit:?})");
            }
        }
    }
    check_everything("", "playbook: p.md\nanswers:\n  \r\n(\r");
}

// ---------------------------------------------------------------------------------------------
// Tabs

const COLOURS: &str = "**Looks**\n\n#### colour\n\n* **Ask:** Which colour?\n* **Why:** Because.\n* **Required:** conditional: `size` = big\n* **Type:** enum \\[`red`, `green`]\n* **Impact:** code\n\n#### size\n\n* **Ask:** How big?\n* **Why:** It matters.\n* **Required:** yes\n* **Type:** text\n* **Impact:** cod\n";

#[test]
fn tabs_after_bullet_markers_and_labels_read_like_spaces() {
    let spaces = one_phase(COLOURS);
    let tabs = spaces.replace("\n* **", "\n*\t**").replace(":** ", ":**\t");
    assert!(tabs.contains("*\t**Ask:**\tWhich colour?"));
    let a = check_everything(&spaces, "");
    let b = check_everything(&tabs, "");
    assert_eq!(item_summary(&b.playbook), item_summary(&a.playbook));
    assert_eq!(a.playbook.items[0].fields.len(), 5);
    assert_eq!(rules_and_lines(&tabs, &b.lint), rules_and_lines(&spaces, &a.lint));
    assert_eq!(b.lint.iter().map(|f| &tabs[f.span.clone()]).collect::<Vec<_>>(), ["cod"]);
}

/// A follow-up bullet indented with a tab (column 4, inside its parent item) is still a
/// follow-up item.
#[test]
fn tab_indented_follow_up_is_still_an_item() {
    let spaces = one_phase(&COLOURS.replace(
        "* **Impact:** code\n",
        "* **Impact:** code\n* **Follow-ups (when red):**\n  * **`shade`** _(when `colour` = red)_ — Which shade?\n",
    ));
    let tab = spaces.replace("  * **`shade`**", "\t* **`shade`**");
    let ids = |t: &str| playbook::parse(t).items.iter().map(|i| i.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&spaces), ["colour", "shade", "size"]);
    assert_eq!(ids(&tab), ["colour", "shade", "size"], "the tab-indented follow-up was dropped");
    let b = check_everything(&tab, "");
    assert_eq!(item_summary(&b.playbook), item_summary(&check_everything(&spaces, "").playbook));
}

#[test]
fn yaml_tab_indentation_is_exactly_one_syntax_error_with_a_position() {
    let playbook = &FIXTURES.openg2p;
    // (case, the 1-based line of the tab)
    let cases = [
        ("playbook: p.md\nanswers:\n\tcountry: Kenya\n", 3),
        ("playbook: p.md\nanswers:\n  country: Kenya\n\tregistry_name: Registry\n", 4),
        ("playbook: p.md\nanswers:\n  supported_languages:\n\t- English\n", 4),
    ];
    let mut got = Vec::new();
    for (case, _) in cases {
        let checked = check_everything(playbook, case);
        for findings in [&checked.first_phase, &checked.phase_two, &analysis::structural(&checked.case)] {
            assert_eq!(findings.len(), 1, "{case:?}: {findings:#?}");
            let f = &findings[0];
            assert_eq!((f.rule, f.severity), (Rule::YamlSyntax, Severity::Error), "{case:?}");
            assert!(f.message.contains("tab"), "{case:?}: {}", f.message);
        }
        let f = &checked.first_phase[0];
        got.push((case, line_of(&LineIndex::new(case), case, f.span.start), f.message.clone()));
    }
    // The error is reported on the line that holds the tab.
    let lines: Vec<_> = got.iter().map(|(case, line, _)| (*case, *line)).collect();
    assert_eq!(lines, cases, "{got:#?}");
}

/// Tabs are white space between tokens in YAML 1.2 (only indentation must be spaces).
#[test]
fn yaml_tab_after_a_colon_separates_key_and_value() {
    let case = "playbook: p.md\nanswers:\n  country:\tKenya\n  supported_languages: [English,\tSwahili]\n";
    let checked = check_everything(&FIXTURES.openg2p, case);
    assert_eq!(checked.case.syntax_error, None, "{case:?}");
    assert_eq!(
        answer_values(&checked.case),
        [("country".into(), vec!["Kenya".into()]), ("supported_languages".into(), vec!["English".into(), "Swahili".into()])]
    );
}

// ---------------------------------------------------------------------------------------------
// Non-ASCII

const WORLD: &str = "# ሰላም\n\n## Phase 1: ዓለም 👋🏽\n\n### Discovery items\n\n**ሰላም ዓለም 👋🏽**\n\n#### greeting\n\n* **Ask:** ሰላም ማለት እንዴት ነው? 👋🏽\n* **Why:** ዓለም\n* **Required:** yes\n* **Type:** enum \\[`ሰላም`, `👋🏽`, `e\u{301}`]\n* **Impact:** ኮድ\n\n#### ስም\n\n* **Ask:** ስምህ ማን ነው?\n* **Type:** text\n\n#### note\n\n* **Ask:** q\n* **Why:** w\n* **Required:** conditional: `greeting` = 👋🏽\n* **Type:** text\n* **Impact:** code\n";

#[test]
fn non_ascii_headings_asks_enum_members_and_answers() {
    let pb = WORLD;
    let case = "playbook: p.md\nanswers:\n  greeting: ሰላም\n  ስም: አበበ 👋🏽\n  note: \"ዓለም\\u00e9\"\n  ስሞ: x\n";
    let c = check_everything(pb, case);
    let p = &c.playbook;

    // The model keeps the non-ASCII text and spans that slice exactly to it.
    let title = p.title.as_ref().expect("title");
    assert_eq!((title.text.as_str(), &pb[title.span.clone()]), ("ሰላም", "ሰላም"));
    assert_eq!(&pb[p.phases[0].name.span.clone()], "ዓለም 👋🏽");
    let block = &p.phases[0].blocks[0];
    assert_eq!((block.name.text.as_str(), &pb[block.name.span.clone()], block.items.len()), ("ሰላም ዓለም 👋🏽", "ሰላም ዓለም 👋🏽", 3));
    assert_eq!(
        p.items.iter().map(|i| (i.id.as_str(), &pb[i.id_span.clone()])).collect::<Vec<_>>(),
        [("greeting", "greeting"), ("ስም", "ስም"), ("note", "note")]
    );
    let ask = p.items[0].ask.as_ref().expect("ask");
    assert_eq!(&pb[ask.value.span.clone()], "ሰላም ማለት እንዴት ነው? 👋🏽");
    assert_eq!(p.items[0].ask_plain().as_deref(), Some("ሰላም ማለት እንዴት ነው? 👋🏽"));
    let Some(ValueType::Enum { members }) = p.items[0].value_type.as_ref().map(|t| &t.value_type) else { panic!("greeting is an enum") };
    assert_eq!(
        members.iter().map(|m| (m.text.as_str(), &pb[m.span.clone()])).collect::<Vec<_>>(),
        [("ሰላም", "ሰላም"), ("👋🏽", "👋🏽"), ("e\u{301}", "e\u{301}")]
    );

    // Playbook findings point at exactly the non-ASCII text.
    let lint: Vec<_> = c.lint.iter().map(|f| (f.rule, &pb[f.span.clone()])).collect();
    assert_eq!(lint, [(Rule::UnknownImpact, "ኮድ"), (Rule::MissingField, "ስም")]);

    // Answers round-trip: the value is what was written, the span slices exactly to it.
    assert_eq!(
        answer_values(&c.case),
        [
            ("greeting".into(), vec!["ሰላም".into()]),
            ("ስም".into(), vec!["አበበ 👋🏽".into()]),
            ("note".into(), vec!["ዓለምé".into()]),
            ("ስሞ".into(), vec!["x".into()])
        ]
    );
    assert_eq!(&case[answer(&c.case, "ስም").span.clone()], "አበበ 👋🏽");
    assert_eq!(&case[c.case.answer_entry("ስም").unwrap().key_span.clone()], "ስም");

    // Case findings: only the unknown key, pointing at it, with a rename to the known one.
    assert_eq!(c.first_phase.len(), 1, "{:#?}", c.first_phase);
    let f = &c.first_phase[0];
    assert_eq!((f.rule, &case[f.span.clone()]), (Rule::UnknownItem, "ስሞ"));
    assert!(matches!(&f.fixes[..], [Fix::Replace { text, .. }] if text == "ስም"), "{f:#?}");

    // An enum value that is not a member: the finding covers exactly the emoji, in every unit.
    let wrong = "playbook: p.md\nanswers:\n  greeting: 👋🏾\n";
    let c = check_everything(pb, wrong);
    let f = c.first_phase.iter().find(|f| f.rule == Rule::InvalidValue).expect("invalid-value");
    assert_eq!(&wrong[f.span.clone()], "👋🏾");
    let index = LineIndex::new(wrong);
    let width = |unit| index.line_col(wrong, f.span.end, unit).col - index.line_col(wrong, f.span.start, unit).col;
    assert_eq!((width(ColumnUnit::Utf8), width(ColumnUnit::Utf16), width(ColumnUnit::Chars)), (8, 4, 2));
    assert_eq!(index.line_col(wrong, f.span.start, ColumnUnit::Utf16).col, 12);
    assert!(f.fixes.iter().any(|x| matches!(x, Fix::Replace { text, .. } if text == "👋🏽")), "{f:#?}");

    // A condition compares non-ASCII values: `note` is required only when greeting = 👋🏽.
    let required_note = |greeting: &str| {
        let case = format!("playbook: p.md\nanswers:\n  greeting: {greeting}\n  ስም: x\n");
        let c = check_everything(pb, &case);
        c.first_phase.iter().any(|f| f.rule == Rule::MissingAnswer && f.item.as_deref() == Some("note"))
    };
    assert!(required_note("👋🏽"));
    assert!(!required_note("ሰላም"));
}

// ---------------------------------------------------------------------------------------------
// Empty and nameless

#[test]
fn empty_playbook_and_empty_case() {
    for text in ["", "\n\n  \n", "\u{feff}", "\r\n"] {
        let c = check_everything(text, text);
        let p = &c.playbook;
        assert!(p.title.is_none() && p.phases.is_empty() && p.items.is_empty() && p.activities.is_empty(), "{text:?}");
        assert!(c.lint.is_empty() && c.first_phase.is_empty() && c.phase_two.is_empty(), "{text:?}");
        assert!(c.case.syntax_error.is_none() && c.case.playbook.is_none() && c.case.answers.is_empty(), "{text:?}");
        assert!(analysis::structural(&c.case).is_empty(), "{text:?}");
        // Which playbook? The shell reports it; the core builds the finding.
        let f = analysis::playbook_not_found(&c.case, "no path given");
        assert_eq!((f.rule, f.severity, f.span.clone()), (Rule::PlaybookNotFound, Severity::Error, 0..0));
        assert!(f.message.contains("playbook:"), "{}", f.message);
    }
    // An empty case against the real playbook: every item required outright in Phase 1 is missing,
    // reported at the start of the file.
    let c = check_everything(&FIXTURES.openg2p, "");
    let yes = c.playbook.phases[0]
        .items
        .iter()
        .filter(|&&i| matches!(c.playbook.items[i].required.as_ref().map(|r| &r.rule), Some(RequiredRule::Yes)))
        .count();
    assert_eq!(yes, 56);
    assert_eq!(count(&c.first_phase, Rule::MissingAnswer), yes);
    assert!(c.first_phase.iter().all(|f| f.rule == Rule::MissingAnswer && f.span == (0..0)));
}

/// An empty `####` heading is not an item that a case could answer: nothing asks the implementer
/// to record an answer under an empty key or to rename a key to nothing.
#[test]
fn empty_item_heading_is_not_a_nameless_item() {
    let complete = "* **Ask:** q?\n* **Why:** w\n* **Required:** yes\n* **Type:** text\n* **Impact:** code\n";
    for heading in ["#### \n", "#### ``\n", "####\n", "#### `\n"] {
        let pb = one_phase(&format!("{heading}\n{complete}\n#### a\n\n{complete}"));
        let p = playbook::parse(&pb);
        let lint = analysis::lint_playbook(&p, &BUILTIN_HANDLERS);
        for item in p.items.iter().filter(|i| i.id.is_empty()) {
            assert!(
                lint.iter().any(|f| f.span.start >= item.heading.start && f.span.end <= item.heading.end),
                "{heading:?}: an item with no id and no finding about it: {lint:#?}"
            );
        }
        // Invariants on fixes and items, checked by `check_everything`.
        check_everything(&pb, "playbook: p.md\nanswers:\n  b: 1\n");
    }
}

/// A label written with white space inside the bold (`** Ask:**`) is read as `Ask`; its span
/// must slice to `Ask` too, not start at the white space. (Found by `edited_playbooks`.)
#[test]
fn field_label_spans_slice_to_the_label() {
    let pb = one_phase(
        "#### a\n\n* ** Ask:** q?\n* **\tImpact:** code\n* **Why :** w\n\n### Activities\n\n#### go\n\n* **  Side effects:** none\n",
    );
    let p = playbook::parse(&pb);
    let labels = |fields: &[playbook::Field]| {
        fields.iter().map(|f| (f.label.text.clone(), pb[f.label.span.clone()].to_string())).collect::<Vec<_>>()
    };
    let pairs = |names: &[&str]| names.iter().map(|n| (n.to_string(), n.to_string())).collect::<Vec<_>>();
    assert_eq!(labels(&p.items[0].fields), pairs(&["Ask", "Impact", "Why"]));
    assert_eq!(labels(&p.activities[0].fields), pairs(&["Side effects"]));
}

// ---------------------------------------------------------------------------------------------
// Size

/// `n` copies of `text` separated by a blank line, and the number of lines each copy adds.
fn repeated(text: &str, min_bytes: usize) -> (String, usize, u32) {
    let n = min_bytes / text.len() + 1;
    let big = vec![text; n].join("\n\n");
    let stride = text.matches('\n').count() as u32 + 2;
    (big, n, stride)
}

#[test]
fn ten_mb_playbook_parses_and_lints_to_a_multiple_of_one_copy() {
    let started = Instant::now();
    let one = &FIXTURES.openg2p;
    let (big, n, stride) = repeated(one, 10 << 20);
    assert!(big.len() >= 10 << 20);
    let single = check_everything(one, &FIXTURES.openg2p_case);
    let c = check_everything(&big, &FIXTURES.openg2p_case);
    let (phases, items, activities, blocks, required) = shape(&single.playbook);
    assert_eq!(shape(&c.playbook), (n * phases, n * items, n * activities, n * blocks, n * required));

    // Every finding of one copy recurs in each copy, `stride` lines further down; each item of
    // copies 2..n is a duplicate of the one in the first copy.
    assert_eq!(count(&single.lint, Rule::DuplicateItem), 0);
    let one_index = LineIndex::new(one);
    let mut expected = Vec::new();
    for k in 0..n as u32 {
        for (rule, line) in rules_and_lines(one, &single.lint) {
            expected.push((rule, line + k * stride));
        }
        if k > 0 {
            for item in &single.playbook.items {
                expected.push((Rule::DuplicateItem.id(), line_of(&one_index, one, item.id_span.start) + k * stride));
            }
        }
    }
    expected.sort_unstable();
    assert_eq!(rules_and_lines(&big, &c.lint), expected);
    assert_eq!(count(&c.lint, Rule::DuplicateItem), (n - 1) * items);
    assert_eq!(count(&c.lint, Rule::UndefinedReference), n);
    assert_eq!(count(&c.lint, Rule::RemoteBeforeLocal), n);
    // The case reads the first copy of each item: the same findings as against one copy.
    assert_eq!(rules_and_lines(&FIXTURES.openg2p_case, &c.phase_two), rules_and_lines(&FIXTURES.openg2p_case, &single.phase_two));
    within(Duration::from_secs(60), "a 10 MB playbook", started);
}

#[test]
fn ten_mb_case_checks_to_a_multiple_of_one_copy() {
    let started = Instant::now();
    let playbook = &FIXTURES.openg2p;
    let text = &FIXTURES.openg2p_case;
    let split = text.find("answers:\n").expect("an answers key") + "answers:\n".len();
    let (head, body) = text.split_at(split);
    let (answers, m, _) = repeated(body, 10 << 20);
    let big = format!("{head}{answers}");
    assert!(big.len() >= 10 << 20);
    let single = check_everything(playbook, text);
    let c = check_everything(playbook, &big);
    let k = single.case.answers.len();
    assert!(single.case.duplicate_keys.is_empty());
    assert_eq!(c.case.answers.len(), m * k);
    // Copies 2..m repeat every key of the first, and each points back at it.
    assert_eq!(count(&c.phase_two, Rule::DuplicateKey), (m - 1) * k);
    for f in c.phase_two.iter().filter(|f| f.rule == Rule::DuplicateKey).step_by(997) {
        let first = &f.related[0].span;
        assert_eq!(&big[first.clone()], &big[f.span.clone()]);
        assert!(first.end <= split + body.len(), "the first occurrence is in the first copy");
    }
    // Everything else is the same as for one copy, once per answer.
    for (rule, n) in rule_counts(&single.phase_two) {
        let want = if rule == Rule::MissingAnswer { n } else { n * m };
        assert_eq!(count(&c.phase_two, rule), want, "{rule}");
    }
    within(Duration::from_secs(60), "a 10 MB case", started);
}

/// Many distinct answer keys: reading the case must not compare every key with every other.
#[test]
fn case_with_many_distinct_keys_reads_in_linear_time() {
    in_child("child_case_with_many_distinct_keys", Duration::from_secs(20));
}

#[test]
#[ignore = "run in a child process by case_with_many_distinct_keys_reads_in_linear_time"]
fn child_case_with_many_distinct_keys() {
    if !is_child() {
        return;
    }
    let mut text = String::from("playbook: p.md\nanswers:\n");
    let mut n = 0;
    while text.len() < 2 << 20 {
        text.push_str(&format!("  key_{n}: value {n}\n"));
        n += 1;
    }
    let started = Instant::now();
    let case = Case::parse(&text);
    eprintln!("{n} keys ({} bytes): parsed in {:?}", text.len(), started.elapsed());
    assert_eq!((case.answers.len(), case.duplicate_keys.len()), (n, 0));
    let playbook = playbook::parse(&FIXTURES.openg2p);
    let started = Instant::now();
    let findings = analysis::check_case(&case, &text, &playbook, &CaseContext { current_phase: None, files: &NoFileProbe });
    eprintln!("checked in {:?}", started.elapsed());
    assert_eq!(count(&findings, Rule::UnknownItem), n);
}

/// A 10 MB playbook of distinct items, all answered: checking must not search every item for
/// every answer (or every answer for every item).
#[test]
fn playbook_with_many_distinct_items_checks_in_linear_time() {
    in_child("child_playbook_with_many_distinct_items", Duration::from_secs(20));
}

#[test]
#[ignore = "run in a child process by playbook_with_many_distinct_items_checks_in_linear_time"]
fn child_playbook_with_many_distinct_items() {
    if !is_child() {
        return;
    }
    let n = 80_000;
    let mut items = String::new();
    for i in 0..n {
        let next = (i + 1) % n;
        items.push_str(&format!("#### item_{i}\n\n* **Ask:** q{i}?\n* **Why:** w\n* **Required:** conditional: `item_{next}` = yes\n* **Type:** boolean\n* **Impact:** code\n\n"));
    }
    let text = one_phase(&items);
    let started = Instant::now();
    let playbook = playbook::parse(&text);
    let lint = analysis::lint_playbook(&playbook, &BUILTIN_HANDLERS);
    eprintln!("{n} items ({} bytes): parsed and linted in {:?}", text.len(), started.elapsed());
    assert_eq!((playbook.items.len(), lint.len()), (n, 0));
    // A case answering every item, built without the YAML reader so that only the check is timed.
    let template = Case::parse("playbook: p.md\nanswers:\n  item_0: yes\n");
    let mut case = template.clone();
    case.set_answers((0..n).map(|i| playbook_core::case::AnswerEntry { id: format!("item_{i}"), ..template.answers[0].clone() }).collect());
    let started = Instant::now();
    let findings = analysis::check_case(&case, "", &playbook, &CaseContext { current_phase: None, files: &NoFileProbe });
    eprintln!("checked {n} answers in {:?}", started.elapsed());
    assert_eq!(findings, []);
}

// ---------------------------------------------------------------------------------------------
// Depth

#[test]
fn deeply_nested_flow_yaml_is_a_syntax_error_not_a_crash() {
    let deep = 10_000;
    for case in [
        "[".repeat(deep),
        format!("playbook: p.md\nanswers:\n  country: {}{}\n", "[".repeat(deep), "]".repeat(deep)),
        format!("playbook: p.md\nanswers:\n  country: {}", "{a: ".repeat(deep)),
        format!("playbook: p.md\nanswers:\n  country: {}", "[{a: ".repeat(deep)),
    ] {
        let c = check_everything(&FIXTURES.openg2p, &case);
        assert_eq!(c.first_phase.len(), 1, "{:#?}", c.first_phase);
        assert_eq!(c.first_phase[0].rule, Rule::YamlSyntax);
        assert!(c.first_phase[0].span.start > 0, "the error is where the nesting is too deep");
    }
    // Nesting a YAML reader accepts is read and checked like any other value.
    let case = format!("playbook: p.md\nanswers:\n  country: {}Kenya{}\n", "[".repeat(200), "]".repeat(200));
    let c = check_everything(&FIXTURES.openg2p, &case);
    let country = c.first_phase.iter().find(|f| f.item.as_deref() == Some("country")).expect("country is not text");
    assert_eq!(country.rule, Rule::InvalidValue);
    assert_eq!(&case[country.span.clone()], format!("{}Kenya{}", "[".repeat(200), "]".repeat(200)));
}

/// Block collections nest without brackets, so the YAML reader has no depth limit for them:
/// the core refuses nesting past `yaml::MAX_DEPTH` with a syntax error at the place it happens,
/// instead of recursing once per level on the stack.
#[test]
fn deeply_nested_block_yaml_does_not_overflow_the_stack() {
    in_child("child_deeply_nested_block_yaml", Duration::from_secs(60));
}

#[test]
#[ignore = "run in a child process by deeply_nested_block_yaml_does_not_overflow_the_stack"]
fn child_deeply_nested_block_yaml() {
    if !is_child() {
        return;
    }
    let deep = 10_000;
    let nested = format!("playbook: p.md\nanswers:\n  country:\n    {}Kenya\n", "- ".repeat(deep));
    let c = check_everything(&FIXTURES.openg2p, &nested);
    let error = c.case.syntax_error.as_ref().expect("nesting this deep is refused");
    assert!(error.message.contains("nested deeper"), "{error:?}");
    assert!(error.offset > nested.find("country").unwrap(), "the error is where the nesting is too deep");
    assert_eq!(c.first_phase.iter().map(|f| f.rule).collect::<Vec<_>>(), [Rule::YamlSyntax]);
    // The same at the top level of the document, where no answers are read.
    check_everything(&FIXTURES.openg2p, &format!("{}x\n", "- ".repeat(deep)));
    // Nesting within the limit is read and checked like any other value.
    let within = format!("playbook: p.md\nanswers:\n  country:\n    {}Kenya\n", "- ".repeat(200));
    let c = check_everything(&FIXTURES.openg2p, &within);
    assert_eq!(c.case.syntax_error, None);
    let country = c.first_phase.iter().find(|f| f.item.as_deref() == Some("country")).expect("country is not text");
    assert_eq!(country.rule, Rule::InvalidValue);
}

#[test]
fn deeply_nested_markdown_is_read() {
    let deep = 10_000;
    for items in [
        format!("{}#### quoted\n", "> ".repeat(deep)),
        format!("#### a\n\n{}**Ask:** q?\n", "* ".repeat(deep)),
        format!("#### a\n\n* **Ask:** {}q{}\n", "*_".repeat(deep), "_*".repeat(deep)),
        format!("#### a\n\n* **Ask:** {}q{}\n", "[".repeat(deep), "](x)".repeat(deep)),
        format!("#### a\n\n{}\n", (0..200).map(|i| format!("{}* **Ask:** q\n", "  ".repeat(i))).collect::<String>()),
    ] {
        let started = Instant::now();
        let c = check_everything(&one_phase(&items), "");
        assert_eq!(c.playbook.phases.len(), 1);
        within(Duration::from_secs(10), "deep Markdown", started);
    }
}

#[test]
fn yaml_alias_bomb_finishes_quickly() {
    let mut case = String::from("playbook: p.md\nlol0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        case.push_str(&format!("lol{i}: &a{i} [{}]\n", vec![format!("*a{}", i - 1); 9].join(", ")));
    }
    case.push_str("answers:\n  country: *a9\n  supported_languages: *a9\n  registers: [*a9, *a9]\n  registry_name: &name Registry\n  implementing_organisation: *name\n");
    let started = Instant::now();
    let c = check_everything(&FIXTURES.openg2p, &case);
    within(Duration::from_secs(5), "the alias bomb", started);
    assert_eq!(c.case.syntax_error, None);
    assert_eq!(c.case.answers.len(), 5);
    // Aliases are not expanded: an alias answer is reported where it is written, not as 9^10 values.
    for id in ["country", "supported_languages", "implementing_organisation"] {
        let f = c.first_phase.iter().find(|f| f.item.as_deref() == Some(id)).unwrap_or_else(|| panic!("no finding for {id}"));
        assert_eq!(f.rule, Rule::InvalidValue);
        assert!(case[f.span.clone()].starts_with('*'), "{id}: {:?}", &case[f.span.clone()]);
    }
    assert!(c.first_phase.len() < 100);
}

// ---------------------------------------------------------------------------------------------
// Conditions

fn with_condition(condition: &str) -> String {
    one_phase(&format!(
        "#### gate\n\n* **Ask:** Open?\n* **Why:** w\n* **Required:** no\n* **Type:** boolean\n* **Impact:** code\n\n#### x\n\n* **Ask:** What?\n* **Why:** w\n* **Required:** conditional: {condition}\n* **Type:** text\n* **Impact:** code\n"
    ))
}

fn condition_of(p: &Playbook) -> &Result<Expr, ParseError> {
    match &p.item("x").expect("item x").required.as_ref().expect("Required").rule {
        RequiredRule::Conditional { condition, .. } => condition,
        other => panic!("not conditional: {other:?}"),
    }
}

fn x_required(playbook: &str, gate: &str) -> bool {
    let c = check_everything(playbook, &format!("playbook: p.md\nanswers:\n  gate: {gate}\n"));
    c.first_phase.iter().any(|f| f.rule == Rule::MissingAnswer && f.item.as_deref() == Some("x"))
}

#[test]
fn condition_with_ten_thousand_ors() {
    let n = 10_000;
    let started = Instant::now();
    let pb = with_condition(&vec!["`gate` = yes"; n].join(" OR "));
    let c = check_everything(&pb, "");
    assert!(c.lint.is_empty(), "{:#?}", c.lint.first());
    let Ok(Expr::Or(terms)) = condition_of(&c.playbook) else { panic!("an OR of terms") };
    assert_eq!(terms.len(), n);
    assert!(x_required(&pb, "yes"));
    assert!(!x_required(&pb, "no"));

    // The same with AND, and with ORs of an undefined id: one finding per reference, each on it.
    let pb = with_condition(&vec!["`gate` = yes"; n].join(" AND "));
    assert!(matches!(condition_of(&playbook::parse(&pb)), Ok(Expr::And(t)) if t.len() == n));
    assert!(x_required(&pb, "yes"));
    // (Linted directly: `check_everything` would walk the 270 kB line once per finding.)
    let pb = with_condition(&vec!["`nowhere` = yes"; n].join(" OR "));
    let lint = analysis::lint_playbook(&playbook::parse(&pb), &BUILTIN_HANDLERS);
    assert_eq!(count(&lint, Rule::UndefinedReference), n);
    assert!(lint.iter().all(|f| pb.get(f.span.clone()) == Some("nowhere")));
    within(Duration::from_secs(30), "10,000-term conditions", started);
}

#[test]
fn condition_nested_ten_thousand_deep_is_unparsed_not_a_crash() {
    let deep = 10_000;
    let pb = with_condition(&format!("{}`gate` = yes{}", "(".repeat(deep), ")".repeat(deep)));
    let c = check_everything(&pb, "");
    assert!(condition_of(&c.playbook).is_err());
    assert_eq!(c.lint.iter().map(|f| f.rule).collect::<Vec<_>>(), [Rule::UnparsedCondition]);
    assert!(!x_required(&pb, "yes"), "an unparsed condition never makes an item required");
}

// ---------------------------------------------------------------------------------------------
// Property tests

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256);
    // No regression files: a failure prints its minimal input, which goes into a named test.
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// Text that breaks parsers: line endings, invisible characters, non-ASCII, Markdown and YAML
/// syntax out of place, the playbook schema's own markers.
#[derive(Debug, Clone)]
enum Snippet {
    Lit(&'static str),
    /// A very long line of one character.
    Long(char, usize),
}

impl Snippet {
    fn text(&self) -> String {
        match self {
            Snippet::Lit(s) => (*s).to_string(),
            Snippet::Long(c, n) => std::iter::repeat_n(*c, *n).collect(),
        }
    }
}

const NASTY: &[&str] = &[
    "\r\n",
    "\r",
    "\n",
    "\n\n",
    "\t",
    "\u{feff}",
    "\u{0}",
    "\u{2028}",
    "\u{200d}",
    "ሰላም ዓለም",
    "👋🏽",
    "e\u{301}\u{302}",
    "\u{308}",
    "**",
    "`",
    "``",
    "_",
    "#### ",
    "### Discovery items\n\n",
    "### Activities\n\n",
    "## Phase 2: Build\n\n",
    "**Block**\n\n",
    "* **Ask:** ",
    "* **Required:** conditional: ",
    "* **Required:** yes\n",
    "* **Type:** enum \\[`a`, `b`]\n",
    "* **Type:** ",
    "* **Impact:** ",
    "* **Validation:** 2–15 characters\n",
    "* **Pattern:** `(`\n",
    "* **Inputs:** `x_y`\n",
    "* **Side effects:** GitLab — push\n",
    "**`f_u`** _(when `a` = b)_ — q?\n",
    "```sh run\n",
    "```\n",
    "`a` = `b` OR ",
    " AND ",
    "(",
    ")",
    "in [",
    "is non-empty",
    "!deferred",
    "!unknown",
    "!deferred \"",
    ": [",
    ": {",
    "{",
    "}",
    "[",
    "]",
    "- ",
    "  - ",
    "? ",
    "&a ",
    "*a",
    "|\n",
    ">-\n",
    "\\[",
    "---",
    "...",
    "#",
    "'",
    "\"",
    "%YAML 1.2\n",
    "answers:\n",
    "playbook: x.md\n",
    "  country: ",
    "  ",
    "1. ",
    "> ",
    "<!-- ",
    "|a|b|\n|-|-|\n",
];

fn snippet() -> impl Strategy<Value = Snippet> {
    prop_oneof![
        9 => prop::sample::select(NASTY).prop_map(Snippet::Lit),
        1 => (prop::sample::select(&['a', ' ', '*', '[', 'ሰ', '👋', '-', '`'][..]), 1000usize..20_000).prop_map(|(c, n)| Snippet::Long(c, n)),
    ]
}

#[derive(Debug, Clone)]
enum Edit {
    Insert {
        at: Index,
        text: Snippet,
    },
    InsertAtLineStart {
        line: Index,
        text: Snippet,
    },
    Delete {
        at: Index,
        len: usize,
    },
    Replace {
        at: Index,
        len: usize,
        text: Snippet,
    },
    /// Copy a stretch of the text elsewhere (duplicate items, keys, sections).
    Duplicate {
        from: Index,
        len: usize,
        to: Index,
    },
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (any::<Index>(), snippet()).prop_map(|(at, text)| Edit::Insert { at, text }),
        2 => (any::<Index>(), snippet()).prop_map(|(line, text)| Edit::InsertAtLineStart { line, text }),
        2 => (any::<Index>(), 1usize..300).prop_map(|(at, len)| Edit::Delete { at, len }),
        2 => (any::<Index>(), 1usize..40, snippet()).prop_map(|(at, len, text)| Edit::Replace { at, len, text }),
        1 => (any::<Index>(), 1usize..2000, any::<Index>()).prop_map(|(from, len, to)| Edit::Duplicate { from, len, to }),
    ]
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

fn apply(text: &mut String, edit: &Edit) {
    let at = |text: &str, i: &Index| floor_boundary(text, i.index(text.len() + 1));
    let range = |text: &str, i: &Index, len: usize| {
        let start = at(text, i);
        start..ceil_boundary(text, start.saturating_add(len))
    };
    match edit {
        Edit::Insert { at: i, text: s } => {
            let p = at(text, i);
            text.insert_str(p, &s.text());
        }
        Edit::InsertAtLineStart { line, text: s } => {
            let starts: Vec<usize> = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
            let p = starts[line.index(starts.len())];
            text.insert_str(p, &s.text());
        }
        Edit::Delete { at: i, len } => {
            let r = range(text, i, *len);
            text.replace_range(r, "");
        }
        Edit::Replace { at: i, len, text: s } => {
            let r = range(text, i, *len);
            text.replace_range(r, &s.text());
        }
        Edit::Duplicate { from, len, to } => {
            let r = range(text, from, *len);
            let copied = text[r].to_string();
            let p = at(text, to);
            text.insert_str(p, &copied);
        }
    }
}

fn edited(original: &str, edits: &[Edit]) -> String {
    let mut text = original.to_string();
    for e in edits {
        apply(&mut text, e);
    }
    text
}

/// Text assembled from the nasty pool and short words: more structure than random bytes.
fn soup() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        4 => prop::sample::select(NASTY).prop_map(str::to_string),
        2 => "[a-z_]{1,12}",
        1 => "[ -~]{0,20}",
        1 => any::<String>(),
    ];
    prop::collection::vec(token, 0..120).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_as_playbook_and_case(playbook in prop::collection::vec(any::<u8>(), 0..3000), case in prop::collection::vec(any::<u8>(), 0..3000)) {
        let playbook = String::from_utf8_lossy(&playbook);
        let case = String::from_utf8_lossy(&case);
        check_everything(&playbook, &case);
        // The same bytes the other way round: the Markdown reader sees YAML and vice versa.
        check_everything(&case, &playbook);
    }

    #[test]
    fn token_soup_as_playbook_and_case(playbook in soup(), case in soup()) {
        check_everything(&playbook, &case);
        check_everything(&one_phase(&playbook), &format!("playbook: p.md\nanswers:\n  {case}"));
    }

    #[test]
    fn edited_playbooks(pair in 0usize..2, edits in prop::collection::vec(edit(), 1..=20)) {
        let (playbook, case) = pairs()[pair];
        check_everything(&edited(playbook, &edits), case);
    }

    #[test]
    fn edited_cases(pair in 0usize..2, edits in prop::collection::vec(edit(), 1..=20)) {
        let (playbook, case) = pairs()[pair];
        check_everything(playbook, &edited(case, &edits));
    }

    #[test]
    fn edited_playbook_and_case_together(pair in 0usize..2, pb_edits in prop::collection::vec(edit(), 1..=10), case_edits in prop::collection::vec(edit(), 1..=10)) {
        let (playbook, case) = pairs()[pair];
        check_everything(&edited(playbook, &pb_edits), &edited(case, &case_edits));
    }
}
