// One direction of travel between two hosts of a simulation, and the model of the
// wire it crosses: a bandwidth limit with its queue, then the faults of faults.ts
// (loss, duplication, corruption, delay, jitter, reordering).

import { FaultModel, validateProfile, type FaultCounters, type FaultProfile } from '../../tun/faults.js'
import type { Random } from '../../stack/random.js'

/** How one direction of a link behaves. Everything is optional: the default is a perfect, instant wire. */
/** A policer's bucket when LinkModel.policerBurstBytes is not given, bytes. */
const DEFAULT_POLICER_BURST = 65_536

export interface LinkModel extends FaultProfile {
  /** Bits per second; packets are serialized one after another. Default: unlimited. */
  bandwidthBps?: number
  /** Bytes that may wait for the wire before new packets are dropped (drop-tail). Default: unlimited. */
  queueBytes?: number
  /**
   * A token-bucket policer in front of the wire, bits per second: a packet that finds fewer
   * tokens than its length is dropped, never queued (as an ISP's rate limit or tc's police
   * action). Default: none.
   */
  policerBps?: number
  /** The policer's bucket: the burst it passes at full speed, bytes. Default: 64 KB. */
  policerBurstBytes?: number
}

export interface PathCounters extends FaultCounters {
  /** Packets dropped because the queue in front of the bandwidth limit was full. */
  queueDrops: number
  /** Packets the policer dropped (LinkModel.policerBps). */
  policerDrops: number
  /** Copies delivered to the receiving host. */
  delivered: number
}

/** A packet the path will hand over at `at` (virtual ms). */
export interface Arrival {
  packet: Uint8Array
  at: number
  corrupted: boolean
}

export class Path {
  readonly counters: PathCounters
  private readonly faults: FaultModel
  /** When the wire is free again (bandwidth limit). */
  private busyUntil = 0
  /** The policer's bucket: bytes of tokens, and when it was last filled. */
  private tokens: number
  private tokensAt = 0

  constructor(readonly model: LinkModel, random: Random) {
    validateProfile(model)
    if (model.bandwidthBps !== undefined && !(model.bandwidthBps > 0)) throw new RangeError(`bandwidthBps must be > 0, got ${model.bandwidthBps}`)
    if (model.policerBps !== undefined && !(model.policerBps > 0)) throw new RangeError(`policerBps must be > 0, got ${model.policerBps}`)
    if (model.policerBurstBytes !== undefined && !(model.policerBurstBytes > 0)) throw new RangeError(`policerBurstBytes must be > 0, got ${model.policerBurstBytes}`)
    this.tokens = model.policerBurstBytes ?? DEFAULT_POLICER_BURST
    this.faults = new FaultModel(model, random)
    // The fault model's counters are shared, so one object shows everything that happened on this path.
    this.counters = Object.assign(this.faults.counters, { queueDrops: 0, policerDrops: 0, delivered: 0 })
  }

  /** A packet enters the path at `now`: where and when each copy of it comes out. */
  send(packet: Uint8Array, now: number): Arrival[] {
    const deliveries = this.faults.apply(packet)
    const arrivals: Arrival[] = []
    for (const d of deliveries) {
      if (!this.policerPasses(d.packet.length, now)) {
        this.counters.policerDrops++
        continue
      }
      let leaves = now
      const bps = this.model.bandwidthBps
      if (bps !== undefined) {
        const start = Math.max(now, this.busyUntil)
        const queued = ((start - now) * bps) / 8000
        if (this.model.queueBytes !== undefined && queued + d.packet.length > this.model.queueBytes) {
          this.counters.queueDrops++
          continue
        }
        leaves = start + (d.packet.length * 8000) / bps
        this.busyUntil = leaves
      }
      // A corrupted copy is a new array; any other copy is the packet itself.
      arrivals.push({ packet: d.packet, at: leaves + d.delayMs, corrupted: d.packet !== packet })
    }
    return arrivals
  }

  /** The token bucket: refill at policerBps up to the burst, then take the packet's length if it is there. */
  private policerPasses(length: number, now: number): boolean {
    const bps = this.model.policerBps
    if (bps === undefined) return true
    const burst = this.model.policerBurstBytes ?? DEFAULT_POLICER_BURST
    this.tokens = Math.min(burst, this.tokens + ((now - this.tokensAt) * bps) / 8000)
    this.tokensAt = now
    if (this.tokens < length) return false
    this.tokens -= length
    return true
  }
}
