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
    let expected = [(103, 2, 56, 1, 46, 3, 24), (17, 0, 13, 2, 2, 16, 6), (3, 0, 3, 0, 0, 0, 1), (0, 0, 0, 0, 0, 0, 0), (0, 0, 0, 0, 0, 0, 0)];
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
