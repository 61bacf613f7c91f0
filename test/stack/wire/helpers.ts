// Shared by the wire tests: hex helpers, packets captured from a real Linux kernel,
// an independent reference checksum, a whole-packet parser, and fast-check arbitraries.

import fc from 'fast-check'
import type { Parsed } from '../../../src/stack/wire/drop'
import { parseIcmp, type IcmpMessage } from '../../../src/stack/wire/icmp'
import { IPPROTO_ICMP, IPPROTO_TCP, parseIPv4, type IPv4Packet } from '../../../src/stack/wire/ipv4'
import { parseTcp, type TcpOptions, type TcpPacketFields, type TcpSegment } from '../../../src/stack/wire/tcp'

/** Bytes from a hex string; spaces and newlines are ignored. */
export function fromHex(s: string): Uint8Array {
  const h = s.replace(/\s+/g, '')
  if (h.length % 2 !== 0 || /[^0-9a-f]/i.test(h)) throw new Error(`bad hex: ${s}`)
  const out = new Uint8Array(h.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16)
  return out
}

/** Lower-case hex of bytes, no separators. */
export function toHex(b: Uint8Array): string {
  return Array.from(b, x => x.toString(16).padStart(2, '0')).join('')
}

/**
 * Packets read from a TUN device in a throwaway network namespace: every checksum here
 * was computed by the Linux kernel, not by us. 10.77.0.1 is the kernel, 10.77.0.2 the far end.
 */
export const CAPTURED = {
  /** connect() to 10.77.0.2:80: [S] seq 0xe805891d win 64240 <mss 1460,sackOK,TS val 0xc52482af ecr 0,nop,wscale 10>, IP id 0xe5ea. */
  linuxSyn: fromHex(
    '4500003ce5ea4000400640350a4d00010a4d0002' +
    'c0100050e805891d00000000a002faf0bf170000' +
    '020405b40402080ac52482af000000000103030a'),
  /** Listener on 10.77.0.1:8080 answering a SYN from port 40000 (seq 1000): [S.] <mss 1460,sackOK,TS,nop,wscale 10>. */
  linuxSynAck: fromHex(
    '4500003c00004000400626200a4d00010a4d0002' +
    '1f909c40a0839364000003e9a012fe88fbb40000' +
    '020405b40402080adb076a05000000640103030a'),
  /** Then the listener's data: [P.] 'hello\n' win 64 <nop,nop,TS>. */
  linuxData: fromHex(
    '4500003a3e0f40004006e8120a4d00010a4d0002' +
    '1f909c40a0839365000003e980180040e4e20000' +
    '0101080adb076a0500000064' + '68656c6c6f0a'),
  /** Then its close: [F.] <nop,nop,TS>. */
  linuxFin: fromHex(
    '450000343e1040004006e8170a4d00010a4d0002' +
    '1f909c40a083936b000003e980110040279a0000' +
    '0101080adb076b3100000064'),
  /** `ping -c 1 -s 8 -p 61626364 10.77.0.2`: echo request id 0x0f73 seq 1, data 'abcd\0\0\0\0'. */
  linuxPing: fromHex(
    '450000247e5240004001a7ea0a4d00010a4d0002' +
    '080023c50f730001' + '6162636400000000'),
}

/** 10.77.0.1, the kernel's side in the captures. */
export const KERNEL = 0x0a4d0001
/** 10.77.0.2, the stack's side in the captures. */
export const STACK = 0x0a4d0002

/**
 * Reference Internet checksum written differently from src: the one's complement sum
 * is the plain sum modulo 0xffff (2^16 = 1 mod 0xffff), with 0xffff for a non-zero multiple.
 */
export function referenceSum(bytes: Uint8Array, initial = 0): number {
  let total = BigInt(initial)
  for (let i = 0; i < bytes.length; i += 2) total += BigInt(bytes[i]! * 256 + (bytes[i + 1] ?? 0))
  if (total === 0n) return 0
  const r = Number(total % 0xffffn)
  return r === 0 ? 0xffff : r
}

/** A decoded IPv4 packet and its decoded transport. */
export type Decoded =
  | { ip: IPv4Packet; tcp: TcpSegment }
  | { ip: IPv4Packet; icmp: IcmpMessage }
  | { ip: IPv4Packet }

/** The receive path in miniature: IPv4, then TCP or ICMP by protocol. */
export function parsePacket(bytes: Uint8Array): Parsed<Decoded> {
  const ip = parseIPv4(bytes)
  if (!ip.ok) return ip
  const { header, payload } = ip.value
  if (header.protocol === IPPROTO_TCP) {
    const tcp = parseTcp(payload, header.src, header.dst)
    return tcp.ok ? { ok: true, value: { ip: ip.value, tcp: tcp.value } } : tcp
  }
  if (header.protocol === IPPROTO_ICMP) {
    const icmp = parseIcmp(payload)
    return icmp.ok ? { ok: true, value: { ip: ip.value, icmp: icmp.value } } : icmp
  }
  return { ok: true, value: { ip: ip.value } }
}

/** Unsigned 32-bit integers, the form addresses and sequence numbers take. */
export const u32 = fc.integer({ min: 0, max: 0xffffffff })
/** 16-bit fields: ports, windows, MSS. */
export const u16 = fc.integer({ min: 0, max: 0xffff })

/** Any option set whose written form fits the 40 option bytes. */
export const tcpOptionsArb: fc.Arbitrary<TcpOptions> = fc
  .record(
    {
      mss: u16,
      windowScale: fc.integer({ min: 0, max: 255 }),
      sackPermitted: fc.constant(true),
      sackBlocks: fc.array(fc.record({ left: u32, right: u32 }), { minLength: 1, maxLength: 4 }),
      timestamp: fc.record({ value: u32, echo: u32 }),
      // RFC 7413 4.1.1: a request (no cookie) or a cookie of 4..16 bytes, even.
      fastOpen: fc.record({
        cookie: fc.oneof(fc.constant(new Uint8Array(0)), fc.integer({ min: 2, max: 8 }).chain(n => fc.uint8Array({ minLength: 2 * n, maxLength: 2 * n }))),
        experimental: fc.boolean(),
      }),
    },
    { requiredKeys: [] },
  )
  .filter(o => {
    let n = 0
    if (o.mss !== undefined) n += 4
    n += o.timestamp !== undefined ? 12 : o.sackPermitted ? 4 : 0
    if (o.windowScale !== undefined) n += 4
    if (o.sackBlocks !== undefined) n += 4 + 8 * o.sackBlocks.length
    if (o.fastOpen !== undefined) n += ((o.fastOpen.experimental ? 4 : 2) + o.fastOpen.cookie.length + 3) & ~3
    return n <= 40
  })

/** Fields for buildTcpPacket: any header, options and a payload up to 1500 bytes. */
export const tcpFieldsArb: fc.Arbitrary<TcpPacketFields> = fc.record({
  src: u32,
  dst: u32,
  srcPort: u16,
  dstPort: u16,
  seq: u32,
  ack: u32,
  flags: fc.integer({ min: 0, max: 255 }),
  window: u16,
  options: tcpOptionsArb,
  payload: fc.uint8Array({ maxLength: 1500 }),
  ttl: fc.integer({ min: 0, max: 255 }),
  id: u16,
  urgentPointer: u16,
  tos: fc.integer({ min: 0, max: 255 }),
})
