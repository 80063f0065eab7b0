// The HTML report as a user sees it: rendered in headless Chromium (Debian's package, installed by .ci/run).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BACKENDS } from '../src/backends/index.js';
import { reportData, renderReport } from '../src/report.js';
import type { TargetId } from '../src/translate/core.js';
import { root, shared } from './helpers/shared.js';

const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const targets = Object.keys(BACKENDS) as TargetId[];

test('report data: one row per rule, one cell per target', () => {
  const data = reportData([join(root, 'golden')], targets);
  assert.ok(data.rows.length >= 30);
  for (const r of data.rows) assert.equal(Object.keys(r.cells).sort(), [...targets].sort());
});

test('report --verify puts each cell\'s verify verdict on the page', async () => {
  const { main } = await import('../src/cli.js');
  const file = join(mkdtempSync(join(tmpdir(), 'eqlport-rv-')), 'r.html');
  const err: string[] = [];
  const code = await main(['report', join(root, 'golden', 'eq-case-sensitive'), '--html', file, '--to', 'ts', '--verify'], { out: () => {}, err: (t) => err.push(t) });
  assert.is(code, 0, err.join(''));
  const html = readFileSync(file, 'utf8');
  assert.match(html, /"verdict":\{"verdict":"agree","detail":"\d+ events"\}/);
});

test('a value cannot close the embedded <script>', () => {
  const html = renderReport({ generated: 'now', targets: [], files: [], rows: [{ path: 'p', id: null, name: '</script><script>alert(1)</script>', tactics: [], os: [], query: 'q', cells: {} }] });
  assert.is(html.split('</script>').length - 1, 2, 'only the two real script elements close');
});

if (!chromium) {
  console.log('notice: chromium is absent (apt-get install chromium); skipping the browser test of the report');
} else {
  // The corpus when it is there (what a detection team would report on), else the project's own rules.
  const corpus = shared('corpus');
  const inputs = corpus ? [corpus, join(root, 'examples')] : [join(root, 'golden'), join(root, 'examples')];
  test(`in Chromium: the matrix has a cell per rule and target, and a click opens the query (${corpus ? 'corpus' : 'golden cases'})`, async () => {
    const { chromium: pw } = await import('playwright-core');
    const dir = mkdtempSync(join(tmpdir(), 'eqlport-report-'));
    const file = join(dir, 'report.html');
    const data = reportData(inputs, targets);
    writeFileSync(file, renderReport(data));
    const browser = await pw.launch({
      executablePath: chromium,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage();
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(pathToFileURL(file).href);
      assert.is(await page.locator('#matrix tbody tr').count(), data.rows.length);
      assert.is(await page.locator('#matrix td.cell').count(), data.rows.length * targets.length);
      assert.ok(await page.locator('#detail').isHidden());
      // The example rule's first target cell opens its output.
      // The corpus holds the same rule as the example: take the example's row.
      const row = page.locator('#matrix tbody tr', { has: page.locator(`td.rule[title$="examples/persistence_via_update_orchestrator_service_hijack.toml"]`) });
      assert.is(await row.count(), 1);
      if (targets.length) {
        await row.locator('td.cell').first().click();
        assert.ok(await page.locator('#detail').isVisible());
        const first = data.rows.find((r) => r.path.endsWith('examples/persistence_via_update_orchestrator_service_hijack.toml'))!.cells[targets[0]!]!;
        const shown = await page.locator('#detail pre.output').textContent();
        assert.is(shown, first.output ?? '(no output)');
        // Filtering by status hides rows without such a cell.
        await page.selectOption('#f-status', 'unsupported');
        const visible = await page.locator('#matrix tbody tr:visible').count();
        const expected = data.rows.filter((r) => targets.some((t) => r.cells[t]?.status === 'unsupported')).length;
        assert.is(visible, expected);
      }
      assert.ok(requests.every((u) => u.startsWith('file:')), `no external assets: ${requests.join(', ')}`);
    } finally {
      await browser.close();
    }
  });
}

test.run();
