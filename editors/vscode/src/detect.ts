// Which files are working cases and playbooks: the server's own rule (playbook-engine's
// `looks_like`), repeated here only to decide when to start the server and which playbook a
// case names. Everything else is asked of the server.
import * as path from 'path';
import * as vscode from 'vscode';

const CASE_NAME = /^working_case[^/\\]*\.ya?ml$/i;

export function isYamlPath(p: string): boolean {
  return /\.ya?ml$/i.test(p);
}

export function isMarkdownPath(p: string): boolean {
  return /\.(md|markdown)$/i.test(p);
}

/** A top-level `playbook:` key. */
export function hasPlaybookKey(text: string): boolean {
  return text.split(/\r\n|\r|\n/).some((l) => l.replace(/^\uFEFF/, '').startsWith('playbook:'));
}

/** A `## Phase <n>` heading. */
export function hasPhaseHeading(text: string): boolean {
  return text.split(/\r\n|\r|\n/).some((l) => {
    const t = l.replace(/^\uFEFF/, '').trimStart();
    return t.startsWith('## ') && t.slice(3).trimStart().toLowerCase().startsWith('phase ');
  });
}

export function isCaseText(fsPath: string, text: string): boolean {
  return isYamlPath(fsPath) && (CASE_NAME.test(path.basename(fsPath)) || hasPlaybookKey(text));
}

export function isPlaybookText(fsPath: string, text: string): boolean {
  return isMarkdownPath(fsPath) && hasPhaseHeading(text);
}

/** A document the server has something to say about. */
export function isRelevant(doc: vscode.TextDocument): boolean {
  if (doc.uri.scheme !== 'file') {
    return false;
  }
  const text = doc.getText();
  return isCaseText(doc.uri.fsPath, text) || isPlaybookText(doc.uri.fsPath, text);
}

/** The playbook a case names (`playbook: ../playbooks/registry.md`, relative to the case). */
export function playbookOf(caseUri: vscode.Uri, text: string): vscode.Uri | undefined {
  for (const raw of text.split(/\r\n|\r|\n/)) {
    const line = raw.replace(/^\uFEFF/, '');
    if (!line.startsWith('playbook:')) {
      continue;
    }
    let value = line.slice('playbook:'.length).trim();
    if (value.startsWith('"') || value.startsWith("'")) {
      const quote = value[0];
      const end = value.indexOf(quote, 1);
      value = end > 0 ? value.slice(1, end) : value.slice(1);
    } else {
      value = value.replace(/\s+#.*$/, '').trim();
    }
    if (!value) {
      return undefined;
    }
    const target = path.isAbsolute(value) ? value : path.join(path.dirname(caseUri.fsPath), value);
    return vscode.Uri.file(path.normalize(target));
  }
  return undefined;
}

/** The text of a file: the open document's when it is open, else the file on disk. */
export async function readText(uri: vscode.Uri): Promise<string | undefined> {
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (open) {
    return open.getText();
  }
  try {
    return new TextDecoder('utf-8').decode(await vscode.workspace.fs.readFile(uri));
  } catch {
    return undefined;
  }
}

const EXCLUDE = '{**/node_modules/**,**/.git/**,**/target/**,**/.playbook/**}';

/** Whether the workspace holds a working case: named like one, or any YAML with a `playbook:` key. */
export async function workspaceHasCase(): Promise<boolean> {
  if (!vscode.workspace.workspaceFolders?.length) {
    return false;
  }
  if ((await vscode.workspace.findFiles('**/working_case*.{yaml,yml}', EXCLUDE, 1)).length > 0) {
    return true;
  }
  // Any YAML with a top-level `playbook:` key; bounded so a huge repository costs little.
  const yamls = await vscode.workspace.findFiles('**/*.{yaml,yml}', EXCLUDE, 200);
  for (const uri of yamls) {
    const text = await readText(uri);
    if (text !== undefined && text.length < 4_000_000 && hasPlaybookKey(text)) {
      return true;
    }
  }
  return false;
}
