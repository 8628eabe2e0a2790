// The VS Code client of the playbook language server. It stays thin: the server checks,
// completes, navigates, offers the fixes and code lenses, and runs the builds; this extension
// starts it, forwards workspace trust, and shows what it reports (build log, status bar,
// Explorer view).
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  ExecuteCommandSignature,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  State,
  TransportKind,
} from 'vscode-languageclient/node';
import { BuildLog } from './buildLog';
import { isRelevant, workspaceHasCase } from './detect';
import {
  BUILD_EVENT,
  BuildEvent,
  CaseStatus,
  RECORD_ALL_MISSING,
  RECORD_ANSWER,
  REOPEN_PHASE,
  RUN_ACTIVITY,
  RUN_BUILD,
  RunResult,
  STATUS,
  Status,
  STOP_BUILD,
} from './protocol';
import { sameFile, StatusBar, StatusModel } from './statusBar';
import { ActivityNode, openNode, PhaseNode, PhasesTree } from './tree';

let extension: PlaybookExtension | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<PlaybookApi> {
  extension = new PlaybookExtension(context);
  context.subscriptions.push(extension);
  await extension.startWhenRelevant();
  return extension.api();
}

export async function deactivate(): Promise<void> {
  await extension?.stop();
}

/** What the extension exports (used by its own tests and by anyone scripting it). */
export interface PlaybookApi {
  client(): LanguageClient | undefined;
  status(): CaseStatus[];
}

class PlaybookExtension implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private starting: Promise<void> | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly log: BuildLog;
  private readonly model = new StatusModel();
  private readonly tree: PhasesTree;
  private readonly statusBar: StatusBar;
  private readonly serverOutput = vscode.window.createOutputChannel('Playbook Language Server', { log: true });
  /** Commands the server announced in `executeCommandProvider`. */
  private serverCommands: string[] = [];

  constructor(private readonly context: vscode.ExtensionContext) {
    this.log = new BuildLog(() => this.client);
    this.tree = new PhasesTree(
      () => this.client,
      () => this.model.cases,
    );
    this.statusBar = new StatusBar(
      this.model,
      () => this.log.running,
      (uri) => this.tree.caseOfPlaybook(uri),
    );
    this.disposables.push(
      this.log,
      this.model,
      this.tree,
      this.statusBar,
      this.serverOutput,
      vscode.window.registerTreeDataProvider('playbook.phases', this.tree),
      this.log.onEvent((e) => this.tree.onEvent(e)),
      this.log.onDidChangeRunning((running) => {
        void vscode.commands.executeCommand('setContext', 'playbook.building', running);
        this.statusBar.render();
      }),
      this.model.onDidChange(() => this.tree.refresh()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.sendTrust()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('playbook.server.path') && this.client) {
          void vscode.window
            .showInformationMessage('The playbook server path changed.', 'Restart Server')
            .then((choice) => choice && this.restart());
        }
      }),
      ...this.registerCommands(),
    );
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }

  api(): PlaybookApi {
    return { client: () => this.client, status: () => this.model.cases };
  }

  /** Start now when the workspace has a working case or one is open; else when one opens. */
  async startWhenRelevant(): Promise<void> {
    if (vscode.workspace.textDocuments.some(isRelevant) || (await workspaceHasCase())) {
      await this.start();
      return;
    }
    const listener = vscode.workspace.onDidOpenTextDocument((doc) => {
      if (isRelevant(doc)) {
        listener.dispose();
        void this.start();
      }
    });
    this.disposables.push(listener);
  }

  async start(): Promise<void> {
    if (this.starting) {
      return this.starting;
    }
    this.starting = this.startClient().catch((e) => {
      this.starting = undefined;
      const message = e instanceof Error ? e.message : String(e);
      void vscode.window
        .showErrorMessage(`The playbook language server did not start: ${message}`, 'Open Settings', 'Show Log')
        .then((choice) => {
          if (choice === 'Open Settings') {
            void vscode.commands.executeCommand('workbench.action.openSettings', 'playbook.server.path');
          } else if (choice === 'Show Log') {
            this.serverOutput.show();
          }
        });
    });
    return this.starting;
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.starting = undefined;
    if (client?.isRunning()) {
      await client.stop();
    }
  }

  private async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  private serverCommand(): { command: string; source: string } {
    const configured = vscode.workspace.getConfiguration('playbook').get<string>('server.path', '').trim();
    if (configured) {
      const home = process.env.HOME ?? process.env.USERPROFILE ?? '';
      let expanded = configured.startsWith('~') ? path.join(home, configured.slice(1)) : configured;
      // A relative path with a folder in it (`target/release/playbook`) is relative to the workspace.
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
      if (!path.isAbsolute(expanded) && /[\\/]/.test(expanded) && folder) {
        expanded = path.join(folder, expanded);
      }
      return { command: expanded, source: 'the playbook.server.path setting' };
    }
    const bundled = this.context.asAbsolutePath(path.join('bin', process.platform === 'win32' ? 'playbook.exe' : 'playbook'));
    if (fs.existsSync(bundled)) {
      return { command: bundled, source: 'the binary bundled with the extension' };
    }
    return { command: 'playbook', source: 'PATH' };
  }

  private async startClient(): Promise<void> {
    const { command, source } = this.serverCommand();
    this.serverOutput.info(`Starting ${command} lsp (from ${source})`);
    const serverOptions: ServerOptions = {
      run: { command, args: ['lsp'], transport: TransportKind.stdio },
      debug: { command, args: ['lsp'], transport: TransportKind.stdio, options: { env: { ...process.env, PLAYBOOK_LOG: 'debug' } } },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [
        { scheme: 'file', language: 'yaml' },
        { scheme: 'file', language: 'markdown' },
      ],
      initializationOptions: { trustedWorkspace: vscode.workspace.isTrusted },
      outputChannel: this.serverOutput,
      diagnosticCollectionName: 'playbook',
      middleware: {
        executeCommand: (cmd, args, next) => this.executeCommand(cmd, args, next),
      },
    };
    const client = new LanguageClient('playbook', 'Playbook Language Server', serverOptions, clientOptions);
    client.onNotification(BUILD_EVENT, (e: BuildEvent) => this.log.onNotification(e));
    client.onNotification(STATUS, (s: Status) => this.model.update(s));
    let everRunning = false;
    this.disposables.push(
      client.onDidChangeState((e) => {
        if (e.newState === State.Running) {
          // A restart (by the user, or by the client after a crash): fetch what was missed.
          if (everRunning) {
            void this.afterStart(client);
          }
          everRunning = true;
        }
      }),
    );
    this.client = client;
    await client.start();
    await this.afterStart(client);
  }

  private async afterStart(client: LanguageClient): Promise<void> {
    this.serverCommands = client.initializeResult?.capabilities.executeCommandProvider?.commands ?? [];
    for (const name of this.serverCommands) {
      await vscode.commands.executeCommand('setContext', `playbook.server.${name.replace(/^playbook\./, '')}`, true);
    }
    await vscode.commands.executeCommand('setContext', 'playbook.active', true);
    if (vscode.workspace.isTrusted) {
      this.sendTrust();
    }
    const status = await client.sendRequest<Status>(STATUS);
    this.model.replace(status);
    const running = status.cases
      .filter((c) => c.lastBuild?.status === 'running')
      .map((c) => ({ job: c.lastBuild!.job, uri: c.uri }));
    // Fetch what this window missed: of builds it saw start (a restarted server or client), and
    // of builds already running when it connected.
    this.log.replayAfterReconnect(running);
    void this.tree.reload();
  }

  private sendTrust(): void {
    if (this.client?.isRunning()) {
      void this.client.sendNotification(DidChangeConfigurationNotification.type, {
        settings: { playbook: { trustedWorkspace: vscode.workspace.isTrusted } },
      });
      this.tree.refresh();
    }
  }

  // ---- commands --------------------------------------------------------------------------

  private registerCommands(): vscode.Disposable[] {
    const reg = (id: string, fn: (...args: any[]) => unknown) => vscode.commands.registerCommand(id, fn);
    return [
      reg('playbook.runLocalBuild', async () => {
        const uri = await this.pickCase('Run the local Activities of which case?');
        return uri && vscode.commands.executeCommand(RUN_BUILD, { uri, local: true });
      }),
      reg('playbook.serverCommand', async () => {
        const picked = await vscode.window.showQuickPick(
          this.serverCommands.map((c) => ({ label: c })),
          { placeHolder: 'A command of the playbook server (it gets the current case as its argument)' },
        );
        return picked && vscode.commands.executeCommand(picked.label);
      }),
      reg('playbook.showMissing', () => this.showMissing()),
      reg('playbook.showBuildLog', () => this.log.show()),
      reg('playbook.refreshView', () => this.tree.reload()),
      reg('playbook.restartServer', () => this.restart()),
      reg('playbook.openActivity', (node: ActivityNode | PhaseNode) => openNode(node)),
      reg('playbook.runTreeActivity', (node: ActivityNode) => node?.runArgs && vscode.commands.executeCommand(RUN_ACTIVITY, node.runArgs)),
      reg('playbook.runTreeBuild', (node: PhaseNode) => node?.runArgs && vscode.commands.executeCommand(RUN_BUILD, node.runArgs)),
    ];
  }

  /**
   * Every server command goes through here: from a code lens (with its arguments), from the
   * palette (none: they are asked for), from the tree. Run commands open the build log.
   */
  private async executeCommand(command: string, args: any[], next: ExecuteCommandSignature): Promise<unknown> {
    const filled = args.length > 0 && args[0] !== undefined ? args : await this.argumentsFor(command);
    if (!filled) {
      return undefined; // the user dismissed a picker
    }
    try {
      const result = await next(command, filled);
      if ((command === RUN_BUILD || command === RUN_ACTIVITY) && isRunResult(result)) {
        this.log.started(result.job, result.uri);
      } else if (command === STOP_BUILD) {
        const stopped = (result as { stopped?: string[] } | undefined)?.stopped ?? [];
        if (stopped.length === 0) {
          void vscode.window.showInformationMessage('No playbook build is running.');
        }
      }
      return result;
    } catch (e) {
      const message = e instanceof Error ? e.message : String((e as { message?: string })?.message ?? e);
      this.serverOutput.warn(`${command}: ${message}`);
      if (command === RUN_BUILD || command === RUN_ACTIVITY || command === STOP_BUILD) {
        return undefined; // the server said why itself (window/showMessage)
      }
      void vscode.window.showErrorMessage(`Playbook: ${message}`, 'Show Log').then((choice) => {
        if (choice === 'Show Log') {
          this.serverOutput.show();
        }
      });
      return undefined;
    }
  }

  /** Arguments for a server command run from the palette; `undefined` when the user cancels. */
  private async argumentsFor(command: string): Promise<unknown[] | undefined> {
    switch (command) {
      case STOP_BUILD: {
        const running = this.log.runningJobs();
        return [running.length === 1 ? { job: running[0].job } : {}];
      }
      case RUN_BUILD: {
        const uri = await this.pickCase('Run the build of which case?');
        return uri ? [{ uri }] : undefined;
      }
      case RUN_ACTIVITY: {
        const uri = await this.pickCase('Run an Activity of which case?');
        if (!uri) {
          return undefined;
        }
        await this.tree.reload();
        const runnable = this.tree.activities().filter((a) => sameFile(a.caseUri, uri) && a.runArgs);
        if (runnable.length === 0) {
          void vscode.window.showInformationMessage('The current phase has no Activity to run.');
          return undefined;
        }
        const picked = await vscode.window.showQuickPick(
          runnable.map((a) => ({ label: a.name, description: a.status, node: a })),
          { placeHolder: 'Run which Activity?' },
        );
        return picked ? [picked.node.runArgs] : undefined;
      }
      case RECORD_ANSWER: {
        const uri = await this.pickCase('Record an answer in which case?');
        const c = uri ? this.model.caseFor(uri) : undefined;
        if (!uri || !c) {
          return undefined;
        }
        const picked = await vscode.window.showQuickPick(this.missingItems(c), { placeHolder: 'Record which missing answer?' });
        if (!picked) {
          return undefined;
        }
        await this.openCase(uri);
        return [{ uri, item: picked.label }];
      }
      case RECORD_ALL_MISSING: {
        const uri = await this.pickCase('Record every missing answer of which case?');
        if (!uri) {
          return undefined;
        }
        await this.openCase(uri);
        return [{ uri }];
      }
      case REOPEN_PHASE: {
        const uri = await this.pickCase('Reopen the phase of which case?');
        if (!uri) {
          return undefined;
        }
        const reason = await vscode.window.showInputBox({ prompt: 'Why reopen the phase? (recorded in the history)' });
        return reason === undefined ? undefined : [{ uri, reason }];
      }
      default: {
        // Commands the server added later (reports, phases…): the current case is the argument.
        const uri = await this.pickCase(`Run ${command} for which case?`);
        return uri ? [{ uri }] : undefined;
      }
    }
  }

  /** The case in front of the user, else the only one, else the user's pick. */
  private async pickCase(placeHolder: string): Promise<string | undefined> {
    const active = vscode.window.activeTextEditor?.document.uri.toString();
    const cases = this.model.cases;
    const direct = this.model.caseFor(active) ?? (active ? this.model.caseFor(this.tree.caseOfPlaybook(active)) : undefined);
    if (direct) {
      return direct.uri;
    }
    if (cases.length === 1) {
      return cases[0].uri;
    }
    if (cases.length === 0) {
      void vscode.window.showInformationMessage('No working case is open or in this workspace.');
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(
      cases.map((c) => ({
        label: vscode.workspace.asRelativePath(vscode.Uri.parse(c.uri)),
        description: `Phase ${c.phase ?? '?'} · ${c.answered}/${c.required}`,
        uri: c.uri,
      })),
      { placeHolder },
    );
    return picked?.uri;
  }

  private async openCase(uri: string): Promise<vscode.TextEditor> {
    return vscode.window.showTextDocument(vscode.Uri.parse(uri), { preview: false });
  }

  private missingItems(c: CaseStatus): (vscode.QuickPickItem & { related?: vscode.Location })[] {
    const diagnostics = vscode.languages.getDiagnostics(vscode.Uri.parse(c.uri));
    return c.missing.map((id) => {
      const d = diagnostics.find((x) => codeOf(x) === 'missing-answer' && x.message.includes(`\`${id}\``));
      const ask = d?.message.replace(/^missing answer for `[^`]*`:\s*/, '');
      return { label: id, detail: ask, related: d?.relatedInformation?.[0]?.location };
    });
  }

  /** The status bar's click: the missing answers; pick one to see its question in the playbook. */
  private async showMissing(): Promise<void> {
    const c = this.model.current((uri) => this.tree.caseOfPlaybook(uri));
    if (!c) {
      void vscode.window.showInformationMessage('No working case is open or in this workspace.');
      return;
    }
    if (c.missing.length === 0) {
      void vscode.window.showInformationMessage(
        `Every answer required so far is recorded (${c.answered}/${c.required}${c.phase != null ? `, Phase ${c.phase}` : ''}).`,
      );
      return;
    }
    const record: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('edit'), tooltip: 'Record an answer' };
    const quickPick = vscode.window.createQuickPick<vscode.QuickPickItem & { related?: vscode.Location }>();
    quickPick.title = `Missing answers · Phase ${c.phase ?? '?'}${c.phaseName ? `: ${c.phaseName}` : ''} · ${c.answered}/${c.required}`;
    quickPick.placeholder = 'Go to the question in the playbook (✎ records an answer in the case)';
    quickPick.matchOnDetail = true;
    quickPick.items = this.missingItems(c).map((i) => ({ ...i, buttons: [record] }));
    const done = new Promise<void>((resolve) => quickPick.onDidHide(() => resolve()));
    quickPick.onDidTriggerItemButton(async (e) => {
      quickPick.hide();
      await this.openCase(c.uri);
      await vscode.commands.executeCommand(RECORD_ANSWER, { uri: c.uri, item: e.item.label });
    });
    quickPick.onDidAccept(async () => {
      const item = quickPick.selectedItems[0];
      quickPick.hide();
      if (!item) {
        return;
      }
      const location = item.related ?? (await this.definitionOf(item.label));
      if (location) {
        const editor = await vscode.window.showTextDocument(location.uri, { preview: true });
        editor.selection = new vscode.Selection(location.range.start, location.range.start);
        editor.revealRange(location.range, vscode.TextEditorRevealType.AtTop);
      } else {
        await this.openCase(c.uri);
      }
    });
    quickPick.show();
    await done;
    quickPick.dispose();
  }

  /** Where the playbook defines a Discovery item, from the server's workspace symbols. */
  private async definitionOf(id: string): Promise<vscode.Location | undefined> {
    const symbols = await vscode.commands.executeCommand<vscode.SymbolInformation[]>('vscode.executeWorkspaceSymbolProvider', id);
    return symbols?.find((s) => s.name === id)?.location;
  }
}

function isRunResult(value: unknown): value is RunResult {
  return typeof value === 'object' && value !== null && typeof (value as RunResult).job === 'string';
}

function codeOf(d: vscode.Diagnostic): string | undefined {
  const code = d.code;
  if (code === undefined) {
    return undefined;
  }
  return typeof code === 'object' ? String(code.value) : String(code);
}
