// The services of `tuntcp serve`, in memory: stack A is the client, stack B
// serves every port of the contract, and virtual time runs the close states.
import { createHash } from 'node:crypto'
import { Agent, request } from 'node:http'
import type { Duplex } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { CHARGEN_PERIOD, chargenBytes } from '../../src/apps/chargen'
import { daytimeLine } from '../../src/apps/daytime'
import { serveAll } from '../../src/apps/index'
import type { Socket } from '../../src/stack/socket/socket'
import type { Stack, StateChange } from '../../src/stack/stack'
import { B, collect, recordStates, twoStacks } from '../helpers/two-stacks'
import { runFor, runUntil } from '../helpers/virtual-time'

function setup() {
  const net = twoStacks()
  serveAll(net.b)
  const server: string[] = []
  net.b.on('state', (c: StateChange) => server.push(`${c.from} -> ${c.to}`))
  return { ...net, server }
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

describe('echo (port 7)', () => {
  it('echoes 1 MiB, finishes echoing after our FIN, then closes; we end in TIME-WAIT', async () => {
    const net = setup()
    const sock = net.a.connect({ host: B, port: 7, allowHalfOpen: true })
    const states = recordStates(sock)
    const got = collect(sock)
    const payload = chargenBytes(12345, 1 << 20)
    sock.end(payload)
    await runUntil(net.clock, () => got.ended())
    expect(got.data().length).toBe(payload.length)
    expect(sha(got.data())).toBe(sha(payload))
    await runUntil(net.clock, () => sock.state === 'TIME-WAIT')
    expect(states).toEqual([
      'SYN-SENT -> ESTABLISHED', 'ESTABLISHED -> FIN-WAIT-1',
      'FIN-WAIT-1 -> FIN-WAIT-2', 'FIN-WAIT-2 -> TIME-WAIT',
    ])
    expect(net.server).toEqual([
      'LISTEN -> SYN-RECEIVED', 'SYN-RECEIVED -> ESTABLISHED', 'ESTABLISHED -> CLOSE-WAIT',
      'CLOSE-WAIT -> LAST-ACK', 'LAST-ACK -> CLOSED',
    ])
    expect(net.a.connectionsByState()).toEqual({ 'TIME-WAIT': 1 })
    expect(net.b.counters.entered).toMatchObject({ 'CLOSE-WAIT': 1, 'LAST-ACK': 1, CLOSED: 1 })
    expect(net.b.counters.format()).toContain('states entered: SYN-RECEIVED 1, ESTABLISHED 1, CLOSE-WAIT 1, LAST-ACK 1, CLOSED 1')
    await runFor(net.clock, 60_000) // 2MSL with the default MSL of 30 s
    expect(sock.state).toBe('CLOSED')
    expect(net.a.connectionsByState()).toEqual({})
    expect(net.a.connections()).toEqual([])
  })
})

describe('discard (port 9)', () => {
  it('reads everything, sends nothing, and closes after our FIN', async () => {
    const net = setup()
    const sock = net.a.connect({ host: B, port: 9 })
    const got = collect(sock)
    sock.end(Buffer.alloc(200_000, 7))
    await runUntil(net.clock, () => got.ended())
    expect(got.data().length).toBe(0)
    expect(net.b.counters.segmentsIn).toBeGreaterThan(100)
    expect(net.server.at(-1)).toBe('LAST-ACK -> CLOSED')
  })
})

describe('daytime (port 13)', () => {
  it('sends one line and closes first: the server passes FIN-WAIT-1, FIN-WAIT-2 and TIME-WAIT', async () => {
    const net = setup()
    const sock = net.a.connect({ host: B, port: 13 })
    const states = recordStates(sock)
    const got = collect(sock)
    await runUntil(net.clock, () => got.ended())
    expect(got.data().toString()).toMatch(/^\d\d [A-Z]{3} \d{4} \d\d:\d\d:\d\d UTC\r\n$/)
    await runUntil(net.clock, () => sock.state === 'CLOSED')
    // The socket closed (and stopped reporting) in LAST-ACK; its state still follows the TCB.
    expect(states).toEqual(['SYN-SENT -> ESTABLISHED', 'ESTABLISHED -> CLOSE-WAIT', 'CLOSE-WAIT -> LAST-ACK'])
    expect(net.server.slice(2)).toEqual([
      'ESTABLISHED -> FIN-WAIT-1', 'FIN-WAIT-1 -> FIN-WAIT-2', 'FIN-WAIT-2 -> TIME-WAIT',
    ])
    expect(net.b.connections().map(c => c.state)).toEqual(['TIME-WAIT'])
    await runFor(net.clock, 60_000)
    expect(net.b.connections()).toEqual([])
    expect(net.server.at(-1)).toBe('TIME-WAIT -> CLOSED')
  })

  it('lets go of its socket: a client that never closes meets the orphan FIN-WAIT-2 timeout', async () => {
    const net = setup()
    const sock = net.a.connect({ host: B, port: 13, allowHalfOpen: true })
    sock.resume()
    sock.on('error', () => {})
    await runUntil(net.clock, () => net.b.connections()[0]?.state === 'FIN-WAIT-2')
    await runFor(net.clock, 59_000)
    expect(net.b.connections().map(c => c.state)).toEqual(['FIN-WAIT-2'])
    await runFor(net.clock, 2_000) // finWait2TimeoutMs: 60 s, like Linux's tcp_fin_timeout
    expect(net.b.connections()).toEqual([])
    expect(net.server.at(-1)).toBe('FIN-WAIT-2 -> CLOSED')
  })

  it('formats the date as xinetd does', () => {
    expect(daytimeLine(new Date(Date.UTC(2026, 10, 5, 9, 8, 7)))).toBe('05 NOV 2026 09:08:07 UTC\r\n')
  })
})

describe('chargen (port 19)', () => {
  it('sends the RFC 864 pattern until we close', async () => {
    const net = setup()
    const sock = net.a.connect({ host: B, port: 19 })
    const chunks: Buffer[] = []
    let received = 0
    // Stop reading at 300 kB: our window closes and chargen must wait (it never stops by itself).
    sock.on('data', (c: Buffer) => {
      chunks.push(c)
      received += c.length
      if (received >= 300_000) sock.pause()
    })
    await runUntil(net.clock, () => received >= 300_000)
    const data = Buffer.concat(chunks)
    expect(data.subarray(0, 74).toString()).toBe(
      ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg\r\n')
    expect(data.equals(chargenBytes(0, data.length))).toBe(true)
    sock.end()
    sock.removeAllListeners('data')
    sock.resume() // read what is left: chargen stops at our FIN
    await runUntil(net.clock, () => sock.state === 'TIME-WAIT' || sock.state === 'CLOSED')
    await runUntil(net.clock, () => net.b.connections().length === 0)
  })

  it('has a period of 95 lines of 74 bytes', () => {
    expect(CHARGEN_PERIOD.length).toBe(95 * 74)
    expect(chargenBytes(7030 * 3 + 5, 10).equals(chargenBytes(5, 10))).toBe(true)
  })
})

/** node:http's client on stack A's sockets: an Agent whose connections are ours. */
class StackAgent extends Agent {
  readonly sockets_: Socket[] = []
  constructor(private readonly stack: Stack) {
    super({ keepAlive: true })
  }
  override createConnection(): Duplex {
    const sock = this.stack.connect({ host: B, port: 80 })
    this.sockets_.push(sock)
    return sock
  }
}

/** One GET through `agent`; the result is there once done() holds. */
function get(agent: StackAgent, path: string, headers: Record<string, string> = {}) {
  let status = 0
  let body = Buffer.alloc(0)
  let done = false
  const req = request({ path, headers, agent, host: B }, res => {
    status = res.statusCode ?? 0
    const chunks: Buffer[] = []
    res.on('data', (c: Buffer) => chunks.push(c))
    res.on('end', () => {
      body = Buffer.concat(chunks)
      done = true
    })
  })
  req.end()
  return { result: () => ({ status, body }), done: () => done }
}

describe('http (port 80)', () => {
  it('serves / and /bytes/N with Content-Length, both on one keep-alive connection', async () => {
    const net = setup()
    const agent = new StackAgent(net.a)
    const page = get(agent, '/')
    await runUntil(net.clock, page.done)
    expect(page.result().status).toBe(200)
    expect(page.result().body.toString()).toContain('tuntcp at 10.0.0.2')
    const big = get(agent, '/bytes/3000000')
    await runUntil(net.clock, big.done)
    expect(big.result().body.length).toBe(3_000_000)
    expect(big.result().body.equals(chargenBytes(0, 3_000_000))).toBe(true)
    expect(agent.sockets_.length).toBe(1)
    expect(agent.sockets_[0]!.state).toBe('ESTABLISHED')
  })

  it('closes after the response with Connection: close, the server closing first', async () => {
    const net = setup()
    const agent = new StackAgent(net.a)
    const res = get(agent, '/bytes/10', { Connection: 'close' })
    await runUntil(net.clock, res.done)
    await runUntil(net.clock, () => agent.sockets_[0]!.state === 'CLOSED')
    // Over a zero-delay link both FINs cross: a simultaneous close, CLOSING on both sides.
    expect(net.server).toContain('ESTABLISHED -> FIN-WAIT-1')
    expect(net.server.at(-1)).toBe('TIME-WAIT -> CLOSED')
  })

  it('answers 404 for an unknown path, 400 beyond the size limit, 405 for other methods', async () => {
    const net = setup()
    const agent = new StackAgent(net.a)
    const missing = get(agent, '/nope')
    await runUntil(net.clock, missing.done)
    expect(missing.result().status).toBe(404)
    const tooBig = get(agent, `/bytes/${2 ** 40 + 1}`)
    await runUntil(net.clock, tooBig.done)
    expect(tooBig.result().status).toBe(400)
    let status = 0
    request({ method: 'POST', path: '/', agent, host: B }, res => { status = res.statusCode ?? 0; res.resume() }).end('x')
    await runUntil(net.clock, () => status !== 0)
    expect(status).toBe(405)
  })

  it("closes an idle keep-alive connection with a FIN after node:http's keepAliveTimeout, in virtual time", async () => {
    const net = setup()
    const agent = new StackAgent(net.a)
    const page = get(agent, '/')
    await runUntil(net.clock, page.done)
    const sock = agent.sockets_[0]!
    const errors: string[] = []
    sock.on('error', e => errors.push((e as NodeJS.ErrnoException).code ?? e.message))
    await runFor(net.clock, 4_000)
    expect(sock.state).toBe('ESTABLISHED')
    // keepAliveTimeout is 5 s; Node 20 arms the socket timeout a second later.
    await runFor(net.clock, 3_000)
    expect(sock.state).not.toBe('ESTABLISHED')
    expect(errors).toEqual([]) // a FIN, as from a kernel socket, not a RST
    expect(net.server).toContain('ESTABLISHED -> FIN-WAIT-1')
    expect(net.b.counters.resetsSent).toBe(0)
  })

  it('closes a connection that never sends a request after a minute', async () => {
    const net = setup()
    const sock = net.a.connect({ host: B, port: 80 })
    const got = collect(sock)
    await runFor(net.clock, 59_000)
    expect(sock.state).toBe('ESTABLISHED')
    await runFor(net.clock, 2_000)
    expect(got.ended()).toBe(true)
  })
})

describe('other ports', () => {
  it('refuse with RST', async () => {
    const net = setup()
    const sock = net.a.connect({ host: B, port: 8080 })
    const errors: string[] = []
    sock.on('error', e => errors.push((e as NodeJS.ErrnoException).code!))
    await runFor(net.clock, 10)
    expect(errors).toEqual(['ECONNREFUSED'])
  })
})
