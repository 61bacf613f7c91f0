// The wire of the demo, run in lock-step: every packet between the kernel and the
// stack is held, in order of arrival, until the demo releases it. Releasing one
// packet at a time makes each state of both ends last long enough to be seen, even
// CLOSING, which on a real wire lasts a round trip.

import type { Link, PacketHandler } from '../../tun/link.js'

export type Direction = 'to-stack' | 'to-kernel'

export interface HeldPacket {
  direction: Direction
  packet: Uint8Array
  /** to-stack: the device vouched for the checksum; to-kernel: the device cuts it into segments of this size. */
  checksumTrusted?: boolean
  segmentSize?: number | undefined
  /** When it was put on the wire (performance.now(), ms): where its arrow starts in the ladder. */
  at: number
}

/** IPv4 (version nibble 4) carrying TCP (protocol 6)? */
function isTcp(packet: Uint8Array): boolean {
  if (packet.length >= 40 && packet[0]! >> 4 === 6) return packet[6] === 6 // IPv6 (we and the kernel send TCP with no extension header)
  return packet.length >= 20 && packet[0]! >> 4 === 4 && packet[9] === 6
}

export class PacedLink implements Link {
  readonly mtu: number
  readonly tsoMaxPayload: number | undefined
  /** Every packet held is a copy. */
  readonly sendCopies = true
  private handler: PacketHandler | null = null
  private readonly held: HeldPacket[] = []
  private arrivals: Array<() => void> = []

  constructor(private readonly wire: Link) {
    this.mtu = wire.mtu
    this.tsoMaxPayload = wire.tsoMaxPayload
    wire.onReceive((packet, checksumTrusted) => {
      // Only TCP is paced; anything else (the kernel's IPv6 chatter on a new link) goes straight through.
      if (!isTcp(packet)) return this.handler?.(packet, checksumTrusted)
      // The device reuses its read buffer: keep a copy.
      this.hold({ direction: 'to-stack', packet: packet.slice(), checksumTrusted, at: performance.now() })
    })
  }

  /** From the stack: TCP is held until released. */
  send(packet: Uint8Array, segmentSize?: number): void {
    if (!isTcp(packet)) return this.wire.send(packet, segmentSize)
    this.hold({ direction: 'to-kernel', packet: packet.slice(), segmentSize, at: performance.now() })
  }

  onReceive(handler: PacketHandler | null): void {
    this.handler = handler
  }

  close(): void {
    this.held.length = 0
    this.wire.close()
  }

  get pending(): number {
    return this.held.length
  }

  /** Deliver the oldest held packet; returns it, or undefined when nothing is in flight. */
  releaseOne(): HeldPacket | undefined {
    const next = this.held.shift()
    if (next === undefined) return undefined
    if (next.direction === 'to-kernel') this.wire.send(next.packet, next.segmentSize)
    else this.handler?.(next.packet, next.checksumTrusted)
    return next
  }

  /** Resolves when a packet is held (at once if one is), or after `ms`. */
  waitForPacket(ms: number): Promise<void> {
    if (this.held.length > 0) return Promise.resolve()
    return new Promise(resolve => {
      const done = () => {
        clearTimeout(timer)
        this.arrivals = this.arrivals.filter(f => f !== done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.arrivals.push(done)
    })
  }

  private hold(p: HeldPacket): void {
    this.held.push(p)
    for (const wake of this.arrivals.splice(0)) wake()
  }
}
