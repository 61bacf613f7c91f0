// A pcap file writer (the classic libpcap format, LINKTYPE_RAW: each record is
// a bare IPv4 packet, as on the TUN device). Every record is written straight
// to the file, so `tshark -r FILE` or `tail -f FILE | tshark -r -` follow it live.

import { closeSync, openSync, writeSync } from 'node:fs'

const MAGIC = 0xa1b2c3d4 // microsecond timestamps
const LINKTYPE_RAW = 101
const SNAPLEN = 65535

/**
 * Wall-clock time in ms with a fraction below the millisecond: Date.now() counts whole
 * milliseconds, which would stamp every packet of a burst alike; performance's origin and
 * its monotonic clock give microseconds (and keep a capture's order even if the clock is set).
 */
export function preciseNowMs(): number {
  return performance.timeOrigin + performance.now()
}

export class PcapWriter {
  private fd: number

  constructor(path: string) {
    this.fd = openSync(path, 'w')
    const header = Buffer.alloc(24)
    header.writeUInt32LE(MAGIC, 0)
    header.writeUInt16LE(2, 4) // version 2.4
    header.writeUInt16LE(4, 6)
    header.writeInt32LE(0, 8) // GMT offset
    header.writeUInt32LE(0, 12) // timestamp accuracy
    header.writeUInt32LE(SNAPLEN, 16)
    header.writeUInt32LE(LINKTYPE_RAW, 20)
    writeSync(this.fd, header)
  }

  /** Append one packet, stamped with `timeMs` (ms since the epoch, fractions kept to the microsecond). */
  write(packet: Uint8Array, timeMs: number = preciseNowMs()): void {
    if (this.fd < 0) return
    const micros = Math.round(timeMs * 1000)
    const record = Buffer.alloc(16)
    record.writeUInt32LE(Math.floor(micros / 1e6), 0)
    record.writeUInt32LE(micros % 1e6, 4)
    const captured = Math.min(packet.length, SNAPLEN)
    record.writeUInt32LE(captured, 8)
    record.writeUInt32LE(packet.length, 12)
    writeSync(this.fd, record)
    writeSync(this.fd, packet, 0, captured)
  }

  close(): void {
    if (this.fd < 0) return
    closeSync(this.fd)
    this.fd = -1
  }
}
