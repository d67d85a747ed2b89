// `npm start`: builds by itself (prestart) and serves the chat app; WSHUB_HOST / WSHUB_PORT choose the address.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { ROOT } from "./spawn.mjs";
import { waitFor } from "../helpers/index.mjs";

describe("npm start", () => {
  it("builds, then serves the page, /healthz and /chat; stops with exit code 0 on SIGTERM", { timeout: 180_000 }, async () => {
    // Port 0: any free port; the server prints the one it got.
    const child = spawn("npm", ["start", "--silent"], {
      cwd: ROOT,
      env: { ...process.env, WSHUB_PORT: "0", WSHUB_HOST: "127.0.0.1" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group: npm, sh and node stop together
    });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d) => (out += d));
    const exited = new Promise((r) => child.on("exit", (code, signal) => r({ code, signal })));
    const killer = setTimeout(() => process.kill(-child.pid, "SIGKILL"), 170_000);
    try {
      await waitFor(() => /wshub chat server listening on http:\/\/127\.0\.0\.1:\d+\//.test(out), `the listening line (output: ${out})`, 150_000);
      const port = Number(/127\.0\.0\.1:(\d+)\//.exec(out)[1]);
      const page = await fetch(`http://127.0.0.1:${port}/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<title>wshub chat<\/title>/);
      assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
      assert.equal((await fetch(`http://127.0.0.1:${port}/chat`)).status, 426);
      process.kill(-child.pid, "SIGTERM");
      const { code, signal } = await exited;
      assert.ok(code === 0 || signal === "SIGTERM", `npm start ended with code ${code} signal ${signal}; output: ${out}`);
    } finally {
      clearTimeout(killer);
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
  });
});
