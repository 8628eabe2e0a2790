//! Core benchmark: the playbook parser, the linter and the case checker, measured beside the
//! floor of a bare pulldown-cmark event walk over the same text.
//!
//! ```sh
//! cargo bench -p playbook-core --bench parse            # the whole run, about a minute and a half
//! cargo bench -p playbook-core --bench parse -- parse/  # one group
//! cargo test -p playbook-core --benches                 # each benchmark once, as a test
//! ```
//!
//! Inputs: the real OpenG2P playbook (shared fixture, read at run time), a 10× synthetic
//! playbook made from it ([`playbook_core::testing::synthetic_playbook`]), and the working
//! case for the real playbook.

use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main, measurement::WallTime};
use playbook_core::analysis::{BUILTIN_HANDLERS, CaseContext, check_case, lint_playbook};
use playbook_core::case::Case;
use playbook_core::playbook::{self, Playbook};
use playbook_core::testing::synthetic_playbook;
use playbook_core::types::NoFileProbe;
use pulldown_cmark::{Options, Parser};
use std::hint::black_box;
use std::time::Duration;

const REAL_PLAYBOOK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/openg2p/use-case-implementation.md");
const WORKING_CASE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/openg2p/working_case.yaml");
const COPIES: usize = 10;

struct Inputs {
    real: String,
    synthetic: String,
    case: String,
}

impl Inputs {
    fn load() -> Inputs {
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
        let real = read(REAL_PLAYBOOK);
        let synthetic = synthetic_playbook(&real, COPIES);
        let (one, ten) = (playbook::parse(&real), playbook::parse(&synthetic));
        assert_eq!(ten.items.len(), COPIES * one.items.len(), "the synthetic playbook has {COPIES}× the items");
        assert_eq!(ten.activities.len(), COPIES * one.activities.len(), "the synthetic playbook has {COPIES}× the Activities");
        Inputs { real, synthetic, case: read(WORKING_CASE) }
    }

    /// The two playbooks, named as they appear in benchmark ids.
    fn playbooks(&self) -> [(&'static str, &str); 2] {
        [("real", &self.real), ("10x", &self.synthetic)]
    }
}

fn bytes(text: &str) -> Throughput {
    Throughput::Bytes(text.len() as u64)
}

fn floor(c: &mut Criterion, inputs: &Inputs) {
    let mut group = c.benchmark_group("floor/pulldown_cmark_events");
    for (name, text) in inputs.playbooks() {
        group.throughput(bytes(text));
        group.bench_function(name, |b| {
            b.iter(|| {
                let events = Parser::new_ext(black_box(text), Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH).into_offset_iter();
                for event in events {
                    black_box(event);
                }
            })
        });
    }
    group.finish();
}

fn parse_playbook(c: &mut Criterion, inputs: &Inputs) {
    let mut group = c.benchmark_group("parse/playbook");
    for (name, text) in inputs.playbooks() {
        group.throughput(bytes(text));
        group.bench_function(name, |b| b.iter(|| playbook::parse(black_box(text))));
    }
    group.finish();
}

fn lint(c: &mut Criterion, inputs: &Inputs) {
    let mut group = c.benchmark_group("analysis/lint_playbook");
    for (name, text) in inputs.playbooks() {
        let pb = playbook::parse(text);
        group.throughput(bytes(text));
        group.bench_function(name, |b| b.iter(|| lint_playbook(black_box(&pb), black_box(&BUILTIN_HANDLERS))));
    }
    group.finish();
}

fn case(c: &mut Criterion, inputs: &Inputs) {
    let text = inputs.case.as_str();
    let mut group = c.benchmark_group("case/parse");
    group.throughput(bytes(text));
    group.bench_function("working_case", |b| b.iter(|| Case::parse(black_box(text))));
    group.finish();

    let pb = playbook::parse(&inputs.real);
    let parsed = Case::parse(text);
    let mut group = c.benchmark_group("case/check");
    group.throughput(bytes(text));
    group.bench_function("working_case", |b| b.iter(|| check(black_box(&parsed), black_box(text), black_box(&pb))));
    group.finish();
}

fn check(case: &Case, text: &str, pb: &Playbook) -> usize {
    check_case(case, text, pb, &CaseContext { current_phase: None, files: &NoFileProbe }).len()
}

fn end_to_end(c: &mut Criterion, inputs: &Inputs) {
    let (playbook_text, case_text) = (inputs.real.as_str(), inputs.case.as_str());
    let mut group: BenchmarkGroup<'_, WallTime> = c.benchmark_group("end_to_end");
    group.throughput(Throughput::Bytes((playbook_text.len() + case_text.len()) as u64));
    group.bench_function("check_real", |b| {
        b.iter(|| {
            let pb = playbook::parse(black_box(playbook_text));
            let lints = lint_playbook(&pb, &BUILTIN_HANDLERS);
            let case = Case::parse(black_box(case_text));
            let findings = check(&case, case_text, &pb);
            (lints.len(), findings)
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let inputs = Inputs::load();
    floor(c, &inputs);
    parse_playbook(c, &inputs);
    lint(c, &inputs);
    case(c, &inputs);
    end_to_end(c, &inputs);
}

criterion_group! {
    name = core_benches;
    // Nine benchmarks at ~7 s each keep the whole run under two minutes on two cores.
    config = Criterion::default().sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5));
    targets = benches
}
criterion_main!(core_benches);
