// socketeer chat page: plain browser JavaScript, no build step.
const $ = (selector) => document.querySelector(selector);
const state = { ws: null, nick: '', room: 'lobby', attempts: 0, timer: null, wanted: false, users: [] };
// Close codes that mean "stop": rejoining at once would only be refused again (RFC 6455 section 7.4.1).
const POLICY_CLOSES = new Set([1003, 1007, 1008, 1009]);
const ROOM_RULE =
  'Room names are 1-32 lowercase letters, digits, "_" or "-", starting with a letter or digit.';

function chatUrl() {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/chat`;
}

function setStatus(status) {
  const el = $('#status');
  el.textContent = status;
  el.className = `status ${status}`;
  $('#send').disabled = status !== 'connected';
}

function connect() {
  clearTimeout(state.timer);
  setStatus(state.attempts === 0 ? 'connecting' : 'reconnecting');
  const ws = new WebSocket(chatUrl());
  state.ws = ws;
  ws.onopen = () => {
    state.attempts = 0;
    setStatus('connected');
    ws.send(JSON.stringify({ type: 'join', room: state.room, nick: state.nick }));
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
    if (POLICY_CLOSES.has(event.code)) {
      // Told, not silently rejoined: the user decides when to come back.
      leave(
        `The server closed the connection: ${event.reason || 'policy violation'} (${event.code}). Join again when ready.`,
      );
    } else if (state.wanted) scheduleReconnect();
    else setStatus('offline');
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
      $('#messages').replaceChildren();
      for (const m of msg.history) addMessage(m);
      addSystem(`You joined #${msg.room} as ${msg.nick}`);
      showUsers(msg.users);
      $('#room-name').textContent = `#${msg.room}`;
      $('#chat-error').textContent = '';
      break;
    case 'presence':
      // A delta: the full list came with welcome.
      if (msg.event === 'join') showUsers([...state.users.filter((u) => u !== msg.nick), msg.nick]);
      else showUsers(state.users.filter((u) => u !== msg.nick));
      addSystem(`${msg.nick} ${msg.event === 'join' ? 'joined' : 'left'}`);
      break;
    case 'message':
      addMessage(msg);
      if (msg.nick === state.nick) $('#chat-error').textContent = '';
      break;
    case 'error':
      if (['nick-taken', 'invalid-nick', 'invalid-room', 'room-limit'].includes(msg.code)) {
        leave(msg.message);
      } else {
        $('#chat-error').textContent = msg.message;
      }
      break;
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
  const li = document.createElement('li');
  if (m.nick === state.nick) li.className = 'mine';
  const meta = document.createElement('span');
  meta.className = 'meta';
  meta.textContent = `${m.nick} · ${new Date(m.ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`;
  const text = document.createElement('span');
  text.className = 'text';
  text.textContent = m.text;
  li.append(meta, text);
  append(li);
}

function addSystem(text) {
  const li = document.createElement('li');
  li.className = 'system';
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
  if (!text || state.ws?.readyState !== WebSocket.OPEN) return;
  state.ws.send(JSON.stringify({ type: 'message', text }));
  $('#text').value = '';
});

$('#leave').addEventListener('click', () => leave());
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
