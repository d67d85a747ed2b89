// wshub chat page: speaks the chat protocol of docs/chat-protocol.md over the browser's WebSocket at /chat.
// Plain script, no dependencies. Every text from the network goes into the page through textContent only.
"use strict";

(function () {
  const STATES = ["CONNECTING", "OPEN", "CLOSING", "CLOSED"];
  // Reconnect backoff: 0.5 s, 1 s, 2 s, 4 s, then 8 s, each with up to 30% jitter; reset once a connection opens.
  const BACKOFF_BASE_MS = 500;
  const BACKOFF_MAX_MS = 8000;
  const LOG_MAX = 200;
  const MESSAGES_MAX = 500;

  const $ = (id) => document.getElementById(id);
  const el = {
    state: $("state"),
    toggle: $("connect-toggle"),
    myNick: $("my-nick"),
    myId: $("my-id"),
    lastClose: $("last-close"),
    server: $("server"),
    reconnect: $("reconnect"),
    reconnectText: $("reconnect-text"),
    reconnectNow: $("reconnect-now"),
    messages: $("messages"),
    sendForm: $("send-form"),
    target: $("target"),
    input: $("message-input"),
    online: $("online"),
    onlineCount: $("online-count"),
    rooms: $("rooms"),
    joinForm: $("join-form"),
    roomInput: $("room-input"),
    nickForm: $("nick-form"),
    nickInput: $("nick-input"),
    log: $("log"),
  };

  const store = {
    get(key) {
      try {
        return window.localStorage.getItem(key);
      } catch {
        return null;
      }
    },
    set(key, value) {
      try {
        window.localStorage.setItem(key, value);
      } catch {
        /* storage may be off; the page still works */
      }
    },
  };

  let ws = null;
  let myId = null;
  let myNick = store.get("wshub.nick") || "";
  let wantOpen = true; // false after the user pressed Disconnect
  let attempt = 0;
  let reconnectTimer = null;
  let reconnectAt = 0;
  const online = new Map(); // id -> nick
  let rooms = []; // [{ name, size }] from the server
  const joined = new Set(JSON.parse(sessionStorageGet("wshub.rooms") || "[]")); // rooms to be in, kept across reconnects

  function sessionStorageGet(key) {
    try {
      return window.sessionStorage.getItem(key);
    } catch {
      return null;
    }
  }
  function saveRooms() {
    try {
      window.sessionStorage.setItem("wshub.rooms", JSON.stringify([...joined]));
    } catch {
      /* ignore */
    }
  }

  function time(ts) {
    const d = ts === undefined ? new Date() : new Date(ts);
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  }

  // The chat server: `?server=ws://HOST:PORT/chat` names another one (a Python server, say); without it, our
  // own origin, at the path the server writes into this meta tag (`wshub serve --mode chat --path ...`).
  const serverParam = new URLSearchParams(window.location.search).get("server");

  function chatUrl() {
    let u;
    if (serverParam !== null) {
      u = new URL(serverParam, window.location.href); // throws on a bad address: connect() logs it
      if (u.protocol === "http:" || u.protocol === "https:") u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
      if (u.protocol !== "ws:" && u.protocol !== "wss:") throw new SyntaxError("?server= must be a ws: or wss: URL, not " + JSON.stringify(serverParam));
    } else {
      const meta = document.querySelector('meta[name="wshub-chat-path"]');
      u = new URL((meta && meta.getAttribute("content")) || "/chat", window.location.href);
      u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    }
    if (myNick) u.searchParams.set("nick", myNick);
    el.server.textContent = u.host + u.pathname;
    el.server.title = u.origin + u.pathname;
    return u.href;
  }

  // ---- connection state, shown live ----
  function renderState() {
    const rs = ws === null ? 3 : ws.readyState;
    const name = STATES[rs];
    if (el.state.dataset.readyState !== String(rs)) {
      el.state.textContent = name + " (" + rs + ")";
      el.state.dataset.state = name;
      el.state.dataset.readyState = String(rs);
      el.state.title = "readyState " + rs;
    }
    const open = rs === 1;
    el.input.disabled = !open;
    el.sendForm.querySelector("button").disabled = !open;
    el.toggle.textContent = wantOpen ? "Disconnect" : "Connect";
    if (reconnectTimer !== null) {
      const left = Math.max(0, reconnectAt - Date.now());
      el.reconnect.hidden = false;
      el.reconnectText.textContent = "Reconnecting in " + (left / 1000).toFixed(1) + " s (attempt " + attempt + ")";
    } else {
      el.reconnect.hidden = true;
    }
  }
  // readyState changes without an event too (close() moves to CLOSING at once): poll it.
  setInterval(renderState, 100);

  function log(event, text) {
    const li = document.createElement("li");
    li.dataset.event = event;
    li.textContent = time() + " " + event + (text ? " " + text : "");
    el.log.appendChild(li);
    while (el.log.childElementCount > LOG_MAX) el.log.firstElementChild.remove();
    el.log.scrollTop = el.log.scrollHeight;
  }

  // ---- connecting and reconnecting ----
  function connect() {
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    if (ws !== null && ws.readyState < 2) return;
    let socket;
    try {
      socket = new WebSocket(chatUrl());
    } catch (err) {
      log("error", String(err && err.message));
      scheduleReconnect();
      return;
    }
    ws = socket;
    log("connecting", socket.url);
    socket.onopen = () => {
      if (socket !== ws) return;
      attempt = 0;
      log("open", "protocol=" + JSON.stringify(socket.protocol) + " extensions=" + JSON.stringify(socket.extensions));
      renderState();
    };
    socket.onmessage = (ev) => {
      if (socket !== ws) return;
      onMessage(ev.data);
    };
    socket.onerror = () => {
      if (socket !== ws) return;
      log("error", "(the browser gives no details; see the close event)");
    };
    socket.onclose = (ev) => {
      if (socket !== ws) return;
      const text = "code=" + ev.code + (ev.reason ? " reason=" + JSON.stringify(ev.reason) : "") + " wasClean=" + ev.wasClean;
      log("close", text);
      el.lastClose.textContent = ev.code + (ev.reason ? " " + ev.reason : "") + (ev.wasClean ? "" : " (not clean)");
      el.lastClose.dataset.code = String(ev.code);
      system("Disconnected: close code " + ev.code + (ev.reason ? " (" + ev.reason + ")" : ""));
      myId = null;
      el.myId.textContent = "—"; // the UUID belonged to that connection; the next one gets a new one
      online.clear();
      rooms = [];
      renderPeople();
      renderState();
      if (wantOpen) scheduleReconnect();
    };
    renderState();
  }

  function scheduleReconnect() {
    attempt++;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
    const delay = Math.round(base * (0.7 + Math.random() * 0.3));
    reconnectAt = Date.now() + delay;
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      connect();
    }, delay);
    log("reconnect", "in " + delay + " ms (attempt " + attempt + ")");
    renderState();
  }

  el.toggle.addEventListener("click", () => {
    if (wantOpen) {
      wantOpen = false;
      clearTimeout(reconnectTimer);
      reconnectTimer = null;
      if (ws !== null && ws.readyState < 2) ws.close(1000, "user disconnected");
    } else {
      wantOpen = true;
      attempt = 0;
      connect();
    }
    renderState();
  });
  el.reconnectNow.addEventListener("click", () => {
    wantOpen = true;
    connect();
  });
  // Phones suspend pages; try again at once when the page or the network comes back.
  window.addEventListener("online", () => {
    if (wantOpen && reconnectTimer !== null) connect();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && wantOpen && reconnectTimer !== null) connect();
  });

  function send(message) {
    if (ws === null || ws.readyState !== 1) {
      system("Not connected: the message was not sent");
      return false;
    }
    ws.send(JSON.stringify(message));
    return true;
  }

  // ---- messages from the server ----
  function onMessage(data) {
    let m;
    try {
      m = JSON.parse(data);
    } catch {
      log("message", "(not JSON) " + String(data).slice(0, 120));
      return;
    }
    log("message", m.type + summary(m));
    switch (m.type) {
      case "welcome":
        myId = m.id;
        myNick = m.nick;
        el.myId.textContent = m.id;
        el.myNick.textContent = m.nick;
        if (!el.nickInput.value) el.nickInput.value = m.nick;
        online.clear();
        for (const u of m.online) online.set(u.id, u.nick);
        rooms = m.rooms;
        renderPeople();
        system("Connected as " + m.nick);
        for (const room of joined) send({ type: "join", room });
        break;
      case "user-joined":
        online.set(m.id, m.nick);
        renderPeople();
        system(m.nick + " joined", m.ts);
        break;
      case "user-left":
        online.delete(m.id);
        renderPeople();
        system(m.nick + " left", m.ts);
        break;
      case "nick":
        online.set(m.id, m.nick);
        if (m.id === myId) {
          myNick = m.nick;
          el.myNick.textContent = m.nick;
          store.set("wshub.nick", m.nick);
        }
        renderPeople();
        system(m.previous + " is now " + m.nick, m.ts);
        break;
      case "message":
      case "private":
        addMessage(m);
        break;
      case "room-joined":
        if (m.id === myId) {
          joined.add(m.room);
          saveRooms();
          system("You joined #" + m.room, m.ts);
        } else {
          system(m.nick + " joined #" + m.room, m.ts);
        }
        setRoomSize(m.room, m.size);
        break;
      case "room-left":
        if (m.id === myId) {
          joined.delete(m.room);
          saveRooms();
          system("You left #" + m.room, m.ts);
        } else {
          system(m.nick + " left #" + m.room, m.ts);
        }
        setRoomSize(m.room, m.size);
        break;
      case "rooms":
        rooms = m.rooms;
        renderPeople();
        break;
      case "who":
        online.clear();
        for (const u of m.online) online.set(u.id, u.nick);
        rooms = m.rooms;
        renderPeople();
        break;
      case "error":
        addLine("error", "Error (" + m.code + "): " + m.reason, m.ts);
        break;
      default:
        break;
    }
  }

  function summary(m) {
    switch (m.type) {
      case "welcome":
        return " id=" + m.id + " online=" + m.online.length;
      case "message":
      case "private":
        return (m.room ? " #" + m.room : "") + " " + m.nick + ": " + String(m.text).slice(0, 60);
      case "error":
        return " " + m.code + ": " + m.reason;
      case "user-joined":
      case "user-left":
        return " " + m.nick;
      case "nick":
        return " " + m.previous + " → " + m.nick;
      case "room-joined":
      case "room-left":
        return " #" + m.room + " " + m.nick;
      default:
        return "";
    }
  }

  function setRoomSize(name, size) {
    const r = rooms.find((x) => x.name === name);
    if (r) r.size = size;
    else if (size > 0) rooms.push({ name, size });
    rooms = rooms.filter((x) => x.size > 0);
    renderPeople();
  }

  function addLine(kind, text, ts) {
    const li = document.createElement("li");
    li.className = kind;
    li.dataset.kind = kind;
    const t = document.createElement("span");
    t.className = "time";
    t.textContent = time(ts);
    li.append(t, document.createTextNode(text));
    appendMessage(li);
    return li;
  }

  function system(text, ts) {
    addLine("system", text, ts);
  }

  function addMessage(m) {
    const li = document.createElement("li");
    li.dataset.kind = m.type;
    li.dataset.from = m.from;
    if (m.room) li.dataset.room = m.room;
    if (m.type === "private") li.dataset.to = m.to;
    li.classList.add(m.type === "private" ? "private" : "public");
    if (m.from === myId) li.classList.add("mine");
    const t = document.createElement("span");
    t.className = "time";
    t.textContent = time(m.ts);
    li.appendChild(t);
    if (m.room || m.type === "private") {
      const tag = document.createElement("span");
      tag.className = "tag";
      tag.textContent = m.room ? "#" + m.room : m.from === myId ? "private to " + (online.get(m.to) || m.to.slice(0, 8)) : "private";
      li.appendChild(tag);
    }
    const nick = document.createElement("span");
    nick.className = "nick";
    nick.textContent = m.nick + ":";
    nick.title = m.from;
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = m.text;
    li.append(nick, text);
    appendMessage(li);
  }

  function appendMessage(li) {
    const box = el.messages;
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    box.appendChild(li);
    while (box.childElementCount > MESSAGES_MAX) box.firstElementChild.remove();
    if (atBottom) box.scrollTop = box.scrollHeight;
  }

  // ---- who is online, rooms, the send-to list ----
  function renderPeople() {
    el.online.replaceChildren();
    for (const [id, nick] of online) {
      const li = document.createElement("li");
      li.dataset.id = id;
      const who = document.createElement("span");
      who.className = "who" + (id === myId ? " self" : "");
      who.textContent = nick;
      const small = document.createElement("small");
      small.textContent = id.slice(0, 8);
      small.title = id;
      who.appendChild(small);
      li.appendChild(who);
      if (id !== myId) {
        const b = document.createElement("button");
        b.type = "button";
        b.textContent = "Private";
        b.dataset.testid = "pm-" + id;
        b.addEventListener("click", () => {
          el.target.value = "user:" + id;
          el.input.focus();
        });
        li.appendChild(b);
      }
      el.online.appendChild(li);
    }
    el.onlineCount.textContent = String(online.size);

    el.rooms.replaceChildren();
    const names = new Set(rooms.map((r) => r.name));
    for (const name of joined) if (!names.has(name)) names.add(name);
    for (const name of [...names].sort()) {
      const r = rooms.find((x) => x.name === name);
      const li = document.createElement("li");
      li.dataset.room = name;
      const who = document.createElement("span");
      who.className = "who" + (joined.has(name) ? " self" : "");
      who.textContent = "#" + name + " (" + (r ? r.size : 0) + ")";
      const b = document.createElement("button");
      b.type = "button";
      const member = joined.has(name);
      b.textContent = member ? "Leave" : "Join";
      b.dataset.testid = (member ? "leave-" : "join-") + name;
      b.addEventListener("click", () => {
        if (member) {
          if (!send({ type: "leave", room: name })) return;
        } else send({ type: "join", room: name });
      });
      li.append(who, b);
      el.rooms.appendChild(li);
    }

    // The send-to list: everyone, each joined room, each other user (private).
    const keep = el.target.value;
    el.target.replaceChildren(new Option("Everyone", "all"));
    for (const name of [...joined].sort()) el.target.appendChild(new Option("#" + name, "room:" + name));
    for (const [id, nick] of online) {
      if (id !== myId) el.target.appendChild(new Option("Private: " + nick + " (" + id.slice(0, 8) + ")", "user:" + id));
    }
    el.target.value = [...el.target.options].some((o) => o.value === keep) ? keep : "all";
  }

  // ---- forms ----
  el.sendForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = el.input.value;
    if (text.trim() === "") return;
    const target = el.target.value;
    let message;
    if (target.startsWith("room:")) message = { type: "message", text, room: target.slice(5) };
    else if (target.startsWith("user:")) message = { type: "private", to: target.slice(5), text };
    else message = { type: "message", text };
    if (send(message)) el.input.value = "";
  });
  el.joinForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const room = el.roomInput.value.trim();
    if (room === "") return;
    if (send({ type: "join", room })) el.roomInput.value = "";
  });
  el.nickForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const nick = el.nickInput.value.trim();
    if (nick === "") return;
    store.set("wshub.nick", nick);
    if (ws !== null && ws.readyState === 1) send({ type: "nick", nick });
    else myNick = nick;
  });

  connect();
})();
