#!/usr/bin/env node
// Two stacks on the in-memory link (no TUN, no kernel, real clock), a 1-byte echo ping-pong
// on one connection: the JavaScript cost of one round trip through both stacks, their
// Sockets and streams, with nothing else in the way. For before/after pairs of a change on
// the per-segment path (docs/performance.md "What moved which row"). Uses dist/ (npm run build).
//
//   node bench/ping-pong.mjs [ROUND_TRIPS]      (default 100000, after 5000 warm-up ones)

import { Stack, linkPair } from '../dist/index.js'

const n = Number(process.argv[2] ?? 100_000)
if (!(Number.isInteger(n) && n > 0)) {
  console.error('usage: node bench/ping-pong.mjs [ROUND_TRIPS]')
  process.exit(2)
}
const warmup = 5000
const [a, b] = linkPair()
const server = new Stack({ address: '10.0.0.2', link: a })
const client = new Stack({ address: '10.0.0.1', link: b })
server.createServer(s => s.pipe(s)).listen(7)
const sock = client.connect({ host: '10.0.0.2', port: 7 })
sock.setNoDelay(true)
const one = Buffer.from('x')
let rounds = 0
let start = 0
sock.on('data', () => {
  rounds++
  if (rounds === warmup) start = performance.now()
  if (rounds < warmup + n) return sock.write(one)
  const us = ((performance.now() - start) * 1000) / n
  console.log(`${us.toFixed(2)} µs per round trip through both stacks (${n} round trips); server fast path: ${server.counters.fastPathData} data segments of ${server.counters.segmentsIn}`)
  process.exit(0)
})
sock.on('connect', () => sock.write(one))
