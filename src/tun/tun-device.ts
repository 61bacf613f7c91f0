// A Link over a Linux TUN device: whole IPv4 packets to and from the kernel.
// The native addon (native/tun.c) opens the device and reads in batches; this file
// turns its errors into one-line TunErrors, counts, and hands packets to the stack.
//
// A multi-queue device (IFF_MULTI_QUEUE) has one file descriptor per queue, and one
// TunDevice object per queue: open({ multiQueue: true }) creates the device (or adds a
// queue to it), openQueue(name) adds a queue to one that exists, typically in a worker
// thread. The kernel sends all packets of a flow to one queue, so one Stack per queue
// owns its connections outright (see `tuntcp serve --workers`).

import { createRequire } from 'node:module'
import type { Link, PacketHandler } from './link.js'
import { TunError } from './errors.js'
import { CWR } from '../stack/wire/tcp.js'

export { TunError } from './errors.js'

/** What build/Release/tuntcp_tun.node exports (see native/tun.c). */
interface NativeTun {
  open(name: string, mtu?: number, offload?: boolean, multiQueue?: boolean, attachOnly?: boolean):
    { fd: number; name: string; mtu: number; created: boolean; offload: boolean }
  setQueue(fd: number, enabled: boolean): void
  startReading(fd: number, buffer: ArrayBuffer, lengths: Int32Array,
    callback: (count: number, error?: Error) => void): object
  stopReading(handle: object): void
  write(fd: number, packet: Uint8Array, header?: Uint8Array): boolean
  close(fd: number): void
}

type SystemError = Error & { code?: string }

/** Room for one batch: at least 16 packets of the largest size, 64 small ones. */
const READ_BUFFER_BYTES = 1 << 20
const MAX_BATCH = 64

// With offload every packet carries a struct virtio_net_hdr (include/uapi/linux/virtio_net.h):
// flags, gso_type, then hdr_len, gso_size, csum_start, csum_offset (16 bits each, host order).
const VNET_HDR_LEN = 10
const VNET_F_NEEDS_CSUM = 1 // the transport checksum is partial: finish it from csum_start
const VNET_F_DATA_VALID = 2 // the checksum was verified already
const VNET_GSO_TCPV4 = 1
/** gso_type for a TCP segment over IPv6 (VIRTIO_NET_HDR_GSO_TCPV6). */
const VNET_GSO_TCPV6 = 4
/** gso_type bit: the packet carries CWR, which only the first segment cut from it keeps (RFC 3168 6.1.2; SKB_GSO_TCP_ECN). */
const VNET_GSO_ECN = 0x80
/** The largest TCP payload one IPv4 packet can carry: 65535 less 20 + 20 bytes of headers. */
const MAX_TCP_PAYLOAD = 65_535 - 40

let native: NativeTun | undefined

function loadNative(): NativeTun {
  if (native) return native
  const require = createRequire(import.meta.url)
  try {
    native = require('../../build/Release/tuntcp_tun.node') as NativeTun
  } catch (cause) {
    throw new TunError('ENOADDON',
      'tuntcp: the native TUN binding was not built (build/Release/tuntcp_tun.node); everything but TunDevice works without it; to build it: npm rebuild tuntcp (needs python3, make and a C compiler)',
      { cause })
  }
  return native
}

/** Linux accepts 1-15 bytes, not "." or "..", no '/', ':' or whitespace. */
function checkName(name: string): void {
  const bytes = typeof name === 'string' ? Buffer.byteLength(name) : 0
  if (bytes === 0 || bytes > 15 || name === '.' || name === '..' ||
      /[/:\s\0%]/.test(name)) {
    throw new TunError('EINVAL',
      `tuntcp: bad device name ${JSON.stringify(name)}: use 1 to 15 characters without spaces, '/', ':' or '%'`)
  }
}

function checkMtu(mtu: number | undefined): void {
  if (mtu !== undefined && !(Number.isInteger(mtu) && mtu >= 68 && mtu <= 65535)) {
    throw new TunError('EINVAL', `tuntcp: bad MTU ${mtu}: use a whole number from 68 to 65535`)
  }
}

/** Turn the addon's errno errors into the lines the user sees. */
function openError(err: SystemError, name: string, mtu: number | undefined, multiQueue: boolean): TunError {
  const code = err.code ?? 'EUNKNOWN'
  const { syscall = '', existed = false } = err as { syscall?: string; existed?: boolean }
  const say = (message: string) => new TunError(code, `tuntcp: ${message}`, { cause: err })
  if (syscall.startsWith('ioctl(SIOCSIFMTU')) {
    return code === 'EINVAL'
      ? say(`device ${name} does not accept MTU ${mtu}`)
      : say(`setting the MTU of ${name} failed: ${err.message}`)
  }
  if (syscall === 'attach') return say(`no TUN device named ${name} to add a queue to: open it with multiQueue first`)
  if (multiQueue && code === 'EINVAL') {
    return existed
      ? say(`device ${name} exists but is not a multi-queue TUN device: choose another name`)
      : say(`the kernel refused a multi-queue TUN device ${name} (IFF_MULTI_QUEUE needs Linux 3.8 or later)`)
  }
  if (multiQueue && code === 'E2BIG') return say(`device ${name} already has as many queues as the kernel allows (256)`)
  switch (code) {
    case 'ENOENT':
    case 'ENODEV':
    case 'ENXIO':
      return say('/dev/net/tun not found: load the tun module (modprobe tun)')
    case 'EPERM':
    case 'EACCES':
      return existed
        ? say(`attaching to device ${name} needs CAP_NET_ADMIN or its owner's uid: run as root (sudo)`)
        : say('opening the TUN device needs CAP_NET_ADMIN: run as root (sudo)')
    case 'EBUSY':
      return say(`device ${name} is busy: another process has it open`)
    case 'EINVAL':
      return existed
        ? say(`device ${name} exists but is not a single-queue TUN device: choose another name`)
        : say(`bad device name ${JSON.stringify(name)}: the kernel refused it`)
    default:
      return say(`opening TUN device ${name} failed: ${err.message}`)
  }
}

/** What the device has done, for `serve` to print and tests to assert on. */
export interface TunCounters {
  /** Packets read from the kernel and handed to the receive handler. */
  packetsRead: number
  bytesRead: number
  /** Reads that woke us up: packetsRead / readBatches is the mean batch size. */
  readBatches: number
  /** Packets read while no handler was set (dropped). */
  readDrops: number
  /** Packets written to the kernel. */
  packetsWritten: number
  bytesWritten: number
  /** Packets dropped because the device queue was full, or sent after close. */
  writeDrops: number
  /** Packets the kernel refused (e.g. EIO while the link is down); dropped. */
  writeErrors: number
}

export class TunDevice implements Link {
  /** The interface name, as the kernel has it. */
  readonly name: string
  /** The device MTU when it was opened (set to opts.mtu if given). */
  readonly mtu: number
  /** True if the device did not exist before we opened it: it goes away on close(). */
  readonly created: boolean
  /**
   * Checksum and TCP segmentation offload (IFF_VNET_HDR, TUNSETOFFLOAD): the kernel may
   * hand us TCP segments larger than the MTU, and takes ours up to 64 KB, cutting them
   * at the MSS itself. False when asked not to, or when the kernel refused.
   */
  readonly offload: boolean
  /**
   * A queue of a multi-queue device (IFF_MULTI_QUEUE): the kernel hands this object only
   * the flows it hashes to this queue. The device lives until its last queue is closed.
   */
  readonly multiQueue: boolean
  /** With offload, the largest TCP payload send() takes in one packet; undefined without. */
  readonly tsoMaxPayload: number | undefined
  /** send() writes the packet to the device before it returns: the caller may reuse its buffer. */
  readonly sendCopies = true
  readonly counters: TunCounters = {
    packetsRead: 0, bytesRead: 0, readBatches: 0, readDrops: 0,
    packetsWritten: 0, bytesWritten: 0, writeDrops: 0, writeErrors: 0,
  }
  /** The last error the kernel returned for a write, for diagnostics. */
  lastWriteError: Error | null = null

  private fd: number
  private readonly native: NativeTun
  private handler: PacketHandler | null = null
  private batchEndHandler: (() => void) | null = null
  private errorHandler: ((err: TunError) => void) | null = null
  private reader: object | null = null
  private readBuffer: ArrayBuffer | null = null
  /** The same buffer as bytes, to read each packet's virtio_net_hdr flags without a view per packet. */
  private readBytes: Uint8Array | null = null
  private lengths: Int32Array | null = null

  /** The header of a plain packet (all zero), written before each one when offloading. */
  private readonly plainHeader = new Uint8Array(VNET_HDR_LEN)
  private readonly gsoHeader = new Uint8Array(VNET_HDR_LEN)
  private readonly gsoView = new DataView(this.gsoHeader.buffer)

  private constructor(nat: NativeTun, fd: number, name: string, mtu: number, created: boolean, offload: boolean, multiQueue: boolean) {
    this.native = nat
    this.fd = fd
    this.name = name
    this.mtu = mtu
    this.created = created
    this.offload = offload
    this.multiQueue = multiQueue
    this.tsoMaxPayload = offload ? MAX_TCP_PAYLOAD : undefined
  }

  /**
   * Attach to the TUN device `name` if it exists, or create it (non-persistent).
   * Sets its MTU if `mtu` is given. Throws a TunError with a one-line message.
   * With `multiQueue`, the device is (or must already be) a multi-queue one and this
   * object is one of its queues; opening the same name again adds another queue.
   */
  static open(opts: { name: string; mtu?: number; offload?: boolean; multiQueue?: boolean }): TunDevice {
    return TunDevice.openWith(opts, false)
  }

  /**
   * Add a queue to the existing multi-queue device `name` (made by open({ multiQueue: true }),
   * perhaps in another thread of this process): a TunDevice that receives the flows the
   * kernel hashes to it. Offload follows the device's setting. Fails if there is no such device.
   */
  static openQueue(name: string): TunDevice {
    return TunDevice.openWith({ name, multiQueue: true }, true)
  }

  private static openWith(opts: { name: string; mtu?: number; offload?: boolean; multiQueue?: boolean }, attachOnly: boolean): TunDevice {
    const { name, mtu, offload = true, multiQueue = false } = opts
    checkName(name)
    checkMtu(mtu)
    const nat = loadNative()
    let opened: { fd: number; name: string; mtu: number; created: boolean; offload: boolean }
    try {
      // The addon checks whether the name exists with an ioctl, in our own network
      // namespace: /sys/class/net may show another one (after a bare `unshare -n`).
      opened = nat.open(name, mtu, offload, multiQueue, attachOnly)
    } catch (err) {
      throw openError(err as SystemError, name, mtu, multiQueue)
    }
    return new TunDevice(nat, opened.fd, opened.name, opened.mtu, opened.created, opened.offload === true, multiQueue)
  }

  /**
   * Take this queue out of the device's set (false) or put it back (true). A disabled
   * queue gets no packets but keeps the device alive: `serve --workers` holds the device
   * that way in the main thread while the workers' queues carry the traffic.
   */
  setQueueEnabled(enabled: boolean): void {
    if (!this.multiQueue) throw new TunError('EINVAL', `tuntcp: ${this.name} was not opened as a multi-queue device`)
    if (this.fd < 0) throw new TunError('EBADF', `tuntcp: ${this.name} is closed`)
    try {
      this.native.setQueue(this.fd, enabled)
    } catch (err) {
      throw new TunError((err as SystemError).code ?? 'EUNKNOWN',
        `tuntcp: ${enabled ? 'enabling' : 'disabling'} a queue of ${this.name} failed: ${(err as Error).message}`, { cause: err })
    }
  }

  get closed(): boolean {
    return this.fd < 0
  }

  /**
   * Send one IP packet. With offload, a TCP packet whose payload is larger than
   * `segmentSize` goes as one write that the kernel cuts into segments of that size;
   * its TCP checksum field must then hold the partial sum (see writeTcpPacket).
   */
  send(packet: Uint8Array, segmentSize?: number): void {
    if (this.fd < 0) {
      this.counters.writeDrops++
      return
    }
    try {
      const header = this.offload ? this.headerFor(packet, segmentSize) : undefined
      if (this.native.write(this.fd, packet, header)) {
        this.counters.packetsWritten++
        this.counters.bytesWritten += packet.length
      } else {
        this.counters.writeDrops++
      }
    } catch (err) {
      this.counters.writeErrors++
      this.lastWriteError = err as Error
    }
  }

  /** The virtio_net_hdr for an outgoing packet: all zero, or GSO for a TCP segment to be cut. */
  private headerFor(packet: Uint8Array, segmentSize: number | undefined): Uint8Array {
    if (segmentSize === undefined) return this.plainHeader
    // Our IPv6 packets carry no extension headers: TCP follows the fixed 40 bytes.
    const v6 = packet[0]! >> 4 === 6
    const ipLength = v6 ? 40 : (packet[0]! & 0x0f) * 4
    const tcpLength = (packet[ipLength + 12]! >> 4) * 4
    if (packet.length - ipLength - tcpLength <= segmentSize) return this.plainHeader
    const v = this.gsoView
    v.setUint8(0, VNET_F_NEEDS_CSUM)
    v.setUint8(1, (v6 ? VNET_GSO_TCPV6 : VNET_GSO_TCPV4) | (packet[ipLength + 13]! & CWR ? VNET_GSO_ECN : 0))
    v.setUint16(2, ipLength + tcpLength, true)
    v.setUint16(4, segmentSize, true)
    v.setUint16(6, ipLength, true) // csum_start: the TCP header
    v.setUint16(8, 16, true) // csum_offset: the checksum field within it
    return this.gsoHeader
  }

  onReceive(handler: PacketHandler | null): void {
    this.handler = handler
    // Read only while someone listens; otherwise the kernel queues (and then drops).
    if (handler && !this.reader && this.fd >= 0) this.startReading()
    else if (!handler) this.stopReading()
  }

  /** Called after the last packet of each batch read (one wake-up of the fd, up to 64 packets). */
  onBatchEnd(handler: (() => void) | null): void {
    this.batchEndHandler = handler
  }

  /**
   * Who hears a fatal read error (the device was deleted under us, say). Reading
   * has stopped when it is called. Without a handler the error is thrown, and so
   * becomes an uncaught exception, like an EventEmitter 'error' with no listener.
   */
  onError(handler: ((err: TunError) => void) | null): void {
    this.errorHandler = handler
  }

  close(): void {
    if (this.fd < 0) return
    this.stopReading()
    const fd = this.fd
    this.fd = -1
    this.handler = null
    this.native.close(fd)  // a device we created disappears now
  }

  private startReading(): void {
    this.readBuffer ??= new ArrayBuffer(READ_BUFFER_BYTES)
    this.readBytes ??= new Uint8Array(this.readBuffer)
    this.lengths ??= new Int32Array(MAX_BATCH)
    this.reader = this.native.startReading(this.fd, this.readBuffer, this.lengths,
      (count, error) => this.onBatch(count, error))
  }

  private stopReading(): void {
    if (!this.reader) return
    this.native.stopReading(this.reader)
    this.reader = null
  }

  /** One batch from the addon: `count` packets back to back in readBuffer. */
  private onBatch(count: number, error: Error | undefined): void {
    const buffer = this.readBuffer!
    const bytes = this.readBytes!
    const lengths = this.lengths!
    this.counters.readBatches++
    let offset = 0
    for (let i = 0; i < count; i++) {
      const length = lengths[i]!
      const handler = this.handler
      if (handler && this.offload) {
        // Skip the virtio_net_hdr. The kernel's packets have a partial checksum (NEEDS_CSUM)
        // or one it checked (DATA_VALID): either way there is nothing for us to verify.
        const flags = bytes[offset]!
        this.counters.packetsRead++
        this.counters.bytesRead += length - VNET_HDR_LEN
        handler(new Uint8Array(buffer, offset + VNET_HDR_LEN, length - VNET_HDR_LEN), (flags & (VNET_F_NEEDS_CSUM | VNET_F_DATA_VALID)) !== 0)
      } else if (handler) {
        this.counters.packetsRead++
        this.counters.bytesRead += length
        handler(new Uint8Array(buffer, offset, length))
      } else {
        this.counters.readDrops++  // the handler was removed (or we closed) mid-batch
      }
      offset += length
    }
    if (count > 0) this.batchEndHandler?.()
    if (error) {
      this.reader = null  // the addon has already stopped
      const err = new TunError((error as SystemError).code ?? 'EIO',
        `tuntcp: reading from device ${this.name} failed (was it deleted?): ${error.message}`, { cause: error })
      if (this.errorHandler) this.errorHandler(err)
      else throw err
    }
  }
}
