//! The real OpenG2P Registry playbook, read from `../shared/fixtures/openg2p/`.

use playbook_core::playbook::{self, Origin, RequiredRule};

fn real_playbook_text() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/openg2p/use-case-implementation.md");
    std::fs::read_to_string(path).expect("the OpenG2P fixture sits in ../shared beside the repository")
}

#[test]
fn parses_to_the_counts_in_the_fixture_readme() {
    let text = real_playbook_text();
    let pb = playbook::parse(&text);
    let numbers: Vec<u32> = pb.phases.iter().map(|p| p.number).collect();
    assert_eq!(numbers, [1, 2, 3, 4, 5]);
    // (items excluding follow-ups, follow-ups, yes, no, conditional, activities, blocks)
    let expected =
        [(103, 2, 56, 1, 46, 3, 24), (17, 0, 13, 2, 2, 16, 6), (3, 0, 3, 0, 0, 0, 1), (0, 0, 0, 0, 0, 0, 0), (0, 0, 0, 0, 0, 0, 0)];
    for (phase, want) in pb.phases.iter().zip(expected) {
        let items: Vec<_> = phase.items.iter().map(|&i| &pb.items[i]).collect();
        let headed: Vec<_> = items.iter().filter(|i| i.origin == Origin::Heading).collect();
        let follow_ups = items.len() - headed.len();
        let count = |f: fn(&RequiredRule) -> bool| headed.iter().filter(|i| i.required.as_ref().is_some_and(|r| f(&r.rule))).count();
        let got = (
            headed.len(),
            follow_ups,
            count(|r| matches!(r, RequiredRule::Yes)),
            count(|r| matches!(r, RequiredRule::No)),
            count(|r| matches!(r, RequiredRule::Conditional { .. })),
            phase.activities.len(),
            phase.blocks.len(),
        );
        assert_eq!(got, want, "phase {}", phase.number);
    }
    let follow_ups: Vec<&str> = pb.items.iter().filter(|i| i.origin != Origin::Heading).map(|i| i.id.as_str()).collect();
    assert_eq!(follow_ups, ["program_name", "registry_type"]);
    // Phase 1 Activities are unnumbered, Phase 2 ones numbered 1..16.
    assert!(pb.phases[0].activities.iter().all(|&a| pb.activities[a].number.is_none()));
    let numbers: Vec<u32> = pb.phases[1].activities.iter().map(|&a| pb.activities[a].number.as_ref().unwrap().0).collect();
    assert_eq!(numbers, (1..=16).collect::<Vec<_>>());
    assert!(pb.phases[3].coming_soon() && pb.phases[4].coming_soon() && !pb.phases[2].coming_soon());
}

/// FNV-1a: a stable fingerprint of captured text, so the snapshot proves every field was
/// captured exactly without copying the playbook's prose into the project.
fn fingerprint(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:08x}/{}", hash >> 32, text.len())
}

#[test]
fn model_snapshot_captures_every_field_of_every_item() {
    use playbook_core::span::{ColumnUnit, LineIndex};
    use std::fmt::Write;
    let text = real_playbook_text();
    let pb = playbook::parse(&text);
    let index = LineIndex::new(&text);
    let at = |offset: usize| {
        let lc = index.line_col(&text, offset, ColumnUnit::Chars);
        format!("{}:{}", lc.line + 1, lc.col + 1)
    };
    let mut out = String::new();
    for phase in &pb.phases {
        writeln!(out, "phase {} `{}` @{} coming_soon={}", phase.number, phase.name.text, at(phase.heading.start), phase.coming_soon())
            .unwrap();
        for s in &phase.sections {
            writeln!(out, "  section {:?} `{}` @{} placeholder={}", s.kind, s.title.text, at(s.heading.start), s.placeholder).unwrap();
        }
        for (label, f) in [("enter", &phase.enter), ("exit", &phase.exit)] {
            if let Some(f) = f {
                writeln!(out, "  {label} {} @{}", fingerprint(&f.value.text), at(f.value.span.start)).unwrap();
            }
        }
        for g in &phase.gap_checks {
            writeln!(out, "  gap-check {} @{}", fingerprint(&g.text), at(g.span.start)).unwrap();
        }
        if let Some(o) = &phase.output {
            let report = o.report.as_ref().map(|r| r.text.as_str()).unwrap_or("-");
            writeln!(out, "  output `{report}` placeholder={}", o.placeholder).unwrap();
            for s in &o.sections {
                writeln!(out, "    section `{}` {}", s.title.text, fingerprint(&s.description)).unwrap();
            }
        }
        for (b, block) in phase.blocks.iter().enumerate() {
            writeln!(out, "  block {b} `{}` @{} items={}", block.name.text, at(block.name.span.start), block.items.len()).unwrap();
        }
        for &i in &phase.items {
            let item = &pb.items[i];
            writeln!(out, "  item `{}` @{} block={:?} origin={:?}", item.id, at(item.id_span.start), item.block, item.origin).unwrap();
            for f in &item.fields {
                writeln!(out, "    {}: {} @{}", f.label.text, fingerprint(&f.value.text), at(f.value.span.start)).unwrap();
            }
            if let Some(a) = &item.ask
                && item.fields.is_empty()
            {
                writeln!(out, "    Ask (inline): {}", fingerprint(&a.value.text)).unwrap();
            }
            if let Some(t) = &item.value_type {
                use playbook_core::types::ValueType;
                let detail = match &t.value_type {
                    ValueType::Enum { members } => format!(" {:?}", members.iter().map(|m| &m.text).collect::<Vec<_>>()),
                    ValueType::Classification { description, shape } => {
                        format!(" {shape:?} {}", description.as_deref().map(fingerprint).unwrap_or_default())
                    }
                    ValueType::ListOf { description, records } => format!(" records={records} {}", fingerprint(description)),
                    _ => String::new(),
                };
                writeln!(out, "    => type {}{detail}", t.value_type.name()).unwrap();
            }
            if let Some(r) = &item.required {
                let rule = match &r.rule {
                    playbook::RequiredRule::Conditional { condition: Ok(expr), .. } => format!("when {expr}"),
                    other => format!("{other:?}"),
                };
                writeln!(out, "    => required {rule}").unwrap();
            }
            if let Some(im) = &item.impact {
                writeln!(out, "    => impact {:?}", im.impact).unwrap();
            }
            if let Some(v) = &item.validation {
                writeln!(out, "    => validation {} / prose clauses {}", serde_json::to_string(&v.rules).unwrap(), v.prose.len()).unwrap();
            }
        }
        for &a in &phase.activities {
            let act = &pb.activities[a];
            let number = act.number.as_ref().map(|(n, _)| n.to_string()).unwrap_or("-".into());
            let inputs: Vec<&str> = act.input_refs.iter().map(|r| r.text.as_str()).collect();
            writeln!(
                out,
                "  activity {number} `{}` @{} remote={} aborts={} run={} inputs={inputs:?}",
                act.name.text,
                at(act.name.span.start),
                act.remote,
                act.aborts_on_failure,
                act.run.is_some()
            )
            .unwrap();
            for f in &act.fields {
                writeln!(out, "    {}: {} @{}", f.label.text, fingerprint(&f.value.text), at(f.value.span.start)).unwrap();
            }
        }
    }
    insta::assert_snapshot!(out);
}

#[test]
fn element_spans_nest_and_never_overlap_their_neighbours() {
    let text = real_playbook_text();
    let pb = playbook::parse(&text);
    let headed: Vec<_> = pb.items.iter().filter(|i| i.origin == Origin::Heading).collect();
    for pair in headed.windows(2) {
        assert!(pair[0].span.end <= pair[1].heading.start, "`{}` runs into `{}`", pair[0].id, pair[1].id);
        assert!(!text[pair[0].span.clone()].contains("\n**"), "`{}` swallows a block heading", pair[0].id);
    }
    for pair in pb.activities.windows(2) {
        assert!(pair[0].span.end <= pair[1].heading.start, "`{}` runs into `{}`", pair[0].name.text, pair[1].name.text);
    }
    for phase in &pb.phases {
        assert!(!text[phase.span.clone()].trim_end().ends_with("***"), "phase {} ends with the thematic break", phase.number);
        for &i in &phase.items {
            let item = &pb.items[i];
            assert!(phase.span.start <= item.span.start && item.span.end <= phase.span.end, "`{}` outside its phase", item.id);
        }
    }
}

/// The project's case for the real playbook (fictional answers, our own text).
fn openg2p_case_text() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/openg2p/working_case.yaml")).unwrap()
}

#[test]
fn requirements_analysis_report_lists_every_answered_item_under_its_block_heading() {
    use playbook_core::case::{AnswerState, Case};
    use playbook_core::phase::{Facts, gate, report_name};
    use playbook_core::report::{FrontMatter, ReportInput, ReportStatus, render};
    use playbook_core::state::ProjectState;

    let text = real_playbook_text();
    let pb = playbook::parse(&text);
    let case = Case::parse(&openg2p_case_text());
    let phase = &pb.phases[0];
    let name = report_name(phase).unwrap();
    assert_eq!(name, "Requirements Analysis Report");
    let g = gate(&pb, &case, &ProjectState::default(), &Facts::default()).unwrap();
    assert!(g.missing.is_empty(), "{:?}", g.missing);
    let front = FrontMatter {
        report: name.clone(),
        phase: 1,
        phase_name: phase.name.text.clone(),
        version: 1,
        status: ReportStatus::Draft,
        generated_at: "2026-01-01T00:00:00.000Z".into(),
        generated_by: Some("test".into()),
        case: "working_case.yaml".into(),
        case_hash: case.answers_hash(),
        playbook: "use-case-implementation.md".into(),
        playbook_hash: playbook_core::hash::text_hash(&text),
        build_job: None,
        approved_at: None,
        approved_by: None,
    };
    let report = render(&ReportInput { playbook: &pb, case: &case, phase: 0, front: &front, gate: &g, build: None, drafts: &[] });
    assert!(report.starts_with("---\nreport: \"Requirements Analysis Report\"\nphase: 1\n"), "{report}");
    assert_eq!(FrontMatter::parse(&report).unwrap(), front);

    // The Discovered facts section: the second of the Output's five sections.
    let start = report.find("## 2. Discovered facts\n").expect("the section is there");
    let end = report[start..].find("\n## 3. ").map(|e| start + e).expect("the next section follows");
    let facts = &report[start..end];

    // Every answered item sits under the heading of its own block, in playbook order.
    let mut heading = String::new();
    let mut listed = Vec::new();
    for line in facts.lines() {
        if let Some(h) = line.strip_prefix("### ") {
            heading = h.to_string();
        } else if let Some(rest) = line.strip_prefix("- **") {
            let id = &rest[..rest.find("**").unwrap()];
            if heading == "Deferred and unknown" {
                continue;
            }
            let item = pb.item(id).unwrap_or_else(|| panic!("`{id}` is not a playbook item"));
            let block = &phase.blocks[item.block.expect("every Phase 1 item has a block")];
            assert_eq!(heading, block.name.text, "`{id}`");
            listed.push(pb.item_index(id).unwrap());
        }
    }
    let answered: Vec<usize> = case
        .answers
        .iter()
        .filter(|a| a.state != AnswerState::Null)
        .map(|a| pb.item_index(&a.id).unwrap_or_else(|| panic!("`{}` is not a playbook item", a.id)))
        .collect();
    let mut in_playbook_order = answered.clone();
    in_playbook_order.sort_unstable();
    assert_eq!(listed, in_playbook_order, "every answer once, in playbook order");
    assert!(answered.len() > 60, "{}", answered.len());
    insta::assert_snapshot!(facts);
}
