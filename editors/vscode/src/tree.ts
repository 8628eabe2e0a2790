// The Explorer view "Playbook": phases → Activities with their last status. Built from what
// the server already serves for the playbook — document symbols (phases, Activities) and code
// lenses (each Activity's last status, the phase summary, the run commands) — and updated live
// from `playbook/buildEvent` until the next refresh reads the lenses again.
import * as path from 'path';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import type * as lsp from 'vscode-languageclient/node';
import { playbookOf, readText } from './detect';
import { BuildEvent, CaseStatus, RUN_ACTIVITY, RUN_BUILD } from './protocol';
import { sameFile } from './statusBar';

interface CaseNode {
  kind: 'case';
  caseUri: string;
  label: string;
  description: string;
  phases: PhaseNode[];
  error?: string;
}

interface PhaseNode {
  kind: 'phase';
  caseUri: string;
  playbookUri: vscode.Uri;
  label: string;
  description: string;
  tooltip: string;
  current: boolean;
  range: vscode.Range;
  runArgs?: unknown;
  activities: ActivityNode[];
}

interface ActivityNode {
  kind: 'activity';
  caseUri: string;
  playbookUri: vscode.Uri;
  name: string;
  status: string;
  range: vscode.Range;
  runArgs?: unknown;
}

interface MessageNode {
  kind: 'message';
  label: string;
}

type Node = CaseNode | PhaseNode | ActivityNode | MessageNode;

const SYMBOL_NAMESPACE = 3;
const SYMBOL_FUNCTION = 12;

export class PhasesTree implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private roots: Node[] = [];
  private readonly emitter = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private timer: NodeJS.Timeout | undefined;
  private loading: Promise<void> | undefined;
  private again = false;
  /** Playbook of each case, as last read: lets the status bar follow an open playbook. */
  readonly playbooks = new Map<string, string>();

  constructor(
    private readonly client: () => LanguageClient | undefined,
    private readonly cases: () => CaseStatus[],
  ) {}

  dispose(): void {
    if (this.timer) {
      clearTimeout(this.timer);
    }
    this.emitter.dispose();
  }

  /** Refresh soon (several triggers in a burst cost one refresh). */
  refresh(delay = 250): void {
    if (this.timer) {
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.reload();
    }, delay);
  }

  /** Read everything again from the server; resolves when the view shows it. */
  async reload(): Promise<void> {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = (async () => {
      do {
        this.again = false;
        try {
          this.roots = await this.load();
        } catch (e) {
          this.roots = [{ kind: 'message', label: `Could not read the playbook: ${e instanceof Error ? e.message : String(e)}` }];
        }
        this.emitter.fire(undefined);
      } while (this.again);
    })();
    try {
      await this.loading;
    } finally {
      this.loading = undefined;
    }
  }

  /** A build event: show the Activity's new state at once. */
  onEvent(event: BuildEvent): void {
    let status: string | undefined;
    switch (event.kind) {
      case 'step_start':
        status = '⟳ running';
        break;
      case 'step_done':
        status = `✓${typeof event.duration_ms === 'number' ? ` ${(event.duration_ms / 1000).toFixed(1)} s` : ''} · just now`;
        break;
      case 'step_skip':
        status = '✓ unchanged · just now';
        break;
      case 'step_fail':
        status = `✗ failed: ${(event.message ?? 'see the build log').split('\n')[0]}`;
        break;
      case 'summary':
        this.refresh(100);
        return;
      default:
        return;
    }
    for (const node of this.activities()) {
      if (node.name === event.activity && sameFile(node.caseUri, event.uri)) {
        node.status = status;
        this.emitter.fire(node);
      }
    }
  }

  /** The playbook a case uses, as last read (`undefined` before the first load). */
  caseOfPlaybook(playbookUri: string): string | undefined {
    for (const [caseUri, pb] of this.playbooks) {
      if (sameFile(pb, playbookUri)) {
        return caseUri;
      }
    }
    return undefined;
  }

  /** Every Activity currently shown, for tests and for the Run Activity picker. */
  activities(): ActivityNode[] {
    const out: ActivityNode[] = [];
    const walk = (nodes: Node[]) => {
      for (const n of nodes) {
        if (n.kind === 'case') {
          walk(n.phases);
        } else if (n.kind === 'phase') {
          out.push(...n.activities);
        }
      }
    };
    walk(this.roots);
    return out;
  }

  getChildren(element?: Node): Node[] {
    if (!element) {
      return this.roots;
    }
    if (element.kind === 'case') {
      return element.error ? [{ kind: 'message', label: element.error }] : element.phases;
    }
    if (element.kind === 'phase') {
      return element.activities.length > 0 ? element.activities : [{ kind: 'message', label: 'No Activities' }];
    }
    return [];
  }

  getTreeItem(node: Node): vscode.TreeItem {
    switch (node.kind) {
      case 'message':
        return new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
      case 'case': {
        const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.Expanded);
        item.id = `case:${node.caseUri}`;
        item.description = node.description;
        item.iconPath = new vscode.ThemeIcon('file-code');
        item.resourceUri = vscode.Uri.parse(node.caseUri);
        item.command = { title: 'Open', command: 'vscode.open', arguments: [vscode.Uri.parse(node.caseUri)] };
        item.contextValue = 'case';
        return item;
      }
      case 'phase': {
        const state = node.current ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed;
        const item = new vscode.TreeItem(node.label, state);
        item.id = `phase:${node.caseUri}:${node.label}`;
        item.description = node.description;
        item.tooltip = `${node.label}\n${node.tooltip}`;
        item.iconPath = new vscode.ThemeIcon(node.current ? 'debug-stackframe' : 'circle-small-filled');
        item.contextValue = node.current && node.runArgs ? 'phase.current' : 'phase';
        item.command = { title: 'Open', command: 'playbook.openActivity', arguments: [node] };
        return item;
      }
      case 'activity': {
        const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.None);
        item.id = `activity:${node.caseUri}:${node.name}`;
        item.description = node.status;
        item.tooltip = `${node.name}: ${node.status}`;
        item.iconPath = statusIcon(node.status);
        item.contextValue = node.runArgs ? 'activity.runnable' : 'activity';
        item.command = { title: 'Open', command: 'playbook.openActivity', arguments: [node] };
        return item;
      }
    }
  }

  private async load(): Promise<Node[]> {
    const client = this.client();
    if (!client?.isRunning()) {
      return [{ kind: 'message', label: 'The playbook language server is not running.' }];
    }
    const cases = [...this.cases()].sort((a, b) => a.uri.localeCompare(b.uri));
    if (cases.length === 0) {
      return [{ kind: 'message', label: 'No working case in this workspace.' }];
    }
    const nodes = await Promise.all(cases.map((c) => this.loadCase(client, c, cases.length > 1)));
    return nodes.length === 1 && !nodes[0].error ? nodes[0].phases : nodes;
  }

  private async loadCase(client: LanguageClient, status: CaseStatus, several: boolean): Promise<CaseNode> {
    const caseUri = vscode.Uri.parse(status.uri);
    const label = path.basename(path.dirname(caseUri.fsPath)) + path.sep + path.basename(caseUri.fsPath);
    const phase = status.phase != null ? `Phase ${status.phase} · ` : '';
    const node: CaseNode = {
      kind: 'case',
      caseUri: status.uri,
      label,
      description: `${phase}${status.answered}/${status.required} answered`,
      phases: [],
    };
    const text = await readText(caseUri);
    const playbookUri = text === undefined ? undefined : playbookOf(caseUri, text);
    if (!playbookUri) {
      node.error = 'This case names no playbook.';
      return node;
    }
    this.playbooks.set(status.uri, playbookUri.toString());
    const uri = client.code2ProtocolConverter.asUri(playbookUri);
    const [symbols, lenses] = await Promise.all([
      client.sendRequest<lsp.DocumentSymbol[] | null>('textDocument/documentSymbol', { textDocument: { uri } }),
      client.sendRequest<lsp.CodeLens[] | null>('textDocument/codeLens', { textDocument: { uri } }),
    ]);
    if (!symbols || symbols.length === 0 || !('children' in symbols[0] || 'selectionRange' in symbols[0])) {
      node.error = `No phases in ${path.basename(playbookUri.fsPath)}.`;
      return node;
    }
    const caseLabel = path.basename(path.dirname(caseUri.fsPath));
    const info = new Map<number, string>();
    const runs = new Map<number, unknown>();
    for (const lens of lenses ?? []) {
      const line = lens.range.start.line;
      const command = lens.command;
      if (!command) {
        continue;
      }
      if (command.command) {
        const arg = command.arguments?.[0] as { case?: string } | undefined;
        if (!arg?.case || sameFile(arg.case, status.uri)) {
          runs.set(line, arg);
        }
        continue;
      }
      let title = command.title;
      if (several && title.startsWith(`${caseLabel}: `)) {
        title = title.slice(caseLabel.length + 2);
      } else if (several && /^[^·✓✗⟳■⚠]+: /.test(title) && !title.startsWith('Phase ')) {
        continue; // another case's lens
      }
      if (!info.has(line)) {
        info.set(line, title);
      }
    }
    const asRange = (r: lsp.Range) => client.protocol2CodeConverter.asRange(r);
    for (const symbol of symbols) {
      if (symbol.kind !== SYMBOL_NAMESPACE) {
        continue;
      }
      const line = symbol.selectionRange.start.line;
      const summary = info.get(line) ?? '';
      const phaseNode: PhaseNode = {
        kind: 'phase',
        caseUri: status.uri,
        playbookUri,
        label: symbol.name,
        // "Phase 1 (current) · answered 2/2 · last build ✓ succeeded · just now" → "2/2 · ✓ succeeded · just now"
        description: summary
          .replace(/^Phase \S+( \(current\))? · /, '')
          .replace(/^answered /, '')
          .replace(' · last build ', ' · '),
        tooltip: summary,
        current: summary.includes('(current)'),
        range: asRange(symbol.selectionRange),
        runArgs: runs.get(line),
        activities: [],
      };
      const walk = (children: lsp.DocumentSymbol[] | undefined) => {
        for (const child of children ?? []) {
          if (child.kind === SYMBOL_FUNCTION) {
            const l = child.selectionRange.start.line;
            phaseNode.activities.push({
              kind: 'activity',
              caseUri: status.uri,
              playbookUri,
              name: child.name,
              status: info.get(l) ?? 'not run',
              range: asRange(child.selectionRange),
              runArgs: runs.get(l),
            });
          } else {
            walk(child.children);
          }
        }
      };
      walk(symbol.children);
      node.phases.push(phaseNode);
    }
    return node;
  }
}

function statusIcon(status: string): vscode.ThemeIcon {
  if (status.startsWith('✓')) {
    return new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed'));
  }
  if (status.startsWith('✗')) {
    return new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed'));
  }
  if (status.startsWith('⟳')) {
    return new vscode.ThemeIcon('sync~spin');
  }
  if (status.startsWith('■')) {
    return new vscode.ThemeIcon('debug-stop');
  }
  if (status.startsWith('⚠')) {
    return new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'));
  }
  return new vscode.ThemeIcon('circle-outline');
}

/** Open the playbook at a phase or Activity heading. */
export async function openNode(node: { playbookUri: vscode.Uri; range: vscode.Range }): Promise<void> {
  const editor = await vscode.window.showTextDocument(node.playbookUri, { preview: true });
  editor.selection = new vscode.Selection(node.range.start, node.range.start);
  editor.revealRange(node.range, vscode.TextEditorRevealType.AtTop);
}

export { RUN_ACTIVITY, RUN_BUILD };
export type { ActivityNode, PhaseNode };
