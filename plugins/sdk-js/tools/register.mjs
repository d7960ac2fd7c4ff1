// `node --import @tollgate/plugin/register --test test/*.test.ts`: lets
// Node 20 load TypeScript (the SDK's sources and the plugin's), compiled
// file by file with esbuild, with source maps for readable stack traces.
import * as nodeModule from "node:module";

if (typeof nodeModule.register !== "function") {
  throw new Error(`Node.js 20.6 or later is needed to run the tests (this is ${process.version})`);
}
process.setSourceMapsEnabled(true);
nodeModule.register("./ts-hooks.mjs", import.meta.url, { data: { cwd: process.cwd() } });
