// The services of `tuntcp serve` against real kernel clients: the stack runs in
// this process on a TUN device, serveAll() on 10.81.0.2; the kernel side is
// 10.81.0.1. ping, curl and nc are child processes (async, so the stack keeps
// running while they talk to it); Node's own net module is the kernel's TCP in-process.

import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { connect as netConnect } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { chargenBytes } from '../../src/apps/chargen'
import { serveAll } from '../../src/apps/index'
import { Stack, type StateChange } from '../../src/stack/stack'
import { configureKernelSide } from '../../src/tun/iproute'
import { TunDevice } from '../../src/tun/tun-device'
import { KernelSockets, readAll, run, sha, sleep, waitFor } from './helpers'
import { requireFreshNetns } from './netns'

const DEV = 'tkhttp0'
const KERNEL = '10.81.0.1'
const ADDR = '10.81.0.2'

let device: TunDevice | undefined
let stack: Stack
const changes: StateChange[] = []
const internalErrors: unknown[] = []
const kernelSockets = new KernelSockets()
/** A kernel TCP connection to the stack, resolved once connected. */
const dial = (port: number, allowHalfOpen = false) => kernelSockets.dial(ADDR, port, allowHalfOpen)

beforeAll(() => {
  requireFreshNetns()
  device = TunDevice.open({ name: DEV, mtu: 1500 })
  configureKernelSide(DEV, `${KERNEL}/24`, 1500)
  stack = new Stack({ address: ADDR, link: device, mslMs: 1000 })
  stack.on('state', (c: StateChange) => changes.push(c))
  stack.on('internal-error', (e: unknown) => internalErrors.push(e))
  serveAll(stack)
})

afterEach(() => {
  kernelSockets.destroyAll()
  expect(internalErrors).toEqual([])
})

afterAll(async () => {
  await stack?.shutdown(300)
  device?.close()
})

// --- helpers -----------------------------------------------------------------


/** The stack's state changes for the connection (ADDR:localPort, KERNEL:remotePort), as "FROM -> TO". */
function statesOf(localPort: number, remotePort: number): string[] {
  return changes
    .filter(c => c.conn.localPort === localPort && c.conn.remotePort === remotePort && c.conn.remoteAddress === KERNEL)
    .map(c => `${c.from} -> ${c.to}`)
}

const openOn = (port: number) => stack.connections().filter(c => c.localPort === port)

// -----------------------------------------------------------------------------

describe('ICMP echo', () => {
  it('answers the kernel ping', async () => {
    const before = stack.counters.pingsAnswered
    const r = await run('ping', ['-c', '2', '-i', '0.2', '-W', '2', ADDR], { timeoutMs: 10_000 })
    expect(r.code).toBe(0)
    expect(r.stdout.toString()).toMatch(/2 packets transmitted, 2 received/)
    expect(stack.counters.pingsAnswered - before).toBeGreaterThanOrEqual(2)
  })
})

describe('HTTP (port 80) with curl', () => {
  it('GET / is 200 with the page', async () => {
    const r = await run('curl', ['-sS', '--max-time', '10', '-w', '\n%{http_code}', `http://${ADDR}/`])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const text = r.stdout.toString()
    const status = text.slice(text.lastIndexOf('\n') + 1)
    expect(status).toBe('200')
    expect(text).toContain(`<h1>tuntcp at ${ADDR}</h1>`)
  })

  it('GET /bytes/10485760 is exactly 10 MiB of the chargen pattern', async () => {
    const N = 10_485_760
    const r = await run('curl', ['-sS', '--fail', '--max-time', '30', `http://${ADDR}/bytes/${N}`], { timeoutMs: 40_000 })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout.length).toBe(N)
    expect(sha(r.stdout)).toBe(sha(chargenBytes(0, N)))
  })
})

describe('echo (port 7)', () => {
  it('echoes 1 MiB of random bytes from a kernel socket, then ends after its FIN', async () => {
    const payload = randomBytes(1 << 20)
    const sock = await dial(7)
    const port = sock.localPort!  // net forgets it once the socket closes
    const done = readAll(sock)
    sock.end(payload)
    const { data, ended } = await done
    expect(ended).toBe(true)
    expect(data.length).toBe(payload.length)
    expect(sha(data)).toBe(sha(payload))
    // The stack saw the kernel close first and did the passive close.
    await waitFor(() => statesOf(7, port).includes('LAST-ACK -> CLOSED'), 'the echo connection to close')
    expect(statesOf(7, port)).toEqual([
      'LISTEN -> SYN-RECEIVED', 'SYN-RECEIVED -> ESTABLISHED', 'ESTABLISHED -> CLOSE-WAIT',
      'CLOSE-WAIT -> LAST-ACK', 'LAST-ACK -> CLOSED',
    ])
  })

  it('nc -N echoes "hello"', async () => {
    const r = await run('nc', ['-N', '-w', '5', ADDR, '7'], { input: 'hello\n', timeoutMs: 10_000 })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout.toString()).toBe('hello\n')
  })
})

describe('discard (port 9)', () => {
  it('takes 1 MiB, sends nothing back, and closes after our FIN', async () => {
    const sock = await dial(9, true)
    const port = sock.localPort!
    const done = readAll(sock)
    const wrote = new Promise<void>(resolve => sock.write(randomBytes(1 << 20), () => resolve()))
    await wrote
    // Until our FIN the stack keeps the connection open.
    await sleep(100)
    expect(statesOf(9, port).at(-1)).toBe('SYN-RECEIVED -> ESTABLISHED')
    sock.end()
    const { data, ended } = await done
    expect(ended).toBe(true)
    expect(data.length).toBe(0)
    await waitFor(() => openOn(9).length === 0, 'the discard connection to close')
    expect(statesOf(9, port).slice(2)).toEqual(['ESTABLISHED -> CLOSE-WAIT', 'CLOSE-WAIT -> LAST-ACK', 'LAST-ACK -> CLOSED'])
  })
})

describe('chargen (port 19)', () => {
  it('sends the exact pattern until the kernel socket goes away', async () => {
    const sock = await dial(19)
    const port = sock.localPort!
    const chunks: Buffer[] = []
    let got = 0
    await new Promise<void>((resolve, reject) => {
      sock.on('error', reject)
      sock.on('data', (c: Buffer) => {
        chunks.push(c)
        got += c.length
        if (got >= 100_000) resolve()
      })
    })
    sock.destroy()
    const data = Buffer.concat(chunks)
    expect(data.length).toBeGreaterThanOrEqual(100_000)
    expect(data.equals(chargenBytes(0, data.length))).toBe(true)
    // The kernel's RST (or FIN) ends the stack's side too; nothing is left behind.
    await waitFor(() => openOn(19).length === 0, 'the chargen connection to go away')
    expect(statesOf(19, port).at(-1)).toMatch(/-> CLOSED$/)
  })
})

describe('a port nobody serves', () => {
  it('refuses the kernel with RST: ECONNREFUSED', async () => {
    const resetsBefore = stack.counters.resetsSent
    const err = await new Promise<NodeJS.ErrnoException>((resolve, reject) => {
      const sock = netConnect({ host: ADDR, port: 8080 })
      kernelSockets.track(sock)
      sock.once('connect', () => reject(new Error('connected to a port nobody serves')))
      sock.once('error', resolve)
    })
    expect(err.code).toBe('ECONNREFUSED')
    expect(stack.counters.resetsSent).toBeGreaterThan(resetsBefore)
    expect(openOn(8080)).toEqual([])
  })
})
