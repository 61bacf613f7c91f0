// Writes the seed corpus of each fuzz target (fuzz/corpus/<target>/): small, valid
// inputs that reach deep into the code, for mutations to start from. Deterministic:
// running it again rewrites the same files. `npm run fuzz:corpus`.

import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { checksum } from '../src/stack/wire/checksum'
import { buildIcmpPacket } from '../src/stack/wire/icmp'
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

// parse-tcp: the TCP part alone.
for (const [name, packet] of Object.entries(SEGMENTS)) write('parse-tcp', name, packet.subarray(20))

// segment: step programs (src/testkit/fuzz/decode.ts), one per starting state, each a
// well-behaved exchange to mutate from: data in order, time passing, a FIN, then data out of order.
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
  write('segment', `from-${OPEN_STATES[i]!.toLowerCase()}`, Uint8Array.from(program))
}
write('segment', 'rst-in-window', Uint8Array.from([3, 0, RST, 0, 5, 0, 0xff, 0xff, 0, 0]))
write('segment', 'syn-in-window', Uint8Array.from([3, 0, SYN, 0, 5, 0, 0xff, 0xff, 0, 0x0f, 0x05, 0xb4, 7, 0, 0, 0, 1, 0, 0, 0, 0]))
write('segment', 'corrupted-data', Uint8Array.from([3, 15, ACK, 20, 0, ACK | PSH, 0, 0, 0, 0xff, 0xff, 20, 0x10, 0, 0x01, 0x00]))
console.log(`wrote the seed corpus under ${ROOT}`)
