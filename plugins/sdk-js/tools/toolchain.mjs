// Finds the build tools (esbuild, componentize-qjs): in the project's own
// node_modules first, then in a shared toolchain directory named by
// TOLLGATE_JS_TOOLCHAIN (CI builds many projects from one `npm ci`).
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

export async function load(name, projectDir = process.cwd()) {
  const bases = [projectDir, process.env.TOLLGATE_JS_TOOLCHAIN].filter(Boolean);
  for (const base of bases) {
    try {
      const path = createRequire(join(resolve(base), "package.json")).resolve(name);
      return await import(pathToFileURL(path).href);
    } catch (e) {
      if (e.code !== "MODULE_NOT_FOUND") throw e;
    }
  }
  const where = bases.map((b) => resolve(b)).join(" or ");
  const error = new Error(`${name} is not installed (looked in ${where}): run \`npm ci\` in the project first`);
  error.code = "TOLLGATE_MISSING_TOOL";
  throw error;
}
