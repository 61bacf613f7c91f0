// TCP over IPv6 on the wire: the kernel's own SYN parsed with the IPv6 pseudo header
// (RFC 8200 8.1), and the same SYN built by writeTcpPacket, byte for byte.
import { describe, expect, it } from 'vitest'
import { bytesV6, pseudoHeaderSumOf } from '../../../src/stack/wire/address'
import { onesComplementSum } from '../../../src/stack/wire/checksum'
import { IPPROTO_TCP } from '../../../src/stack/wire/ipv4'
import { parseIPv6 } from '../../../src/stack/wire/ipv6'
import { SYN, buildTcpPacket, parseTcp, tcpPacketLength, withFullTcpChecksum } from '../../../src/stack/wire/tcp'
import { CAPTURED_V6, toHex } from './helpers'

describe('TCP over IPv6 (RFC 9293 3.1 with the RFC 8200 8.1 pseudo header)', () => {
  it('parses the kernel\'s captured SYN: ports, sequence number, options, checksum over the IPv6 pseudo header', () => {
    const ip = parseIPv6(CAPTURED_V6.linuxSyn)
    if (!ip.ok) throw new Error(ip.reason)
    const seg = parseTcp(ip.value.payload, ip.value.header.src, ip.value.header.dst)
    if (!seg.ok) throw new Error(seg.reason)
    expect(seg.value).toMatchObject({ srcPort: 0xc5b2, dstPort: 80, seq: 0x4f9d802a, flags: SYN, window: 0xfd20 })
    expect(seg.value.options).toMatchObject({ mss: 1440, sackPermitted: true, windowScale: 10, timestamp: { value: 0x2f4fd12e, echo: 0 } })
    // The same with the addresses as text, as the TCP layer holds them.
    expect(parseTcp(ip.value.payload, 'fd77::1', 'fd77::2').ok).toBe(true)
    // One bit off and the IPv6 pseudo header sum no longer checks out.
    expect(parseTcp(ip.value.payload, 'fd77::1', 'fd77::3')).toEqual({ ok: false, reason: 'tcp-checksum' })
  })

  it('builds that SYN again byte for byte: IPv6 header, TCP header, options in Linux\'s order, checksum', () => {
    const fields = {
      src: 'fd77::1', dst: 'fd77::2', srcPort: 0xc5b2, dstPort: 80, seq: 0x4f9d802a, ack: 0, flags: SYN, window: 0xfd20,
      options: { mss: 1440, sackPermitted: true, timestamp: { value: 0x2f4fd12e, echo: 0 }, windowScale: 10 },
    }
    const built = buildTcpPacket(fields)
    expect(tcpPacketLength(fields)).toBe(CAPTURED_V6.linuxSyn.length)
    const kernel = CAPTURED_V6.linuxSyn.slice()
    kernel[1]! &= 0xf0; kernel[2] = 0; kernel[3] = 0 // we send flow label 0 (RFC 6437 allows it)
    expect(toHex(built)).toBe(toHex(kernel))
  })

  it('leaves the checksum partial for offload and completes it for a capture file, over IPv6 too', () => {
    const fields = { src: 'fd77::2', dst: 'fd77::1', srcPort: 80, dstPort: 0xc5b2, seq: 7, ack: 8, flags: 0x10, window: 100, payload: new Uint8Array(3000), partialChecksum: true }
    const partial = buildTcpPacket(fields)
    const full = withFullTcpChecksum(partial)
    const tcp = full.subarray(40)
    expect(onesComplementSum(tcp, 0, tcp.length, pseudoHeaderSumOf(bytesV6('fd77::2'), bytesV6('fd77::1'), IPPROTO_TCP, tcp.length))).toBe(0xffff)
    expect(toHex(full)).toBe(toHex(buildTcpPacket({ ...fields, partialChecksum: false })))
  })
})
