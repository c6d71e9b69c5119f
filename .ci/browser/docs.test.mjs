// Headless-Chromium proof that a corio-web app's interactive docs work, offline:
//   - /docs (Swagger UI) lists every operation of /openapi.json,
//   - "Try it out" + "Execute" on a GET operation answers 200,
//   - /redoc (ReDoc) lists every operation's summary in its side menu,
//   - no request of either page leaves 127.0.0.1 (each one is failed and counted).
//
// Usage: node docs.test.mjs PATH/TO/EXAMPLE_BINARY
// Environment: CHROMIUM (default /usr/bin/chromium), BROWSER_ARTIFACTS (where a failure's
// screenshot goes; default ../../target/browser).
// `.ci/browser/run` builds the example and calls this.

import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

const HERE = dirname(fileURLToPath(import.meta.url));
const BINARY = process.argv[2];
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = resolve(process.env.BROWSER_ARTIFACTS || join(HERE, '..', '..', 'target', 'browser'));
const WHOLE_TEST_MS = 110_000; // the whole test, server start to last assertion
const STEP_MS = 30_000; // one wait (server listening, a page rendering, a response)

class Failure extends Error {}
const fail = (msg) => { throw new Failure(msg); };
const log = (msg) => console.log(`browser: ${msg}`);

let server = null;
let serverOutput = '';
let browser = null;
let page = null;
let step = 'start';

function killServer() {
  if (server && server.exitCode === null && server.signalCode === null) {
    server.kill('SIGTERM');
    const hard = setTimeout(() => server.kill('SIGKILL'), 5_000);
    hard.unref();
  }
}
process.on('exit', () => { if (server && server.exitCode === null) server.kill('SIGKILL'); });
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { killServer(); console.error(`browser: FAILED: interrupted by ${sig} during ${step}`); process.exit(1); });
}

// Starts the example on 127.0.0.1, port chosen by the OS, and reads the address from the
// line it prints: `NAME: listening on http://127.0.0.1:PORT`.
function startServer() {
  return new Promise((resolveBase, reject) => {
    // The examples take an address; the demo service takes flags (BROWSER_SERVER_ARGS, JSON).
    const args = process.env.BROWSER_SERVER_ARGS ? JSON.parse(process.env.BROWSER_SERVER_ARGS) : ['127.0.0.1:0'];
    server = spawn(BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => reject(new Failure(`server did not print "listening on" within ${STEP_MS / 1000}s; output:\n${serverOutput}`)), STEP_MS);
    server.on('error', (e) => { clearTimeout(timer); reject(new Failure(`cannot start ${BINARY}: ${e.message}`)); });
    server.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Failure(`server exited early (code ${code}, signal ${signal}); output:\n${serverOutput}`));
    });
    server.stderr.on('data', (d) => { serverOutput += d; });
    server.stdout.on('data', (d) => {
      serverOutput += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(serverOutput);
      if (m) { clearTimeout(timer); resolveBase(m[1]); }
    });
  });
}

async function fetchJson(url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(STEP_MS) });
  if (res.status !== 200) fail(`GET ${url} answered ${res.status}`);
  return res.json();
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

// Every operation of the document, in document order, with its parameters resolved.
function operationsOf(doc) {
  const deref = (p) => {
    if (!p || !p.$ref) return p;
    const parts = p.$ref.replace(/^#\//, '').split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    return parts.reduce((o, k) => (o ? o[k] : undefined), doc);
  };
  const ops = [];
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const params = new Map();
      for (const p of [...(item.parameters || []), ...(op.parameters || [])].map(deref)) {
        if (p) params.set(`${p.in}:${p.name}`, p);
      }
      const security = op.security ?? doc.security ?? [];
      ops.push({
        method, path, operationId: op.operationId,
        // ReDoc's menu label: the summary, else the operationId, else the path.
        label: op.summary || op.operationId || path,
        params: [...params.values()],
        needsAuth: security.length > 0 && !security.some((req) => Object.keys(req).length === 0),
      });
    }
  }
  return ops;
}

// The GET to run: the first one whose parameters are all optional (and needs no credentials);
// failing that, the first GET needing no credentials, its required parameters filled with 1.
function chooseGet(ops) {
  const gets = ops.filter((o) => o.method === 'get' && !o.needsAuth);
  return gets.find((o) => o.params.every((p) => !p.required)) || gets[0] || fail('the document has no GET operation that needs no credentials');
}

async function screenshot() {
  if (!page) return;
  try {
    mkdirSync(ARTIFACTS, { recursive: true });
    const file = join(ARTIFACTS, `failure-${step.replace(/[^a-z0-9]+/gi, '-')}.png`);
    await page.screenshot({ path: file, fullPage: true });
    console.error(`browser: screenshot of the failure: ${file}`);
  } catch (e) {
    console.error(`browser: (no screenshot: ${e.message})`);
  }
}

async function main() {
  if (!BINARY) fail('usage: node docs.test.mjs PATH/TO/EXAMPLE_BINARY');
  const name = basename(BINARY);

  step = 'server';
  const base = await startServer();
  const origin = new URL(base);
  log(`${name} listening on ${base}`);

  step = 'openapi';
  const doc = await fetchJson(`${base}/openapi.json`);
  const ops = operationsOf(doc);
  if (ops.length === 0) fail('/openapi.json has no operations');
  log(`/openapi.json: OpenAPI ${doc.openapi}, ${ops.length} operations`);

  step = 'launch';
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: STEP_MS,
    protocolTimeout: STEP_MS,
    // --no-sandbox: CI runs as root in a container; the rest keep it small and quiet.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-proxy-server'],
  });
  log(`${await browser.version()} (${CHROMIUM})`);
  page = await browser.newPage();
  page.setDefaultTimeout(STEP_MS);
  page.setDefaultNavigationTimeout(STEP_MS);
  await page.setViewport({ width: 1280, height: 900 });

  // Offline proof: every request to a host other than 127.0.0.1 is failed and recorded.
  const offHost = [];
  let local = 0;
  await page.setRequestInterception(true);
  page.on('request', (req) => {
    if (req.isInterceptResolutionHandled()) return;
    const url = new URL(req.url());
    if (url.protocol === 'data:' || url.protocol === 'blob:' || url.hostname === origin.hostname) {
      local += 1;
      req.continue();
    } else {
      offHost.push(`${req.method()} ${req.url()}`);
      req.abort('blockedbyclient');
    }
  });
  page.on('pageerror', (e) => log(`page error: ${e.message}`));
  const consoleErrors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') { consoleErrors.push(m.text()); log(`console error: ${m.text()}`); }
  });

  // --- Swagger UI ---------------------------------------------------------------------
  step = 'docs';
  await page.goto(`${base}/docs`, { waitUntil: 'load' });
  // Each operation is an `.opblock-METHOD` whose `.opblock-summary-path` carries `data-path`.
  const listed = () => page.$$eval('.opblock', (blocks) => blocks.map((b) => {
    const method = (b.querySelector('.opblock-summary-method')?.textContent || '').trim().toLowerCase();
    const el = b.querySelector('.opblock-summary-path');
    const path = el?.getAttribute('data-path') || (el?.textContent || '').replace(/\u200b/g, '').trim();
    return `${method} ${path}`;
  }));
  const expected = ops.map((o) => `${o.method} ${o.path}`);
  await page.waitForFunction((n) => document.querySelectorAll('.opblock').length >= n, {}, expected.length)
    .catch(() => {});
  const shown = new Set(await listed());
  const missing = expected.filter((k) => !shown.has(k));
  if (missing.length) fail(`/docs does not list ${missing.length} of ${expected.length} operations: ${missing.join(', ')} (listed: ${[...shown].join(', ') || 'none'})`);
  log(`ok: /docs lists all ${expected.length} operations`);

  step = 'try-it-out';
  const get = chooseGet(ops);
  const block = await page.evaluateHandle((path) => [...document.querySelectorAll('.opblock.opblock-get')]
    .find((b) => b.querySelector('.opblock-summary-path')?.getAttribute('data-path') === path), get.path);
  if (!block.asElement()) fail(`/docs has no GET block for ${get.path}`);
  const summary = (await block.$('.opblock-summary-control')) || (await block.$('.opblock-summary'));
  await summary.click();
  const tryOut = await block.waitForSelector('.try-out__btn');
  await tryOut.click();
  const filled = [];
  for (const p of get.params.filter((q) => q.required)) {
    const input = await block.waitForSelector(
      `tr[data-param-name="${p.name}"][data-param-in="${p.in}"] input, tr[data-param-name="${p.name}"][data-param-in="${p.in}"] select`);
    await input.type('1');
    filled.push(`${p.name}=1`);
  }
  const execute = await block.waitForSelector('.execute');
  await execute.click();
  // Wait for the live response's status, or for Swagger UI's "Could not render X, see the
  // console." (what it shows instead of a component that threw).
  const outcome = await page.waitForFunction((el) => {
    const cell = el.querySelector('.live-responses-table tr.response .response-col_status');
    if (cell && cell.textContent.trim()) return { status: cell.textContent.trim() };
    const broken = el.querySelector('.fallback');
    return broken ? { broken: broken.textContent.trim() } : false;
  }, {}, block).then((h) => h.jsonValue()).catch(() => ({}));
  const why = consoleErrors.length ? `; console errors: ${consoleErrors.slice(-3).join(' | ')}` : '';
  if (outcome.broken) fail(`after "Execute" on GET ${get.path} Swagger UI says: "${outcome.broken}"${why}`);
  if (!outcome.status) fail(`after "Execute" on GET ${get.path} no response status appeared within ${STEP_MS / 1000}s${why}`);
  // The cell reads "200", or "200 Undocumented" when the status is not declared.
  const status = outcome.status.split(/\s+/)[0];
  const body = await block.$eval('.live-responses-table tr.response .response-col_description', (el) => el.textContent)
    .catch(() => '');
  if (status !== '200') fail(`"Try it out" on GET ${get.path} showed status ${JSON.stringify(status)}, expected 200; response: ${body.replace(/\s+/g, ' ').slice(0, 300)}`);
  log(`ok: /docs "Try it out" + "Execute" on GET ${get.path}${filled.length ? ` (${filled.join(', ')})` : ''} -> 200`);

  // --- ReDoc --------------------------------------------------------------------------
  step = 'redoc';
  await page.goto(`${base}/redoc`, { waitUntil: 'load' });
  await page.waitForSelector('.menu-content');
  // The side menu renders every operation, in collapsed groups too, as
  // `li[data-item-id=".../operation/ID"] > label > span[type=METHOD] + span(NAME)`.
  const want = ops.map((o) => `${o.method} ${o.label}`);
  // The badge shortens two methods: "del", "opts".
  const menu = () => [...document.querySelectorAll('.menu-content li[data-item-id*="operation/"] > label')].map((l) => {
    const badge = l.querySelector('span[type]')?.textContent.trim().toLowerCase();
    return `${{ del: 'delete', opts: 'options' }[badge] || badge} ${l.querySelector('span:last-of-type')?.textContent.trim()}`;
  });
  await page.waitForFunction(`(${menu})().length >= ${want.length}`).catch(() => {});
  const inMenu = new Set(await page.evaluate(menu));
  const notInMenu = want.filter((w) => !inMenu.has(w));
  if (notInMenu.length) fail(`the /redoc side menu lacks ${notInMenu.length} of ${want.length} operations: ${notInMenu.map((l) => JSON.stringify(l)).join(', ')} (menu: ${[...inMenu].map((l) => JSON.stringify(l)).join(', ') || 'empty'})`);
  log(`ok: /redoc side menu lists all ${want.length} operations (method and summary)`);

  // --- offline ------------------------------------------------------------------------
  step = 'offline';
  if (offHost.length) fail(`${offHost.length} request(s) left 127.0.0.1 (blocked):\n  ${offHost.join('\n  ')}`);
  log(`ok: offline: ${local} requests, all to ${origin.hostname}, none elsewhere`);
}

const watchdog = setTimeout(async () => {
  console.error(`browser: FAILED: the test took over ${WHOLE_TEST_MS / 1000}s (at step "${step}")`);
  await Promise.race([screenshot(), new Promise((r) => setTimeout(r, 5_000))]);
  killServer();
  process.exit(1);
}, WHOLE_TEST_MS);

let code = 0;
try {
  await main();
  log('PASS');
} catch (e) {
  code = 1;
  console.error(`browser: FAILED at step "${step}": ${e instanceof Failure ? e.message : (e.stack || e)}`);
  await screenshot();
} finally {
  if (browser) await browser.close().catch(() => {});
  killServer();
  clearTimeout(watchdog);
}
process.exitCode = code;
