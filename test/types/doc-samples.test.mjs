// Every ```ts and ```js code sample of README.md and docs/*.md compiles under `strict` against the built .d.ts
// files (dist/), as a user's project would: `import ... from "wshub"`, lib ES2022 and @types/node only (no DOM
// lib), skipLibCheck off so that our declaration files are checked too. A sample marked ```ts fragment (or
// ```js fragment) is an excerpt and is not compiled (docs/api.md "Code samples").
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** The samples of one markdown file: { file, line, lang, code }. */
export function extractSamples(file) {
  const lines = readFileSync(file, "utf8").split("\n");
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^```(ts|js|typescript|javascript)(\s.*)?$/.exec(lines[i]);
    if (!m) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !lines[end].startsWith("```")) end++;
    const info = (m[2] ?? "").trim().split(/\s+/);
    out.push({ file, line: start + 1, lang: m[1].startsWith("t") ? "ts" : "js", fragment: info.includes("fragment"), code: lines.slice(start, end).join("\n") });
    i = end;
  }
  return out;
}

function docFiles() {
  const docs = readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => join(root, "docs", f));
  return [join(root, "README.md"), ...docs];
}

/** Compiles files in `dir` (strict, no DOM) and returns the diagnostics as "file:line: message" strings. */
function compile(dir, files) {
  const options = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ["lib.es2022.d.ts"],
    types: ["node"],
    typeRoots: [join(dir, "node_modules", "@types")],
    allowJs: true,
    checkJs: true,
    skipLibCheck: false,
  };
  const program = ts.createProgram(files, options);
  const diags = ts.getPreEmitDiagnostics(program);
  return diags.map((d) => {
    const msg = ts.flattenDiagnosticMessageText(d.messageText, "\n");
    if (!d.file) return msg;
    const { line } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
    return `${d.file.fileName}:${line + 1}: ${msg}`;
  });
}

describe("code samples of README.md and docs/*.md compile under strict against the built .d.ts", () => {
  let dir;
  before(() => {
    assert.ok(existsSync(join(root, "dist", "index.d.ts")), "build first: npx tsc -p tsconfig.json");
    dir = mkdtempSync(join(tmpdir(), "wshub-samples-"));
    // A project that depends on wshub: node_modules/wshub is this package (its package.json "exports" and "types").
    mkdirSync(join(dir, "node_modules", "@types"), { recursive: true });
    symlinkSync(root, join(dir, "node_modules", "wshub"), "dir");
    symlinkSync(join(root, "node_modules", "@types", "node"), join(dir, "node_modules", "@types", "node"), "dir");
    symlinkSync(join(root, "node_modules", "undici-types"), join(dir, "node_modules", "undici-types"), "dir");
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module", private: true }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("extracts samples, and fragments are marked", () => {
    const all = docFiles().flatMap(extractSamples);
    assert.ok(all.filter((s) => !s.fragment).length >= 5, `found ${all.length} samples`);
  });

  it("every sample compiles, each as its own module", () => {
    const samples = docFiles().flatMap(extractSamples).filter((s) => !s.fragment);
    const files = [];
    const where = new Map();
    samples.forEach((s, i) => {
      // A js sample is compiled as TypeScript too: checkJs treats `obj.prop = fn` as a declaration (no contextual type).
      const name = join(dir, `sample-${i}.ts`);
      // Each sample is a module (its own scope), even one without import or export.
      writeFileSync(name, `${s.code}\nexport {};\n`);
      files.push(name);
      where.set(name, `${s.file.slice(root.length + 1)}:${s.line}`);
    });
    const problems = compile(dir, files).map((d) => {
      for (const [name, loc] of where) if (d.startsWith(name)) return d.replace(name, loc + " (sample)").replace(/:(\d+):/, ` line $1:`);
      return d;
    });
    assert.deepEqual(problems, []);
  });

  it("a consumer using typed events, handlers and handleUpgrade(req, Duplex, head) compiles; internal members do not", () => {
    const good = join(dir, "consumer-good.ts");
    writeFileSync(
      good,
      `import { createServer } from "node:http";
import { WebSocketServer, WebSocket, ServerWebSocket, type ServerRequest, CloseEvent } from "wshub";
const http = createServer();
const wss = new WebSocketServer<{ user: string }>({ noServer: true });
http.on("upgrade", (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req)));
wss.on("connection", (ws, req) => {
  const w: ServerWebSocket<{ user: string }> = ws;
  const r: ServerRequest = req;
  const user: string = ws.data.user;
  ws.onmessage = (ev) => { const d: unknown = ev.data; void d; };
  ws.onclose = (ev) => { const c: number = ev.code; const e: CloseEvent = ev; void c; void e; };
  ws.close(1011, "internal error");
  void w; void r; void user;
});
wss.on("error", (err) => { const m: string = err.message; void m; });
const c = new WebSocket("ws://127.0.0.1:1/");
c.onerror = (ev) => { const e: Error | undefined = ev.error; void e; };
c.onopen = (ev) => { const t: string = ev.type; void t; };
export {};
`,
    );
    assert.deepEqual(compile(dir, [good]), []);
    // The handlers' events are typed, not any: a wrong use does not compile.
    const typed = join(dir, "consumer-typed.ts");
    writeFileSync(typed, `import { WebSocket } from "wshub";\nconst c = new WebSocket("ws://127.0.0.1:1/");\nc.onclose = (ev) => { const s: string = ev.code; void s; };\nc.onmessage = (ev) => { const n: number = ev.origin; void n; };\nimport { WebSocketServer } from "wshub";\nnew WebSocketServer({ noServer: true }).on("connection", (ws, req) => { const n: number = ws.id; const m: number = req.url; void n; void m; });\nexport {};\n`);
    assert.equal(compile(dir, [typed]).filter((p) => /not assignable/.test(p)).length, 4, "onclose/onmessage events and the connection event are typed");
    const internals = ["_transport", "closeInternal()", "open(null as never, '', '')", "track(new Set())", "onMessage(Buffer.alloc(0), true)", "onClosed(1000, '', true)", "transport", "fire(new Event('x'), null)", "reportError(1)"];
    for (const member of internals) {
      const bad = join(dir, `consumer-bad-${internals.indexOf(member)}.ts`);
      writeFileSync(bad, `import type { ServerWebSocket } from "wshub";\ndeclare const ws: ServerWebSocket;\nvoid ws.${member};\nexport {};\n`);
      const problems = compile(dir, [bad]);
      assert.ok(problems.some((p) => /does not exist|is protected|is private/.test(p)), `${member} is visible in the public types: ${problems.join("; ")}`);
    }
  });
});
