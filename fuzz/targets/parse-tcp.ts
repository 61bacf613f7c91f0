// Fuzz target: parseTcp (RFC 9293 3.1) and its option parser (RFC 9293 3.2, RFC 7323,
// RFC 2018) on arbitrary bytes, with and without the checksum check (without it,
// random bytes reach the option parser). An accepted segment must describe bytes
// that are there, and its fields and options must survive a round trip through
// buildTcpPacket.
//
//   Jazzer.js:  npx jazzer fuzz/.build/parse-tcp.cjs fuzz/corpus/parse-tcp
//   our loop:   npm run fuzz -- parse-tcp

import { DROP_REASONS } from '../../src/stack/wire/drop'
import { parseIPv4 } from '../../src/stack/wire/ipv4'
import { TCP_MAX_OPTIONS_LENGTH, buildTcpPacket, parseTcp, tcpOptionsLength, type TcpOptions, type TcpSegment } from '../../src/stack/wire/tcp'
import type { FuzzTarget } from '../../src/testkit/fuzz/target'

const SRC = 0x0a000001
const DST = 0x0a000002

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`parseTcp: ${what}`)
}

/** Options as JSON with sorted keys: the order the parser met them in does not matter. */
function canonical(o: TcpOptions): string {
  return JSON.stringify(Object.keys(o).sort().map(k => [k, o[k as keyof TcpOptions]]))
}

function examine(data: Uint8Array, seg: TcpSegment, features: Set<string>): void {
  check(seg.headerLength >= 20 && seg.headerLength <= 60 && seg.headerLength <= data.length, `header length ${seg.headerLength}`)
  check(seg.payload.length === data.length - seg.headerLength, 'payload length disagrees with the header')
  check(seg.seq >= 0 && seg.seq <= 0xffffffff && seg.ack >= 0 && seg.ack <= 0xffffffff, 'sequence numbers out of range')
  const o = seg.options
  if (o.sackBlocks) check(o.sackBlocks.length >= 1 && o.sackBlocks.length <= 4, `${o.sackBlocks.length} SACK blocks`)
  for (const key of Object.keys(o)) features.add(`option:${key}`)
  features.add(`header:${seg.headerLength}`)
  // Round trip: what we parsed, written back (if our writer can hold those options), parses the same.
  if (tcpOptionsLength(o) > TCP_MAX_OPTIONS_LENGTH) return
  const packet = buildTcpPacket({
    src: SRC, dst: DST, srcPort: seg.srcPort, dstPort: seg.dstPort, seq: seg.seq, ack: seg.ack,
    flags: seg.flags, window: seg.window, options: o, payload: seg.payload, urgentPointer: seg.urgentPointer,
  })
  const ip = parseIPv4(packet)
  check(ip.ok, 'a built packet does not parse as IPv4')
  const again = ip.ok ? parseTcp(ip.value.payload, SRC, DST) : null
  check(again !== null && again.ok, 'a built segment does not parse')
  if (again === null || !again.ok) return
  const a = again.value
  check(a.srcPort === seg.srcPort && a.dstPort === seg.dstPort && a.seq === seg.seq && a.ack === seg.ack &&
    a.flags === seg.flags && a.window === seg.window && a.urgentPointer === seg.urgentPointer, 'fields change in a round trip')
  check(canonical(a.options) === canonical(o), `options change in a round trip: ${canonical(o)} -> ${canonical(a.options)}`)
  check(Buffer.compare(a.payload, seg.payload) === 0, 'payload changes in a round trip')
}

export const target = {
  name: 'parse-tcp',
  run(data: Uint8Array): Set<string> {
    const features = new Set<string>()
    for (const verify of [true, false]) {
      const r = parseTcp(data, SRC, DST, verify)
      if (!r.ok) {
        check((DROP_REASONS as readonly string[]).includes(r.reason), `unknown drop reason ${r.reason}`)
        features.add(`drop:${r.reason}`)
        continue
      }
      features.add(verify ? 'ok' : 'ok-unverified')
      examine(data, r.value, features)
    }
    return features
  },
} satisfies FuzzTarget

/** The Jazzer.js entry point. */
export function fuzz(data: Buffer): void {
  target.run(data)
}
