import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DROP_REASONS, type DropReason } from '../../../src/stack/wire/drop'
import { IPPROTO_TCP, parseIPv4 } from '../../../src/stack/wire/ipv4'
import {
  ACK, CWR, ECE, FIN, PSH, RST, SYN, URG, buildTcpPacket, flagsToString, parseTcp, tcpOptionsLength, tcpPacketLength,
  withFullTcpChecksum, writeTcpPacket, type TcpOptions, type TcpSegment,
} from '../../../src/stack/wire/tcp'
import { CAPTURED, KERNEL, STACK, fromHex, parsePacket, tcpFieldsArb, tcpOptionsArb, toHex } from './helpers'

function decode(bytes: Uint8Array): TcpSegment {
  const r = parsePacket(bytes)
  if (!r.ok || !('tcp' in r.value)) throw new Error(`not a TCP packet: ${JSON.stringify(r)}`)
  return r.value.tcp
}

/**
 * A TCP segment (no IP header) with `options` raw after a 20-byte header, data offset set
 * to cover them (or `dataOffset` words), checksum filled for KERNEL -> STACK.
 */
function segment(options: string, dataOffset?: number, payload = ''): Uint8Array {
  const opts = fromHex(options)
  if (opts.length % 4 !== 0) throw new Error('options must fill whole words')
  const data = fromHex(payload)
  const p = buildTcpPacket({ src: KERNEL, dst: STACK, srcPort: 1, dstPort: 2, seq: 3, ack: 4, flags: ACK, window: 5 })
  const seg = new Uint8Array(20 + opts.length + data.length)
  seg.set(p.subarray(20, 40))
  seg.set(opts, 20)
  seg.set(data, 20 + opts.length)
  seg[12] = (dataOffset ?? (20 + opts.length) / 4) << 4
  return resealTcp(seg)
}

/** Recompute the checksum of a bare segment from KERNEL to STACK. */
function resealTcp(seg: Uint8Array): Uint8Array {
  seg[16] = 0
  seg[17] = 0
  let sum = (KERNEL >>> 16) + (KERNEL & 0xffff) + (STACK >>> 16) + (STACK & 0xffff) + IPPROTO_TCP + seg.length
  for (let i = 0; i < seg.length; i += 2) sum += (seg[i]! << 8) | (seg[i + 1] ?? 0)
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
  const c = ~sum & 0xffff
  seg[16] = c >>> 8
  seg[17] = c & 0xff
  return seg
}

function expectDrop(seg: Uint8Array, reason: DropReason): void {
  expect(parseTcp(seg, KERNEL, STACK)).toEqual({ ok: false, reason })
}

describe('parseTcp on segments captured from Linux (RFC 9293 3.1)', () => {
  it('decodes a SYN: mss 1460, sackOK, TS, nop, wscale 10', () => {
    const s = decode(CAPTURED.linuxSyn)
    expect(s).toMatchObject({
      srcPort: 49168, dstPort: 80, seq: 0xe805891d, ack: 0, headerLength: 40, flags: SYN, window: 64240, urgentPointer: 0,
    })
    expect(s.options).toEqual({ mss: 1460, sackPermitted: true, timestamp: { value: 0xc52482af, echo: 0 }, windowScale: 10 })
    expect(s.payload.length).toBe(0)
    expect(flagsToString(s.flags)).toBe('S')
  })

  it('decodes a SYN-ACK with the same options shape', () => {
    const s = decode(CAPTURED.linuxSynAck)
    expect(s).toMatchObject({ srcPort: 8080, dstPort: 40000, seq: 0xa0839364, ack: 1001, flags: SYN | ACK, window: 65160 })
    expect(s.options).toEqual({ mss: 1460, sackPermitted: true, timestamp: { value: 0xdb076a05, echo: 100 }, windowScale: 10 })
    expect(flagsToString(s.flags)).toBe('S.')
  })

  it('decodes a data segment: nop, nop, TS and a payload view', () => {
    const s = decode(CAPTURED.linuxData)
    expect(s).toMatchObject({ seq: 0xa0839365, ack: 1001, flags: PSH | ACK, window: 64, headerLength: 32 })
    expect(s.options).toEqual({ timestamp: { value: 0xdb076a05, echo: 100 } })
    expect(new TextDecoder().decode(s.payload)).toBe('hello\n')
    expect(s.payload.buffer).toBe(CAPTURED.linuxData.buffer)
    expect(flagsToString(s.flags)).toBe('P.')
  })

  it('decodes a FIN', () => {
    const s = decode(CAPTURED.linuxFin)
    expect(s).toMatchObject({ seq: 0xa083936b, ack: 1001, flags: FIN | ACK })
    expect(flagsToString(s.flags)).toBe('F.')
  })

  it('skips the checksum when told to (offloaded or already verified)', () => {
    const seg = CAPTURED.linuxSyn.slice(20)
    seg[16] ^= 0xff
    expect(parseTcp(seg, KERNEL, STACK).ok).toBe(false)
    expect(parseTcp(seg, KERNEL, STACK, false).ok).toBe(true)
  })

  it('reads sequence numbers with the top bit set as unsigned', () => {
    const s = decode(buildTcpPacket({ src: 1, dst: 2, srcPort: 1, dstPort: 2, seq: 0xffffffff, ack: 0x80000000, flags: ACK, window: 0 }))
    expect(s.seq).toBe(0xffffffff)
    expect(s.ack).toBe(0x80000000)
  })
})

describe('TCP options (RFC 9293 3.2, RFC 7323, RFC 2018)', () => {
  const parseOpts = (hex: string): TcpOptions => {
    const r = parseTcp(segment(hex), KERNEL, STACK)
    if (!r.ok) throw new Error(r.reason)
    return r.value.options
  }

  it('stops at EOL, whatever follows', () => {
    expect(parseOpts('020405b4 00ffffff')).toEqual({ mss: 1460 })
  })

  it('skips unknown kinds by their length (e.g. MD5, kind 19)', () => {
    expect(parseOpts('1306aabbccdd 01030307 0000')).toEqual({ windowScale: 7 })
  })

  it('reads SACK blocks of 1 to 4 ranges (RFC 2018 3)', () => {
    expect(parseOpts('0101050a 00000064 000000c8')).toEqual({ sackBlocks: [{ left: 100, right: 200 }] })
    const four = '0101' + '0522' + 'ffffff00ffffff10'.repeat(4)
    expect(parseOpts(four).sackBlocks).toHaveLength(4)
    expect(parseOpts(four).sackBlocks![0]).toEqual({ left: 0xffffff00, right: 0xffffff10 })
  })

  it('keeps a window scale above 14 as received (the TCB clamps it, RFC 7323 2.3)', () => {
    expect(parseOpts('01030320')).toEqual({ windowScale: 32 })
  })

  it('drops tcp-options: a length byte below 2', () => {
    expectDrop(segment('02000000'), 'tcp-options')
    expectDrop(segment('22010000'), 'tcp-options')
  })

  it('drops tcp-options: an option running past the header', () => {
    expectDrop(segment('01010208'), 'tcp-options')
    expectDrop(segment('010101fe'), 'tcp-options') // kind 254 with its length byte missing
  })

  it('drops tcp-options: a known kind with the wrong length', () => {
    for (const hex of ['02030500', '02050000 00000000', '03020101', '03040000', '04030000', '05020101',
      '0508000000000000', '050b0000000000000000000000000000', '080800000000 0000', '080b000000000000000000 00']) {
      expectDrop(segment(hex), 'tcp-options')
    }
  })

  it('writes them in Linux\'s order, byte for byte: the captured SYN rebuilt', () => {
    const s = decode(CAPTURED.linuxSyn)
    const rebuilt = buildTcpPacket({
      src: KERNEL, dst: STACK, srcPort: s.srcPort, dstPort: s.dstPort, seq: s.seq, ack: s.ack, flags: s.flags,
      window: s.window, options: s.options, id: 0xe5ea,
    })
    expect(toHex(rebuilt)).toBe(toHex(CAPTURED.linuxSyn))
  })

  it('rebuilds the captured SYN-ACK, data and FIN byte for byte', () => {
    const ids = new Map([[CAPTURED.linuxSynAck, 0], [CAPTURED.linuxData, 0x3e0f], [CAPTURED.linuxFin, 0x3e10]])
    for (const [packet, id] of ids) {
      const s = decode(packet)
      const rebuilt = buildTcpPacket({
        src: KERNEL, dst: STACK, srcPort: s.srcPort, dstPort: s.dstPort, seq: s.seq, ack: s.ack, flags: s.flags,
        window: s.window, options: s.options, payload: s.payload, id,
      })
      expect(toHex(rebuilt)).toBe(toHex(packet))
    }
  })

  it('lays out each combination as Linux does, padded to 4 bytes', () => {
    const layout = (o: TcpOptions): string => {
      const p = buildTcpPacket({ src: 1, dst: 2, srcPort: 1, dstPort: 2, seq: 0, ack: 0, flags: SYN, window: 0, options: o })
      expect(p.length - 40).toBe(tcpOptionsLength(o))
      return toHex(p.subarray(40))
    }
    expect(layout({})).toBe('')
    expect(layout({ mss: 536 })).toBe('02040218')
    expect(layout({ sackPermitted: true })).toBe('01010402')
    expect(layout({ timestamp: { value: 1, echo: 2 } })).toBe('0101080a0000000100000002')
    expect(layout({ mss: 1460, windowScale: 7 })).toBe('020405b401030307')
    expect(layout({ timestamp: { value: 1, echo: 2 }, sackBlocks: [{ left: 3, right: 4 }] }))
      .toBe('0101080a00000001000000020101050a0000000300000004')
    expect(layout({ sackPermitted: false, mss: 1 })).toBe('02040001')
  })

  it('writes Fast Open after the SACK blocks, kind 34 or 254 with ExID 0xF989, NOP NOP when 2 bytes are over (RFC 7413 4.1.1)', () => {
    const layout = (o: TcpOptions): string => toHex(buildTcpPacket({ src: 1, dst: 2, srcPort: 1, dstPort: 2, seq: 0, ack: 0, flags: SYN, window: 0, options: o }).subarray(40))
    const cookie = fromHex('00abaaabe8e954c2')
    expect(layout({ fastOpen: { cookie: new Uint8Array(0), experimental: false } })).toBe('22020101')
    expect(layout({ fastOpen: { cookie: new Uint8Array(0), experimental: true } })).toBe('fe04f989')
    expect(layout({ fastOpen: { cookie, experimental: false } })).toBe('220a00abaaabe8e954c20101')
    expect(layout({ fastOpen: { cookie, experimental: true } })).toBe('fe0cf98900abaaabe8e954c2')
    expect(layout({ mss: 1460, windowScale: 8, fastOpen: { cookie, experimental: false } }))
      .toBe('020405b401030308220a00abaaabe8e954c20101')
  })

  it('parses Fast Open cookies and requests; ignores a cookie of a length RFC 7413 forbids and other experiments', () => {
    const fo = (hex: string): TcpOptions => parseOpts(hex)
    expect(fo('22020101')).toEqual({ fastOpen: { cookie: new Uint8Array(0), experimental: false } })
    expect(fo('fe04f989')).toEqual({ fastOpen: { cookie: new Uint8Array(0), experimental: true } })
    expect(fo('220a00abaaabe8e954c20101')).toEqual({ fastOpen: { cookie: fromHex('00abaaabe8e954c2'), experimental: false } })
    expect(fo('fe08f989aabbccdd')).toEqual({ fastOpen: { cookie: fromHex('aabbccdd'), experimental: true } })
    expect(fo('2204aabb')).toEqual({}) // a 2-byte cookie: below the 4-byte minimum
    expect(fo('2207aabbccddee01')).toEqual({}) // odd length
    expect(fo('fe08abcdaabbccdd')).toEqual({}) // ExID of another experiment
  })

  it('copies a Fast Open cookie out of a Buffer: the cache keeps it after the read buffer is reused', () => {
    const seg = Buffer.from(buildTcpPacket({ src: 1, dst: 2, srcPort: 1, dstPort: 2, seq: 0, ack: 0, flags: SYN, window: 0,
      options: { fastOpen: { cookie: fromHex('00abaaabe8e954c2'), experimental: false } } }).subarray(20))
    const r = parseTcp(seg, 1, 2)
    if (!r.ok) throw new Error(r.reason)
    seg.fill(0)
    expect(toHex(r.value.options.fastOpen!.cookie)).toBe('00abaaabe8e954c2')
    expect(Buffer.isBuffer(r.value.options.fastOpen!.cookie)).toBe(false)
  })

  it('refuses to write more than 40 option bytes', () => {
    const o: TcpOptions = { timestamp: { value: 0, echo: 0 }, sackBlocks: Array(4).fill({ left: 0, right: 0 }) }
    expect(tcpOptionsLength(o)).toBe(48)
    expect(() => buildTcpPacket({ src: 1, dst: 2, srcPort: 1, dstPort: 2, seq: 0, ack: 0, flags: ACK, window: 0, options: o }))
      .toThrow(RangeError)
  })
})

describe('parseTcp drops', () => {
  it('tcp-truncated: less than the 20-byte header', () => {
    expectDrop(new Uint8Array(0), 'tcp-truncated')
    expectDrop(CAPTURED.linuxSyn.subarray(20, 39), 'tcp-truncated')
  })

  it('tcp-data-offset: below 5 words, or past the end of the segment', () => {
    expectDrop(segment('', 4), 'tcp-data-offset')
    expectDrop(segment('', 0), 'tcp-data-offset')
    expectDrop(segment('01010101', 7), 'tcp-data-offset')
    expectDrop(CAPTURED.linuxSyn.subarray(20, 56), 'tcp-data-offset')
  })

  it('tcp-checksum: any corruption, or the wrong addresses in the pseudo header', () => {
    const seg = CAPTURED.linuxData.slice(20)
    expect(parseTcp(seg, KERNEL, STACK).ok).toBe(true)
    expect(parseTcp(seg, KERNEL, STACK + 1)).toEqual({ ok: false, reason: 'tcp-checksum' })
    seg[seg.length - 1] ^= 0x20
    expectDrop(seg, 'tcp-checksum')
  })

  it('every wire drop reason is hit by some test in this folder', () => {
    // A reminder kept next to the list: add a test above when adding a reason.
    expect(DROP_REASONS).toEqual([
      'ip-truncated', 'ip-version', 'ip-header-length', 'ip-total-length', 'ip-options', 'ip-checksum', 'ip-fragment',
      'ipv6-truncated', 'ipv6-version', 'ipv6-extension', 'ipv6-option', 'ipv6-routing', 'ipv6-fragment',
      'icmp-truncated', 'icmp-checksum', 'icmp-quote', 'icmpv6-truncated', 'icmpv6-checksum', 'icmpv6-quote', 'tcp-truncated', 'tcp-data-offset', 'tcp-checksum', 'tcp-options',
      'udp-truncated', 'udp-length', 'udp-checksum',
    ])
  })
})

describe('flagsToString (tcpdump notation)', () => {
  it('prints the usual combinations as tcpdump does', () => {
    expect(flagsToString(SYN)).toBe('S')
    expect(flagsToString(SYN | ACK)).toBe('S.')
    expect(flagsToString(ACK)).toBe('.')
    expect(flagsToString(PSH | ACK)).toBe('P.')
    expect(flagsToString(FIN | ACK)).toBe('F.')
    expect(flagsToString(FIN | PSH | ACK)).toBe('FP.')
    expect(flagsToString(RST)).toBe('R')
    expect(flagsToString(RST | ACK)).toBe('R.')
    expect(flagsToString(SYN | ECE | CWR)).toBe('SEW')
    expect(flagsToString(URG | ACK)).toBe('.U')
    expect(flagsToString(0)).toBe('none')
  })
})

describe('build and parse (properties)', () => {
  it('round-trips any header, options and payload', () => {
    fc.assert(fc.property(tcpFieldsArb, f => {
      const p = buildTcpPacket(f)
      expect(p.length).toBe(tcpPacketLength(f))
      const r = parsePacket(p)
      if (!r.ok || !('tcp' in r.value)) throw new Error(`dropped: ${JSON.stringify(r)}`)
      const { ip, tcp } = r.value
      expect(ip.header).toMatchObject({ src: f.src, dst: f.dst, protocol: IPPROTO_TCP, ttl: f.ttl, id: f.id, tos: f.tos })
      expect(tcp).toMatchObject({
        srcPort: f.srcPort, dstPort: f.dstPort, seq: f.seq, ack: f.ack, flags: f.flags, window: f.window,
        urgentPointer: f.urgentPointer, headerLength: 20 + tcpOptionsLength(f.options!),
      })
      const expected: TcpOptions = { ...f.options }
      if (expected.sackPermitted === false) delete expected.sackPermitted
      expect(tcp.options).toEqual(expected)
      expect(toHex(tcp.payload)).toBe(toHex(f.payload!))
    }))
  })

  it('writes into a preallocated buffer at an offset what buildTcpPacket allocates', () => {
    fc.assert(fc.property(tcpFieldsArb, fc.nat({ max: 64 }), (f, at) => {
      const buf = new Uint8Array(at + tcpPacketLength(f) + 3)
      const n = writeTcpPacket(buf, at, f)
      expect(toHex(buf.subarray(at, at + n))).toBe(toHex(buildTcpPacket(f)))
    }), { numRuns: 50 })
  })

  it('never throws on arbitrary bytes, as a segment or as a packet', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), u => {
      expect(typeof parseTcp(u, KERNEL, STACK).ok).toBe('boolean')
      expect(typeof parseTcp(u, KERNEL, STACK, false).ok).toBe('boolean')
      expect(typeof parsePacket(u).ok).toBe('boolean')
    }), { numRuns: 3000 })
  })

  it('never throws on arbitrary option bytes, and what it accepts it re-reads the same', () => {
    const opts = fc.uint8Array({ maxLength: 40 }).map(o => {
      const padded = new Uint8Array((o.length + 3) & ~3)
      padded.set(o)
      return toHex(padded)
    })
    fc.assert(fc.property(opts, hex => {
      const r = parseTcp(segment(hex), KERNEL, STACK, false)
      if (r.ok) expect(parseTcp(segment(hex), KERNEL, STACK, false)).toEqual(r)
    }), { numRuns: 3000 })
  })

  it('drops a packet cut short anywhere (IPv4 total length or the TCP checks)', () => {
    fc.assert(fc.property(tcpFieldsArb, fc.nat(), (f, n) => {
      const p = buildTcpPacket(f)
      expect(parsePacket(p.subarray(0, n % p.length)).ok).toBe(false)
    }))
  })

  it('drops a bare segment cut short anywhere inside its header', () => {
    fc.assert(fc.property(tcpFieldsArb, fc.nat(), (f, n) => {
      const seg = buildTcpPacket(f).subarray(20)
      const headerLength = 20 + tcpOptionsLength(f.options!)
      expect(parseTcp(seg.subarray(0, n % headerLength), f.src, f.dst, false).ok).toBe(false)
    }))
  })

  it('detects any single bit flipped anywhere in the packet', () => {
    fc.assert(fc.property(tcpFieldsArb, fc.nat(), (f, n) => {
      const p = buildTcpPacket(f)
      const bit = n % (p.length * 8)
      p[bit >> 3]! ^= 0x80 >> (bit & 7)
      expect(parsePacket(p).ok).toBe(false)
    }), { numRuns: 1000 })
  })

  it('detects a flip in the captured packets, every bit of every one', () => {
    for (const packet of [CAPTURED.linuxSyn, CAPTURED.linuxSynAck, CAPTURED.linuxData, CAPTURED.linuxFin, CAPTURED.linuxPing]) {
      for (let bit = 0; bit < packet.length * 8; bit++) {
        const p = packet.slice()
        p[bit >> 3]! ^= 0x80 >> (bit & 7)
        expect(parsePacket(p).ok, `bit ${bit}`).toBe(false)
      }
    }
  })
})


describe('partial checksums (offload)', () => {
  const fields = {
    src: 0x0a000001, dst: 0x0a000002, srcPort: 7, dstPort: 40000, seq: 1, ack: 2,
    flags: ACK, window: 100, payload: new Uint8Array([1, 2, 3, 4, 5]),
  }

  it('leaves only the pseudo header sum, which withFullTcpChecksum completes to the full checksum', () => {
    const full = buildTcpPacket(fields)
    const partial = buildTcpPacket({ ...fields, partialChecksum: true })
    expect(partial).not.toEqual(full)
    const ip = parseIPv4(partial)
    if (!ip.ok) throw new Error(ip.reason)
    expect(parseTcp(ip.value.payload, fields.src, fields.dst)).toMatchObject({ ok: false, reason: 'tcp-checksum' })
    expect(parseTcp(ip.value.payload, fields.src, fields.dst, false).ok).toBe(true)
    expect(withFullTcpChecksum(partial)).toEqual(full)
  })
})
