// The playbook server's own protocol (see the repository README, "Builds from the editor").

/** `playbook/buildEvent`: one build event, with the working case it belongs to. */
export interface BuildEvent {
  uri: string;
  id: number;
  job: string;
  ts: string;
  kind: 'job_start' | 'step_start' | 'log' | 'progress' | 'step_done' | 'step_fail' | 'step_skip' | 'summary';
  activity?: string;
  index?: number;
  message?: string;
  stream?: string;
  duration_ms?: number;
  tokens?: unknown;
  status?: string;
}

export interface LastBuild {
  job: string;
  /** `running`, `succeeded`, `failed`, `aborted` or `interrupted`. */
  status: string;
  started: string;
  finished?: string | null;
}

export interface CaseStatus {
  uri: string;
  phase?: number | null;
  phaseName?: string | null;
  answered: number;
  required: number;
  missing: string[];
  lastBuild?: LastBuild | null;
}

/**
 * `playbook/status`. The request answers every case; a notification carries only the cases
 * whose status changed since the previous notification, and `removed` lists cases that are gone.
 */
export interface Status {
  busy: boolean;
  generation: number;
  cases: CaseStatus[];
  removed?: string[];
}

/** What `playbook.runBuild` and `playbook.runActivity` answer. */
export interface RunResult {
  job: string;
  uri: string;
}

export const BUILD_EVENT = 'playbook/buildEvent';
export const BUILD_EVENTS = 'playbook/buildEvents';
export const STATUS = 'playbook/status';

export const RUN_BUILD = 'playbook.runBuild';
export const RUN_ACTIVITY = 'playbook.runActivity';
export const STOP_BUILD = 'playbook.stopBuild';
export const RECORD_ANSWER = 'playbook.recordAnswer';
export const RECORD_ALL_MISSING = 'playbook.recordAllMissing';
export const REOPEN_PHASE = 'playbook.reopenPhase';

/** One line of the build log, as `playbook build` prints it in a terminal. */
export function renderEvent(e: BuildEvent): string {
  const activity = e.activity ?? '';
  const message = e.message ?? '';
  const secs = typeof e.duration_ms === 'number' ? ` ${(e.duration_ms / 1000).toFixed(1)}s` : '';
  switch (e.kind) {
    case 'job_start':
      return `▸ ${message || `job ${e.job}`}`;
    case 'step_start':
      return `→ ${activity}`;
    case 'log':
    case 'progress':
      return `  · ${message}`;
    case 'step_done':
      return `✓ ${activity}${secs}`;
    case 'step_fail':
      return `✗ ${activity}${secs}${message ? ` — ${message}` : ''}`;
    case 'step_skip':
      return `○ ${activity} — skipped${message ? `, ${message}` : ''}`;
    case 'summary':
      return `▸ ${message || e.status || 'done'}`;
    default:
      return `  ${message}`;
  }
}
