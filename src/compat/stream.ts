/**
 * createWebSocketStream(ws[, options]) (ws.md): a Duplex over a WebSocket. Written bytes are sent as messages,
 * received messages are pushed as chunks; the readable side pauses the WebSocket when its buffer is full
 * (backpressure) and ends when the connection closes; ending the writable side starts the closing handshake
 * (half-close); destroying the stream terminates the connection unless an error already closes it.
 */
import { Duplex, type DuplexOptions } from "node:stream";
import type { WebSocket } from "./websocket.js";

export function createWebSocketStream(ws: WebSocket, options?: DuplexOptions): Duplex {
  let terminateOnDestroy = true;
  const duplex = new Duplex({ ...options, autoDestroy: false, emitClose: false, objectMode: false, writableObjectMode: false });

  ws.on("message", (msg, isBinary) => {
    const data = !isBinary && duplex.readableObjectMode ? String(msg) : (msg as Buffer);
    if (!duplex.push(data)) ws.pause();
  });
  ws.once("error", (err: Error) => {
    if (duplex.destroyed) return;
    // The connection is already being closed with the error's code: no terminate() that would cut the close frame.
    terminateOnDestroy = false;
    duplex.destroy(err);
  });
  ws.once("close", () => {
    if (!duplex.destroyed) duplex.push(null);
  });

  duplex._destroy = (err, callback) => {
    if (ws.readyState === ws.CLOSED) {
      callback(err);
      process.nextTick(() => duplex.emit("close"));
      return;
    }
    let called = false;
    ws.once("error", (e: Error) => {
      called = true;
      callback(e);
    });
    ws.once("close", () => {
      if (!called) callback(err);
      process.nextTick(() => duplex.emit("close"));
    });
    if (terminateOnDestroy) ws.terminate();
  };

  duplex._final = function final(callback) {
    if (ws.readyState === ws.CONNECTING) {
      ws.once("open", () => final(callback));
      return;
    }
    // A client whose handshake failed never gets a socket: the 'error' listener above ends the stream.
    const socket = ws._socket;
    if (socket === null) return;
    if (socket.writableFinished) {
      callback();
      if (duplex.readableEnded) duplex.destroy();
    } else {
      socket.once("finish", () => callback());
      ws.close();
    }
  };

  duplex._read = () => {
    if (ws.isPaused) ws.resume();
  };

  duplex._write = function write(chunk, encoding, callback) {
    if (ws.readyState === ws.CONNECTING) {
      ws.once("open", () => write(chunk, encoding, callback));
      return;
    }
    ws.send(chunk, callback);
  };

  duplex.on("end", function onEnd(this: Duplex) {
    if (!this.destroyed && this.writableFinished) this.destroy();
  });
  duplex.on("error", function onError(this: Duplex, err: Error) {
    this.removeListener("error", onError);
    this.destroy();
    // As ws: with no other listener the error is emitted again, and throws.
    if (this.listenerCount("error") === 0) this.emit("error", err);
  });
  return duplex;
}
