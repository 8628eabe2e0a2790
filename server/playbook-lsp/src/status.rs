//! `playbook/status`: busy/idle and, per case, the phase, answered/required counts and last build, so
//! status bars and tests can wait for analysis instead of sleeping.

use crate::world::{Kind, World};
use playbook_core::analysis::required::{current_phase_index, progress};
use serde::{Deserialize, Serialize};
use tower_lsp_server::ls_types::notification::Notification;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// Analysis is pending or running.
    pub busy: bool,
    /// How many document changes the server has applied. An idle status with generation `g`
    /// means every change up to `g` is analysed and its diagnostics are published: a client
    /// that asks `playbook/status` after an edit waits for an idle notification with at least
    /// the generation the request returned.
    pub generation: u64,
    /// Every case's progress: in idle notifications and in answers to the request (a busy
    /// notification leaves it empty; the idle one that follows has it).
    pub cases: Vec<CaseStatus>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CaseStatus {
    pub uri: String,
    pub phase: Option<u32>,
    pub phase_name: Option<String>,
    /// Items required now that are recorded (answered, deferred or unknown).
    pub answered: usize,
    /// Items required now.
    pub required: usize,
    /// Ids of required items with no answer, in playbook order.
    pub missing: Vec<String>,
    /// The newest build of the current phase recorded beside the case.
    pub last_build: Option<LastBuild>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LastBuild {
    pub job: String,
    /// `running`, `succeeded`, `failed`, `aborted` or `interrupted`.
    pub status: String,
    pub started: String,
    pub finished: Option<String>,
}

pub enum StatusNotification {}

impl Notification for StatusNotification {
    type Params = Status;
    const METHOD: &'static str = "playbook/status";
}

pub fn compute(world: &World, busy: bool, generation: u64) -> Status {
    let mut cases: Vec<CaseStatus> = world
        .docs
        .values()
        .filter(|d| d.kind == Kind::Case)
        .map(|doc| {
            let view = world.case_view(doc);
            let Some(pb_doc) = view.playbook_doc else {
                return CaseStatus {
                    uri: doc.uri.as_str().to_string(),
                    phase: None,
                    phase_name: None,
                    answered: 0,
                    required: 0,
                    missing: vec![],
                    last_build: None,
                };
            };
            let playbook = pb_doc.playbook();
            let phase = current_phase_index(&playbook, world.current_phase(doc));
            let (required, missing) = progress(&playbook, &view.case, phase);
            let missing: Vec<String> = missing.iter().map(|&i| playbook.items[i].id.clone()).collect();
            let p = playbook.phases.get(phase);
            let last_build = world.builds_of(doc).and_then(|h| h.last_job(p.map(|p| p.number))).map(|j| LastBuild {
                job: j.id.clone(),
                status: j.status.as_str().to_string(),
                started: j.started.clone(),
                finished: j.finished.clone(),
            });
            CaseStatus {
                uri: doc.uri.as_str().to_string(),
                phase: p.map(|p| p.number),
                phase_name: p.map(|p| p.name.text.clone()),
                answered: required.len() - missing.len(),
                required: required.len(),
                missing,
                last_build,
            }
        })
        .collect();
    cases.sort_by(|a, b| a.uri.cmp(&b.uri));
    Status { busy, generation, cases }
}
