// The Lua scripts behind resumable topics on Redis Streams: one stream per topic holds the replay
// window. A script runs atomically, so a message's id (XADD's), its place in the stream and its
// PUBLISH to every process happen in one step: no process can see id 7 published before id 6.
//
// The stream keeps, as its max-deleted-entry-id (set with XSETID: Redis trims without setting
// it), the newest id no longer held, so a client older than that is told of the gap. A stream
// that did not exist is born with that id set to the time of its birth: after Redis lost its data
// (a restart without persistence) or the key expired, a client with an older id gets a gap too.
// Trimming is exact (messages per topic and age), so a replay holds at most maxMessages.
import { script } from './redis-driver'

const HELPERS = `
local function older (x, y)
  local a, b = string.match(x, '^(%d+)-(%d+)$')
  local c, d = string.match(y, '^(%d+)-(%d+)$')
  a, b, c, d = tonumber(a), tonumber(b), tonumber(c), tonumber(d)
  return a < c or (a == c and b < d)
end
local function now_ms ()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function birth (key, ttl)
  local id = string.format('%d-0', now_ms())
  redis.call('XGROUP', 'CREATE', key, 'birth', '$', 'MKSTREAM')
  redis.call('XGROUP', 'DESTROY', key, 'birth')
  redis.call('XSETID', key, id, 'MAXDELETEDID', id)
  redis.call('PEXPIRE', key, ttl)
end
local function trim (key, max, max_age, last)
  local lost = nil
  local n = redis.call('XLEN', key)
  if n > max then
    local r = redis.call('XRANGE', key, '-', '+', 'COUNT', n - max + 1)
    lost = r[n - max][1]
    redis.call('XTRIM', key, 'MINID', r[n - max + 1][1])
  end
  local cutoff = string.format('%d-0', now_ms() - max_age)
  local old = redis.call('XREVRANGE', key, '(' .. cutoff, '-', 'COUNT', 1)
  if #old > 0 then
    if lost == nil or older(lost, old[1][1]) then lost = old[1][1] end
    redis.call('XTRIM', key, 'MINID', cutoff)
  end
  if lost ~= nil then redis.call('XSETID', key, last, 'MAXDELETEDID', lost) end
  return lost
end
`

/**
 * KEYS[1] the topic's stream, KEYS[2] a hash of the newest sequence number each process
 * published to it; ARGV: channel, maxMessages, maxAge, ttl (ms), envelope (header and data),
 * process id, sequence number. Adds the message, trims, publishes `0x02, id length, id, envelope`;
 * returns the id. A publish a client resends after losing the connection (the reply lost, not
 * the command) is found in the hash and not added twice.
 */
export const PUBLISH_SCRIPT = script(HELPERS + `
local key = KEYS[1]
local seen = redis.call('HGET', KEYS[2], ARGV[6])
if seen and tonumber(seen) >= tonumber(ARGV[7]) then return false end
redis.call('HSET', KEYS[2], ARGV[6], ARGV[7])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
if redis.call('EXISTS', key) == 0 then birth(key, ARGV[4]) end
local id = redis.call('XADD', key, '*', 'e', ARGV[5])
trim(key, tonumber(ARGV[2]), tonumber(ARGV[3]), id)
redis.call('PEXPIRE', key, ARGV[4])
redis.call('PUBLISH', ARGV[1], string.char(2) .. string.char(#id) .. id .. ARGV[5])
return id
`)

/**
 * KEYS[1] the topic's stream; ARGV: after ('' for none), maxMessages, ttl, maxAge. Returns a flat
 * array: the newest id, the gap ('' for none), then id and envelope of each message held after
 * `after` (or after the gap), oldest first, at most maxMessages of them.
 */
export const REPLAY_SCRIPT = script(HELPERS + `
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then birth(key, ARGV[3]) end
local info = redis.call('XINFO', 'STREAM', key)
local last, lost = '0-0', '0-0'
for i = 1, #info, 2 do
  if info[i] == 'last-generated-id' then last = info[i + 1] elseif info[i] == 'max-deleted-entry-id' then lost = info[i + 1] end
end
local trimmed = trim(key, tonumber(ARGV[2]), tonumber(ARGV[4]), last)
if trimmed ~= nil then lost = trimmed end
local out = { last, '' }
local after = ARGV[1]
if after == '' then return out end
if older(last, after) then
  out[2] = last
  return out
end
if older(after, lost) then
  out[2] = lost
  after = lost
end
local entries = redis.call('XRANGE', key, '(' .. after, '+', 'COUNT', ARGV[2])
for _, e in ipairs(entries) do
  out[#out + 1] = e[1]
  out[#out + 1] = e[2][2]
end
return out
`)
