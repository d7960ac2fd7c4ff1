#!/usr/bin/env node
// Generates src/wit.ts from the contract (wit/plugin.wit) in the shapes
// componentize-qjs lowers and lifts: records as objects with camelCase keys,
// enums as their case names, variants as {tag, val}, option<T> as T | null,
// s64 as number, list<T> as T[], tuple as a TS tuple, a top-level
// result<T, E> as "return T, throw E".
//
//   node tools/gen-types.mjs           write src/wit.ts
//   node tools/gen-types.mjs --check   exit 1 when src/wit.ts is stale
//
// Only the WIT subset the contract uses is understood; anything else is an
// error naming the line, so a contract change cannot silently produce wrong
// types.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const witPath = join(root, "wit", "plugin.wit");
const outPath = join(root, "src", "wit.ts");

function tokenize(text) {
  const tokens = [];
  let line = 1;
  let doc = [];
  const re = /\s+|\/\/\/[^\n]*|\/\/[^\n]*|\/\*[\s\S]*?\*\/|->|[{}()<>,:;.=@/*_]|%?[a-zA-Z][a-zA-Z0-9-]*|[0-9]+(?:\.[0-9]+)*(?:-[a-zA-Z0-9.]+)?/y;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) throw new Error(`${witPath}:${line}: unexpected character ${JSON.stringify(text[at])}`);
    const t = m[0];
    if (t.startsWith("///")) doc.push(t.slice(3).replace(/^ /, ""));
    else if (!/^\s/.test(t) && !t.startsWith("//") && !t.startsWith("/*")) {
      tokens.push({ t: t.replace(/^%/, ""), line, doc });
      doc = [];
    }
    line += (t.match(/\n/g) || []).length;
    at += t.length;
  }
  return tokens;
}

function parse(tokens) {
  let i = 0;
  const peek = () => tokens[i]?.t;
  const fail = (what) => {
    const tok = tokens[Math.min(i, tokens.length - 1)];
    throw new Error(`${witPath}:${tok.line}: ${what} (found ${JSON.stringify(tok.t)})`);
  };
  const next = () => tokens[i++] ?? fail("unexpected end of file");
  const expect = (t) => (peek() === t ? next() : fail(`expected ${JSON.stringify(t)}`));
  const ident = () => (/^[a-zA-Z]/.test(peek() ?? "") ? next().t : fail("expected an identifier"));
  const list = (close, item) => {
    const out = [];
    while (peek() !== close) {
      out.push(item());
      if (peek() !== close) expect(",");
    }
    expect(close);
    return out;
  };
  const type = () => {
    const name = ident();
    if (["option", "list", "tuple", "result"].includes(name)) {
      if (name === "result" && peek() !== "<") return { kind: "result", ok: null, err: null };
      expect("<");
      const args = list(">", () => (peek() === "_" ? (next(), null) : type()));
      return { kind: name, args };
    }
    return { kind: "name", name };
  };
  const func = () => {
    expect("func");
    expect("(");
    const params = list(")", () => {
      const name = ident();
      expect(":");
      return { name, type: type() };
    });
    let result = null;
    if (peek() === "->") {
      next();
      result = type();
    }
    expect(";");
    return { params, result };
  };
  const use = () => {
    let path = ident();
    while (peek() === "." && tokens[i + 1]?.t !== "{") path += next().t + ident();
    expect(".");
    expect("{");
    const names = list("}", ident);
    expect(";");
    return { path, names };
  };
  const caseList = (withPayload) => {
    expect("{");
    return list("}", () => {
      const doc = tokens[i].doc;
      const name = ident();
      let payload = null;
      if (withPayload && peek() === "(") {
        next();
        payload = type();
        expect(")");
      }
      return { name, doc, payload };
    });
  };
  const interfaceItems = () => {
    const items = [];
    expect("{");
    while (peek() !== "}") {
      const doc = tokens[i].doc;
      const word = ident();
      if (word === "use") items.push({ kind: "use", ...use() });
      else if (word === "enum") items.push({ kind: "enum", doc, name: ident(), cases: caseList(false) });
      else if (word === "variant") items.push({ kind: "variant", doc, name: ident(), cases: caseList(true) });
      else if (word === "record") {
        const name = ident();
        expect("{");
        const fields = list("}", () => {
          const fdoc = tokens[i].doc;
          const fname = ident();
          expect(":");
          return { name: fname, doc: fdoc, type: type() };
        });
        items.push({ kind: "record", doc, name, fields });
      } else if (word === "type") {
        const name = ident();
        expect("=");
        items.push({ kind: "alias", doc, name, type: type() });
        expect(";");
      } else {
        expect(":");
        items.push({ kind: "func", doc, name: word, ...func() });
      }
    }
    expect("}");
    return items;
  };

  const pkg = { interfaces: [], worlds: [] };
  while (i < tokens.length) {
    const doc = tokens[i].doc;
    const word = ident();
    if (word === "package") {
      let name = "";
      while (peek() !== ";") name += next().t;
      expect(";");
      pkg.name = name;
    } else if (word === "interface") {
      pkg.interfaces.push({ name: ident(), doc, items: interfaceItems() });
    } else if (word === "world") {
      const name = ident();
      const world = { name, doc, imports: [], exports: [], uses: [] };
      expect("{");
      while (peek() !== "}") {
        const idoc = tokens[i].doc;
        const w = ident();
        if (w === "use") world.uses.push(use());
        else if (w === "import" || w === "export") {
          const target = ident();
          if (peek() === ":") {
            next();
            (w === "import" ? world.imports : world.exports).push({ name: target, doc: idoc, ...func() });
          } else {
            expect(";");
            (w === "import" ? world.imports : world.exports).push({ interface: target });
          }
        } else fail("expected use, import or export");
      }
      expect("}");
      pkg.worlds.push(world);
    } else fail("expected package, interface or world");
  }
  return pkg;
}

const pascal = (s) => s.split("-").map((w) => w[0].toUpperCase() + w.slice(1)).join("");
const camel = (s) => s.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
const primitives = {
  bool: "boolean", string: "string", char: "string",
  s8: "number", s16: "number", s32: "number", s64: "number",
  u8: "number", u16: "number", u32: "number", u64: "number", f32: "number", f64: "number",
};

function ts(type) {
  switch (type.kind) {
    case "name": return primitives[type.name] ?? pascal(type.name);
    case "option": return `${ts(type.args[0])} | null`;
    case "list": {
      const inner = ts(type.args[0]);
      return inner.includes("|") ? `Array<${inner}>` : `${inner}[]`;
    }
    case "tuple": return `[${type.args.map(ts).join(", ")}]`;
    default: throw new Error(`${witPath}: a nested ${type.kind}<…> has no mapping here`);
  }
}

function comment(doc, indent = "") {
  if (!doc.length) return "";
  if (doc.length === 1) return `${indent}/** ${doc[0]} */\n`;
  return `${indent}/**\n${doc.map((d) => `${indent} *${d ? " " + d : ""}`).join("\n")}\n${indent} */\n`;
}

// A function's TS signature; a top-level result<T, E> returns T and throws E.
function signature(f) {
  const params = f.params.map((p) => `${camel(p.name)}: ${ts(p.type)}`).join(", ");
  if (!f.result) return { text: `(${params}): void`, throws: null };
  if (f.result.kind === "result") {
    const [ok, err] = f.result.args ?? [null, null];
    return { text: `(${params}): ${ok ? ts(ok) : "void"}`, throws: err ? ts(err) : null };
  }
  return { text: `(${params}): ${ts(f.result)}`, throws: null };
}

function funcMember(f, indent) {
  const sig = signature(f);
  const doc = [...f.doc];
  if (sig.throws) doc.push(`@throws {${sig.throws}} the error case of the WIT result`);
  return `${comment(doc, indent)}${indent}${camel(f.name)}${sig.text};\n`;
}

function generate(pkg) {
  let out = `// Generated from wit/plugin.wit (${pkg.name}) by tools/gen-types.mjs.\n`;
  out += "// Do not edit: run `npm run gen-types` after a contract change.\n\n";
  out += `/** The contract these types come from. */\nexport const CONTRACT = ${JSON.stringify(pkg.name)};\n`;
  for (const iface of pkg.interfaces) {
    out += `\n// interface ${iface.name}\n`;
    const funcs = [];
    for (const item of iface.items) {
      if (item.kind === "use") continue;
      if (item.kind === "func") {
        funcs.push(item);
        continue;
      }
      out += "\n" + comment(item.doc);
      const name = pascal(item.name);
      if (item.kind === "enum") {
        out += `export type ${name} =\n${item.cases.map((c) => `${comment(c.doc, "  ")}  | ${JSON.stringify(c.name)}`).join("\n")};\n`;
        out += `/** Every case of {@link ${name}}, in WIT order. */\n`;
        out += `export const ${camel(item.name)}Cases: readonly ${name}[] = [${item.cases.map((c) => JSON.stringify(c.name)).join(", ")}];\n`;
      } else if (item.kind === "variant") {
        out += `export type ${name} =\n${item.cases
          .map((c) => `${comment(c.doc, "  ")}  | { tag: ${JSON.stringify(c.name)}${c.payload ? `; val: ${ts(c.payload)}` : ""} }`)
          .join("\n")};\n`;
      } else if (item.kind === "record") {
        out += `export interface ${name} {\n${item.fields.map((f) => `${comment(f.doc, "  ")}  ${camel(f.name)}: ${ts(f.type)};`).join("\n")}\n}\n`;
      } else if (item.kind === "alias") {
        out += `export type ${name} = ${ts(item.type)};\n`;
      }
    }
    if (funcs.length) {
      out += `\n${comment(iface.doc)}export interface ${pascal(iface.name)}Imports {\n`;
      out += funcs.map((f) => funcMember(f, "  ")).join("");
      out += "}\n";
    }
  }
  for (const world of pkg.worlds) {
    out += `\n// world ${world.name}\n\n`;
    out += comment(world.doc);
    out += `export interface ${pascal(world.name)}Exports {\n`;
    for (const e of world.exports) {
      if (e.interface) throw new Error(`${witPath}: exported interfaces are not supported (${e.interface})`);
      out += funcMember(e, "  ");
    }
    out += "}\n";
  }
  return out;
}

const output = generate(parse(tokenize(readFileSync(witPath, "utf8"))));
if (process.argv.includes("--check")) {
  if (readFileSync(outPath, "utf8") !== output) {
    console.error("src/wit.ts is stale: run `npm run gen-types` in plugins/sdk-js");
    process.exit(1);
  }
} else {
  writeFileSync(outPath, output);
}
