// Initial sequence numbers per RFC 6528: ISN = M + F(localip, localport,
// remoteip, remoteport, secretkey), where M ticks every 4 microseconds and F
// is a keyed hash, so ISNs are hard to guess yet increase for reused 4-tuples.
// F is SipHash-2-4 under a 128-bit random key, as Linux's secure_tcp_seq.

import { siphash24Low32 } from './siphash.js'
import type { Clock } from '../time/clock.js'
import type { Random } from '../random.js'
import { addressLength, writeAddress, type Address } from '../wire/address.js'

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

  /** The 4-tuple's addresses are 4 bytes each for IPv4, 16 for IPv6 (RFC 6528 3 keys F by the whole 4-tuple). */
  next(localAddr: Address, localPort: number, remoteAddr: Address, remotePort: number): number {
    const tuple = Buffer.alloc(addressLength(localAddr) + addressLength(remoteAddr) + 4)
    let at = writeAddress(tuple, 0, localAddr)
    at = tuple.writeUInt16BE(localPort, at)
    at = writeAddress(tuple, at, remoteAddr)
    tuple.writeUInt16BE(remotePort, at)
    const f = this.prf(tuple)
    const m = Math.floor(this.clock.now() * 250) // 4 µs ticks
    return (m + f) >>> 0
  }

  /**
   * Where our TSvals start for connections between these two addresses (RFC 7323 5.4 and
   * 7.1): a keyed hash of the addresses, so TSvals cannot be guessed across hosts and still
   * grow across incarnations of one 4-tuple, which RFC 6191 needs to reopen a TIME-WAIT.
   */
  timestampOffset(localAddr: Address, remoteAddr: Address): number {
    const pair = Buffer.alloc(1 + addressLength(localAddr) + addressLength(remoteAddr))
    pair.writeUInt8(0x74, 0) // a domain byte: never the same input as next()
    writeAddress(pair, writeAddress(pair, 1, localAddr), remoteAddr)
    return this.prf(pair)
  }
}
