// The harness: the real binary as `tollgate demo`, platform calls and admin
// calls from Node, and headless Chromium through playwright-core.
import { spawn, execFile } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const SHOTS = join(REPO, 'target', 'console-screenshots');

/** A failed expectation, with a message that says what was expected. */
export class Failure extends Error {}
export function assert(condition, message) {
  if (!condition) throw new Failure(message);
}

/** Start `tollgate demo` on a free port with a fresh data dir. */
export async function startTollgate(bin) {
  const binary = resolve(REPO, bin);
  if (!existsSync(binary)) throw new Failure(`no Tollgate binary at ${binary}: build it or set TOLLGATE_BIN`);
  const work = mkdtempSync(join(tmpdir(), 'tollgate-console-'));
  const dataDir = join(work, 'data');
  const logPath = join(work, 'server.log');
  const log = createWriteStream(logPath);
  const child = spawn(binary, ['demo', '--listen', '127.0.0.1:0', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.pipe(log);
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Failure(`tollgate demo printed nothing within 120 s (log: ${logPath})`)), 120_000);
    child.once('exit', (code) => { clearTimeout(timer); fail(new Failure(`tollgate demo exited with ${code} before listening (log: ${logPath})`)); });
    lines.once('line', (line) => { clearTimeout(timer); ok(line); });
  });
  let demo;
  try {
    demo = JSON.parse(first);
  } catch {
    throw new Failure(`the first line of tollgate demo is not JSON: ${first.slice(0, 200)}`);
  }
  for (const k of ['listen', 'application_id', 'api_key', 'admin_token']) assert(demo[k], `tollgate demo's first line has no ${k}`);
  lines.on('line', () => {}); // keep draining stdout
  const url = `http://${demo.listen}`;
  return {
    url, dataDir, logPath, binary, ...demo,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => { child.once('exit', r); setTimeout(r, 5000); });
      }
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** A second, empty tenant in the running server's database (the CLI writes alongside it). */
export async function createTenant(t, name) {
  const { stdout } = await promisify(execFile)(t.binary, ['tenant', 'create', '--name', name, '--data-dir', t.dataDir]);
  const line = stdout.trim().split('\n').find((l) => l.startsWith('{'));
  assert(line, `tollgate tenant create printed no JSON: ${stdout.slice(0, 200)}`);
  return JSON.parse(line);
}

/** The admin API from Node (to check what the console did). */
export function adminClient(url, token) {
  return async (method, path, body) => {
    const r = await fetch(`${url}/admin/v1${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    return { status: r.status, body: json, text };
  };
}

/** Fail with a clear message when this binary lacks an endpoint the step needs. */
export async function requireEndpoint(admin, method, path, step) {
  const r = await admin(method, path, method === 'GET' || method === 'DELETE' ? undefined : {});
  const missing = r.status === 405 || (r.status === 404 && r.body?.detail === 'There is no such endpoint.');
  assert(!missing, `${method} /admin/v1${path} is not implemented by this binary (HTTP ${r.status}: ${r.body?.detail}); ` +
    `this step waits for the lead's endpoint — pass --skip ${step} to skip it`);
}

const CREATE = JSON.parse(readFileSync(join(REPO, 'examples/requests/subscription-create-check.json'), 'utf8'));
const ACCOUNT = JSON.parse(readFileSync(join(REPO, 'examples/requests/account.json'), 'utf8'));

/** Platform calls with the headers of examples/walkthrough.sh. */
export function platformClient(t) {
  const headers = {
    'X-CloudPlatform-ApplicationId': t.application_id,
    'X-CloudPlatform-APIKey': Buffer.from(t.api_key).toString('base64'),
    'X-CloudPlatform-Setting-FieldUsername': 'partner-ops',
    'X-CloudPlatform-Setting-FieldPassword': 'S3cret-2025',
    'X-CloudPlatform-Setting-FieldUri': 'https://api.vendor.example',
    'X-CloudPlatform-Setting-FieldRegion': '1',
    'Content-Type': 'application/json',
  };
  const call = async (path, body, trackId) => {
    const r = await fetch(`${t.url}${path}`, {
      method: 'POST', body: JSON.stringify(body),
      headers: { ...headers, ...(trackId ? { 'X-CloudPlatform-TrackId': trackId } : {}) },
    });
    const json = await r.json().catch(() => null);
    assert(json && 'Code' in json, `${path} answered HTTP ${r.status} without a Code`);
    return json;
  };
  return {
    call,
    /** Subscriptions/Create from the sample request with some keys changed. */
    create: (changes, trackId) => call('/api/Subscriptions/Create', { ...structuredClone(CREATE), ...changes }, trackId),
    /** Another Subscriptions/* call on the sample request (ActionType None). */
    service: (path, changes) => call(path, { ...structuredClone(CREATE), ActionType: 'None', CheckOnly: false, ...changes }),
    synchronize: (changes = {}) => call('/api/Accounts/Synchronize', { ...structuredClone(ACCOUNT), ...changes }),
    account: ACCOUNT,
  };
}

/** Headless Chromium from Debian, never a downloaded browser. */
export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(executablePath)) throw new Failure(`no Chromium at ${executablePath}: apt-get install -y chromium, or set CHROMIUM`);
  const userDataDir = mkdtempSync(join(tmpdir(), 'tollgate-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  context.setDefaultTimeout(15_000);
  return {
    context,
    close: async () => {
      await context.close().catch(() => {});
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

export function ensureShotsDir() {
  mkdirSync(SHOTS, { recursive: true });
}
