// Socket: a connection as a stream.Duplex, shaped like Node's net.Socket
// ('connect', 'data', 'end', 'close', 'error'; end() sends FIN; destroy()
// aborts with RST), plus `state` and a 'state' event for teaching and tests.

import { Duplex } from 'node:stream'
import { Timer, type TimerWheel } from '../time/timer-wheel.js'
import { formatAddress } from '../wire/ipv4.js'
import type { State } from '../tcp/state.js'
import type { Tcb, TcbUser, TcpError } from '../tcp/tcb.js'
import { CONGESTION_CONTROLS, isCongestionControlName, type CongestionControlName } from '../tcp/congestion/index.js'
import { setCongestionControl } from '../tcp/loss-recovery.js'
import { abort, close, orphan, received, send, setKeepAlive, setNoDelay } from '../tcp/user.js'

export interface SocketOptions {
  /** Keep the writable side open after the peer's FIN (like net's allowHalfOpen). Default false. */
  allowHalfOpen?: boolean
  /**
   * destroy() without an error closes as close(2) does on a kernel socket: a FIN
   * when everything received was read, a RST otherwise. Default false: destroy()
   * aborts with RST unless the close is already clean (the FIN queued).
   */
  closeOnDestroy?: boolean
}

export class Socket extends Duplex implements TcbUser {
  readonly remoteAddress: string
  readonly remotePort: number
  readonly localAddress: string
  readonly localPort: number
  readonly remoteFamily = 'IPv4'
  /** True until the connection is ESTABLISHED (like net.Socket#connecting). */
  connecting = true
  /** The TCB while this socket is its user; null once closed or destroyed. */
  private tcb: Tcb | null
  /** The same TCB, kept to report its state after the socket lets go (TIME-WAIT, an orphaned LAST-ACK). */
  private readonly connection: Tcb
  /** A write waiting for room in the send buffer. */
  private pendingWrite: ((error?: Error | null) => void) | null = null
  private idleTimer: Timer | null = null
  private idleMs = 0
  private windowCheckPending = false
  private readonly wheel: TimerWheel
  private readonly closeOnDestroy: boolean

  constructor(tcb: Tcb, options: SocketOptions = {}) {
    super({ allowHalfOpen: options.allowHalfOpen ?? false })
    this.closeOnDestroy = options.closeOnDestroy ?? false
    this.tcb = tcb
    this.connection = tcb
    this.remoteAddress = formatAddress(tcb.remoteAddr)
    this.remotePort = tcb.remotePort
    this.localAddress = formatAddress(tcb.localAddr)
    this.localPort = tcb.localPort
    this.wheel = tcb.host.wheel
    tcb.user = this
    if (tcb.state === 'ESTABLISHED') this.connecting = false
  }

  /** The RFC 9293 state of the connection, followed to CLOSED even after the socket has closed. */
  get state(): State {
    // In TIME-WAIT the connection lives on in a compact entry (tcp/time-wait.ts): its state is the one.
    return this.connection.timeWait?.state ?? this.connection.state
  }

  address(): { address: string; port: number; family: string } {
    return { address: this.localAddress, port: this.localPort, family: 'IPv4' }
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

  /** Like net.Socket#ref: the stack's sockets hold no Node handle of their own, so this does nothing. */
  ref(): this {
    return this
  }

  /** Like net.Socket#unref (node:http's Agent calls it on idle keep-alive sockets). */
  unref(): this {
    return this
  }

  /**
   * The congestion control algorithm of this connection ('cubic' or 'newreno'), like
   * setsockopt(TCP_CONGESTION) on Linux: before or after connecting; cwnd and ssthresh carry over.
   */
  setCongestionControl(name: CongestionControlName): this {
    if (!isCongestionControlName(name)) throw new RangeError(`unknown congestion control '${String(name)}' (one of: ${CONGESTION_CONTROLS.join(', ')})`)
    if (this.tcb !== null) setCongestionControl(this.tcb, name)
    return this
  }

  /** The connection's congestion control algorithm, with cwnd and ssthresh in bytes (like `ss -i`). */
  get congestion(): { algorithm: CongestionControlName; cwnd: number; ssthresh: number } {
    const cc = this.connection.cc
    return { algorithm: cc.name, cwnd: Math.floor(cc.cwnd), ssthresh: cc.ssthresh }
  }

  setKeepAlive(enable = false, initialDelayMs = 0): this {
    if (this.tcb !== null) setKeepAlive(this.tcb, enable, initialDelayMs > 0 ? initialDelayMs : undefined)
    return this
  }

  /** Emit 'timeout' after `ms` without activity, like net.Socket#setTimeout (0 turns it off). */
  setTimeout(ms: number, callback?: () => void): this {
    if (callback) this.once('timeout', callback)
    this.idleMs = ms
    this.touch()
    return this
  }

  // ---- TcbUser: what the TCB tells us ----

  onEstablished(): void {
    this.connecting = false
    this.emit('connect')
    this.emit('ready')
  }

  onData(data: Uint8Array): void {
    this.touch()
    this.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength))
  }

  onFin(): void {
    this.push(null)
  }

  onSendSpace(): void {
    const tcb = this.tcb
    if (this.pendingWrite !== null && tcb !== null && tcb.sendSpace > 0) {
      const callback = this.pendingWrite
      this.pendingWrite = null
      callback()
    }
  }

  onClosed(error: TcpError | null): void {
    this.tcb = null
    this.stopIdleTimer()
    if (error !== null) {
      this.destroy(error)
      return
    }
    if (this.pendingWrite !== null) {
      const callback = this.pendingWrite
      this.pendingWrite = null
      callback(Object.assign(new Error('connection closed'), { code: 'EPIPE' }))
    }
    if (!this.readableEnded) this.push(null)
  }

  onStateChange(from: State, to: State, cause: string): void {
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
    send(tcb, chunk)
    if (tcb.sendSpace > 0) callback()
    else this.pendingWrite = callback // backpressure: wait for ACKs to free the send buffer
  }

  override _final(callback: (error?: Error | null) => void): void {
    // CLOSE in SYN-SENT would delete the TCB and its queued data (3.10.4); like
    // net.Socket, end() before the connection is up waits for it instead.
    if (this.connecting && this.tcb?.state === 'SYN-SENT') {
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
    this.stopIdleTimer()
    if (tcb !== null && tcb.state !== 'CLOSED') {
      tcb.user = null
      const unread = this.readableLength > 0 && !this.readableEnded
      if (error === null && !unread && this.closeOnDestroy) close(tcb) // CLOSE: our FIN after what is queued
      if (error !== null || !tcb.finQueued || unread) abort(tcb)
      else orphan(tcb)
    }
    callback(error)
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
    if (this.idleMs <= 0 || this.tcb === null) return this.stopIdleTimer()
    if (this.idleTimer === null) this.idleTimer = new Timer(() => this.emit('timeout'))
    this.wheel.arm(this.idleTimer, this.idleMs)
  }

  private stopIdleTimer(): void {
    if (this.idleTimer !== null) this.wheel.disarm(this.idleTimer)
  }
}
