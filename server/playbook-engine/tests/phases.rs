//! Phases and reports through the engine API, in temporary folders: the gate, completion,
//! report versions and approval, reopen, block/unblock, coming-soon phases, Build Reports,
//! and bad input (broken state.json, missing or odd folders, unknown phases).

use playbook_core::phase::Reason;
use playbook_core::report::{FrontMatter, ReportStatus, body};
use playbook_core::state::{Action, parse_state};
use playbook_engine::build::{BuildOptions, CancelToken, JobStatus, Registry, run_build};
use playbook_engine::phase::{self, Outcome};
use playbook_engine::report;
use std::path::{Path, PathBuf};

mod common;
use common::TempDir;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const COMPLETE_CASE: &str = "playbook: playbook.md\nanswers:\n  library_name: Elm Street Library\n  contact_email: desk@elm.example\n  lends_equipment: no\n  opening_days: [Tuesday, Saturday]\n  reading_groups: !unknown\n";

/// The phases fixture playbook in a temp folder, with this case.
fn project(dir: &Path, case: &str) -> PathBuf {
    std::fs::copy(repo().join("fixtures/phases/playbook.md"), dir.join("playbook.md")).unwrap();
    let path = dir.join("working_case.yaml");
    std::fs::write(&path, case).unwrap();
    path
}

fn refused<T: std::fmt::Debug>(outcome: Outcome<T>) -> Vec<Reason> {
    match outcome {
        Outcome::Refused(reasons) => reasons,
        Outcome::Done(t) => panic!("expected a refusal, got {t:?}"),
    }
}

fn done<T>(outcome: Outcome<T>) -> T {
    match outcome {
        Outcome::Done(t) => t,
        Outcome::Refused(reasons) => panic!("refused: {reasons:#?}"),
    }
}

fn codes(reasons: &[Reason]) -> Vec<&str> {
    reasons.iter().map(|r| r.code).collect()
}

fn front(path: &Path) -> FrontMatter {
    FrontMatter::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn report_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("reports"))
        .map_or(Vec::new(), |r| r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect());
    names.sort();
    names
}

#[test]
fn completing_with_a_required_item_missing_names_it_and_succeeds_after_a_report_is_approved() {
    let dir = TempDir::new("complete");
    let case = project(&dir.0, &COMPLETE_CASE.replace("  contact_email: desk@elm.example\n", ""));

    let reasons = refused(phase::complete(&case, None).unwrap());
    assert_eq!(codes(&reasons), ["missing-item", "no-report", "gap-check"], "{reasons:#?}");
    assert_eq!(reasons[0].item.as_deref(), Some("contact_email"));
    assert!(reasons[0].message.contains("`contact_email`") && reasons[0].message.contains("Which address"), "{}", reasons[0].message);
    assert!(!phase::state_path(&dir.0).exists(), "a refusal writes nothing");

    std::fs::write(&case, COMPLETE_CASE).unwrap();
    let generated = report::generate(&case).unwrap();
    assert_eq!(generated.path, dir.0.join("reports/phase-1-discovery-report-v1.md"));
    assert_eq!((generated.version, generated.report.as_str()), (1, "Discovery Report"));
    assert_eq!(front(&generated.path).status, ReportStatus::Draft);
    assert_eq!(codes(&refused(phase::complete(&case, None).unwrap())), ["report-not-approved"]);

    let approved = done(report::approve(&case, None).unwrap());
    assert_eq!((approved.version, approved.superseded.len(), approved.unchanged), (1, 0, false));
    let fm = front(&generated.path);
    assert_eq!(fm.status, ReportStatus::Approved);
    assert!(fm.approved_at.is_some() && fm.approved_by.as_deref().is_some_and(|b| !b.is_empty()));

    let status = phase::status(&case).unwrap();
    assert!(status.gate.holds, "{:#?}", status.gate.reasons);
    assert_eq!((status.answered, status.required), (4, 4));

    let t = done(phase::complete(&case, Some("report approved by the committee")).unwrap());
    assert_eq!((t.action, t.from, t.to), (Action::Complete, 1, 2));
    let state = parse_state(&std::fs::read_to_string(phase::state_path(&dir.0)).unwrap()).unwrap();
    assert_eq!(state.current_phase, Some(2));
    assert_eq!(state.history, vec![t.clone()]);
    assert_eq!(state.history[0].reason.as_deref(), Some("report approved by the committee"));
    assert!(!state.history[0].by.is_empty() && state.history[0].at.ends_with('Z'));
    let status = phase::status(&case).unwrap();
    assert_eq!((status.phase, status.name.as_str()), (2, "Build"));
    assert_eq!(status.history.len(), 1);
}

#[test]
fn changing_an_answer_after_approval_needs_a_new_approved_version_and_v1_is_superseded() {
    let dir = TempDir::new("stale");
    let case = project(&dir.0, COMPLETE_CASE);
    let v1 = report::generate(&case).unwrap().path;
    done(report::approve(&case, Some(1)).unwrap());
    let v1_body = body(&std::fs::read_to_string(&v1).unwrap()).unwrap().to_string();

    // Comments and layout are not answers: the approval still holds.
    std::fs::write(&case, format!("# reviewed\n{COMPLETE_CASE}")).unwrap();
    assert!(phase::status(&case).unwrap().gate.holds);

    std::fs::write(&case, COMPLETE_CASE.replace("desk@elm.example", "info@elm.example")).unwrap();
    let reasons = refused(phase::complete(&case, None).unwrap());
    assert_eq!(codes(&reasons), ["report-stale"]);
    assert!(reasons[0].message.contains("answers changed since approval"), "{}", reasons[0].message);
    let status = phase::status(&case).unwrap();
    let summary = status.report.as_ref().unwrap();
    assert_eq!((summary.approved, summary.versions[0].matches_answers), (Some(1), false));

    // Re-approving v1 changes nothing: it is already the approved version.
    assert!(done(report::approve(&case, Some(1)).unwrap()).unchanged);
    assert_eq!(codes(&refused(phase::complete(&case, None).unwrap())), ["report-stale"]);

    let v2 = report::generate(&case).unwrap();
    assert_eq!(v2.version, 2);
    let approved = done(report::approve(&case, None).unwrap());
    assert_eq!((approved.version, approved.superseded.clone()), (2, vec![1]));
    assert_eq!(report_files(&dir.0), ["phase-1-discovery-report-v1.md", "phase-1-discovery-report-v2.md"]);
    assert_eq!(front(&v1).status, ReportStatus::Superseded);
    assert_eq!(body(&std::fs::read_to_string(&v1).unwrap()).unwrap(), v1_body, "v1's body is never rewritten");
    assert_eq!(front(&v2.path).status, ReportStatus::Approved);
    assert!(std::fs::read_to_string(&v2.path).unwrap().contains("- **contact_email**: info@elm.example"));

    // A superseded version cannot come back; a draft from older answers cannot be approved.
    assert_eq!(codes(&refused(report::approve(&case, Some(1)).unwrap())), ["superseded"]);
    let v3 = report::generate(&case).unwrap();
    std::fs::write(&case, COMPLETE_CASE.replace("desk@elm.example", "hello@elm.example")).unwrap();
    assert_eq!(codes(&refused(report::approve(&case, Some(v3.version)).unwrap())), ["report-stale"]);
    let statuses: Vec<ReportStatus> = report_files(&dir.0).iter().map(|f| front(&dir.0.join("reports").join(f)).status).collect();
    assert_eq!(statuses, [ReportStatus::Superseded, ReportStatus::Approved, ReportStatus::Draft]);

    let v4 = report::generate(&case).unwrap();
    done(report::approve(&case, Some(v4.version)).unwrap());
    let approved: Vec<String> =
        report_files(&dir.0).into_iter().filter(|f| front(&dir.0.join("reports").join(f)).status == ReportStatus::Approved).collect();
    assert_eq!(approved, ["phase-1-discovery-report-v4.md"], "only ever one approved version");
    assert_eq!(front(&v2.path).status, ReportStatus::Superseded);
    assert_eq!(front(&v3.path).status, ReportStatus::Draft);
    assert_eq!(done(phase::complete(&case, None).unwrap()).to, 2);
}

#[test]
fn reopen_records_its_reason_and_a_coming_soon_phase_cannot_be_entered() {
    let dir = TempDir::new("reopen");
    let case = project(&dir.0, &format!("{COMPLETE_CASE}  site_title: Elm Street\n"));
    report::generate(&case).unwrap();
    done(report::approve(&case, None).unwrap());
    done(phase::complete(&case, None).unwrap());

    // Phase 2 is a build phase: no build yet, no Build Report, and Phase 3 is coming soon.
    let status = phase::status(&case).unwrap();
    assert!(status.build_phase);
    assert_eq!(codes(&status.gate.reasons), ["no-report", "no-build", "next-coming-soon"]);
    let coming: Vec<bool> = status.phases.iter().map(|p| p.coming_soon).collect();
    assert_eq!(coming, [false, false, true]);

    assert!(phase::reopen(&case, None, "  ").unwrap_err().contains("reason is required"));
    assert!(phase::reopen(&case, Some(3), "later").unwrap_err().contains("earlier phase"));
    assert!(phase::reopen(&case, Some(9), "nowhere").unwrap_err().contains("no Phase 9"));
    let t = done(phase::reopen(&case, None, "the committee changed the contact address").unwrap());
    assert_eq!((t.action, t.from, t.to), (Action::Reopen, 2, 1));
    let state = parse_state(&std::fs::read_to_string(phase::state_path(&dir.0)).unwrap()).unwrap();
    assert_eq!(state.current_phase, Some(1));
    assert_eq!(state.history.iter().map(|t| t.action).collect::<Vec<_>>(), [Action::Complete, Action::Reopen]);
    assert_eq!(state.history[1].reason.as_deref(), Some("the committee changed the contact address"));
    assert!(phase::reopen(&case, None, "again").unwrap_err().contains("first phase"));
}

#[test]
fn a_build_phase_needs_a_successful_build_and_its_report_carries_the_activity_table() {
    let dir = TempDir::new("build");
    let case = project(&dir.0, &format!("{COMPLETE_CASE}  site_title: Elm Street\n"));
    std::fs::create_dir_all(dir.0.join(".playbook")).unwrap();
    std::fs::write(phase::state_path(&dir.0), r#"{"current_phase": 2}"#).unwrap();

    std::fs::write(&case, format!("{COMPLETE_CASE}  site_title: 'a[b'\n")).unwrap();
    let failed = run_build(&case, &BuildOptions::default(), &Registry::new(), &CancelToken::new(), None).unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    let reasons = phase::status(&case).unwrap().gate.reasons;
    assert!(reasons[1].code == "build-failed" && reasons[1].message.contains("at check_site"), "{reasons:#?}");

    std::fs::write(&case, format!("{COMPLETE_CASE}  site_title: Elm Street\n")).unwrap();
    let only = BuildOptions { activity: Some("write_site".into()), ..BuildOptions::default() };
    run_build(&case, &only, &Registry::new(), &CancelToken::new(), None).unwrap();
    let reasons = phase::status(&case).unwrap().gate.reasons;
    assert!(reasons.iter().any(|r| r.code == "build-incomplete" && r.message.contains("check_site")), "{reasons:#?}");

    let ok = run_build(&case, &BuildOptions::default(), &Registry::new(), &CancelToken::new(), None).unwrap();
    assert_eq!(ok.status, JobStatus::Succeeded);
    let status = phase::status(&case).unwrap();
    assert_eq!(codes(&status.gate.reasons), ["no-report", "next-coming-soon"]);
    assert_eq!(status.last_build.as_ref().map(|j| j.id.as_str()), Some(ok.job_id.as_str()));
    assert_eq!(status.gate.gap_checks[0].status, playbook_core::phase::GapStatus::Passed);

    let generated = report::generate(&case).unwrap();
    assert_eq!(generated.path.file_name().unwrap(), "phase-2-build-report-v1.md");
    let text = std::fs::read_to_string(&generated.path).unwrap();
    let fm = front(&generated.path);
    assert_eq!(fm.build_job.as_deref(), Some(ok.job_id.as_str()));
    assert!(text.contains(&format!("Job `{}` — succeeded", ok.job_id)), "{text}");
    assert!(text.contains("| # | Activity | Status | Duration |"), "{text}");
    // write_site is unchanged since the `--activity write_site` build: skipped, its image still reported.
    assert!(text.contains("| 1 | write_site | skipped | – |") && text.contains("| 2 | check_site | succeeded |"), "{text}");
    assert!(text.contains("- `site/index.html`") && text.contains("- `registry.example.org/library/site:dev`"), "{text}");
    assert!(
        text.contains("- **library_name**: Elm Street Library\n- **site_title**: Elm Street\n"),
        "the identity section shows the answers it names: {text}"
    );
    assert!(
        text.contains("## 3. Published artefacts\n\n> the files written and the image references.\n\nFiles in the workspace"),
        "{text}"
    );
    assert!(!text.contains("## Artefacts"), "{text}");
    assert!(text.contains("- ✓ Activities 1 (write_site) and 2 (check_site) exited clean."), "{text}");
    assert!(text.contains("- [ ] The committee has looked at the home page."), "{text}");

    done(report::approve(&case, None).unwrap());
    let reasons = refused(phase::complete(&case, None).unwrap());
    assert_eq!(codes(&reasons), ["next-coming-soon"]);
    assert!(reasons[0].message.contains("Phase 3: Launch is coming soon"), "{}", reasons[0].message);
}

#[test]
fn block_and_unblock_record_reasons_and_a_blocked_phase_cannot_complete() {
    let dir = TempDir::new("block");
    let case = project(&dir.0, COMPLETE_CASE);
    report::generate(&case).unwrap();
    done(report::approve(&case, None).unwrap());
    assert!(phase::block(&case, "").unwrap_err().contains("reason is required"));
    let t = done(phase::block(&case, "waiting for the committee's vote").unwrap());
    assert_eq!((t.action, t.from, t.to), (Action::Block, 1, 1));
    let status = phase::status(&case).unwrap();
    assert!(status.blocked && status.blocked_reason.as_deref() == Some("waiting for the committee's vote"));
    let reasons = refused(phase::complete(&case, None).unwrap());
    assert_eq!(codes(&reasons), ["blocked"]);
    assert!(reasons[0].message.contains("waiting for the committee's vote"));
    assert_eq!(codes(&refused(phase::block(&case, "again").unwrap())), ["already-blocked"]);
    done(phase::unblock(&case, Some("the vote passed")).unwrap());
    assert_eq!(codes(&refused(phase::unblock(&case, None).unwrap())), ["not-blocked"]);
    done(phase::complete(&case, None).unwrap());
    let state = phase::status(&case).unwrap();
    let actions: Vec<Action> = state.history.iter().map(|t| t.action).collect();
    assert_eq!(actions, [Action::Block, Action::Unblock, Action::Complete]);
    assert_eq!(state.history[1].reason.as_deref(), Some("the vote passed"));
}

#[test]
fn the_report_lists_every_answer_under_its_block_and_marks_the_rest_for_the_implementer() {
    let dir = TempDir::new("facts");
    let case = project(
        &dir.0,
        &COMPLETE_CASE.replace("lends_equipment: no", "lends_equipment: yes\n  equipment_kinds: !deferred \"in May\"\n  unrelated_key: 3"),
    );
    let text = std::fs::read_to_string(report::generate(&case).unwrap().path).unwrap();
    let expected = "## 2. Discovered facts\n\n### Organisation\n\n- **library_name**: Elm Street Library\n- **contact_email**: desk@elm.example\n\n### Services\n\n- **lends_equipment**: yes\n- **equipment_kinds**: _deferred_ — in May\n- **opening_days**: Tuesday, Saturday\n- **reading_groups**: _unknown_\n\n### Not defined by the playbook\n\n- **unrelated_key**: 3\n\n### Deferred and unknown\n\n- **equipment_kinds**: _deferred_ — in May\n- **reading_groups**: _unknown_\n\n## 3. Open questions";
    assert!(text.contains(expected), "{text}");
    assert!(text.contains("## 1. Summary\n\n> library name, contact_email and a paragraph on what the site is for.\n\nRecorded answers this section draws on:\n\n- **library_name**: Elm Street Library\n- **contact_email**: desk@elm.example\n\n_To be completed by the implementer._"), "{text}");
    assert!(
        text.contains("## 3. Open questions\n\n> anything the committee still has to decide.\n\n_To be completed by the implementer._"),
        "{text}"
    );
    assert!(text.contains("## Manual Activities\n\n- [ ] visit_the_library\n- [ ] collect_photos"), "{text}");
    assert!(text.contains("- ✓ Every required Discovery item is recorded. — all recorded\n- ✓ Every follow-up switched on by an answer has been asked. — all recorded\n- ✓ `contact_email` is recorded. — recorded\n"), "{text}");
    assert!(text.contains("- [ ] The committee has named one person who approves the site."), "{text}");
}

/// A drafter that writes every section it is asked for, and fails on one.
struct FakeModel;

impl report::SectionDrafter for FakeModel {
    fn provider(&self) -> String {
        "fake-model".into()
    }
    fn draft(&self, request: &report::DraftRequest) -> Result<String, String> {
        if request.section == "Open questions" {
            return Err("rate limited".into());
        }
        assert!(request.facts.contains("**library_name**"));
        Ok(format!("Draft of {} for {}.", request.section, request.report))
    }
}

#[test]
fn a_configured_drafter_writes_the_sections_the_engine_cannot_fill() {
    let dir = TempDir::new("drafter");
    let case = project(&dir.0, COMPLETE_CASE);
    let generated = report::generate_with(&case, None, Some(&FakeModel)).unwrap();
    let text = std::fs::read_to_string(&generated.path).unwrap();
    assert!(text.contains("_Drafted by fake-model; review before approving._\n\nDraft of Summary for Discovery Report."), "{text}");
    assert!(
        text.contains("## 3. Open questions\n\n> anything the committee still has to decide.\n\n_To be completed by the implementer._"),
        "{text}"
    );
    assert_eq!(generated.warnings.len(), 1);
    assert!(generated.warnings[0].contains("rate limited"));
}

#[test]
fn the_openg2p_playbook_has_coming_soon_phases_and_its_report_groups_answers_by_block() {
    let dir = TempDir::new("openg2p");
    let shared = repo().join("../shared/fixtures/openg2p/use-case-implementation.md").canonicalize().unwrap();
    let fixture = std::fs::read_to_string(repo().join("fixtures/openg2p/working_case.yaml")).unwrap();
    let case_text = fixture
        .replace("playbook: ../../../shared/fixtures/openg2p/use-case-implementation.md", &format!("playbook: {}", shared.display()));
    let case = dir.0.join("working_case.yaml");
    std::fs::write(&case, &case_text).unwrap();

    let status = phase::status(&case).unwrap();
    let coming: Vec<(u32, bool)> = status.phases.iter().map(|p| (p.number, p.coming_soon)).collect();
    assert_eq!(coming, [(1, false), (2, false), (3, false), (4, true), (5, true)]);
    assert_eq!(status.missing, Vec::<String>::new());
    let reports: Vec<Option<String>> = status.phases.iter().map(|p| p.report.as_ref().map(|r| r.name.clone())).collect();
    assert_eq!(reports, [Some("Requirements Analysis Report".to_string()), Some("Build Report".to_string()), None, None, None]);
    assert_eq!(codes(&status.gate.reasons), ["no-report"]);
    assert!(!status.build_phase && status.phases[1].build_phase);

    let generated = report::generate(&case).unwrap();
    assert_eq!(generated.path.file_name().unwrap(), "phase-1-requirements-analysis-report-v1.md");
    done(report::approve(&case, None).unwrap());
    assert_eq!(done(phase::complete(&case, None).unwrap()).to, 2);

    std::fs::write(phase::state_path(&dir.0), r#"{"current_phase": 3}"#).unwrap();
    let reasons = refused(phase::complete(&case, None).unwrap());
    assert!(reasons.iter().any(|r| r.code == "next-coming-soon" && r.message.contains("Phase 4: Pilot is coming soon")), "{reasons:#?}");
    assert!(report::generate(&case).unwrap_err().contains("Phase 3: Sandbox declares no report"));
}

#[test]
fn bad_input_is_reported_clearly_and_never_overwritten() {
    let dir = TempDir::new("bad");
    let case = project(&dir.0, COMPLETE_CASE);

    // No reports folder: no versions, nothing to approve.
    assert!(phase::status(&case).unwrap().report.unwrap().versions.is_empty());
    assert_eq!(codes(&refused(report::approve(&case, None).unwrap())), ["no-report"]);
    report::generate(&case).unwrap();
    assert!(report::approve(&case, Some(9)).unwrap_err().contains("no v9 (versions: v1)"));

    // A broken state.json is named, and left as it is.
    std::fs::write(phase::state_path(&dir.0), "{\"current_phase\": 2,").unwrap();
    for e in [phase::status(&case).unwrap_err(), phase::complete(&case, None).unwrap_err(), phase::block(&case, "x").unwrap_err()] {
        assert!(e.contains("state.json") && e.contains("is not valid"), "{e}");
    }
    assert_eq!(std::fs::read_to_string(phase::state_path(&dir.0)).unwrap(), "{\"current_phase\": 2,");
    std::fs::write(phase::state_path(&dir.0), "[2]").unwrap();
    assert!(phase::status(&case).unwrap_err().contains("expected a JSON object"));

    // A phase the playbook does not have.
    std::fs::write(phase::state_path(&dir.0), r#"{"current_phase": 7}"#).unwrap();
    assert!(phase::status(&case).unwrap_err().contains("current phase is 7, but the playbook has phases 1, 2, 3"));
    assert!(phase::reopen(&case, Some(1), "x").unwrap_err().contains("current phase is 7"));
    std::fs::remove_file(phase::state_path(&dir.0)).unwrap();
    assert!(report::generate_with(&case, Some(4), None).unwrap_err().contains("no Phase 4"));

    // A file where the reports folder should be; a report whose front matter is broken.
    let other = TempDir::new("bad-reports");
    let case2 = project(&other.0, COMPLETE_CASE);
    std::fs::write(other.0.join("reports"), "not a folder").unwrap();
    assert!(report::generate(&case2).is_err());
    assert!(phase::status(&case2).unwrap().warnings[0].contains("reports"));
    std::fs::remove_file(other.0.join("reports")).unwrap();
    std::fs::create_dir_all(other.0.join("reports")).unwrap();
    std::fs::write(other.0.join("reports/phase-1-discovery-report-v1.md"), "no front matter").unwrap();
    let status = phase::status(&case2).unwrap();
    assert!(status.warnings[0].contains("front matter"), "{:?}", status.warnings);
    assert_eq!(report::generate(&case2).unwrap().version, 2, "an unreadable version still takes its number");
    assert_eq!(std::fs::read_to_string(other.0.join("reports/phase-1-discovery-report-v1.md")).unwrap(), "no front matter");

    // Missing and broken cases and playbooks.
    assert!(phase::status(&dir.0.join("nope.yaml")).unwrap_err().contains("cannot read"));
    let empty = TempDir::new("bad-nothing");
    assert!(phase::block(&empty.0.join("working_case.yaml"), "x").unwrap_err().contains("cannot read"));
    assert!(!empty.0.join(".playbook").exists(), "nothing is created beside a missing case");
    std::fs::write(&case, "playbook: playbook.md\nanswers: [unclosed\n").unwrap();
    assert!(phase::complete(&case, None).unwrap_err().contains("not valid YAML"));
    std::fs::write(&case, "answers: {}\n").unwrap();
    assert!(report::generate(&case).unwrap_err().contains("no `playbook:` key"));
    std::fs::write(&case, "playbook: missing.md\nanswers: {}\n").unwrap();
    assert!(phase::status(&case).unwrap_err().contains("missing.md"));
    std::fs::write(dir.0.join("notes.md"), "# Notes\n").unwrap();
    std::fs::write(&case, "playbook: notes.md\nanswers: {}\n").unwrap();
    assert!(phase::status(&case).unwrap_err().contains("not a playbook"));
}
