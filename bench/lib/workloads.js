'use strict'
// What is measured. Each workload names its servers, its baseline for ratios, whether higher or
// lower is better, and how to measure one fresh server with the profile's sizes and durations.
const { runWsload, runJsload } = require('./generators')

/** Sizes and durations per run mode. */
const PROFILES = {
  full: { appHeapMb: 32, rounds: 3, d: 4, w: 2, conns: 100, bigConns: 4, latRate: 2000, hsWarm: 2000, hsConns: 5000, memConns: 10000, hold: 3, bcastConns: 10000, bcastN: 20 },
  quick: { appHeapMb: 32, rounds: 1, d: 2, w: 1, conns: 100, bigConns: 4, latRate: 2000, hsWarm: 2000, hsConns: 5000, memConns: 10000, hold: 2, bcastConns: 10000, bcastN: 10 },
  smoke: { appHeapMb: 4, rounds: 1, d: 1, w: 0, conns: 4, bigConns: 1, latRate: 200, hsWarm: 50, hsConns: 200, memConns: 200, hold: 1, bcastConns: 50, bcastN: 2 }
}

const ECHO_SERVERS = ['ws', 'ws-no-bufferutil', 'fastify-websocket', 'ceiling', 'ours']

const pick = (json, keys) => Object.fromEntries(keys.map(k => [k, json?.[k] ?? null]))
const ECHO_EXTRA = ['lat_p50_us', 'lat_p99_us', 'server_cpu_pct', 'server_cpu_user_pct', 'cpu_self_pct', 'loop_busy_pct',
  'conn_msgs_min', 'conn_msgs_median', 'conn_msgs_max', 'machine_busy_pct', 'other_cpu_pct', 'errors']

/** Echo throughput with wsload (jsload if wsload did not build). */
function echoWorkload (id, title, { pipeline = 1, size, binary = false, big = false, bareHeap = false }) {
  return {
    id,
    title,
    bareHeap,
    unit: 'msgs/s',
    better: 'higher',
    baseline: 'ws',
    servers: ECHO_SERVERS,
    async measure ({ server, p, wsload }) {
      const args = ['-c', String(big ? p.bigConns : p.conns), '-P', String(pipeline), '-s', size,
        ...(binary ? ['-b'] : []), '-d', String(p.d), '-w', String(p.w), '-S', String(server.pid), server.url]
      const timeout = p.d + p.w + 60
      const r = wsload ? await runWsload(wsload, args, timeout) : await runJsload(args, timeout)
      return { value: r.json?.msgs_per_s ?? null, extra: pick(r.json, ECHO_EXTRA), error: r.error, generator: wsload ? 'wsload' : 'jsload' }
    }
  }
}

/** 10,000 subscribers (wsload recv), then `go N`: deliveries/s = N x subscribers / (trigger -> last message). */
async function measureBroadcast ({ server, p, wsload }) {
  if (!wsload) return { value: null, error: null, skipped: 'needs wsload (recv mode)' }
  const total = p.bcastN * p.bcastConns
  const r = await runWsload(wsload, ['-m', 'recv', '-c', String(p.bcastConns), '-k', '256', '-a', '4', '-M', `go ${p.bcastN}`,
    '-n', String(total), '-d', '60', '-i', '0', '-S', String(server.pid), server.url], 120)
  const j = r.json
  let error = r.error
  if (!error && j && j.recv_msgs !== total) error = `received ${j.recv_msgs} of ${total} messages`
  const value = j?.trigger_to_last_ms ? Math.round(total / (j.trigger_to_last_ms / 1000)) : null
  return { value, extra: pick(j, ['trigger_to_first_ms', 'trigger_to_last_ms', 'recv_msgs', 'server_cpu_pct']), error, generator: 'wsload' }
}

const WORKLOADS = [
  echoWorkload('echo-32b-p1', 'echo 32 B, 100 conns', { size: '32' }),
  echoWorkload('echo-32b-p16', 'echo 32 B, 100 conns x 16 pipelined', { size: '32', pipeline: 16 }),
  {
    // what observability costs per message: ours (counters on, channels without subscribers)
    // against the same server with them off, and with a subscriber on the per-message channels
    ...echoWorkload('echo-32b-observability', 'echo 32 B, 100 conns x 16 pipelined: counters on / off / channels subscribed', { size: '32', pipeline: 16 }),
    servers: ['ws', 'ours', 'ours-no-counters', 'ours-subscribed']
  },
  echoWorkload('echo-16k', 'echo 16 KiB, 100 conns', { size: '16k' }),
  echoWorkload('echo-1m', 'echo 1 MiB binary, 4 conns', { size: '1m', binary: true, big: true }),
  echoWorkload('echo-16k-bare', 'echo 16 KiB, 100 conns, servers without the application heap', { size: '16k', bareHeap: true }),
  {
    id: 'latency',
    title: 'p99 latency at 2,000 msgs/s, 100 conns',
    unit: 'us p99',
    better: 'lower',
    baseline: 'ws',
    servers: ECHO_SERVERS,
    async measure ({ server, p }) {
      const r = await runJsload(['-m', 'latency', '-c', String(p.conns), '-r', String(p.latRate), '-s', '32',
        '-d', String(p.d), '-w', String(Math.max(1, p.w)), '-S', String(server.pid), server.url], p.d + p.w + 60)
      return { value: r.json?.lat_p99_us ?? null, extra: pick(r.json, ['lat_p50_us', 'lat_p999_us', 'msgs_per_s', 'server_cpu_pct']), error: r.error, generator: 'jsload' }
    }
  },
  {
    id: 'handshakes',
    title: 'handshakes/s (256 in flight)',
    unit: 'handshakes/s',
    better: 'higher',
    baseline: 'ws',
    servers: ECHO_SERVERS,
    async measure ({ server, p, wsload }) {
      if (!wsload) {
        const r = await runJsload(['-m', 'handshake', '-k', '64', '-a', '4', '-d', String(p.d), '-w', String(p.w), '-S', String(server.pid), server.url], p.d + p.w + 60)
        return { value: r.json?.handshakes_per_s ?? null, extra: pick(r.json, ['hs_p50_us', 'hs_p99_us']), error: r.error, generator: 'jsload' }
      }
      // An unmeasured batch first, so V8 has compiled the handshake path.
      const warm = await runWsload(wsload, ['-m', 'connect', '-c', String(p.hsWarm), '-k', '256', '-a', '4', '-d', '0.1', server.url], 60)
      if (warm.error) return { value: null, error: `warm-up: ${warm.error}`, generator: 'wsload' }
      const r = await runWsload(wsload, ['-m', 'connect', '-c', String(p.hsConns), '-k', '256', '-a', '4', '-d', '0.1', '-S', String(server.pid), server.url], 90)
      const extra = pick(r.json, ['hs_p50_ms', 'hs_p99_ms', 'connect_server_cpu_pct', 'connected'])
      // handshakes per second of server CPU: what the server pays per handshake, which holds on a
      // machine busy with other work where handshakes/s only measures how much CPU it got
      const cpu = extra.connect_server_cpu_pct
      extra.hs_per_server_cpu_s = typeof cpu === 'number' && cpu > 0 && r.json?.handshakes_per_s ? Math.round(r.json.handshakes_per_s / (cpu / 100)) : null
      return { value: r.json?.handshakes_per_s ?? null, extra, error: r.error, generator: 'wsload' }
    }
  },
  {
    id: 'idle-memory',
    title: 'RSS per idle connection (10,000 conns)',
    // without the application heap: a large heap has free room in pages it already holds, which
    // hides part of what each connection's objects cost from the RSS delta
    bareHeap: true,
    unit: 'bytes/conn',
    better: 'lower',
    baseline: 'ws',
    servers: ECHO_SERVERS,
    async measure ({ server, p, wsload }) {
      const common = ['-c', String(p.memConns), '-k', '256', '-a', '4', '-d', String(p.hold), '-S', String(server.pid), server.url]
      const r = wsload ? await runWsload(wsload, ['-m', 'connect', ...common], p.hold + 90) : await runJsload(['-m', 'idle', ...common], p.hold + 90)
      const extra = wsload
        ? pick(r.json, ['server_rss_kb_before', 'server_rss_kb_ready', 'server_rss_kb_end', 'connected', 'handshakes_per_s'])
        : pick(r.json, ['server_rss_before_bytes', 'server_rss_end_bytes', 'established', 'handshakes_per_s'])
      return { value: r.json?.server_rss_per_conn_bytes ?? null, extra, error: r.error, generator: wsload ? 'wsload' : 'jsload' }
    }
  },
  {
    id: 'broadcast',
    title: 'broadcast to 10,000 subscribers',
    unit: 'deliveries/s',
    better: 'higher',
    baseline: 'ws',
    kind: 'broadcast',
    servers: ['ws', 'ours'],
    measure: measureBroadcast
  },
  {
    // every core: the same broadcast through clusterAdapter(), 2 workers against 1 (the subscribers
    // split between them by the cluster's round-robin); `ours` (one process, no IPC) for reference.
    // -S samples the primary only: its CPU figure is the relay's, not the workers'.
    id: 'broadcast-cluster',
    title: 'broadcast to 10,000 subscribers across node:cluster workers (clusterAdapter)',
    unit: 'deliveries/s',
    better: 'higher',
    baseline: 'ours-cluster-1',
    kind: 'broadcast',
    servers: ['ours-cluster-1', 'ours-cluster-2', 'ours'],
    measure: measureBroadcast
  },
  {
    id: 'echo-16k-deflate',
    title: 'echo 16 KiB JSON-like text, permessage-deflate, 100 conns',
    unit: 'msgs/s',
    better: 'higher',
    baseline: 'ws-deflate',
    servers: ['ws-deflate', 'ours-deflate'],
    async measure ({ server, p }) {
      const r = await runJsload(['--deflate', '-c', String(p.conns), '-s', '16k', '-d', String(p.d), '-w', String(p.w), '-S', String(server.pid), server.url], p.d + p.w + 60)
      return { value: r.json?.msgs_per_s ?? null, extra: pick(r.json, ['lat_p50_us', 'lat_p99_us', 'server_cpu_pct', 'cpu_self_pct']), error: r.error, generator: 'jsload' }
    }
  },
  {
    // message schemas: the same 200-byte JSON echo validated by the route's schema or by hand
    id: 'echo-json',
    title: 'echo 200 B JSON, validated: route schema vs hand-written checks, 100 conns x 16 pipelined',
    unit: 'msgs/s',
    better: 'higher',
    baseline: 'ours-json-hand',
    servers: ['ours-json-hand', 'ours-json-schema'],
    async measure ({ server, p }) {
      const r = await runJsload(['--json', '-c', String(p.conns), '-P', '16', '-s', '200', '-d', String(p.d), '-w', String(p.w), '-S', String(server.pid), server.url], p.d + p.w + 60)
      const extra = pick(r.json, ['lat_p50_us', 'lat_p99_us', 'server_cpu_pct', 'cpu_self_pct'])
      // the server's CPU per echo: what validation costs, whether or not the generator kept it busy
      const msgs = r.json?.msgs_per_s
      extra.server_cpu_us_per_msg = msgs > 0 && extra.server_cpu_pct != null ? Math.round(extra.server_cpu_pct / 100 / msgs * 1e9) / 1000 : null
      return { value: msgs ?? null, extra, error: r.error, generator: 'jsload' }
    }
  },
  {
    id: 'jsload-crosscheck',
    title: 'jsload cross-check: echo 32 B, 100 conns (compare with wsload echo-32b-p1)',
    unit: 'msgs/s',
    better: 'higher',
    baseline: 'ws',
    servers: ['ws', 'ws-no-bufferutil', 'fastify-websocket', 'ceiling'],
    async measure ({ server, p }) {
      const r = await runJsload(['-c', String(p.conns), '-s', '32', '-d', String(p.d), '-w', String(p.w), '-S', String(server.pid), server.url], p.d + p.w + 60)
      return { value: r.json?.msgs_per_s ?? null, extra: pick(r.json, ['lat_p50_us', 'lat_p99_us', 'server_cpu_pct', 'cpu_self_pct']), error: r.error, generator: 'jsload' }
    }
  }
]

module.exports = { WORKLOADS, PROFILES }
