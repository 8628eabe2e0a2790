//! `playbook schema`: the exported JSON Schema, checked with a real validator (the `jsonschema`
//! crate, draft-07) against the cases as YAML 1.2 tools see them.
//!
//! Beyond "valid cases validate, wrong ones do not", the schema must agree with the checker: for
//! every phase of both playbooks the set of required ids the validator reports missing is the
//! set of `missing-answer` findings, and a condition's `if` holds exactly when the checker's
//! evaluation is true (a property test over generated answers).

use std::collections::BTreeSet;

use playbook_core::analysis::{CaseContext, check_case};
use playbook_core::case::Case;
use playbook_core::condition::{self, Truth};
use playbook_core::finding::Rule;
use playbook_core::playbook::{self, Playbook, RequiredRule};
use playbook_core::schema::{self, BOOLEAN_PATTERN, NUMBER_PATTERN, case_json, case_schema, condition_schema};
use playbook_core::types::NoFileProbe;
use playbook_core::yaml::{parse_bool, parse_number};
use proptest::prelude::*;
use serde_json::{Value, json};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn read(path: &str) -> String {
    let full = format!("{ROOT}/{path}");
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

fn registry() -> Playbook {
    playbook::parse(&read("playbooks/registry.md"))
}

fn openg2p() -> Playbook {
    playbook::parse(&read("../shared/fixtures/openg2p/use-case-implementation.md"))
}

fn demo() -> String {
    read("fixtures/demo/working_case.yaml")
}

fn validator(schema: &Value) -> jsonschema::Validator {
    assert!(jsonschema::meta::is_valid(schema), "not a valid draft-07 schema");
    jsonschema::validator_for(schema).expect("schema compiles")
}

/// Every validation error, as `instance path: message`.
fn errors(playbook: &Playbook, text: &str, phase: Option<u32>) -> Vec<String> {
    let case = Case::parse(text);
    let schema = case_schema(playbook, &case, phase);
    let v = validator(&schema);
    let instance = case_json(&case);
    v.iter_errors(&instance).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

/// The ids the validator says are required and absent.
fn missing_by_schema(playbook: &Playbook, case: &Case, phase: Option<u32>) -> BTreeSet<String> {
    let schema = case_schema(playbook, case, phase);
    let instance = case_json(case);
    let v = validator(&schema);
    v.iter_errors(&instance)
        .filter_map(|e| match e.kind() {
            jsonschema::error::ValidationErrorKind::Required { property } => property.as_str().map(str::to_string),
            _ => None,
        })
        .collect()
}

fn missing_by_checker(playbook: &Playbook, case: &Case, text: &str, phase: Option<u32>) -> BTreeSet<String> {
    let ctx = CaseContext { current_phase: phase, files: &NoFileProbe };
    check_case(case, text, playbook, &ctx).into_iter().filter(|f| f.rule == Rule::MissingAnswer).filter_map(|f| f.item).collect()
}

fn replace_line(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} not in the case");
    text.replacen(from, to, 1)
}

#[test]
fn the_demo_case_validates_against_its_own_schema_in_both_phases() {
    let p = registry();
    for phase in [None, Some(1), Some(2)] {
        assert_eq!(errors(&p, &demo(), phase), Vec::<String>::new(), "phase {phase:?}");
    }
}

#[test]
fn the_openg2p_case_validates_against_its_own_schema() {
    let p = openg2p();
    let text = read("fixtures/openg2p/working_case.yaml");
    assert_eq!(errors(&p, &text, None), Vec::<String>::new());
    // Phase 2 is not started: its required items are missing, for the schema as for the checker.
    let case = Case::parse(&text);
    let missing = missing_by_schema(&p, &case, Some(2));
    assert!(!missing.is_empty());
    assert_eq!(missing, missing_by_checker(&p, &case, &text, Some(2)));
}

#[test]
fn required_ids_agree_with_the_checker_in_every_phase() {
    // Both cases with a third of their answers removed, so that conditions and requirements
    // meet missing answers.
    for (p, text) in [(registry(), demo()), (openg2p(), read("fixtures/openg2p/working_case.yaml"))] {
        let lines: Vec<&str> = text.lines().collect();
        let one_line_answer = |i: usize| {
            let line = lines[i];
            let value = line.strip_prefix("  ").filter(|l| !l.starts_with(' ')).and_then(|l| l.split_once(": ")).map(|(_, v)| v.trim());
            let next_nested = lines.get(i + 1).is_some_and(|n| n.starts_with("   "));
            value.is_some_and(|v| !v.is_empty() && !v.starts_with(['>', '|'])) && !next_nested
        };
        let thinned: String =
            lines.iter().enumerate().filter(|&(i, _)| !(i % 3 == 0 && one_line_answer(i))).map(|(_, l)| format!("{l}\n")).collect();
        assert!(thinned.len() < text.len());
        for t in [&text, &thinned] {
            let case = Case::parse(t);
            assert!(case.syntax_error.is_none());
            for phase in p.phases.iter().map(|ph| Some(ph.number)) {
                assert_eq!(missing_by_schema(&p, &case, phase), missing_by_checker(&p, &case, t, phase), "phase {phase:?}");
            }
        }
    }
}

#[test]
fn wrong_types_enum_members_and_validation_fail() {
    let p = registry();
    let demo = demo();
    let cases = [
        ("  functional_id_format: alphanumeric\n", "  functional_id_format: hexadecimal\n", "/answers/functional_id_format"),
        ("  approval_levels: 2\n", "  approval_levels: two\n", "/answers/approval_levels"),
        ("  approval_levels: 2\n", "  approval_levels: [2]\n", "/answers/approval_levels"),
        ("  has_foundational_id: yes\n", "  has_foundational_id: maybe\n", "/answers/has_foundational_id"),
        ("  supported_languages: [English, Aurelian]\n", "  supported_languages: English\n", "/answers/supported_languages"),
        ("  organisation_mnemonic: mosd\n", "  organisation_mnemonic: Ministry-\n", "/answers/organisation_mnemonic"),
        ("  registry_mnemonic: aurelia-households\n", "  registry_mnemonic: aurelia-registry\n", "/answers/registry_mnemonic"),
        (
            "  gitlab_user_email: registry-team@social.aurelia.example\n",
            "  gitlab_user_email: not an email\n",
            "/answers/gitlab_user_email",
        ),
        ("  country: Republic of Aurelia\n", "  contry: Republic of Aurelia\n", "/answers"),
        ("    Households: household\n", "    Households: House Hold\n", "/answers/register_mnemonics/Households"),
        ("  register_mnemonics:\n", "  register_mnemonics: household\n  unused_mnemonics:\n", "/answers/register_mnemonics"),
    ];
    for (from, to, path) in cases {
        let text = replace_line(&demo, from, to);
        let errs = errors(&p, &text, Some(2));
        assert!(errs.iter().any(|e| e.starts_with(&format!("{path}:"))), "{to:?} should fail at {path}: {errs:#?}");
        // The checker finds a problem too.
        let case = Case::parse(&text);
        let ctx = CaseContext { current_phase: Some(2), files: &NoFileProbe };
        assert!(!check_case(&case, &text, &p, &ctx).is_empty(), "{to:?}");
    }
    // Booleans and numbers as the playbook writes them pass, as they do in the checker.
    for (from, to) in [
        ("  has_foundational_id: yes\n", "  has_foundational_id: TRUE\n"),
        ("  has_foundational_id: yes\n", "  has_foundational_id: \"Yes\"\n"),
        ("  approval_levels: 2\n", "  approval_levels: 2.0\n"),
        ("  expected_records_5_years: 1200000\n", "  expected_records_5_years: 1_200_000\n"),
    ] {
        assert_eq!(errors(&p, &replace_line(&demo, from, to), Some(2)), Vec::<String>::new(), "{to:?}");
    }
}

#[test]
fn if_then_requires_follow_on_items_only_when_the_condition_holds() {
    let p = registry();
    let without = replace_line(&demo(), "  foundational_id_name: Aurelian National Identity Card\n", "");
    // has_foundational_id = yes: required.
    let errs = errors(&p, &without, None);
    assert!(errs.iter().any(|e| e.contains("foundational_id_name")), "{errs:#?}");
    // = no: not required.
    let no = replace_line(&without, "  has_foundational_id: yes\n", "  has_foundational_id: no\n");
    assert!(!errors(&p, &no, None).iter().any(|e| e.contains("foundational_id_name")));
    // Unanswered (null), or pending: the condition is not true, so nothing more is required.
    for pending in ["  has_foundational_id:\n", "  has_foundational_id: !unknown\n", "  has_foundational_id: !deferred \"ID authority\"\n"]
    {
        let text = replace_line(&without, "  has_foundational_id: yes\n", pending);
        let errs = errors(&p, &text, None);
        assert!(!errs.iter().any(|e| e.contains("foundational_id_name")), "{pending:?}: {errs:#?}");
    }
    // A conditionally required item answered with null does not count.
    let null = replace_line(&demo(), "  foundational_id_name: Aurelian National Identity Card\n", "  foundational_id_name:\n");
    assert!(errors(&p, &null, None).iter().any(|e| e.starts_with("/answers/foundational_id_name:")));
    // A follow-up (`_(when registry_purpose = general-purpose)_`) is required the same way.
    let no_sector = replace_line(&demo(), "  sector_focus: social protection\n", "");
    assert!(errors(&p, &no_sector, None).iter().any(|e| e.contains("sector_focus")));
    let programme = replace_line(&no_sector, "  registry_purpose: general-purpose\n", "  registry_purpose: single-programme\n");
    let errs = errors(&p, &programme, None);
    assert!(errs.iter().any(|e| e.contains("programme_name")) && !errs.iter().any(|e| e.contains("sector_focus")), "{errs:#?}");
}

#[test]
fn tagged_answers_are_accepted_for_the_case_they_were_exported_from() {
    let p = registry();
    let tagged = replace_line(&demo(), "  approval_levels: 2\n", "  approval_levels: !deferred \"the board decides in May\"\n");
    let tagged = replace_line(&tagged, "  functional_id_format: alphanumeric\n", "  functional_id_format: !unknown\n");
    let tagged = replace_line(&tagged, "  has_foundational_id: yes\n", "  has_foundational_id: !deferred \"yes\"\n");
    assert_eq!(errors(&p, &tagged, Some(2)), Vec::<String>::new());
    // A schema exported before the tags were written refuses the tags' text where the type
    // does not admit it, and a real answer still has to be well typed.
    let before = case_schema(&p, &Case::parse(&demo()), Some(2));
    let v = validator(&before);
    let instance = case_json(&Case::parse(&tagged));
    let paths: BTreeSet<String> = v.iter_errors(&instance).map(|e| e.instance_path().to_string()).collect();
    assert!(paths.contains("/answers/approval_levels") && paths.contains("/answers/functional_id_format"), "{paths:?}");
    let wrong = replace_line(&tagged, "  registration_channel: both\n", "  registration_channel: carrier pigeon\n");
    assert!(errors(&p, &wrong, Some(2)).iter().any(|e| e.starts_with("/answers/registration_channel:")));
    // The tag's text ("yes") does not satisfy `has_foundational_id = yes`: its follow-on
    // items are not required, as in the checker.
    let without = replace_line(&tagged, "  foundational_id_name: Aurelian National Identity Card\n", "");
    assert!(!errors(&p, &without, Some(2)).iter().any(|e| e.contains("foundational_id_name")));
    let case = Case::parse(&without);
    assert!(missing_by_checker(&p, &case, &without, Some(2)).is_empty());
}

#[test]
fn the_schema_carries_descriptions_enums_patterns_and_phases() {
    let p = registry();
    let s = case_schema(&p, &Case::parse(&demo()), None);
    assert_eq!(s["$schema"], json!(schema::DRAFT));
    let answers = &s["properties"]["answers"];
    let props = answers["properties"].as_object().unwrap();
    assert_eq!(props.len(), p.items.len(), "one property per item, follow-ups included");
    assert!(props.contains_key("sector_focus") && props.contains_key("programme_name"));
    let country = &props["country"];
    assert!(country["description"].as_str().unwrap().to_lowercase().contains("country"), "{country}");
    assert!(country["markdownDescription"].as_str().unwrap().contains("**Why:**"));
    assert_eq!(props["functional_id_format"]["enum"], json!(["numeric", "alphanumeric", null]));
    let required: Vec<&str> = answers["required"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(required.contains(&"country"));
    // Phase 2 items are not required in Phase 1, and are in Phase 2.
    assert!(!required.contains(&"organisation_mnemonic"));
    let s2 = case_schema(&p, &Case::parse(&demo()), Some(2));
    assert!(s2["properties"]["answers"]["required"].as_array().unwrap().contains(&json!("organisation_mnemonic")));
    let mnemonic = s2["properties"]["answers"]["properties"]["organisation_mnemonic"].to_string();
    assert!(mnemonic.contains("minLength") && mnemonic.contains("maxLength") && mnemonic.contains("pattern"), "{mnemonic}");
}

#[test]
fn unparsed_conditions_are_left_out_with_a_comment() {
    let text = "## Phase 1: One\n\n### Discovery items\n\n#### a\n\n* **Ask:** A?\n* **Why:** w\n* **Required:** yes\n* **Type:** boolean\n* **Impact:** code\n\n#### b\n\n* **Ask:** B?\n* **Why:** w\n* **Required:** conditional: a is somehow true\n* **Type:** text\n* **Impact:** code\n";
    let p = playbook::parse(text);
    assert!(matches!(p.item("b").unwrap().required.as_ref().unwrap().rule, RequiredRule::Conditional { condition: Err(_), .. }));
    let s = case_schema(&p, &Case::parse("playbook: x.md\nanswers:\n  a: yes\n"), None);
    let answers = &s["properties"]["answers"];
    assert!(answers.get("allOf").is_none());
    assert!(answers["$comment"].as_str().unwrap().contains("`b`"));
    assert_eq!(errors(&p, "playbook: x.md\nanswers:\n  a: yes\n", None), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// Properties: the translations say what the checker says.

fn regex(p: &str) -> regex::Regex {
    regex::Regex::new(p).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn number_pattern_is_parse_number(s in "[ 0-9_+.eE-]{0,8}") {
        // Out of f64's range: the pattern cannot know (`1e999`).
        prop_assume!(!s.trim().replace('_', "").parse::<f64>().is_ok_and(|n| !n.is_finite()));
        prop_assert_eq!(regex(NUMBER_PATTERN).is_match(&s), parse_number(&s).is_some(), "{:?}", s);
    }

    #[test]
    fn boolean_pattern_is_parse_bool(s in "[ yesnotrufalYESNOTRUFAL]{0,6}") {
        prop_assert_eq!(regex(BOOLEAN_PATTERN).is_match(&s), parse_bool(&s).is_some(), "{:?}", s);
    }

    /// For generated answers, a condition's schema holds exactly when the checker evaluates the
    /// condition to true.
    #[test]
    fn condition_schemas_hold_exactly_when_conditions_are_true(
        form in prop::sample::select(CONDITIONS.to_vec()),
        a in prop::sample::select(VALUES.to_vec()),
        b in prop::sample::select(VALUES.to_vec()),
    ) {
        let expr = condition::parse(form).unwrap();
        let mut yaml = String::from("answers:\n");
        for (id, v) in [("a", a), ("b", b)] {
            if !v.is_empty() {
                yaml.push_str(&format!("  {id}: {v}\n"));
            }
        }
        let case = Case::parse(&yaml);
        prop_assert!(case.syntax_error.is_none(), "{}", yaml);
        let truth = expr.eval(&case);
        let schema = condition_schema(&expr, &case);
        let answers = case_json(&case).get("answers").cloned().filter(|a| !a.is_null()).unwrap_or(json!({}));
        let holds = jsonschema::validator_for(&schema).unwrap().is_valid(&answers);
        prop_assert_eq!(holds, truth == Truth::True, "{} with {:?}: checker {:?}", form, yaml, truth);
    }
}

const CONDITIONS: &[&str] = &[
    "a = yes",
    "a = no",
    "a != yes",
    "a = 3",
    "a != 3",
    "a = PERSON",
    "a = `land parcel`",
    "a in [`cloud`, `hybrid`, 3]",
    "a is empty",
    "a is non-empty",
    "any Register has a = PERSON",
    "any Register has a = yes",
    "a = yes AND b is non-empty",
    "a = yes OR b = no",
    "(a = yes OR b in [x, y]) AND b != z",
    "a = \"\"",
];

/// Answer values (the empty string: no key at all).
const VALUES: &[&str] = &[
    "",
    "yes",
    "Yes",
    "\"yes\"",
    "true",
    "no",
    "FALSE",
    "3",
    "3.0",
    "'3'",
    "three",
    "PERSON",
    "person ",
    "\" person \"",
    "LAND PARCEL",
    "Cloud",
    "hybrid",
    "~",
    "null",
    "''",
    "'   '",
    "[]",
    "{}",
    "[x, PERSON]",
    "[3, yes]",
    "[[PERSON]]",
    "{k: PERSON}",
    "{k: [PERSON], j: land parcel}",
    "{k: ~}",
    "z",
    "x",
    "!deferred \"yes\"",
    "!unknown",
];
