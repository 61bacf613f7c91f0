// Fault injection: what a bad wire does to packets, decided by seeded coin flips so
// that a run can be replayed exactly. The same model is used in three places:
//
//   - the simulation's links (src/testkit/sim), in virtual time;
//   - FaultyLink (faulty-link.ts), a wrapper around any Link, the TUN device included;
//   - StackOptions.faults, on the stack's own outbound path.
//
// The model only decides. It returns what should be delivered and after how long;
// whoever carries the packets (a simulated path, a Link, the stack) does the waiting.
// The knobs mirror Linux netem (tc-netem(8)): loss, duplicate, reorder, corrupt, delay, jitter.

import type { Random } from '../stack/random.js'

/** Probabilities are per packet, from 0 (never) to 1 (always). Times are in milliseconds. */
export interface FaultProfile {
  /** The packet is lost. */
  loss?: number
  /** The packet arrives twice (the copy right after the original). */
  duplicate?: number
  /** The packet is held back an extra `reorderMs`, so packets sent after it overtake it. */
  reorder?: number
  /** How long a reordered packet is held back. Default 10 ms. */
  reorderMs?: number
  /** One bit of the packet, chosen at random, is flipped: the receiver must drop it by checksum. */
  corrupt?: number
  /** Every packet is delayed this long. Default 0. */
  delayMs?: number
  /** Plus a uniformly random extra delay in [0, jitterMs). Default 0. */
  jitterMs?: number
}

/** What the model did, packet by packet. */
export interface FaultCounters {
  /** Packets offered to the model. */
  packets: number
  lost: number
  duplicated: number
  reordered: number
  corrupted: number
  /**
   * Corruptions turned into losses: the packet's checksum is left for a device to finish
   * (offload), so a flipped bit would go out with a valid checksum. A receiver drops a
   * corrupted packet anyway; dropping it here has the same effect on the connection.
   */
  corruptedAsLost: number
}

/** One copy of a packet to deliver, `delayMs` from now. */
export interface Delivery {
  packet: Uint8Array
  delayMs: number
}

const DEFAULT_REORDER_MS = 10

/** A uniformly distributed number in [0, 1) from 32 random bits. */
export function uniform(random: Random): number {
  return random.nextUint32() / 2 ** 32
}

/** A copy of `packet` with one randomly chosen bit flipped. */
export function flipRandomBit(packet: Uint8Array, random: Random): Uint8Array {
  const copy = packet.slice()
  if (copy.length === 0) return copy
  const bit = random.nextUint32() % (copy.length * 8)
  copy[bit >>> 3]! ^= 1 << (bit & 7)
  return copy
}

/** Check a profile once, so a typo fails at setup rather than as a silent no-op. */
export function validateProfile(p: FaultProfile): void {
  for (const key of ['loss', 'duplicate', 'reorder', 'corrupt'] as const) {
    const v = p[key]
    if (v !== undefined && !(v >= 0 && v <= 1)) throw new RangeError(`fault ${key} must be a probability in [0, 1], got ${v}`)
  }
  for (const key of ['reorderMs', 'delayMs', 'jitterMs'] as const) {
    const v = p[key]
    if (v !== undefined && !(v >= 0 && Number.isFinite(v))) throw new RangeError(`fault ${key} must be a time >= 0 ms, got ${v}`)
  }
}

export class FaultModel {
  readonly counters: FaultCounters = { packets: 0, lost: 0, duplicated: 0, reordered: 0, corrupted: 0, corruptedAsLost: 0 }
  private readonly profile: Required<FaultProfile>

  constructor(profile: FaultProfile, private readonly random: Random) {
    validateProfile(profile)
    this.profile = {
      loss: profile.loss ?? 0, duplicate: profile.duplicate ?? 0, reorder: profile.reorder ?? 0,
      reorderMs: profile.reorderMs ?? DEFAULT_REORDER_MS, corrupt: profile.corrupt ?? 0,
      delayMs: profile.delayMs ?? 0, jitterMs: profile.jitterMs ?? 0,
    }
  }

  /**
   * Decide what becomes of one packet: no delivery (lost), one, or two (duplicated),
   * each possibly corrupted and with its own delay. The packet is never changed in
   * place; a corrupted delivery is a copy. `checksumFinishedLater`: the transport
   * checksum is partial (offload), so corruption cannot be detected and is a loss instead.
   */
  apply(packet: Uint8Array, checksumFinishedLater = false): Delivery[] {
    const p = this.profile
    this.counters.packets++
    if (p.loss > 0 && uniform(this.random) < p.loss) {
      this.counters.lost++
      return []
    }
    const copies = p.duplicate > 0 && uniform(this.random) < p.duplicate ? 2 : 1
    if (copies === 2) this.counters.duplicated++
    const out: Delivery[] = []
    for (let i = 0; i < copies; i++) {
      let copy = packet
      if (p.corrupt > 0 && uniform(this.random) < p.corrupt) {
        if (checksumFinishedLater) {
          this.counters.corruptedAsLost++
          continue
        }
        this.counters.corrupted++
        copy = flipRandomBit(packet, this.random)
      }
      let delayMs = p.delayMs
      if (p.jitterMs > 0) delayMs += uniform(this.random) * p.jitterMs
      if (p.reorder > 0 && uniform(this.random) < p.reorder) {
        this.counters.reordered++
        delayMs += p.reorderMs
      }
      out.push({ packet: copy, delayMs })
    }
    return out
  }
}
