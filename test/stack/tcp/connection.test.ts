// Whole connections between two stacks in virtual time: opening, data, and
// every way of closing, with both ends' state histories. Each scenario runs
// over IPv4 and over IPv6: the TCP layer is the same, only the IP header and
// the addresses differ. What is IPv6's own (its header, ICMPv6, dual stack)
// is in ipv6.test.ts.
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { Socket } from '../../../src/stack/socket/socket'
import { A, A6, B, B6, bytes, collect, errorsOf, histories, twoStacks } from '../../helpers/two-stacks'
import { runFor, runUntil, settle } from '../../helpers/virtual-time'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

/**
 * The address families every scenario below runs over: whether the two stacks get IPv6
 * addresses, A's and B's address in the family, and where the TCP flags byte lies in a
 * packet (13 bytes into the TCP header, after a 20-byte IPv4 or a 40-byte IPv6 header).
 */
const families = [
  { family: 'IPv4', ipv6: false, hostA: A, hostB: B, tcpFlagsAt: 20 + 13 },
  { family: 'IPv6', ipv6: true, hostA: A6, hostB: B6, tcpFlagsAt: 40 + 13 },
]

describe.each(families)('opening over $family', ({ ipv6, hostA, hostB }) => {
  it('connects A to a listener on B: SYN, SYN,ACK, ACK (9293 3.5)', async () => {
    const net = twoStacks({}, 1, ipv6)
    const h = histories(net)
    let accepted: Socket | undefined
    net.b.createServer(s => { accepted = s }).listen(7)
    const sock = net.a.connect({ host: hostB, port: 7 })
    let connected = false
    sock.on('connect', () => { connected = true })
    await runFor(net.clock, 10)
    expect(connected).toBe(true)
    expect(accepted?.remoteAddress).toBe(hostA)
    expect(accepted?.remotePort).toBe(sock.localPort)
    expect(sock.localPort).toBeGreaterThanOrEqual(32768)
    expect(h.a).toEqual(['CLOSED -> SYN-SENT', 'SYN-SENT -> ESTABLISHED'])
    expect(h.b).toEqual(['LISTEN -> SYN-RECEIVED', 'SYN-RECEIVED -> ESTABLISHED'])
  })

  it('reports ECONNREFUSED for a port nobody listens on', async () => {
    const net = twoStacks({}, 1, ipv6)
    const sock = net.a.connect({ host: hostB, port: 9999 })
    const errors: string[] = []
    sock.on('error', e => errors.push((e as NodeJS.ErrnoException).code!))
    await runFor(net.clock, 10)
    expect(errors).toEqual(['ECONNREFUSED'])
    expect(net.a.connections()).toEqual([])
  })

  it('completes a simultaneous open: both SYN-SENT -> SYN-RECEIVED -> ESTABLISHED (9293 3.5 figure 7)', async () => {
    const net = twoStacks({}, 1, ipv6)
    const h = histories(net)
    const x = net.a.connect({ host: hostB, port: 5000, localPort: 6000 })
    const y = net.b.connect({ host: hostA, port: 6000, localPort: 5000 })
    await runFor(net.clock, 2000)
    expect(x.state).toBe('ESTABLISHED')
    expect(y.state).toBe('ESTABLISHED')
    expect(h.a).toEqual(['CLOSED -> SYN-SENT', 'SYN-SENT -> SYN-RECEIVED', 'SYN-RECEIVED -> ESTABLISHED'])
    expect(h.b).toEqual(['CLOSED -> SYN-SENT', 'SYN-SENT -> SYN-RECEIVED', 'SYN-RECEIVED -> ESTABLISHED'])
    x.write('ping')
    const got = collect(y)
    await runFor(net.clock, 100)
    expect(got.data().toString()).toBe('ping')
  })
})

describe.each(families)('a CLOSE in SYN-RECEIVED over $family', ({ ipv6, hostA, hostB, tcpFlagsAt }) => {
  it('keeps retransmitting the SYN,ACK when it was lost, then closes cleanly (9293 3.10.4)', async () => {
    const net = twoStacks({}, 1, ipv6)
    const internal: unknown[] = []
    net.a.on('internal-error', e => internal.push(e))
    net.b.on('internal-error', e => internal.push(e))
    const x = net.a.connect({ host: hostB, port: 5000, localPort: 6000 })
    const y = net.b.connect({ host: hostA, port: 6000, localPort: 5000 })
    for (const s of [x, y]) s.on('error', () => {})
    // Lose the first SYN,ACK each way: both ends wait in SYN-RECEIVED, and A closes there.
    let dropped = 0
    const isSynAck = (packet: Uint8Array) => (packet[tcpFlagsAt]! & 0x12) === 0x12
    const loseFirstSynAck = () => {
      let lost = false
      return (packet: Uint8Array) => (isSynAck(packet) && !lost ? ((lost = true), dropped++, false) : true)
    }
    net.linkA.onSend = loseFirstSynAck()
    net.linkB.onSend = loseFirstSynAck()
    await runFor(net.clock, 100)
    expect([x.state, y.state]).toEqual(['SYN-RECEIVED', 'SYN-RECEIVED'])
    // Lose A's first FIN too, so only A's retransmission timer can move things on.
    const keep = net.linkA.onSend
    let finLost = false
    net.linkA.onSend = packet => (packet[tcpFlagsAt]! & 0x01 && !finLost ? ((finLost = true), false) : keep!(packet))
    x.end()
    await runFor(net.clock, 100)
    expect(x.state).toBe('FIN-WAIT-1')
    // The retransmission from ISS is the SYN,ACK again (not data from before the buffer), then the FIN.
    await runFor(net.clock, 10_000)
    expect(internal).toEqual([])
    expect([dropped, finLost]).toEqual([2, true])
    expect(y.state).not.toBe('SYN-RECEIVED')
    expect(['FIN-WAIT-2', 'TIME-WAIT', 'CLOSED']).toContain(x.state)
  })
})

describe.each(families)('data over $family', ({ ipv6, hostB }) => {
  it('echoes 1 MiB intact both ways (SHA-256)', async () => {
    const net = twoStacks({}, 1, ipv6)
    net.b.createServer({ allowHalfOpen: true }, s => s.pipe(s)).listen(7)
    const sock = net.a.connect({ host: hostB, port: 7 })
    const got = collect(sock)
    const data = bytes(1 << 20)
    sock.end(data)
    await runUntil(net.clock, () => got.ended())
    expect(sha(got.data())).toBe(sha(data))
    expect(net.a.counters.drops['internal-error']).toBeUndefined()
    expect(net.b.counters.drops['internal-error']).toBeUndefined()
  })

  it('write() returns false when the send buffer is full and drains later (backpressure)', async () => {
    const net = twoStacks({ tcp: { sndBufSize: 16 * 1024 } }, 1, ipv6)
    net.b.createServer(s => s.resume()).listen(9)
    const sock = net.a.connect({ host: hostB, port: 9 })
    await runFor(net.clock, 10)
    let ok = true
    let writes = 0
    while (ok && writes < 100) {
      ok = sock.write(bytes(4096, writes))
      writes++
    }
    expect(ok).toBe(false)
    let drained = false
    sock.on('drain', () => { drained = true })
    await runFor(net.clock, 100)
    expect(drained).toBe(true)
  })
})

// IPv4 only: the bound on what B holds is exact for IPv4's segment sizes. Over IPv6 (MSS
// 1500 - 60 - 12) B ends up holding a few bytes more than its buffer, less than one unit
// of the window scale, since the window field is rounded up (RFC 7323 2.3, windowToAdvertise in tcb.ts).
describe('a closed window over IPv4', () => {
  it('a paused reader closes the window, the sender probes, and nothing is lost (9293 3.8.6.1)', async () => {
    // A 256 KiB receive buffer: a scaled window (shift 3, as 65535 << 2 falls 4 bytes short) that closes to zero.
    const net = twoStacks({ tcp: { rcvBufSize: 256 * 1024 } })
    let server: Socket | undefined
    net.b.createServer(s => { server = s; s.pause() }).listen(9)
    const sock = net.a.connect({ host: B, port: 9 })
    const data = bytes(600_000)
    sock.end(data)
    await runFor(net.clock, 5_000)
    // B holds at most its receive buffer; A is blocked by the zero window and probing.
    expect(server!.readableLength).toBeLessThanOrEqual(256 * 1024)
    expect(net.b.connections()[0]!.recvQueue).toBeGreaterThan(250_000)
    const segmentsBefore = net.a.counters.segmentsOut
    await runFor(net.clock, 20_000)
    expect(net.a.counters.segmentsOut).toBeGreaterThan(segmentsBefore) // persist probes
    const got = collect(server!)
    server!.resume()
    await runUntil(net.clock, () => got.ended())
    expect(sha(got.data())).toBe(sha(data))
  })
})

describe.each(families)('closing between two stacks over $family', ({ ipv6, hostA, hostB }) => {
  /** A connected to a server on B's port 9, established: the two stacks, A's socket and B's. */
  async function established() {
    const net = twoStacks({}, 1, ipv6)
    let accepted: Socket | undefined
    net.b.createServer(s => { accepted = s }).listen(9)
    const sock = net.a.connect({ host: hostB, port: 9 })
    await runFor(net.clock, 10)
    return { net, sock, server: accepted! }
  }

  it('client closes first: A FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT for 2MSL; B CLOSE-WAIT, LAST-ACK, CLOSED', async () => {
    const net = twoStacks({}, 1, ipv6)
    const h = histories(net)
    net.b.createServer(s => s.resume()).listen(9)
    const sock = net.a.connect({ host: hostB, port: 9 })
    sock.resume()
    await runFor(net.clock, 10)
    sock.end()
    await runFor(net.clock, 1000)
    expect(h.a.slice(2)).toEqual(['ESTABLISHED -> FIN-WAIT-1', 'FIN-WAIT-1 -> FIN-WAIT-2', 'FIN-WAIT-2 -> TIME-WAIT'])
    expect(h.b.slice(2)).toEqual(['ESTABLISHED -> CLOSE-WAIT', 'CLOSE-WAIT -> LAST-ACK', 'LAST-ACK -> CLOSED'])
    expect(net.a.connections()).toMatchObject([{ state: 'TIME-WAIT', localAddress: hostA, remoteAddress: hostB }])
    await runFor(net.clock, 60_000)
    expect(h.a.at(-1)).toBe('TIME-WAIT -> CLOSED')
    expect(net.a.connections()).toEqual([])
  })

  it('server closes first (daytime-like): B takes the active close and holds TIME-WAIT', async () => {
    const net = twoStacks({}, 1, ipv6)
    const h = histories(net)
    net.b.createServer(s => s.end('Wednesday, November 25, 2026\r\n')).listen(13)
    const sock = net.a.connect({ host: hostB, port: 13 })
    const got = collect(sock)
    await runFor(net.clock, 1000)
    expect(got.data().toString()).toBe('Wednesday, November 25, 2026\r\n')
    expect(h.b.slice(2)).toEqual(['ESTABLISHED -> FIN-WAIT-1', 'FIN-WAIT-1 -> FIN-WAIT-2', 'FIN-WAIT-2 -> TIME-WAIT'])
    expect(h.a.slice(2)).toEqual(['ESTABLISHED -> CLOSE-WAIT', 'CLOSE-WAIT -> LAST-ACK', 'LAST-ACK -> CLOSED'])
  })

  it('both close at once: FIN-WAIT-1 -> CLOSING -> TIME-WAIT on both sides', async () => {
    const net = twoStacks({}, 1, ipv6)
    const h = histories(net)
    let server: Socket | undefined
    net.b.createServer(s => { server = s }).listen(9)
    const sock = net.a.connect({ host: hostB, port: 9 })
    await runFor(net.clock, 10)
    sock.end()
    server!.end()
    await runFor(net.clock, 1000)
    const closing = ['ESTABLISHED -> FIN-WAIT-1', 'FIN-WAIT-1 -> CLOSING', 'CLOSING -> TIME-WAIT']
    expect(h.a.slice(2)).toEqual(closing)
    expect(h.b.slice(2)).toEqual(closing)
    await runFor(net.clock, 60_000)
    expect(net.a.connections()).toEqual([])
    expect(net.b.connections()).toEqual([])
  })

  it('half-close: data keeps flowing to the side that sent FIN', async () => {
    const net = twoStacks({}, 1, ipv6)
    net.b.createServer({ allowHalfOpen: true }, s => {
      s.resume()
      s.on('end', () => {
        // The client is done sending; we still answer, then close.
        s.write('after your FIN ')
        setImmediate(() => s.end('bye'))
      })
    }).listen(9)
    const sock = net.a.connect({ host: hostB, port: 9, allowHalfOpen: true })
    const got = collect(sock)
    await runFor(net.clock, 10)
    sock.end('request')
    await runUntil(net.clock, () => got.ended())
    expect(got.data().toString()).toBe('after your FIN bye')
  })

  it('a RST from the client aborts the server with ECONNRESET', async () => {
    const { net, sock, server } = await established()
    const errors = errorsOf(server)
    sock.destroy()
    await runFor(net.clock, 10)
    expect(errors).toEqual(['ECONNRESET'])
    expect(net.b.connections()).toEqual([])
  })

  it('a RST from the server aborts the client with ECONNRESET; a closed port beside it refuses with RST', async () => {
    const { net, sock, server } = await established()
    const errors = errorsOf(sock)
    server.destroy()
    await runFor(net.clock, 10)
    expect(errors).toEqual(['ECONNRESET'])
    const refused = net.a.connect({ host: hostB, port: 9999 })
    const refusedErrors = errorsOf(refused)
    await runFor(net.clock, 10)
    expect(refusedErrors).toEqual(['ECONNREFUSED'])
  })
})

describe.each(families)('shutdown over $family', ({ ipv6, hostB }) => {
  it('ends every connection gracefully and stops every timer', async () => {
    const net = twoStacks({}, 1, ipv6)
    net.b.createServer(s => s.resume()).listen(9)
    const socks = [0, 1, 2].map(() => net.a.connect({ host: hostB, port: 9 }))
    for (const s of socks) s.resume()
    await runFor(net.clock, 10)
    const done = net.b.shutdown(2000)
    let finished = false
    void done.then(() => { finished = true })
    await runFor(net.clock, 100)
    await settle()
    expect(finished).toBe(true)
    expect(net.b.connections().every(c => c.state === 'TIME-WAIT')).toBe(true)
    expect(net.a.connections().every(c => c.state === 'CLOSE-WAIT' || c.state === 'LAST-ACK' || c.state === 'CLOSED')).toBe(true)
  })
})
