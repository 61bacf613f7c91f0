// Writes the seed corpus of each fuzz target (fuzz/corpus/<target>/): small, valid
// inputs that reach deep into the code, for mutations to start from. Deterministic:
// running it again rewrites the same files. `npm run fuzz:corpus`.

import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { checksum } from '../src/stack/wire/checksum'
import { buildIcmpPacket } from '../src/stack/wire/icmp'
import { ICMPV6_ECHO_REQUEST, ICMPV6_PACKET_TOO_BIG, buildIcmpv6Error, buildIcmpv6Packet } from '../src/stack/wire/icmpv6'
import { IPV6_HEADER_LENGTH, parseAddressV6, writeIPv6Header } from '../src/stack/wire/ipv6'
import { ACK, FIN, PSH, RST, SYN, buildTcpPacket, type TcpOptions } from '../src/stack/wire/tcp'
import { OPEN_STATES } from '../src/testkit/fuzz/connection'

const ROOT = join(import.meta.dirname, '..', 'fuzz', 'corpus')
const SRC = 0x0a000001
const DST = 0x0a000002

function write(target: string, name: string, bytes: Uint8Array): void {
  const dir = join(ROOT, target)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, `${name}.bin`), bytes)
}

function tcp(flags: number, options?: TcpOptions, payload?: Uint8Array): Uint8Array {
  return buildTcpPacket({ src: SRC, dst: DST, srcPort: 40000, dstPort: 80, seq: 0xfffffff0, ack: 12345, flags, window: 65535, options, payload })
}

const ALL_OPTIONS: TcpOptions = { mss: 1460, windowScale: 7, sackPermitted: true, timestamp: { value: 100, echo: 0 } }
const SEGMENTS: Record<string, Uint8Array> = {
  'syn-all-options': tcp(SYN, ALL_OPTIONS),
  'syn-mss': tcp(SYN, { mss: 536 }),
  'ack-sack-blocks': tcp(ACK, { sackBlocks: [{ left: 1, right: 100 }, { left: 200, right: 300 }], timestamp: { value: 7, echo: 9 } }),
  'data-psh': tcp(ACK | PSH, undefined, new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n')),
  'fin-ack': tcp(FIN | ACK),
  'rst': tcp(RST),
}

// parse-ipv4: whole packets, including one with an IP option and an ICMP echo request.
for (const [name, packet] of Object.entries(SEGMENTS)) write('parse-ipv4', name, packet)
write('parse-ipv4', 'icmp-echo', buildIcmpPacket({ src: SRC, dst: DST, type: 8, code: 0, rest: 0x00010001, body: new Uint8Array(8) }))
{
  // A 24-byte header: a NOP and an End of Options List (RFC 791 3.1), checksum fixed by hand.
  const plain = SEGMENTS['rst']!
  const withOption = new Uint8Array(plain.length + 4)
  withOption.set(plain.subarray(0, 20))
  withOption.set([1, 0, 0, 0], 20)
  withOption.set(plain.subarray(20), 24)
  withOption[0] = 0x46
  const total = withOption.length
  withOption[2] = total >> 8
  withOption[3] = total & 0xff
  withOption[10] = withOption[11] = 0
  const c = checksum(withOption, 0, 24)
  withOption[10] = c >> 8
  withOption[11] = c & 0xff
  write('parse-ipv4', 'ip-option-nop', withOption)
}

// parse-ipv6: an ICMPv6 echo, a TCP SYN, an MLD report after a hop-by-hop header
// (as the kernel sends on a new link), an atomic fragment, and a Packet Too Big quoting the SYN.
{
  const A = parseAddressV6('fd77::1')!
  const B = parseAddressV6('fd77::2')!
  const withHeaders = (next: number, extensions: Uint8Array, upper: Uint8Array): Uint8Array => {
    const p = new Uint8Array(IPV6_HEADER_LENGTH + extensions.length + upper.length)
    writeIPv6Header(p, 0, { src: A, dst: B, protocol: next, payloadLength: extensions.length + upper.length, flowLabel: 0x12345 })
    p.set(extensions, IPV6_HEADER_LENGTH)
    p.set(upper, IPV6_HEADER_LENGTH + extensions.length)
    return p
  }
  const syn = withHeaders(6, new Uint8Array(0), SEGMENTS['syn-all-options']!.subarray(20))
  write('parse-ipv6', 'icmpv6-echo', buildIcmpv6Packet({ src: A, dst: B, type: ICMPV6_ECHO_REQUEST, code: 0, rest: 0x00010001, body: new Uint8Array(8) }))
  write('parse-ipv6', 'tcp-syn', syn)
  const mld = buildIcmpv6Packet({ src: A, dst: B, type: 143, code: 0, rest: 0, body: new Uint8Array(4) }).subarray(IPV6_HEADER_LENGTH)
  write('parse-ipv6', 'hop-by-hop-mld', withHeaders(0, Uint8Array.of(58, 0, 5, 2, 0, 0, 1, 0), mld)) // router alert, then PadN
  write('parse-ipv6', 'atomic-fragment', withHeaders(44, Uint8Array.of(6, 0, 0, 0, 0, 0, 0, 7), syn.subarray(IPV6_HEADER_LENGTH)))
  write('parse-ipv6', 'packet-too-big', buildIcmpv6Error(syn, ICMPV6_PACKET_TOO_BIG, 0, 1280, B, A))
}

// parse-tcp: the TCP part alone.
for (const [name, packet] of Object.entries(SEGMENTS)) write('parse-tcp', name, packet.subarray(20))

// segment and segment-ipv6 (the same over IPv6): step programs (src/testkit/fuzz/decode.ts), one
// per starting state, each a well-behaved exchange to mutate from: data in order, time passing,
// a FIN, then data out of order.
for (const name of ['segment', 'segment-ipv6']) {
  for (let i = 0; i < OPEN_STATES.length; i++) {
    const program = [
      i,
      15, ACK | PSH, 50, // the next segment, 300 bytes of data
      11, 1, // 40 ms pass (a delayed ACK)
      0, ACK, 0x01, 0x2c, 0, 0xff, 0xff, 10, 0, // 300 bytes ahead of RCV.NXT: out of order
      12, 0x01, 0x00, // the application writes 257 bytes
      15, FIN | ACK, 0, // the next segment: FIN
      11, 3, // 1 s passes
      13, // the application ends its side
      11, 5, // 65 s pass
    ]
    write(name, `from-${OPEN_STATES[i]!.toLowerCase()}`, Uint8Array.from(program))
  }
  write(name, 'rst-in-window', Uint8Array.from([3, 0, RST, 0, 5, 0, 0xff, 0xff, 0, 0]))
  write(name, 'syn-in-window', Uint8Array.from([3, 0, SYN, 0, 5, 0, 0xff, 0xff, 0, 0x0f, 0x05, 0xb4, 7, 0, 0, 0, 1, 0, 0, 0, 0]))
  write(name, 'corrupted-data', Uint8Array.from([3, 15, ACK, 20, 0, ACK | PSH, 0, 0, 0, 0xff, 0xff, 20, 0x10, 0, 0x01, 0x00]))
}
console.log(`wrote the seed corpus under ${ROOT}`)
