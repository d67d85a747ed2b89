// The shape of src/ (issue 21, STYLE.md): files small enough to read in one sitting, dependencies that point down
// only (the protocol core does no I/O; the hub sees connections through an interface), and no block of code
// written twice. Reads the TypeScript sources as text; runs nothing.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SRC = join(ROOT, "src");
const MAX_LINES = 500;
const MIN_REPEAT = 6;

/** Every .ts file under src/, as paths relative to src/ with "/" separators. */
function sourceFiles(dir = SRC) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.name.endsWith(".ts")) out.push(relative(SRC, path).split(sep).join("/"));
  }
  return out.sort();
}

const FILES = sourceFiles();
const TEXT = new Map(FILES.map((f) => [f, readFileSync(join(SRC, f), "utf8")]));

/** The module specifiers a file imports or re-exports: static (value or type) and dynamic import(). */
function importsOf(text) {
  const specs = [];
  const re = /(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s*["']([^"']+)["']|(?:^|\n)\s*import\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g;
  for (const m of text.matchAll(re)) specs.push(m[1] ?? m[2] ?? m[3]);
  return specs;
}

/** The src/-relative folder a relative specifier of `file` points into, or null for a package or builtin. */
function targetOf(file, spec) {
  if (!spec.startsWith(".")) return null;
  return relative(SRC, resolve(SRC, dirname(file), spec)).split(sep).join("/");
}

describe("src/ layout (issue 21: one concern per file, dependencies point down)", () => {
  it(`the import scanner sees the imports of a known file`, () => {
    // Guards the checks below against a scanner that silently finds nothing.
    const specs = importsOf(TEXT.get("protocol/connection.ts"));
    assert.ok(specs.includes("./frame-parser.js"), `found: ${specs.join(", ")}`);
    assert.ok(specs.includes("./connection-handler.js"), `found: ${specs.join(", ")}`);
  });

  it(`no file under src/ is longer than ${MAX_LINES} lines`, () => {
    const long = [];
    for (const [file, text] of TEXT) {
      const lines = text.endsWith("\n") ? text.split("\n").length - 1 : text.split("\n").length;
      if (lines > MAX_LINES) long.push(`src/${file}: ${lines} lines`);
    }
    assert.deepEqual(long, [], `split these files by concern (at most ${MAX_LINES} lines each):\n${long.join("\n")}`);
  });

  it("src/protocol/ is sans-I/O: no node:net/http/https/tls/dgram/timers, no imports from outside src/protocol/", () => {
    const IO = /^(node:)?(net|http|https|http2|tls|dgram|timers|timers\/promises|child_process|worker_threads|fs|fs\/promises|diagnostics_channel)$/;
    const bad = [];
    for (const [file, text] of TEXT) {
      if (!file.startsWith("protocol/")) continue;
      for (const spec of importsOf(text)) {
        const target = targetOf(file, spec);
        if (target === null) {
          // Builtins without I/O (node:crypto, node:buffer...) are allowed; packages are not.
          if (IO.test(spec) || !spec.startsWith("node:")) bad.push(`src/${file} imports ${spec}`);
        } else if (!target.startsWith("protocol/")) {
          bad.push(`src/${file} imports ${spec} (src/${target})`);
        }
      }
      // No timers either: the core tells the driver when one is needed; the driver owns the clock.
      for (const m of text.matchAll(/\b(setTimeout|setInterval|setImmediate)\s*\(/g)) bad.push(`src/${file} calls ${m[1]}()`);
    }
    assert.deepEqual(bad, [], bad.join("\n"));
  });

  it("src/hub/ imports nothing from src/node/, src/api/, src/cluster/, src/cli/ or src/chat/ (value or type imports)", () => {
    const UP = /^(node|api|cluster|cli|chat)\//;
    const bad = [];
    for (const [file, text] of TEXT) {
      if (!file.startsWith("hub/")) continue;
      for (const spec of importsOf(text)) {
        const target = targetOf(file, spec);
        if (target !== null && UP.test(target)) bad.push(`src/${file} imports ${spec}`);
      }
    }
    assert.deepEqual(
      bad,
      [],
      "the hub sees connections only through its HubConnection interface, which src/api/ implements, and never " +
        `imports src/node/ (nor src/api/, src/cluster/, src/cli/, src/chat/). Imports found:\n${bad.join("\n")}`,
    );
  });

  it("docs/api.md lists every error code src/ can produce", () => {
    const docs = readFileSync(join(ROOT, "docs", "api.md"), "utf8");
    const codes = new Set();
    for (const text of TEXT.values()) for (const m of text.matchAll(/["'`](WS_ERR_[A-Z0-9_]+)["'`]/g)) codes.add(m[1]);
    assert.ok(codes.size > 20, `only ${codes.size} codes found`);
    const missing = [...codes].filter((c) => !docs.includes(`\`${c}\``)).sort();
    assert.deepEqual(missing, [], `add these to the error code table of docs/api.md:\n${missing.join("\n")}`);
  });

  it("the repeated-block check finds a block written twice, and not one written once", () => {
    const block = ["const a = f(x);", "const b = g(a);", "if (b > 1) {", "  h(b);", "}", "let c = a + b;", "c *= 2;", "return c;"];
    const sources = new Map([
      ["one.ts", ["// header", ...block, "export const z = 1;"].join("\n")],
      ["two.ts", ["import { q } from \"./q.js\";", "function w() {", ...block.map((l) => `    ${l}`), "}"].join("\n")],
    ]);
    const found = repeatedBlocks(sources);
    assert.equal(found.length, 1, found.join("\n"));
    assert.match(found[0], /two\.ts:3-9 repeats src\/one\.ts:2-8/);
    assert.deepEqual(repeatedBlocks(new Map([["one.ts", block.join("\n")]])), []);
  });

  it(`src/ has no block of ${MIN_REPEAT} or more identical lines written twice`, () => {
    const found = repeatedBlocks(TEXT);
    assert.deepEqual(found, [], `write each of these once and share it:\n${found.join("\n")}`);
  });
});

/**
 * Places where MIN_REPEAT significant lines in a row stand again elsewhere. Lines are compared with their white
 * space folded; blank lines, comment-only lines, lines of punctuation alone (braces, brackets) and import
 * statements are passed over, so a block is six lines of code.
 */
function repeatedBlocks(sources) {
  const blocks = new Map(); // the block's lines → the first place seen
  const found = [];
  for (const [file, text] of sources) {
    const lines = significantLines(text);
    let lastReported = -1;
    for (let k = 0; k + MIN_REPEAT <= lines.length; k++) {
      const key = lines.slice(k, k + MIN_REPEAT).map((l) => l.line).join("\n");
      const here = { file, from: lines[k].at, to: lines[k + MIN_REPEAT - 1].at };
      const first = blocks.get(key);
      if (first === undefined) {
        blocks.set(key, here);
      } else if ((first.file !== file || first.to < here.from) && k > lastReported) {
        found.push(`src/${file}:${here.from}-${here.to} repeats src/${first.file}:${first.from}-${first.to}`);
        lastReported = k + MIN_REPEAT - 1; // one report per run of repeated lines
      }
    }
  }
  return found;
}

/** The lines of code of a file (see repeatedBlocks), white space folded, with their line numbers. */
function significantLines(text) {
  const lines = [];
  let inComment = false;
  let inImport = false;
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim().replace(/\s+/g, " ");
    if (inComment) {
      if (line.includes("*/")) inComment = false;
      return;
    }
    if (line.startsWith("/*")) {
      if (!line.includes("*/")) inComment = true;
      return;
    }
    if (inImport) {
      if (/\bfrom\s*["']/.test(line) || line.endsWith(";")) inImport = false;
      return;
    }
    if (/^(import|export)\b.*\{[^}]*$/.test(line) && !/=/.test(line)) {
      inImport = true;
      return;
    }
    if (/^import\b/.test(line) || /^export\b.*\bfrom\s*["']/.test(line)) return;
    if (line.startsWith("//") || line.startsWith("*")) return;
    if (line === "" || /^[\s{}()[\];,]*$/.test(line)) return;
    lines.push({ line, at: i + 1 });
  });
  return lines;
}
