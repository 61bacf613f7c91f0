// A Link wrapped in a bad wire: packets going out through it, and packets coming in,
// meet a FaultModel (faults.ts) on the way. It wraps any Link, the TUN device
// included, so the faults played in memory can be played against a kernel peer too.
//
//   const link = new FaultyLink(TunDevice.open({ name: 'tuntcp0' }), {
//     seed: 42, outbound: { loss: 0.02, reorder: 0.05 }, inbound: { corrupt: 0.01 },
//   })
//   const stack = new Stack({ address: '10.77.0.2', link })

import type { Random } from '../stack/random.js'
import { SeededRandom } from '../stack/random.js'
import { FaultModel, type FaultProfile } from './faults.js'
import type { Link, PacketHandler } from './link.js'

/** Runs `fn` after `delayMs`. Real time by default; a simulation passes its own. */
export type Scheduler = (delayMs: number, fn: () => void) => void

export interface FaultyLinkOptions {
  /** Faults for packets the stack sends. */
  outbound?: FaultProfile
  /** Faults for packets arriving from the wire. */
  inbound?: FaultProfile
  /** Seed for the coin flips (each direction gets its own stream). Ignored when `random` is given. */
  seed?: number
  /** Or the random source itself. */
  random?: Random
  /** How delayed packets wait. Default: setTimeout (unref'd: a delayed packet never keeps the process alive). */
  schedule?: Scheduler
}

const realTimeScheduler: Scheduler = (delayMs, fn) => {
  setTimeout(fn, delayMs).unref()
}

export class FaultyLink implements Link {
  readonly mtu: number
  readonly tsoMaxPayload: number | undefined
  /** As the inner link: a packet held back (delayed) is a copy. */
  readonly sendCopies: boolean
  /** Decides the fate of packets the stack sends (null: passed through untouched). */
  readonly outbound: FaultModel | null
  /** Decides the fate of packets from the wire (null: passed through untouched). */
  readonly inbound: FaultModel | null
  private handler: PacketHandler | null = null
  private closed = false
  private readonly schedule: Scheduler

  constructor(readonly inner: Link, opts: FaultyLinkOptions) {
    this.mtu = inner.mtu
    this.tsoMaxPayload = inner.tsoMaxPayload
    this.sendCopies = inner.sendCopies === true
    this.schedule = opts.schedule ?? realTimeScheduler
    const random = opts.random ?? new SeededRandom(opts.seed ?? 0)
    // Two streams, so adding inbound faults does not change the outbound ones for a seed.
    this.outbound = opts.outbound ? new FaultModel(opts.outbound, new SeededRandom(random.nextUint32())) : null
    this.inbound = opts.inbound ? new FaultModel(opts.inbound, new SeededRandom(random.nextUint32())) : null
    inner.onReceive((packet, checksumTrusted) => this.receive(packet, checksumTrusted))
  }

  send(packet: Uint8Array, segmentSize?: number): void {
    if (this.outbound === null) return this.inner.send(packet, segmentSize)
    // With segmentSize the TCP checksum is partial: the device finishes it (see Link.send).
    const deliveries = this.outbound.apply(packet, segmentSize !== undefined)
    for (const d of deliveries) {
      if (d.delayMs <= 0) this.inner.send(d.packet, segmentSize)
      else {
        const copy = d.packet === packet ? packet.slice() : d.packet // the sender may reuse its buffer
        this.schedule(d.delayMs, () => {
          if (!this.closed) this.inner.send(copy, segmentSize)
        })
      }
    }
  }

  onReceive(handler: PacketHandler | null): void {
    this.handler = handler
  }

  close(): void {
    this.closed = true
    this.handler = null
    this.inner.close()
  }

  private receive(packet: Uint8Array, checksumTrusted?: boolean): void {
    if (this.handler === null) return
    if (this.inbound === null) return this.handler(packet, checksumTrusted)
    // A checksum the device vouches for is never checked again: corrupting it would go unseen.
    const deliveries = this.inbound.apply(packet, checksumTrusted === true)
    for (const d of deliveries) {
      if (d.delayMs <= 0) this.handler(d.packet, checksumTrusted)
      else {
        const copy = d.packet === packet ? packet.slice() : d.packet // the view is only valid during this call
        this.schedule(d.delayMs, () => {
          if (!this.closed) this.handler?.(copy, checksumTrusted)
        })
      }
    }
  }
}
