// The stack against kernel peers over a bad wire: 5% loss, 5 ms +-1 ms delay, 10%
// reordering, 1% duplication and 0.5% corruption, each way (test/helpers/netem-profile.ts).
// Toward the stack, `tc qdisc ... netem` on the TUN device (the kernel's egress) when the
// kernel has netem, else the same faults played in userspace on the packets read from the
// TUN device (a FaultyLink); away from it, the stack's own outbound faults
// (StackOptions.faults). Bulk data through /bytes (curl) and echo (a Node net socket) must
// arrive intact, and every way of closing must still end in CLOSED or TIME-WAIT on both ends.
//
// Size: TUNTCP_LOSSY_MIB (default 20, as issue 4 asks) MiB each way. Goodput through this
// wire is under 1 MB/s per connection (docs/congestion-control.md), so this file takes a few
// minutes; TUNTCP_LOSSY_MIB=4 for a quicker local run.

import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { chargenBytes } from '../../src/apps/chargen'
import { serveAll } from '../../src/apps/index'
import { Stack, type StateChange } from '../../src/stack/stack'
import { TunDevice } from '../../src/tun/tun-device'
import { NETEM_ARGS } from '../helpers/netem-profile'
import { KernelSockets, readAll, run, sha, waitFor } from './helpers'
import { stackBehindBadWire } from './bad-wire'
import { requireFreshNetns } from './netns'

const DEV = 'tkcc0'
const KERNEL = '10.64.0.1'
const ADDR = '10.64.0.2'
const MiB = 1024 * 1024
const SIZE = Math.round(Number(process.env.TUNTCP_LOSSY_MIB ?? 20) * MiB)
/** The most a bulk transfer may take: SIZE at 0.1 MB/s would be far slower than we ever are. */
const TRANSFER_LIMIT_MS = Math.max(60_000, Math.ceil((SIZE / 100_000) * 1000))

let device: TunDevice | undefined
let stack: Stack
const changes: StateChange[] = []
const internalErrors: unknown[] = []
const kernelSockets = new KernelSockets()
/** A kernel TCP connection to the stack, resolved once connected. */
const dial = (port: number, allowHalfOpen = false) => kernelSockets.dial(ADDR, port, allowHalfOpen)

beforeAll(() => {
  requireFreshNetns()
  const wire = stackBehindBadWire(DEV, KERNEL, ADDR)
  device = wire.device
  stack = wire.stack
  console.log(`lossy: toward the stack: ${wire.towardStack === 'netem' ? `tc netem ${NETEM_ARGS.join(' ')}` : 'FaultyLink (no netem in this kernel)'}; away: StackOptions.faults; ${SIZE / MiB} MiB per transfer`)
  stack.on('state', (c: StateChange) => changes.push(c))
  stack.on('internal-error', (e: unknown) => internalErrors.push(e))
  serveAll(stack)
}, 20_000)

afterEach(() => {
  kernelSockets.destroyAll()
  expect(internalErrors).toEqual([])
})

afterAll(async () => {
  await stack?.shutdown(300)
  device?.close()
})

// --- helpers -----------------------------------------------------------------


/** The stack's states for the connection with the kernel's port `remotePort`, as "FROM -> TO". */
function statesOf(remotePort: number): string[] {
  return changes.filter(c => c.conn.remotePort === remotePort && c.conn.remoteAddress === KERNEL).map(c => `${c.from} -> ${c.to}`)
}

/** The stack's end of that connection reached CLOSED (after TIME-WAIT, if it went there). */
const stackClosed = (remotePort: number) => statesOf(remotePort).at(-1)?.endsWith('-> CLOSED') ?? false

/** The kernel's state of its socket from `localPort` to the stack, from ss, or null when gone. */
function kernelState(localPort: number): string | null {
  const r = spawnSync('ss', ['-Htan', `sport = :${localPort}`], { encoding: 'utf8' })
  const line = r.stdout.split('\n').find(l => l.trim() !== '')
  return line ? line.trim().split(/\s+/)[0]! : null
}

/** Both ends finished: the stack's TCB is CLOSED, the kernel's gone or in TIME-WAIT. */
async function bothEndsClosed(localPort: number): Promise<void> {
  await waitFor(() => stackClosed(localPort), `the stack's end of :${localPort} to reach CLOSED (states: ${statesOf(localPort).join(', ')})`, 30_000)
  await waitFor(() => [null, 'TIME-WAIT'].includes(kernelState(localPort)), `the kernel's end of :${localPort} to finish (ss: ${kernelState(localPort)})`, 30_000)
}

// -----------------------------------------------------------------------------

describe(`bulk transfers through the bad wire`, () => {
  it(`curl GET /bytes/${SIZE}: every byte intact (SHA-256), in bounded time`, async () => {
    const t0 = Date.now()
    const r = await run('curl', ['-sS', '--fail', '--max-time', String(TRANSFER_LIMIT_MS / 1000), `http://${ADDR}/bytes/${SIZE}`], { timeoutMs: TRANSFER_LIMIT_MS + 5_000 })
    const seconds = (Date.now() - t0) / 1000
    console.log(`lossy: curl /bytes/${SIZE}: ${seconds.toFixed(1)} s, ${(SIZE / seconds / 1e6).toFixed(2)} MB/s; stack sent ${stack.counters.segmentsOut} segments, retransmitted ${stack.counters.retransmissions}` +
      ` (fast retransmits ${stack.counters.fastRetransmits}, timeouts ${stack.counters.retransmitTimeouts}, undone ${stack.counters.spuriousRecoveries}, reordering seen ${stack.counters.reorderingSeen})`)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout.length).toBe(SIZE)
    expect(sha(r.stdout)).toBe(sha(chargenBytes(0, SIZE)))
    // The profile reorders 10% of packets: the stack must see it in the kernel's SACK blocks
    // (tcp/recovery/detection.ts), and so not take reordered segments for lost ones. About 5.5% are
    // lost each way; runs here resend 6-15% (more when a long recovery ends in an RTO's
    // go-back-N); a quarter would mean reordering is being resent again.
    expect(stack.counters.reorderingSeen).toBeGreaterThan(0)
    expect(stack.counters.retransmissions).toBeLessThan(0.25 * stack.counters.segmentsOut)
  }, TRANSFER_LIMIT_MS + 10_000)

  it(`a Node net socket: ${SIZE} random bytes through echo, both ways at once, intact; both ends close`, async () => {
    const payload = randomBytes(SIZE)
    const sock = await dial(7)
    const port = sock.localPort!
    const t0 = Date.now()
    const got = readAll(sock, TRANSFER_LIMIT_MS)
    sock.end(payload) // our FIN after the data: echo finishes echoing, then closes
    const { data, ended } = await got
    const seconds = (Date.now() - t0) / 1000
    console.log(`lossy: echo ${SIZE} each way: ${seconds.toFixed(1)} s, ${(2 * SIZE / seconds / 1e6).toFixed(2)} MB/s both ways`)
    expect(ended).toBe(true)
    expect(data.length).toBe(SIZE)
    expect(sha(data)).toBe(sha(payload))
    await bothEndsClosed(port)
    expect(statesOf(port)).toEqual(['LISTEN -> SYN-RECEIVED', 'SYN-RECEIVED -> ESTABLISHED', 'ESTABLISHED -> CLOSE-WAIT', 'CLOSE-WAIT -> LAST-ACK', 'LAST-ACK -> CLOSED'])
  }, TRANSFER_LIMIT_MS + 30_000)
})

describe('every close path ends right under loss', () => {
  const ROUNDS = 3

  it('the kernel closes first (discard :9): CLOSE-WAIT -> LAST-ACK -> CLOSED', async () => {
    for (let i = 0; i < ROUNDS; i++) {
      const sock = await dial(9)
      const port = sock.localPort!
      const done = readAll(sock, TRANSFER_LIMIT_MS)
      sock.end(randomBytes(64 * 1024))
      const { ended } = await done
      expect(ended).toBe(true)
      await bothEndsClosed(port)
      expect(statesOf(port).slice(-3)).toEqual(['ESTABLISHED -> CLOSE-WAIT', 'CLOSE-WAIT -> LAST-ACK', 'LAST-ACK -> CLOSED'])
    }
  }, 90_000)

  it('the stack closes first (daytime :13): FIN-WAIT-1 ... TIME-WAIT -> CLOSED after 2 MSL', async () => {
    for (let i = 0; i < ROUNDS; i++) {
      const sock = await dial(13)
      const port = sock.localPort!
      const { data, ended } = await readAll(sock, TRANSFER_LIMIT_MS) // net ends its side after the stack's FIN
      expect(ended).toBe(true)
      expect(data.toString()).toMatch(/\n$/)
      await bothEndsClosed(port)
      const states = statesOf(port)
      expect(states).toContain('ESTABLISHED -> FIN-WAIT-1')
      expect(states.slice(-2)).toEqual([expect.stringMatching(/-> TIME-WAIT$/), 'TIME-WAIT -> CLOSED'])
    }
  }, 90_000)

  it('both close at once (a listener that ends at once, a client that ends at once)', async () => {
    const server = stack.createServer({ allowHalfOpen: true }, s => { s.resume(); s.end() })
    server.listen(5000)
    try {
      for (let i = 0; i < ROUNDS; i++) {
        const sock = await dial(5000, true)
        const port = sock.localPort!
        const done = readAll(sock, TRANSFER_LIMIT_MS)
        sock.end()
        const { ended } = await done
        expect(ended).toBe(true)
        await bothEndsClosed(port)
        expect(statesOf(port).at(-1)).toMatch(/-> CLOSED$/)
      }
    } finally {
      server.close()
    }
  }, 90_000)
})
