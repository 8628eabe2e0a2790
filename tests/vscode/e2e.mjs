// The VS Code end-to-end test: a real VS Code (code-server) with the packaged extension,
// driven through Debian's headless Chromium by playwright-core, the way a person would use it.
//
//   node e2e.mjs   (started by tests/vscode/test_vscode.py, which starts code-server)
//
// Environment: E2E_URL (code-server's address with ?folder=…), E2E_ARTIFACTS (screenshots and
// the result go here), E2E_RESULT (JSON result file), E2E_TIMEOUT (seconds per wait),
// CHROMIUM (default /usr/bin/chromium).
//
// E2E_SCENARIO=trusted (the default; code-server runs with --disable-workspace-trust), each step
// with a screenshot: open the case and see `missing-answer` in the Problems panel; click the
// status bar for the missing answers; apply the quick fix and see it go; run the build from the
// code lens and watch the Playbook Build output fill; see the lens turn to ✓; the Explorer's
// Playbook view shows each Activity ✓ and opens the playbook, whose lenses show ✓ too.
//
// E2E_SCENARIO=untrusted (workspace trust on, not granted): the diagnostics and status lenses
// are there, no ▶ Run lens and no run command in the palette; grant trust; ▶ Run build appears.
//
// Every wait is on something visible, never a sleep.
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const url = process.env.E2E_URL;
const artifacts = process.env.E2E_ARTIFACTS;
const resultPath = process.env.E2E_RESULT;
const TIMEOUT = Number(process.env.E2E_TIMEOUT ?? '60') * 1000;
if (!url || !artifacts || !resultPath) {
  throw new Error('set E2E_URL, E2E_ARTIFACTS and E2E_RESULT');
}
mkdirSync(artifacts, { recursive: true });

const result = { ok: false, steps: {}, screenshots: [], timings: {}, console: [] };
const t0 = Date.now();
const step = (name, value) => {
  result.steps[name] = value;
  result.timings[name] = Date.now() - t0;
  console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${name}: ${JSON.stringify(value)}`);
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-quic',
  ],
});
const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
page.setDefaultTimeout(TIMEOUT);
page.on('console', (m) => {
  if (m.type() === 'error' && result.console.length < 50) {
    result.console.push(m.text().slice(0, 300));
  }
});

let shot = 0;
async function screenshot(name) {
  const file = join(artifacts, `${String(++shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file });
  result.screenshots.push(file);
  return file;
}

/** The visible text of the first element matching `selector` (empty when there is none). */
async function text(selector) {
  return page.evaluate((s) => (document.querySelector(s)?.innerText ?? '').replace(/\u00a0/g, ' '), selector);
}

/** Waits until the text of `selector` satisfies `test` (a regular expression's source and flags). */
async function waitText(selector, pattern, what, { negate = false } = {}) {
  try {
    await page.waitForFunction(
      ({ s, p, f, n }) => {
        const t = (document.querySelector(s)?.innerText ?? '').replace(/\u00a0/g, ' ');
        return new RegExp(p, f).test(t) !== n;
      },
      { s: selector, p: pattern.source, f: pattern.flags, n: negate },
      { timeout: TIMEOUT, polling: 100 },
    );
  } catch (e) {
    throw new Error(`${what}: ${selector} never ${negate ? 'stopped matching' : 'matched'} ${pattern} (it shows ${JSON.stringify((await text(selector)).slice(0, 800))})`);
  }
}

/** The text of every code lens in the active editor. */
async function lensTexts() {
  return page.evaluate(() =>
    [...document.querySelectorAll('.editor-group-container.active .codelens-decoration')].map((e) => e.innerText.replace(/\u00a0/g, ' ')),
  );
}

async function waitLens(pattern, what) {
  try {
    await page.waitForFunction(
      ({ p, f }) =>
        [...document.querySelectorAll('.editor-group-container.active .codelens-decoration')].some((e) =>
          new RegExp(p, f).test(e.innerText.replace(/\u00a0/g, ' ')),
        ),
      { p: pattern.source, f: pattern.flags },
      { timeout: TIMEOUT, polling: 100 },
    );
  } catch {
    throw new Error(`${what}: no code lens matched ${pattern}; lenses: ${JSON.stringify(await lensTexts())}`);
  }
  return lensTexts();
}

/** Opens the command palette (F1), pressing again if a busy workbench swallowed the key. */
async function openPalette(key = 'F1') {
  const input = page.locator('.quick-input-widget input');
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press(key);
    try {
      await input.waitFor({ state: 'visible', timeout: attempt < 5 ? 3000 : TIMEOUT });
      return input;
    } catch (e) {
      if (attempt >= 5) {
        throw e;
      }
    }
  }
}

/** Runs a command from the command palette by its title. */
async function palette(title) {
  const input = await openPalette();
  await input.fill(`>${title}`);
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
  await row.waitFor({ state: 'visible' });
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
}

async function openFile(name) {
  const input = await openPalette('Control+P');
  await input.fill(name);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().waitFor({ state: 'visible' });
  await page.keyboard.press('Enter');
  await page.locator(`.tab.active[aria-label^="${name}"]`).waitFor({ state: 'visible' });
}

const scenario = process.env.E2E_SCENARIO ?? 'trusted';
const PROBLEMS = '.markers-panel-container';

/** The titles the command palette lists for `query`. */
async function paletteTitles(query) {
  const input = await openPalette();
  await input.fill(`>${query}`);
  await page.locator('.quick-input-list .monaco-list-row').first().waitFor({ state: 'visible' });
  const titles = await page.evaluate(() =>
    [...document.querySelectorAll('.quick-input-list .monaco-list-row')].map((e) => e.innerText.split('\n')[0].trim()),
  );
  await page.keyboard.press('Escape');
  return titles;
}

async function untrusted() {
  await page.goto(url);
  await page.locator('.monaco-workbench').waitFor({ state: 'visible' });
  // Opened untrusted (the startup prompt is off): Restricted Mode.
  await page.locator('.statusbar', { hasText: 'Restricted Mode' }).waitFor({ state: 'visible' });
  step('restricted_mode', true);

  await openFile('working_case.yaml');
  const lenses = await waitLens(/answered 1\/2/, 'case lens, untrusted');
  step('untrusted_lenses', lenses);
  await palette('View: Focus Problems');
  await waitText(PROBLEMS, /missing-answer/, 'Problems panel, untrusted');
  step('untrusted_problems', (await text(PROBLEMS)).split('\n').filter((l) => l.trim()));
  step('untrusted_palette', await paletteTitles('Playbook: '));
  await screenshot('untrusted-diagnostics-no-run');

  // Grant trust: the extension tells the running server; the ▶ Run lens appears.
  await palette('Workspaces: Manage Workspace Trust');
  const trust = page.locator('.workspace-trust-editor .monaco-button', { hasText: /^Trust$/ }).first();
  await trust.waitFor({ state: 'visible' });
  await trust.click();
  await page.locator('.statusbar', { hasText: 'Restricted Mode' }).waitFor({ state: 'hidden' });
  // Close the Workspace Trust editor (a modal over the workbench in recent VS Code).
  const trustPage = page.getByText('You trust this folder').first();
  await trustPage.waitFor({ state: 'visible' });
  for (let attempt = 1; await trustPage.isVisible(); attempt++) {
    if (attempt > 5) {
      throw new Error('the Workspace Trust editor does not close');
    }
    if (attempt % 2 === 1) {
      await page.keyboard.press('Escape');
    } else {
      await page.locator('.action-label.codicon-close:visible, .codicon-close:visible').first().click();
    }
    await trustPage.waitFor({ state: 'hidden', timeout: 2000 }).catch(() => {});
  }
  await openFile('working_case.yaml');
  const after = await waitLens(/Run build/, 'case lens after granting trust');
  step('trusted_lenses', after);
  step('trusted_palette', await paletteTitles('Playbook: Run'));
  await screenshot('trust-granted-run-lens');
}
const OUTPUT = '.part.panel .output-view .view-lines, .part.panel .output .view-lines';

async function main() {
  await page.goto(url);
  await page.locator('.monaco-workbench').waitFor({ state: 'visible' });
  step('workbench', true);

  // 1. The case: the server reports the missing answer in the Problems panel.
  await openFile('working_case.yaml');
  const lenses = await waitLens(/answered 1\/2/, 'case lens before the fix');
  step('case_lens_before', lenses);
  await palette('View: Focus Problems');
  await waitText(PROBLEMS, /missing-answer/, 'Problems panel');
  step('problems_before', (await text(PROBLEMS)).split('\n').filter((l) => l.trim()));
  await page.waitForFunction(() => /Phase 1 · 1\/2/.test(document.querySelector('.statusbar')?.innerText ?? ''));
  step('status_bar_before', (await text('.statusbar')).split('\n').find((l) => l.includes('Phase 1')));
  await screenshot('problems-missing-answer');

  // The status bar lists the missing answers.
  await page.locator('.statusbar-item', { hasText: 'Phase 1 · 1/2' }).first().click();
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'environment' }).first().waitFor({ state: 'visible' });
  step(
    'missing_list',
    await page.evaluate(() => [...document.querySelectorAll('.quick-input-list .monaco-list-row')].map((e) => e.innerText.replace(/\n/g, ' · '))),
  );
  await screenshot('status-bar-missing-answers');
  await page.keyboard.press('Escape');

  // 2. The quick fix: put the cursor on the diagnostic (the `answers` key), Ctrl+. and pick
  // "Record answer for `environment`".
  await page.locator('.editor-group-container.active .view-line span span', { hasText: /^answers$/ }).first().click();
  await page.keyboard.press('Control+.');
  const fix = page.locator('.action-widget .monaco-list-row', { hasText: 'Record answer for' }).first();
  await fix.waitFor({ state: 'visible' });
  step(
    'quick_fixes',
    await page.evaluate(() => [...document.querySelectorAll('.action-widget .monaco-list-row')].map((e) => e.innerText.trim())),
  );
  await screenshot('quick-fix-menu');
  await fix.click();
  // The fix is a snippet with the enum's members as choices: take the first, leave the snippet.
  await waitText('.editor-group-container.active .view-lines', /environment: staging/, 'the recorded answer');
  await page.keyboard.press('Escape');
  await page.keyboard.press('Escape');
  await page.keyboard.press('Control+S');
  await waitText(PROBLEMS, /missing-answer/, 'Problems panel after the fix', { negate: true });
  step('problems_after', (await text(PROBLEMS)).split('\n').filter((l) => l.trim()));
  const after = await waitLens(/answered 2\/2/, 'case lens after the fix');
  step('case_lens_after', after);
  await page.waitForFunction(() => /Phase 1 · 2\/2/.test(document.querySelector('.statusbar')?.innerText ?? ''));
  await screenshot('quick-fix-applied');

  // 3. Run the build from the code lens; the Playbook Build output fills as it streams.
  await page.locator('.editor-group-container.active .codelens-decoration a', { hasText: 'Run build' }).first().click();
  // Native progress from the server's $/progress, in the status bar.
  await waitText('[id="status.progress"]', /Playbook build/, 'native $/progress in the status bar');
  step('native_progress', await text('[id="status.progress"]'));
  await waitText(OUTPUT, /→ compile/, 'build output (first step)');
  step('output_streaming', (await text(OUTPUT)).split('\n').filter((l) => l.trim()));
  await screenshot('build-streaming');
  await waitText(OUTPUT, /✓ test/, 'build output (last step)');
  await waitText(OUTPUT, /▸ .*succeeded/, 'build output (summary)');
  const output = (await text(OUTPUT)).split('\n').filter((l) => l.trim());
  step('output_done', output);
  step('output_has_logs', output.some((l) => l.includes('· compiling core for staging')));

  // 4. The lens turns to ✓.
  const done = await waitLens(/last build ✓ succeeded/, 'case lens after the build');
  step('case_lens_done', done);
  await screenshot('lens-succeeded');

  // 5. The Explorer's Playbook view shows each Activity ✓; a click opens the playbook at the
  // Activity, whose lens shows ✓ too.
  const view = page.locator('.pane-header', { hasText: /^Playbook$/ }).first();
  if ((await view.getAttribute('aria-expanded')) !== 'true') {
    await view.click();
  }
  const tree = '.pane:has(.pane-header[aria-label^="Playbook"]) .monaco-list';
  try {
    await page.waitForFunction(
      (s) => {
        const rows = [...document.querySelectorAll(`${s} .monaco-list-row`)].map((r) => r.innerText);
        return rows.some((r) => /compile\s*✓/.test(r)) && rows.some((r) => /test\s*✓/.test(r));
      },
      tree,
      { timeout: TIMEOUT, polling: 100 },
    );
  } catch {
    throw new Error(`the Playbook view never showed both Activities ✓: ${JSON.stringify(await text(tree))}`);
  }
  step('tree', (await text(tree)).split('\n').filter((l) => l.trim()));
  await page.locator(`${tree} .monaco-list-row`, { hasText: 'compile' }).first().click();
  await page.locator('.tab.active[aria-label^="playbook.md"]').waitFor({ state: 'visible' });
  const pbLenses = await waitLens(/^✓ \d/, 'Activity lenses in the playbook');
  step('playbook_lenses', pbLenses.filter((l) => l.trim()));
  await screenshot('playbook-lenses-and-view');
}

try {
  await (scenario === 'untrusted' ? untrusted() : main());
  result.ok = true;
} catch (e) {
  result.error = e instanceof Error ? `${e.message}\n${e.stack}` : String(e);
  console.error(result.error);
  try {
    await screenshot('failure');
  } catch {}
} finally {
  result.seconds = (Date.now() - t0) / 1000;
  writeFileSync(resultPath, JSON.stringify(result, null, 2));
  await browser.close();
}
process.exit(result.ok ? 0 : 1);
