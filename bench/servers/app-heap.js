'use strict'
// Preloaded into every benchmark server (`node -r ./app-heap.js server.js`) when the runner asks
// for an application heap: BENCH_APP_HEAP_MB megabytes of long-lived JavaScript objects, the same
// for every server, standing in for what a real application keeps in memory (routes, schemas,
// caches, sessions).
//
// Why: V8 starts incremental marking once the old generation holds more than 8 MB
// (IncrementalMarking activation threshold) and its headroom to the next limit is below the young
// generation's capacity (up to 16 MB). A bare `ws` server (~4 MB) never gets there; anything that
// loads Fastify (~8-9 MB) sits right in that band, where a fast echo loop then runs a full
// mark-compact about every 100 ms (p99 ~10 ms, a quarter less throughput at 16 KiB), which no
// real application of any size sees. With the same application heap under every server, all of
// them run where production servers run. The runner can turn this off (`--app-heap 0`); the
// `echo-16k-bare` workload always runs without it, to keep the effect in view.
const mb = Number(process.env.BENCH_APP_HEAP_MB ?? 0)
if (mb > 0) {
  // ~100 bytes per entry (object, short string, array slot), allocated once and kept
  const entries = Math.round(mb * 1024 * 1024 / 100)
  const heap = new Array(entries)
  for (let i = 0; i < entries; i++) heap[i] = { id: i, name: `item-${i}`, tags: null }
  globalThis.__benchAppHeap = heap
}
