//! What the builds on disk say, for status displays: each Activity's newest attempt and the
//! newest job per phase. Read-only: a job left `running` by a dead process is *shown* as
//! interrupted without rewriting its files (a reviewer's editor must not change a repository
//! it only reads; the next build or `playbook status` records the recovery).

use super::job::{Job, JobStatus, StepStatus, list_jobs, pid_alive};
use std::collections::HashMap;
use std::path::Path;

/// One Activity's newest attempt (a step that ran, failed, was skipped or is running).
#[derive(Debug, Clone, PartialEq)]
pub struct LastStep {
    pub job: String,
    pub status: StepStatus,
    pub duration_ms: Option<u64>,
    /// The failure message, when it failed.
    pub message: Option<String>,
    /// When the step ended, else when its job started (RFC 3339).
    pub at: String,
}

/// A job in brief.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSummary {
    pub id: String,
    pub status: JobStatus,
    pub phase: Option<u32>,
    pub started: String,
    pub finished: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct BuildHistory {
    /// Per Activity name, its newest attempt.
    pub steps: HashMap<String, LastStep>,
    /// Every job, oldest first.
    pub jobs: Vec<JobSummary>,
}

impl BuildHistory {
    /// The builds beside a case.
    pub fn read(case_dir: &Path) -> BuildHistory {
        BuildHistory::from_jobs(&list_jobs(case_dir), pid_alive)
    }

    /// `alive` says whether a job's writer still runs (a parameter so tests need no processes).
    pub fn from_jobs(jobs: &[Job], alive: impl Fn(u32) -> bool) -> BuildHistory {
        let mut history = BuildHistory::default();
        for job in jobs {
            let r = &job.record;
            let dead = !r.status.is_final() && !alive(r.pid);
            let status = if dead { JobStatus::Interrupted } else { r.status };
            history.jobs.push(JobSummary {
                id: r.id.clone(),
                status,
                phase: r.phase,
                started: r.started.clone(),
                finished: r.finished.clone(),
            });
            for step in r.steps.iter().filter(|s| s.status != StepStatus::Pending) {
                let status = if dead && step.status == StepStatus::Running { StepStatus::Interrupted } else { step.status };
                history.steps.insert(
                    step.activity.clone(),
                    LastStep {
                        job: r.id.clone(),
                        status,
                        duration_ms: step.duration_ms,
                        message: step.message.clone(),
                        at: step.finished.clone().unwrap_or_else(|| r.started.clone()),
                    },
                );
            }
        }
        history
    }

    /// The newest job of a phase (any job when the phase is not known).
    pub fn last_job(&self, phase: Option<u32>) -> Option<&JobSummary> {
        self.jobs.iter().rev().find(|j| phase.is_none() || j.phase == phase)
    }

    /// The job still running, if any.
    pub fn running(&self) -> Option<&JobSummary> {
        self.jobs.iter().rev().find(|j| !j.status.is_final())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::job::{JobRecord, StepRecord};

    fn job(id: &str, status: JobStatus, steps: &[(&str, StepStatus)]) -> Job {
        let steps = steps
            .iter()
            .enumerate()
            .map(|(i, (name, status))| StepRecord {
                activity: name.to_string(),
                index: i as u32,
                status: *status,
                duration_ms: Some(1200),
                message: (*status == StepStatus::Failed).then(|| "exited with status 1".to_string()),
                finished: None,
                hash: String::new(),
            })
            .collect();
        let record = JobRecord { id: id.into(), status, pid: 42, started: format!("{id}-start"), finished: None, phase: Some(2), steps };
        Job { dir: Default::default(), record }
    }

    #[test]
    fn each_activity_shows_its_newest_attempt_and_dead_writers_show_as_interrupted() {
        use StepStatus::*;
        let jobs = [
            job("j1", JobStatus::Failed, &[("a", Succeeded), ("b", Failed), ("c", Pending)]),
            // A later `--activity a` run leaves b and c pending: they keep j1's status.
            job("j2", JobStatus::Succeeded, &[("a", Skipped), ("b", Pending), ("c", Pending)]),
            job("j3", JobStatus::Running, &[("a", Succeeded), ("b", Running), ("c", Pending)]),
        ];
        let live = BuildHistory::from_jobs(&jobs, |_| true);
        assert_eq!(live.steps["b"].status, Running);
        assert_eq!(live.running().map(|j| j.id.as_str()), Some("j3"));
        assert!(!live.steps.contains_key("c"), "never attempted");

        let dead = BuildHistory::from_jobs(&jobs, |_| false);
        assert_eq!(dead.steps["b"].status, Interrupted);
        assert_eq!(dead.steps["a"].job, "j3");
        assert_eq!(dead.last_job(Some(2)).map(|j| j.status), Some(JobStatus::Interrupted));
        assert!(dead.running().is_none());

        let failed_only = BuildHistory::from_jobs(&jobs[..1], |_| false);
        assert_eq!(failed_only.steps["b"].message.as_deref(), Some("exited with status 1"));
        assert_eq!(failed_only.last_job(Some(3)), None);
    }
}
