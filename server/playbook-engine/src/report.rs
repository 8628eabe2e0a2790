//! Versioned reports on disk: `reports/phase-<n>-<slug>-v<k>.md` beside the case.
//!
//! A new version is always a new file (created without ever replacing one); approving a
//! version rewrites only the front matter of the files concerned (atomically): the previous
//! approved version becomes `superseded` first, then the chosen one `approved`, so there is
//! never more than one approved version, even after a crash in between.

use crate::build::events::read_events;
use crate::build::job::{Job, StepStatus, list_jobs};
use crate::fsutil::{CaseLock, write_atomic, write_new};
use crate::phase::{Outcome, build_fact, read_state, stamp};
use crate::project::{self, Project};
use playbook_core::analysis::BUILTIN_HANDLERS;
use playbook_core::hash::text_hash;
use playbook_core::phase::{Facts, Reason, ReportFact, current_index, gate, is_build_phase, phase_title, report_name};
use playbook_core::playbook::plain_text;
use playbook_core::report::{
    self as core_report, BuildEvidence, Drafted, FrontMatter, ReportInput, ReportStatus, discovered_facts, image_references, section_fill,
    update_front_matter,
};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// At most this many workspace files are listed as a Build Report's artefacts.
const MAX_ARTEFACTS: usize = 200;

pub fn reports_dir(case_dir: &Path) -> PathBuf {
    case_dir.join("reports")
}

/// One version of a report, as found on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportVersion {
    pub phase: u32,
    pub version: u32,
    /// `None` when the front matter cannot be read (see `problem`).
    pub status: Option<ReportStatus>,
    pub path: String,
    pub report: Option<String>,
    pub generated_at: Option<String>,
    pub generated_by: Option<String>,
    pub approved_at: Option<String>,
    pub approved_by: Option<String>,
    pub case_hash: Option<String>,
    /// The recorded case hash equals the hash of the current answers.
    pub matches_answers: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

impl ReportVersion {
    pub fn fact(&self) -> Option<ReportFact> {
        Some(ReportFact { version: self.version, status: self.status?, case_hash: self.case_hash.clone() })
    }
}

/// Every report version beside the case (every phase), ordered by phase then version, and
/// warnings for files that cannot be read. A missing `reports/` folder means no versions.
pub fn list_versions(case_dir: &Path, answers_hash: &str) -> (Vec<ReportVersion>, Vec<String>) {
    let dir = reports_dir(case_dir);
    let mut warnings = Vec::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Vec::new(), warnings),
        Err(e) => {
            warnings.push(format!("cannot read {}: {e}", dir.display()));
            return (Vec::new(), warnings);
        }
    };
    let mut versions = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((phase, version)) = core_report::parse_file_name(&name) else { continue };
        let path = entry.path();
        let mut v = ReportVersion {
            phase,
            version,
            status: None,
            path: path.display().to_string(),
            report: None,
            generated_at: None,
            generated_by: None,
            approved_at: None,
            approved_by: None,
            case_hash: None,
            matches_answers: false,
            problem: None,
        };
        match crate::workspace::read_text(&path).and_then(|t| FrontMatter::parse(&t)) {
            Ok(fm) => {
                if fm.phase != phase || fm.version != version {
                    v.problem = Some(format!(
                        "its front matter says phase {} version {}, its name phase {phase} version {version}",
                        fm.phase, fm.version
                    ));
                    warnings.push(format!("{}: {}", path.display(), v.problem.as_deref().unwrap_or_default()));
                }
                v.status = Some(fm.status);
                v.report = Some(fm.report);
                v.generated_at = Some(fm.generated_at);
                v.generated_by = fm.generated_by;
                v.approved_at = fm.approved_at;
                v.approved_by = fm.approved_by;
                v.matches_answers = fm.case_hash == answers_hash;
                v.case_hash = Some(fm.case_hash);
            }
            Err(e) => {
                warnings.push(format!("{}: {e}", path.display()));
                v.problem = Some(e);
            }
        }
        versions.push(v);
    }
    versions.sort_by_key(|v| (v.phase, v.version));
    (versions, warnings)
}

/// What a drafting model is asked for one section.
pub struct DraftRequest<'a> {
    pub report: &'a str,
    /// `Phase 1: Requirements Analysis`.
    pub phase: &'a str,
    pub section: &'a str,
    /// What the playbook's Output says the section holds.
    pub description: &'a str,
    /// The Discovered facts (Markdown), the material to draft from.
    pub facts: &'a str,
}

/// Writes the sections the engine cannot fill (an LLM provider, when one is configured).
pub trait SectionDrafter {
    /// A name shown in the report ("Drafted by …").
    fn provider(&self) -> String;
    fn draft(&self, request: &DraftRequest) -> Result<String, String>;
}

/// A new report version, written.
#[derive(Debug, Clone, Serialize)]
pub struct Generated {
    pub path: PathBuf,
    pub phase: u32,
    pub report: String,
    pub version: u32,
    /// Sections that a drafter could not write, and other problems that did not stop generation.
    pub warnings: Vec<String>,
}

/// A version approved.
#[derive(Debug, Clone, Serialize)]
pub struct Approved {
    pub path: PathBuf,
    pub phase: u32,
    pub report: String,
    pub version: u32,
    /// Versions that were approved before and are superseded now.
    pub superseded: Vec<u32>,
    /// The version was already the approved one: nothing changed.
    pub unchanged: bool,
}

/// Generate a new draft version of the current phase's report.
pub fn generate(case_path: &Path) -> Result<Generated, String> {
    generate_with(case_path, None, None)
}

/// Generate a new draft version of a phase's report (the current phase when `phase` is
/// `None`); sections the engine cannot fill go to `drafter` when there is one, else are marked
/// for the implementer.
pub fn generate_with(case_path: &Path, phase: Option<u32>, drafter: Option<&dyn SectionDrafter>) -> Result<Generated, String> {
    let project = project::load(case_path)?;
    let _lock = CaseLock::acquire(&project.case_dir)?;
    let state = read_state(&project.case_dir)?;
    let pb = &project.playbook;
    let index = phase_index(&project, &state, phase)?;
    let ph = &pb.phases[index];
    let Some(name) = report_name(ph) else {
        return Err(format!("{} declares no report in its Output section", phase_title(ph)));
    };
    let answers_hash = project.case.answers_hash();
    let (versions, mut warnings) = list_versions(&project.case_dir, &answers_hash);
    let mine: Vec<&ReportVersion> = versions.iter().filter(|v| v.phase == ph.number).collect();
    let facts: Vec<ReportFact> = mine.iter().filter_map(|v| v.fact()).collect();

    let build_phase = is_build_phase(pb, ph, &BUILTIN_HANDLERS);
    let newest = if build_phase { newest_job(&project.case_dir, ph.number) } else { None };
    let newest_fact = newest.as_ref().map(build_fact);
    let mut as_current = state.clone();
    as_current.current_phase = Some(ph.number);
    let g =
        gate(pb, &project.case, &as_current, &Facts { reports: &facts, newest_build: newest_fact.as_ref(), handlers: &BUILTIN_HANDLERS })?;
    let evidence = newest.as_ref().map(|job| evidence(&project.case_dir, job, &mut warnings));

    let sections = ph.output.as_ref().map_or(&[][..], |o| &o.sections[..]);
    let title = phase_title(ph);
    let facts_md = discovered_facts(pb, &project.case, &g.missing);
    let drafts: Vec<Option<Drafted>> = sections
        .iter()
        .map(|section| {
            let drafter = drafter?;
            if !section_fill(section, build_phase).needs_writing() {
                return None;
            }
            let section_title = plain_text(&section.title.text);
            let request =
                DraftRequest { report: &name, phase: &title, section: &section_title, description: &section.description, facts: &facts_md };
            match drafter.draft(&request) {
                Ok(text) if !text.trim().is_empty() => Some(Drafted { provider: drafter.provider(), text }),
                Ok(_) => None,
                Err(e) => {
                    warnings.push(format!("{} could not draft `{section_title}`: {e}; it is left for the implementer", drafter.provider()));
                    None
                }
            }
        })
        .collect();

    let version = mine.iter().map(|v| v.version).max().unwrap_or(0) + 1;
    let stamp = stamp(&project.case_dir);
    let front = FrontMatter {
        report: name.clone(),
        phase: ph.number,
        phase_name: plain_text(&ph.name.text),
        version,
        status: ReportStatus::Draft,
        generated_at: stamp.at,
        generated_by: Some(stamp.by),
        case: project.case_path.file_name().map_or_else(|| project.case_path.display().to_string(), |n| n.to_string_lossy().into_owned()),
        case_hash: answers_hash,
        playbook: project.playbook_ref.clone(),
        playbook_hash: text_hash(&project.playbook_text),
        build_job: evidence.as_ref().map(|e| e.job.id.clone()),
        approved_at: None,
        approved_by: None,
    };
    let text = core_report::render(&ReportInput {
        playbook: pb,
        case: &project.case,
        phase: index,
        front: &front,
        gate: &g,
        build: evidence.as_ref(),
        drafts: &drafts,
    });
    let dir = reports_dir(&project.case_dir);
    if dir.exists() && !dir.is_dir() {
        return Err(format!("{} is not a folder", dir.display()));
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(core_report::file_name(ph.number, &name, version));
    write_new(&path, text.as_bytes())?;
    Ok(Generated { path, phase: ph.number, report: name, version, warnings })
}

/// Approve a version of the current phase's report (the newest when `version` is `None`).
pub fn approve(case_path: &Path, version: Option<u32>) -> Result<Outcome<Approved>, String> {
    approve_phase(case_path, None, version)
}

/// Approve a version of a phase's report. Refused when there is no version, when the version
/// was superseded, or when the answers changed since it was generated (it would not match).
pub fn approve_phase(case_path: &Path, phase: Option<u32>, version: Option<u32>) -> Result<Outcome<Approved>, String> {
    let project = project::load(case_path)?;
    let _lock = CaseLock::acquire(&project.case_dir)?;
    let state = read_state(&project.case_dir)?;
    let index = phase_index(&project, &state, phase)?;
    let ph = &project.playbook.phases[index];
    let Some(name) = report_name(ph) else {
        return Err(format!("{} declares no report in its Output section", phase_title(ph)));
    };
    let answers_hash = project.case.answers_hash();
    let (versions, _) = list_versions(&project.case_dir, &answers_hash);
    let mine: Vec<&ReportVersion> = versions.iter().filter(|v| v.phase == ph.number).collect();
    let Some(newest) = mine.last() else {
        return Ok(Outcome::Refused(vec![Reason::new(
            "no-report",
            format!("the {name} has no version to approve (run `playbook report generate`)"),
        )]));
    };
    let target = match version {
        None => *newest,
        Some(k) => match mine.iter().find(|v| v.version == k) {
            Some(v) => *v,
            None => {
                let have: Vec<String> = mine.iter().map(|v| format!("v{}", v.version)).collect();
                return Err(format!("the {name} has no v{k} (versions: {})", have.join(", ")));
            }
        },
    };
    let path = PathBuf::from(&target.path);
    let approved = |superseded: Vec<u32>, unchanged: bool| Approved {
        path: path.clone(),
        phase: ph.number,
        report: name.clone(),
        version: target.version,
        superseded,
        unchanged,
    };
    match target.status {
        None => return Err(format!("{}: {}", target.path, target.problem.as_deref().unwrap_or("unreadable front matter"))),
        Some(ReportStatus::Approved) if mine.iter().all(|v| v.version == target.version || v.status != Some(ReportStatus::Approved)) => {
            return Ok(Outcome::Done(approved(Vec::new(), true)));
        }
        Some(ReportStatus::Superseded) => {
            return Ok(Outcome::Refused(vec![Reason::new(
                "superseded",
                format!("v{} of the {name} was superseded; generate a new version to approve", target.version),
            )]));
        }
        _ => {}
    }
    if !target.matches_answers {
        return Ok(Outcome::Refused(vec![Reason::new(
            "report-stale",
            format!(
                "v{} of the {name} was generated before the answers changed; generate a new version (`playbook report generate`) and approve that",
                target.version
            ),
        )]));
    }
    // Supersede the previous approved versions first: a crash in between leaves none approved, never two.
    let mut superseded = Vec::new();
    for other in mine.iter().filter(|v| v.version != target.version && v.status == Some(ReportStatus::Approved)) {
        set_status(Path::new(&other.path), &[("status", Some("superseded".into()))])?;
        superseded.push(other.version);
    }
    let stamp = stamp(&project.case_dir);
    set_status(&path, &[("status", Some("approved".into())), ("approved_at", Some(stamp.at)), ("approved_by", Some(stamp.by))])?;
    Ok(Outcome::Done(approved(superseded, false)))
}

fn set_status(path: &Path, changes: &[(&str, Option<String>)]) -> Result<(), String> {
    let text = crate::workspace::read_text(path)?;
    let updated = update_front_matter(&text, changes).map_err(|e| format!("{}: {e}", path.display()))?;
    write_atomic(path, updated.as_bytes())
}

fn phase_index(project: &Project, state: &playbook_core::state::ProjectState, phase: Option<u32>) -> Result<usize, String> {
    match phase {
        None => current_index(&project.playbook, state),
        Some(n) => project.playbook.phase_by_number(n).ok_or_else(|| {
            let numbers: Vec<String> = project.playbook.phases.iter().map(|p| p.number.to_string()).collect();
            format!("there is no Phase {n} in the playbook (phases: {})", numbers.join(", "))
        }),
    }
}

/// The newest build job of a phase.
pub fn newest_job(case_dir: &Path, phase: u32) -> Option<Job> {
    list_jobs(case_dir).into_iter().rev().find(|j| j.record.phase == Some(phase))
}

fn evidence(case_dir: &Path, job: &Job, warnings: &mut Vec<String>) -> BuildEvidence {
    let mut artefacts = Vec::new();
    let workspace = job.workspace();
    // The reference clone is input, not output; hidden folders hold step outputs and git data.
    let top_level_noise = |e: &walkdir::DirEntry| {
        e.depth() == 1
            && e.file_type().is_dir()
            && (e.file_name() == crate::handlers::inputs::layout::REFERENCE || e.file_name().to_string_lossy().starts_with('.'))
    };
    for entry in walkdir::WalkDir::new(&workspace).sort_by_file_name().into_iter().filter_entry(|e| !top_level_noise(e)) {
        match entry {
            Ok(e) if e.file_type().is_file() => {
                if artefacts.len() == MAX_ARTEFACTS {
                    artefacts.push(format!("… (more than {MAX_ARTEFACTS} files)"));
                    break;
                }
                let rel = e.path().strip_prefix(&workspace).unwrap_or(e.path());
                artefacts.push(rel.display().to_string());
            }
            Ok(_) => {}
            Err(e) => warnings.push(format!("cannot list the workspace of job {}: {e}", job.record.id)),
        }
    }
    // Image references from each step's own log: for a step skipped as unchanged, the log of
    // the earlier job in which it last succeeded.
    let mut images: Vec<String> = Vec::new();
    let jobs = list_jobs(case_dir);
    let earlier: Vec<&Job> = jobs.iter().filter(|j| j.record.phase == job.record.phase && j.record.id < job.record.id).collect();
    let mut logs: std::collections::HashMap<String, Vec<crate::build::Event>> = std::collections::HashMap::new();
    let mut events_of = |j: &Job, warnings: &mut Vec<String>| -> Vec<crate::build::Event> {
        logs.entry(j.record.id.clone())
            .or_insert_with(|| {
                read_events(&j.events_path(), 0).unwrap_or_else(|e| {
                    warnings.push(e);
                    Vec::new()
                })
            })
            .clone()
    };
    for step in &job.record.steps {
        let source = match step.status {
            StepStatus::Skipped => earlier
                .iter()
                .rev()
                .find(|j| j.record.steps.iter().any(|s| s.activity == step.activity && s.status == StepStatus::Succeeded))
                .copied(),
            _ => Some(job),
        };
        let Some(source) = source else { continue };
        for event in events_of(source, warnings).iter().filter(|e| e.activity.as_deref() == Some(step.activity.as_str())) {
            for image in image_references(event.message.as_deref().unwrap_or_default()) {
                if !images.contains(&image) {
                    images.push(image);
                }
            }
        }
    }
    let published = crate::handlers::outputs::published_summary(&workspace);
    BuildEvidence { job: build_fact(job), started: Some(job.record.started.clone()), artefacts, images, published }
}
