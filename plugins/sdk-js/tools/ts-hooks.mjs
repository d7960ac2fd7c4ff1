// Module hooks registered by register.mjs: `.ts` files load as ES modules
// compiled by esbuild (types stripped, nothing bundled); a package the
// importing file cannot see is looked up from the directory node runs in
// (CI runs the examples' tests from the shared toolchain's directory).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { load as loadTool } from "./toolchain.mjs";

let esbuild;
let fallbackParent;

export async function initialize({ cwd }) {
  esbuild = await loadTool("esbuild", cwd);
  fallbackParent = pathToFileURL(join(cwd, "package.json")).href;
}

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (e) {
    const bare = !/^(\.|\/|[a-z]+:)/.test(specifier);
    if (e.code !== "ERR_MODULE_NOT_FOUND" || !bare) throw e;
    return nextResolve(specifier, { ...context, parentURL: fallbackParent });
  }
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith("file:") || !url.endsWith(".ts")) return nextLoad(url, context);
  const path = fileURLToPath(url);
  const { code } = await esbuild.transform(await readFile(path, "utf8"), {
    loader: "ts",
    format: "esm",
    target: "node20",
    sourcemap: "inline",
    sourcefile: path,
  });
  return { format: "module", source: code, shortCircuit: true };
}
