#!/usr/bin/env node
// The TypeScript/JavaScript templates (plugins/templates/{ts,js}/<hook>),
// rendered as `tollgate plugin new --lang ts|js` renders them.
//
//   node plugins/js/templates.mjs lock
//       rewrite the package-lock.json of every template and JS/TS example
//       (after a version change)
//   node plugins/js/templates.mjs check [--tollgate BIN] [--keep DIR]
//       render each template into a fresh directory, then `npm ci`,
//       `npm test`, `npm run build`, and with --tollgate run its fixtures
//       with `BIN plugin test`
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const templates = join(repo, "plugins", "templates");
const LOCK_NAME = "tollgate-template";

/** Every (lang, hook) template directory. */
function all() {
  return ["ts", "js"].flatMap((lang) =>
    readdirSync(join(templates, lang)).map((hook) => ({ lang, hook, dir: join(templates, lang, hook) })),
  );
}

/**
 * What `tollgate plugin new` does: copy content/ replacing {{name}} and
 * {{module}} in paths and contents, then write the SDK into tollgate-sdk/
 * (plugins/sdk-js without its tests, and the contract as wit/plugin.wit).
 */
export function render(template, target, name) {
  const module = name.replace(/[^A-Za-z0-9_]/g, "_");
  const fill = (text) => text.replaceAll("{{name}}", name).replaceAll("{{module}}", module);
  const copy = (from, to) => {
    for (const entry of readdirSync(from)) {
      const source = join(from, entry);
      const dest = join(to, fill(entry));
      if (statSync(source).isDirectory()) {
        mkdirSync(dest, { recursive: true });
        copy(source, dest);
      } else writeFileSync(dest, fill(readFileSync(source, "utf8")));
    }
  };
  mkdirSync(target, { recursive: true });
  copy(join(template, "content"), target);
  const sdk = join(repo, "plugins", "sdk-js");
  const sdkCopy = join(target, "tollgate-sdk");
  for (const part of ["package.json", "README.md", "src", "tools"]) {
    cpSync(join(sdk, part), join(sdkCopy, part), { recursive: true });
  }
  mkdirSync(join(sdkCopy, "wit"));
  cpSync(join(repo, "wit", "v2", "plugin.wit"), join(sdkCopy, "wit", "plugin.wit"));
}

function run(cmd, args, cwd) {
  execFileSync(cmd, args, { cwd, stdio: ["ignore", "inherit", "inherit"] });
}

function lock() {
  const examples = join(repo, "plugins", "examples");
  for (const name of readdirSync(examples)) {
    if (!existsSync(join(examples, name, "package.json"))) continue;
    run("npm", ["install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], join(examples, name));
    console.log(`examples/${name}: package-lock.json written`);
  }
  for (const t of all()) {
    const dir = mkdtempSync(join(tmpdir(), "tollgate-lock-"));
    render(t.dir, dir, LOCK_NAME);
    run("npm", ["install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], dir);
    const lockText = readFileSync(join(dir, "package-lock.json"), "utf8").replaceAll(`"${LOCK_NAME}"`, '"{{name}}"');
    writeFileSync(join(t.dir, "content", "package-lock.json"), lockText);
    rmSync(dir, { recursive: true, force: true });
    console.log(`${t.lang}/${t.hook}: package-lock.json written`);
  }
}

function check(tollgate, keep) {
  const base = keep ?? mkdtempSync(join(tmpdir(), "tollgate-templates-"));
  for (const t of all()) {
    const name = `my-${t.lang}-${t.hook}`;
    const dir = join(base, name);
    rmSync(dir, { recursive: true, force: true });
    render(t.dir, dir, name);
    console.log(`--- ${t.lang}/${t.hook} in ${dir}`);
    run("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], dir);
    run("npm", ["test", "--silent"], dir);
    run("npm", ["run", "build", "--silent"], dir);
    const { artifact } = JSON.parse(readFileSync(join(dir, "tollgate.json"), "utf8"));
    if (!existsSync(join(dir, artifact))) throw new Error(`${t.lang}/${t.hook}: npm run build did not write ${artifact}`);
    if (tollgate) run(tollgate, ["plugin", "test", artifact, "fixtures/"], dir);
  }
  if (!keep) rmSync(base, { recursive: true, force: true });
}

const [command, ...args] = process.argv.slice(2);
const option = (name) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
if (command === "lock") lock();
else if (command === "check") check(option("--tollgate"), option("--keep"));
else {
  console.error("usage: templates.mjs lock | check [--tollgate BIN] [--keep DIR]");
  process.exit(1);
}
