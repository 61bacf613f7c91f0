// Fuzz target: parseIPv4 (RFC 791 3.1) on arbitrary bytes. A rejection must be one of
// the known drop reasons; an accepted packet must describe bytes that are really
// there, and a plain header must survive a round trip through writeIPv4Header.
//
//   Jazzer.js:  npx jazzer fuzz/.build/parse-ipv4.cjs fuzz/corpus/parse-ipv4   (docs/simulation-and-fuzzing.md)
//   our loop:   npm run fuzz -- parse-ipv4

import { checksum } from '../../src/stack/wire/checksum'
import { DROP_REASONS } from '../../src/stack/wire/drop'
import { parseIPv4, writeIPv4Header } from '../../src/stack/wire/ipv4'
import type { FuzzTarget } from '../../src/testkit/fuzz/target'

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`parseIPv4: ${what}`)
}

export const target = {
  name: 'parse-ipv4',
  run(data: Uint8Array): Set<string> {
    const r = parseIPv4(data)
    if (!r.ok) {
      check((DROP_REASONS as readonly string[]).includes(r.reason), `unknown drop reason ${r.reason}`)
      return new Set([`drop:${r.reason}`])
    }
    const { header: h, payload } = r.value
    check(data[0]! >> 4 === 4, 'accepted a version other than 4')
    check(h.headerLength >= 20 && h.headerLength <= 60 && h.headerLength % 4 === 0, `header length ${h.headerLength}`)
    check(h.totalLength <= data.length && h.totalLength >= h.headerLength, `total length ${h.totalLength} of ${data.length} bytes`)
    check(payload.length === h.totalLength - h.headerLength, 'payload length disagrees with the header')
    check(payload.buffer === data.buffer, 'payload is not a view of the input')
    check(checksum(data, 0, h.headerLength) === 0, 'accepted a header whose checksum does not verify')
    check(!h.moreFragments && h.fragmentOffset === 0, 'accepted a fragment')
    if (h.headerLength === 20) {
      const copy = new Uint8Array(20)
      writeIPv4Header(copy, 0, {
        src: h.src, dst: h.dst, protocol: h.protocol, payloadLength: payload.length,
        ttl: h.ttl, id: h.id, dontFragment: h.dontFragment, tos: h.tos,
      })
      const again = parseIPv4(Uint8Array.from([...copy, ...payload]))
      check(again.ok && JSON.stringify(again.value.header) === JSON.stringify(h), 'header does not survive a round trip')
    }
    return new Set(['ok', `header:${h.headerLength}`, `protocol:${h.protocol === 6 || h.protocol === 1 ? h.protocol : 'other'}`, `df:${h.dontFragment}`])
  },
} satisfies FuzzTarget

/** The Jazzer.js entry point. */
export function fuzz(data: Buffer): void {
  target.run(data)
}
