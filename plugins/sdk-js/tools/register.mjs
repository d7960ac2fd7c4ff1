// `node --import @tollgate/plugin/register --test test/*.test.ts`: lets
// Node 20 load TypeScript (the SDK's sources and the plugin's), compiled
// file by file with esbuild, with source maps for readable stack traces.
import { register } from "node:module";

process.setSourceMapsEnabled(true);
register("./ts-hooks.mjs", import.meta.url, { data: { cwd: process.cwd() } });
