//! A job is a directory `.playbook/builds/<job-id>/` next to the case: `job.json` (rewritten
//! atomically, temp file + rename), `events.jsonl` (append-only) and `workspace/`.

use super::events::{Draft, EventKind, EventSink, repair_and_last_id};
use super::redact::Redactor;
use crate::time::{compact, now_ms, rfc3339};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Aborted,
    Interrupted,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Aborted => "aborted",
            JobStatus::Interrupted => "interrupted",
        }
    }

    pub fn is_final(self) -> bool {
        !matches!(self, JobStatus::Queued | JobStatus::Running)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Pending,
    Running,
    Succeeded,
    Failed,
    Skipped,
    Aborted,
    Interrupted,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Pending => "pending",
            StepStatus::Running => "running",
            StepStatus::Succeeded => "succeeded",
            StepStatus::Failed => "failed",
            StepStatus::Skipped => "skipped",
            StepStatus::Aborted => "aborted",
            StepStatus::Interrupted => "interrupted",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub activity: String,
    /// Position in the phase's Activities (0-based).
    pub index: u32,
    pub status: StepStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Why the step failed (the handler's message), for status displays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the step ended (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    /// The step's content hash: its playbook text, its Input answers, the hashes before it.
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub id: String,
    pub status: JobStatus,
    pub pid: u32,
    pub started: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<u32>,
    pub steps: Vec<StepRecord>,
}

/// A job on disk.
#[derive(Debug, Clone)]
pub struct Job {
    pub dir: PathBuf,
    pub record: JobRecord,
}

pub fn builds_dir(case_dir: &Path) -> PathBuf {
    case_dir.join(".playbook").join("builds")
}

impl Job {
    /// Create a new job directory with its workspace and a `running` job.json owned by this process.
    pub fn create(case_dir: &Path, phase: Option<u32>, steps: Vec<StepRecord>) -> Result<Job, String> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let now = now_ms();
        let pid = std::process::id();
        let id = format!("{}-{pid}-{}", compact(now), SEQ.fetch_add(1, Ordering::Relaxed));
        let dir = builds_dir(case_dir).join(&id);
        std::fs::create_dir_all(dir.join("workspace")).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let record = JobRecord { id, status: JobStatus::Running, pid, started: rfc3339(now), finished: None, phase, steps };
        let job = Job { dir, record };
        job.save()?;
        Ok(job)
    }

    pub fn load(dir: &Path) -> Result<Job, String> {
        let path = dir.join("job.json");
        let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let record = serde_json::from_str(&text).map_err(|e| format!("{} is not a job record: {e}", path.display()))?;
        Ok(Job { dir: dir.to_path_buf(), record })
    }

    /// Write job.json atomically: a temp file in the same directory, then rename.
    pub fn save(&self) -> Result<(), String> {
        let text = serde_json::to_string_pretty(&self.record).map_err(|e| format!("cannot encode job.json: {e}"))?;
        crate::fsutil::write_atomic(&self.dir.join("job.json"), text.as_bytes())
    }

    pub fn finish(&mut self, status: JobStatus) -> Result<(), String> {
        self.record.status = status;
        self.record.finished = Some(rfc3339(now_ms()));
        self.save()
    }

    pub fn events_path(&self) -> PathBuf {
        self.dir.join("events.jsonl")
    }

    pub fn workspace(&self) -> PathBuf {
        self.dir.join("workspace")
    }
}

/// Every job beside the case, oldest first (job ids sort in time order). Unreadable entries are skipped.
pub fn list_jobs(case_dir: &Path) -> Vec<Job> {
    let Ok(entries) = std::fs::read_dir(builds_dir(case_dir)) else { return Vec::new() };
    let mut jobs: Vec<Job> =
        entries.filter_map(|e| e.ok()).filter(|e| e.path().is_dir()).filter_map(|e| Job::load(&e.path()).ok()).collect();
    jobs.sort_by(|a, b| a.record.id.cmp(&b.record.id));
    jobs
}

/// Find a job by id, beside the case or given as a path to its directory.
pub fn find_job(case_dir: &Path, id_or_dir: &str) -> Result<Job, String> {
    let as_path = Path::new(id_or_dir);
    if as_path.join("job.json").is_file() {
        return Job::load(as_path);
    }
    let dir = builds_dir(case_dir).join(id_or_dir);
    if dir.join("job.json").is_file() { Job::load(&dir) } else { Err(format!("no job {id_or_dir} in {}", builds_dir(case_dir).display())) }
}

/// Whether a process with this id exists (`kill(pid, 0)`; EPERM means it exists but is not ours).
pub fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks for the process; nothing is delivered.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Mark every job left `running` (or `queued`) by a process that no longer exists as
/// `interrupted`: its running step too, and a `summary` event ends its log. Returns their ids.
pub fn recover_interrupted(case_dir: &Path) -> Result<Vec<String>, String> {
    let mut marked = Vec::new();
    for mut job in list_jobs(case_dir) {
        if job.record.status.is_final() || pid_alive(job.record.pid) {
            continue;
        }
        for step in &mut job.record.steps {
            if step.status == StepStatus::Running {
                step.status = StepStatus::Interrupted;
            }
        }
        let last = repair_and_last_id(&job.events_path())?;
        let sink = EventSink::open(&job.events_path(), &job.record.id, last, Redactor::default(), None)?;
        sink.emit(
            EventKind::Summary,
            Draft {
                status: Some("interrupted".into()),
                message: Some(format!("the build process {} ended without finishing the job", job.record.pid)),
                ..Draft::default()
            },
        );
        sink.sync();
        job.finish(JobStatus::Interrupted)?;
        marked.push(job.record.id.clone());
    }
    Ok(marked)
}
