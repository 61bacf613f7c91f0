// Initial sequence numbers per RFC 6528: ISN = M + F(localip, localport,
// remoteip, remoteport, secretkey), where M ticks every 4 microseconds and F
// is a keyed hash, so ISNs are hard to guess yet increase for reused 4-tuples.
// F is SipHash-2-4 under a 128-bit random key, as Linux's secure_tcp_seq.

import { siphash24Low32 } from './siphash.js'
import type { Clock } from '../time/clock.js'
import type { Random } from '../random.js'

export class IsnGenerator {
  private readonly key: Buffer

  constructor(private readonly clock: Clock, random: Random) {
    this.key = Buffer.alloc(16)
    for (let i = 0; i < 16; i += 4) this.key.writeUInt32BE(random.nextUint32(), i)
    this.halves = [4, 0, 12, 8].map(at => this.key.readUInt32LE(at))
  }

  /** The key as siphash24Low32 takes it: the high and low halves of its two 64-bit little-endian words. */
  private readonly halves: number[]

  /** F: the low 32 bits of SipHash-2-4 of `input` under the key. */
  private prf(input: Uint8Array): number {
    const [k0hi, k0lo, k1hi, k1lo] = this.halves as [number, number, number, number]
    return siphash24Low32(k0hi, k0lo, k1hi, k1lo, input)
  }

  next(localAddr: number, localPort: number, remoteAddr: number, remotePort: number): number {
    const tuple = Buffer.alloc(12)
    tuple.writeUInt32BE(localAddr >>> 0, 0)
    tuple.writeUInt16BE(localPort, 4)
    tuple.writeUInt32BE(remoteAddr >>> 0, 6)
    tuple.writeUInt16BE(remotePort, 10)
    const f = this.prf(tuple)
    const m = Math.floor(this.clock.now() * 250) // 4 µs ticks
    return (m + f) >>> 0
  }

  /**
   * Where our TSvals start for connections between these two addresses (RFC 7323 5.4 and
   * 7.1): a keyed hash of the addresses, so TSvals cannot be guessed across hosts and still
   * grow across incarnations of one 4-tuple, which RFC 6191 needs to reopen a TIME-WAIT.
   */
  timestampOffset(localAddr: number, remoteAddr: number): number {
    const pair = Buffer.alloc(9)
    pair.writeUInt8(0x74, 0) // a domain byte: never the same input as next()
    pair.writeUInt32BE(localAddr >>> 0, 1)
    pair.writeUInt32BE(remoteAddr >>> 0, 5)
    return this.prf(pair)
  }
}
