// An in-memory Link for tests: no device, no clock.
//
// Two links made by linkPair() carry packets to each other. A link with no peer
// is for scenario tests that speak to one stack in packets: everything the stack
// sends lands in `outbox` (take() empties it), and inject() delivers a packet as if
// it came from the wire.
//
// Delivery is deferred (a microtask), keeps order, and is never re-entrant: send()
// and inject() only queue, and a link's queue is drained by one microtask at a time.

import { segmentTcp } from './gso.js'
import type { Link, PacketHandler } from './link.js'

export interface MemoryLinkOptions {
  /** Largest packet carried; bigger ones are dropped and counted. Default 1500. */
  mtu?: number
  /**
   * Segmentation offload, as a TUN device with TSO has: send() takes TCP packets with
   * up to this much payload and a segmentSize, and cuts them before they go on. Default: none.
   */
  tsoMaxPayload?: number
  /**
   * Deliver in batches, as a TUN device does: the packets waiting when a delivery starts
   * (and any queued meanwhile) form one batch, delivered in one macrotask (a TUN read's
   * wake-up), and the onBatchEnd handler runs after it. Default false: no batches, so the stack sends every ACK at once.
   */
  batches?: boolean
}

export class MemoryLink implements Link {
  readonly mtu: number
  readonly tsoMaxPayload: number | undefined
  /** send() copies the packet before it returns. */
  readonly sendCopies = true
  /** Only with `batches`: who runs after each batch delivered (Link.onBatchEnd). */
  readonly onBatchEnd: ((handler: (() => void) | null) => void) | undefined
  /** Packets this link sent while it has no peer, oldest first (copies). */
  readonly outbox: Uint8Array[] = []
  /**
   * Called synchronously with a copy of every packet sent (peer or not). Return
   * false to drop the packet (a lossy wire); anything else lets it through.
   */
  onSend: ((packet: Uint8Array) => boolean | void) | null = null
  readonly counters = {
    /** Packets handed to send() while open. */
    sent: 0,
    /** Packets delivered to this link's receive handler. */
    delivered: 0,
    /** Packets lost: onSend said no, too big, sent or arriving after close, or no handler. */
    dropped: 0,
  }

  private peer: MemoryLink | null = null
  private handler: PacketHandler | null = null
  private batchEndHandler: (() => void) | null = null
  private closedFlag = false
  /** Inbound packets waiting for the drain, each with the link that sent it. */
  private readonly queue: { packet: Uint8Array; from: MemoryLink | null }[] = []
  private draining = false

  constructor(opts: MemoryLinkOptions = {}) {
    this.mtu = opts.mtu ?? 1500
    this.tsoMaxPayload = opts.tsoMaxPayload
    this.onBatchEnd = opts.batches === true ? handler => { this.batchEndHandler = handler } : undefined
  }

  get closed(): boolean {
    return this.closedFlag
  }

  /** Connect two links (linkPair does this). */
  connect(peer: MemoryLink): void {
    if (this.peer || peer.peer || peer === this) throw new Error('MemoryLink: already connected')
    this.peer = peer
    peer.peer = this
  }

  send(packet: Uint8Array, segmentSize?: number): void {
    if (segmentSize !== undefined && this.tsoMaxPayload !== undefined) {
      for (const piece of segmentTcp(packet, segmentSize)) this.send(piece)
      return
    }
    if (this.closedFlag || packet.length > this.mtu) {
      this.counters.dropped++
      return
    }
    this.counters.sent++
    const copy = packet.slice()  // the sender may reuse its buffer
    if (this.onSend && this.onSend(copy) === false) {
      this.counters.dropped++
      return
    }
    if (this.peer) this.peer.enqueue(copy, this)
    else this.outbox.push(copy)
  }

  /** Deliver `packet` to this link's handler as if it came from the wire (deferred). */
  inject(packet: Uint8Array): void {
    this.enqueue(packet.slice(), null)
  }

  /** Return the packets sent so far and empty the outbox. */
  take(): Uint8Array[] {
    return this.outbox.splice(0, this.outbox.length)
  }

  onReceive(handler: PacketHandler | null): void {
    this.handler = handler
  }

  /** Stop delivery both ways: nothing more reaches this link, or leaves it. */
  close(): void {
    if (this.closedFlag) return
    this.closedFlag = true
    this.counters.dropped += this.queue.length
    this.queue.length = 0
    this.handler = null
  }

  private enqueue(packet: Uint8Array, from: MemoryLink | null): void {
    if (this.closedFlag) {
      this.counters.dropped++
      return
    }
    this.queue.push({ packet, from })
    if (!this.draining) {
      this.draining = true
      this.scheduleDrain()
    }
  }

  /**
   * Without batches a microtask. With them a macrotask (setImmediate), as a TUN device's read
   * wakes the loop: the application's process.nextTick callbacks from a batch then run before
   * the stack's end-of-batch work (Stack.endBatch), as they do on the device.
   */
  private scheduleDrain(): void {
    if (this.onBatchEnd !== undefined) setImmediate(() => this.drain())
    else queueMicrotask(() => this.drain())
  }

  private drain(): void {
    // Packets queued while we deliver (by our handler or the peer's) join this same loop.
    let delivered = 0
    try {
      while (this.queue.length > 0) {
        const { packet, from } = this.queue.shift()!
        if (this.closedFlag || from?.closedFlag || !this.handler) {
          this.counters.dropped++
          continue
        }
        this.counters.delivered++
        delivered++
        this.handler(packet)
      }
      if (delivered > 0) this.batchEndHandler?.()
    } finally {
      this.draining = false
      // If a handler threw, the rest still goes, one microtask later.
      if (this.queue.length > 0) {
        this.draining = true
        this.scheduleDrain()
      }
    }
  }
}

/** Two links wired back to back: what one sends, the other receives. */
export function linkPair(opts: MemoryLinkOptions = {}): [MemoryLink, MemoryLink] {
  const a = new MemoryLink(opts)
  const b = new MemoryLink(opts)
  a.connect(b)
  return [a, b]
}
