// Socket and Server, the net.Socket / net.Server-shaped face of the stack,
// between two stacks in virtual time (and one PacketPeer where the exact
// segments matter).
import { describe, expect, it } from 'vitest'
import type { Server } from '../../../src/stack/socket/server'
import type { Socket } from '../../../src/stack/socket/socket'
import { PacketPeer } from '../../helpers/packet-peer'
import { A, B, collect, errorsOf, recordStates, segmentsOut, twoStacks } from '../../helpers/two-stacks'
import { runFor, runUntil, settle } from '../../helpers/virtual-time'

const MSL = 30_000

/** A server on B:port and a client from A, connected. */
async function connected(opts: { port?: number; serverHalfOpen?: boolean; clientHalfOpen?: boolean } = {}) {
  const net = twoStacks()
  const port = opts.port ?? 7
  const accepted: Socket[] = []
  const peerErrors: string[] = []
  const server = net.b.createServer({ allowHalfOpen: opts.serverHalfOpen ?? false }, s => {
    accepted.push(s)
    s.on('error', e => peerErrors.push((e as NodeJS.ErrnoException).code ?? e.message))
  })
  server.listen(port)
  const client = net.a.connect({ host: B, port, allowHalfOpen: opts.clientHalfOpen ?? false })
  await runFor(net.clock, 10)
  expect(accepted).toHaveLength(1)
  return { net, server, client, peer: accepted[0]!, peerErrors }
}

describe('addresses', () => {
  it('gives both ends matching local and remote addresses and ports', async () => {
    const { server, client, peer } = await connected({ port: 7 })
    expect(client.localAddress).toBe(A)
    expect(client.remoteAddress).toBe(B)
    expect(client.remotePort).toBe(7)
    expect(client.localPort).toBeGreaterThanOrEqual(32768) // Linux's ephemeral range (RFC 6056)
    expect(client.localPort).toBeLessThanOrEqual(60999)
    expect(client.remoteFamily).toBe('IPv4')
    expect(peer.localAddress).toBe(B)
    expect(peer.localPort).toBe(7)
    expect(peer.remoteAddress).toBe(A)
    expect(peer.remotePort).toBe(client.localPort)
    expect(client.address()).toEqual({ address: A, port: client.localPort, family: 'IPv4' })
    expect(peer.address()).toEqual({ address: B, port: 7, family: 'IPv4' })
    expect(server.address()).toEqual({ address: B, port: 7, family: 'IPv4' })
    expect(server.listening).toBe(true)
    expect([...server.connections]).toEqual([peer])
  })

  it('uses the local port asked for', async () => {
    const net = twoStacks()
    net.b.createServer(() => undefined).listen(9)
    const client = net.a.connect({ host: B, port: 9, localPort: 5555 })
    await runFor(net.clock, 10)
    expect(client.localPort).toBe(5555)
    expect(net.b.connections()[0]).toMatchObject({ remotePort: 5555, localPort: 9, remoteAddress: A, state: 'ESTABLISHED' })
  })

  it('is connecting until ESTABLISHED, then emits connect and ready', async () => {
    const net = twoStacks()
    net.b.createServer(() => undefined).listen(7)
    const events: string[] = []
    const client = net.a.connect({ host: B, port: 7 }, () => events.push('connect callback'))
    client.on('connect', () => events.push('connect'))
    client.on('ready', () => events.push('ready'))
    expect(client.connecting).toBe(true)
    expect(client.readyState).toBe('opening')
    expect(client.state).toBe('SYN-SENT')
    await runFor(net.clock, 10)
    expect(client.connecting).toBe(false)
    expect(client.readyState).toBe('open')
    expect(events).toEqual(['connect callback', 'connect', 'ready'])
  })
})

describe("'state' events (RFC 9293 3.3.2)", () => {
  it('report every state of both ends through a whole connection, with a cause', async () => {
    const net = twoStacks()
    let peerStates: string[] = []
    const stackStates: string[] = []
    const peerStackStates: string[] = []
    net.a.on('state', ({ from, to }) => stackStates.push(`${from} -> ${to}`))
    net.b.on('state', ({ from, to }) => peerStackStates.push(`${from} -> ${to}`))
    net.b.createServer(s => { peerStates = recordStates(s); s.resume() }).listen(7)
    const client = net.a.connect({ host: B, port: 7 })
    // connect() sends the SYN at once: CLOSED -> SYN-SENT happens before a listener can be
    // attached to the socket, so it is seen on the stack's 'state' event.
    expect(stackStates).toEqual(['CLOSED -> SYN-SENT'])
    expect(client.state).toBe('SYN-SENT')
    const clientStates = recordStates(client)
    const causes: string[] = []
    client.on('state', (_from: string, _to: string, cause: string) => causes.push(cause))
    client.resume()
    await runFor(net.clock, 10)
    expect(clientStates).toEqual(['SYN-SENT -> ESTABLISHED'])
    client.end()
    await runFor(net.clock, 2 * MSL + 100)
    // The socket closed (both directions done) on entering TIME-WAIT and let go of the TCB;
    // the 2MSL wait and its end are the stack's, seen on its 'state' event and in socket.state.
    expect(clientStates).toEqual([
      'SYN-SENT -> ESTABLISHED', 'ESTABLISHED -> FIN-WAIT-1', 'FIN-WAIT-1 -> FIN-WAIT-2', 'FIN-WAIT-2 -> TIME-WAIT',
    ])
    // The accepted socket exists from ESTABLISHED on; the client closed first, so this end took
    // the passive close, and let go of the TCB in LAST-ACK, when both directions were done.
    expect(peerStates).toEqual(['ESTABLISHED -> CLOSE-WAIT', 'CLOSE-WAIT -> LAST-ACK'])
    expect(peerStackStates).toEqual(['LISTEN -> SYN-RECEIVED', 'SYN-RECEIVED -> ESTABLISHED', ...peerStates, 'LAST-ACK -> CLOSED'])
    expect(causes.every(c => c.length > 0)).toBe(true)
    expect(stackStates).toEqual(['CLOSED -> SYN-SENT', ...clientStates, 'TIME-WAIT -> CLOSED'])
    expect(client.state).toBe('CLOSED')
    expect(net.a.connections()).toEqual([])
    expect(net.b.connections()).toEqual([])
  })
})

describe('setTimeout (like net.Socket#setTimeout)', () => {
  it("emits 'timeout' once after the idle time, and the connection stays open", async () => {
    const { net, client } = await connected()
    const at: number[] = []
    const start = net.clock.now()
    client.setTimeout(5000, () => at.push(net.clock.now() - start))
    await runFor(net.clock, 4999)
    expect(at).toEqual([])
    await runFor(net.clock, 1)
    expect(at).toEqual([5000])
    await runFor(net.clock, 60_000) // no activity: no second 'timeout'
    expect(at).toEqual([5000])
    expect(client.state).toBe('ESTABLISHED')
  })

  it('is reset by data received and by writes', async () => {
    const { net, client, peer } = await connected()
    const at: number[] = []
    const start = net.clock.now()
    client.on('timeout', () => at.push(net.clock.now() - start))
    client.resume()
    client.setTimeout(5000)
    await runFor(net.clock, 3000)
    peer.write('activity') // arrives at once on the in-memory link
    await runFor(net.clock, 4999)
    expect(at).toEqual([])
    await runFor(net.clock, 1)
    expect(at).toEqual([8000])
    client.write('more') // our own write is activity too
    await runFor(net.clock, 4999)
    expect(at).toEqual([8000])
    await runFor(net.clock, 1)
    expect(at).toEqual([8000, 13_000])
  })

  it('is turned off by setTimeout(0)', async () => {
    const { net, client } = await connected()
    let fired = 0
    client.on('timeout', () => fired++)
    client.setTimeout(1000)
    await runFor(net.clock, 500)
    client.setTimeout(0)
    await runFor(net.clock, 10_000)
    expect(fired).toBe(0)
  })

  it('stops when the socket closes', async () => {
    const { net, client } = await connected()
    let fired = 0
    client.on('timeout', () => fired++)
    client.setTimeout(1000)
    client.destroy()
    await runFor(net.clock, 10_000)
    expect(fired).toBe(0)
  })
})

describe('Server', () => {
  it('close() refuses new connections at once (RST, ECONNREFUSED) and emits close after the open ones end', async () => {
    const { net, server, client, peer } = await connected()
    const events: string[] = []
    server.on('close', () => events.push('server close'))
    peer.pipe(peer) // an echo service
    server.close(() => events.push('close callback'))
    expect(server.listening).toBe(false)
    expect(server.address()).toBeNull()
    const late = net.a.connect({ host: B, port: 7 })
    const lateErrors = errorsOf(late)
    await runFor(net.clock, 10)
    expect(lateErrors).toEqual(['ECONNREFUSED'])
    expect(events).toEqual([])
    // The open connection is still served.
    const got = collect(client)
    client.write('still open')
    await runFor(net.clock, 100)
    expect(got.data().toString()).toBe('still open')
    expect(events).toEqual([])
    // Once it closes, so does the server.
    client.end()
    await runUntil(net.clock, () => events.length === 2, 10_000)
    expect(events.sort()).toEqual(['close callback', 'server close'])
    expect(server.connections.size).toBe(0)
  })

  it("emits close at once (next tick) when no connection is open", async () => {
    const net = twoStacks()
    const server = net.b.createServer(() => undefined).listen(7)
    await settle()
    let closed = false
    server.close(() => { closed = true })
    expect(closed).toBe(false)
    await settle()
    expect(closed).toBe(true)
  })

  it('gives EADDRINUSE to a second listen on the same port, and the first keeps serving', async () => {
    const net = twoStacks()
    const first = net.b.createServer(s => s.end('first')).listen(80)
    const second: Server = net.b.createServer(s => s.end('second'))
    const errors: string[] = []
    const listening: string[] = []
    first.on('listening', () => listening.push('first'))
    second.on('error', e => errors.push((e as NodeJS.ErrnoException).code ?? ''))
    second.on('listening', () => listening.push('second'))
    second.listen(80)
    await settle()
    expect(errors).toEqual(['EADDRINUSE'])
    expect(listening).toEqual(['first'])
    expect(second.listening).toBe(false)
    const client = net.a.connect({ host: B, port: 80 })
    const got = collect(client)
    await runFor(net.clock, 100)
    expect(got.data().toString()).toBe('first')
    // Once the first server closes, the port is free again.
    first.close()
    second.listen(80)
    await settle()
    expect(second.listening).toBe(true)
  })

  it('refuses to listen on a port outside 0-65535 (0: an ephemeral port)', () => {
    const net = twoStacks()
    expect(() => net.b.createServer().listen(-1)).toThrow(RangeError)
    expect(() => net.b.createServer().listen(65536)).toThrow(RangeError)
  })
})

describe('errors and aborts', () => {
  it('fails a write after the peer reset the connection (RFC 9293 3.10.7.4: ECONNRESET)', async () => {
    const { net, client, peer } = await connected()
    const errors = errorsOf(client)
    peer.destroy() // RST
    await runFor(net.clock, 10)
    expect(errors).toEqual(['ECONNRESET'])
    expect(client.state).toBe('CLOSED')
    let writeError: Error | null | undefined
    client.write('too late', e => { writeError = e })
    await settle()
    expect(writeError).toBeInstanceOf(Error)
    expect(errors).toEqual(['ECONNRESET'])
  })

  it('learns of a reset peer from its answer to the next write, when the first RST was lost', async () => {
    const { net, client, peer } = await connected()
    const errors = errorsOf(client)
    net.linkB.onSend = () => false // the wire loses B's RST
    peer.destroy()
    await runFor(net.clock, 10)
    net.linkB.onSend = null
    expect(client.state).toBe('ESTABLISHED') // A does not know yet
    client.write('anyone there?')
    // B has only the listener: an ACK in LISTEN gets <SEQ=SEG.ACK><CTL=RST> (3.10.7.2), exactly A's RCV.NXT.
    await runFor(net.clock, 10)
    expect(errors).toEqual(['ECONNRESET'])
    expect(client.state).toBe('CLOSED')
    expect(net.b.counters.drops['tcp-listen-ack']).toBe(1)
  })

  it('destroy() sends RST when the application has not read what arrived (after end(), too)', async () => {
    const { net, client, peer } = await connected({ serverHalfOpen: true, clientHalfOpen: true })
    const clientErrors = errorsOf(client)
    const bOut = segmentsOut(net.b)
    client.write('never read')
    await runFor(net.clock, 100)
    expect(peer.readableLength).toBe(10) // paused: nobody reads on B
    peer.end() // our FIN first: a clean close would not need a RST ...
    await runFor(net.clock, 10)
    expect(client.state).toBe('CLOSE-WAIT')
    peer.destroy() // ... but the unread data would be lost silently, so reset (RFC 2525 2.17, as Linux does)
    await runFor(net.clock, 10)
    expect(bOut.at(-1)).toBe('R') // <SEQ=SND.NXT><CTL=RST> (3.10.5)
    expect(clientErrors).toEqual(['ECONNRESET'])
    expect(net.a.connections()).toEqual([])
    expect(net.b.connections()).toEqual([])
  })

  it('destroy() after end() with everything read closes cleanly, without RST', async () => {
    const { net, client, peer } = await connected({ serverHalfOpen: true, clientHalfOpen: true })
    const clientErrors = errorsOf(client)
    const bOut = segmentsOut(net.b)
    peer.resume()
    client.write('read it')
    await runFor(net.clock, 100)
    peer.end()
    await runFor(net.clock, 10)
    peer.destroy() // an orphan now: the TCB finishes the close on its own
    await runFor(net.clock, 10)
    expect(bOut.filter(f => f.includes('R'))).toEqual([])
    expect(net.b.connections().map(c => c.state)).toEqual(['FIN-WAIT-2'])
    client.end()
    await runFor(net.clock, 10)
    expect(net.b.connections().map(c => c.state)).toEqual(['TIME-WAIT'])
    expect(clientErrors).toEqual([])
  })

  it('destroy() without end() aborts with RST even with nothing unread (RFC 9293 3.10.5)', async () => {
    const { net, client, peer } = await connected()
    const clientErrors = errorsOf(client)
    const bOut = segmentsOut(net.b)
    peer.destroy()
    await runFor(net.clock, 10)
    expect(bOut).toEqual(['R'])
    expect(clientErrors).toEqual(['ECONNRESET'])
  })
})

describe("reacting inside a 'data' handler (the handler runs while the segment is processed)", () => {
  async function peerWith(onConnection: (s: Socket) => void) {
    const p = new PacketPeer()
    const internal: unknown[] = []
    p.stack.on('internal-error', e => internal.push(e))
    p.stack.createServer(onConnection).listen(80)
    await settle()
    await p.handshake()
    return { p, internal }
  }

  it('a reply written from the handler acknowledges the data it answers (9293 3.10.7.4, seventh step)', async () => {
    const { p, internal } = await peerWith(s => s.pipe(s))
    await p.send('P.', { seq: 1, ack: 1, data: 'ping' })
    p.expect('P.', { seq: 1, ack: 5, len: 4 }) // RCV.NXT already past 'ping'
    await p.send('.', { seq: 5, ack: 5 })
    await p.run(1000)
    p.expectNothing() // and no delayed ACK follows: the reply carried it
    expect(internal).toEqual([])
  })

  it('destroy() from the handler sends RST and nothing after it', async () => {
    for (const flags of ['P.', 'FP.']) {
      const { p, internal } = await peerWith(s => {
        s.on('error', () => undefined)
        s.on('data', () => s.destroy())
      })
      await p.send(flags, { seq: 1, ack: 1, data: 'bye' })
      p.expect('R', { seq: 1 })
      await p.run(1000)
      p.expectNothing()
      expect(p.stack.connections()).toEqual([])
      expect(internal).toEqual([])
    }
  })
})
