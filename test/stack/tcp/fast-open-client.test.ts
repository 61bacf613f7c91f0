// TCP Fast Open, the client's side (RFC 7413 4.1.3, 4.2.1, 4.2.2): the test plays the
// server in packets, in virtual time. A first connection asks for a cookie; later ones
// carry it and data in their SYN; what the SYN,ACK leaves unacknowledged goes again.
import { describe, expect, it } from 'vitest'
import type { Socket } from '../../../src/stack/socket/socket'
import { TCPI_OPT } from '../../../src/stack/tcp-info'
import { DEFAULT_TCP_CONFIG } from '../../../src/stack/tcp/config'
import { FastOpenCache } from '../../../src/stack/tcp/fast-open-cache'
import { ICMP_CODE_FRAG_NEEDED, ICMP_DEST_UNREACHABLE, buildIcmpPacket } from '../../../src/stack/wire/icmp'
import { PEER, PacketPeer } from '../../helpers/packet-peer'
import { runFor, settle } from '../../helpers/virtual-time'
import { B, collect, twoStacks } from '../../helpers/two-stacks'
import { SYN, type TcpSegment } from '../../../src/stack/wire/tcp'

const SERVER_PORT = 8080
const COOKIE = Uint8Array.from([0xab, 0xcd, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc])

/** A stack that connects out; the test is the server at PEER:8080. */
function client(tcp = {}) {
  const p = new PacketPeer({ tcp })
  p.peerPort = SERVER_PORT
  return p
}

/** connect({ fastOpen }) and, when the SYN goes at once, learn the stack's port from it. */
function connect(p: PacketPeer): Socket {
  const socket = p.stack.connect({ host: PEER, port: SERVER_PORT, fastOpen: true })
  socket.on('error', () => {})
  p.localPort = socket.localPort
  p.iss = null // a new connection: its ISS comes with its SYN
  return socket
}

/** The first connection: a cookie request, answered with COOKIE and MSS `mss`; then closed by RST. */
async function warmUp(p: PacketPeer, mss = 1460): Promise<void> {
  const socket = connect(p)
  await settle()
  const syn = p.expect('S', { seq: 0, len: 0 })
  expect(syn.options.fastOpen?.cookie.length).toBe(0) // an empty option: a request (4.1.1)
  await p.send('S.', { seq: 0, ack: 1, options: { mss, fastOpen: { cookie: COOKIE, experimental: false } } })
  p.expect('.', { seq: 1, ack: 1 })
  expect(socket.info().options & TCPI_OPT.SYN_DATA).toBe(0)
  socket.destroy()
  await settle()
  p.expect('R', { seq: 1 })
}

describe('TCP Fast Open client (RFC 7413)', () => {
  it('asks for a cookie, then sends it with data in the SYN; the SYN,ACK acknowledges the data (4.2.1)', async () => {
    const p = client()
    await warmUp(p, 940)
    const socket = connect(p)
    await settle()
    p.expectNothing() // the SYN waits for the first write (TCP_FASTOPEN_CONNECT)
    expect(socket.synDataRoom).toBe(900) // the cached MSS 940, less 40 bytes kept for options
    socket.write('x'.repeat(1500))
    await settle()
    const syn = p.expect('S', { seq: 0, len: 900 })
    expect(Buffer.from(syn.options.fastOpen!.cookie)).toEqual(Buffer.from(COOKIE))
    await p.send('S.', { seq: 0, ack: 901, options: { mss: 1460 } })
    // The rest of the write goes at once, and carries the ACK of the SYN,ACK.
    p.expect('P.', { seq: 901, ack: 1, len: 600 })
    p.expectNothing()
    expect(socket.state).toBe('ESTABLISHED')
    expect(socket.info().options & TCPI_OPT.SYN_DATA).toBe(TCPI_OPT.SYN_DATA)
  })

  it('sends again, once ESTABLISHED, the SYN data a server without Fast Open did not acknowledge (4.2.2)', async () => {
    const p = client()
    await warmUp(p)
    const socket = connect(p)
    socket.write('y'.repeat(1000))
    await settle()
    p.expect('S', { seq: 0, len: 1000 })
    await p.send('S.', { seq: 0, ack: 1, options: { mss: 1460 } })
    p.expect('P.', { seq: 1, ack: 1, len: 1000 })
    p.expectNothing()
    expect(socket.info().options & TCPI_OPT.SYN_DATA).toBe(0)
    expect(socket.info().total_retrans).toBe(1)
  })

  it('sends again only the part of the SYN data left unacknowledged', async () => {
    const p = client()
    await warmUp(p)
    const socket = connect(p)
    socket.write('z'.repeat(18))
    await settle()
    p.expect('S', { seq: 0, len: 18 })
    await p.send('S.', { seq: 0, ack: 10, options: { mss: 1460 } })
    p.expect('P.', { seq: 10, ack: 1, len: 9 })
    expect(socket.info().options & TCPI_OPT.SYN_DATA).toBe(0)
  })

  it('retransmits a plain SYN, without the option or the data, when the SYN with data times out', async () => {
    const p = client()
    await warmUp(p)
    const socket = connect(p)
    socket.write('w'.repeat(1000))
    await settle()
    p.expect('S', { seq: 0, len: 1000 })
    await p.run(1000)
    const retry = p.expect('S', { seq: 0, len: 0 })
    expect(retry.options.fastOpen).toBeUndefined()
    // Only the plain SYN got through: nothing of the data is acknowledged, so it goes again.
    await p.send('S.', { seq: 0, ack: 1, options: { mss: 1460 } })
    p.expect('P.', { seq: 1, ack: 1, len: 1000 })
    expect(socket.state).toBe('ESTABLISHED')
    expect(socket.info().delivered).toBe(1) // the SYN only
    await p.send('.', { seq: 1, ack: 1001 })
    expect(socket.info().delivered).toBe(2)
  })

  it('after two SYNs with data lost in a row, sends plain SYNs to that server for a while (RFC 7413 4.1.3.2)', async () => {
    const p = client()
    await warmUp(p)
    for (let i = 0; i < 2; i++) {
      const socket = connect(p)
      socket.write('l'.repeat(100))
      await settle()
      p.expect('S', { seq: 0, len: 100 })
      await p.run(1000)
      p.expect('S', { seq: 0, len: 0 }) // the retry: plain
      await p.send('S.', { seq: 0, ack: 1, options: { mss: 1460 } }) // only the plain SYN got there
      p.expect('P.', { seq: 1, ack: 1, len: 100 })
      socket.destroy()
      await settle()
      p.takeAll()
    }
    const next = connect(p)
    await settle()
    expect(next.synDataRoom).toBeNull() // no waiting for data: the SYN went at once
    expect(p.expect('S', { seq: 0, len: 0 }).options.fastOpen).toBeUndefined()
    await p.run(240_000) // 60 s << 2 later the server gets data in SYNs again
    next.destroy()
    p.takeAll()
    expect(connect(p).synDataRoom).toBe(1420)
  })

  it('accepts a SYN,ACK that acknowledges the data of the first SYN after a plain SYN retry', async () => {
    const p = client()
    await warmUp(p)
    const socket = connect(p)
    socket.write('v'.repeat(100))
    await settle()
    p.expect('S', { seq: 0, len: 100 })
    await p.run(1000)
    p.expect('S', { seq: 0, len: 0 })
    await p.send('S.', { seq: 0, ack: 101, options: { mss: 1460 } })
    p.expect('.', { seq: 101, ack: 1 })
    expect(socket.info().options & TCPI_OPT.SYN_DATA).toBe(TCPI_OPT.SYN_DATA)
  })

  it('answers a SYN,ACK that acknowledges more than the SYN carried with a RST, and keeps the cookie', async () => {
    const p = client()
    await warmUp(p)
    const socket = connect(p)
    socket.write('u'.repeat(100))
    await settle()
    p.expect('S', { seq: 0, len: 100 })
    await p.send('S.', { seq: 0, ack: 100_101, options: { mss: 1460 } })
    p.expect('R', { seq: 100_101 })
    expect(socket.state).toBe('SYN-SENT')
    socket.destroy()
    const next = connect(p)
    next.write('t')
    await settle()
    const syn = p.expect('S', { seq: 0, len: 1 })
    expect(Buffer.from(syn.options.fastOpen!.cookie)).toEqual(Buffer.from(COOKIE))
  })

  it('answers fragmentation needed for its SYN with data with a plain SYN at once, offering the MSS the path takes (RFC 1191)', async () => {
    const p = client()
    await warmUp(p)
    const socket = connect(p)
    socket.write('m'.repeat(1000))
    await settle()
    const syn = p.link.sent[0]!
    p.expect('S', { seq: 0, len: 1000 })
    // A router on the path: next-hop MTU 800, quoting our SYN's headers.
    p.link.inject(buildIcmpPacket({ src: 0x0a000063, dst: 0x0a000002, type: ICMP_DEST_UNREACHABLE, code: ICMP_CODE_FRAG_NEEDED, rest: 800, body: syn.subarray(0, 28) }))
    await settle()
    const retry = p.expect('S', { seq: 0, len: 0 })
    expect(retry.options.mss).toBe(760)
    expect(retry.options.fastOpen).toBeUndefined()
    await p.send('S.', { seq: 0, ack: 1, options: { mss: 1040 } })
    // The data follows the handshake, in segments that fit the path.
    p.expect('.', { seq: 1, ack: 1, len: 760 })
    p.expect('P.', { seq: 761, ack: 1, len: 240 })
    expect(socket.state).toBe('ESTABLISHED')
  })

  it('ignores a cookie it did not ask for, and takes the data on the SYN,ACK (3.10.7.3)', async () => {
    const p = client()
    const socket = p.stack.connect({ host: PEER, port: SERVER_PORT }) // no Fast Open
    p.localPort = socket.localPort
    await settle()
    const syn = p.expect('S', { seq: 0, len: 0 })
    expect(syn.options.fastOpen).toBeUndefined()
    await p.send('S.', { seq: 0, ack: 1, data: 'hello', options: { mss: 1460, fastOpen: { cookie: COOKIE, experimental: false } } })
    p.expect('.', { seq: 1, ack: 6 })
    expect(socket.read()?.toString()).toBe('hello')
    const second = connect(p)
    await settle()
    expect(second.synDataRoom).toBeNull()
    expect(p.expect('S', { seq: 0, len: 0 }).options.fastOpen?.cookie.length).toBe(0) // still asking
  })

  it('asks in the experimental form (254, 0xF989) once the RFC form went unanswered, then back for good', async () => {
    const p = client()
    const forms: boolean[] = []
    for (let i = 0; i < 4; i++) {
      const socket = connect(p)
      await settle()
      const syn = p.expect('S', { seq: 0, len: 0 })
      forms.push(syn.options.fastOpen!.experimental)
      await p.send('S.', { seq: 0, ack: 1, options: { mss: 1460 } })
      p.expect('.', { seq: 1, ack: 1 })
      socket.destroy()
      await settle()
      p.takeAll()
    }
    expect(forms).toEqual([false, true, false, false])
  })

  it('with clientNoCookie (tcp_fastopen 0x4) sends data in the SYN with no option at all', async () => {
    const p = client({ fastOpen: { ...DEFAULT_TCP_CONFIG.fastOpen, clientNoCookie: true } })
    const socket = connect(p)
    expect(socket.synDataRoom).toBe(1420)
    socket.write('n'.repeat(500))
    await settle()
    const syn = p.expect('S', { seq: 0, len: 500 })
    expect(syn.options.fastOpen).toBeUndefined()
    await p.send('S.', { seq: 0, ack: 501, options: { mss: 1460 } })
    p.expect('.', { seq: 501, ack: 1 })
    expect(socket.info().options & TCPI_OPT.SYN_DATA).toBe(TCPI_OPT.SYN_DATA)
  })

  it('sends the waiting SYN, without data, when the application ends before writing', async () => {
    const p = client()
    await warmUp(p)
    const socket = connect(p)
    socket.end()
    await settle()
    const syn = p.expect('S', { seq: 0, len: 0 })
    expect(syn.options.fastOpen?.cookie.length).toBe(COOKIE.length)
    await p.send('S.', { seq: 0, ack: 1, options: { mss: 1460 } })
    p.expect('.', { seq: 1, ack: 1 })
    p.expect('F.', { seq: 1, ack: 1 })
  })

  it('is an ordinary handshake when the stack has Fast Open off for clients', async () => {
    const p = client({ fastOpen: { ...DEFAULT_TCP_CONFIG.fastOpen, client: false } })
    connect(p)
    await settle()
    expect(p.expect('S', { seq: 0, len: 0 }).options.fastOpen).toBeUndefined()
  })
})

describe('TCP Fast Open between two tuntcp stacks', () => {
  it('the second connection carries its request in the SYN, and the server has it before the handshake ends', async () => {
    const net = twoStacks()
    const got: Array<{ state: string; data: string }> = []
    net.b.createServer(socket => {
      const entry = { state: socket.state, data: '' }
      got.push(entry)
      socket.on('data', (d: Buffer) => { entry.data += d.toString() })
      socket.on('end', () => socket.end(`got ${entry.data.length}`))
    }).listen({ port: 80, fastOpen: 8 })
    const syns: TcpSegment[] = []
    net.a.on('segment', (dir: string, { seg }: { seg: TcpSegment }) => { if (dir === 'out' && seg.flags & SYN) syns.push(seg) })
    const replies: string[] = []
    for (const request of ['first request', 'second request']) {
      const socket = net.a.connect({ host: B, port: 80, fastOpen: true })
      const reply = collect(socket)
      socket.end(request)
      await runFor(net.clock, 100)
      expect(reply.ended()).toBe(true)
      replies.push(reply.data().toString())
      expect((socket.info().options & TCPI_OPT.SYN_DATA) !== 0).toBe(request === 'second request')
    }
    expect(replies).toEqual(['got 13', 'got 14'])
    expect(syns.map(s => [s.options.fastOpen?.cookie.length, s.payload.length])).toEqual([[0, 0], [8, 14]])
    expect(got).toEqual([{ state: 'ESTABLISHED', data: 'first request' }, { state: 'SYN-RECEIVED', data: 'second request' }])
  })
})

describe('FastOpenCache', () => {
  it('keeps the last cookie and MSS per address, bounded, least recently used out first', () => {
    const cache = new FastOpenCache(2)
    const lesson = { mss: 1000, cookie: { bytes: COOKIE, experimental: false }, synLost: false, tryExp: 0 as const }
    cache.learn(1, lesson, 0)
    cache.learn(2, { ...lesson, mss: 0, cookie: null }, 0)
    expect(cache.get(1)?.mss).toBe(1000)
    cache.learn(3, lesson, 0) // 2 was used least recently
    expect(cache.size).toBe(2)
    expect(cache.get(2)).toBeUndefined()
    expect(cache.get(1)?.cookie).toEqual(COOKIE)
  })

  it('holds back data in SYNs to a server after two losses in a row, for 60 s << losses', () => {
    const cache = new FastOpenCache()
    const lost = { mss: 0, cookie: null, synLost: true, tryExp: 0 as const }
    cache.learn(9, lost, 0)
    expect(cache.synDataBlocked(9, 1)).toBe(false)
    cache.learn(9, lost, 1000)
    expect(cache.synDataBlocked(9, 1001)).toBe(true)
    expect(cache.synDataBlocked(9, 1000 + 240_000)).toBe(false)
    cache.learn(9, { ...lost, synLost: false }, 2000)
    expect(cache.synDataBlocked(9, 2001)).toBe(false)
  })
})
