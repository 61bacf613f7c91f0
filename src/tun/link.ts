// A Link carries whole IPv4 packets between the stack and something else:
// a TUN device (the kernel on the other side) or an in-memory peer in tests.

export type PacketHandler = (packet: Uint8Array) => void

export interface Link {
  /** Largest IP packet the link carries, in bytes (the TUN device's MTU). */
  readonly mtu: number
  /** Send one IP packet. Never throws for a bad packet; a closed link drops it. */
  send(packet: Uint8Array): void
  /**
   * Set who receives inbound packets (one call per packet, in arrival order).
   * A packet buffer is only valid during the call: copy what must be kept.
   */
  onReceive(handler: PacketHandler | null): void
  /** Stop receiving and release the underlying resource (idempotent). */
  close(): void
}
