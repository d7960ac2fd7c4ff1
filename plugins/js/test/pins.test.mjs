// Every JS/TS template and example pins the toolchain versions CI tests
// (this directory's package.json), and its lock file matches its manifest.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const here = join(dirname(fileURLToPath(import.meta.url)), "..");
const plugins = join(here, "..");
const read = (path) => JSON.parse(readFileSync(path, "utf8"));
const pins = read(join(here, "package.json")).devDependencies;

const projects = [
  ...["ts", "js"].flatMap((lang) =>
    readdirSync(join(plugins, "templates", lang)).map((hook) => join(plugins, "templates", lang, hook, "content")),
  ),
  ...readdirSync(join(plugins, "examples"))
    .map((name) => join(plugins, "examples", name))
    .filter((dir) => existsSync(join(dir, "package.json"))),
];

test("templates and examples pin the tested toolchain", () => {
  assert.ok(projects.length >= 9);
  for (const dir of projects) {
    const manifest = read(join(dir, "package.json"));
    for (const [name, version] of Object.entries(manifest.devDependencies)) {
      if (name !== "@tollgate/plugin") assert.equal(version, pins[name], `${dir}: ${name}`);
    }
    const lock = read(join(dir, "package-lock.json"));
    assert.deepEqual(lock.packages[""].devDependencies, manifest.devDependencies, `${dir}: run templates.mjs lock`);
  }
});
