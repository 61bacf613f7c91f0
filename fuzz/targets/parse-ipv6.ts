// Fuzz target: parseIPv6 (RFC 8200) and the ICMPv6 decoders on arbitrary bytes. A
// rejection must be one of the known drop reasons; an accepted packet must describe
// bytes that are really there, its chain must end in an upper-layer protocol, and a
// packet without extension headers must survive a round trip through writeIPv6Header.
//
//   Jazzer.js:  npx jazzer fuzz/.build/parse-ipv6.cjs fuzz/corpus/parse-ipv6   (docs/simulation-and-fuzzing.md)
//   our loop:   npm run fuzz -- parse-ipv6

import { DROP_REASONS } from '../../src/stack/wire/drop'
import { isIcmpv6Error, parseIcmpv6, parseIcmpv6Quote } from '../../src/stack/wire/icmpv6'
import {
  IPPROTO_ICMPV6, IPV6_HEADER_LENGTH, NEXT_DESTINATION_OPTIONS, NEXT_FRAGMENT, NEXT_HOP_BY_HOP, NEXT_NONE, NEXT_ROUTING, parseIPv6, writeIPv6Header,
} from '../../src/stack/wire/ipv6'
import type { FuzzTarget } from '../../src/testkit/fuzz/target'

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`parseIPv6: ${what}`)
}

const known = (reason: string) => (DROP_REASONS as readonly string[]).includes(reason)

export const target = {
  name: 'parse-ipv6',
  run(data: Uint8Array): Set<string> {
    const r = parseIPv6(data)
    if (!r.ok) {
      check(known(r.reason), `unknown drop reason ${r.reason}`)
      return new Set([`drop:${r.reason}`])
    }
    const { header: h, payload } = r.value
    const features = new Set(['ok', `extensions:${h.extensionLength > 0}`])
    check(data[0]! >> 4 === 6, 'accepted a version other than 6')
    check(IPV6_HEADER_LENGTH + h.payloadLength <= data.length, `payload length ${h.payloadLength} of ${data.length} bytes`)
    check(payload.buffer === data.buffer, 'payload is not a view of the input')
    check(payload.length === (h.protocol === NEXT_NONE ? 0 : h.payloadLength - h.extensionLength), 'payload disagrees with the payload length')
    check(![NEXT_HOP_BY_HOP, NEXT_ROUTING, NEXT_FRAGMENT, NEXT_DESTINATION_OPTIONS].includes(h.protocol), `chain ends in extension header ${h.protocol}`)
    check(h.src.length === 16 && h.dst.length === 16, 'an address is not 16 bytes')
    if (h.extensionLength === 0 && h.protocol !== NEXT_NONE) { // after No Next Header the bytes are not the payload
      const copy = new Uint8Array(IPV6_HEADER_LENGTH + payload.length)
      writeIPv6Header(copy, 0, {
        src: h.src, dst: h.dst, protocol: h.protocol, payloadLength: payload.length,
        hopLimit: h.hopLimit, trafficClass: h.trafficClass, flowLabel: h.flowLabel,
      })
      copy.set(payload, IPV6_HEADER_LENGTH)
      const again = parseIPv6(copy)
      check(again.ok && JSON.stringify(again.value.header) === JSON.stringify(h), 'header does not survive a round trip')
    }
    if (h.protocol === IPPROTO_ICMPV6) {
      const icmp = parseIcmpv6(payload, h.src, h.dst)
      if (!icmp.ok) {
        check(known(icmp.reason), `unknown ICMPv6 drop reason ${icmp.reason}`)
        features.add(`drop:${icmp.reason}`)
      } else {
        features.add(`icmpv6:${isIcmpv6Error(icmp.value.type) ? 'error' : 'info'}`)
        if (isIcmpv6Error(icmp.value.type)) {
          const quote = parseIcmpv6Quote(icmp.value.body)
          features.add(quote.ok ? 'quote' : `drop:${quote.reason}`)
        }
      }
    }
    return features
  },
} satisfies FuzzTarget

/** The Jazzer.js entry point. */
export function fuzz(data: Buffer): void {
  target.run(data)
}
