import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  ICMP_DEST_UNREACHABLE, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, ICMP_TIME_EXCEEDED, buildEchoReply, buildIcmpPacket, parseIcmp,
  parseIcmpQuote, type IcmpMessage,
} from '../../../src/stack/wire/icmp'
import { IPPROTO_ICMP, IPPROTO_TCP, parseIPv4, type IPv4Packet } from '../../../src/stack/wire/ipv4'
import { ACK, buildTcpPacket } from '../../../src/stack/wire/tcp'
import { CAPTURED, KERNEL, STACK, parsePacket, toHex, u16, u32 } from './helpers'

function decodePing(bytes: Uint8Array): { ip: IPv4Packet; icmp: IcmpMessage } {
  const r = parsePacket(bytes)
  if (!r.ok || !('icmp' in r.value)) throw new Error(`not an ICMP packet: ${JSON.stringify(r)}`)
  return r.value
}

describe('ICMP (RFC 792)', () => {
  it('has the type numbers of RFC 792', () => {
    expect([ICMP_ECHO_REPLY, ICMP_DEST_UNREACHABLE, ICMP_ECHO_REQUEST, ICMP_TIME_EXCEEDED]).toEqual([0, 3, 8, 11])
  })

  it('decodes an echo request captured from Linux ping', () => {
    const { ip, icmp } = decodePing(CAPTURED.linuxPing)
    expect(ip.header.protocol).toBe(IPPROTO_ICMP)
    expect(icmp.type).toBe(ICMP_ECHO_REQUEST)
    expect(icmp.code).toBe(0)
    expect(icmp.rest).toBe(0x0f730001) // identifier 0x0f73, sequence 1
    expect(toHex(icmp.body)).toBe('6162636400000000')
    expect(icmp.body.buffer).toBe(CAPTURED.linuxPing.buffer) // a view, not a copy
  })

  it('answers it with an echo reply: addresses swapped, same id, sequence and data', () => {
    const { ip, icmp } = decodePing(CAPTURED.linuxPing)
    const reply = buildEchoReply(ip, icmp, STACK)
    const back = decodePing(reply)
    expect(back.ip.header).toMatchObject({ src: STACK, dst: KERNEL, protocol: IPPROTO_ICMP, ttl: 64, totalLength: 36 })
    expect(back.icmp).toMatchObject({ type: ICMP_ECHO_REPLY, code: 0, rest: 0x0f730001 })
    expect(toHex(back.icmp.body)).toBe('6162636400000000')
    // Type 8 -> 0 lowers the first word by 0x0800, so the checksum rises by 0x0800 (RFC 1624).
    expect(toHex(reply.subarray(20, 24))).toBe('00002bc5')
  })

  it('does not carry the request\'s ECN bits into the reply, but keeps its DSCP', () => {
    const req = buildIcmpPacket({ src: KERNEL, dst: STACK, type: 8, code: 0, rest: 1, tos: 0xb8 | 0x03 })
    const { ip, icmp } = decodePing(req)
    expect(decodePing(buildEchoReply(ip, icmp, STACK)).ip.header.tos).toBe(0xb8)
  })

  it('drops icmp-truncated: fewer than 8 bytes', () => {
    expect(parseIcmp(CAPTURED.linuxPing.subarray(20, 27))).toEqual({ ok: false, reason: 'icmp-truncated' })
    expect(parseIcmp(new Uint8Array(0))).toEqual({ ok: false, reason: 'icmp-truncated' })
  })

  it('drops icmp-checksum: a corrupted body', () => {
    const p = CAPTURED.linuxPing.slice()
    p[p.length - 1] ^= 1
    expect(parsePacket(p)).toEqual({ ok: false, reason: 'icmp-checksum' })
  })

  it('round-trips any message through build and parse (property)', () => {
    fc.assert(fc.property(
      u32, u32, fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), u32, fc.uint8Array({ maxLength: 1000 }), u16,
      (src, dst, type, code, rest, body, id) => {
        const p = buildIcmpPacket({ src, dst, type, code, rest, body, id })
        const { ip, icmp } = decodePing(p)
        expect(ip.header).toMatchObject({ src, dst, id, protocol: IPPROTO_ICMP })
        expect(icmp).toEqual({ type, code, rest, body })
      },
    ))
  })

  it('never throws on arbitrary bytes (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), bytes => {
      expect(typeof parseIcmp(bytes).ok).toBe('boolean')
    }), { numRuns: 2000 })
  })

  it('drops a packet cut short anywhere, and detects any single bit flipped (property)', () => {
    const packet = fc.tuple(u32, u32, fc.integer({ min: 0, max: 255 }), u32, fc.uint8Array({ maxLength: 200 }))
      .map(([src, dst, type, rest, body]) => buildIcmpPacket({ src, dst, type, code: 0, rest, body }))
    fc.assert(fc.property(packet, fc.nat(), (p, n) => {
      expect(parsePacket(p.subarray(0, n % p.length)).ok).toBe(false)
      const flipped = p.slice()
      const bit = n % (p.length * 8)
      flipped[bit >> 3]! ^= 0x80 >> (bit & 7)
      expect(parsePacket(flipped).ok).toBe(false)
    }))
  })

  it('parses the reply to any request the way it parsed the request (property)', () => {
    fc.assert(fc.property(u32, u32, fc.uint8Array({ maxLength: 500 }), (rest, src, body) => {
      const req = parseIPv4(buildIcmpPacket({ src, dst: STACK, type: ICMP_ECHO_REQUEST, code: 0, rest, body }))
      if (!req.ok) throw new Error(req.reason)
      const icmp = parseIcmp(req.value.payload)
      if (!icmp.ok) throw new Error(icmp.reason)
      const reply = decodePing(buildEchoReply(req.value, icmp.value, STACK))
      expect(reply.ip.header.dst).toBe(src)
      expect(reply.icmp).toEqual({ type: ICMP_ECHO_REPLY, code: 0, rest, body })
    }))
  })
})

describe('parseIcmpQuote (the datagram an ICMP error quotes, RFC 792)', () => {
  const segment = buildTcpPacket({ src: STACK, dst: KERNEL, srcPort: 80, dstPort: 40_000, seq: 0xdead_beef, ack: 1, flags: ACK, window: 100 })

  it('reads the quoted IP header and the TCP ports and sequence number from its first 8 bytes', () => {
    expect(parseIcmpQuote(segment.subarray(0, 28))).toEqual({
      ok: true,
      value: { protocol: IPPROTO_TCP, src: STACK, dst: KERNEL, totalLength: 40, srcPort: 80, dstPort: 40_000, seq: 0xdead_beef },
    })
  })

  it('drops a quote shorter than an IP header and 8 bytes, or with IHL past its end, or not IPv4', () => {
    expect(parseIcmpQuote(segment.subarray(0, 27))).toEqual({ ok: false, reason: 'icmp-quote' })
    const longIhl = segment.slice(0, 28)
    longIhl[0] = 0x46 // 24-byte header: its 8 bytes would run past the quote
    expect(parseIcmpQuote(longIhl)).toEqual({ ok: false, reason: 'icmp-quote' })
    const v6 = segment.slice(0, 28)
    v6[0] = 0x65
    expect(parseIcmpQuote(v6)).toEqual({ ok: false, reason: 'icmp-quote' })
  })

  it('never throws, whatever the bytes (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), bytes => {
      expect(typeof parseIcmpQuote(bytes).ok).toBe('boolean')
    }))
  })
})
