// The chat page: plain browser JavaScript and the browser's own WebSocket, subprotocol chat.v1.
// Log in (POST /login) for a signed token, then open ws(s)://<this host>/chat/<room> offering the
// subprotocols chat.v1 and token.<token>: browsers cannot set headers such as Authorization on a
// WebSocket handshake, and a token in the URL would land in logs and history. The server picks
// chat.v1. A dropped connection is retried with exponential backoff (and jitter, so that a
// restarted server is not met by every page at once) while the conversation stays on screen,
// the status says it is reconnecting and the members are shown offline; a refused one is
// explained by asking GET /api/check, since a browser's WebSocket never sees the HTTP status.
// The room's topic is resumable (README, "Resumable topics"): each message of it starts with a
// header line carrying its id; a reconnect presents the last id as `?resume=<id>:<topic>` and the
// server sends what was missed before live messages, or a gap when it no longer has it (then the
// welcome's history is all there is).
'use strict'

const PROTOCOL = 'chat.v1'
const TOKEN_PREFIX = 'token.'
const SESSION_KEY = 'chat.session'
const BACKOFF_MIN_MS = 1000
const BACKOFF_MAX_MS = 30_000

const $ = id => document.getElementById(id)
const ui = {
  status: $('status'),
  notice: $('notice'),
  login: $('login'),
  nickname: $('nickname'),
  room: $('room'),
  chat: $('chat'),
  roomName: $('room-name'),
  me: $('me'),
  leave: $('leave'),
  messages: $('messages'),
  members: $('members'),
  memberCount: $('member-count'),
  membersTitle: $('members-title'),
  composer: $('composer'),
  text: $('text'),
  send: $('send')
}

/** { token, nickname, room, expiresAt } while logged in */
let session = loadSession()
let ws = null
let attempt = 0
let retryTimer = null
let countdownTimer = null
const members = new Set()
/** the room whose conversation is on screen (kept across reconnects), and its messages' keys */
let shownRoom = null
const shownMessages = new Set()
/** topic -> the id of the last message of it received: presented on reconnect to get what was missed */
const lastIds = new Map()
const RESUME_MARK = '\x1e'

// ---- session ----

function loadSession () {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY))
    return s && typeof s.token === 'string' ? s : null
  } catch {
    return null
  }
}

function saveSession (s) {
  session = s
  if (s === null) sessionStorage.removeItem(SESSION_KEY)
  else sessionStorage.setItem(SESSION_KEY, JSON.stringify(s))
}

async function login (nickname, room) {
  const res = await fetch('/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ nickname })
  })
  const body = await res.json().catch(() => ({}))
  if (!res.ok) throw new Error(body.message || `login failed (HTTP ${res.status})`)
  saveSession({ token: body.token, nickname: body.nickname, expiresAt: body.expiresAt, room })
}

// ---- connection ----

function connect () {
  clearTimers()
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws'
  const url = new URL(`${scheme}://${location.host}/chat/${encodeURIComponent(session.room)}`)
  const again = shownRoom === session.room
  if (!again) lastIds.clear()
  for (const [topic, id] of lastIds) url.searchParams.append('resume', `${id}:${topic}`)
  setStatus(again ? 'reconnecting' : 'connecting', again ? 'reconnecting…' : 'connecting…')
  const socket = new WebSocket(url, [PROTOCOL, TOKEN_PREFIX + session.token])
  ws = socket
  let opened = false

  socket.onopen = () => {
    opened = true
    const compression = socket.extensions.includes('permessage-deflate') ? ' · permessage-deflate' : ''
    setStatus('online', `connected · ${socket.protocol}${compression}`)
    ui.status.dataset.extensions = socket.extensions
  }
  socket.onmessage = event => {
    const text = resumed(event.data)
    if (text === null) return
    let msg
    try {
      msg = JSON.parse(text)
    } catch {
      return
    }
    handle(msg)
  }
  socket.onclose = event => {
    if (ws !== socket) return // replaced or left on purpose
    ws = null
    if (!opened) {
      explainRefusal()
      return
    }
    const why = {
      1001: 'the server is restarting',
      1006: 'the connection dropped',
      1008: 'the connection could not keep up',
      1009: 'a message was too large',
      1011: 'the server had an error'
    }[event.code] || `the connection closed (${event.code})`
    addSystemLine(`${why}`)
    setOffline()
    scheduleReconnect(why)
  }
}

/**
 * A room message's header line, `0x1E <kind> SP <id> SP encodeURIComponent(topic) LF`: records
 * the id and returns the JSON after it for a message (m), null for a duplicate (an id not newer
 * than the last one of its topic: delivery is at least once), a gap (g: says so) or the end of
 * the replay (s). Messages without the header (the welcome, errors) come back as they are.
 */
function resumed (data) {
  if (typeof data !== 'string' || !data.startsWith(RESUME_MARK)) return data
  const end = data.indexOf('\n')
  if (end === -1) return null
  const [kind, id, encoded] = data.slice(1, end).split(' ')
  const topic = decodeURIComponent(encoded)
  const last = lastIds.get(topic)
  if (kind === 'm' && last !== undefined && compareIds(id, last) <= 0) return null
  lastIds.set(topic, id)
  if (kind === 'g') addSystemLine('some messages were missed while away', 'system gap')
  return kind === 'm' ? data.slice(end + 1) : null
}

/** Ids are `<ms>-<seq>`, compared as the pair. */
function compareIds (a, b) {
  const [x, y] = [a, b].map(id => id.split('-').map(Number))
  return x[0] - y[0] || x[1] - y[1]
}

/** A handshake that failed: ask the server whether the token is the reason. */
async function explainRefusal () {
  let res
  try {
    res = await fetch('/api/check', { headers: { authorization: `Bearer ${session.token}` } })
  } catch {
    scheduleReconnect('the server cannot be reached')
    return
  }
  if (res.status === 401) {
    const body = await res.json().catch(() => ({}))
    refuse(body.reason === 'expired' ? 'your session expired, log in again' : (body.message || 'log in again'))
    return
  }
  scheduleReconnect('the connection was refused')
}

function refuse (message) {
  const nickname = session?.nickname
  saveSession(null)
  showNotice(message)
  setStatus('refused', 'refused')
  showLogin(nickname)
}

function scheduleReconnect (why) {
  clearTimers()
  // 1, 2, 4 ... 30 s, each cut by up to a quarter at random: pages dropped together spread out
  const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt) * (1 - Math.random() / 4)
  attempt++
  const due = Date.now() + delay
  const tick = () => {
    const seconds = Math.max(1, Math.ceil((due - Date.now()) / 1000))
    setStatus('reconnecting', `reconnecting in ${seconds} s…`)
    showNotice(`${why}: reconnecting in ${seconds} s…`, 'info')
  }
  tick()
  countdownTimer = setInterval(tick, 250)
  retryTimer = setTimeout(connect, delay)
}

function clearTimers () {
  clearTimeout(retryTimer)
  clearInterval(countdownTimer)
  retryTimer = countdownTimer = null
}

function leave () {
  clearTimers()
  const socket = ws
  ws = null
  if (socket) socket.close(1000, 'left the room')
  shownRoom = null
  setStatus('offline', 'not connected')
  showLogin(session?.nickname)
  saveSession(session && { ...session, room: null })
}

// ---- protocol events ----

function handle (msg) {
  switch (msg.type) {
    case 'welcome': {
      attempt = 0
      hideNotice()
      showChat(msg.room, msg.you)
      // a reconnect to the room on screen keeps its conversation and adds what it lacks from the
      // history (messages sent while this page was away, if this server saw them); another room
      // starts afresh
      const again = shownRoom === msg.room
      if (!again) {
        ui.messages.replaceChildren()
        shownMessages.clear()
        shownRoom = msg.room
      }
      for (const m of msg.history) addMessage(m)
      if (again) addSystemLine('reconnected')
      members.clear()
      for (const m of msg.members) members.add(m)
      setLive(true)
      break
    }
    case 'message':
      addMessage(msg)
      break
    case 'join':
      members.add(msg.nickname)
      renderMembers()
      if (msg.nickname !== session?.nickname) addSystemLine(`${msg.nickname} joined`)
      break
    case 'leave':
      // what was missed may include this page's own leave (its dropped connection): the
      // welcome lists the members as they are now
      if (msg.nickname === session?.nickname) break
      members.delete(msg.nickname)
      renderMembers()
      addSystemLine(`${msg.nickname} left`)
      break
    case 'error':
      addSystemLine(`not sent: ${msg.message}`, 'error')
      break
  }
}

// ---- rendering (textContent only: nothing a user typed is parsed as HTML) ----

/** Whether a message is on screen: ids count per server process, so the time and sender join it. */
function messageKey (m) {
  return `${m.id}|${m.at}|${m.from}`
}

function addMessage (m) {
  const key = messageKey(m)
  if (shownMessages.has(key)) return
  shownMessages.add(key)
  const li = document.createElement('li')
  li.className = m.from === session?.nickname ? 'message mine' : 'message'
  const time = document.createElement('time')
  time.dateTime = new Date(m.at).toISOString()
  time.textContent = new Date(m.at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
  const from = document.createElement('span')
  from.className = 'from'
  from.style.setProperty('--hue', hue(m.from))
  from.textContent = m.from
  const text = document.createElement('span')
  text.className = 'text'
  text.textContent = m.text
  li.append(time, from, text)
  append(li)
}

function addSystemLine (text, kind = 'system') {
  const li = document.createElement('li')
  li.className = kind
  li.textContent = text
  append(li)
}

function append (li) {
  const list = ui.messages
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40
  list.append(li)
  if (atBottom) list.scrollTop = list.scrollHeight
}

/** Whether the room is live: while not, the members are shown offline (their last known list) and nothing can be sent. */
let live = false

function setLive (value) {
  live = value
  ui.chat.dataset.connection = value ? 'live' : 'reconnecting'
  ui.send.disabled = !value
  renderMembers()
}

function setOffline () {
  if (live) setLive(false)
}

function renderMembers () {
  const sorted = [...members].sort((a, b) => a.localeCompare(b))
  ui.members.replaceChildren(...sorted.map(name => {
    const li = document.createElement('li')
    li.textContent = name
    li.style.setProperty('--hue', hue(name))
    li.classList.toggle('me', name === session?.nickname)
    li.classList.toggle('offline', !live)
    if (!live) li.title = 'offline: reconnecting'
    return li
  }))
  ui.membersTitle.textContent = live ? 'Online' : 'Offline'
  ui.memberCount.textContent = String(sorted.length)
}

function hue (name) {
  let h = 0
  for (const ch of name) h = (h * 31 + ch.codePointAt(0)) % 360
  return String(h)
}

function setStatus (state, text) {
  ui.status.dataset.state = state
  ui.status.textContent = text
}

function showNotice (text, kind = 'error') {
  ui.notice.textContent = text
  ui.notice.dataset.kind = kind
  ui.notice.hidden = false
}

function hideNotice () {
  ui.notice.hidden = true
}

function showLogin (nickname) {
  ui.chat.hidden = true
  ui.login.hidden = false
  if (nickname) ui.nickname.value = nickname
  ui.nickname.focus()
}

function showChat (room, you) {
  ui.login.hidden = true
  ui.chat.hidden = false
  ui.roomName.textContent = room
  ui.me.textContent = you
  ui.text.focus()
}

// ---- wiring ----

ui.login.addEventListener('submit', async event => {
  event.preventDefault()
  const nickname = ui.nickname.value.trim()
  const room = ui.room.value.trim().toLowerCase()
  hideNotice()
  try {
    if (!session || session.nickname !== nickname) await login(nickname, room)
    else saveSession({ ...session, room })
  } catch (err) {
    showNotice(err.message)
    return
  }
  attempt = 0
  shownRoom = null // joining from the form starts the room's conversation afresh
  lastIds.clear()
  connect()
})

ui.composer.addEventListener('submit', event => {
  event.preventDefault()
  const text = ui.text.value
  if (text.trim() === '' || !ws || ws.readyState !== WebSocket.OPEN) return
  ws.send(JSON.stringify({ type: 'message', text }))
  ui.text.value = ''
})

ui.leave.addEventListener('click', leave)

// back online: do not wait for the backoff
window.addEventListener('online', () => { if (retryTimer !== null) connect() })

if (session && session.room) connect()
else showLogin(session?.nickname)
