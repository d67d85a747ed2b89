// The one client script of the parity test. `runScenario` uses only the browser's WebSocket API (plus Blob,
// ArrayBuffer, typed arrays, MessageEvent, setTimeout) and returns an event log. The test runs its source text
// unchanged in Chromium (as a <script> in a page) and in Node (with wshub's WebSocket passed in).
// This module only exports the source text; importing it runs nothing.

function runScenario(WebSocket, baseUrl, scenario) {
  "use strict";
  const log = [];
  const reads = [];
  const hex = (bytes) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join(" ");
  const dataType = (d) =>
    typeof d === "string" ? "string" : d instanceof Blob ? "Blob" : d instanceof ArrayBuffer ? "ArrayBuffer" : Object.prototype.toString.call(d);
  const errName = (fn) => {
    try {
      fn();
      return "no exception";
    } catch (e) {
      return (e && e.constructor && e.constructor.name) + ":" + (e && e.name);
    }
  };

  function record(ws, ev, extra) {
    const entry = { event: ev.type, class: ev.constructor.name, readyState: ws.readyState };
    if (ev.type === "message") {
      entry.dataType = dataType(ev.data);
      entry.origin = ev.origin;
      if (typeof ev.data === "string") entry.data = ev.data;
      else if (ev.data instanceof ArrayBuffer) entry.data = hex(ev.data);
      else if (ev.data instanceof Blob) {
        entry.data = "(reading)";
        entry.blobType = ev.data.type;
        reads.push(ev.data.arrayBuffer().then((ab) => (entry.data = hex(ab))));
      }
    }
    if (ev.type === "close") {
      entry.classString = Object.prototype.toString.call(ev);
      entry.codeIsGetter = typeof Object.getOwnPropertyDescriptor(Object.getPrototypeOf(ev), "code").get === "function";
      entry.code = ev.code;
      entry.reason = ev.reason;
      entry.wasClean = ev.wasClean;
    }
    if (extra) Object.assign(entry, extra);
    log.push(entry);
    return entry;
  }

  // Sends and records by how much bufferedAmount grew (the bytes counted by the send() steps).
  function send(ws, data, label) {
    const before = ws.bufferedAmount;
    let outcome = "sent";
    try {
      ws.send(data);
    } catch (e) {
      outcome = e.name;
    }
    log.push({ action: "send", label, outcome, readyState: ws.readyState, bufferedAmountGrowth: ws.bufferedAmount - before });
  }

  function watch(ws, onMessage, onOpen) {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        log.push({ timeout: true, readyState: ws.readyState });
        resolve();
      }, 8000);
      ws.onopen = (ev) => {
        record(ws, ev, { protocol: ws.protocol, extensions: ws.extensions, url: ws.url, binaryType: ws.binaryType });
        if (onOpen) onOpen(ev);
      };
      ws.onmessage = (ev) => {
        record(ws, ev);
        if (onMessage) onMessage(ev);
      };
      ws.onerror = (ev) => record(ws, ev);
      ws.onclose = (ev) => {
        record(ws, ev);
        clearTimeout(timer);
        // A sleep to assert that nothing happens: a late event after close would show up in the log.
        setTimeout(resolve, 50);
      };
    });
  }

  async function finish(done) {
    await done;
    await Promise.all(reads);
    return log;
  }

  const url = (path) => baseUrl + path;

  if (scenario === "exchange") {
    // Text, binary as Blob, then as ArrayBuffer, every BufferSource kind, a Blob send keeping its place
    // among later sends, then a client close with a code and a reason.
    const ws = new WebSocket(url("/echo"), ["chat", "superchat"]);
    log.push({ action: "constructed", readyState: ws.readyState, url: ws.url, binaryType: ws.binaryType, protocol: ws.protocol, bufferedAmount: ws.bufferedAmount });
    let step = 0;
    const done = watch(
      ws,
      () => {
        step++;
        if (step === 1) send(ws, new Uint8Array([1, 2, 3]).buffer, "ArrayBuffer");
        else if (step === 2) {
          ws.binaryType = "arraybuffer";
          send(ws, new Uint8Array([0, 1, 2, 3, 4, 5]).subarray(2, 5), "Uint8Array view with an offset");
        } else if (step === 3) {
          send(ws, new Blob(["blob ", new Uint8Array([0xff, 0x00])]), "Blob");
          send(ws, "after the blob", "string after a Blob");
          const dv = new DataView(new ArrayBuffer(4), 1, 2);
          dv.setUint16(0, 0xabcd);
          send(ws, dv, "DataView");
          send(ws, new Float32Array([1.5]), "Float32Array");
          send(ws, new Uint16Array([0x0102, 0x0304]), "Uint16Array");
        } else if (step === 7) {
          send(ws, "", "empty string");
          send(ws, new ArrayBuffer(0), "empty ArrayBuffer");
        } else if (step === 9) {
          ws.close(1000, "done");
          log.push({ action: "close(1000, 'done')", readyState: ws.readyState });
          send(ws, "dropped after close", "string after close()");
          send(ws, new Uint8Array(10), "bytes after close()");
          ws.close(4001, "ignored");
          log.push({ action: "second close()", readyState: ws.readyState });
        }
      },
      () => {
        send(ws, "héllo ✓", "string");
      },
    );
    return finish(done);
  }

  if (scenario === "server-close") {
    const ws = new WebSocket(url("/server-close"));
    ws.binaryType = "arraybuffer";
    return finish(watch(ws));
  }

  if (scenario === "client-close") {
    // A message sent just before close(): the server's echo arrives while CLOSING and is not delivered.
    const ws = new WebSocket(url("/echo"));
    const done = watch(ws, null, () => {
      send(ws, "last words", "string before close()");
      ws.close();
      log.push({ action: "close()", readyState: ws.readyState });
    });
    return finish(done);
  }

  if (scenario === "server-destroy") {
    // The TCP connection is lost without a close frame: close 1006, wasClean false. Chromium fires no error event
    // here (the connection was not failed); the spec fires error only when the user agent had to fail it.
    const ws = new WebSocket(url("/destroy"));
    return finish(watch(ws));
  }

  if (scenario === "server-bad-utf8") {
    // The server sends a text frame that is not UTF-8: the client must fail the connection (error, close 1006).
    const ws = new WebSocket(url("/bad-utf8"));
    return finish(watch(ws));
  }

  if (scenario === "refused") {
    const ws = new WebSocket(url("/refuse"));
    log.push({ action: "constructed", readyState: ws.readyState });
    return finish(watch(ws));
  }

  if (scenario === "surface") {
    // Constructor, send(), close() argument checks and the event handler attributes, while CONNECTING.
    const http = baseUrl.replace(/^ws/, "http");
    const entry = { action: "surface" };
    entry.constants = [WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED];
    entry.ftp = errName(() => new WebSocket("ftp://127.0.0.1/"));
    entry.fragment = errName(() => new WebSocket(url("/echo#frag")));
    entry.emptyFragment = errName(() => new WebSocket(url("/echo#")));
    entry.duplicate = errName(() => new WebSocket(url("/echo"), ["a", "b", "a"]));
    entry.nonToken = errName(() => new WebSocket(url("/echo"), ["a b"]));
    entry.emptyProtocol = errName(() => new WebSocket(url("/echo"), ""));
    entry.commaProtocol = errName(() => new WebSocket(url("/echo"), "a,b"));
    entry.noArgs = errName(() => new WebSocket());
    const others = [];
    const tryOpen = (label, ...args) => {
      try {
        const w = new WebSocket(...args);
        others.push(w);
        return "ok " + w.url;
      } catch (e) {
        return e.name;
      }
    };
    entry.caseDiffers = tryOpen("case", url("/echo"), ["chat", "Chat"]);
    entry.nullProtocol = tryOpen("null", url("/echo"), null);
    entry.httpScheme = tryOpen("http", http + "/echo?q=1");
    for (const w of others) w.close();
    const ws = new WebSocket(url("/echo"));
    entry.instanceConstants = [ws.CONNECTING, ws.OPEN, ws.CLOSING, ws.CLOSED];
    entry.lengths = [WebSocket.length, ws.send.length, ws.close.length];
    entry.classString = Object.prototype.toString.call(ws);
    entry.protoConstant = JSON.stringify(Object.getOwnPropertyDescriptor(WebSocket.prototype, "OPEN"));
    entry.classConstant = JSON.stringify(Object.getOwnPropertyDescriptor(WebSocket, "CLOSED"));
    entry.sendConnecting = errName(() => ws.send("x"));
    entry.sendNoArgs = errName(() => ws.send());
    entry.close999 = errName(() => ws.close(999));
    entry.close1001 = errName(() => ws.close(1001));
    entry.close5000 = errName(() => ws.close(5000));
    entry.close66536 = errName(() => ws.close(66536));
    entry.closeNull = errName(() => ws.close(null));
    entry.closeLongReason = errName(() => ws.close(1000, "é".repeat(62)));
    entry.bufferedAmount = ws.bufferedAmount;
    entry.binaryTypeDefault = ws.binaryType;
    ws.binaryType = "bogus";
    entry.binaryTypeAfterBogus = ws.binaryType;
    ws.binaryType = "arraybuffer";
    entry.binaryTypeAfterArraybuffer = ws.binaryType;
    entry.onopenInitial = ws.onopen;
    ws.onopen = "not a function";
    entry.onopenAfterString = ws.onopen;
    const obj = { handleEvent() {} };
    ws.onopen = obj;
    entry.onopenKeepsObject = ws.onopen === obj;
    ws.onopen = null;
    // Handler order relative to addEventListener (HTML event handlers keep their first place).
    const order = [];
    ws.addEventListener("message", () => order.push("A"));
    ws.onmessage = () => order.push("H1");
    ws.addEventListener("message", () => order.push("B"));
    ws.onmessage = function () {
      order.push(this === ws ? "H2(this ok)" : "H2(bad this)");
      return false;
    };
    // (A plain Event: Node's MessageEvent constructor ignores `cancelable`.)
    const ev1 = new Event("message", { cancelable: true });
    ws.dispatchEvent(ev1);
    order.push("prevented:" + ev1.defaultPrevented);
    ws.onmessage = null;
    ws.onmessage = () => order.push("H3");
    ws.dispatchEvent(new MessageEvent("message", { data: "synthetic" }));
    entry.handlerOrder = order.join(",");
    ws.onmessage = null;
    log.push(entry);
    ws.close(1000.4);
    log.push({ action: "close(1000.4) while CONNECTING", readyState: ws.readyState });
    const done = watch(ws);
    return finish(done);
  }

  return Promise.resolve([{ error: "unknown scenario " + scenario }]);
}

export const CLIENT_SOURCE = runScenario.toString();
export const SCENARIOS = ["exchange", "server-close", "client-close", "server-destroy", "server-bad-utf8", "refused", "surface"];
