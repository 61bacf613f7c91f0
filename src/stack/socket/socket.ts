// Socket: a connection as a stream.Duplex, shaped like Node's net.Socket
// ('connect', 'data', 'end', 'close', 'error'; end() sends FIN; destroy()
// aborts with RST), plus `state` and a 'state' event for teaching and tests.

import { Duplex } from 'node:stream'
import { Timer, type TimerWheel } from '../time/timer-wheel.js'
import { addressText, familyOf, isV6, mappedV6, type Address } from '../wire/address.js'
import type { State } from '../tcp/state.js'
import type { Tcb, TcbUser, TcpError } from '../tcp/tcb.js'
import type { CongestionControlName } from '../tcp/congestion/index.js'
import { setCongestionControl } from '../tcp/recovery/recovery-and-undo.js'
import { abort, close, endRecord, orphan, received, send, setCork, setKeepAlive, setNoDelay, setUserTimeout, startSyn } from '../tcp/user.js'
import { tcpInfo, type TcpInfo } from '../tcp-info.js'
import { LoopRef, type LoopHold } from './loop-hold.js'
import { checkCongestionControl, codedError, connectionError, validateTimeout, writeError } from './errors.js'

export interface SocketOptions {
  /** Keep the writable side open after the peer's FIN (like net's allowHalfOpen). Default false. */
  allowHalfOpen?: boolean
  /**
   * destroy() without an error closes as close(2) does on a kernel socket: a FIN
   * when everything received was read, a RST otherwise. Default false: destroy()
   * aborts with RST unless the close is already clean (the FIN queued).
   */
  closeOnDestroy?: boolean
  /**
   * The socket is an IPv6 one over an IPv4 connection (a dual-stack listener's, or a connect()
   * to ::ffff:a.b.c.d): its addresses read as IPv4-mapped IPv6, '::ffff:10.77.0.1', family
   * 'IPv6', as net's are (RFC 4291 2.5.5.2; RFC 3493 3.7). The wire carries IPv4. Default false.
   */
  mapped?: boolean
}

export class Socket extends Duplex implements TcbUser {
  readonly remoteAddress: string
  readonly remotePort: number
  readonly localAddress: string
  readonly localPort: number
  readonly remoteFamily: 'IPv4' | 'IPv6'
  readonly localFamily: 'IPv4' | 'IPv6'
  /** True until the connection is ESTABLISHED (like net.Socket#connecting); false once closed. */
  connecting = true
  /** The idle time set by setTimeout() in ms, undefined until it is called (like net.Socket#timeout). */
  timeout: number | undefined = undefined
  /** Bytes received from the peer, read or not yet (like net.Socket#bytesRead). */
  bytesRead = 0
  /** Bytes handed to the TCB's SEND (3.10.2). */
  private bytesSent = 0
  /** The bytes of the write waiting for room: counted in bytesSent and still in writableLength. */
  private pendingWriteBytes = 0
  /** resetAndDestroy() is closing: abort with RST whatever the close would otherwise be. */
  private resetting = false
  /** The TCB while this socket is its user; null once closed or destroyed. */
  private tcb: Tcb | null
  /** The same TCB, kept to report its state after the socket lets go (TIME-WAIT, an orphaned LAST-ACK). */
  private readonly connection: Tcb
  /** A write waiting for room in the send buffer. */
  private pendingWrite: ((error?: Error | null) => void) | null = null
  private idleTimer: Timer | null = null
  private windowCheckPending = false
  private readonly wheel: TimerWheel
  private readonly closeOnDestroy: boolean

  /** When in-order data last arrived, or the connection opened (ms): TCP_INFO's last_data_recv. */
  private lastDataIn: number
  /** Holds Node's event loop while this socket is open, unless unref()'d (loop-hold.ts). */
  private readonly loopRef: LoopRef

  /** `loopHold`: the stack's, when it runs on real time (Stack passes it; null on virtual time). */
  constructor(tcb: Tcb, options: SocketOptions = {}, loopHold: LoopHold | null = null) {
    // 'close' is ours to emit, with net's hadError argument (see _destroy).
    super({ allowHalfOpen: options.allowHalfOpen ?? false, emitClose: false })
    this.closeOnDestroy = options.closeOnDestroy ?? false
    this.tcb = tcb
    this.connection = tcb
    const shown = (a: Address): Address => options.mapped === true && !isV6(a) ? mappedV6(a) : a
    this.remoteAddress = addressText(shown(tcb.remoteAddr))
    this.remotePort = tcb.remotePort
    this.localAddress = addressText(shown(tcb.localAddr))
    this.localPort = tcb.localPort
    this.remoteFamily = familyOf(shown(tcb.remoteAddr))
    this.localFamily = familyOf(shown(tcb.localAddr))
    this.wheel = tcb.host.wheel
    this.lastDataIn = tcb.host.clock.now()
    tcb.user = this
    // Accepted, it is connected: ESTABLISHED, or a Fast Open connection still in SYN-RECEIVED (RFC 7413).
    if (tcb.state === 'ESTABLISHED' || tcb.passive) this.connecting = false
    this.loopRef = new LoopRef(loopHold)
    this.loopRef.setActive(true)
  }

  /** The RFC 9293 state of the connection, followed to CLOSED even after the socket has closed. */
  get state(): State {
    // In TIME-WAIT the connection lives on in a compact entry (tcp/time-wait.ts): its state is the one.
    return this.connection.timeWait?.state ?? this.connection.state
  }

  address(): { address: string; port: number; family: string } {
    return { address: this.localAddress, port: this.localPort, family: this.localFamily }
  }

  /** Bytes written so far, sent or still buffered (like net.Socket#bytesWritten). */
  get bytesWritten(): number {
    return this.bytesSent + this.writableLength - this.pendingWriteBytes
  }

  /** Not connected: still connecting, or closed (net's `!this._handle || this.connecting`). */
  get pending(): boolean {
    return this.connecting || this.tcb === null
  }

  get readyState(): string {
    if (this.connecting) return 'opening'
    if (this.readable && this.writable) return 'open'
    if (this.readable) return 'readOnly'
    if (this.writable) return 'writeOnly'
    return 'closed'
  }

  /** Like net.Socket#setNoDelay: true turns Nagle's algorithm off (small writes go at once), false back on. */
  setNoDelay(noDelay = true): this {
    if (this.tcb !== null) setNoDelay(this.tcb, noDelay)
    return this
  }

  /**
   * TCP_CORK: true holds partial segments (only full-sized ones go) until setCork(false),
   * which sends what was held at once; with nothing in flight the persist timer ends the wait.
   */
  setCork(cork = true): this {
    if (this.tcb !== null) setCork(this.tcb, cork)
    return this
  }

  /** TCP_USER_TIMEOUT (RFC 5482): fail with ETIMEDOUT once sent data stays unacknowledged `ms` long; 0: the retry count decides. */
  setUserTimeout(ms: number): this {
    validateTimeout(ms)
    if (this.tcb !== null) setUserTimeout(this.tcb, ms)
    return this
  }

  /** TCP_SYNCNT: SYN retransmissions before connect() fails with ETIMEDOUT, instead of the stack's synRetries. */
  setSynRetries(count: number): this {
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`SYN retries are a whole number, at least 0; got ${count}`)
    if (this.tcb !== null) this.tcb.synRetries = count
    return this
  }

  /** SO_SNDBUF: this connection's send buffer, in bytes (write() waits for room beyond it). Linux's setsockopt doubles the number given; this does not. */
  setSendBufferSize(bytes: number): this {
    if (this.tcb !== null) this.tcb.sndBufSize = checkSize(bytes)
    return this
  }

  /** SO_RCVBUF: this connection's receive buffer, in bytes: the window it advertises covers at most this (less what is unread). */
  setReceiveBufferSize(bytes: number): this {
    if (this.tcb !== null) this.tcb.rcvBufSize = checkSize(bytes)
    return this
  }

  /** TCP_NOTSENT_LOWAT: write() waits while `bytes` or more are queued but not yet sent; null: no such limit. */
  setNotSentLowat(bytes: number | null): this {
    if (this.tcb !== null) this.tcb.notsentLowat = bytes === null ? null : checkSize(bytes, 0)
    return this
  }

  /**
   * MSG_EOR: what has been written so far ends a record: no segment carries its last
   * byte and the next record's first (Linux's tcp_skb_can_collapse_to), and PSH marks its end.
   */
  endRecord(): this {
    this.write(RECORD_END)
    return this
  }

  /**
   * The queues as Linux's ioctl()s count them: `unread` received and not read (SIOCINQ),
   * `unacked` written and not yet acknowledged (SIOCOUTQ), `unsent` written and not yet sent (SIOCOUTQNSD).
   */
  queues(): { unread: number; unacked: number; unsent: number } {
    const waiting = this.writableLength - this.pendingWriteBytes // still in the stream, not yet handed to the TCB
    const tcb = this.tcb
    return {
      unread: this.readableLength,
      unacked: (tcb?.sendBuffer.length ?? 0) + waiting,
      unsent: (tcb?.unsentBytes ?? 0) + waiting,
    }
  }

  /** Room to write now (Linux's sk_stream_is_writeable): free buffer at least half of what is queued, and under the not-sent low mark. */
  get writeSpace(): number {
    const tcb = this.tcb
    if (tcb === null) return 0
    const queued = tcb.sendBuffer.length
    if (tcb.notsentLowat !== null && tcb.unsentBytes >= tcb.notsentLowat) return 0
    return tcb.sendSpace >= queued / 2 ? tcb.sendSpace : 0
  }

  /** As net.Socket#ref (the default): until it closes, this socket keeps the process alive (loop-hold.ts). */
  ref(): this {
    this.loopRef.ref()
    return this
  }

  /** As net.Socket#unref: the process may exit though this socket is open (node:http's Agent does it to idle keep-alive sockets). */
  unref(): this {
    this.loopRef.unref()
    return this
  }

  /**
   * The congestion control algorithm of this connection ('cubic', 'newreno' or 'bbr'), like
   * setsockopt(TCP_CONGESTION) on Linux: before or after connecting; cwnd and ssthresh carry over.
   */
  setCongestionControl(name: CongestionControlName): this {
    checkCongestionControl(name)
    if (this.tcb !== null) setCongestionControl(this.tcb, name)
    return this
  }

  /** The connection's congestion control algorithm, with cwnd and ssthresh in bytes (like `ss -i`). */
  get congestion(): { algorithm: CongestionControlName; cwnd: number; ssthresh: number } {
    const cc = this.connection.cc
    return { algorithm: cc.name, cwnd: Math.floor(cc.cwnd), ssthresh: cc.ssthresh }
  }

  /**
   * Fast Open (connect({ fastOpen })): while the SYN waits for the first write, how many of
   * that write's bytes it will carry; null once the SYN has gone, or without Fast Open.
   */
  get synDataRoom(): number | null {
    const fo = this.tcb?.fastOpen
    return fo?.deferred === true ? fo.room : null
  }

  /** The connection as Linux's getsockopt(TCP_INFO) shows it, in Linux's names and units (tcp-info.ts). */
  info(): TcpInfo {
    return tcpInfo(this.connection, { state: this.state, lastDataRecv: this.lastDataIn })
  }

  setKeepAlive(enable = false, initialDelayMs = 0): this {
    if (this.tcb !== null) setKeepAlive(this.tcb, enable, initialDelayMs > 0 ? initialDelayMs : undefined)
    return this
  }

  /**
   * Emit 'timeout' after `ms` without activity (data in or out), like net.Socket#setTimeout:
   * the connection stays open, closing it is the listener's call. 0 turns it off (and
   * removes `callback`); an active socket times out again after the next idle `ms`.
   */
  setTimeout(ms: number, callback?: () => void): this {
    validateTimeout(ms)
    if (this.destroyed) return this
    this.timeout = ms
    if (callback && ms === 0) this.off('timeout', callback)
    else if (callback) this.once('timeout', callback)
    this.touch()
    return this
  }

  /**
   * Abort with RST (3.10.5) whatever is queued or unread, as net's resetAndDestroy (SO_LINGER
   * 0, then close): this socket closes without an error, the peer gets ECONNRESET. While
   * connecting the RST waits for the connection, as net's does. With the connection gone
   * already it is an ERR_SOCKET_CLOSED error (nothing, once destroyed), as net's.
   */
  resetAndDestroy(): this {
    if (this.tcb === null) return this.destroy(codedError(new Error('Socket is closed'), 'ERR_SOCKET_CLOSED'))
    const reset = () => {
      this.resetting = true
      this.destroy()
    }
    if (this.connecting) this.once('connect', reset)
    else reset()
    return this
  }

  /** end(), then destroy() once everything is written, as net's destroySoon. */
  destroySoon(): void {
    if (this.writable) this.end()
    if (this.writableFinished) this.destroy()
    else this.once('finish', () => this.destroy())
  }

  // ---- TcbUser: what the TCB tells us ----

  onEstablished(): void {
    this.lastDataIn = this.connection.host.clock.now()
    this.connecting = false
    this.emit('connect')
    this.emit('ready')
  }

  onData(data: Buffer): void {
    this.lastDataIn = this.connection.host.clock.now()
    this.touch()
    this.bytesRead += data.byteLength
    this.push(data)
  }

  onFin(): void {
    this.push(null)
  }

  onSendSpace(): void {
    const tcb = this.tcb
    if (this.pendingWrite !== null && tcb !== null && this.hasRoom(tcb)) {
      const callback = this.pendingWrite
      this.pendingWrite = null
      this.pendingWriteBytes = 0
      callback()
    }
  }

  writerWaiting(): boolean {
    return this.pendingWrite !== null
  }

  onClosed(error: TcpError | null): void {
    // A connection that never opened failed in connect(), naming the peer; an open one in a read.
    const peer = this.connecting ? { address: this.remoteAddress, port: this.remotePort } : undefined
    this.tcb = null
    this.connecting = false
    this.stopIdleTimer()
    if (error !== null) {
      this.destroy(connectionError(error, peer ? 'connect' : 'read', peer))
      return
    }
    if (this.pendingWrite !== null) {
      const callback = this.pendingWrite
      this.pendingWrite = null
      this.pendingWriteBytes = 0
      callback(writeError())
    }
    if (!this.readableEnded) this.push(null)
  }

  onStateChange(from: State, to: State, cause: string): void {
    // In TIME-WAIT nothing more can arrive for the application (RFC 9293 3.10.7.4): let the loop go.
    if (to === 'TIME-WAIT' || to === 'CLOSED') this.loopRef.setActive(false)
    this.emit('state', from, to, cause)
  }

  readBuffered(): number {
    return this.readableLength
  }

  // ---- stream.Duplex ----

  override _read(): void {
    this.windowCheck()
  }

  /** Every read frees receive buffer; after the reads of this tick, see whether the window opened. */
  override read(size?: number): any {
    const chunk = super.read(size)
    if (chunk !== null) this.windowCheck()
    return chunk
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const tcb = this.tcb
    if (tcb === null || tcb.finQueued) {
      callback(Object.assign(new Error('This socket has been ended by the other party'), { code: 'EPIPE' }))
      return
    }
    this.touch()
    if (chunk === RECORD_END) endRecord(tcb)
    send(tcb, chunk)
    this.bytesSent += chunk.length
    if (this.hasRoom(tcb)) return callback()
    this.pendingWrite = callback // backpressure: wait for ACKs to free the send buffer
    this.pendingWriteBytes = chunk.length
  }

  override _final(callback: (error?: Error | null) => void): void {
    // CLOSE in SYN-SENT would delete the TCB and its queued data (3.10.4); like
    // net.Socket, end() before the connection is up waits for it instead.
    if (this.connecting && this.tcb?.state === 'SYN-SENT') {
      startSyn(this.tcb) // a Fast Open SYN that waited for data goes now, without any
      const later = () => {
        this.off('close', later)
        this.off('connect', later)
        this._final(callback)
      }
      this.once('connect', later)
      this.once('close', later)
      return
    }
    if (this.tcb !== null) close(this.tcb) // CLOSE: FIN after the queued data
    callback()
  }

  /**
   * destroy(): a RST unless the close is already clean (our FIN queued and no
   * unread data), in which case the TCB finishes the close on its own, as the
   * kernel does after close(2).
   */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const tcb = this.tcb
    this.tcb = null
    this.connecting = false
    this.stopIdleTimer()
    if (tcb !== null && tcb.state !== 'CLOSED') {
      tcb.user = null
      const unread = this.readableLength > 0 && !this.readableEnded
      const reset = error !== null || this.resetting
      if (!reset && !unread && this.closeOnDestroy) close(tcb) // CLOSE: our FIN after what is queued
      if (reset || !tcb.finQueued || unread) abort(tcb)
      else orphan(tcb)
    }
    callback(error)
    this.loopRef.setActive(false)
    process.nextTick(() => this.emit('close', error !== null)) // after 'error', as net's
  }

  /** May the next write go into the TCB: room in the send buffer, and under TCP_NOTSENT_LOWAT when set. */
  private hasRoom(tcb: Tcb): boolean {
    return tcb.sendSpace > 0 && (tcb.notsentLowat === null || tcb.unsentBytes < tcb.notsentLowat)
  }

  private windowCheck(): void {
    if (this.windowCheckPending || this.tcb === null) return
    this.windowCheckPending = true
    process.nextTick(() => {
      this.windowCheckPending = false
      if (this.tcb !== null) received(this.tcb)
    })
  }

  // ---- idle timeout (setTimeout) ----

  private touch(): void {
    const ms = this.timeout ?? 0
    if (ms <= 0 || this.tcb === null) return this.stopIdleTimer()
    if (this.idleTimer === null) this.idleTimer = new Timer(() => this.emit('timeout'))
    this.wheel.arm(this.idleTimer, ms)
  }

  private stopIdleTimer(): void {
    if (this.idleTimer !== null) this.wheel.disarm(this.idleTimer)
  }
}

/** The empty chunk endRecord() writes: it marks a record end in order with the data before it. */
const RECORD_END = Buffer.alloc(0)

/** A buffer size: a whole number of bytes, at least `min`. */
function checkSize(bytes: number, min = 1): number {
  if (!Number.isInteger(bytes) || bytes < min) throw new RangeError(`a buffer size is a whole number of bytes, at least ${min}; got ${bytes}`)
  return bytes
}
