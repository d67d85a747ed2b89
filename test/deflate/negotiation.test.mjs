// RFC 7692 §5 / RFC 6455 §9.1: permessage-deflate negotiation, table-driven, on both sides; then the same rules
// end to end over real sockets (our server answering raw offers, our client facing raw answers).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, connect } from "node:net";
import { createHash } from "node:crypto";
import { parseExtensions, negotiateServer, buildClientOffer, validateServerAnswer } from "../../dist/protocol/index.js";
import { WebSocket, WebSocketServer } from "../../dist/index.js";
import { withTimeout, waitFor } from "../helpers/index.mjs";

const SERVER_DEFAULT = { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };
const SERVER_TAKEOVER = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };
const CLIENT_DEFAULT = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: null, clientMaxWindowBits: true };

describe("RFC 6455 §9.1 Sec-WebSocket-Extensions grammar", () => {
  const cases = [
    ["permessage-deflate", [{ name: "permessage-deflate", params: [], error: null }]],
    ["permessage-deflate; client_max_window_bits", [{ name: "permessage-deflate", params: [{ name: "client_max_window_bits", value: null }], error: null }]],
    ['permessage-deflate;server_max_window_bits="10"', [{ name: "permessage-deflate", params: [{ name: "server_max_window_bits", value: "10" }], error: null }]],
    ["a, b ;x=1 , ,c", [
      { name: "a", params: [], error: null },
      { name: "b", params: [{ name: "x", value: "1" }], error: null },
      { name: "c", params: [], error: null },
    ]],
    ["Permessage-Deflate; Client_No_Context_Takeover", [{ name: "permessage-deflate", params: [{ name: "client_no_context_takeover", value: null }], error: null }]],
  ];
  for (const [header, expected] of cases) {
    it(`parses ${JSON.stringify(header)}`, () => assert.deepEqual(parseExtensions(header), expected));
  }
  const broken = [
    ["permessage-deflate; ", 1],
    ["permessage-deflate; x=", 1],
    ['permessage-deflate; x="unterminated', 1],
    ['permessage-deflate; x="a b"', 1], // quoted value must be a token after unescaping
    ["permessage-deflate x", 1],
    ["=x, permessage-deflate", 0],
    ["permessage-deflate; a=b=c", 1],
  ];
  for (const [header, nameOk] of broken) {
    it(`marks ${JSON.stringify(header)} malformed and keeps going`, () => {
      const els = parseExtensions(header);
      const bad = els.find((e) => e.error !== null);
      assert.ok(bad, "an element is marked malformed");
      if (nameOk) assert.equal(bad.name, "permessage-deflate");
    });
  }
  it("a malformed element does not hide the next one", () => {
    const els = parseExtensions('permessage-deflate; x="a,b" y, permessage-deflate');
    assert.equal(els.length, 2);
    assert.notEqual(els[0].error, null);
    assert.equal(els[1].error, null);
  });
});

describe("RFC 7692 §5.1 server: offer selection and response", () => {
  // [offer header, policy, expected response (null = declined)]
  const cases = [
    ["permessage-deflate", SERVER_TAKEOVER, "permessage-deflate"],
    ["permessage-deflate", SERVER_DEFAULT, "permessage-deflate; server_no_context_takeover; client_no_context_takeover"],
    ["permessage-deflate; client_max_window_bits", SERVER_TAKEOVER, "permessage-deflate"],
    ["permessage-deflate; client_max_window_bits", { ...SERVER_TAKEOVER, clientMaxWindowBits: 10 }, "permessage-deflate; client_max_window_bits=10"],
    // Without client_max_window_bits in the offer, the response MUST NOT carry it (§7.1.2.2).
    ["permessage-deflate", { ...SERVER_TAKEOVER, clientMaxWindowBits: 10 }, "permessage-deflate"],
    ["permessage-deflate; client_max_window_bits=12", { ...SERVER_TAKEOVER, clientMaxWindowBits: 10 }, "permessage-deflate; client_max_window_bits=10"],
    ["permessage-deflate; client_max_window_bits=9", { ...SERVER_TAKEOVER, clientMaxWindowBits: 10 }, "permessage-deflate"],
    ["permessage-deflate; server_max_window_bits=10", SERVER_TAKEOVER, "permessage-deflate; server_max_window_bits=10"],
    ["permessage-deflate; server_max_window_bits=12", { ...SERVER_TAKEOVER, serverMaxWindowBits: 9 }, "permessage-deflate; server_max_window_bits=9"],
    ["permessage-deflate", { ...SERVER_TAKEOVER, serverMaxWindowBits: 11 }, "permessage-deflate; server_max_window_bits=11"],
    ['permessage-deflate; server_max_window_bits="8"', SERVER_TAKEOVER, "permessage-deflate; server_max_window_bits=8"],
    ["permessage-deflate; server_no_context_takeover", SERVER_TAKEOVER, "permessage-deflate; server_no_context_takeover"],
    ["permessage-deflate; client_no_context_takeover", SERVER_TAKEOVER, "permessage-deflate; client_no_context_takeover"],
    ["permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15; client_max_window_bits=15",
      SERVER_TAKEOVER, "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15"],
    // Declined offers (§5.1): unknown, repeated, valued no_context_takeover, bad window values.
    ["permessage-deflate; foo", SERVER_TAKEOVER, null],
    ["permessage-deflate; server_no_context_takeover; server_no_context_takeover", SERVER_TAKEOVER, null],
    ["permessage-deflate; client_max_window_bits; client_max_window_bits=10", SERVER_TAKEOVER, null],
    ["permessage-deflate; server_no_context_takeover=1", SERVER_TAKEOVER, null],
    ["permessage-deflate; server_max_window_bits", SERVER_TAKEOVER, null],
    ["permessage-deflate; server_max_window_bits=7", SERVER_TAKEOVER, null],
    ["permessage-deflate; server_max_window_bits=16", SERVER_TAKEOVER, null],
    ["permessage-deflate; server_max_window_bits=010", SERVER_TAKEOVER, null],
    ["permessage-deflate; client_max_window_bits=abc", SERVER_TAKEOVER, null],
    ["permessage-deflate; client_max_window_bits=1 5", SERVER_TAKEOVER, null],
    ["x-webkit-deflate-frame", SERVER_TAKEOVER, null],
    ["", SERVER_TAKEOVER, null],
    // Several offers: the first acceptable one wins.
    ["permessage-deflate; foo, permessage-deflate; client_max_window_bits", { ...SERVER_TAKEOVER, clientMaxWindowBits: 11 }, "permessage-deflate; client_max_window_bits=11"],
    ["permessage-deflate; server_max_window_bits=10, permessage-deflate", SERVER_TAKEOVER, "permessage-deflate; server_max_window_bits=10"],
    ["foo, permessage-deflate; server_no_context_takeover", SERVER_TAKEOVER, "permessage-deflate; server_no_context_takeover"],
    ["permessage-deflate; server_max_window_bits=20, permessage-deflate; server_no_context_takeover=x, permessage-deflate", SERVER_TAKEOVER, "permessage-deflate"],
    ['permessage-deflate; x="a,b", permessage-deflate; client_no_context_takeover', SERVER_TAKEOVER, "permessage-deflate; client_no_context_takeover"],
  ];
  for (const [offer, policy, expected] of cases) {
    it(`${JSON.stringify(offer)} → ${expected === null ? "declined" : JSON.stringify(expected)}`, () => {
      const declined = [];
      const r = negotiateServer(offer, policy, declined);
      if (expected === null) {
        assert.equal(r, null);
      } else {
        assert.ok(r, `accepted (declined: ${JSON.stringify(declined)})`);
        assert.equal(r.response, expected);
      }
    });
  }
  it("the agreement says which window each side inflates with", () => {
    const r = negotiateServer("permessage-deflate; client_max_window_bits=12; server_max_window_bits=10", SERVER_TAKEOVER);
    assert.deepEqual(r.params, { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 10, clientMaxWindowBits: 12 });
  });
  it("no header → no extension", () => assert.equal(negotiateServer(undefined, SERVER_DEFAULT), null));
});

describe("RFC 7692 §5.2 client: offer and validation of the server's answer", () => {
  it("default offer is the browser's", () => assert.equal(buildClientOffer(CLIENT_DEFAULT), "permessage-deflate; client_max_window_bits"));
  it("offer with every parameter", () =>
    assert.equal(
      buildClientOffer({ serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 11 }),
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=11",
    ));
  const accepted = [
    ["permessage-deflate", CLIENT_DEFAULT, { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 }],
    ["permessage-deflate; server_no_context_takeover", CLIENT_DEFAULT, { serverNoContextTakeover: true, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 }],
    ["permessage-deflate; client_no_context_takeover", CLIENT_DEFAULT, { serverNoContextTakeover: false, clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 15 }],
    ["permessage-deflate; client_max_window_bits=9", CLIENT_DEFAULT, { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 9 }],
    // §7.1.2.1: the server MAY answer server_max_window_bits even if the offer did not include it.
    ["permessage-deflate; server_max_window_bits=10", CLIENT_DEFAULT, { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 10, clientMaxWindowBits: 15 }],
    ["permessage-deflate; server_max_window_bits=9", { ...CLIENT_DEFAULT, serverMaxWindowBits: 10 }, { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 9, clientMaxWindowBits: 15 }],
    [" permessage-deflate ;  server_no_context_takeover ", { ...CLIENT_DEFAULT, serverNoContextTakeover: true }, { serverNoContextTakeover: true, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 }],
    ["permessage-deflate", { ...CLIENT_DEFAULT, clientMaxWindowBits: 11 }, { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 11 }],
    ["permessage-deflate; server_max_window_bits=15", CLIENT_DEFAULT, { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 }],
    ["permessage-deflate; client_max_window_bits=8", CLIENT_DEFAULT, { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 8 }],
    ['permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits="8"; client_max_window_bits=8',
      { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 8, clientMaxWindowBits: 8 },
      { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 8, clientMaxWindowBits: 8 }],
    // The client that declared client_no_context_takeover keeps its promise even if the server does not echo it.
    ["permessage-deflate", { ...CLIENT_DEFAULT, clientNoContextTakeover: true }, { serverNoContextTakeover: false, clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 15 }],
  ];
  for (const [answer, policy, expected] of accepted) {
    it(`accepts ${JSON.stringify(answer)}`, () => assert.deepEqual(validateServerAnswer(answer, policy), expected));
  }
  const refused = [
    ["permessage-deflate; foo", CLIENT_DEFAULT, /unknown parameter foo/],
    ["permessage-deflate; server_no_context_takeover; server_no_context_takeover", CLIENT_DEFAULT, /repeated/],
    ["permessage-deflate; client_max_window_bits", CLIENT_DEFAULT, /must have a value in a response/],
    ["permessage-deflate; client_max_window_bits=10", { ...CLIENT_DEFAULT, clientMaxWindowBits: null }, /not offered/],
    ["permessage-deflate; client_max_window_bits=12", { ...CLIENT_DEFAULT, clientMaxWindowBits: 10 }, /larger than the 10 offered/],
    ["permessage-deflate; server_max_window_bits=12", { ...CLIENT_DEFAULT, serverMaxWindowBits: 10 }, /larger than the 10 offered/],
    ["permessage-deflate", { ...CLIENT_DEFAULT, serverMaxWindowBits: 10 }, /did not accept server_max_window_bits=10/],
    ["permessage-deflate", { ...CLIENT_DEFAULT, serverNoContextTakeover: true }, /did not accept server_no_context_takeover/],
    ["permessage-deflate; server_max_window_bits=7", CLIENT_DEFAULT, /from 8 to 15/],
    ["permessage-deflate; client_no_context_takeover=yes", CLIENT_DEFAULT, /must not have a value/],
    ["permessage-deflate, permessage-deflate", CLIENT_DEFAULT, /more than once/],
    ["x-webkit-deflate-frame", CLIENT_DEFAULT, /not offered/],
    ["permessage-deflate; ;", CLIENT_DEFAULT, /malformed/],
    ['permessage-deflate; server_max_window_bits="1 0"', CLIENT_DEFAULT, /malformed/],
    ["permessage-deflate; server_max_window_bits=08", CLIENT_DEFAULT, /from 8 to 15/],
    ["permessage-deflate; client_max_window_bits=16", CLIENT_DEFAULT, /from 8 to 15/],
    ["permessage-deflate; server_max_window_bits", CLIENT_DEFAULT, /got no value/],
    [" , ", CLIENT_DEFAULT, /empty header/],
    ["permessage-deflate; client_max_window_bits=9, foo", CLIENT_DEFAULT, /foo, which was not offered/],
  ];
  for (const [answer, policy, re] of refused) {
    it(`fails on ${JSON.stringify(answer)}`, () => {
      assert.throws(() => validateServerAnswer(answer, policy), (err) => {
        assert.equal(err.code, "WS_ERR_INVALID_EXTENSION");
        assert.match(err.message, re);
        return true;
      });
    });
  }
});

// ---- end to end over loopback ----

/** Sends a raw upgrade request with `ext` and returns the response head. */
function rawUpgrade(port, ext) {
  return withTimeout(new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1", () => {
      s.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${ext === null ? "" : `Sec-WebSocket-Extensions: ${ext}\r\n`}\r\n`);
    });
    let buf = "";
    s.on("data", (d) => {
      buf += d.toString("latin1");
      const end = buf.indexOf("\r\n\r\n");
      if (end !== -1) {
        s.destroy();
        resolve(buf.slice(0, end));
      }
    });
    s.on("error", reject);
  }), 5000, "raw upgrade");
}

describe("RFC 7692 §5.1 server negotiation over a socket", () => {
  it("answers the first acceptable offer, declines without failing, and ws.extensions matches", async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: { serverNoContextTakeover: false, clientNoContextTakeover: false, clientMaxWindowBits: 12 } });
    await new Promise((r) => wss.once("listening", r));
    const seen = [];
    wss.on("connection", (ws) => seen.push(ws.extensions));
    try {
      const port = wss.address().port;
      let head = await rawUpgrade(port, "permessage-deflate; bogus, permessage-deflate; client_max_window_bits");
      assert.match(head, /^HTTP\/1\.1 101/);
      assert.match(head, /\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=12(\r|$)/i);
      head = await rawUpgrade(port, "permessage-deflate; server_max_window_bits=99");
      assert.match(head, /^HTTP\/1\.1 101/);
      assert.doesNotMatch(head, /Sec-WebSocket-Extensions/i);
      head = await rawUpgrade(port, null);
      assert.doesNotMatch(head, /Sec-WebSocket-Extensions/i);
      await waitFor(() => seen.length >= 3, "three connection events", 5000);
      assert.deepEqual(seen, ["permessage-deflate; client_max_window_bits=12", "", ""]);
    } finally {
      await wss.close({ timeout: 500 });
    }
  });
  it("perMessageDeflate: false declines every offer", async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
    await new Promise((r) => wss.once("listening", r));
    try {
      const head = await rawUpgrade(wss.address().port, "permessage-deflate");
      assert.match(head, /^HTTP\/1\.1 101/);
      assert.doesNotMatch(head, /Sec-WebSocket-Extensions/i);
    } finally {
      await wss.close({ timeout: 500 });
    }
  });
});

describe("RFC 7692 §5.2 client validation over a socket", () => {
  /** A raw server answering every upgrade with the given extensions header; records the offer. */
  async function rawServer(answer) {
    const offers = [];
    const srv = createServer((s) => {
      let buf = "";
      s.on("error", () => {});
      s.on("data", (d) => {
        buf += d.toString("latin1");
        if (!buf.includes("\r\n\r\n")) return;
        const key = /sec-websocket-key:\s*(\S+)/i.exec(buf)[1];
        offers.push(/sec-websocket-extensions:\s*([^\r]*)/i.exec(buf)?.[1] ?? null);
        const accept = createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
        s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n${answer ? `Sec-WebSocket-Extensions: ${answer}\r\n` : ""}\r\n`);
      });
    });
    await new Promise((r) => srv.listen(0, "127.0.0.1", r));
    return { srv, offers, url: `ws://127.0.0.1:${srv.address().port}/` };
  }
  function outcome(ws) {
    return withTimeout(new Promise((resolve) => {
      let error = null;
      ws.onerror = (e) => (error = e.error ?? e.message ?? e);
      ws.onopen = () => {
        resolve({ open: true, extensions: ws.extensions });
        ws.terminate();
      };
      ws.onclose = (e) => resolve({ open: false, code: e.code, error });
    }), 5000, "client outcome");
  }
  it("fails the connection with a clear error when the server answers client_max_window_bits not offered", async () => {
    const { srv, offers, url } = await rawServer("permessage-deflate; client_max_window_bits=10");
    try {
      const r = await outcome(new WebSocket(url, [], { perMessageDeflate: { clientMaxWindowBits: false } }));
      assert.equal(r.open, false);
      assert.equal(r.code, 1006);
      assert.match(String(r.error?.message ?? r.error), /client_max_window_bits, which was not offered/);
      assert.deepEqual(offers, ["permessage-deflate"]);
    } finally {
      srv.close();
    }
  });
  it("fails when the server answers an unknown parameter", async () => {
    const { srv, url } = await rawServer("permessage-deflate; x_unknown=1");
    try {
      const r = await outcome(new WebSocket(url));
      assert.equal(r.open, false);
      assert.match(String(r.error?.message ?? r.error), /unknown parameter x_unknown/);
    } finally {
      srv.close();
    }
  });
  it("fails when the server accepts an extension with perMessageDeflate: false (nothing offered)", async () => {
    const { srv, offers, url } = await rawServer("permessage-deflate");
    try {
      const r = await outcome(new WebSocket(url, [], { perMessageDeflate: false }));
      assert.equal(r.open, false);
      assert.deepEqual(offers, [null]);
    } finally {
      srv.close();
    }
  });
  it("opens with the browser-like default offer and reports the answer in ws.extensions", async () => {
    const { srv, offers, url } = await rawServer("permessage-deflate; server_no_context_takeover; client_max_window_bits=10");
    try {
      const r = await outcome(new WebSocket(url));
      assert.equal(r.open, true);
      assert.equal(r.extensions, "permessage-deflate; server_no_context_takeover; client_max_window_bits=10");
      assert.deepEqual(offers, ["permessage-deflate; client_max_window_bits"]);
    } finally {
      srv.close();
    }
  });
  it("opens without extensions when the server declines", async () => {
    const { srv, url } = await rawServer(null);
    try {
      const r = await outcome(new WebSocket(url));
      assert.equal(r.open, true);
      assert.equal(r.extensions, "");
    } finally {
      srv.close();
    }
  });
});
