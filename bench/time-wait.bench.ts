// In-process benchmark: the memory a connection costs while it waits in TIME-WAIT.
//
//   node --expose-gc --import tsx bench/time-wait.bench.ts [--quick] [--counts=100000,1000000] [--json FILE]
//
// Two stacks on the in-memory link (linkPair, MTU 1500), in virtual time. Stack B
// serves a daytime-like service (one line, then B closes first: FIN-WAIT-1 ->
// FIN-WAIT-2 -> TIME-WAIT) on a few ports; stack A opens N connections to it,
// WINDOW at a time, each from its own local port, reads the line, and closes when
// B's FIN arrives (allowHalfOpen false: CLOSE-WAIT -> LAST-ACK -> CLOSED). So every
// connection really goes through both stacks' handshakes, data and close paths: B
// ends holding N connections in TIME-WAIT, A nothing. Virtual time stands still
// while they are made, so no 2MSL ends before the count is taken.
//
// Each 4-tuple is used once (A picks its local port explicitly, 64,512 per server
// port): a reused one would land on B's TIME-WAIT entry, which is another test.
//
// Memory: V8's heap in use after full garbage collections (gc() from --expose-gc),
// after filling minus before, divided by N. That is what the stack keeps per
// TIME-WAIT connection: the entry, its timer and its slot in the connection table.
// Then virtual time moves past 2MSL and every entry expires; the heap must come back.

import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { Stack } from '../src/stack/stack'
import { SeededRandom } from '../src/stack/random'
import { VirtualClock } from '../src/stack/time/virtual-clock'
import { linkPair } from '../src/tun/memory-link'

const A = '10.0.0.1'
const B = '10.0.0.2'
/** Connections opening or closing at once (below the listener's SYN backlog of 256). */
const WINDOW = 128
const FIRST_LOCAL_PORT = 1024
const LOCAL_PORTS = 65536 - FIRST_LOCAL_PORT
const FIRST_SERVER_PORT = 10_000
const MSL_MS = 30_000
const LINE = '25 NOV 2026 09:10:11 UTC\r\n'

export interface TimeWaitResult {
  connections: number
  /** Heap in use after GC, filled minus empty, per TIME-WAIT connection. */
  bytesPerConnection: number
  /** Heap in use after GC with every connection in TIME-WAIT, all of the process. */
  heapMB: number
  /** Process RSS then (includes what V8 reserved and has not returned). */
  rssMB: number
  /** Wall time to open, use and close all N (both stacks' work). */
  fillSeconds: number
  /** Wall time for every 2MSL timer to fire and every entry to go. */
  expirySeconds: number
  /** Heap in use after expiry minus before filling, per connection (should be ~0). */
  leftBytesPerConnection: number
}

const turn = () => new Promise<void>(resolve => setImmediate(resolve))

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc
  if (collect === undefined) throw new Error('run node with --expose-gc')
  for (let i = 0; i < 4; i++) collect()
}

function heapUsed(): number {
  gc()
  return process.memoryUsage().heapUsed
}

/** Two stacks; B listens on enough ports for n connections. */
function makeStacks(n: number) {
  const clocks = [new VirtualClock(1_000), new VirtualClock(1_000)] as const
  const [linkA, linkB] = linkPair({ mtu: 1500 })
  const tcp = { maxConnections: n + 2 * WINDOW }
  const a = new Stack({ address: A, link: linkA, clock: clocks[0], random: new SeededRandom(1), mslMs: MSL_MS, tcp })
  const b = new Stack({ address: B, link: linkB, clock: clocks[1], random: new SeededRandom(2), mslMs: MSL_MS, tcp })
  const ports = Math.ceil(n / LOCAL_PORTS)
  for (let i = 0; i < ports; i++) {
    b.createServer(socket => {
      socket.on('error', () => {})
      socket.end(LINE, () => socket.destroy()) // daytime: the line, our FIN, let go
    }).listen(FIRST_SERVER_PORT + i)
  }
  const close = () => {
    linkA.close()
    linkB.close()
  }
  return { a, b, clocks, close }
}

/** Open, use and close n connections from A to B; B keeps them in TIME-WAIT. */
async function fill(a: Stack, b: Stack, n: number): Promise<void> {
  let started = 0
  let finished = 0
  let failure: Error | null = null
  const open = () => {
    while (started < n && started - finished < WINDOW) {
      const i = started++
      const port = FIRST_SERVER_PORT + Math.floor(i / LOCAL_PORTS)
      const sock = a.connect({ host: B, port, localPort: FIRST_LOCAL_PORT + (i % LOCAL_PORTS) })
      sock.on('error', err => { failure = err })
      sock.on('close', () => { finished++ })
      sock.resume()
    }
  }
  let idle = 0
  let last = -1
  while (finished < n || a.connections().length > 0) {
    if (failure !== null) throw failure
    open()
    await turn()
    if (finished !== last) {
      last = finished
      idle = 0
    } else if (++idle > 1000) {
      throw new Error(`stalled after ${finished} of ${n} connections: A ${JSON.stringify(a.connectionsByState())}, B ${JSON.stringify(b.connectionsByState())}`)
    }
  }
  const held = b.connectionsByState()
  if (held['TIME-WAIT'] !== n || Object.keys(held).length !== 1) throw new Error(`expected ${n} in TIME-WAIT on B, got ${JSON.stringify(held)}`)
}

export async function measureTimeWait(n: number): Promise<TimeWaitResult> {
  const { a, b, clocks, close } = makeStacks(n)
  const before = heapUsed()
  const t0 = performance.now()
  await fill(a, b, n)
  const fillSeconds = (performance.now() - t0) / 1000
  const filled = heapUsed()
  const rssMB = process.memoryUsage().rss / 1e6
  // Past 2MSL every entry expires (TIME-WAIT -> CLOSED) and leaves the table.
  const t1 = performance.now()
  for (const c of clocks) c.advance(2 * MSL_MS)
  const expirySeconds = (performance.now() - t1) / 1000
  await turn()
  const left = b.connectionsByState()
  if (Object.keys(left).length !== 0) throw new Error(`TIME-WAIT did not end: ${JSON.stringify(left)}`)
  const after = heapUsed()
  close()
  return {
    connections: n,
    bytesPerConnection: (filled - before) / n,
    heapMB: filled / 1e6,
    rssMB,
    fillSeconds,
    expirySeconds,
    leftBytesPerConnection: (after - before) / n,
  }
}

export async function runTimeWaitBench(counts: number[]): Promise<TimeWaitResult[]> {
  // Warm up the JIT on a small run first, so compiled code is not counted as memory.
  await measureTimeWait(20_000)
  const results: TimeWaitResult[] = []
  for (const n of counts) results.push(await measureTimeWait(n))
  return results
}

export function formatTimeWait(results: TimeWaitResult[]): string {
  const head = ['connections', 'bytes/conn', 'heap MB', 'rss MB', 'fill s', 'expiry s', 'left B/conn']
  const rows = results.map(r => [
    r.connections.toLocaleString('en-US'), r.bytesPerConnection.toFixed(0), r.heapMB.toFixed(0), r.rssMB.toFixed(0),
    r.fillSeconds.toFixed(1), r.expirySeconds.toFixed(2), r.leftBytesPerConnection.toFixed(0),
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map(r => r[i]!.length)))
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ')
  return [
    'connections in TIME-WAIT (two stacks on the in-memory link, each connection opened, used and closed; heap after GC):',
    line(head), line(widths.map(w => '-'.repeat(w))), ...rows.map(line),
  ].join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const argv = process.argv.slice(2)
  if ((globalThis as { gc?: unknown }).gc === undefined) {
    // Measuring needs gc(): run again with --expose-gc.
    const r = spawnSync(process.execPath, ['--expose-gc', ...process.execArgv, process.argv[1]!, ...argv], { stdio: 'inherit' })
    process.exit(r.status ?? 1)
  }
  const countsArg = argv.find(a => a.startsWith('--counts='))
  const counts = countsArg !== undefined
    ? countsArg.slice('--counts='.length).split(',').map(Number)
    : argv.includes('--quick') ? [100_000] : [100_000, 1_000_000]
  const jsonAt = argv.indexOf('--json')
  const results = await runTimeWaitBench(counts)
  console.log(formatTimeWait(results))
  if (jsonAt >= 0 && argv[jsonAt + 1]) writeFileSync(argv[jsonAt + 1]!, JSON.stringify(results, null, 2))
}
