// The TCP half of a forwarder: every SYN the stack is offered for another host's address
// ('syn', StackOptions.promiscuous) is connected upstream first, and only then answered:
//
//   upstream connected             accept: our SYN,ACK goes, then the two are spliced
//   upstream refused, unreachable,
//   timed out, or any failure      refuse: a RST, the client's connect fails (ECONNREFUSED)
//   the relay is full              refuse, at once (maxConnections)
//   to 0.0.0.0/8 or 127.0.0.0/8,
//   or to :: or ::1                refuse, at once: our own loopback is not the client's to reach
//
// Either family: an IPv6 client's SYN is connected upstream over IPv6 (upstream.ts), an IPv4
// one over IPv4, and the stack answers each from the address the client meant.
// A client's retransmitted SYNs wait on the same pending entry meanwhile (tcp/pending-syn.ts).

import type { Socket } from '../stack/socket/socket.js'
import type { SynRequest } from '../stack/socket/syn-request.js'
import type { Stack } from '../stack/stack.js'
import { Timer } from '../stack/time/timer-wheel.js'
import { reset, splice } from './splice.js'
import { outsideLoopback, type Endpoint, type Upstream, type UpstreamConnection } from './upstream.js'

/** One forwarded connection, for `tuntcp ss`: the client's side in the stack, and the upstream socket's. */
export interface ForwardedConnection {
  /** 'connecting' while the upstream connect runs (the client's SYN waits), then 'open'. */
  phase: 'connecting' | 'open'
  /** The client, and the address and port it meant (the stack socket's local end). */
  client: Endpoint
  destination: Endpoint
  /** The upstream socket's own end and its peer (the destination, or the proxy); null while connecting. */
  upstreamLocal: Endpoint | null
  upstreamRemote: Endpoint | null
}

export interface TcpRelayCounters {
  /** Connections spliced (the upstream connected and the client's handshake completed). */
  forwarded: number
  /** SYNs refused because the upstream connect failed, by the error's code. */
  upstreamFailed: Record<string, number>
  /** SYNs refused because maxConnections were open or connecting. */
  refusedFull: number
  /** SYNs refused for a destination in 0.0.0.0/8 or 127.0.0.0/8, or ::, ::1 (outsideLoopback). */
  refusedLoopback: number
  /** Upstream connected, but the client's handshake did not complete. */
  clientGone: number
}

export interface TcpRelayOptions {
  /** Most connections open or connecting at once; one more SYN is refused. */
  maxConnections: number
  /** How long an upstream connect may take before the client is refused. */
  connectTimeoutMs: number
}

interface Entry {
  info: ForwardedConnection
  abort: AbortController
  client: Socket | null
  upstream: UpstreamConnection | null
}

export class TcpRelay {
  readonly counters: TcpRelayCounters = { forwarded: 0, upstreamFailed: {}, refusedFull: 0, refusedLoopback: 0, clientGone: 0 }
  private readonly entries = new Set<Entry>()
  private closed = false

  constructor(private readonly stack: Stack, private readonly upstream: Upstream, private readonly options: TcpRelayOptions) {
    // A throw here would be a bug of ours, never the client's: counted and reported as the stack
    // reports its own (Stack 'internal-error'), and the forwarder goes on.
    stack.on('syn', (syn: SynRequest) => void this.onSyn(syn).catch((error: unknown) => {
      stack.counters.drop('internal-error')
      stack.emit('internal-error', error)
    }))
  }

  /** Open and connecting connections. */
  get size(): number {
    return this.entries.size
  }

  connections(): ForwardedConnection[] {
    return [...this.entries].map(e => ({ ...e.info }))
  }

  private async onSyn(syn: SynRequest): Promise<void> {
    if (this.closed) return syn.refuse()
    if (this.entries.size >= this.options.maxConnections) {
      this.counters.refusedFull++
      return syn.refuse()
    }
    if (!outsideLoopback(syn.localAddress)) {
      this.counters.refusedLoopback++
      return syn.refuse()
    }
    const abort = new AbortController()
    const entry: Entry = {
      info: {
        phase: 'connecting',
        client: { address: syn.remoteAddress, port: syn.remotePort },
        destination: { address: syn.localAddress, port: syn.localPort },
        upstreamLocal: null,
        upstreamRemote: null,
      },
      abort, client: null, upstream: null,
    }
    this.entries.add(entry)
    // On the stack's timer wheel, so that virtual time moves it in tests.
    const timer = new Timer(() => abort.abort())
    this.stack.wheel.arm(timer, this.options.connectTimeoutMs)
    const giveUp = () => abort.abort()
    syn.signal.addEventListener('abort', giveUp, { once: true }) // the stack dropped the SYN undecided
    let up: UpstreamConnection
    try {
      up = await this.upstream.connect(syn.localAddress, syn.localPort, abort.signal)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'EUNKNOWN'
      this.counters.upstreamFailed[code] = (this.counters.upstreamFailed[code] ?? 0) + 1
      this.entries.delete(entry)
      if (syn.pending) syn.refuse()
      return
    } finally {
      this.stack.wheel.disarm(timer)
      syn.signal.removeEventListener('abort', giveUp)
    }
    // Until the splice listens, an upstream that resets early must not be an unhandled 'error'.
    up.socket.on('error', () => {})
    entry.upstream = up
    entry.info.upstreamLocal = up.local
    entry.info.upstreamRemote = up.remote
    if (!syn.pending || this.closed) {
      this.counters.clientGone++
      return this.end(entry)
    }
    let client: Socket
    try {
      client = await syn.accept({ allowHalfOpen: true })
    } catch {
      this.counters.clientGone++
      return this.end(entry)
    }
    if (this.closed || up.socket.destroyed) {
      // Shutting down, or the upstream reset while the client's handshake completed: the client gets a RST.
      client.resetAndDestroy()
      return this.end(entry)
    }
    this.counters.forwarded++
    entry.client = client
    entry.info.phase = 'open'
    splice(client, up.socket, () => this.entries.delete(entry))
  }

  private end(entry: Entry): void {
    if (entry.upstream !== null) reset(entry.upstream.socket)
    this.entries.delete(entry)
  }

  /**
   * Refuse new SYNs, stop every upstream connect, and send a FIN upstream on every open
   * connection; the stack's shutdown() ends the clients' sides (and resets what outlasts
   * its grace, which the splice passes upstream as a reset).
   */
  close(): void {
    this.closed = true
    for (const entry of this.entries) {
      if (entry.upstream === null) entry.abort.abort()
      else entry.upstream.socket.end()
    }
  }
}
