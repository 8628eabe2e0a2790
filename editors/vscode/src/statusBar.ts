// The status-bar item: the current phase and answered/required of the case in front of the
// user, from `playbook/status`; clicking it lists the missing items.
import * as vscode from 'vscode';
import { CaseStatus, Status } from './protocol';

/** The server's latest `playbook/status`, kept by the extension. */
export class StatusModel implements vscode.Disposable {
  private status: Status = { busy: false, generation: 0, cases: [] };
  private readonly emitter = new vscode.EventEmitter<Status>();
  readonly onDidChange = this.emitter.event;
  /** The case the user last looked at (the status bar follows it when another file is active). */
  private lastCase: string | undefined;

  dispose(): void {
    this.emitter.dispose();
  }

  get busy(): boolean {
    return this.status.busy;
  }

  get cases(): CaseStatus[] {
    return this.status.cases;
  }

  /** The answer to the `playbook/status` request: every case. */
  replace(status: Status): void {
    this.status = { ...status, cases: status.cases };
    this.emitter.fire(this.status);
  }

  /** A `playbook/status` notification: only the cases that changed, and those that went. */
  update(status: Status): void {
    const byUri = new Map(this.status.cases.map((c) => [c.uri, c] as [string, CaseStatus]));
    for (const uri of status.removed ?? []) {
      byUri.delete(uri);
    }
    for (const c of status.cases) {
      byUri.set(c.uri, c);
    }
    const cases = [...byUri.values()].sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
    this.status = { busy: status.busy, generation: status.generation, cases };
    this.emitter.fire(this.status);
  }

  caseFor(uri: string | undefined): CaseStatus | undefined {
    return uri === undefined ? undefined : this.cases.find((c) => c.uri === uri || sameFile(c.uri, uri));
  }

  /**
   * The case in front of the user: the active editor's, else the one last in front, else the
   * only (or first) one.
   */
  current(playbookCase?: (uri: string) => string | undefined): CaseStatus | undefined {
    const active = vscode.window.activeTextEditor?.document.uri.toString();
    let found = this.caseFor(active);
    if (!found && active && playbookCase) {
      found = this.caseFor(playbookCase(active));
    }
    if (found) {
      this.lastCase = found.uri;
      return found;
    }
    return this.caseFor(this.lastCase) ?? this.cases[0];
  }
}

/** Two URIs naming the same file (the server and VS Code may escape differently). */
export function sameFile(a: string, b: string): boolean {
  if (a === b) {
    return true;
  }
  try {
    return vscode.Uri.parse(a).fsPath === vscode.Uri.parse(b).fsPath;
  } catch {
    return false;
  }
}

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly model: StatusModel,
    private readonly building: () => boolean,
    private readonly playbookCase: (uri: string) => string | undefined,
  ) {
    this.item = vscode.window.createStatusBarItem('playbook.status', vscode.StatusBarAlignment.Left, 10);
    this.item.name = 'Playbook';
    this.item.command = 'playbook.showMissing';
    this.disposables.push(
      this.item,
      model.onDidChange(() => this.render()),
      vscode.window.onDidChangeActiveTextEditor(() => this.render()),
    );
    this.render();
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }

  render(): void {
    const c = this.model.current(this.playbookCase);
    if (!c) {
      this.item.hide();
      return;
    }
    const spin = this.model.busy || this.building() ? '$(sync~spin) ' : '';
    const phase = c.phase != null ? `Phase ${c.phase}` : 'Playbook';
    const done = c.required > 0 && c.answered >= c.required;
    this.item.text = `${spin}$(${done ? 'pass' : 'checklist'}) ${phase} · ${c.answered}/${c.required}`;
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**${phase}${c.phaseName ? `: ${escape(c.phaseName)}` : ''}**\n\n`);
    md.appendMarkdown(`${c.answered} of ${c.required} required answers recorded in \`${basename(c.uri)}\`\n\n`);
    if (c.missing.length > 0) {
      const shown = c.missing.slice(0, 8).map((m) => `\`${m}\``).join(', ');
      md.appendMarkdown(`Missing: ${shown}${c.missing.length > 8 ? ` and ${c.missing.length - 8} more` : ''}\n\n`);
    }
    if (c.lastBuild) {
      md.appendMarkdown(`Last build: ${c.lastBuild.status} (${c.lastBuild.job})\n\n`);
    }
    md.appendMarkdown('Click to list the missing answers.');
    this.item.tooltip = md;
    this.item.backgroundColor = undefined;
    this.item.show();
  }
}

function basename(uri: string): string {
  return decodeURIComponent(uri.split('/').pop() ?? uri);
}

function escape(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, (m) => `\\${m}`);
}
