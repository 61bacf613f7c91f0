// Byte-level mutations in the manner of libFuzzer's: flip a bit, set a byte or a
// 16-bit field to an "interesting" value, insert, erase, duplicate, or splice in a
// piece of another input. Seeded, so a fuzzing run replays from its seed.

import type { Random } from '../../stack/random.js'

const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xff, 0x10, 0x40, 0x45, 0x06, 0x05, 0x02, 0x12]
/** 16-bit values that sit on boundaries: zero, one, sign bits, the largest, header and MTU sizes. */
const INTERESTING_16 = [0, 1, 0x7fff, 0x8000, 0xffff, 20, 40, 60, 536, 1460, 1500, 65535 - 20]

export interface MutateOptions {
  /** Inputs grow no longer than this. Default 4096. */
  maxLength?: number
  /** Other inputs to splice pieces from. */
  pool?: readonly Uint8Array[]
}

function below(random: Random, n: number): number {
  return n <= 1 ? 0 : random.nextUint32() % n
}

/** A new input made from `input` by one to four random mutations. */
export function mutateBytes(input: Uint8Array, random: Random, opts: MutateOptions = {}): Uint8Array {
  const maxLength = opts.maxLength ?? 4096
  let data = Array.from(input)
  const rounds = 1 + below(random, 4)
  for (let i = 0; i < rounds; i++) {
    const at = below(random, data.length + 1)
    switch (below(random, 9)) {
      case 0: // flip one bit
        if (data.length > 0) data[below(random, data.length)]! ^= 1 << below(random, 8)
        break
      case 1: // a random byte
        if (data.length > 0) data[below(random, data.length)] = below(random, 256)
        break
      case 2: // an interesting byte
        if (data.length > 0) data[below(random, data.length)] = INTERESTING_8[below(random, INTERESTING_8.length)]!
        break
      case 3: { // an interesting 16-bit big-endian field (lengths, ports, windows)
        if (data.length < 2) break
        const j = below(random, data.length - 1)
        const v = INTERESTING_16[below(random, INTERESTING_16.length)]!
        data[j] = v >>> 8
        data[j + 1] = v & 0xff
        break
      }
      case 4: { // insert random bytes
        const n = 1 + below(random, 8)
        const bytes: number[] = []
        for (let k = 0; k < n; k++) bytes.push(below(random, 256))
        data.splice(at, 0, ...bytes)
        break
      }
      case 5: // erase a range
        data.splice(at, 1 + below(random, 16))
        break
      case 6: { // duplicate a range in place
        const n = 1 + below(random, 16)
        data.splice(at, 0, ...data.slice(at, at + n))
        break
      }
      case 7: { // splice in a piece of another input
        const pool = opts.pool ?? []
        const other = pool.length > 0 ? pool[below(random, pool.length)]! : input
        const from = below(random, other.length)
        data.splice(at, 0, ...other.subarray(from, from + 1 + below(random, 64)))
        break
      }
      case 8: // add or subtract a little from a byte (counters, lengths)
        if (data.length > 0) {
          const j = below(random, data.length)
          data[j] = (data[j]! + below(random, 33) - 16) & 0xff
        }
        break
    }
    if (data.length > maxLength) data = data.slice(0, maxLength)
  }
  return Uint8Array.from(data)
}
