// SYN cookies (RFC 4987 3.6) and the bounds on what a listener holds: a SYN
// flood fills the SYN queue, and a real client still gets in through a cookie.
import { describe, expect, it } from 'vitest'
import { SeededRandom } from '../../../src/stack/random'
import type { Socket } from '../../../src/stack/socket/socket'
import type { StackOptions } from '../../../src/stack/stack'
import { COOKIE_MSS_TABLE, SynCookies } from '../../../src/stack/tcp/syn-cookies'
import { SYN, buildTcpPacket } from '../../../src/stack/wire/tcp'
import { PacketPeer } from '../../helpers/packet-peer'
import { settle } from '../../helpers/virtual-time'

const PEER_ISN = 0x7000_0000 // the PacketPeer's ISN

describe('SynCookies: the encoding', () => {
  const cookies = new SynCookies(new SeededRandom(1))
  const t = { localAddr: 0x0a000002, localPort: 80, remoteAddr: 0x0a000001, remotePort: 40_000 }
  const now = 5 * 60_000 + 123

  it('checks a cookie it made and returns the MSS it encoded, rounded down to the table', () => {
    for (const [mss, want] of [[1460, 1460], [1400, 1300], [9000, 1460], [536, 536], [undefined, 536], [100, 536]] as const) {
      const cookie = cookies.make(t, 12345, mss, now)
      expect(cookies.check(t, cookie, 12345, now)).toBe(want)
    }
    expect(COOKIE_MSS_TABLE).toEqual([536, 1300, 1440, 1460])
  })

  it('refuses another 4-tuple, another peer ISN, a changed bit', () => {
    const cookie = cookies.make(t, 777, 1460, now)
    expect(cookies.check({ ...t, remotePort: 40_001 }, cookie, 777, now)).toBeNull()
    expect(cookies.check({ ...t, remoteAddr: 0x0a000009 }, cookie, 777, now)).toBeNull()
    expect(cookies.check(t, cookie, 778, now)).toBeNull()
    expect(cookies.check(t, (cookie ^ 1) >>> 0, 777, now)).toBeNull()
  })

  it('expires: accepted for up to two minutes of its count, not after', () => {
    const made = 10 * 60_000 // the start of a minute
    const cookie = cookies.make(t, 1, 1460, made)
    expect(cookies.check(t, cookie, 1, made + 119_999)).toBe(1460)
    expect(cookies.check(t, cookie, 1, made + 120_000)).toBeNull()
  })

  it('is keyed: another stack (another secret) does not accept it', () => {
    const other = new SynCookies(new SeededRandom(2))
    expect(other.check(t, cookies.make(t, 1, 1460, now), 1, now)).toBeNull()
  })

  it('wraps the sequence space cleanly (ISNs near 2^32)', () => {
    for (const isn of [0, 0xffff_ffff, 0x8000_0000, 0x7fff_ffff]) {
      expect(cookies.check(t, cookies.make(t, isn, 1440, now), isn, now)).toBe(1440)
    }
  })
})

/** A server on port 80 that records its sockets; `synBacklog` small so a flood is a few SYNs. */
async function listening(options: Partial<StackOptions> = {}, serverOptions: { maxConnections?: number } = {}) {
  const p = new PacketPeer({ ...options, tcp: { synBacklog: 4, ...options.tcp } })
  const sockets: Socket[] = []
  const received: string[] = []
  p.stack.createServer(serverOptions, s => {
    sockets.push(s)
    s.on('data', (d: Buffer) => received.push(d.toString()))
  }).listen(80)
  await settle()
  return { p, sockets, received }
}

/** Spoofed SYNs from ports that never answer. */
async function flood(p: PacketPeer, n: number, firstPort = 1000): Promise<void> {
  for (let i = 0; i < n; i++) await p.send('S', { seq: 0, port: firstPort + i, options: { mss: 1460 } })
}

describe('SYN flood (RFC 4987 3.6)', () => {
  it('answers SYNs beyond the full SYN queue with cookies, and holds no more state', async () => {
    const { p } = await listening()
    await flood(p, 100)
    let synAcks = 0
    for (let s = p.take(); s !== undefined; s = p.take()) synAcks++
    expect(synAcks).toBe(100) // every SYN answered: 4 from the queue, 96 with a cookie
    expect(p.stack.counters.synCookiesSent).toBe(96)
    expect(p.stack.connections()).toHaveLength(4)
    expect(p.stack.connectionsByState()).toEqual({ 'SYN-RECEIVED': 4 })
  })

  it('holds the default SYN queue (256) and no more through 10,000 SYNs from 10,000 ports', async () => {
    const { p } = await listening({ tcp: { synBacklog: 256 } })
    for (let i = 0; i < 10_000; i++) {
      p.link.inject(buildTcpPacket({
        src: 0x0a000100 + (i % 50), dst: 0x0a000002, srcPort: 1024 + i, dstPort: 80, seq: i * 7919, ack: 0,
        flags: SYN, window: 65535, options: { mss: 1460 },
      }))
    }
    await settle()
    expect(p.stack.connections()).toHaveLength(256)
    expect(p.stack.counters.synCookiesSent).toBe(10_000 - 256)
    expect(p.link.sent).toHaveLength(10_000) // every SYN answered
    expect(p.stack.counters.dropped).toBe(0)
  })

  it('lets a real client in through a cookie while the queue is full, and the connection works', async () => {
    const { p, sockets, received } = await listening()
    await flood(p, 10)
    while (p.take() !== undefined);
    await p.send('S', { seq: 0, options: { mss: 1400 } })
    const synAck = p.take()!
    expect(synAck.flags).toBe(0x12)
    expect(synAck.options).toEqual({ mss: 1460 }) // a cookie SYN,ACK offers the MSS only
    p.iss = synAck.seq
    await p.send('P.', { seq: 1, ack: 1, data: 'hello' }) // the ACK that returns the cookie carries data too
    expect(p.stack.counters.synCookiesAccepted).toBe(1)
    expect(sockets).toHaveLength(1)
    expect(sockets[0]!.state).toBe('ESTABLISHED')
    await settle()
    expect(received).toEqual(['hello'])
    // What the server sends is cut at the MSS the cookie carried (1400 -> 1300).
    sockets[0]!.write(new Uint8Array(3000))
    await settle()
    expect(p.take()!.payload.length).toBe(1300)
  })

  it('answers an ACK with a bad cookie with a RST <SEQ=SEG.ACK>, as Linux', async () => {
    const { p, sockets } = await listening()
    await flood(p, 10)
    while (p.take() !== undefined);
    p.iss = 0x1234_5678
    await p.send('.', { seq: 1, ack: 1 })
    p.expect('R', { seq: 1 })
    expect(p.stack.counters.drops['tcp-syn-cookie-bad']).toBe(1)
    expect(sockets).toHaveLength(0)
  })

  it('does not take cookies when none was sent recently (the ACK is answered with RST)', async () => {
    const { p } = await listening()
    await flood(p, 10)
    const cookieSeg = [...Array(10)].map(() => p.take()!).at(-1)!
    await p.run(3 * 60_000) // the queue drains (SYN,ACKs time out) and the cookies age out
    while (p.take() !== undefined);
    p.iss = cookieSeg.seq
    await p.send('.', { seq: 1, ack: 1, port: 1009 })
    p.expect('R', { seq: 1 })
    expect(p.stack.counters.drops['tcp-listen-ack']).toBe(1)
    expect(p.stack.counters.synCookiesAccepted).toBe(0)
  })

  it('with synCookies off, drops SYNs beyond the queue and counts them', async () => {
    const { p } = await listening({ tcp: { synCookies: false } })
    await flood(p, 10)
    let synAcks = 0
    while (p.take() !== undefined) synAcks++
    expect(synAcks).toBe(4)
    expect(p.stack.counters.drops['tcp-syn-queue-full']).toBe(6)
  })
})

describe('limits (bounded resources)', () => {
  it('per stack: maxConnections, beyond which a SYN is dropped and counted', async () => {
    const { p } = await listening({ tcp: { maxConnections: 2 } })
    await flood(p, 5)
    let synAcks = 0
    while (p.take() !== undefined) synAcks++
    expect(synAcks).toBe(2)
    expect(p.stack.counters.drops['tcp-too-many-connections']).toBe(3)
  })

  it('per listener: Server.maxConnections, as net.Server; a dropped SYN is retried by the client', async () => {
    const { p, sockets } = await listening({}, { maxConnections: 1 })
    await p.handshake()
    expect(sockets).toHaveLength(1)
    p.peerPort = 40_001
    await p.send('S', { seq: 0 })
    p.expectNothing()
    expect(p.stack.counters.drops['tcp-listener-full']).toBe(1)
    sockets[0]!.destroy()
    await settle()
    p.expect('R')
    p.iss = null
    await p.handshake() // the retried SYN gets in
    expect(sockets).toHaveLength(2)
  })

  it('per connection: at most maxOutOfOrderPieces out-of-order pieces; the highest go first', async () => {
    const { p, received } = await listening({ tcp: { maxOutOfOrderPieces: 4 } })
    await p.handshake()
    // One-byte segments with gaps between: 10 pieces would each cost far more than a byte.
    for (let i = 0; i < 10; i++) await p.send('.', { seq: 3 + 2 * i, ack: 1, data: String(i) })
    while (p.take() !== undefined);
    expect(p.stack.counters.drops['tcp-ofo-pruned']).toBe(6)
    expect(p.stack.connections()[0]!.recvQueue).toBe(4)
    // Fill the gaps up to the pieces kept: the stream up to there is delivered.
    for (const [seq, d] of [[1, 'a'], [2, 'b'], [4, 'c'], [6, 'd'], [8, 'e']] as const) {
      await p.send('.', { seq, ack: 1, data: d })
    }
    await settle()
    expect(received.join('')).toBe('ab0c1d2e3') // the stream up to the last piece kept
    expect(p.stack.connections()[0]!.recvQueue).toBe(0)
  })
})
