// TCP over IPv6 between two stacks in virtual time: what is IPv6's own. The IPv6 header,
// the IPv6 pseudo header (RFC 8200 8.1), MSS = MTU - 60 (8.3), Packet Too Big (RFC 8201),
// ICMPv6 errors, what keys on the 16-byte addresses, and IPv4 beside it on the same stacks.
// Opening, data and every way of closing run over both families in connection.test.ts.
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { Socket } from '../../../src/stack/socket/socket'
import { onesComplementSum } from '../../../src/stack/wire/checksum'
import { ICMPV6_CODE_PORT_UNREACHABLE, ICMPV6_DEST_UNREACHABLE, ICMPV6_PACKET_TOO_BIG, buildIcmpv6Error } from '../../../src/stack/wire/icmpv6'
import { IPPROTO_TCP } from '../../../src/stack/wire/ipv4'
import { parseAddressV6, parseIPv6, pseudoHeaderSumV6 } from '../../../src/stack/wire/ipv6'
import { RST, SYN, buildTcpPacket, parseTcp, type TcpSegment } from '../../../src/stack/wire/tcp'
import { A, A6, B, B6, bytes, collect, errorsOf, twoStacks } from '../../helpers/two-stacks'
import { runFor, runUntil } from '../../helpers/virtual-time'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const noInternalErrors = (net: ReturnType<typeof twoStacks>) => {
  expect(net.a.counters.drops['internal-error']).toBeUndefined()
  expect(net.b.counters.drops['internal-error']).toBeUndefined()
}

/** Two stacks over IPv6 with A connected to a server on B's port 9, established; B's socket and A's. */
async function established(seed: number) {
  const net = twoStacks({}, seed, true)
  let accepted: Socket | undefined
  net.b.createServer(s => { accepted = s }).listen(9)
  const sock = net.a.connect({ host: B6, port: 9 })
  await runFor(net.clock, 10)
  return { net, sock, server: accepted! }
}

describe('TCP over IPv6 between two stacks', () => {
  it('connects over IPv6: IPv6 packets, the IPv6 pseudo header checksum, MSS = MTU - 60 (RFC 8200 8.1, 8.3)', async () => {
    const net = twoStacks({}, 1, true)
    const sent: Uint8Array[] = []
    net.linkA.onSend = p => { sent.push(p) }
    let accepted: Socket | undefined
    net.b.createServer(s => { accepted = s }).listen(7)
    const sock = net.a.connect({ host: B6, port: 7 })
    await runFor(net.clock, 10)
    expect(sock.state).toBe('ESTABLISHED')
    expect([sock.remoteAddress, sock.remoteFamily, sock.localAddress, sock.localFamily]).toEqual([B6, 'IPv6', A6, 'IPv6'])
    expect(accepted!.remoteAddress).toBe(A6)
    expect(accepted!.address()).toEqual({ address: B6, port: 7, family: 'IPv6' })
    const syn = parseIPv6(sent[0]!)
    expect(syn.ok).toBe(true)
    if (!syn.ok) return
    expect(syn.value.header.protocol).toBe(IPPROTO_TCP)
    const tcp = syn.value.payload
    // The whole segment sums to 0xffff with the IPv6 pseudo header: a valid checksum.
    expect(onesComplementSum(tcp, 0, tcp.length, pseudoHeaderSumV6(syn.value.header.src, syn.value.header.dst, IPPROTO_TCP, tcp.length))).toBe(0xffff)
    const seg = parseTcp(tcp, syn.value.header.src, syn.value.header.dst)
    expect(seg.ok && seg.value.options.mss).toBe(1500 - 60)
    expect(net.b.connections()[0]).toMatchObject({ localAddress: B6, remoteAddress: A6, state: 'ESTABLISHED' })
  })

  it("serves IPv4 and IPv6 at once on one listener, an IPv4 peer shown IPv4-mapped as net's dual-stack '::' does", async () => {
    const net = twoStacks({}, 7, true)
    const peers: string[] = []
    net.b.createServer(s => { peers.push(`${s.remoteFamily} ${s.remoteAddress}`); s.pipe(s) }).listen(7)
    const v4 = net.a.connect({ host: B, port: 7 })
    const v6 = net.a.connect({ host: B6, port: 7 })
    const got4 = collect(v4)
    const got6 = collect(v6)
    v4.end('four')
    v6.end('six')
    await runUntil(net.clock, () => got4.ended() && got6.ended())
    expect([got4.data().toString(), got6.data().toString()]).toEqual(['four', 'six'])
    expect(peers.sort()).toEqual([`IPv6 ::ffff:${A}`, `IPv6 ${A6}`])
    // The wire carried IPv4 all the same: the client's socket is a plain IPv4 one.
    expect([v4.remoteFamily, v4.remoteAddress]).toEqual(['IPv4', B])
  })

  it('lowers the MSS on a Packet Too Big quoting a segment in flight, resends smaller, and delivers all (RFC 8201)', async () => {
    const { net, sock, server } = await established(8)
    const got = collect(server)
    // A 1280-byte link between the two: bigger packets are dropped, the first one kept to quote.
    let tooBig: Uint8Array | null = null
    const passed: number[] = []
    net.linkA.onSend = p => {
      if (p.length <= 1280) return void passed.push(p.length)
      tooBig ??= p
      return false
    }
    const data = bytes(50_000, 9)
    sock.end(data)
    await runFor(net.clock, 1)
    expect(tooBig).not.toBeNull()
    const ptb = buildIcmpv6Error(tooBig!, ICMPV6_PACKET_TOO_BIG, 0, 1280, parseAddressV6('fd00::99')!, parseAddressV6(A6)!)
    net.linkB.send(ptb)
    await runUntil(net.clock, () => got.ended())
    expect(sha(got.data())).toBe(sha(data))
    expect(net.a.counters.pmtuReductions).toBe(1)
    // Resent at once (no RTO waited for) in full-sized packets of the new path MTU.
    expect(net.clock.now()).toBeLessThan(1_100)
    expect(Math.max(...passed)).toBe(1280)
    noInternalErrors(net)
  })

  it('never believes a Packet Too Big below the IPv6 minimum MTU, 1280 (RFC 8201 4)', async () => {
    const { net, sock, server } = await established(10)
    const got = collect(server)
    let first: Uint8Array | null = null
    const passed: number[] = []
    net.linkA.onSend = p => {
      if (p.length <= 1280) return void passed.push(p.length)
      first ??= p
      return false
    }
    sock.end(bytes(20_000, 3))
    await runFor(net.clock, 1)
    net.linkB.send(buildIcmpv6Error(first!, ICMPV6_PACKET_TOO_BIG, 0, 600, parseAddressV6('fd00::99')!, parseAddressV6(A6)!))
    await runUntil(net.clock, () => got.ended())
    expect(Math.max(...passed)).toBe(1280) // segments of 1280 - 60 - 12 (timestamps), never cut to fit 600
  })

  it('answers a SYN flood over IPv6 with SYN cookies keyed by the 16-byte addresses; a cookie ACK makes the connection (RFC 4987)', async () => {
    const net = twoStacks({ tcp: { synBacklog: 1 } }, 11, true)
    const accepted: Socket[] = []
    net.b.createServer(s => { accepted.push(s); s.pipe(s) }).listen(7)
    // Three at once: one takes the only SYN queue slot, the others get cookies.
    const socks = [0, 1, 2].map(() => net.a.connect({ host: B6, port: 7 }))
    const got = socks.map(collect)
    socks.forEach((s, i) => s.end(`six ${i}`))
    await runUntil(net.clock, () => got.every(g => g.ended()))
    expect(got.map(g => g.data().toString())).toEqual(['six 0', 'six 1', 'six 2'])
    expect(net.b.counters.synCookiesSent).toBe(2)
    expect(net.b.counters.synCookiesAccepted).toBe(2)
    expect(accepted.every(s => s.remoteFamily === 'IPv6')).toBe(true)
  })

  it('Fast Open over IPv6: the first connection learns a cookie for the 16-byte addresses, the second carries data in its SYN (RFC 7413)', async () => {
    const net = twoStacks({}, 12, true)
    net.b.createServer(s => s.pipe(s)).listen({ port: 7, fastOpen: 16 })
    const first = net.a.connect({ host: B6, port: 7, fastOpen: true })
    const got1 = collect(first)
    first.end('first')
    await runUntil(net.clock, () => got1.ended())
    const synData: number[] = []
    net.b.on('segment', (dir: 'in' | 'out', { seg }: { seg: { flags: number; payload: Uint8Array } }) => {
      if (dir === 'in' && seg.flags === 0x02) synData.push(seg.payload.length)
    })
    const second = net.a.connect({ host: B6, port: 7, fastOpen: true })
    const got2 = collect(second)
    second.end('second')
    await runUntil(net.clock, () => got2.ended())
    expect([got1.data().toString(), got2.data().toString()]).toEqual(['first', 'second'])
    expect(synData).toEqual([6]) // 'second' rode in the SYN
  })

  it('fails connect() at once on an ICMPv6 port unreachable for its SYN: ECONNREFUSED (RFC 4443 3.1, code 4)', async () => {
    const net = twoStacks({}, 13, true)
    let syn: Uint8Array | null = null
    net.linkA.onSend = p => { syn ??= p; return false }
    const sock = net.a.connect({ host: B6, port: 7 })
    const errors = errorsOf(sock)
    await runFor(net.clock, 1)
    net.linkB.send(buildIcmpv6Error(syn!, ICMPV6_DEST_UNREACHABLE, ICMPV6_CODE_PORT_UNREACHABLE, 0, parseAddressV6(B6)!, parseAddressV6(A6)!))
    await runFor(net.clock, 10)
    expect(errors).toEqual(['ECONNREFUSED'])
    expect(net.a.counters.icmpHardErrors).toBe(1)
  })

  it('answers a blind in-window RST and SYN over IPv6 with challenge ACKs and stays ESTABLISHED (RFC 5961 3.2, 4.2)', async () => {
    const { net, sock, server } = await established(14)
    // A's next sequence number and what it acknowledges, from B's view: forge from there.
    const info = net.b.connections()[0]!
    let last: TcpSegment | undefined
    net.a.on('segment', (dir: 'in' | 'out', { seg }: { seg: TcpSegment }) => { if (dir === 'out') last = seg })
    sock.write('x')
    await runFor(net.clock, 10)
    // In the window but not at RCV.NXT; with a timestamp, as every segment of this connection must carry (RFC 7323).
    const ts = last!.options.timestamp!
    const forged = (flags: number) => buildTcpPacket({
      src: A6, dst: B6, srcPort: sock.localPort, dstPort: 9, seq: (last!.seq + 1 + 1000) >>> 0, ack: last!.ack, flags, window: 1000,
      options: { timestamp: { value: ts.value + 1, echo: ts.echo } },
    })
    net.linkA.send(forged(RST))
    await runFor(net.clock, 10)
    expect(net.b.counters.challengeAcksSent).toBe(1)
    net.linkA.send(forged(SYN))
    await runFor(net.clock, 10)
    expect(net.b.counters.challengeAcksSent).toBe(2)
    expect(server.state).toBe('ESTABLISHED')
    expect(info.remoteAddress).toBe(A6)
  })

  it('refuses to connect to an IPv6 host without an IPv6 address of its own', () => {
    const net = twoStacks()
    expect(() => net.a.connect({ host: B6, port: 7 })).toThrow(/no IPv6 address/)
  })
})
