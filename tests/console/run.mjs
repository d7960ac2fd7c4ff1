#!/usr/bin/env node
// Browser tests of the tenant console against the real binary.
//
//   node tests/console/run.mjs [--only a,b] [--skip a,b] [--list] [--console-from auto|binary|files]
//
// Env: TOLLGATE_BIN (default target/release/tollgate), TOLLGATE_TEST_PLUGIN
// (a .wasm component to upload), TOLLGATE_TEST_PLUGIN_CONFIG (its binding
// config, default {}), CHROMIUM (default /usr/bin/chromium).
//
// A step passes only if it ran and every expectation held. A step that is
// skipped (--skip, or no TOLLGATE_TEST_PLUGIN) is reported as skipped, and
// so is every step that needs it; a step whose endpoint this binary lacks
// fails with a message naming the --skip that would skip it.
import { adminClient, ensureShotsDir, launchBrowser, platformClient, SHOTS, startTollgate } from './lib.mjs';
import { startConsoleServer } from './serve.mjs';
import { STEPS } from './steps.mjs';

const STEP_TIMEOUT_MS = 90_000;

function parseArgs(argv) {
  const opts = { only: null, skip: new Set(), list: false, consoleFrom: process.env.TOLLGATE_CONSOLE_FROM || 'auto' };
  const names = (v) => (v || '').split(',').map((x) => x.trim()).filter(Boolean);
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--only') opts.only = new Set(names(value()));
    else if (flag === '--skip') names(value()).forEach((n) => opts.skip.add(n));
    else if (flag === '--list') opts.list = true;
    else if (flag === '--console-from') opts.consoleFrom = value();
    else if (flag === '--help' || flag === '-h') opts.help = true;
    else throw new Error(`unknown argument ${argv[i]} (try --help)`);
  }
  const known = new Set(STEPS.map((s) => s.name));
  for (const n of [...(opts.only || []), ...opts.skip]) if (!known.has(n)) throw new Error(`no step named ${n} (try --list)`);
  if (!['auto', 'binary', 'files'].includes(opts.consoleFrom)) throw new Error('--console-from is auto, binary or files');
  return opts;
}

/** --only keeps the named steps and what they need. */
function selected(only) {
  if (!only) return new Set(STEPS.map((s) => s.name));
  const keep = new Set();
  const add = (name) => {
    if (keep.has(name)) return;
    keep.add(name);
    for (const d of STEPS.find((s) => s.name === name).deps || []) add(d);
  };
  only.forEach(add);
  return keep;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.help || opts.list) {
    if (opts.help) console.log('usage: node tests/console/run.mjs [--only a,b] [--skip a,b] [--list] [--console-from auto|binary|files]\n');
    for (const s of STEPS) console.log(`${s.name.padEnd(16)} ${s.title}${s.deps?.length ? ` (needs ${s.deps.join(', ')})` : ''}`);
    return 0;
  }
  const run = selected(opts.only);
  ensureShotsDir();
  const bin = process.env.TOLLGATE_BIN || 'target/release/tollgate';
  const t = await startTollgate(bin);
  console.log(`tollgate demo at ${t.url} (binary ${t.binary}; server log ${t.logPath})`);
  let proxy = null;
  let browser = null;
  const results = [];
  try {
    // Where the console comes from: the binary itself, or the working tree
    // through a local server (until the binary embeds it).
    const served = await fetch(`${t.url}/console/`).then((r) => r.status === 200 && (r.headers.get('content-type') || '').startsWith('text/html'), () => false);
    let consoleUrl = t.url;
    if (opts.consoleFrom === 'files' || (opts.consoleFrom === 'auto' && !served)) {
      proxy = await startConsoleServer(t.url);
      consoleUrl = proxy.url;
      console.log(`console from host/console/ via ${proxy.url} (the binary ${served ? 'serves' : 'does not serve'} /console/)`);
    } else {
      console.log('console from the binary');
    }
    browser = await launchBrowser();
    const page = await browser.context.newPage();
    const s = {
      t, browser, page, consoleUrl, requests: [], skipped: new Set(),
      admin: adminClient(t.url, t.admin_token),
      platform: platformClient(t),
      pluginPath: process.env.TOLLGATE_TEST_PLUGIN || null,
      /** Record every URL a page requests, with the tokens it must not contain. */
      watch(p, ...tokens) {
        p.on('request', (r) => s.requests.push({ url: r.url(), tokens: [t.admin_token, ...tokens] }));
        p.on('pageerror', (e) => s.pageErrors.push(e.message));
        // The tests serve the console with the CSP the binary should send; a violation is a failure.
        p.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) s.pageErrors.push(m.text()); });
      },
      pageErrors: [],
    };
    s.watch(page);

    const status = new Map();
    for (const step of STEPS) {
      const started = Date.now();
      const record = (state, message) => {
        status.set(step.name, state);
        results.push({ name: step.name, state, message });
        const mark = { passed: 'ok  ', failed: 'FAIL', skipped: 'skip' }[state];
        console.log(`${mark} ${step.name.padEnd(16)} ${state === 'passed' ? `${step.title} (${Date.now() - started} ms)` : message}`);
      };
      if (!run.has(step.name)) { status.set(step.name, 'unselected'); continue; }
      if (opts.skip.has(step.name)) { s.skipped.add(step.name); record('skipped', 'skipped by --skip'); continue; }
      const blocked = (step.deps || []).find((d) => status.get(d) !== 'passed');
      if (blocked) {
        const why = status.get(blocked);
        if (why === 'skipped') { s.skipped.add(step.name); record('skipped', `not run: needs ${blocked}, which was skipped`); } else record('failed', `not run: needs ${blocked}, which ${why === 'failed' ? 'failed' : 'did not run'}`);
        continue;
      }
      const reason = step.skipIf?.(s);
      if (reason) { s.skipped.add(step.name); record('skipped', reason); continue; }
      const errorsBefore = s.pageErrors.length;
      try {
        let timer;
        await Promise.race([
          step.run(s),
          new Promise((_, fail) => { timer = setTimeout(() => fail(new Error(`timed out after ${STEP_TIMEOUT_MS / 1000} s`)), STEP_TIMEOUT_MS); }),
        ]).finally(() => clearTimeout(timer));
        const errors = s.pageErrors.slice(errorsBefore);
        if (errors.length) throw new Error(`uncaught error in the page: ${errors.join(' | ')}`);
        record('passed');
      } catch (e) {
        record('failed', e.message.split('\n').slice(0, 6).join('\n      '));
        await page.screenshot({ path: `${SHOTS}/failed-${step.name}.png`, fullPage: true }).catch(() => {});
      }
    }
  } finally {
    await browser?.close();
    await proxy?.close();
    await t.stop();
  }
  const count = (state) => results.filter((r) => r.state === state).length;
  const failed = results.filter((r) => r.state === 'failed');
  if (failed.length) console.log(`\nfailed: ${failed.map((r) => r.name).join(', ')}`);
  console.log(`screenshots in ${SHOTS}`);
  console.log(`console: ${count('passed')} passed, ${count('failed')} failed, ${count('skipped')} skipped`);
  return failed.length ? 1 : 0;
}

main().then((code) => { process.exitCode = code; }, (e) => {
  console.error(`console tests could not run: ${e.message}`);
  process.exitCode = 2;
});
