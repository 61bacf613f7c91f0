// TCP Fast Open, the server (RFC 7413 4.1.2, 4.2.2), in packets and virtual time: the
// test plays the client, asks for a cookie, then sends data in its SYN.
import { describe, expect, it } from 'vitest'
import { PacketPeer } from '../../helpers/packet-peer'
import { settle } from '../../helpers/virtual-time'
import type { Socket } from '../../../src/stack/socket/socket'
import { FastOpenCookies, parseFastOpenKey } from '../../../src/stack/tcp/fast-open'
import { siphash24 } from '../../../src/stack/tcp/siphash'
import { DEFAULT_TCP_CONFIG } from '../../../src/stack/tcp/config'
import { SeededRandom } from '../../../src/stack/random'
import { TCPI_OPT } from '../../../src/stack/tcp-info'
import type { TcpOptions } from '../../../src/stack/wire/tcp'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'))
const request = (experimental = false): TcpOptions => ({ mss: 1460, fastOpen: { cookie: new Uint8Array(0), experimental } })
const withCookie = (cookie: Uint8Array, experimental = false): TcpOptions => ({ mss: 1460, fastOpen: { cookie, experimental } })

/** A stack listening on port 80 with a Fast Open queue of `queue`, and the sockets it hands over, with what each read. */
async function tfoServer(queue = 4, tcp: Partial<typeof DEFAULT_TCP_CONFIG> = {}) {
  const p = new PacketPeer({ tcp })
  const accepted: Array<{ socket: Socket; stateAtAccept: string; data: string[] }> = []
  p.stack.createServer(socket => {
    const entry = { socket, stateAtAccept: socket.state, data: [] as string[] }
    socket.on('data', (d: Buffer) => entry.data.push(d.toString()))
    socket.on('error', () => {})
    accepted.push(entry)
  }).listen({ port: 80, fastOpen: queue })
  await settle()
  return { p, accepted }
}

/** Ask for a cookie on one connection and return it (the SYN,ACK's FO option). */
async function getCookie(p: PacketPeer, experimental = false): Promise<Uint8Array> {
  await p.send('S', { seq: 0, options: request(experimental) })
  const synAck = p.expect('S.', { seq: 0, ack: 1 })
  expect(synAck.options.fastOpen?.experimental).toBe(experimental)
  const cookie = synAck.options.fastOpen!.cookie
  await p.send('R', { seq: 1 })
  p.iss = null
  return cookie
}

describe('Fast Open cookies (RFC 7413 4.1.2)', () => {
  it('SipHash-2-4 gives the reference vector of its paper (appendix A)', () => {
    const key = Uint8Array.from({ length: 16 }, (_, i) => i)
    const k = (o: number) => BigInt('0x' + hex(key.slice(o, o + 8).reverse()))
    expect(siphash24(k(0), k(8), Uint8Array.from({ length: 15 }, (_, i) => i)).toString(16)).toBe('a129ca6149be45e5')
  })

  it("makes Linux's cookie for the same key and addresses (tcp_fastopen_key, defaults.sh's key)", () => {
    const c = new FastOpenCookies(new SeededRandom(1))
    const linux = { ...DEFAULT_TCP_CONFIG, fastOpenKey: 'a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4' }
    expect(hex(c.make(linux, 0xc0000201, 0xc0a80001))).toBe('3021b9d889017eeb') // 192.0.2.1 -> 192.168.0.1
    const other = { ...DEFAULT_TCP_CONFIG, fastOpenKey: 'a0bf63f7-ed803d81-cd641d30-cebc4a90' }
    expect(hex(c.make(other, 0x0af80002, 0xc0a80002))).toBe('00abaaabe8e954c2') // 10.248.0.2 -> 192.168.0.2
    // packetdrill's run_all.py passes Linux's cookies as TFO_COOKIE: IPv4 192.0.2.1 -> 192.168.0.2, and
    // IPv6 2001:db8::1 -> fd3d:fa7b:d17d:: (SipHash of the 16-byte source then destination, AF_INET6's layout).
    expect(hex(c.make(linux, 0xc0000201, 0xc0a80002))).toBe('de4f234f0f433a55')
    expect(hex(c.make(linux, '2001:db8::1', 'fd3d:fa7b:d17d::'))).toBe('6aa6ae70c288023b')
    expect(() => parseFastOpenKey('a1a1a1a1')).toThrow(RangeError)
  })

  it('checks a cookie under the primary key (1), the backup key (2), or neither (0)', () => {
    const c = new FastOpenCookies(new SeededRandom(1))
    const old = { ...DEFAULT_TCP_CONFIG, fastOpenKey: 'a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4' }
    const rotated = { ...DEFAULT_TCP_CONFIG, fastOpenKey: '0badc0de-5eed1234-600dcafe-7e577e57,a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4' }
    const given = c.make(old, 1, 2)
    expect(c.check(old, given, 1, 2)).toBe(1)
    expect(c.check(rotated, given, 1, 2)).toBe(2)
    expect(c.check(rotated, c.make(rotated, 1, 2), 1, 2)).toBe(1)
    expect(c.check(rotated, given, 1, 3)).toBe(0) // another server address
  })

  it('keys differ per stack without a configured key: a cookie from one stack is no good at another', () => {
    const a = new FastOpenCookies(new SeededRandom(1)).make(DEFAULT_TCP_CONFIG, 1, 2)
    const b = new FastOpenCookies(new SeededRandom(2)).make(DEFAULT_TCP_CONFIG, 1, 2)
    expect(a).toHaveLength(8)
    expect(hex(a)).not.toBe(hex(b))
  })
})

describe('a Fast Open listener (RFC 7413 4.2.2)', () => {
  it('answers a cookie request in the SYN,ACK, in the form it was asked (kind 34 or 254), and only on the first SYN,ACK', async () => {
    const { p } = await tfoServer()
    const cookie = await getCookie(p)
    expect(cookie).toHaveLength(8)
    const exp = await getCookie(p, true)
    expect(hex(exp)).toBe(hex(cookie))
    await p.send('S', { seq: 0, options: request() })
    expect(p.expect('S.', { ack: 1 }).options.fastOpen).toBeDefined()
    await p.run(1_100) // the SYN,ACK's retransmission carries no cookie, as Linux's
    expect(p.expect('S.', { ack: 1 }).options.fastOpen).toBeUndefined()
    expect(p.stack.counters.fastOpenCookieRequests).toBe(3)
  })

  it('takes the data of a SYN with a valid cookie: ACKed by the SYN,ACK, handed over in SYN-RECEIVED, TCPI_OPT_SYN_DATA', async () => {
    const { p, accepted } = await tfoServer()
    const cookie = await getCookie(p)
    await p.send('S', { seq: 0, options: withCookie(cookie), data: 'hello' })
    const synAck = p.expect('S.', { seq: 0, ack: 6 })
    expect(synAck.options.fastOpen).toBeUndefined() // a valid cookie is not sent again
    expect(accepted).toHaveLength(1)
    const a = accepted[0]!
    expect(a.stateAtAccept).toBe('SYN-RECEIVED')
    expect(a.data).toEqual(['hello'])
    expect(a.socket.info().options & TCPI_OPT.SYN_DATA).toBe(TCPI_OPT.SYN_DATA)
    expect(p.stack.counters.fastOpenPassive).toBe(1)
    // It may answer before the handshake ends (the data goes after the SYN,ACK).
    a.socket.write('world')
    await settle()
    p.expect('P.', { seq: 1, ack: 6, len: 5 })
    await p.send('.', { seq: 6, ack: 6 })
    expect(a.socket.state).toBe('ESTABLISHED')
    expect(accepted).toHaveLength(1) // not handed over twice
  })

  it('sends a whole initial window before the handshake ends: our SYN takes no room in cwnd (RFC 5681 FlightSize is data)', async () => {
    const { p, accepted } = await tfoServer()
    const cookie = await getCookie(p)
    await p.send('S', { seq: 0, options: withCookie(cookie), data: 'hello' })
    p.expect('S.', { ack: 6 })
    accepted[0]!.socket.write(Buffer.alloc(20 * 1460))
    await settle()
    const sent = p.takeAll()
    expect(sent.map(s => s.payload.length)).toEqual(Array(10).fill(1460)) // IW10 (RFC 6928), all full-sized
  })

  it('ignores the data of a SYN with a bad cookie: ACKs only the SYN and sends a fresh cookie; the client sends the data again', async () => {
    const { p, accepted } = await tfoServer()
    const good = await getCookie(p)
    await p.send('S', { seq: 0, options: withCookie(bytes('aaaaaaaaaaaaaaaa'), true), data: 'hello' })
    const synAck = p.expect('S.', { seq: 0, ack: 1 })
    expect(synAck.options.fastOpen).toEqual({ cookie: good, experimental: true })
    expect(accepted).toHaveLength(0)
    expect(p.stack.counters.fastOpenPassiveFail).toBe(1)
    await p.send('.', { seq: 1, ack: 1 })
    await p.send('P.', { seq: 1, ack: 1, data: 'hello' })
    expect(accepted.map(a => [a.stateAtAccept, a.data])).toEqual([['ESTABLISHED', ['hello']]])
    expect(accepted[0]!.socket.info().options & TCPI_OPT.SYN_DATA).toBe(0)
  })

  it('takes the data of a cookie valid under the backup key, and gives the cookie of the new primary key', async () => {
    const before = 'a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4'
    const { p, accepted } = await tfoServer(4, { fastOpenKey: before })
    const old = await getCookie(p)
    p.stack.tcpConfig.fastOpenKey = `0badc0de-5eed1234-600dcafe-7e577e57,${before}` // rotated: the old key is the backup
    await p.send('S', { seq: 0, options: withCookie(old), data: 'hi' })
    const synAck = p.expect('S.', { ack: 3 })
    expect(hex(synAck.options.fastOpen!.cookie)).not.toBe(hex(old))
    expect(accepted.map(a => a.data)).toEqual([['hi']])
  })

  it('hands over at once a SYN with a valid cookie and no data, which may then send first', async () => {
    const { p, accepted } = await tfoServer()
    const cookie = await getCookie(p)
    await p.send('S', { seq: 0, options: withCookie(cookie) })
    p.expect('S.', { ack: 1 })
    expect(accepted.map(a => a.stateAtAccept)).toEqual(['SYN-RECEIVED'])
    expect(accepted[0]!.socket.info().options & TCPI_OPT.SYN_DATA).toBe(0)
  })

  it('beyond its queue falls back to the three-way handshake: the data waits for the client to send it again (RFC 7413 5.1)', async () => {
    const { p, accepted } = await tfoServer(1)
    const cookie = await getCookie(p)
    await p.send('S', { seq: 0, options: withCookie(cookie), data: 'one' })
    p.expect('S.', { ack: 4 })
    p.iss = null
    await p.send('S', { seq: 0, port: 40_001, options: withCookie(cookie), data: 'two' })
    p.expect('S.', { ack: 1 }) // no room in the queue: the SYN only
    expect(accepted).toHaveLength(1)
    expect(p.stack.counters.fastOpenListenOverflow).toBe(1)
  })

  it('with serverNoCookie (tcp_fastopen 0x200) takes the data of any SYN, cookie or none', async () => {
    const { p, accepted } = await tfoServer(4, { fastOpen: { ...DEFAULT_TCP_CONFIG.fastOpen, serverNoCookie: true } })
    await p.send('S', { seq: 0, options: { mss: 1460 }, data: 'abc' })
    p.expect('S.', { ack: 4 })
    expect(accepted.map(a => a.data)).toEqual([['abc']])
  })

  it('a listener without Fast Open ignores the option and the data: a plain SYN,ACK', async () => {
    const p = new PacketPeer()
    p.stack.createServer(() => {}).listen(80)
    await settle()
    await p.send('S', { seq: 0, options: withCookie(bytes('0123456789abcdef'), true), data: 'hello' })
    expect(p.expect('S.', { ack: 1 }).options.fastOpen).toBeUndefined()
  })

  it('every listener has Fast Open with serverAllListeners (0x400), its backlog the queue; none when server is off', async () => {
    const all = new PacketPeer({ tcp: { fastOpen: { ...DEFAULT_TCP_CONFIG.fastOpen, serverAllListeners: true } } })
    all.stack.createServer(() => {}).listen({ port: 80, backlog: 1 })
    await settle()
    await all.send('S', { seq: 0, options: request() })
    expect(all.expect('S.').options.fastOpen?.cookie).toHaveLength(8)
    const off = new PacketPeer({ tcp: { fastOpen: { ...DEFAULT_TCP_CONFIG.fastOpen, server: false } } })
    off.stack.createServer(() => {}).listen({ port: 80, fastOpen: 8 })
    await settle()
    await off.send('S', { seq: 0, options: request() })
    expect(off.expect('S.').options.fastOpen).toBeUndefined()
  })

  it('a RST before the handshake ends resets the socket the application holds, which still reads the SYN data first', async () => {
    const { p, accepted } = await tfoServer()
    const cookie = await getCookie(p)
    await p.send('S', { seq: 0, options: withCookie(cookie), data: 'hello' })
    p.expect('S.', { ack: 6 })
    const errors: string[] = []
    accepted[0]!.socket.on('error', (e: Error & { code?: string }) => errors.push(e.code!))
    await p.send('R.', { seq: 6, ack: 1 })
    expect(accepted[0]!.data).toEqual(['hello'])
    expect(errors).toEqual(['ECONNRESET'])
    expect(accepted[0]!.socket.state).toBe('CLOSED')
  })

  it('setFastOpen() turns it on for a listening server (setsockopt TCP_FASTOPEN after listen), and refuses a bad length', async () => {
    const p = new PacketPeer()
    const server = p.stack.createServer(() => {}).listen(80)
    await settle()
    expect(() => server.setFastOpen(-1)).toThrow(/out of range/)
    server.setFastOpen(2)
    await p.send('S', { seq: 0, options: request() })
    expect(p.expect('S.').options.fastOpen?.cookie).toHaveLength(8)
    expect(() => p.stack.createServer().listen({ port: 81, fastOpen: 1.5 })).toThrow(/out of range/)
  })
})

describe('a Fast Open connection whose SYN,ACK is lost', () => {
  it('retransmits the SYN,ACK on the RTO, then the data sent after it once the SYN is ACKed (RFC 7413 4.2.2, RFC 6298)', async () => {
    const { p, accepted } = await tfoServer()
    const cookie = await getCookie(p)
    await p.send('S', { seq: 0, options: withCookie(cookie), data: 'hello' })
    p.expect('S.', { seq: 0, ack: 6 })
    accepted[0]!.socket.write('world')
    await settle()
    p.expect('P.', { seq: 1, ack: 6, len: 5 })
    await p.run(1_100)
    const again = p.takeAll().map(s => `${s.flags & 2 ? 'S.' : '.'} ${(s.seq - p.iss!) >>> 0} ${s.payload.length}`)
    expect(again[0]).toBe('S. 0 0') // the SYN,ACK first
    await p.send('.', { seq: 6, ack: 1 }) // the client has our SYN, not the data
    await p.run(2_100)
    const data = p.takeAll().filter(s => s.payload.length > 0).map(s => `${(s.seq - p.iss!) >>> 0}:${s.payload.length}`)
    expect(data[0]).toBe('1:5')
    await p.send('.', { seq: 6, ack: 6 })
    expect(accepted[0]!.socket.state).toBe('ESTABLISHED')
    expect(accepted[0]!.data).toEqual(['hello'])
  })
})
