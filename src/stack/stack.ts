// The Stack: an IPv4 address (and an IPv6 one, if given) on one Link, with TCP, ICMP echo, the timer
// wheel and the Node-facing sockets. Clock and random source are injected, so
// the same stack runs on a TUN device in real time or in memory in virtual time.

import { EventEmitter } from 'node:events'
import { FaultModel, type FaultProfile } from '../tun/faults.js'
import type { Link } from '../tun/link.js'
import { connectionInfo as info, type ConnectionInfo } from './connection-info.js'
import { Counters } from './counters.js'
import { senderInfo } from './sender-info.js'
import { DEFAULT_ICMP_RATE, IcmpErrorSender, type IcmpRate } from './ip/icmp-out.js'
import { IpLayer } from './ip/ip-layer.js'
import { CryptoRandom, SeededRandom, type Random } from './random.js'
import { LoopHold } from './socket/loop-hold.js'
import { Server, type ServerOptions } from './socket/server.js'
import { checkCongestionControl, validatePort, validateTimeout } from './socket/errors.js'
import { Socket } from './socket/socket.js'
import { SynRequest } from './socket/syn-request.js'
import type { PendingSyn } from './tcp/pending-syn.js'
import { DEFAULT_TCP_CONFIG, type TcpConfig } from './tcp/config.js'
import type { CongestionControlName } from './tcp/congestion/index.js'
import type { State } from './tcp/state.js'
import { TcpLayer, type Connection } from './tcp/tcp-layer.js'
import { TimeWait } from './tcp/time-wait.js'
import { abort } from './tcp/user.js'
import type { Clock } from './time/clock.js'
import { afterThisTurn } from './time/microtask.js'
import { RealClock } from './time/real-clock.js'
import { Timer, TimerWheel } from './time/timer-wheel.js'
import { badType } from './udp/errors.js'
import { UdpFlow } from './udp/flow.js'
import { UdpSocket, type RemoteInfo, type UdpSocketOptions } from './udp/socket.js'
import { DEFAULT_UDP_CONFIG, UdpLayer, type FlowTuple, type FlowVerdict, type UdpConfig } from './udp/udp-layer.js'
import { parseAddress } from './wire/ipv4.js'
import { formatAddressV6, parseAddressV6 } from './wire/ipv6.js'
import { isV6, parseAnyAddress, unmappedV4 } from './wire/address.js'

export interface StackOptions {
  /** Our IPv4 address, e.g. '10.77.0.2'. */
  address: string
  /**
   * Our IPv6 address, e.g. 'fd77::2': TCP and UDP run over it as over IPv4 (the same TCP
   * and UDP layers, listeners and sockets taking both families), echo requests to it are
   * answered (ping -6), the kernel's neighbour discovery and MLD are counted; any other next
   * header gets an ICMPv6 Parameter Problem (ip/ipv6-input.ts). Default: none, IPv6 packets only counted.
   */
  address6?: string
  link: Link
  /** Default: real time. Tests pass a VirtualClock. */
  clock?: Clock
  /** Default: crypto-strength randomness. Tests pass a SeededRandom. */
  random?: Random
  /** Maximum segment lifetime in ms (TIME-WAIT lasts twice this). Default 30000. */
  mslMs?: number
  /** How long an orphaned FIN-WAIT-2 lasts, in ms. Default 60000. */
  finWait2TimeoutMs?: number
  /** Any other TCP tunable. */
  tcp?: Partial<TcpConfig>
  /**
   * Send TCP segments larger than the MSS for the link to cut (TSO), when the link can
   * (a TUN device opened with offload). Default true.
   */
  offload?: boolean
  /**
   * Faults on the stack's outbound path (src/tun/faults.ts): every packet we send may be
   * lost, duplicated, reordered, delayed or corrupted. The coin flips use `seed` when
   * given, else the stack's random source. Default: none, and no cost.
   */
  faults?: FaultProfile & { seed?: number }
  /**
   * Any-destination mode, as a forwarder (tun2socks, slirp4netns) needs: take packets
   * addressed to any IPv4 address (and with `address6` any IPv6 unicast one), not only
   * `address`, and answer from the address they were sent to. A TCP SYN for another host's address goes to the 'syn' event (SynRequest),
   * whose listener accepts, refuses or drops it, now or later; a UDP datagram for another
   * host's address that no socket takes goes to the 'udp-flow' event (UdpFlow). Without a
   * listener they are refused (RST, ICMP port unreachable). Echo requests to any address
   * are answered from that address. Our own address is served as ever. Default false.
   */
  promiscuous?: boolean
  /** UDP tunables: flow idle timeout, most flows, the default receive queue (udp/udp-layer.ts). */
  udp?: Partial<UdpConfig>
  /** The rate limit on ICMP errors we send; default 1000 a second, bursts of 50 (Linux's icmp_msgs_per_sec, icmp_msgs_burst). */
  icmpRate?: IcmpRate
}

export interface ConnectOptions {
  /**
   * The peer's IPv4 or IPv6 address (the stack does no name lookup); IPv6 needs StackOptions.address6.
   * An IPv4-mapped one, '::ffff:10.77.0.1', connects over IPv4 and the socket shows it as net's
   * dual-stack socket does (remoteFamily 'IPv6', remoteAddress '::ffff:10.77.0.1').
   */
  host: string
  /** The peer's port, 1-65535 (a string of digits too, as net takes). */
  port: number | string
  localPort?: number
  allowHalfOpen?: boolean
  /** socket.setTimeout(timeout) before the SYN goes, as net's `timeout` option. */
  timeout?: number
  /** socket.setNoDelay(true) from the start, as net's `noDelay` option. */
  noDelay?: boolean
  /** socket.setKeepAlive(true, keepAliveInitialDelay) from the start, as net's `keepAlive` option. */
  keepAlive?: boolean
  keepAliveInitialDelay?: number
  /** This connection's congestion control, instead of the stack's (StackOptions.tcp.congestionControl). */
  congestionControl?: CongestionControlName
  /**
   * TCP Fast Open (RFC 7413), as Linux's TCP_FASTOPEN_CONNECT: with a cookie from this server
   * in the stack's cache, the SYN waits for the first write() (or end()) and carries its
   * first bytes; without one, the SYN asks for a cookie and the data follows the handshake.
   * 'connect' still comes once ESTABLISHED, so write first. Off (an ordinary handshake)
   * when StackOptions.tcp.fastOpen.client is false.
   */
  fastOpen?: boolean
}

export interface StateChange {
  conn: ConnectionInfo
  from: State
  to: State
  cause: string
}

/** The clocks given to a Stack so far (see the constructor). */
const clocksInUse = new WeakSet<Clock>()

export class Stack extends EventEmitter {
  readonly address: string
  /** Our IPv6 address in RFC 5952 form, or null. */
  readonly address6: string | null
  readonly counters = new Counters()
  readonly clock: Clock
  /** Open sockets and listening servers keep the process alive, as net's do; only on real time. */
  private readonly loopHold: LoopHold | null
  readonly wheel: TimerWheel
  readonly link: Link
  private readonly tcp: TcpLayer
  private readonly ip: IpLayer
  private readonly udp: UdpLayer
  private readonly servers = new Set<Server>()
  private stopped = false
  /** Outbound fault injection (StackOptions.faults), or null. */
  readonly faults: FaultModel | null = null

  constructor(opts: StackOptions) {
    super()
    const addr = parseAddress(opts.address)
    if (addr === null) throw new TypeError(`not an IPv4 address: ${opts.address}`)
    this.address = opts.address
    const addr6 = opts.address6 === undefined ? null : parseAddressV6(opts.address6)
    if (addr6 === null && opts.address6 !== undefined) throw new TypeError(`not an IPv6 address: ${opts.address6}`)
    this.address6 = addr6 === null ? null : formatAddressV6(addr6)
    this.link = opts.link
    this.clock = opts.clock ?? new RealClock()
    // A clock has one wake-up, which the stack's timer wheel owns: a second stack would steal it.
    if (clocksInUse.has(this.clock)) {
      throw new TypeError('this clock already drives another Stack: give each stack a clock of its own (ClockGroup.clock() makes virtual clocks that share one time)')
    }
    clocksInUse.add(this.clock)
    this.loopHold = this.clock instanceof RealClock ? new LoopHold() : null
    // A timer callback that throws is a bug, never an input problem: count it and keep going.
    this.wheel = new TimerWheel(this.clock, {
      onError: error => {
        this.counters.drop('internal-error')
        this.emit('internal-error', error)
      },
    })
    const random = opts.random ?? new CryptoRandom()
    if (opts.faults) {
      const faultRandom = opts.faults.seed !== undefined ? new SeededRandom(opts.faults.seed) : random
      this.faults = new FaultModel(opts.faults, faultRandom)
    }
    const config: TcpConfig = { ...DEFAULT_TCP_CONFIG, ...opts.tcp }
    checkCongestionControl(config.congestionControl)
    if (opts.mslMs !== undefined) config.mslMs = opts.mslMs
    if (opts.finWait2TimeoutMs !== undefined) config.finWait2TimeoutMs = opts.finWait2TimeoutMs
    const output = (packet: Uint8Array, segmentSize?: number) => this.output(packet, segmentSize)
    this.tcp = new TcpLayer({
      address: addr, address6: this.address6, mtu: opts.link.mtu, clock: this.clock, wheel: this.wheel,
      random, config, counters: this.counters, output, outputCopies: opts.link.sendCopies === true,
      tsoMaxPayload: opts.offload === false ? undefined : opts.link.tsoMaxPayload,
      onStateChange: (tcb, from, to, cause) => this.onStateChange(tcb, from, to, cause),
      onSyn: syn => this.onSyn(syn),
    })
    const promiscuous = opts.promiscuous === true
    this.udp = new UdpLayer({
      address: addr, address6: this.address6, promiscuous, mtu: opts.link.mtu, config: { ...DEFAULT_UDP_CONFIG, ...opts.udp },
      counters: this.counters, random, wheel: this.wheel, clock: this.clock, output,
      onNewFlow: (tuple, size) => this.onNewFlow(tuple, size),
    })
    this.ip = new IpLayer({ address: addr, address6: addr6, promiscuous, counters: this.counters, output, tcpInput: (s, d, seg) => this.tcp.input(s, d, seg),
      tcpIcmpError: err => this.tcp.icmpError(err),
      udpInput: (src, dst, dgram) => this.udp.input(src, dst, dgram), udpIcmpError: err => this.udp.icmpError(err),
      icmpErrors: new IcmpErrorSender(this.clock, this.counters, output, opts.icmpRate ?? DEFAULT_ICMP_RATE),
    })
    this.link.onReceive((packet, checksumTrusted) => this.input(packet, checksumTrusted))
    // A link that delivers packets in batches says when each ends: the ACKs owed go then (ACK
    // coalescing), with what the application sent meanwhile (output coalescing). A microtask, so
    // that the application's own callbacks of the batch (process.nextTick: node:http ends a
    // response's socket in one) run first: their FIN rides with the response.
    if (this.link.onBatchEnd !== undefined) {
      this.tcp.useBatches()
      const endBatch = (): void => this.endBatch()
      this.link.onBatchEnd(() => afterThisTurn(endBatch))
    }
    // Build per-segment trace objects only while someone listens for them.
    this.on('newListener', event => {
      if (event === 'segment') this.tcp.trace = (dir, src, dst, seg) => this.emit('segment', dir, { src, dst, seg })
      if (event === 'sender') this.tcp.ackTrace = tcb => this.emit('sender', senderInfo(tcb))
    })
    this.on('removeListener', event => {
      if (event === 'segment' && this.listenerCount('segment') === 0) this.tcp.trace = null
      if (event === 'sender' && this.listenerCount('sender') === 0) this.tcp.ackTrace = null
    })
  }

  createServer(listener?: (socket: Socket) => void): Server
  createServer(options: ServerOptions, listener?: (socket: Socket) => void): Server
  createServer(a?: ServerOptions | ((socket: Socket) => void), b?: (socket: Socket) => void): Server {
    const options = typeof a === 'function' ? {} : a ?? {}
    const listener = typeof a === 'function' ? a : b
    const server = new Server(this.tcp, this.address, options, listener, this.loopHold)
    this.servers.add(server)
    server.once('close', () => this.servers.delete(server))
    return server
  }

  /**
   * Active OPEN, with net.connect's arguments: connect(port, host, [connectListener]) or
   * connect(options, [connectListener]). Returns at once; 'connect' or 'error' follows.
   * Bad arguments throw. The host is required: net's default, 'localhost', has no
   * meaning on a stack without a loopback.
   */
  connect(options: ConnectOptions, connectListener?: () => void): Socket
  connect(port: number | string, host: string, connectListener?: () => void): Socket
  connect(a: ConnectOptions | number | string, b?: string | (() => void), c?: () => void): Socket {
    const opts: ConnectOptions = typeof a === 'object' ? a : { port: a, host: typeof b === 'string' ? b : '' }
    const connectListener = typeof b === 'function' ? b : c
    if (typeof opts.host !== 'string' || opts.host === '') throw new TypeError('connect needs a host: the IPv4 or IPv6 address of the peer (the stack has no loopback)')
    const parsed = parseAnyAddress(opts.host)
    if (parsed === null) throw new TypeError(`not an IPv4 or IPv6 address: ${opts.host} (the stack does no name lookup)`)
    // An IPv4-mapped address (::ffff:a.b.c.d): IPv4 on the wire, the socket IPv6 (RFC 4291 2.5.5.2).
    const v4 = unmappedV4(parsed)
    const remote = v4 ?? parsed
    if (isV6(remote) && this.address6 === null) throw new TypeError(`cannot connect to ${opts.host}: the stack has no IPv6 address (StackOptions.address6)`)
    const port = validatePort(opts.port, 'Port', false)
    // Every check before the TCB exists: a throw leaves nothing behind.
    if (opts.timeout !== undefined) validateTimeout(opts.timeout)
    if (opts.congestionControl !== undefined) checkCongestionControl(opts.congestionControl)
    const tcb = this.tcp.createActive(remote, port, opts.localPort)
    const socket = new Socket(tcb, { allowHalfOpen: opts.allowHalfOpen, mapped: v4 !== null }, this.loopHold)
    if (opts.congestionControl !== undefined) socket.setCongestionControl(opts.congestionControl)
    if (opts.timeout !== undefined) socket.setTimeout(opts.timeout)
    if (opts.noDelay === true) socket.setNoDelay(true)
    if (opts.keepAlive === true) socket.setKeepAlive(true, opts.keepAliveInitialDelay)
    if (connectListener) socket.once('connect', connectListener)
    this.tcp.open(tcb, opts.fastOpen === true)
    return socket
  }

  /**
   * The TCP tunables in force (tcp/config.ts). Changing one acts as writing a sysctl does
   * on Linux: new connections take it, open ones only where they read it afresh (buffer
   * sizes, RTO bounds). The script runner's timed sysctl lines change it.
   */
  get tcpConfig(): TcpConfig {
    return this.tcp.config
  }

  /** Forget every Fast Open cookie and MSS learnt from servers (Linux's `ip tcp_metrics flush`). */
  flushFastOpenCache(): void {
    this.tcp.fastOpenCache.clear()
  }

  /**
   * A UDP socket, as dgram.createSocket: createSocket('udp4' | 'udp6', [onMessage]) or
   * createSocket({ type, recvBufferSize, signal }, [onMessage]). 'udp6' needs address6 and is IPv6-only.
   */
  createSocket(type: 'udp4' | 'udp6' | UdpSocketOptions, onMessage?: (msg: Buffer, rinfo: RemoteInfo) => void): UdpSocket {
    const options: UdpSocketOptions = typeof type === 'string' ? { type } : type
    if (options?.type !== 'udp4' && options?.type !== 'udp6') throw badType(typeof type === 'string' ? type : options?.type)
    if (options.type === 'udp6' && this.address6 === null) throw new TypeError("createSocket('udp6') needs an IPv6 address: StackOptions.address6")
    const socket = new UdpSocket(this.udp, options, this.loopHold)
    if (onMessage) socket.on('message', onMessage)
    return socket
  }

  /** A new flow for another host's address (promiscuous): the 'udp-flow' listeners decide; none refuses it. */
  private onNewFlow(tuple: FlowTuple, size: number): FlowVerdict {
    if (this.listenerCount('udp-flow') === 0) return 'refuse'
    const flow = new UdpFlow(this.udp, tuple, size, this.loopHold)
    let verdict: FlowVerdict
    try {
      this.emit('udp-flow', flow)
    } finally {
      verdict = flow.close() // decided now or never: the datagram cannot wait
    }
    return verdict
  }

  /** A SYN for another host's address (promiscuous): the 'syn' listeners decide, now or later; none refuses it. */
  private onSyn(pending: PendingSyn): void {
    if (this.listenerCount('syn') === 0) return void this.tcp.refuseSyn(pending)
    this.emit('syn', new SynRequest(this.tcp, pending, this.loopHold))
  }

  /** How many connections are in each state now. */
  connectionsByState(): Partial<Record<State, number>> {
    const counts: Partial<Record<State, number>> = {}
    for (const tcb of this.tcp.connections) counts[tcb.state] = (counts[tcb.state] ?? 0) + 1
    return counts
  }

  /** Every connection the stack holds, like `ss -tan`. */
  connections(): ConnectionInfo[] {
    return [...this.tcp.connections].map(info)
  }

  /**
   * Close everything gracefully: stop listening, close every UDP socket, end every socket (FIN), and
   * wait until each connection is CLOSED or in TIME-WAIT; after `graceMs`,
   * reset what is left. Then stop all timers. The link is the caller's to close.
   */
  shutdown(graceMs = 2000): Promise<void> {
    for (const server of this.servers) server.close()
    this.tcp.dropPendingSyns()
    for (const socket of [...this.udp.sockets]) socket.close()
    for (const tcb of this.tcp.connections) {
      const user = tcb.user
      if (user instanceof Socket && !user.writableEnded) user.end()
    }
    return new Promise(resolve => {
      const done = () => {
        this.off('state', check)
        this.wheel.disarm(deadline)
        for (const tcb of [...this.tcp.connections]) if (!(tcb instanceof TimeWait)) abort(tcb)
        for (const tcb of [...this.tcp.connections]) tcb.stopTimers()
        this.stopped = true
        resolve()
      }
      const settled = () => [...this.tcp.connections].every(t => t.state === 'TIME-WAIT')
      const check = () => {
        if (settled()) done()
      }
      const deadline = new Timer(done)
      this.on('state', check)
      this.wheel.arm(deadline, graceMs)
      check()
    })
  }

  private input(packet: Uint8Array, checksumTrusted = false): void {
    if (this.stopped) return
    this.counters.packetsIn++
    if (this.listenerCount('packet') > 0) this.emit('packet', 'in', packet, checksumTrusted)
    try {
      this.ip.input(packet, checksumTrusted)
    } catch (error) {
      // A bug, never an input problem: count it and keep serving. Tests assert there are none.
      this.counters.drop('internal-error')
      this.emit('internal-error', error)
    }
  }

  private endBatch(): void {
    if (this.stopped) return
    try {
      this.tcp.endBatch()
    } catch (error) {
      this.counters.drop('internal-error')
      this.emit('internal-error', error)
    }
  }

  /** Every packet we send. A 'packet' listener sees it only during the event: the buffer is reused (Link.sendCopies). */
  private output(packet: Uint8Array, segmentSize?: number): void {
    this.counters.packetsOut++
    if (this.listenerCount('packet') > 0) this.emit('packet', 'out', packet, segmentSize !== undefined)
    if (this.faults === null) return this.link.send(packet, segmentSize)
    this.sendWithFaults(this.faults, packet, segmentSize)
  }

  /** The outbound path through a bad wire: each copy the fault model lets through goes now or after its delay. */
  private sendWithFaults(faults: FaultModel, packet: Uint8Array, segmentSize?: number): void {
    // With segmentSize the TCP checksum is partial (the device finishes it): corruption becomes loss.
    for (const d of faults.apply(packet, segmentSize !== undefined)) {
      if (d.delayMs <= 0) {
        this.link.send(d.packet, segmentSize)
        continue
      }
      const copy = d.packet === packet ? packet.slice() : d.packet
      this.wheel.arm(new Timer(() => {
        if (!this.stopped) this.link.send(copy, segmentSize)
      }), d.delayMs)
    }
  }

  private onStateChange(conn: Connection, from: State, to: State, cause: string): void {
    this.counters.enter(to)
    if (this.listenerCount('state') > 0) this.emit('state', { conn: info(conn), from, to, cause } satisfies StateChange)
  }
}
