// A Link carries whole IPv4 packets between the stack and something else:
// a TUN device (the kernel on the other side) or an in-memory peer in tests.

/**
 * Receives one IP packet. `checksumTrusted`: the link vouches for the transport
 * checksum (a TUN device with offload: the kernel checked it, or left it partial).
 */
export type PacketHandler = (packet: Uint8Array, checksumTrusted?: boolean) => void

export interface Link {
  /** Largest IP packet the link carries, in bytes (the TUN device's MTU). */
  readonly mtu: number
  /**
   * With TCP segmentation offload: the largest TCP payload send() takes in one packet
   * (the link cuts it into `segmentSize` pieces). Undefined: every packet fits the MTU.
   */
  readonly tsoMaxPayload?: number | undefined
  /**
   * Send one IP packet. Never throws for a bad packet; a closed link drops it.
   * `segmentSize` (only on a link with tsoMaxPayload): cut this TCP packet into
   * segments of that many payload bytes; its checksum field holds the partial sum.
   */
  send(packet: Uint8Array, segmentSize?: number): void
  /**
   * True when send() is done with the packet by the time it returns: written to the
   * device, or copied. The stack then builds every packet in one buffer it reuses.
   * Absent or false: the link may keep the packet, and each one is a new buffer.
   */
  readonly sendCopies?: boolean
  /**
   * Set who receives inbound packets (one call per packet, in arrival order).
   * A packet buffer is only valid during the call: copy what must be kept.
   */
  onReceive(handler: PacketHandler | null): void
  /**
   * Optional, for a link that delivers packets in batches (a TUN device reads many per
   * wake-up): `handler` is called after the last packet of every batch. The stack sends
   * the ACKs owed for a batch's segments then, one per connection (ACK coalescing).
   */
  onBatchEnd?(handler: (() => void) | null): void
  /** Stop receiving and release the underlying resource (idempotent). */
  close(): void
}
