/**
 * Reading sockets into one shared buffer. By default every read of a node:net socket gets a new 64 KiB allocation,
 * then goes through the Readable stream machinery to a 'data' listener. Node can instead read a socket into a
 * buffer the application provides and call a function with the byte count (the `onread` option of net.Socket and
 * net.connect). Sockets accepted by a net.Server cannot be given that option, so the standalone server sets the
 * same per-socket state the option sets, found on a probe socket made with the option, and switches the socket's
 * handle to the buffer. The server then saves an allocation and a stream round per read: on the benchmark machine
 * about 3 µs of CPU per opening handshake (46.7 against 50.0 µs), and faster echo of small and large messages
 * (bench/notes.md, "Shared reads").
 *
 * Client sockets (node/dial.ts) get the same through net.connect's `onread` option (sharedReadOption).
 *
 * All sockets share one buffer, which is reused by the next read: a callback must copy whatever it keeps
 * (the protocol core's Connection.receiveTransient does). While a socket reads this way, 'data' is not emitted;
 * pause() and resume() still stop and restart reading (net.Socket's own pause() calls readStop() on the handle of
 * a socket that has an `onread` buffer, and resume() starts it again), as does a callback returning false;
 * 'end', 'close' and 'error' are emitted as usual. When the probe does not find the state it expects (another
 * Node version), sockets keep emitting 'data' and nothing changes.
 */
import { Socket } from "node:net";

/**
 * Called for each read with the byte count; the bytes are buffer[0, nread), valid only during the call. Returning
 * false stops reading (Node calls readStop on the handle; TCP flow control then holds the peer).
 */
export type SharedReadCallback = (this: Socket, nread: number, buffer: Buffer) => boolean | void;

/** The per-socket state behind net.Socket's `onread` option. */
interface OnreadKeys {
  buffer: symbol;
  callback: symbol;
  /** A function called after each read's callback, whose result is the buffer the next read goes into. */
  generator: symbol;
}

/** Size of the shared buffer: the most one read can take (Node's own reads are 64 KiB). */
export const SHARED_READ_SIZE = 64 * 1024;

const keys = probe();
let shared: Buffer | null = null;
let enabled = keys !== null;

type Slots = Record<symbol, unknown>;
type WithHandle = { _handle?: { useUserBuffer?: (buf: Uint8Array) => void } | null };

/**
 * Finds the symbols under which net.Socket keeps its `onread` buffer, callback and buffer function, by description,
 * and checks them on sockets made with the option: with a buffer, the first two hold what was given and the third
 * is null; with a function for the buffer, the third holds it.
 */
function probe(): OnreadKeys | null {
  try {
    const buffer = Buffer.alloc(1);
    const callback = (): void => {};
    const generator = (): Buffer => buffer;
    // The `onread` option of the Socket constructor (typed on net.connect's options only).
    type Options = ConstructorParameters<typeof Socket>[0];
    const socket = new Socket({ onread: { buffer, callback } } as Options);
    const withGenerator = new Socket({ onread: { buffer: generator, callback } } as Options);
    const byName = new Map<string | undefined, symbol>();
    for (const sym of Object.getOwnPropertySymbols(socket)) byName.set(sym.description, sym);
    const kBuffer = byName.get("kBuffer");
    const kBufferCb = byName.get("kBufferCb");
    const kBufferGen = byName.get("kBufferGen");
    socket.destroy();
    withGenerator.destroy();
    if (kBuffer === undefined || kBufferCb === undefined || kBufferGen === undefined) return null;
    const slots = socket as unknown as Slots;
    if (slots[kBuffer] !== buffer || slots[kBufferCb] !== callback || slots[kBufferGen] !== null) return null;
    if ((withGenerator as unknown as Slots)[kBufferGen] !== generator) return null;
    return { buffer: kBuffer, callback: kBufferCb, generator: kBufferGen };
  } catch {
    return null;
  }
}

/**
 * Where the next read of the socket whose callback is running goes (see readNextInto), or null: the shared buffer.
 * Node calls the buffer function right after the read callback, without the socket, so this is set at the end of a
 * callback and taken at once.
 */
let nextTarget: Buffer | null = null;

/** The buffer function of every socket that reads into the shared buffer (Node calls it after each read). */
function nextReadBuffer(): Buffer {
  const target = nextTarget;
  if (target === null) return shared!;
  nextTarget = null;
  return target;
}

/**
 * From a read callback: the socket's next read goes into `target` (at most target.length bytes) instead of the
 * shared buffer; the callback then receives `target` itself as its buffer. Reads after that one go to the shared
 * buffer again unless asked anew. Call it last in the callback.
 */
export function readNextInto(target: Buffer): void {
  nextTarget = target;
}

/**
 * Switches a connected socket to reading into the shared buffer, calling `callback` for each read (with the socket
 * as `this`). Returns false, changing nothing, when that is not available: the socket then emits 'data' as usual.
 * Call it before the socket's first read arrives (in the 'connection' listener).
 */
export function readIntoSharedBuffer(socket: Socket, callback: SharedReadCallback): boolean {
  if (!enabled) return false;
  const handle = (socket as unknown as WithHandle)._handle;
  if (handle === null || handle === undefined || typeof handle.useUserBuffer !== "function") return false;
  const buffer = (shared ??= Buffer.allocUnsafe(SHARED_READ_SIZE));
  const slots = socket as unknown as Slots;
  slots[keys!.buffer] = buffer;
  slots[keys!.callback] = callback;
  slots[keys!.generator] = nextReadBuffer;
  handle.useUserBuffer(buffer);
  return true;
}

/**
 * The `onread` option for net.connect() that makes a new client socket read into the shared buffer, calling
 * `callback` for each read (with the socket as `this`), as readIntoSharedBuffer() does for accepted sockets; or
 * undefined when that is not available (the socket then emits 'data').
 */
export function sharedReadOption(callback: SharedReadCallback): { buffer: () => Buffer; callback: SharedReadCallback } | undefined {
  if (!enabled) return undefined;
  shared ??= Buffer.allocUnsafe(SHARED_READ_SIZE);
  return { buffer: nextReadBuffer, callback };
}

/** Whether a socket reads into the shared buffer (readIntoSharedBuffer succeeded for it). */
export function readsIntoSharedBuffer(socket: Socket): boolean {
  return keys !== null && (socket as unknown as Slots)[keys.generator] === nextReadBuffer;
}

/** Bytes held for a socket between its request head and its connection (see holdSharedReads). */
class HeldReads {
  chunks: Buffer[] = [];
  bytes = 0;
  /** Reading was stopped at HOLD_LIMIT. */
  stopped = false;
}
const kHeld = Symbol("wshub.heldReads");

/**
 * Most bytes held for a socket whose request is still being decided (asynchronous authentication) before reading
 * stops; about what a paused node:net socket buffers before it stops reading.
 */
export const HOLD_LIMIT = 64 * 1024;

function holdRead(this: Socket, nread: number, buffer: Buffer): boolean {
  const slots = this as unknown as Slots;
  let held = slots[kHeld] as HeldReads | undefined;
  if (held === undefined) slots[kHeld] = held = new HeldReads();
  held.chunks.push(Buffer.from(buffer.subarray(0, nread)));
  held.bytes += nread;
  if (held.bytes < HOLD_LIMIT) return true;
  held.stopped = true;
  return false;
}

function dropRead(): void {}

/**
 * Keeps (copies of) what a socket reading into the shared buffer receives until takeHeldReads(), and stops reading
 * once HOLD_LIMIT bytes are held: for the time between a request head and the connection that takes the socket.
 */
export function holdSharedReads(socket: Socket): void {
  (socket as unknown as Slots)[keys!.callback] = holdRead;
}

/**
 * From now on drops what the socket receives (a refused request: the answer is being written, then it closes;
 * reading on spares the peer a reset for unread data). Returns false, changing nothing, for a socket that does not
 * read into the shared buffer.
 */
export function dropSharedReads(socket: Socket): boolean {
  if (!readsIntoSharedBuffer(socket)) return false;
  const slots = socket as unknown as Slots;
  slots[keys!.callback] = dropRead;
  const held = slots[kHeld] as HeldReads | undefined;
  slots[kHeld] = undefined;
  if (held !== undefined && held.stopped) restartReading(socket);
  return true;
}

/**
 * Starts reading again after a read callback returned false. Readable's own resume() would not read here: its
 * `reading` flag stays set, as no chunk is pushed through the stream. _read() starts the handle reading
 * (net.Socket.prototype._read: readStart).
 */
function restartReading(socket: Socket): void {
  if (!socket.destroyed) (socket as unknown as { _read(n: number): void })._read(0);
}

/**
 * Hands a held socket to `callback` for its next reads and returns what was held meanwhile (null if nothing).
 * Reading stopped at HOLD_LIMIT starts again; its bytes come after the returned ones.
 */
export function takeHeldReads(socket: Socket, callback: SharedReadCallback): Buffer | null {
  const slots = socket as unknown as Slots;
  slots[keys!.callback] = callback;
  const held = slots[kHeld] as HeldReads | undefined;
  if (held === undefined) return null;
  slots[kHeld] = undefined;
  if (held.stopped) restartReading(socket);
  return held.chunks.length === 1 ? held.chunks[0]! : Buffer.concat(held.chunks, held.bytes);
}

/**
 * @internal For tests: turns the shared buffer off (sockets accepted from now on emit 'data') or back on when
 * available. Returns whether it is on.
 */
export function useSharedReads(on: boolean): boolean {
  enabled = on && keys !== null;
  return enabled;
}
