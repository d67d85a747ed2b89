// wshub/ws's TypeScript declarations: ws-style code (test/compat/types/usage.ts) type-checks against dist/.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { withTimeout } from "../helpers/index.mjs";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

describe("wshub/ws typings", () => {
  it("typed events and ws's option and data types: usage.ts compiles with strict tsc", async () => {
    const result = await withTimeout(
      new Promise((resolve) => {
        execFile(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "test/compat/types/tsconfig.json"], { cwd: ROOT }, (err, stdout, stderr) =>
          resolve({ code: err ? err.code : 0, out: stdout + stderr }),
        );
      }),
      60_000,
      "tsc",
    );
    assert.equal(result.code, 0, result.out);
  });
});
