// socketeer chat page: plain browser JavaScript, no build step.
//
// After any reconnect the page rejoins with `since` = the position of the last
// message it shows, and the server sends exactly the messages after it (any
// number, not just the 50 a newcomer gets), once and in order; when it cannot
// (server restarted, history expired) the welcome says recovered: false and the
// page says so. Messages typed while offline wait in the outbox and are sent
// once when back (idempotency key), or are marked not sent if the page gives up.
// A message the server refuses with `unavailable` (its store is down) stays in
// the outbox and is sent again with backoff; after RETRY_LIMIT refusals in a row
// it is marked not sent, and a click on it sends it again. Never dropped silently.
import { Outbox } from './outbox.js';

const $ = (selector) => document.querySelector(selector);
const state = {
  ws: null,
  nick: '',
  room: 'lobby',
  attempts: 0,
  timer: null,
  wanted: false,
  users: [],
  /** Position of the newest message shown in this room: { epoch, offset }. */
  position: null,
  joined: false,
  /** Messages appended since the connection was lost (told after recovery). */
  caughtUp: 0,
  reconnecting: false,
  /** Resending refused messages: refusals in a row, and the pending resend. */
  retry: { attempts: 0, timer: null },
};
const outbox = new Outbox();
// Identifies this tab to the server, so a rejoin can replace its own stale connection.
const tabToken =
  sessionStorage.getItem('socketeer-tab') ??
  Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('');
sessionStorage.setItem('socketeer-tab', tabToken);
// Close codes that mean "stop": rejoining at once would only be refused again (RFC 6455 section 7.4.1).
const POLICY_CLOSES = new Set([1003, 1007, 1008, 1009, 4001]);
// Resends after `unavailable`: 0.5, 1, 2, 4 s (jittered down to half), then give up.
const RETRY_LIMIT = 4;
const RETRY_BASE_MS = 500;
const ROOM_RULE =
  'Room names are 1-32 lowercase letters, digits, "_" or "-", starting with a letter or digit.';

function chatUrl() {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/chat`;
}

function setStatus(status) {
  const el = $('#status');
  el.textContent = status;
  el.className = `status ${status}`;
}

function connect() {
  clearTimeout(state.timer);
  setStatus(state.attempts === 0 && !state.reconnecting ? 'connecting' : 'reconnecting');
  const ws = new WebSocket(chatUrl());
  state.ws = ws;
  ws.onopen = () => {
    state.attempts = 0;
    const join = { type: 'join', room: state.room, nick: state.nick, token: tabToken };
    if (state.position) join.since = state.position;
    ws.send(JSON.stringify(join));
  };
  ws.onmessage = (event) => {
    try {
      handle(JSON.parse(event.data));
    } catch (error) {
      console.error('bad message from server', error);
    }
  };
  ws.onclose = (event) => {
    if (state.ws !== ws) return;
    state.ws = null;
    state.joined = false;
    if (POLICY_CLOSES.has(event.code)) {
      // Told, not silently rejoined: the user decides when to come back.
      leave(
        `The server closed the connection: ${event.reason || 'policy violation'} (${event.code}). Join again when ready.`,
      );
    } else if (state.wanted) {
      if (!state.reconnecting) {
        state.reconnecting = true;
        state.caughtUp = 0;
      }
      scheduleReconnect();
    } else setStatus('offline');
  };
}

// Exponential backoff with full jitter, capped at 10 s.
function scheduleReconnect() {
  const delay = Math.random() * Math.min(10_000, 500 * 2 ** state.attempts);
  state.attempts++;
  setStatus(navigator.onLine === false ? 'offline' : 'reconnecting');
  state.timer = setTimeout(connect, delay);
}

window.addEventListener('online', () => {
  if (state.wanted && !state.ws) connect();
});

function handle(msg) {
  switch (msg.type) {
    case 'welcome':
      welcome(msg);
      break;
    case 'presence':
      // A delta: the full list came with welcome.
      if (msg.event === 'join') showUsers([...state.users.filter((u) => u !== msg.nick), msg.nick]);
      else showUsers(state.users.filter((u) => u !== msg.nick));
      addSystem(`${msg.nick} ${msg.event === 'join' ? 'joined' : 'left'}`);
      break;
    case 'message':
      receive(msg);
      break;
    case 'error':
      if (['nick-taken', 'invalid-nick', 'invalid-room', 'room-limit'].includes(msg.code)) {
        leave(msg.message);
      } else if (msg.code === 'unavailable' && !state.joined) {
        state.ws?.close(); // the server could not join us now: retry with backoff
      } else if (msg.code === 'unavailable' && outbox.waiting().length > 0) {
        resendLater(); // a message of ours was refused: it stays and goes again
      } else {
        $('#chat-error').textContent = msg.message;
      }
      break;
  }
}

function welcome(msg) {
  const first = !state.position;
  if (first) $('#messages').replaceChildren();
  if (msg.recovered === false) {
    addSystem(
      'Could not recover the messages sent while you were away (the server restarted or they expired). Showing the latest ones.',
      'warning',
    );
  }
  for (const m of msg.history) receive(m, true);
  if (first) addSystem(`You joined #${msg.room} as ${msg.nick}`);
  else if (msg.recovered) {
    const n = state.caughtUp;
    addSystem(
      `Reconnected: ${n === 0 ? 'no messages missed' : `caught up on ${n} missed message${n === 1 ? '' : 's'}`}.`,
    );
  } else if (msg.recovered === undefined) addSystem('Reconnected.');
  // The server's position: later messages follow it exactly.
  if (!state.position || msg.epoch !== state.position.epoch || msg.offset > state.position.offset) {
    state.position = { epoch: msg.epoch, offset: msg.offset };
  }
  state.joined = true;
  state.reconnecting = false;
  setStatus('connected');
  showUsers(msg.users);
  $('#room-name').textContent = `#${msg.room}`;
  $('#chat-error').textContent = '';
  clearTimeout(state.retry.timer);
  state.retry.timer = null;
  for (const [key, text] of outbox.waiting()) sendNow(key, text);
}

/** One resend of everything waiting, after a backoff; after RETRY_LIMIT refusals in a row, give up. */
function resendLater() {
  if (state.retry.timer) return; // one resend covers every message refused meanwhile
  if (state.retry.attempts >= RETRY_LIMIT) {
    outbox.giveUp((li, key) => {
      li.classList.replace('pending', 'failed');
      li.dataset.key = key;
      li.title = 'Click to send again';
      li.querySelector('.meta').textContent = 'not sent (server unavailable): click to send again';
    });
    $('#chat-error').textContent = 'The server could not store your message. Click it to send it again.';
    return;
  }
  const delay = RETRY_BASE_MS * 2 ** state.retry.attempts * (0.5 + Math.random() / 2);
  state.retry.attempts++;
  for (const li of outbox.placeholders()) {
    li.querySelector('.meta').textContent = `not delivered yet: retrying in ${Math.ceil(delay / 1000)} s`;
  }
  state.retry.timer = setTimeout(() => {
    state.retry.timer = null;
    for (const li of outbox.placeholders()) li.querySelector('.meta').textContent = 'sending…';
    for (const [key, text] of outbox.waiting()) sendNow(key, text);
  }, delay);
}

/** A message of the room: shown once, in order (the position says what is already shown). */
function receive(m, fromHistory = false) {
  const p = state.position;
  if (p && m.epoch === p.epoch && m.offset <= p.offset) return; // already shown
  if (m.epoch !== undefined) state.position = { epoch: m.epoch, offset: m.offset };
  const mine = m.key ? outbox.settle(m.key) : undefined;
  if (mine) {
    mine.remove();
    state.retry.attempts = 0; // the server stores messages again
  }
  if (state.reconnecting || (!fromHistory && !state.joined)) state.caughtUp++;
  addMessage(m);
  if (m.nick === state.nick) $('#chat-error').textContent = '';
}

function sendNow(key, text) {
  if (state.joined && state.ws?.readyState === WebSocket.OPEN) {
    state.ws.send(JSON.stringify({ type: 'message', text, key }));
  }
}
function showUsers(users) {
  state.users = users.sort((a, b) => a.localeCompare(b));
  $('#users').replaceChildren(
    ...users.map((nick) => {
      const li = document.createElement('li');
      li.textContent = nick;
      if (nick === state.nick) li.className = 'me';
      return li;
    }),
  );
  $('#user-count').textContent = `(${users.length})`;
}

function addMessage(m) {
  const list = $('#messages');
  const li = messageItem(m);
  // Messages stay above the ones still pending (typed here, not yet back from the server).
  const firstPending = list.querySelector('li.pending');
  if (firstPending) list.insertBefore(li, firstPending);
  else append(li);
}

function messageItem(m) {
  const li = document.createElement('li');
  if (m.nick === state.nick) li.className = 'mine';
  const meta = document.createElement('span');
  meta.className = 'meta';
  meta.textContent = `${m.nick} · ${new Date(m.ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`;
  const text = document.createElement('span');
  text.className = 'text';
  text.textContent = m.text;
  li.append(meta, text);
  return li;
}

function addSystem(text, kind = '') {
  const li = document.createElement('li');
  li.className = `system ${kind}`.trim();
  li.textContent = text;
  append(li);
}

function append(li) {
  const list = $('#messages');
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.append(li);
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function leave(error = '') {
  clearTimeout(state.retry.timer);
  state.retry = { attempts: 0, timer: null };
  const unsent = outbox.size;
  outbox.abandon((li) => {
    li.classList.replace('pending', 'failed');
    li.querySelector('.meta').textContent = 'not sent';
  });
  if (unsent > 0) {
    error = `${error} ${unsent} message${unsent === 1 ? ' was' : 's were'} not sent.`.trim();
  }
  state.position = null;
  state.joined = false;
  state.reconnecting = false;
  state.wanted = false;
  clearTimeout(state.timer);
  state.ws?.close(1000, 'left');
  state.ws = null;
  setStatus('offline');
  $('#chat-view').hidden = true;
  $('#login-view').hidden = false;
  $('#login-error').textContent = error;
}

$('#login').addEventListener('submit', (event) => {
  event.preventDefault();
  state.nick = $('#nick').value.trim();
  state.room = $('#room').value.trim() || 'lobby';
  localStorage.setItem('socketeer-nick', state.nick);
  state.wanted = true;
  state.attempts = 0;
  $('#login-view').hidden = true;
  $('#chat-view').hidden = false;
  $('#login-error').textContent = '';
  connect();
  $('#text').focus();
});

$('#composer').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = $('#text').value.trim();
  if (!text) return;
  // Shown at once as pending; replaced by the server's copy when it comes back.
  const li = messageItem({ nick: state.nick, text, ts: Date.now() });
  li.classList.add('pending');
  li.querySelector('.meta').textContent = state.joined
    ? 'sending…'
    : 'waiting for the connection: sent when back';
  append(li);
  // A new message gets its own resends, even after earlier ones were given up on.
  if (!state.retry.timer) state.retry.attempts = 0;
  sendNow(outbox.add(text, li), text);
  $('#text').value = '';
});

$('#leave').addEventListener('click', () => leave());
// A message given up on is sent again when clicked (with its key: stored once at most).
$('#messages').addEventListener('click', (event) => {
  const li = event.target.closest('li.failed');
  const text = li?.dataset.key ? outbox.retry(li.dataset.key) : undefined;
  if (text === undefined) return;
  li.classList.replace('failed', 'pending');
  li.removeAttribute('title');
  li.querySelector('.meta').textContent = state.joined
    ? 'sending…'
    : 'waiting for the connection: sent when back';
  state.retry.attempts = 0;
  sendNow(li.dataset.key, text);
});
// Errors answer the last attempt: once the user changes what they typed, they are stale.
for (const field of ['#nick', '#room']) {
  $(field).addEventListener('input', () => {
    $('#login-error').textContent = '';
  });
}
$('#text').addEventListener('input', () => {
  $('#chat-error').textContent = '';
});
// Say the rule, not the browser's generic "match the requested format".
function checkRoom() {
  const room = $('#room');
  room.setCustomValidity('');
  if (room.validity.patternMismatch) room.setCustomValidity(ROOM_RULE);
}
$('#room').addEventListener('input', checkRoom);
checkRoom();
$('#nick').value = localStorage.getItem('socketeer-nick') ?? '';
setStatus('offline');
$('#nick').focus();
