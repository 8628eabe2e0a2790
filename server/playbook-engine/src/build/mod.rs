//! Builds: a job runs the current phase's Activities and records everything as files next to
//! the case (`.playbook/builds/<job>/`: `job.json`, append-only `events.jsonl`, `workspace/`).
//!
//! - [`job`] — the job directory, `job.json` (written atomically) and recovery of dead jobs.
//! - [`events`] — the event type, the append-only writer and the tolerant reader.
//! - [`handler`] — the `Handler` trait, the registry, the generic `sh run` handler.
//! - [`redact`] — secrets become `***` before any event is written or shown.
//! - [`history`] — what the jobs on disk say per Activity and per phase, for status displays.
//! - [`runner`] — the order of steps, skipping unchanged ones, the job result.
//! - [`cancel`] — the cancellation token (and Ctrl-C for the CLI).

pub mod cancel;
pub mod events;
pub mod handler;
pub mod history;
pub mod job;
pub mod redact;
pub mod runner;

pub use cancel::CancelToken;
pub use events::{Event, EventKind, EventSink, Observer, Stream};
pub use handler::{Handler, Registry, StepContext, StepOutcome};
pub use history::{BuildHistory, JobSummary, LastStep};
pub use job::{JobRecord, JobStatus, StepRecord, StepStatus};
pub use redact::Redactor;
pub use runner::{BuildOptions, BuildOutcome, run_build};
