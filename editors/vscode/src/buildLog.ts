// The "Playbook Build" output channel: every `playbook/buildEvent` rendered like the terminal
// log of `playbook build`, in id order, with anything missed (a gap in the ids, a restarted
// client) fetched through `playbook/buildEvents`. A build started from this window also gets
// a notification with a Stop button.
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { BUILD_EVENTS, BuildEvent, renderEvent, STOP_BUILD } from './protocol';

interface JobState {
  job: string;
  uri: string;
  /** The highest event id written to the channel. */
  last: number;
  done: boolean;
  status?: string;
  activity?: string;
  progress?: { report(value: { message?: string }): void; resolve(): void };
}

export class BuildLog implements vscode.Disposable {
  readonly channel: vscode.OutputChannel;
  private readonly jobs = new Map<string, JobState>();
  /** Events are written one at a time, so a replay and live events never interleave. */
  private queue: Promise<void> = Promise.resolve();
  private wrote = false;
  private readonly emitter = new vscode.EventEmitter<BuildEvent>();
  /** Every event written to the channel, live or replayed, in order. */
  readonly onEvent = this.emitter.event;
  private readonly runningEmitter = new vscode.EventEmitter<boolean>();
  readonly onDidChangeRunning = this.runningEmitter.event;

  constructor(private readonly client: () => LanguageClient | undefined) {
    this.channel = vscode.window.createOutputChannel('Playbook Build', 'playbook-build-log');
  }

  dispose(): void {
    for (const state of this.jobs.values()) {
      state.progress?.resolve();
    }
    this.channel.dispose();
    this.emitter.dispose();
    this.runningEmitter.dispose();
  }

  get running(): boolean {
    return [...this.jobs.values()].some((j) => !j.done);
  }

  /** Running job ids, newest first. */
  runningJobs(): JobState[] {
    return [...this.jobs.values()].filter((j) => !j.done).reverse();
  }

  show(): void {
    this.channel.show(true);
  }

  /** A `playbook/buildEvent` notification. */
  onNotification(event: BuildEvent): void {
    this.enqueue(async () => {
      const state = this.state(event.job, event.uri);
      if (event.id <= state.last) {
        return; // already written (a replay overtook it)
      }
      if (event.id > state.last + 1) {
        await this.fetch(state, event.id);
      }
      this.write(state, event);
    });
  }

  /** A build this window started: show the channel (per the setting) and offer Stop. */
  started(job: string, uri: string): void {
    const state = this.state(job, uri);
    const reveal = vscode.workspace.getConfiguration('playbook').get<string>('build.revealOutput', 'onStart');
    if (reveal === 'onStart') {
      this.show();
    }
    if (!state.done && !state.progress) {
      void vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Playbook build', cancellable: true },
        (progress, token) =>
          new Promise<void>((resolve) => {
            state.progress = { report: (v) => progress.report(v), resolve };
            if (state.activity) {
              progress.report({ message: state.activity });
            }
            token.onCancellationRequested(() => {
              void vscode.commands.executeCommand(STOP_BUILD, { job: state.job });
            });
            if (state.done) {
              resolve();
            }
          }),
      );
    }
    this.runningEmitter.fire(this.running);
  }

  /**
   * After the client (re)connected: fetch what was missed of every job not seen to finish, and
   * of `running` jobs the server knows about that this window has not seen at all.
   */
  replayAfterReconnect(running: { job: string; uri: string }[]): void {
    const still = new Set(running.map((r) => r.job));
    const jobs = new Map<string, string>();
    for (const state of this.jobs.values()) {
      if (!state.done) {
        jobs.set(state.job, state.uri);
      }
    }
    for (const r of running) {
      jobs.set(r.job, r.uri);
    }
    for (const [job, uri] of jobs) {
      this.enqueue(async () => {
        const state = this.state(job, uri);
        await this.fetch(state, Number.MAX_SAFE_INTEGER);
        if (!state.done && !still.has(job)) {
          // No summary, and the server no longer runs it (it restarted: the job is interrupted).
          this.channel.appendLine(`▸ job ${job} did not finish: the server restarted while it ran`);
          state.done = true;
          state.status = 'interrupted';
          state.progress?.resolve();
          state.progress = undefined;
          this.runningEmitter.fire(this.running);
        }
      });
    }
  }

  private enqueue(task: () => Promise<void>): void {
    this.queue = this.queue.then(task).catch((e) => {
      this.channel.appendLine(`! ${e instanceof Error ? e.message : String(e)}`);
    });
  }

  private state(job: string, uri: string): JobState {
    let state = this.jobs.get(job);
    if (!state) {
      state = { job, uri, last: 0, done: false };
      this.jobs.set(job, state);
      this.runningEmitter.fire(this.running);
    }
    return state;
  }

  /** Writes the events after `state.last` and before `before` from the server's log of the job. */
  private async fetch(state: JobState, before: number): Promise<void> {
    const client = this.client();
    if (!client?.isRunning()) {
      return;
    }
    const events = await client.sendRequest<BuildEvent[]>(BUILD_EVENTS, { job: state.job, after: state.last, uri: state.uri });
    if (state.last === 0 && events.length > 0 && events[0].kind !== 'job_start') {
      this.channel.appendLine(`▸ (replaying job ${state.job} from event ${events[0].id})`);
    }
    for (const event of events ?? []) {
      if (event.id > state.last && event.id < before) {
        this.write(state, { ...event, uri: event.uri ?? state.uri });
      }
    }
  }

  private write(state: JobState, event: BuildEvent): void {
    if (event.kind === 'job_start' && this.wrote) {
      this.channel.appendLine('');
    }
    const [first, ...rest] = renderEvent(event).split(/\r\n|\r|\n/);
    this.channel.appendLine(first);
    for (const line of rest) {
      this.channel.appendLine(`    ${line}`);
    }
    this.wrote = true;
    state.last = event.id;
    if (event.kind === 'step_start') {
      state.activity = event.activity;
      state.progress?.report({ message: event.activity });
    }
    if (event.kind === 'step_fail') {
      const reveal = vscode.workspace.getConfiguration('playbook').get<string>('build.revealOutput', 'onStart');
      if (reveal === 'onFailure') {
        this.show();
      }
    }
    if (event.kind === 'summary') {
      state.done = true;
      state.status = event.status;
      state.progress?.resolve();
      state.progress = undefined;
      this.runningEmitter.fire(this.running);
      if (event.status && event.status !== 'succeeded') {
        void vscode.window
          .showWarningMessage(`Playbook build: ${event.message ?? event.status}`, 'Show Log')
          .then((choice) => choice && this.show());
      }
    }
    this.emitter.fire(event);
  }
}
