// The ways a connection closes, as both ends see them: the stack's TCB states
// from its 'state' events, the kernel's from `ss -tan` (a child process) and from
// Node's net sockets. The stack is 10.82.0.2 on a TUN device, the kernel 10.82.0.1.
// MSL is 1 s, so the stack's TIME-WAIT lasts 2 s and ends within the test.

import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createServer as netCreateServer, type Server as NetServer } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { daytimeLine } from '../../src/apps/daytime'
import { serveAll } from '../../src/apps/index'
import type { Socket } from '../../src/stack/socket/socket'
import { Stack, type StateChange } from '../../src/stack/stack'
import { configureKernelSide } from '../../src/tun/iproute'
import { TunDevice } from '../../src/tun/tun-device'
import { closeLeftOpen, KernelSockets, sha, sleep, waitFor } from './helpers'
import { requireFreshNetns } from './netns'

const DEV = 'tkclose0'
const KERNEL = '10.82.0.1'
const ADDR = '10.82.0.2'
const MSL_MS = 1000
const ABORT_PORT = 5000
const KERNEL_PORT = 9100

let device: TunDevice | undefined
let stack: Stack
const changes: (StateChange & { at: number })[] = []
const internalErrors: unknown[] = []
const kernelSockets = new KernelSockets()
/** A kernel TCP connection to the stack, resolved once connected. */
const dial = (port: number, allowHalfOpen = false) => kernelSockets.dial(ADDR, port, allowHalfOpen)
const kernelServers: NetServer[] = []
const stackSockets: Socket[] = []

beforeAll(() => {
  requireFreshNetns()
  device = TunDevice.open({ name: DEV, mtu: 1500 })
  configureKernelSide(DEV, `${KERNEL}/24`, 1500)
  stack = new Stack({ address: ADDR, link: device, mslMs: MSL_MS })
  stack.on('state', (c: StateChange) => changes.push({ ...c, at: Date.now() }))
  stack.on('internal-error', (e: unknown) => internalErrors.push(e))
  serveAll(stack)
  // (d): a server that aborts its connection as soon as the peer says something.
  stack.createServer(sock => {
    sock.on('error', () => {})
    sock.once('data', () => sock.destroy())
  }).listen(ABORT_PORT)
})

afterEach(async () => {
  await closeLeftOpen(kernelSockets, stackSockets, kernelServers)
  expect(internalErrors).toEqual([])
})

afterAll(async () => {
  await stack?.shutdown(300)
  device?.close()
})

// --- helpers -----------------------------------------------------------------


/** The stack's state changes of one connection, as "FROM -> TO". */
function statesOf(localPort: number, remotePort: number): string[] {
  return changesOf(localPort, remotePort).map(c => `${c.from} -> ${c.to}`)
}

function changesOf(localPort: number, remotePort: number) {
  return changes.filter(c => c.conn.localPort === localPort && c.conn.remotePort === remotePort && c.conn.remoteAddress === KERNEL)
}

/** The kernel's state of its end (KERNEL:kernelPort <-> ADDR:stackPort) from `ss -tan`, or null if it has none. */
function kernelState(kernelPort: number, stackPort: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    execFile('ss', ['-tanH'], { timeout: 5000 }, (err, stdout) => {
      if (err) return reject(err)
      for (const line of stdout.split('\n')) {
        // "TIME-WAIT 0      0      10.82.0.1:45678   10.82.0.2:7"
        const f = line.trim().split(/\s+/)
        if (f[3] === `${KERNEL}:${kernelPort}` && f[4] === `${ADDR}:${stackPort}`) return resolve(f[0]!)
      }
      resolve(null)
    })
  })
}

function stackHas(localPort: number, remotePort: number): boolean {
  return stack.connections().some(c => c.localPort === localPort && c.remotePort === remotePort)
}

// -----------------------------------------------------------------------------

describe('close paths against the kernel', () => {
  it('(a) the kernel closes first: the stack goes CLOSE-WAIT -> LAST-ACK -> CLOSED, the kernel ends in TIME-WAIT', async () => {
    const sock = await dial(7)
    const kport = sock.localPort!
    const echoed = new Promise<Buffer>(resolve => sock.once('data', resolve))
    sock.write('before the close')
    expect((await echoed).toString()).toBe('before the close')
    expect(await kernelState(kport, 7)).toBe('ESTAB')
    const ended = new Promise<void>(resolve => sock.once('end', resolve))
    const closed = new Promise<void>(resolve => sock.once('close', resolve))
    sock.end()
    await ended
    await closed
    await waitFor(() => !stackHas(7, kport), 'the stack to forget the connection')
    expect(statesOf(7, kport)).toEqual([
      'LISTEN -> SYN-RECEIVED', 'SYN-RECEIVED -> ESTABLISHED',
      'ESTABLISHED -> CLOSE-WAIT', 'CLOSE-WAIT -> LAST-ACK', 'LAST-ACK -> CLOSED',
    ])
    // The active closer holds the TIME-WAIT: here the kernel.
    expect(await kernelState(kport, 7)).toBe('TIME-WAIT')
  })

  it('(b) the stack closes first (daytime): FIN-WAIT-1 -> FIN-WAIT-2 while the kernel is in CLOSE-WAIT, then TIME-WAIT for 2 MSL', async () => {
    const sock = await dial(13, true)
    const kport = sock.localPort!
    const chunks: Buffer[] = []
    sock.on('data', (c: Buffer) => chunks.push(c))
    await new Promise<void>(resolve => sock.once('end', resolve))
    const line = Buffer.concat(chunks).toString()
    expect(line).toMatch(/^\d\d [A-Z]{3} \d{4} \d\d:\d\d:\d\d UTC\r\n$/)
    expect(line.length).toBe(daytimeLine(new Date()).length)
    // We hold our end open: the stack waits in FIN-WAIT-2, the kernel in CLOSE-WAIT.
    await waitFor(() => statesOf(13, kport).includes('FIN-WAIT-1 -> FIN-WAIT-2'), 'the stack to reach FIN-WAIT-2')
    await sleep(100)
    expect(stack.connections().find(c => c.localPort === 13 && c.remotePort === kport)?.state).toBe('FIN-WAIT-2')
    expect(await kernelState(kport, 13)).toBe('CLOSE-WAIT')
    // Now the kernel closes: the stack enters TIME-WAIT, the kernel goes LAST-ACK -> gone.
    sock.end()
    await new Promise<void>(resolve => sock.once('close', resolve))
    await waitFor(() => statesOf(13, kport).includes('FIN-WAIT-2 -> TIME-WAIT'), 'the stack to reach TIME-WAIT')
    expect(stack.connections().find(c => c.localPort === 13 && c.remotePort === kport)?.state).toBe('TIME-WAIT')
    await waitFor(() => statesOf(13, kport).includes('TIME-WAIT -> CLOSED'), 'TIME-WAIT to end', 4 * MSL_MS + 2000)
    expect(statesOf(13, kport)).toEqual([
      'LISTEN -> SYN-RECEIVED', 'SYN-RECEIVED -> ESTABLISHED',
      'ESTABLISHED -> FIN-WAIT-1', 'FIN-WAIT-1 -> FIN-WAIT-2', 'FIN-WAIT-2 -> TIME-WAIT', 'TIME-WAIT -> CLOSED',
    ])
    // TIME-WAIT lasted 2 MSL (the timer wheel's granularity allows a little slack).
    const c = changesOf(13, kport)
    const timeWait = c.find(x => x.to === 'CLOSED')!.at - c.find(x => x.to === 'TIME-WAIT')!.at
    expect(timeWait).toBeGreaterThanOrEqual(2 * MSL_MS - 50)
    expect(timeWait).toBeLessThan(2 * MSL_MS + 1000)
    expect(c.find(x => x.to === 'CLOSED')!.cause).toBe('2MSL timeout')
    expect(await kernelState(kport, 13)).toBeNull()
    expect(stack.connections()).toEqual([])
  })

  it('(c) half-close: after the kernel\'s FIN the echo still sends everything back, then closes', async () => {
    const payload = randomBytes(128 * 1024)
    const sock = await dial(7, true)
    const kport = sock.localPort!
    // Do not read yet: the echo backs up in the stack, so it is still sending when our FIN arrives.
    sock.pause()
    const chunks: Buffer[] = []
    let ended = false
    sock.on('data', (c: Buffer) => chunks.push(c))
    sock.on('end', () => { ended = true })
    sock.end(payload)
    await waitFor(() => statesOf(7, kport).includes('CLOSE-WAIT -> LAST-ACK'), 'the echo to see our FIN and close')
    const fin = changesOf(7, kport).find(c => c.to === 'CLOSE-WAIT')!
    const lastAck = changesOf(7, kport).find(c => c.to === 'LAST-ACK')!
    // When our FIN arrived, and when the echo closed, echoed data was still unacknowledged.
    expect(fin.conn.sendQueue).toBeGreaterThan(0)
    expect(lastAck.conn.sendQueue).toBeGreaterThan(0)
    expect(chunks.length).toBe(0)
    sock.resume()
    await waitFor(() => ended, 'the echo to end', 10_000)
    const data = Buffer.concat(chunks)
    expect(data.length).toBe(payload.length)
    expect(sha(data)).toBe(sha(payload))
    await waitFor(() => !stackHas(7, kport), 'the echo connection to close')
    expect(statesOf(7, kport).slice(2)).toEqual(['ESTABLISHED -> CLOSE-WAIT', 'CLOSE-WAIT -> LAST-ACK', 'LAST-ACK -> CLOSED'])
  })

  it('(d) the stack aborts (destroy): the kernel socket gets ECONNRESET', async () => {
    const sock = await dial(ABORT_PORT)
    const kport = sock.localPort!
    const resetsBefore = stack.counters.resetsSent
    const err = await new Promise<NodeJS.ErrnoException>((resolve, reject) => {
      sock.once('error', resolve)
      sock.once('close', () => reject(new Error('closed without an error')))
      sock.write('hello')
    })
    expect(err.code).toBe('ECONNRESET')
    expect(stack.counters.resetsSent).toBe(resetsBefore + 1)
    expect(statesOf(ABORT_PORT, kport).slice(2)).toEqual(['ESTABLISHED -> CLOSED'])
    expect(changesOf(ABORT_PORT, kport).at(-1)!.cause).toBe('ABORT')
    expect(stackHas(ABORT_PORT, kport)).toBe(false)
    expect(await kernelState(kport, ABORT_PORT)).toBeNull()
  })

  it('(e) the stack as client: data both ways, the stack closes first and passes FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT, CLOSED', async () => {
    const serverGot: Buffer[] = []
    let kernelEnded = false
    const server = netCreateServer({ allowHalfOpen: true }, conn => {
      kernelSockets.track(conn)
      conn.on('data', (c: Buffer) => {
        serverGot.push(c)
        conn.write(`kernel got ${c.length} bytes\n`)
      })
      // Close our side a moment after the stack's FIN, so the stack sits in FIN-WAIT-2 first.
      conn.on('end', () => { kernelEnded = true; setTimeout(() => conn.end(), 150) })
    })
    kernelServers.push(server)
    await new Promise<void>(resolve => server.listen(KERNEL_PORT, KERNEL, resolve))

    const sock = stack.connect({ host: KERNEL, port: KERNEL_PORT })
    stackSockets.push(sock)
    // The stack's own record: the socket's first change (CLOSED -> SYN-SENT) happens inside connect().
    const states = () => statesOf(sock.localPort, KERNEL_PORT)
    const got: Buffer[] = []
    let ended = false
    sock.on('data', (c: Buffer) => got.push(c))
    sock.on('end', () => { ended = true })
    await new Promise<void>((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject) })
    expect(sock.remoteAddress).toBe(KERNEL)
    expect(await kernelState(KERNEL_PORT, sock.localPort)).toBe('ESTAB')

    sock.write('hello from the stack')
    await waitFor(() => got.length > 0, 'the kernel\'s reply')
    expect(Buffer.concat(serverGot).toString()).toBe('hello from the stack')
    expect(Buffer.concat(got).toString()).toBe('kernel got 20 bytes\n')

    const closedAt = Date.now()
    sock.end()
    await waitFor(() => states().includes('FIN-WAIT-1 -> FIN-WAIT-2'), 'FIN-WAIT-2')
    expect(kernelEnded).toBe(true)
    await waitFor(() => states().includes('FIN-WAIT-2 -> TIME-WAIT'), 'TIME-WAIT')
    expect(ended).toBe(true)
    expect(sock.state).toBe('TIME-WAIT')
    await waitFor(() => sock.state === 'CLOSED', 'TIME-WAIT to end', 4 * MSL_MS + 2000)
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(2 * MSL_MS)
    expect(states()).toEqual([
      'CLOSED -> SYN-SENT', 'SYN-SENT -> ESTABLISHED', 'ESTABLISHED -> FIN-WAIT-1',
      'FIN-WAIT-1 -> FIN-WAIT-2', 'FIN-WAIT-2 -> TIME-WAIT', 'TIME-WAIT -> CLOSED',
    ])
    expect(stack.connections()).toEqual([])
  })

  it('(e) the stack as client: a kernel port with no listener gives ECONNREFUSED', async () => {
    const sock = stack.connect({ host: KERNEL, port: KERNEL_PORT + 1 })
    stackSockets.push(sock)
    const err = await new Promise<NodeJS.ErrnoException>((resolve, reject) => {
      sock.once('error', resolve)
      sock.once('connect', () => reject(new Error('connected to a port with no listener')))
    })
    expect(err.code).toBe('ECONNREFUSED')
    expect(sock.state).toBe('CLOSED')
    expect(stack.connections()).toEqual([])
  })
})
