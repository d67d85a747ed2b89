/** The chat application: protocol, server logic over the hub, and the HTTP app serving the page. */
export { CHAT_LIMITS, ChatError, parseClientMessage, encode, checkNick, checkRoom, type ChatLimits, type ChatErrorCode, type ClientMessage, type ServerMessage, type UserInfo, type RoomInfo } from "./protocol.js";
export { ChatServer, chatAuthenticate, type ChatUser, type ChatConnection, type ChatServerOptions, type ChatAuthOptions, type ChatConnectionSource } from "./chat-server.js";
export { startChatApp, CHAT_APP_DEFAULTS, type ChatApp, type ChatAppOptions } from "./chat-app.js";
export { StaticFiles, defaultPublicDir, PAGE_HEADERS } from "./static-files.js";
