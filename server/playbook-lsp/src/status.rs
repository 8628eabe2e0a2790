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
/// in the workspace, recomputing, comparing or resending every case's progress each time would
/// cost more than the keystroke's own analysis, so unchanged cases are recognised by identity.
#[derive(Default)]
pub struct StatusCache {
    computed: HashMap<Uri, (Inputs, Arc<CaseStatus>)>,
    sent: HashMap<String, Arc<CaseStatus>>,
}

/// What a case's status depends on, compared by identity (snapshots replace what changes).
struct Inputs {
    case: Arc<Document>,
    /// Where the case's `playbook:` points (a function of the case document alone).
    playbook_uri: Option<Uri>,
    playbook: Option<Arc<Document>>,
    phase: Option<u32>,
    builds: Option<Arc<BuildHistory>>,
}

fn same<T>(a: &Option<Arc<T>>, b: &Option<Arc<T>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// Every case's status, sorted by URI; unchanged ones are the cached `Arc`s.
fn statuses(world: &World, cache: &mut StatusCache) -> Vec<Arc<CaseStatus>> {
    cache.computed.retain(|uri, _| world.docs.get(uri).is_some_and(|d| d.kind == Kind::Case));
    let mut cases: Vec<Arc<CaseStatus>> = world
        .docs
        .values()
        .filter(|d| d.kind == Kind::Case)
        .map(|doc| {
            let phase = world.current_phase(doc);
            let builds = world.builds_of(doc).cloned();
            if let Some((cached, status)) = cache.computed.get(&doc.uri)
                && Arc::ptr_eq(&cached.case, doc)
                && cached.phase == phase
                && same(&cached.builds, &builds)
                && same(&cached.playbook, &cached.playbook_uri.as_ref().and_then(|u| world.docs.get(u).cloned()))
            {
                return status.clone();
            }
            let view = world.case_view(doc);
            let inputs = Inputs {
                case: doc.clone(),
                playbook_uri: view.playbook_doc.as_ref().map(|d| d.uri.clone()).or_else(|| world.playbook_uri_for(doc, &view.case)),
                playbook: view.playbook_doc.clone(),
                phase,
                builds,
            };
            let status = Arc::new(case_status(world, doc, view));
            cache.computed.insert(doc.uri.clone(), (inputs, status.clone()));
            status
        })
        .collect();
    cases.sort_by(|a, b| a.uri.cmp(&b.uri));
    cases
}

/// The answer to the request: every case.
pub fn compute(world: &World, busy: bool, generation: u64, cache: &mut StatusCache) -> Status {
    let cases = statuses(world, cache).iter().map(|c| CaseStatus::clone(c)).collect();
    Status { busy, generation, cases, removed: Vec::new() }
}

/// An idle notification: only the cases whose status changed since the last notification,
/// and the URIs of those that went.
pub fn notification(world: &World, generation: u64, cache: &mut StatusCache) -> Status {
    let current = statuses(world, cache);
    let (cases, removed) = changes(current, &mut cache.sent);
    Status { busy: false, generation, cases, removed }
}

/// What changed between the statuses last sent and `current` (which becomes the last sent).
fn changes(current: Vec<Arc<CaseStatus>>, sent: &mut HashMap<String, Arc<CaseStatus>>) -> (Vec<CaseStatus>, Vec<String>) {
    let mut changed = Vec::new();
    let mut now = HashMap::with_capacity(current.len());
    for case in current {
        let unchanged = sent.get(&case.uri).is_some_and(|old| Arc::ptr_eq(old, &case) || **old == *case);
        if !unchanged {
            changed.push(CaseStatus::clone(&case));
        }
        now.insert(case.uri.clone(), case);
    }
    let mut removed: Vec<String> = sent.keys().filter(|uri| !now.contains_key(*uri)).cloned().collect();
    removed.sort();
    *sent = now;
    (changed, removed)
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

    fn full(cases: Vec<CaseStatus>) -> Vec<Arc<CaseStatus>> {
        cases.into_iter().map(Arc::new).collect()
    }

    #[test]
    fn notifications_carry_only_what_changed_and_what_went() {
        let mut sent = HashMap::new();
        let (first, _) = changes(full(vec![case("a", 1), case("b", 1)]), &mut sent);
        assert_eq!(first.len(), 2, "the first notification carries every case");
        let (second, removed) = changes(full(vec![case("a", 2), case("b", 1)]), &mut sent);
        assert_eq!(second, vec![case("a", 2)], "b is equal though not the same Arc");
        assert!(removed.is_empty());
        let (third, removed) = changes(full(vec![case("a", 2)]), &mut sent);
        assert!(third.is_empty());
        assert_eq!(removed, vec!["b".to_string()]);
        let (back, _) = changes(full(vec![case("a", 2), case("b", 1)]), &mut sent);
        assert_eq!(back, vec![case("b", 1)], "a case that comes back is sent again");
    }
}
