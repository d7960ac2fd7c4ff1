#!/usr/bin/env node
// tollgate-plugin build [DIR] [--out FILE]
//
// Builds the plugin project in DIR (default: the current directory) into
// the WebAssembly component named by tollgate.json's `artifact`:
//   1. esbuild bundles src/index.ts (or .js) with the SDK into one ES module
//      whose exports are the hook world's functions;
//   2. componentize-qjs embeds it in QuickJS and pre-initializes it (Wizer),
//      against the contract plus `wasi:random/random` (Math.random's seed).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { load, version } from "./toolchain.mjs";

const sdkDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const contractText = readFileSync(join(sdkDir, "wit", "plugin.wit"), "utf8");
const CONTRACT = /^package tollgate:plugin@([\w.-]+);/m.exec(contractText)[1];
// The version the QuickJS runtime's own WASI imports use.
const WASI = "0.2.12";
const HOOKS = {
  precheck: ["check", "validateConfig"],
  "quantity-limits": ["limits", "validateConfig"],
  resources: ["plan", "validateConfig"],
};
const ENTRIES = { typescript: "src/index.ts", javascript: "src/index.js" };

class UsageError extends Error {}

function readProject(dir) {
  const file = join(dir, "tollgate.json");
  if (!existsSync(file)) throw new UsageError(`${file} not found: run this in a plugin project (see \`tollgate plugin new\`)`);
  let project;
  try {
    project = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new UsageError(`${file}: ${e.message}`);
  }
  const fail = (what) => {
    throw new UsageError(`${file}: ${what}`);
  };
  if (!HOOKS[project.hook]) fail(`"hook" must be one of ${Object.keys(HOOKS).join(", ")}`);
  if (!ENTRIES[project.language]) fail(`"language" must be "typescript" or "javascript" for this build`);
  if (project.contract !== CONTRACT) fail(`"contract" is ${JSON.stringify(project.contract)}; this SDK builds ${CONTRACT}`);
  if (typeof project.artifact !== "string" || !project.artifact.endsWith(".wasm")) fail(`"artifact" must be a path ending in .wasm`);
  const entry = join(dir, ENTRIES[project.language]);
  if (!existsSync(entry)) fail(`the ${project.language} entry ${ENTRIES[project.language]} does not exist`);
  return { ...project, entry };
}

// The contract, plus one world per hook that also imports wasi:random.
function witDir() {
  const dir = mkdtempSync(join(tmpdir(), "tollgate-wit-"));
  writeFileSync(join(dir, "plugin.wit"), contractText);
  const worlds = Object.keys(HOOKS)
    .map((hook) => `world ${hook}-js {\n  include ${hook};\n  import wasi:random/random@${WASI};\n}\n`)
    .join("\n");
  writeFileSync(join(dir, "build.wit"), `package tollgate:plugin@${CONTRACT};\n\n${worlds}`);
  mkdirSync(join(dir, "deps", "random"), { recursive: true });
  writeFileSync(
    join(dir, "deps", "random", "random.wit"),
    `package wasi:random@${WASI};\n\ninterface random {\n  get-random-bytes: func(len: u64) -> list<u8>;\n  get-random-u64: func() -> u64;\n}\n`,
  );
  return dir;
}

async function bundle(project, dir) {
  const esbuild = await load("esbuild", dir);
  const names = HOOKS[project.hook];
  const entry = [
    `import plugin from ${JSON.stringify(project.entry)};`,
    `import host from "tollgate:plugin/host@${CONTRACT}";`,
    `import random from "wasi:random/random@${WASI}";`,
    `import { install } from ${JSON.stringify(join(sdkDir, "src", "component.ts"))};`,
    `export const { ${names.join(", ")} } = install(plugin, ${JSON.stringify(project.hook)}, host, random);`,
  ].join("\n");
  try {
    const result = await esbuild.build({
      stdin: { contents: entry, resolveDir: dir, sourcefile: "tollgate-entry.js", loader: "js" },
      bundle: true,
      write: false,
      format: "esm",
      platform: "neutral",
      mainFields: ["module", "main"],
      target: "es2023",
      external: ["tollgate:*", "wasi:*"],
      alias: { "@tollgate/plugin": join(sdkDir, "src", "index.ts") },
      legalComments: "none",
      logLevel: "silent",
    });
    return result.outputFiles[0].text;
  } catch (e) {
    if (!e.errors) throw e;
    const text = await esbuild.formatMessages(e.errors, { kind: "error" });
    throw new UsageError(text.join(""));
  }
}

// A WebAssembly `producers` custom section: the host reads the language
// from it (componentize-qjs writes none on the outer component).
function producers(fields) {
  const leb = (n) => {
    const bytes = [];
    do {
      bytes.push((n & 0x7f) | (n >= 0x80 ? 0x80 : 0));
      n >>>= 7;
    } while (n);
    return Buffer.from(bytes);
  };
  const str = (text) => Buffer.concat([leb(Buffer.byteLength(text)), Buffer.from(text)]);
  const vec = (items) => Buffer.concat([leb(items.length), ...items]);
  const payload = Buffer.concat([
    str("producers"),
    vec(Object.entries(fields).map(([field, values]) => Buffer.concat([str(field), vec(values.map(([n, v]) => Buffer.concat([str(n), str(v)])))]))),
  ]);
  return Buffer.concat([Buffer.from([0]), leb(payload.length), payload]);
}

async function build(dir, out) {
  const project = readProject(dir);
  const artifact = out ? resolve(out) : resolve(dir, project.artifact);
  const source = await bundle(project, dir);
  const { componentize } = await load("componentize-qjs", dir);
  const wit = witDir();
  let component;
  try {
    ({ component } = await componentize({
      witPath: wit,
      world: `${project.hook}-js`,
      jsSource: source,
      sync: true,
    }));
  } catch (e) {
    // The module runs once during the build: a throw at top level, or a
    // default export of the wrong hook, ends up here.
    throw new UsageError(`componentize-qjs failed: ${e.message ?? e}`);
  } finally {
    rmSync(wit, { recursive: true, force: true });
  }
  if (component.includes("wasi:http")) throw new UsageError("the component imports wasi:http, which Tollgate does not offer");
  const sdk = JSON.parse(readFileSync(join(sdkDir, "package.json"), "utf8"));
  const stamp = producers({
    language: [[project.language === "typescript" ? "TypeScript" : "JavaScript", ""]],
    "processed-by": [
      ["componentize-qjs", version("componentize-qjs", dir)],
      [sdk.name, sdk.version],
    ],
  });
  mkdirSync(dirname(artifact), { recursive: true });
  writeFileSync(artifact, Buffer.concat([component, stamp]));
  const shown = relative(process.cwd(), artifact);
  const size = (component.length + stamp.length) / 1048576;
  console.log(`${shown.startsWith("..") ? artifact : shown} (${project.hook}, ${size.toFixed(2)} MiB)`);
}

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 20 || (major === 20 && minor < 6)) {
  console.error(`error: Node.js 20.6 or later is needed to build plugins (this is ${process.version})`);
  process.exit(1);
}
const [command, ...rest] = process.argv.slice(2);
const outAt = rest.indexOf("--out");
const out = outAt >= 0 ? rest.splice(outAt, 2)[1] : undefined;
try {
  if (command !== "build" || rest.length > 1 || (outAt >= 0 && !out)) {
    throw new UsageError("usage: tollgate-plugin build [DIR] [--out FILE.wasm]");
  }
  await build(resolve(rest[0] ?? "."), out);
} catch (e) {
  const known = e instanceof UsageError || e.code === "TOLLGATE_MISSING_TOOL";
  console.error(known ? `error: ${e.message}` : e);
  process.exit(1);
}
