// UdpSocket: a UDP endpoint shaped like node:dgram's Socket. bind, connect, send,
// 'message' with rinfo, 'listening', 'connect', 'error', 'close', and the same errors
// for misuse (thrown) and from the network ('error'). Received datagrams wait in a
// bounded queue until the event loop's next turn hands them out, so a 'message'
// listener never runs inside the stack's packet path.

import { EventEmitter } from 'node:events'
import { LoopRef, type LoopHold } from '../socket/loop-hold.js'
import { validatePort } from '../socket/errors.js'
import { addressText, isV6, parseAnyAddress, type Address } from '../wire/address.js'
import { UDP_HEADER_LENGTH, UDP_MAX_PAYLOAD } from '../wire/udp.js'
import {
  alreadyBound, badBuffer, bufferSizeError, dgramError, isConnected, notConnected, notRunning, outOfBounds,
} from './errors.js'
import { ANY_V4, ANY_V6, type FlowTuple, type UdpEndpoint, type UdpLayer } from './udp-layer.js'

export interface UdpSocketOptions {
  /** 'udp4' or 'udp6' (IPv6 only, as dgram's with ipv6Only: the stack's IPv4 stays with 'udp4' sockets). */
  type: 'udp4' | 'udp6'
  /** The receive queue's size in bytes (setRecvBufferSize). Default UdpConfig.recvBufferSize. */
  recvBufferSize?: number
  /** Kept for getSendBufferSize: datagrams go to the link at once, there is no send queue. */
  sendBufferSize?: number
  /** Aborting it closes the socket, as dgram's `signal`. */
  signal?: AbortSignal
}

export interface BindOptions {
  /** 0 or absent: an ephemeral port (32768-60999). */
  port?: number | string | null
  /** The stack's address (of the socket's family), or '0.0.0.0' / '::' / absent for every address; any address in promiscuous mode. */
  address?: string
}

/** Where a datagram came from, as dgram's rinfo. */
export interface RemoteInfo {
  address: string
  family: 'IPv4' | 'IPv6'
  port: number
  /** Bytes of data. */
  size: number
}

export interface AddressInfo {
  address: string
  family: 'IPv4' | 'IPv6'
  port: number
}

type SendCallback = (error: Error | null, bytes?: number) => void
type Message = string | ArrayBufferView

/** Each queued datagram costs its length plus this, so even empty datagrams fill the queue (Linux counts an skb's truesize). */
const QUEUE_OVERHEAD = 64
/** Hosts that mean "every local address" of the socket's family. */
const ANY_HOST = new Set(['', '0.0.0.0', '::'])

export class UdpSocket extends EventEmitter implements UdpEndpoint {
  /** @internal UdpEndpoint: the binding and the peer, kept by the UDP layer. */
  localAddr: Address
  localPort = 0
  remoteAddr: Address
  remotePort = 0
  /** 'udp6': every address it takes or gives is IPv6. */
  private readonly v6: boolean
  private bound = false
  private connected = false
  private closed = false
  private recvBufferSize: number
  private sendBufferSize: number
  /** Datagrams received and not yet emitted, and what they cost against recvBufferSize. */
  private queue: { data: Buffer; rinfo: RemoteInfo }[] = []
  private queued = 0
  private draining = false
  /** Holds Node's event loop while bound, unless unref()'d, as dgram's handle does (loop-hold.ts). */
  private readonly loopRef: LoopRef

  /** @internal Stack.createSocket makes these. */
  constructor(private readonly layer: UdpLayer, options: UdpSocketOptions, loopHold: LoopHold | null) {
    super()
    this.v6 = options.type === 'udp6'
    this.localAddr = this.remoteAddr = this.v6 ? ANY_V6 : ANY_V4
    this.loopRef = new LoopRef(loopHold)
    this.recvBufferSize = options.recvBufferSize ?? layer.config.recvBufferSize
    this.sendBufferSize = options.sendBufferSize ?? layer.config.recvBufferSize
    layer.sockets.add(this)
    const signal = options.signal
    if (signal !== undefined) {
      if (signal.aborted) process.nextTick(() => this.closeQuietly())
      else signal.addEventListener('abort', () => this.closeQuietly(), { once: true })
    }
  }

  /** @internal The 'udp-flow' hook accepted a flow: bound to its destination, connected to its source. */
  adoptFlow(t: FlowTuple): void {
    this.layer.openFlow(this, t)
    this.bound = true
    this.connected = true
    this.loopRef.setActive(true)
  }

  /**
   * bind([port], [address], [callback]) or bind(options, [callback]), as dgram's: port 0
   * or none is an ephemeral one. 'listening' follows, or an 'error' (EADDRINUSE,
   * EADDRNOTAVAIL for an address not the stack's). The address is a literal of the socket's family: no name lookup.
   */
  bind(port?: number | string | null, address?: string, callback?: () => void): this
  bind(port?: number | string | null, callback?: () => void): this
  bind(options: BindOptions, callback?: () => void): this
  bind(callback?: () => void): this
  bind(a?: unknown, b?: unknown, c?: unknown): this {
    this.healthCheck()
    if (this.bound) throw alreadyBound()
    const callback = [a, b, c].find(x => typeof x === 'function') as (() => void) | undefined
    const opts: BindOptions = typeof a === 'object' && a !== null ? a as BindOptions
      : { port: typeof a === 'function' ? undefined : a as BindOptions['port'], address: typeof b === 'string' ? b : undefined }
    const port = opts.port == null ? 0 : validatePort(opts.port, 'Port', true)
    const host = opts.address ?? ''
    const any = this.v6 ? ANY_V6 : ANY_V4
    const addr = ANY_HOST.has(host) ? any : this.parseHost(host)
    if (callback) this.once('listening', callback)
    const error = this.layer.bind(this, addr, port)
    if (error !== null) {
      process.nextTick(() => this.emit('error', dgramError(error, 'bind', ANY_HOST.has(host) ? addressText(any) : host, port)))
      return this
    }
    this.bound = true
    this.loopRef.setActive(true)
    process.nextTick(() => this.emit('listening'))
    return this
  }

  /** Only datagrams from port:address from now on, and send() without a destination. 'connect' follows. */
  connect(port: number | string, address?: string, callback?: () => void): void
  connect(port: number | string, callback?: () => void): void
  connect(port: number | string, b?: string | (() => void), c?: () => void): void {
    const remotePort = validatePort(port, 'Port', false)
    const callback = typeof b === 'function' ? b : c
    const host = typeof b === 'string' ? b : ''
    this.healthCheck()
    if (this.connected) throw isConnected()
    if (host === '') throw new TypeError(`connect needs an address: the ${this.familyName()} address of the peer (the stack has no loopback)`)
    const remote = this.parseHost(host)
    if (!this.bound) this.bind(0)
    this.remoteAddr = remote
    this.remotePort = remotePort
    this.connected = true
    if (callback) this.once('connect', callback)
    process.nextTick(() => this.emit('connect'))
  }

  /** Undo connect(). */
  disconnect(): void {
    this.healthCheck()
    if (!this.connected) throw notConnected()
    this.connected = false
    this.remoteAddr = this.v6 ? ANY_V6 : ANY_V4
    this.remotePort = 0
  }

  /**
   * send(msg, [offset, length], port, address, [callback]), or on a connected socket
   * send(msg, [offset, length], [callback]), with dgram's rules for which argument is
   * which. `msg` is a string, a Buffer, a TypedArray, a DataView or an array of them.
   * An unbound socket is bound to an ephemeral port first. A datagram larger than the
   * link's MTU fails with EMSGSIZE: we do not fragment (nor reassemble), see docs/api.md.
   */
  send(msg: Message | readonly Message[], offset: number, length: number, port?: number, address?: string, callback?: SendCallback): void
  send(msg: Message | readonly Message[], port?: number, address?: string, callback?: SendCallback): void
  send(msg: Message | readonly Message[], offset?: number, length?: number, callback?: SendCallback): void
  send(msg: Message | readonly Message[], callback?: SendCallback): void
  send(msg: Message | readonly Message[], ...rest: unknown[]): void {
    let [offset, length, port, address, callback] = rest
    let list: readonly Message[] = Array.isArray(msg) ? msg : [msg as Message]
    const connected = this.connected
    // dgram's own argument shuffle (lib/dgram.js Socket.prototype.send).
    if (!connected) {
      if (address || (port && typeof port !== 'function')) list = [slice(msg, offset, length)]
      else [callback, port, address] = [port, offset, length]
    } else {
      if (typeof length === 'number') {
        list = [slice(msg, offset, length)]
        if (typeof port === 'function') [callback, port] = [port, null]
      } else {
        callback = offset
      }
      if (port || address) throw isConnected()
    }
    const chunks = list.map(toBytes)
    const dstPort = connected ? this.remotePort : validatePort(port, 'Port', false)
    if (typeof address === 'function') [callback, address] = [address, undefined]
    const cb = typeof callback === 'function' ? callback as SendCallback : undefined
    let dst = this.remoteAddr
    if (!connected) {
      if (typeof address !== 'string' || address === '') throw new TypeError(`send needs an address: the ${this.familyName()} address of the peer (the stack has no loopback)`)
      dst = this.parseHost(address)
    }
    this.healthCheck()
    if (!this.bound) this.bind(0)
    const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
    if (data.length > this.maxPayload()) {
      const error = dgramError('EMSGSIZE', 'send', addressText(dst), dstPort)
      process.nextTick(() => cb ? cb(error) : this.emit('error', error))
      return
    }
    this.layer.send(this, data, dst, dstPort)
    if (cb) process.nextTick(cb, null, data.length)
  }

  /** The largest datagram the link carries whole: its MTU less the IP (20 or 40 bytes) and UDP headers. */
  private maxPayload(): number {
    return Math.min(UDP_MAX_PAYLOAD, this.layer.mtu - (this.v6 ? 40 : 20) - UDP_HEADER_LENGTH)
  }

  /** 'IPv4' or 'IPv6': the socket's family. */
  private familyName(): 'IPv4' | 'IPv6' {
    return this.v6 ? 'IPv6' : 'IPv4'
  }

  /** An address literal of the socket's family, or a TypeError (no name lookup; a 'udp6' socket takes no IPv4). */
  private parseHost(host: string): Address {
    const a = parseAnyAddress(host)
    if (a === null || isV6(a) !== this.v6) throw new TypeError(`not an ${this.familyName()} address: ${host} (the stack does no name lookup)`)
    return a
  }

  /** Stop receiving; 'close' follows. A second close() throws ERR_SOCKET_DGRAM_NOT_RUNNING, as dgram's. */
  close(callback?: () => void): this {
    if (typeof callback === 'function') this.on('close', callback)
    this.healthCheck()
    this.closeQuietly()
    return this
  }

  /** @internal UdpEndpoint: the flow was idle too long. */
  expire(): void {
    this.closeQuietly()
  }

  private closeQuietly(): void {
    if (this.closed) return
    this.closed = true
    this.layer.unbind(this)
    this.layer.sockets.delete(this)
    this.loopRef.setActive(false)
    this.queue = []
    this.queued = 0
    process.nextTick(() => this.emit('close'))
  }

  address(): AddressInfo {
    this.healthCheck()
    if (!this.bound) throw dgramError('EBADF', 'getsockname')
    return { address: addressText(this.localAddr), family: this.familyName(), port: this.localPort }
  }

  remoteAddress(): AddressInfo {
    this.healthCheck()
    if (!this.connected) throw notConnected()
    return { address: addressText(this.remoteAddr), family: this.familyName(), port: this.remotePort }
  }

  /** As dgram's (the default): while bound, this socket keeps the process alive (loop-hold.ts). */
  ref(): this {
    this.loopRef.ref()
    return this
  }

  /** The process may exit though this socket is bound. */
  unref(): this {
    this.loopRef.unref()
    return this
  }

  /** The receive queue's bound in bytes; beyond it datagrams are dropped (counted as udp-receive-queue-full). */
  setRecvBufferSize(size: number): void {
    this.recvBufferSize = this.checkBufferSize(size)
  }

  getRecvBufferSize(): number {
    this.checkBufferSize()
    return this.recvBufferSize
  }

  setSendBufferSize(size: number): void {
    this.sendBufferSize = this.checkBufferSize(size)
  }

  getSendBufferSize(): number {
    this.checkBufferSize()
    return this.sendBufferSize
  }

  /** Nothing waits to be sent: send() hands each datagram to the link. */
  getSendQueueSize(): number {
    return 0
  }

  getSendQueueCount(): number {
    return 0
  }

  /** As dgram's: only a bound socket has buffers; a size is an integer 1 to 2^31 - 1. */
  private checkBufferSize(size?: number): number {
    if (size !== undefined && (!Number.isInteger(size) || size < 1 || size > 0x7fffffff)) throw bufferSizeError(`invalid size ${size}`)
    if (this.closed || !this.bound) throw bufferSizeError('EBADF (bad file descriptor): the socket is not bound')
    return size ?? 0
  }

  /** @internal UdpEndpoint: queue a datagram for 'message', if the receive queue has room. */
  deliver(data: Uint8Array, srcAddr: Address, srcPort: number): boolean {
    const cost = data.length + QUEUE_OVERHEAD
    if (this.closed || this.queued + cost > this.recvBufferSize) return false
    this.queued += cost
    this.queue.push({ data: Buffer.from(data), rinfo: { address: addressText(srcAddr), family: this.familyName(), port: srcPort, size: data.length } })
    if (!this.draining) {
      this.draining = true
      setImmediate(() => this.drain())
    }
    return true
  }

  /** Hand out what the queue holds, in arrival order; a listener may close the socket meanwhile. */
  private drain(): void {
    this.draining = false
    const batch = this.queue
    this.queue = []
    for (const { data, rinfo } of batch) {
      if (this.closed) return
      this.queued -= data.length + QUEUE_OVERHEAD
      this.emit('message', data, rinfo)
    }
  }

  /** @internal UdpEndpoint: a hard ICMP error on a connected socket, as dgram's 'recvmsg ECONNREFUSED'. */
  icmpError(code: string): void {
    process.nextTick(() => {
      if (!this.closed) this.emit('error', dgramError(code, 'recvmsg'))
    })
  }

  private healthCheck(): void {
    if (this.closed) throw notRunning()
  }
}

/** dgram's sliceBuffer: a string becomes bytes, then offset and length cut it. */
function slice(msg: unknown, offset: unknown, length: unknown): Message {
  const bytes = toBytes(typeof msg === 'string' ? msg : msg as Message)
  const start = Number(offset) >>> 0
  const count = Number(length) >>> 0
  if (start > bytes.length) throw outOfBounds('offset')
  if (start + count > bytes.length) throw outOfBounds('length')
  return bytes.subarray(start, start + count)
}

function toBytes(m: Message): Buffer {
  if (typeof m === 'string') return Buffer.from(m)
  if (!ArrayBuffer.isView(m)) throw badBuffer()
  return Buffer.from(m.buffer, m.byteOffset, m.byteLength)
}
