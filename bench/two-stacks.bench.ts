// In-process benchmark: two stacks on the in-memory link (linkPair, MTU 1500), in
// virtual time with seeded randomness, as test/helpers/two-stacks.ts sets them up.
// Stack A connects to the echo service (src/apps/echo.ts) on stack B and pushes BYTES
// through it; we count every TCP segment both stacks sent and the wall time until A
// has read every byte back. No device and no kernel: this is the stack's own cost
// per segment (TCP, IPv4, checksums, the streams, the link's copy), on one core.
//
//   node --import tsx bench/two-stacks.bench.ts [--quick] [--ipv6] [--json FILE]
//
// --ipv6: the same over IPv6 (fd00::1 to fd00::2): 40-byte IP headers, MSS 1440, the
// addresses as text through the one TCP layer (src/stack/wire/address.ts).
//
// Virtual time moves only when nothing else can happen (after a setImmediate turn
// with no progress), straight to the next timer: a delayed ACK costs no wall time.

import { writeFileSync } from 'node:fs'
import { Stack } from '../src/stack/stack'
import { SeededRandom } from '../src/stack/random'
import { VirtualClock } from '../src/stack/time/virtual-clock'
import { linkPair } from '../src/tun/memory-link'
import { echoServer } from '../src/apps/echo'

const MiB = 1024 * 1024
const CHUNK = 64 * 1024

export interface TwoStacksResult {
  bytes: number
  seconds: number
  /** Payload bytes per second, one way (each byte also came back). */
  MBps: number
  segments: number
  segmentsPerSecond: number
  retransmissions: number
  virtualMs: number
  timerSteps: number
}

const turn = () => new Promise<void>(resolve => setImmediate(resolve))

export async function pushThroughEcho(bytes: number, seed = 1, ipv6 = false): Promise<TwoStacksResult> {
  const clocks = [new VirtualClock(1_000), new VirtualClock(1_000)]
  const [linkA, linkB] = linkPair({ mtu: 1500 })
  const a = new Stack({ address: '10.0.0.1', address6: 'fd00::1', link: linkA, clock: clocks[0], random: new SeededRandom(seed) })
  const b = new Stack({ address: '10.0.0.2', address6: 'fd00::2', link: linkB, clock: clocks[1], random: new SeededRandom(seed + 1) })
  echoServer(b).listen(7)

  const chunk = Buffer.alloc(CHUNK, 0x61)
  let received = 0
  let sent = 0
  let failure: Error | null = null
  const start = process.hrtime.bigint()
  const sock = a.connect({ host: ipv6 ? 'fd00::2' : '10.0.0.2', port: 7 })
  sock.on('error', err => { failure = err })
  sock.on('data', (data: Buffer) => { received += data.length })
  const pump = () => {
    while (sent < bytes) {
      const n = Math.min(CHUNK, bytes - sent)
      sent += n
      if (!sock.write(n === CHUNK ? chunk : chunk.subarray(0, n))) return
    }
  }
  sock.on('drain', pump)
  sock.once('connect', pump)

  // Drive: let Node's queues run; when a turn made no progress, jump virtual time
  // to the earliest wake-up of either stack (both clocks keep one time).
  let timerSteps = 0
  let last = -1
  const startVirtual = clocks[0]!.now()
  while (received < bytes && failure === null) {
    await turn()
    if (received !== last) {
      last = received
      continue
    }
    const wakes = clocks.map(c => c.nextWake()).filter((w): w is number => w !== undefined)
    if (wakes.length === 0) throw new Error(`stalled at ${received} of ${bytes} bytes with no timer armed`)
    const at = Math.max(Math.min(...wakes), clocks[0]!.now())
    if (at - startVirtual > 600_000) throw new Error(`stalled at ${received} of ${bytes} bytes for 10 min of virtual time`)
    for (const c of clocks) c.advanceTo(at)
    timerSteps++
  }
  if (failure !== null) throw failure
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  const segments = a.counters.segmentsOut + b.counters.segmentsOut
  const result: TwoStacksResult = {
    bytes, seconds, MBps: bytes / seconds / 1e6, segments, segmentsPerSecond: segments / seconds,
    retransmissions: a.counters.retransmissions + b.counters.retransmissions,
    virtualMs: clocks[0]!.now() - startVirtual, timerSteps,
  }
  sock.destroy()
  linkA.close()
  linkB.close()
  return result
}

export async function runTwoStacksBench(quick: boolean, ipv6 = false): Promise<TwoStacksResult> {
  await pushThroughEcho(4 * MiB, 1, ipv6) // warm the JIT
  return pushThroughEcho(quick ? 8 * MiB : 50 * MiB, 1, ipv6)
}

export function formatTwoStacks(r: TwoStacksResult, ipv6 = false): string {
  return [
    `two stacks on the in-memory link (MTU 1500, virtual time${ipv6 ? ', IPv6' : ''}), ${r.bytes / MiB} MiB through echo:`,
    `  ${r.seconds.toFixed(2)} s wall, ${r.MBps.toFixed(1)} MB/s each way, ${r.segments} segments (both directions, data and ACKs)`,
    `  ${Math.round(r.segmentsPerSecond).toLocaleString('en-US')} segments/s, ${r.retransmissions} retransmissions, ` +
      `${r.virtualMs} ms of virtual time in ${r.timerSteps} timer steps`,
  ].join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const argv = process.argv.slice(2)
  const jsonAt = argv.indexOf('--json')
  const ipv6 = argv.includes('--ipv6')
  const result = await runTwoStacksBench(argv.includes('--quick'), ipv6)
  console.log(formatTwoStacks(result, ipv6))
  if (jsonAt >= 0 && argv[jsonAt + 1]) writeFileSync(argv[jsonAt + 1]!, JSON.stringify(result, null, 2))
}
