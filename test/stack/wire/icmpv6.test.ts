import { describe, expect, it } from 'vitest'
import {
  ICMPV6_DEST_UNREACHABLE, ICMPV6_ECHO_REPLY, ICMPV6_ECHO_REQUEST, ICMPV6_PACKET_TOO_BIG, ICMPV6_CODE_PORT_UNREACHABLE,
  buildEchoReplyV6, buildIcmpv6Error, buildIcmpv6Packet, isIcmpv6Error, parseIcmpv6, parseIcmpv6Quote,
} from '../../../src/stack/wire/icmpv6'
import { IPPROTO_TCP } from '../../../src/stack/wire/ipv4'
import { IPPROTO_ICMPV6, IPV6_MIN_MTU, formatAddressV6, parseAddressV6, parseIPv6, type IPv6Packet } from '../../../src/stack/wire/ipv6'
import { CAPTURED_V6, toHex } from './helpers'

const KERNEL = parseAddressV6('fd77::1')!
const STACK = parseAddressV6('fd77::2')!

function decode(bytes: Uint8Array) {
  const ip = parseIPv6(bytes)
  if (!ip.ok || ip.value.header.protocol !== IPPROTO_ICMPV6) throw new Error(`not ICMPv6: ${JSON.stringify(ip)}`)
  const icmp = parseIcmpv6(ip.value.payload, ip.value.header.src, ip.value.header.dst)
  if (!icmp.ok) throw new Error(icmp.reason)
  return { ip: ip.value as IPv6Packet, icmp: icmp.value }
}

describe('ICMPv6 (RFC 4443)', () => {
  it('has the type numbers of RFC 4443, errors below 128', () => {
    expect([ICMPV6_DEST_UNREACHABLE, ICMPV6_PACKET_TOO_BIG, ICMPV6_ECHO_REQUEST, ICMPV6_ECHO_REPLY]).toEqual([1, 2, 128, 129])
    expect([1, 2, 3, 4, 127].every(isIcmpv6Error)).toBe(true)
    expect([128, 129, 133, 143].some(isIcmpv6Error)).toBe(false)
  })

  it('decodes an echo request captured from Linux ping -6, its checksum over the pseudo header', () => {
    const { icmp } = decode(CAPTURED_V6.linuxPing)
    expect(icmp).toMatchObject({ type: ICMPV6_ECHO_REQUEST, code: 0, rest: 0x294f0001 })
    expect(toHex(icmp.body)).toBe('6162636400000000')
    expect(icmp.body.buffer).toBe(CAPTURED_V6.linuxPing.buffer)
  })

  it('decodes the kernel\'s router solicitation (type 133, hop limit 255)', () => {
    const { ip, icmp } = decode(CAPTURED_V6.routerSolicitation)
    expect(icmp.type).toBe(133)
    expect(ip.header.hopLimit).toBe(255)
    expect(formatAddressV6(ip.header.dst)).toBe('ff02::2')
  })

  it('answers an echo request: addresses swapped, same identifier, sequence and data', () => {
    const { ip, icmp } = decode(CAPTURED_V6.linuxPing)
    const back = decode(buildEchoReplyV6(ip, icmp, STACK))
    expect(back.icmp).toMatchObject({ type: ICMPV6_ECHO_REPLY, code: 0, rest: 0x294f0001 })
    expect(toHex(back.icmp.body)).toBe('6162636400000000')
    expect(formatAddressV6(back.ip.header.src)).toBe('fd77::2')
    expect(formatAddressV6(back.ip.header.dst)).toBe('fd77::1')
    expect(back.ip.header.hopLimit).toBe(64)
  })

  it('drops a message that is short, corrupted, or checksummed for other addresses', () => {
    const { ip } = decode(CAPTURED_V6.linuxPing)
    const payload = ip.payload.slice()
    expect(parseIcmpv6(payload.subarray(0, 7), KERNEL, STACK)).toEqual({ ok: false, reason: 'icmpv6-truncated' })
    expect(parseIcmpv6(payload, KERNEL, KERNEL)).toEqual({ ok: false, reason: 'icmpv6-checksum' })
    payload[9] ^= 1
    expect(parseIcmpv6(payload, KERNEL, STACK)).toEqual({ ok: false, reason: 'icmpv6-checksum' })
  })

  it('an error quotes the invoking packet, and the quote names the connection', () => {
    const error = buildIcmpv6Error(CAPTURED_V6.linuxSyn, ICMPV6_DEST_UNREACHABLE, ICMPV6_CODE_PORT_UNREACHABLE, 0, STACK, KERNEL)
    const { icmp } = decode(error)
    expect(icmp).toMatchObject({ type: 1, code: 4, rest: 0 })
    const quote = parseIcmpv6Quote(icmp.body)
    if (!quote.ok) throw new Error(quote.reason)
    expect(quote.value).toMatchObject({ protocol: IPPROTO_TCP, totalLength: 80, srcPort: 0xc5b2, dstPort: 80, seq: 0x4f9d802a })
    expect(formatAddressV6(quote.value.src)).toBe('fd77::1')
  })

  it('an error never exceeds the minimum MTU of 1280 bytes (2.4 (c))', () => {
    const big = buildIcmpv6Packet({ src: KERNEL, dst: STACK, type: ICMPV6_ECHO_REQUEST, code: 0, rest: 0, body: new Uint8Array(3000) })
    const error = buildIcmpv6Error(big, ICMPV6_PACKET_TOO_BIG, 0, 1280, STACK, KERNEL)
    expect(error.length).toBe(IPV6_MIN_MTU)
    expect(decode(error).icmp.rest).toBe(1280)
  })

  it('walks extension headers in a quote, and refuses a quote too short for the ports and sequence', () => {
    const syn = CAPTURED_V6.linuxSyn
    const withFragment = new Uint8Array(syn.length + 8)
    withFragment.set(syn.subarray(0, 40))
    withFragment.set([6, 0, 0, 0, 0, 0, 0, 1], 40)
    withFragment.set(syn.subarray(40), 48)
    withFragment[6] = 44
    withFragment[5] = 48
    const quote = parseIcmpv6Quote(withFragment)
    expect(quote.ok && quote.value).toMatchObject({ protocol: IPPROTO_TCP, srcPort: 0xc5b2, dstPort: 80 })
    expect(parseIcmpv6Quote(syn.subarray(0, 47))).toEqual({ ok: false, reason: 'icmpv6-quote' })
    expect(parseIcmpv6Quote(CAPTURED_V6.linuxSyn.subarray(0, 20))).toEqual({ ok: false, reason: 'icmpv6-quote' })
  })
})
