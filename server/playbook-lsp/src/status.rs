//! `playbook/status`: busy/idle and, per case, the phase, answered/required counts and last build, so
//! status bars and tests can wait for analysis instead of sleeping.

use crate::world::{Document, Kind, World};
use playbook_core::analysis::required::{current_phase_index, progress};
use playbook_engine::build::BuildHistory;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use tower_lsp_server::ls_types::Uri;
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
    /// Per case, its progress. The request answers every case. Notifications carry only the
    /// cases whose status changed since the previous notification (the first idle one: all),
    /// so a workspace of a thousand cases does not resend them all on every keystroke; a busy
    /// notification carries none.
    pub cases: Vec<CaseStatus>,
    /// In notifications: cases that are gone since the previous one (deleted, or no longer a case).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
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

/// Each case's last computed status, with what it was computed from, and what the last
/// notification told the client. A status is sent after every analysis; with a thousand cases
/// in the workspace, recomputing (or resending) every case's progress each time would cost
/// more than the keystroke's own analysis.
#[derive(Default)]
pub struct StatusCache {
    computed: HashMap<Uri, (Inputs, CaseStatus)>,
    sent: HashMap<String, CaseStatus>,
}

/// The notification for `full`: only the cases that changed since the last notification.
pub fn changes_since_last(full: Status, cache: &mut StatusCache) -> Status {
    let mut current: HashMap<String, CaseStatus> = HashMap::with_capacity(full.cases.len());
    let mut changed = Vec::new();
    for case in full.cases {
        if cache.sent.get(&case.uri) != Some(&case) {
            changed.push(case.clone());
        }
        current.insert(case.uri.clone(), case);
    }
    let mut removed: Vec<String> = cache.sent.keys().filter(|uri| !current.contains_key(*uri)).cloned().collect();
    removed.sort();
    cache.sent = current;
    Status { busy: full.busy, generation: full.generation, cases: changed, removed }
}

/// What a case's status depends on, compared by identity (snapshots replace what changes).
struct Inputs {
    case: Arc<Document>,
    playbook: Option<Arc<Document>>,
    phase: Option<u32>,
    builds: Option<Arc<BuildHistory>>,
}

impl Inputs {
    fn same(&self, other: &Inputs) -> bool {
        let same_opt = |a: &Option<Arc<Document>>, b: &Option<Arc<Document>>| match (a, b) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        let same_builds = match (&self.builds, &other.builds) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        Arc::ptr_eq(&self.case, &other.case) && same_opt(&self.playbook, &other.playbook) && self.phase == other.phase && same_builds
    }
}

pub fn compute(world: &World, busy: bool, generation: u64, cache: &mut StatusCache) -> Status {
    cache.computed.retain(|uri, _| world.docs.get(uri).is_some_and(|d| d.kind == Kind::Case));
    let mut cases: Vec<CaseStatus> = world
        .docs
        .values()
        .filter(|d| d.kind == Kind::Case)
        .map(|doc| {
            let view = world.case_view(doc);
            let inputs = Inputs {
                case: doc.clone(),
                playbook: view.playbook_doc.clone(),
                phase: world.current_phase(doc),
                builds: world.builds_of(doc).cloned(),
            };
            if let Some((cached, status)) = cache.computed.get(&doc.uri)
                && cached.same(&inputs)
            {
                return status.clone();
            }
            let status = case_status(world, doc, view);
            cache.computed.insert(doc.uri.clone(), (inputs, status.clone()));
            status
        })
        .collect();
    cases.sort_by(|a, b| a.uri.cmp(&b.uri));
    Status { busy, generation, cases, removed: Vec::new() }
}

fn case_status(world: &World, doc: &Arc<Document>, view: crate::world::CaseView) -> CaseStatus {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(uri: &str, answered: usize) -> CaseStatus {
        CaseStatus { uri: uri.into(), phase: Some(1), phase_name: None, answered, required: 3, missing: vec![], last_build: None }
    }

    fn full(cases: Vec<CaseStatus>) -> Status {
        Status { busy: false, generation: 1, cases, removed: vec![] }
    }

    #[test]
    fn notifications_carry_only_what_changed_and_what_went() {
        let mut cache = StatusCache::default();
        let first = changes_since_last(full(vec![case("a", 1), case("b", 1)]), &mut cache);
        assert_eq!(first.cases.len(), 2, "the first notification carries every case");
        let second = changes_since_last(full(vec![case("a", 2), case("b", 1)]), &mut cache);
        assert_eq!(second.cases, vec![case("a", 2)]);
        assert!(second.removed.is_empty());
        let third = changes_since_last(full(vec![case("a", 2)]), &mut cache);
        assert!(third.cases.is_empty());
        assert_eq!(third.removed, vec!["b".to_string()]);
        let back = changes_since_last(full(vec![case("a", 2), case("b", 1)]), &mut cache);
        assert_eq!(back.cases, vec![case("b", 1)], "a case that comes back is sent again");
    }
}
