import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("../tools/cli.mjs", import.meta.url));

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "tollgate-cli-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const manifest = (hook: string) =>
  JSON.stringify({ name: "p", hook, language: "typescript", contract: "2.0.0", artifact: "dist/p.wasm" });
const rule = 'import { accept, precheck } from "@tollgate/plugin";\nexport default precheck({ check: () => accept() });\n';

function build(dir: string) {
  // The tools come from the toolchain node runs in (plugins/js in CI).
  const env = { ...process.env, TOLLGATE_JS_TOOLCHAIN: process.env.TOLLGATE_JS_TOOLCHAIN ?? process.cwd() };
  return spawnSync(process.execPath, [cli, "build", dir], { encoding: "utf8", env });
}

test("a project builds into a stamped component without wasi:http", () => {
  const dir = project({ "tollgate.json": manifest("precheck"), "src/index.ts": rule });
  const run = build(dir);
  assert.equal(run.status, 0, run.stderr);
  const bytes = readFileSync(join(dir, "dist/p.wasm"));
  assert.deepEqual([...bytes.subarray(0, 8)], [0, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00], "a component");
  const text = bytes.toString("latin1");
  assert.ok(text.includes("producers") && text.includes("TypeScript") && text.includes("@tollgate/plugin"));
  assert.ok(text.includes("tollgate:plugin/host@2.0.0"));
  assert.ok(!text.includes("wasi:http"));
});

test("mistakes are explained, not dumped", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{}, /tollgate\.json not found: run this in a plugin project/],
    [{ "tollgate.json": manifest("pricing") }, /"hook" must be one of precheck, quantity-limits, resources/],
    [{ "tollgate.json": manifest("precheck") }, /the typescript entry src\/index\.ts does not exist/],
    [{ "tollgate.json": manifest("resources"), "src/index.ts": rule }, /says hook "resources" but the module's default export is a precheck plugin/],
    [{ "tollgate.json": manifest("precheck"), "src/index.ts": "export default precheck(" }, /Unexpected end of file[\s\S]*src\/index\.ts:1:24/],
  ];
  for (const [files, message] of cases) {
    const run = build(project(files));
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^error: /);
    assert.match(run.stderr, message);
  }
});
