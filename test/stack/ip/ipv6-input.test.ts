import { describe, expect, it } from 'vitest'
import { Stack } from '../../../src/stack/stack'
import {
  ICMPV6_CODE_PORT_UNREACHABLE, ICMPV6_DEST_UNREACHABLE, ICMPV6_ECHO_REPLY, ICMPV6_ECHO_REQUEST, ICMPV6_PARAMETER_PROBLEM, buildIcmpv6Packet, parseIcmpv6, parseIcmpv6Quote,
} from '../../../src/stack/wire/icmpv6'
import { IPPROTO_TCP } from '../../../src/stack/wire/ipv4'
import { flagsToString, parseTcp } from '../../../src/stack/wire/tcp'
import { IPPROTO_UDP, buildUdpPacket } from '../../../src/stack/wire/udp'
import { formatAddressV6, parseAddressV6, parseIPv6 } from '../../../src/stack/wire/ipv6'
import { MemoryLink } from '../../../src/tun/memory-link'
import { PacketPeer } from '../../helpers/packet-peer'
import { CAPTURED_V6 } from '../wire/helpers'

const KERNEL = parseAddressV6('fd77::1')!

/** A PacketPeer whose stack has the IPv6 address the captures were sent to, and its internal errors. */
function peer(options: ConstructorParameters<typeof PacketPeer>[0] = {}) {
  const p = new PacketPeer({ address6: 'fd77::2', ...options })
  const internal: unknown[] = []
  p.stack.on('internal-error', e => internal.push(e))
  return { p, internal, sent: () => p.link.sent.splice(0, p.link.sent.length) }
}

/** A UDP datagram from the kernel's address to ours, port 40000 to 53, checksum over the IPv6 pseudo header. */
function udpV6(): Uint8Array {
  return buildUdpPacket({ src: 'fd77::1', dst: 'fd77::2', srcPort: 40000, dstPort: 53, payload: Uint8Array.of(1, 2, 3) })
}

function decode(bytes: Uint8Array) {
  const ip = parseIPv6(bytes)
  if (!ip.ok) throw new Error(ip.reason)
  const icmp = parseIcmpv6(ip.value.payload, ip.value.header.src, ip.value.header.dst)
  if (!icmp.ok) throw new Error(icmp.reason)
  return { ip: ip.value, icmp: icmp.value }
}

const echo = (dst: string) => buildIcmpv6Packet({ src: KERNEL, dst: parseAddressV6(dst)!, type: ICMPV6_ECHO_REQUEST, code: 0, rest: 0x00070001, body: Uint8Array.of(1, 2, 3) })

describe('IPv6 input (RFC 8200, RFC 4443)', () => {
  it('answers ping -6 to our address: same identifier, sequence and data, from that address', async () => {
    const { p, internal, sent } = peer()
    await p.sendRaw(CAPTURED_V6.linuxPing)
    const out = sent()
    expect(out).toHaveLength(1)
    const { ip, icmp } = decode(out[0]!)
    expect(icmp).toMatchObject({ type: ICMPV6_ECHO_REPLY, rest: 0x294f0001 })
    expect(formatAddressV6(ip.header.src)).toBe('fd77::2')
    expect(formatAddressV6(ip.header.dst)).toBe('fd77::1')
    expect(p.stack.counters.pingsAnswered).toBe(1)
    expect(internal).toEqual([])
  })

  it('counts the kernel\'s router solicitation as the link\'s chatter, and answers nothing', async () => {
    const { p, sent } = peer()
    await p.sendRaw(CAPTURED_V6.routerSolicitation)
    expect(p.stack.counters.ignored).toEqual({ 'ipv6-router-solicitation': 1 })
    expect(p.stack.counters.drops).toEqual({})
    expect(sent()).toEqual([])
  })

  it('answers the kernel\'s captured IPv6 SYN to a closed port with <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK> over IPv6 (9293 3.10.7.1)', async () => {
    const { p, sent, internal } = peer()
    await p.sendRaw(CAPTURED_V6.linuxSyn)
    const out = sent()
    expect(out).toHaveLength(1)
    const ip = parseIPv6(out[0]!)
    if (!ip.ok) throw new Error(ip.reason)
    expect(ip.value.header.protocol).toBe(IPPROTO_TCP)
    expect(formatAddressV6(ip.value.header.dst)).toBe('fd77::1')
    const seg = parseTcp(ip.value.payload, ip.value.header.src, ip.value.header.dst) // the IPv6 pseudo header checks out
    expect(seg.ok && { flags: flagsToString(seg.value.flags), seq: seg.value.seq, ack: seg.value.ack, dstPort: seg.value.dstPort })
      .toEqual({ flags: 'R.', seq: 0, ack: 0x4f9d802b, dstPort: 0xc5b2 })
    expect(p.stack.counters.drops).toEqual({ 'tcp-no-connection': 1 })
    expect(internal).toEqual([])
  })

  it('answers it on a listening port with a SYN,ACK over IPv6 offering MSS = MTU - 60 (RFC 8200 8.3)', async () => {
    const { p, sent } = peer()
    p.stack.createServer(() => {}).listen(80)
    await new Promise(resolve => setImmediate(resolve))
    await p.sendRaw(CAPTURED_V6.linuxSyn)
    const out = sent()
    expect(out).toHaveLength(1)
    const ip = parseIPv6(out[0]!)
    if (!ip.ok) throw new Error(ip.reason)
    const seg = parseTcp(ip.value.payload, ip.value.header.src, ip.value.header.dst)
    if (!seg.ok) throw new Error(seg.reason)
    expect(flagsToString(seg.value.flags)).toBe('S.')
    expect(seg.value.ack).toBe(0x4f9d802b)
    expect(seg.value.options.mss).toBe(p.stack.link.mtu - 60)
    expect(p.stack.connections()).toMatchObject([{ state: 'SYN-RECEIVED', localAddress: 'fd77::2', remoteAddress: 'fd77::1', remotePort: 0xc5b2 }])
  })

  it('answers a UDP datagram to a port nobody holds with an ICMPv6 port unreachable quoting it (RFC 4443 3.1)', async () => {
    const { p, sent } = peer()
    await p.sendRaw(udpV6())
    const out = sent()
    expect(out).toHaveLength(1)
    const { ip, icmp } = decode(out[0]!)
    expect(icmp).toMatchObject({ type: ICMPV6_DEST_UNREACHABLE, code: ICMPV6_CODE_PORT_UNREACHABLE })
    expect(formatAddressV6(ip.header.dst)).toBe('fd77::1')
    const quote = parseIcmpv6Quote(icmp.body)
    expect(quote.ok && quote.value).toMatchObject({ protocol: IPPROTO_UDP, srcPort: 40000, dstPort: 53 })
    expect(p.stack.counters.drops).toEqual({ 'udp-no-port': 1 })
    expect(p.stack.counters.icmpErrorsSent).toBe(1)
  })

  it('answers a next header it does not process with a Parameter Problem (code 1) pointing at it', async () => {
    const { p, sent } = peer()
    const sctp = CAPTURED_V6.linuxSyn.slice()
    sctp[6] = 132
    await p.sendRaw(sctp)
    const { icmp } = decode(sent()[0]!)
    expect(icmp).toMatchObject({ type: ICMPV6_PARAMETER_PROBLEM, code: 1, rest: 6 })
    expect(p.stack.counters.drops).toEqual({ 'ipv6-protocol': 1 })
  })

  it('keeps to the ICMP rate limit, and sends no error about a packet to a multicast address', async () => {
    const { p, sent } = peer({ icmpRate: { perSecond: 0, burst: 1 } })
    await p.sendRaw(udpV6())
    await p.sendRaw(udpV6())
    expect(sent()).toHaveLength(1)
    expect(p.stack.counters.icmpErrorsLimited).toBe(1)
    const { p: q, sent: qSent } = peer({ promiscuous: true })
    const toGroup = CAPTURED_V6.linuxSyn.slice()
    toGroup.set(parseAddressV6('ff02::1')!, 24)
    await q.sendRaw(toGroup)
    expect(q.stack.counters.drops).toEqual({ 'ip-not-for-us': 1 })
    expect(qSent()).toEqual([])
  })

  it('drops what is not for us, or corrupted, and counts why', async () => {
    const { p, internal, sent } = peer()
    await p.sendRaw(echo('fd77::3'))
    const bad = CAPTURED_V6.linuxPing.slice()
    bad[50] ^= 0xff
    await p.sendRaw(bad)
    await p.sendRaw(CAPTURED_V6.linuxPing.subarray(0, 30))
    expect(p.stack.counters.drops).toEqual({ 'ip-not-for-us': 1, 'icmpv6-checksum': 1, 'ipv6-truncated': 1 })
    expect(sent()).toEqual([])
    expect(internal).toEqual([])
  })

  it('in any-destination mode answers an echo to any unicast address from that address, never to a group', async () => {
    const { p, sent } = peer({ promiscuous: true })
    await p.sendRaw(echo('2001:db8::99'))
    await p.sendRaw(echo('ff02::1'))
    const out = sent()
    expect(out).toHaveLength(1)
    expect(formatAddressV6(decode(out[0]!).ip.header.src)).toBe('2001:db8::99')
  })

  it('without an IPv6 address only counts IPv6 packets, as before', async () => {
    const p = new PacketPeer()
    await p.sendRaw(CAPTURED_V6.linuxPing)
    expect(p.stack.counters.ignored).toEqual({ 'ipv6-other': 1 })
    expect(p.link.sent).toEqual([])
    expect(p.stack.address6).toBeNull()
  })

  it('takes address6 in any text form and shows it as RFC 5952 does; refuses what is not one', () => {
    const { p } = peer({ address6: 'FD77:0:0::0002' })
    expect(p.stack.address6).toBe('fd77::2')
    expect(() => new Stack({ address: '10.0.0.9', address6: '10.0.0.9', link: new MemoryLink() })).toThrow(/not an IPv6 address: 10.0.0.9/)
  })
})
