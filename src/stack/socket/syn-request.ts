// SynRequest: what the 'syn' hook sees of a SYN for another host's address in any-destination
// mode (StackOptions.promiscuous), before anything is answered: who asks, and which address
// and port they meant. The decision may come at once or later (a forwarder connects upstream
// first); until then the client's retransmitted SYNs wait on the same entry (tcp/pending-syn.ts).
//
//   accept([options], [callback])  the handshake completes, answered from the address the client
//                                  meant; the Socket comes once ESTABLISHED (a Promise, or the callback)
//   refuse()                       RST: the client's connect fails with ECONNREFUSED
//   drop()                         nothing; the client's next SYN is offered again
//
// Undecided for TcpConfig.synDecisionTimeoutMs, the SYN is dropped and `signal` aborts.

import type { PendingSyn, PendingSynUser } from '../tcp/pending-syn.js'
import { TcpError, type Tcb } from '../tcp/tcb.js'
import type { TcpLayer } from '../tcp/tcp-layer.js'
import { addressText, familyOf } from '../wire/address.js'
import type { LoopHold } from './loop-hold.js'
import { Socket } from './socket.js'

/** What accept() takes: the Socket's allowHalfOpen, and this connection's buffer sizes (default: the stack's). */
export interface SynAcceptOptions {
  /** Keep our side open after the client's FIN (a forwarder passing a half-close on wants this). */
  allowHalfOpen?: boolean
  /** Receive buffer: the window we advertise (SO_RCVBUF). Above the stack's rcvBufSize it is capped by the window scale chosen from that. */
  rcvBufSize?: number
  /** Send buffer: how much written data may wait unacknowledged before write() returns false (SO_SNDBUF). */
  sndBufSize?: number
}

type Decision = 'accept' | 'refuse' | 'drop'

export class SynRequest implements PendingSynUser {
  /** The address and port the client meant: the accepted socket's local end. */
  readonly localAddress: string
  readonly localPort: number
  /** The client. */
  readonly remoteAddress: string
  readonly remotePort: number
  readonly family: 'IPv4' | 'IPv6'
  private decided: Decision | null = null
  private readonly aborter = new AbortController()
  private settle: ((error: Error | null, socket?: Socket) => void) | null = null
  private allowHalfOpen = false

  /** @internal the Stack makes these. */
  constructor(private readonly tcp: TcpLayer, private readonly syn: PendingSyn, private readonly loopHold: LoopHold | null) {
    this.localAddress = addressText(syn.localAddr)
    this.localPort = syn.localPort
    this.remoteAddress = addressText(syn.remoteAddr)
    this.remotePort = syn.remotePort
    this.family = familyOf(syn.localAddr)
    syn.user = this
  }

  /** Still waiting for accept, refuse or drop (false once decided, or dropped for waiting too long). */
  get pending(): boolean {
    return this.syn.phase === 'undecided'
  }

  /** Aborts when the SYN is dropped undecided (synDecisionTimeoutMs, or the stack shut down): give it to the upstream connect. */
  get signal(): AbortSignal {
    return this.aborter.signal
  }

  /**
   * Complete the handshake: our SYN,ACK goes now, from localAddress:localPort. The Socket
   * comes once the client's ACK makes it ESTABLISHED, as a listener's 'connection' would.
   * Fails (ECONNABORTED) if the handshake does not complete, or (ETIMEDOUT) if the SYN was
   * already dropped for waiting too long.
   */
  accept(options?: SynAcceptOptions): Promise<Socket>
  accept(callback: (error: Error | null, socket?: Socket) => void): void
  accept(options: SynAcceptOptions, callback: (error: Error | null, socket?: Socket) => void): void
  accept(a?: SynAcceptOptions | ((error: Error | null, socket?: Socket) => void), b?: (error: Error | null, socket?: Socket) => void): Promise<Socket> | void {
    const options = typeof a === 'object' ? a : {}
    const callback = typeof a === 'function' ? a : b
    this.decide('accept')
    this.allowHalfOpen = options.allowHalfOpen ?? false
    const start = (settle: (error: Error | null, socket?: Socket) => void) => {
      this.settle = settle
      if (this.syn.phase !== 'undecided') return this.finish(this.lateError())
      const tcb = this.tcp.acceptSyn(this.syn, this, { rcvBufSize: options.rcvBufSize, sndBufSize: options.sndBufSize })
      if (tcb === null) this.finish(new TcpError('ECONNABORTED', `${this.label}: the stack holds its most connections (maxConnections)`))
    }
    if (callback !== undefined) return start(callback)
    return new Promise<Socket>((resolve, reject) => start((error, socket) => (error !== null ? reject(error) : resolve(socket!))))
  }

  /** Answer with RST from localAddress: the client's connect fails with ECONNREFUSED. Nothing happens if the SYN was dropped already. */
  refuse(): void {
    this.decide('refuse')
    this.tcp.refuseSyn(this.syn)
  }

  /** Send nothing; the client's next SYN (its retransmission) is offered to the hook again. */
  drop(): void {
    this.decide('drop')
    this.tcp.dropSyn(this.syn)
  }

  // ---- PendingSynUser: how it ended ----

  /** @internal */
  established(tcb: Tcb): void {
    this.finish(null, new Socket(tcb, { allowHalfOpen: this.allowHalfOpen }, this.loopHold))
  }

  /** @internal */
  failed(cause: string): void {
    this.finish(new TcpError('ECONNABORTED', `${this.label}: the handshake did not complete (${cause})`))
  }

  /** @internal */
  expired(): void {
    this.aborter.abort(this.lateError())
  }

  private lateError(): TcpError {
    return new TcpError('ETIMEDOUT', `${this.label}: the SYN waited for a decision longer than synDecisionTimeoutMs and was dropped`)
  }

  private finish(error: Error | null, socket?: Socket): void {
    const settle = this.settle
    this.settle = null
    settle?.(error, socket)
  }

  private decide(decision: Decision): void {
    if (this.decided !== null) throw new Error(`this SYN was already decided: ${this.decided}`)
    this.decided = decision
  }

  private get label(): string {
    return `SYN from ${this.remoteAddress}:${this.remotePort} to ${this.localAddress}:${this.localPort}`
  }
}
