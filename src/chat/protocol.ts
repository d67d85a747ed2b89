/**
 * The chat protocol: JSON text messages, one object per WebSocket message, each with a `type`.
 * docs/chat-protocol.md describes every message; this file parses what clients send and shapes what the
 * server sends. Parsing never throws: a bad message becomes a ChatError that the server answers with an
 * `error` message, and the connection stays open.
 */

/** Limits of the chat protocol, each with its default. */
export interface ChatLimits {
  /** Longest `text` of a message or private message, in UTF-16 code units. Default 2000. */
  maxTextLength: number;
  /** Largest client message, in bytes of UTF-8 JSON; beyond it the answer is an error `too-long`. Default 8192. */
  maxMessageBytes: number;
  /** Longest nickname, in characters. Default 32. */
  maxNickLength: number;
  /** Longest room name, in characters. Default 32. */
  maxRoomLength: number;
  /** Most rooms one connection may be in at once. Default 16. */
  maxRoomsPerConnection: number;
}

export const CHAT_LIMITS: Readonly<ChatLimits> = Object.freeze({
  maxTextLength: 2000,
  maxMessageBytes: 8192,
  maxNickLength: 32,
  maxRoomLength: 32,
  maxRoomsPerConnection: 16,
});

/** The reasons an `error` message can carry (its `code`); the `reason` field says it in words. */
export type ChatErrorCode =
  | "bad-json"
  | "binary-not-supported"
  | "too-long"
  | "unknown-type"
  | "bad-field"
  | "unknown-user"
  | "not-in-room"
  | "too-many-rooms";

export class ChatError extends Error {
  override readonly name = "ChatError";
  constructor(
    readonly code: ChatErrorCode,
    message: string,
    /** The `type` of the client message that caused it, when known. */
    readonly ref?: string,
  ) {
    super(message);
  }
}

// ---- client → server ----

export type ClientMessage =
  | { type: "message"; text: string; room?: string }
  | { type: "private"; to: string; text: string }
  | { type: "nick"; nick: string }
  | { type: "join"; room: string }
  | { type: "leave"; room: string }
  | { type: "who" };

// ---- server → client ----

export interface UserInfo {
  id: string;
  nick: string;
}

export interface RoomInfo {
  name: string;
  size: number;
}

export type ServerMessage =
  | { type: "welcome"; id: string; nick: string; online: UserInfo[]; rooms: RoomInfo[]; limits: ChatLimits; ts: number }
  | { type: "user-joined"; id: string; nick: string; ts: number }
  | { type: "user-left"; id: string; nick: string; ts: number }
  | { type: "nick"; id: string; nick: string; previous: string; ts: number }
  | { type: "message"; from: string; nick: string; text: string; room?: string; ts: number }
  | { type: "private"; from: string; nick: string; to: string; text: string; ts: number }
  | { type: "room-joined"; room: string; id: string; nick: string; size: number; ts: number }
  | { type: "room-left"; room: string; id: string; nick: string; size: number; ts: number }
  | { type: "rooms"; rooms: RoomInfo[]; ts: number }
  | { type: "who"; online: UserInfo[]; rooms: RoomInfo[]; ts: number }
  | { type: "error"; code: ChatErrorCode; reason: string; ref?: string; ts: number };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ROOM = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
// C0/C1 controls, and the bidi overrides that would let a nickname disguise itself.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** Checks a nickname and returns it trimmed; throws ChatError. */
export function checkNick(value: unknown, limits: ChatLimits, ref = "nick"): string {
  if (typeof value !== "string") throw new ChatError("bad-field", "nick must be a string", ref);
  const nick = value.trim();
  if (nick.length === 0) throw new ChatError("bad-field", "nick must not be empty", ref);
  if ([...nick].length > limits.maxNickLength) throw new ChatError("bad-field", `nick must be at most ${limits.maxNickLength} characters`, ref);
  if (CONTROL.test(nick)) throw new ChatError("bad-field", "nick must not contain control characters", ref);
  return nick;
}

/** Checks a room name; throws ChatError. */
export function checkRoom(value: unknown, limits: ChatLimits, ref: string): string {
  if (typeof value !== "string") throw new ChatError("bad-field", "room must be a string", ref);
  if (value.length === 0 || value.length > limits.maxRoomLength || !ROOM.test(value)) {
    throw new ChatError(
      "bad-field",
      `room must be 1-${limits.maxRoomLength} characters of letters, digits, '_', '.', '-', starting with a letter or digit`,
      ref,
    );
  }
  return value;
}

function checkText(value: unknown, limits: ChatLimits, ref: string): string {
  if (typeof value !== "string") throw new ChatError("bad-field", "text must be a string", ref);
  if (value.trim().length === 0) throw new ChatError("bad-field", "text must not be empty", ref);
  if (value.length > limits.maxTextLength) throw new ChatError("too-long", `text is ${value.length} characters, the limit is ${limits.maxTextLength}`, ref);
  return value;
}

/**
 * Parses one client message (the data of a WebSocket text message). Returns the message, or throws a ChatError
 * with the reason to send back.
 */
export function parseClientMessage(data: string, limits: ChatLimits = CHAT_LIMITS): ClientMessage {
  const bytes = Buffer.byteLength(data, "utf8");
  if (bytes > limits.maxMessageBytes) {
    throw new ChatError("too-long", `message is ${bytes} bytes, the limit is ${limits.maxMessageBytes}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch (err) {
    throw new ChatError("bad-json", `not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ChatError("bad-json", "a message must be a JSON object with a \"type\"");
  }
  const m = value as Record<string, unknown>;
  const type = m["type"];
  if (typeof type !== "string") throw new ChatError("unknown-type", "the field \"type\" is missing or not a string");
  switch (type) {
    case "message": {
      const text = checkText(m["text"], limits, type);
      if (m["room"] === undefined || m["room"] === null) return { type, text };
      return { type, text, room: checkRoom(m["room"], limits, type) };
    }
    case "private": {
      const to = m["to"];
      if (typeof to !== "string" || !UUID.test(to)) throw new ChatError("bad-field", "to must be a connection UUID", type);
      return { type, to: to.toLowerCase(), text: checkText(m["text"], limits, type) };
    }
    case "nick":
      return { type, nick: checkNick(m["nick"], limits) };
    case "join":
    case "leave":
      return { type, room: checkRoom(m["room"], limits, type) };
    case "who":
      return { type };
    default:
      throw new ChatError("unknown-type", `unknown message type ${JSON.stringify(type.slice(0, 40))}`, type.slice(0, 40));
  }
}

/** Serializes a server message (once; the same string goes to every recipient). */
export function encode(message: ServerMessage): string {
  return JSON.stringify(message);
}
