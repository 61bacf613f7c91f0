#!/usr/bin/env node
// Two tuntcp servers side by side, each with its own TcpConfig override, and one row's client
// alternating between them: for a change too small for the bench's medians of five, whose
// noise (other jobs on the machine) both servers then share (docs/performance.md "The upload row").
//
//   sudo node bench/config-pair.mjs upload|rtt CONFIG_A CONFIG_B [PAIRS]
//   sudo node bench/config-pair.mjs upload '{}' '{"ackCoalescingMaxBytes":1e12}' 20
//
// CONFIG_A and CONFIG_B are JSON TcpConfig overrides ('{}' for the defaults), given to
// bench/server.mjs as TUNTCP_BENCH_TCP. Server A is 10.78.0.2 on tpaira, B 10.79.0.2 on tpairb.
// After a warm-up of both, PAIRS (20) rounds each run the client once against A, then once
// against B: 200 MiB uploads to discard, or 10,000 1-byte echo round trips (p50). It prints each
// side's median and B/A per round, with how many rounds B won. Runs itself in a fresh network
// namespace (unshare -n); uses dist/ (npm run build first). Compare with A and B the same
// once, to see the bias between the two places.

import { fileURLToPath } from 'node:url'
import { inFreshNetns, killAll, run, startHelper } from './processes.mjs'

const [row, configA, configB, pairsArg] = process.argv.slice(2)
const pairs = Number(pairsArg ?? 20)
const usage = 'usage: sudo node bench/config-pair.mjs upload|rtt CONFIG_A CONFIG_B [PAIRS]   (CONFIG: a TcpConfig override in JSON)'
const json = s => { try { return typeof JSON.parse(s) === 'object' } catch { return false } }
if (!['upload', 'rtt'].includes(row) || !json(configA) || !json(configB) || !(Number.isInteger(pairs) && pairs > 0 && pairs <= 200)) {
  console.error(usage)
  process.exit(2)
}

inFreshNetns(fileURLToPath(import.meta.url), [row, configA, configB, String(pairs)], 3_600_000)

const SIDES = [
  { name: 'A', config: configA, dev: 'tpaira', addr: '10.78.0.2', kernel: '10.78.0.1/24' },
  { name: 'B', config: configB, dev: 'tpairb', addr: '10.79.0.2', kernel: '10.79.0.1/24' },
]
const UPLOAD_BYTES = 200 * 1024 * 1024

/** One run of the row's client against `addr`: MB/s for an upload, the p50 in µs for the RTT. */
async function once(addr) {
  const args = row === 'upload' ? ['upload', addr, '9', String(UPLOAD_BYTES)] : ['rtt', addr, '7', '10000']
  const r = await run(process.execPath, ['bench/net-client.mjs', ...args], 120_000)
  if (r.code !== 0) throw new Error(`net-client ${args.join(' ')}: ${r.code} ${r.stderr.trim()}`)
  const out = JSON.parse(r.stdout)
  return row === 'upload' ? out.MBps : out.p50us
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

const servers = []
try {
  for (const s of SIDES) {
    const server = startHelper(`server ${s.name}`, process.execPath, ['bench/server.mjs', 'tuntcp', s.dev, s.addr, s.kernel, '1500'],
      { env: { ...process.env, TUNTCP_BENCH_TCP: s.config } })
    servers.push(server)
    await server.ready
  }
  // A fresh server's JIT compiles through its first GiB of uploads (docs/performance.md).
  const warmups = row === 'upload' ? 8 : 2
  for (let i = 0; i < warmups; i++) for (const s of SIDES) await once(s.addr)
  const results = { A: [], B: [] }
  for (let i = 0; i < pairs; i++) for (const s of SIDES) results[s.name].push(await once(s.addr))
  // Higher is better for both: B's rate over A's, or A's RTT over B's.
  const ratios = results.A.map((a, i) => row === 'upload' ? results.B[i] / a : a / results.B[i])
  const unit = row === 'upload' ? 'MB/s' : 'µs (p50)'
  for (const s of SIDES) console.log(`${s.name} ${s.config}: median ${median(results[s.name]).toFixed(1)} ${unit} (${results[s.name].map(v => v.toFixed(0)).join(', ')})`)
  console.log(`B against A, per round: median ${median(ratios).toFixed(3)}x, B better in ${ratios.filter(r => r > 1).length} of ${pairs}`)
} finally {
  for (const server of servers) await server.stop()
  killAll()
}
