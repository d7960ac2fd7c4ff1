// Finds the build tools (esbuild, componentize-qjs): in the project's own
// node_modules first, then in a shared toolchain directory named by
// TOLLGATE_JS_TOOLCHAIN (CI builds many projects from one `npm ci`).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

function locate(request, projectDir) {
  const bases = [projectDir, process.env.TOLLGATE_JS_TOOLCHAIN].filter(Boolean);
  for (const base of bases) {
    try {
      return createRequire(join(resolve(base), "package.json")).resolve(request);
    } catch (e) {
      if (e.code !== "MODULE_NOT_FOUND") throw e;
    }
  }
  const name = request.replace(/\/package\.json$/, "");
  const where = bases.map((b) => resolve(b)).join(" or ");
  const error = new Error(`${name} is not installed (looked in ${where}): run \`npm ci\` in the project first`);
  error.code = "TOLLGATE_MISSING_TOOL";
  throw error;
}

/** Import the tool package `name`. */
export async function load(name, projectDir = process.cwd()) {
  return import(pathToFileURL(locate(name, projectDir)).href);
}

/** The version of the tool package `name` that `load` imports. */
export function version(name, projectDir = process.cwd()) {
  return JSON.parse(readFileSync(locate(`${name}/package.json`, projectDir), "utf8")).version;
}
