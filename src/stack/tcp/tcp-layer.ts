// The TCP layer: finds the TCB for each arriving segment (demultiplexing) by its whole
// 4-tuple, runs LISTEN (RFC 9293 3.10.7.2) and CLOSED (3.10.7.1) for segments that have
// no TCB, opens connections, and builds outgoing segments into IP packets. In
// any-destination mode a SYN for another host's address waits for the 'syn' hook's
// decision (pending-syn.ts), and the connection it opens answers from that address.

import type { Clock } from '../time/clock.js'
import type { TimerWheel } from '../time/timer-wheel.js'
import type { Counters } from '../counters.js'
import type { Random } from '../random.js'
import { ACK, RST, SYN, buildTcpPacket, writeTcpPacket, type FastOpenOption, type TcpOptions, type TcpPacketFields, type TcpSegment } from '../wire/tcp.js'
import type { TcpConfig } from './config.js'
import { segmentArrives } from './input.js'
import { IsnGenerator } from './isn.js'
import { ChallengeAckLimiter } from './challenge-ack.js'
import { SynCookies } from './syn-cookies.js'
import { FastOpenCookies, acceptSynData, deliverSynData, fastOpenOnSyn, type FastOpenListener } from './fast-open.js'
import type { IcmpError } from '../ip/icmp-errors.js'
import { icmpErrorArrives } from './icmp-errors.js'
import { sendAck, sendCookieSynAck, sendResetAt, sendResetFor, sendSyn, type SegmentOut } from './emit.js'
import { ackDueNow } from './receive.js'
import { output } from './send.js'
import { ecnAcceptSyn } from './ecn.js'
import { acceptSynOptions, takeMss } from './options.js'
import { seqAdd, seqDiff } from './seq.js'
import { IPV6_HEADER_LENGTH, IPV6_MAX_PAYLOAD_LENGTH } from '../wire/ipv6.js'
import { isMulticast, isV6, tcpOverhead, type Address } from '../wire/address.js'
import type { State } from './state.js'
import { Tcb, type OutSegment, type TcpHost } from './tcb.js'
import { ConnectionTable } from './connection-table.js'
import { FastOpenCache } from './fast-open-cache.js'
import { PendingSyn, type PendingSynUser } from './pending-syn.js'
import { TimeWait, closeTimeWait, restart2Msl, synMayReopen, timeWaitArrives, type TimeWaitHost } from './time-wait.js'
import { enterClosed, onCloseTimer, onDelayedAck, onKeepalive, onPacingTimer, onPersist, onRetransmitTimeout } from './timers.js'
import { openActive } from './user.js'
import { startCongestionControl } from './recovery/recovery-and-undo.js'

/** A passive OPEN: the LISTEN state of one port (with its Fast Open queue, fast-open.ts). */
export interface Listener extends FastOpenListener {
  readonly port: number
  /** Connections still in SYN-RECEIVED (the SYN queue). */
  synReceived: number
  /** A connection reached ESTABLISHED. */
  onAccept(tcb: Tcb): void
  /** The listener takes no more connections now (like net.Server.maxConnections): SYNs are dropped. */
  isFull?(): boolean
  /** When this listener last answered a SYN with a cookie (clock ms): cookie ACKs are checked only soon after. */
  lastSynCookieAt?: number
}

export interface TcpLayerOptions {
  /** Our IPv4 address. */
  address: number
  /** Our IPv6 address (RFC 5952 text, address.ts), or null: IPv4 only. */
  address6?: string | null
  mtu: number
  clock: Clock
  wheel: TimerWheel
  random: Random
  config: TcpConfig
  counters: Counters
  /** With segmentation offload on the link: the largest TCP payload of one packet we send. */
  tsoMaxPayload?: number | undefined
  /** Send one IP packet; `segmentSize`: the link cuts it into segments of that size (TSO). */
  output(packet: Uint8Array, segmentSize?: number): void
  /**
   * `output` is done with each packet when it returns (the link writes or copies it at once,
   * Link.sendCopies): outgoing packets may then be built in one buffer, reused.
   */
  outputCopies?: boolean
  /** Every state change of every connection. */
  onStateChange(conn: Connection, from: State, to: State, cause: string): void
  /**
   * Any-destination mode: a new SYN for another host's address (promiscuous), to decide now or
   * later with acceptSyn, refuseSyn or dropSyn. Absent: such SYNs are answered with RST.
   */
  onSyn?(syn: PendingSyn): void
}

/** What acceptSyn takes: this connection's buffer sizes (SO_RCVBUF, SO_SNDBUF), else the stack's. */
export interface SynBuffers {
  rcvBufSize?: number | undefined
  sndBufSize?: number | undefined
}

/** What the connection table holds: a whole TCB, or the compact entry of a connection in TIME-WAIT. */
export type Connection = Tcb | TimeWait

export type SegmentTrace = (dir: 'in' | 'out', src: Address, dst: Address, seg: TcpSegment) => void

const EPHEMERAL_LOW = 32768 // Linux's ip_local_port_range
const EPHEMERAL_HIGH = 60999

export class TcpLayer implements TcpHost, TimeWaitHost, SegmentOut {
  readonly clock: Clock
  readonly wheel: TimerWheel
  readonly config: TcpConfig
  readonly counters: Counters
  readonly connections = new ConnectionTable<Connection>()
  /** Set to see every segment in and out (for --trace). */
  trace: SegmentTrace | null = null
  /** Set to see each TCB after it processed a segment carrying ACK (the Stack's 'sender' event). */
  ackTrace: ((tcb: Tcb) => void) | null = null
  private readonly listeners = new Map<number, Listener>()
  /** SYNs for other hosts' addresses waiting for the 'syn' hook's decision, by 4-tuple. */
  private readonly pendingSyns = new ConnectionTable<PendingSyn>()
  /** The accepted ones while their TCB is in SYN-RECEIVED: told when the handshake ends. */
  private readonly hooked = new Map<Tcb, PendingSyn>()
  /** In-flight handshakes of the hook, undecided or accepted: bounded by synBacklog. */
  private synHandshakes = 0
  private readonly onSyn: TcpLayerOptions['onSyn']
  private readonly isn: IsnGenerator
  /** RFC 4987 SYN cookies, used once a listener's SYN queue is full. */
  private readonly cookies: SynCookies
  /** RFC 7413 Fast Open cookies: the key and the MAC (fast-open.ts). */
  private readonly fastOpenCookies: FastOpenCookies
  /** RFC 5961 section 7: the stack's per-second challenge ACK budget. */
  readonly challengeAcks: ChallengeAckLimiter
  /** The client's Fast Open cookies and MSS, per server address (RFC 7413 4.1.3). */
  readonly fastOpenCache = new FastOpenCache()
  /** Our IPv4 address: the local end of every IPv4 connection. */
  readonly address: number
  /** Our IPv6 address, or null: the local end of every IPv6 connection. */
  readonly address6: string | null
  private readonly mtu: number
  private readonly random: Random
  private readonly sendPacket: (packet: Uint8Array, segmentSize?: number) => void
  /** The largest payload one segment may carry before it is cut (TSO), 0 without offload. */
  readonly tsoMaxPayload: number
  private readonly onStateChange: TcpLayerOptions['onStateChange']
  /** Where outgoing packets are built when output() copies them (outputCopies), else null: a new buffer each. */
  private readonly txBuffer: Uint8Array | null
  /** A packet is being built in txBuffer and handed on: a segment sent meanwhile (from a trace listener) needs its own. */
  private txBusy = false
  /**
   * ACK coalescing: while the link delivers a batch of packets, the TCBs that owe an
   * immediate ACK, each with its count of unacknowledged segments when it last asked for
   * one. The ACK goes when the batch ends (endBatch): one for all of the batch's segments
   * of a connection. Null: the link has no batches, and every ACK goes at once.
   */
  private heldAcks: Map<Tcb, number> | null = null
  /**
   * Output coalescing: the TCBs whose application sent or closed during the batch (its
   * callbacks included, Stack.endBatch). Their data and FIN go at the end, ACK on board:
   * a response and the FIN that follows it in one segment. Null: everything goes at once.
   */
  private heldOutput: Set<Tcb> | null = null
  /** From a batch's first segment to endBatch(). */
  private inBatch = false

  constructor(opts: TcpLayerOptions) {
    this.address = opts.address
    this.address6 = opts.address6 ?? null
    this.mtu = opts.mtu
    this.clock = opts.clock
    this.wheel = opts.wheel
    this.random = opts.random
    this.config = opts.config
    this.counters = opts.counters
    this.sendPacket = opts.output
    this.tsoMaxPayload = opts.tsoMaxPayload ?? 0
    this.onStateChange = opts.onStateChange
    this.onSyn = opts.onSyn
    this.isn = new IsnGenerator(opts.clock, opts.random)
    this.cookies = new SynCookies(opts.random)
    this.fastOpenCookies = new FastOpenCookies(opts.random)
    this.challengeAcks = new ChallengeAckLimiter(opts.clock, opts.random, opts.config.challengeAckLimit)
    this.txBuffer = opts.outputCopies === true ? new Uint8Array(IPV6_HEADER_LENGTH + IPV6_MAX_PAYLOAD_LENGTH) : null
  }

  // ---- batches of packets (ACK coalescing) ----

  /** The link delivers packets in batches and will call endBatch() after each (Link.onBatchEnd). */
  useBatches(): void {
    if (this.config.ackCoalescing) this.heldAcks ??= new Map()
    if (this.config.ackCoalescing && this.config.outputCoalescing) this.heldOutput ??= new Set()
  }

  /**
   * TcpHost: hold a TCB's output (SEND, CLOSE) to the end of the batch being handled; false:
   * none is. Only while what waits to go fits one send (a segment, or a packet with offload):
   * a response, which its FIN may then join. A bulk writer's data goes at once, as each ACK of
   * the batch makes room: held to the batch end, a download sent in bursts and lost a third
   * of its rate (docs/performance.md).
   */
  holdOutput(tcb: Tcb): boolean {
    if (!this.inBatch || this.heldOutput === null) return false
    if (!this.heldOutput.has(tcb) && tcb.unsentBytes > tcb.sendSize) return false
    this.heldOutput.add(tcb)
    return true
  }

  /** TcpHost: is this TCB's output held to the end of the batch? */
  outputHeld(tcb: Tcb): boolean {
    return this.inBatch && this.heldOutput !== null && this.heldOutput.has(tcb)
  }

  /**
   * TcpHost: hold a TCB's immediate ACK to the end of the batch. Its delayed ACK timer is
   * armed too, so that the ACK would still go if no end of batch came. Not once the ACK would
   * cover more than ackCoalescingMaxBytes with one more full-sized segment: it goes now, as
   * Linux ACKs each GRO packet (a BBR sender paces by the ACKs: one per batch, 180-520 KiB of
   * offloaded packets, cost the upload row ~10%).
   */
  holdAck(tcb: Tcb): boolean {
    const held = this.heldAcks
    if (held === null) return false
    if (seqDiff(tcb.rcvNxt, tcb.lastAckSent) + tcb.rcvMss > this.config.ackCoalescingMaxBytes) {
      held.delete(tcb)
      return false
    }
    const askedAt = held.get(tcb)
    if (askedAt === undefined) {
      held.set(tcb, tcb.unackedSegments)
    } else {
      // Held already. Without coalescing, the ACK asked for then would have gone at once, and
      // this would be a second one if two more segments came since, or if a segment we sent
      // meanwhile carried the first: that one is saved, and this one is the ACK to send.
      const carried = tcb.unackedSegments < askedAt
      if (carried || tcb.unackedSegments - askedAt >= 2) {
        this.counters.acksCoalesced++
        held.set(tcb, tcb.unackedSegments)
      }
    }
    if (!tcb.delayedAckTimer.armed) this.wheel.arm(tcb.delayedAckTimer, this.config.delayedAckMs)
    return true
  }

  /** The batch is done: each ACK still owed goes now (a segment we sent meanwhile may have carried it). */
  endBatch(): void {
    this.inBatch = false
    const outputs = this.heldOutput
    if (outputs !== null && outputs.size > 0) {
      for (const tcb of outputs) output(tcb) // (nothing in a state that sends no more)
      outputs.clear()
    }
    const held = this.heldAcks
    if (held === null || held.size === 0) return
    for (const tcb of held.keys()) {
      const open = tcb.state !== 'CLOSED' && tcb.state !== 'TIME-WAIT'
      if (open && ackDueNow(tcb)) sendAck(tcb)
      else this.counters.acksCoalesced++
    }
    held.clear()
  }

  // ---- user side ----

  listen(listener: Listener): boolean {
    if (this.listeners.has(listener.port)) return false
    this.listeners.set(listener.port, listener)
    return true
  }

  unlisten(listener: Listener): void {
    if (this.listeners.get(listener.port) === listener) this.listeners.delete(listener.port)
  }

  /** A port for listen(0): ephemeral, neither listened on nor the local port of any connection (as Linux's inet_csk_get_port). */
  freeListenPort(): number {
    const inUse = new Set<number>()
    for (const conn of this.connections) if (this.isLocal(conn.localAddr)) inUse.add(conn.localPort)
    return this.freePort(port => this.listeners.has(port) || inUse.has(port))
  }

  /** A TCB for an active OPEN (CLOSED until open() runs), on an ephemeral port unless one is given. */
  createActive(remoteAddr: Address, remotePort: number, localPort?: number): Tcb {
    const local = this.localFor(remoteAddr)
    if (local === null) throw Object.assign(new Error('no IPv6 address to connect from (StackOptions.address6)'), { code: 'EADDRNOTAVAIL' })
    const port = localPort ?? this.ephemeralPort(local, remoteAddr, remotePort)
    if (this.connections.get(local, port, remoteAddr, remotePort) !== undefined) {
      throw Object.assign(new Error(`address in use: port ${port} to that peer`), { code: 'EADDRINUSE' })
    }
    const tcb = this.newTcb(local, port, remoteAddr, remotePort)
    this.connections.add(tcb)
    return tcb
  }

  /** Active OPEN (RFC 9293 3.10.1): send the SYN, or with `fastOpen` (RFC 7413) perhaps wait for data to carry in it. */
  open(tcb: Tcb, fastOpen = false): void {
    this.counters.activeOpens++
    openActive(tcb, this.isn.next(tcb.localAddr, tcb.localPort, tcb.remoteAddr, tcb.remotePort), this.mtu, fastOpen)
  }

  // ---- segment arrives ----

  input(src: Address, dst: Address, seg: TcpSegment): void {
    this.counters.segmentsIn++
    if (this.heldOutput !== null) this.inBatch = true
    this.trace?.('in', src, dst, seg)
    const conn = this.connections.get(dst, seg.dstPort, src, seg.srcPort)
    const ours = this.isLocal(dst)
    if (conn instanceof TimeWait) {
      // A new SYN may end a TIME-WAIT early and reopen the connection (RFC 9293 3.6.1, RFC 6191).
      if (!ours && synMayReopen(conn, seg)) {
        const iss = seqAdd(conn.sndNxt, 65_535 + 2)
        closeTimeWait(conn, 'new SYN in TIME-WAIT')
        return this.foreignInput(src, dst, seg, iss)
      }
      const listener = ours ? this.listeners.get(seg.dstPort) : undefined
      if (listener !== undefined && synMayReopen(conn, seg)) {
        // The bounds first, while TIME-WAIT is still there: a SYN the listener cannot take
        // leaves it in place. The new connection takes the entry's slot in the table.
        if (this.connections.size > this.config.maxConnections) return this.counters.drop('tcp-too-many-connections')
        if (listener.isFull?.() === true) return this.counters.drop('tcp-listener-full')
        const iss = seqAdd(conn.sndNxt, 65_535 + 2) // above anything the old incarnation sent
        closeTimeWait(conn, 'new SYN in TIME-WAIT')
        return this.listenInput(listener, src, dst, seg, iss)
      }
      return timeWaitArrives(conn, seg)
    }
    if (conn !== undefined) {
      segmentArrives(conn, seg)
      if (this.ackTrace !== null && seg.flags & ACK) this.ackTrace(conn)
      return
    }
    if (!ours) return this.foreignInput(src, dst, seg)
    const listener = this.listeners.get(seg.dstPort)
    if (listener !== undefined) return this.listenInput(listener, src, dst, seg)
    this.closedInput(src, dst, seg)
  }

  /** An ICMP error about a segment we sent (RFC 5927, RFC 1191, RFC 1122 4.2.3.9): see icmp-errors.ts. */
  icmpError(err: IcmpError): void {
    const tcb = this.connections.get(err.localAddr, err.localPort, err.remoteAddr, err.remotePort)
    if (tcb === undefined) return this.counters.drop('icmp-no-connection')
    // In TIME-WAIT nothing of ours is in flight that the error could be about (RFC 5927 4.1).
    if (tcb instanceof TimeWait) return this.counters.drop(err.kind === 'source-quench' ? 'icmp-source-quench' : 'icmp-time-wait')
    icmpErrorArrives(tcb, err)
  }

  /** RFC 9293 3.10.7.1: no TCB. Answer anything but a RST with a RST (emit.ts forms it from the segment), from where it was sent. */
  private closedInput(src: Address, dst: Address, seg: TcpSegment): void {
    this.counters.drop('tcp-no-connection')
    if (seg.flags & RST) return
    sendResetFor(this.from(dst), src, seg)
  }

  // ---- any destination: the SYN hook (pending-syn.ts) ----

  /**
   * A segment for another host's address with no TCB (promiscuous). A new SYN is offered to
   * the hook, once: its retransmissions find the pending entry. Anything else is CLOSED's.
   */
  private foreignInput(src: Address, dst: Address, seg: TcpSegment, iss?: number): void {
    const pending = this.pendingSyns.get(dst, seg.dstPort, src, seg.srcPort)
    if (pending !== undefined) return this.counters.drop(seg.flags & SYN ? 'tcp-syn-pending' : 'tcp-syn-pending-other')
    if ((seg.flags & (SYN | ACK | RST)) !== SYN || this.onSyn === undefined) return this.closedInput(src, dst, seg)
    // RFC 1122 4.2.3.10: a SYN to a broadcast or multicast address is silently discarded.
    if (isMulticast(dst)) return this.counters.drop('tcp-not-unicast')
    if (this.connections.size >= this.config.maxConnections) return this.counters.drop('tcp-too-many-connections')
    if (this.synHandshakes >= this.config.synBacklog) return this.counters.drop('tcp-syn-backlog-full')
    const syn = new PendingSyn(src, dst, seg, iss, p => this.expireSyn(p))
    this.pendingSyns.add(syn)
    this.synHandshakes++
    this.wheel.arm(syn, this.config.synDecisionTimeoutMs)
    this.onSyn(syn)
  }

  /**
   * The hook accepts: the passive open the SYN asked for (3.10.7.2), answered with our SYN,ACK
   * from the address the client meant. Returns the TCB in SYN-RECEIVED, or null when the SYN
   * is no longer pending or the stack holds maxConnections already (then it is dropped).
   */
  acceptSyn(p: PendingSyn, user: PendingSynUser, opts: SynBuffers = {}): Tcb | null {
    if (!this.settleSyn(p)) return null
    if (this.connections.size >= this.config.maxConnections) {
      this.synHandshakes--
      this.counters.drop('tcp-too-many-connections')
      return null
    }
    const seg = p.syn
    const iss = p.iss ?? this.isn.next(p.localAddr, p.localPort, p.remoteAddr, p.remotePort)
    const tcb = this.passiveOpen(null, p.remoteAddr, p.localAddr, seg, seg.seq, iss, seg.options.mss, seg.options, 'SYN accepted by the hook')
    if (opts.rcvBufSize !== undefined) tcb.rcvBufSize = opts.rcvBufSize
    if (opts.sndBufSize !== undefined) tcb.sndBufSize = opts.sndBufSize
    p.phase = 'handshake'
    p.user = user
    this.hooked.set(tcb, p)
    this.startSynAck(tcb)
    return tcb
  }

  /** The hook refuses: <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK> from the address the client meant, as a closed port answers (3.10.7.1). */
  refuseSyn(p: PendingSyn): boolean {
    if (!this.settleSyn(p)) return false
    this.synHandshakes--
    this.counters.drop('tcp-syn-refused')
    sendResetFor(this.from(p.localAddr), p.remoteAddr, p.syn)
    return true
  }

  /** The hook drops: nothing goes back; the client's next SYN is a new one, offered again. */
  dropSyn(p: PendingSyn): boolean {
    if (!this.settleSyn(p)) return false
    this.synHandshakes--
    this.counters.drop('tcp-syn-dropped')
    return true
  }

  /** Forget every undecided SYN (Stack.shutdown). */
  dropPendingSyns(): void {
    for (const p of [...this.pendingSyns]) {
      this.settleSyn(p)
      this.synHandshakes--
      p.user?.expired()
    }
  }

  /** Undecided for synDecisionTimeoutMs: dropped, counted. */
  private expireSyn(p: PendingSyn): void {
    if (!this.settleSyn(p)) return
    this.synHandshakes--
    this.counters.drop('tcp-syn-undecided')
    p.phase = 'done'
    p.user?.expired()
  }

  /** An undecided SYN leaves the pending table (its timer too); false if it was decided already. */
  private settleSyn(p: PendingSyn): boolean {
    if (p.phase !== 'undecided') return false
    p.phase = 'done'
    this.wheel.disarm(p)
    this.pendingSyns.delete(p)
    return true
  }

  /** A SegmentOut that sends from `localAddr`: our address, or in any-destination mode the one a segment was sent to. */
  private from(localAddr: Address): SegmentOut {
    if (this.isLocal(localAddr)) return this
    return { counters: this.counters, sendSegment: (ra, lp, rp, seg) => this.sendFrom(localAddr, ra, lp, rp, seg) }
  }

  /** RFC 9293 3.10.7.2: LISTEN. */
  private listenInput(listener: Listener, src: Address, dst: Address, seg: TcpSegment, iss?: number): void {
    if (seg.flags & RST) return this.counters.drop('tcp-listen-rst')
    if (seg.flags & ACK) {
      // The third segment of a handshake we answered with a SYN cookie (RFC 4987 3.6)?
      if (!(seg.flags & SYN) && this.cookieRecent(listener)) return this.cookieAck(listener, src, dst, seg)
      this.counters.drop('tcp-listen-ack')
      return sendResetFor(this, src, seg) // <SEQ=SEG.ACK><CTL=RST>
    }
    if (!(seg.flags & SYN)) return this.counters.drop('tcp-listen-no-syn')
    // Bounded resources: the stack's connections in all, this listener's, then its SYN queue.
    if (this.connections.size >= this.config.maxConnections) return this.counters.drop('tcp-too-many-connections')
    if (listener.isFull?.() === true) return this.counters.drop('tcp-listener-full')
    // A SYN reopening TIME-WAIT (`iss` given) is queued even past the backlog, as Linux does
    // (tcp_conn_request with a TIME-WAIT ISN): a cookie's ISS would ignore the old incarnation.
    if (listener.synReceived >= this.config.synBacklog && iss === undefined) {
      if (!this.config.synCookies) return this.counters.drop('tcp-syn-queue-full')
      return this.sendSynCookie(listener, src, dst, seg)
    }
    iss ??= this.isn.next(dst, seg.dstPort, src, seg.srcPort)
    // RFC 7413 4.2.2: a cookie asked for or checked, and the SYN's data taken or left (fast-open.ts).
    const tfo = fastOpenOnSyn(listener, seg, this.fastOpenCookies, this.config, this.counters, src, dst)
    const tcb = this.passiveOpen(listener, src, dst, seg, seg.seq, iss, seg.options.mss, seg.options, 'SYN received')
    if (!tfo.accept) return this.startSynAck(tcb, tfo.cookie)
    // Fast Open: the data is ours with the SYN; the SYN,ACK acknowledges it, and the application
    // gets the connection at once, in SYN-RECEIVED, as Linux puts it in the accept queue.
    acceptSynData(tcb, seg)
    listener.fastOpenPending++
    startCongestionControl(tcb) // it may send before the handshake ends
    this.startSynAck(tcb, tfo.cookie)
    listener.onAccept(tcb)
    deliverSynData(tcb, seg)
  }

  /** Send our SYN,ACK (with a Fast Open cookie to give), timed for the first RTT sample, with the retransmission timer armed. */
  private startSynAck(tcb: Tcb, cookie?: FastOpenOption): void {
    tcb.synAckCookie = cookie ?? null
    sendSyn(tcb)
    tcb.synAckCookie = null // a retransmitted SYN,ACK gives none, as Linux's
    tcb.rttSeq = tcb.sndNxt
    tcb.rttStart = this.clock.now()
    this.wheel.arm(tcb.retransmitTimer, tcb.rtt.rto)
  }

  // ---- SYN cookies (RFC 4987 3.6, syn-cookies.ts) ----

  /** The SYN queue is full: answer with a SYN,ACK whose ISS is a cookie, and keep no state. */
  private sendSynCookie(listener: Listener, src: Address, dst: Address, seg: TcpSegment): void {
    const now = this.clock.now()
    listener.lastSynCookieAt = now
    const tuple = { localAddr: dst, localPort: seg.dstPort, remoteAddr: src, remotePort: seg.srcPort }
    const iss = this.cookies.make(tuple, seg.seq, seg.options.mss, now)
    this.counters.synCookiesSent++
    // The MSS only: see the limitation in syn-cookies.ts.
    sendCookieSynAck(this, src, seg, iss, Math.min(this.config.rcvBufSize, 65_535), this.mtu - tcpOverhead(src))
  }

  /** Cookies are checked only within their lifetime after the listener last sent one (Linux: tcp_synq_no_recent_overflow). */
  private cookieRecent(listener: Listener): boolean {
    return listener.lastSynCookieAt !== undefined && this.clock.now() - listener.lastSynCookieAt < 2 * 60_000
  }

  /**
   * An ACK to a listener that may return a cookie: SEG.ACK - 1 is our ISS and
   * SEG.SEQ - 1 the peer's. A good one makes the connection, as if the SYN had
   * been queued: SYN-RECEIVED, then this ACK is processed as usual (ESTABLISHED,
   * accept, any data on it). A bad one is answered with a RST, as Linux does.
   */
  private cookieAck(listener: Listener, src: Address, dst: Address, seg: TcpSegment): void {
    const tuple = { localAddr: dst, localPort: seg.dstPort, remoteAddr: src, remotePort: seg.srcPort }
    const iss = seqAdd(seg.ack, -1)
    const irs = seqAdd(seg.seq, -1)
    const mss = this.cookies.check(tuple, iss, irs, this.clock.now())
    if (mss === null) {
      this.counters.drop('tcp-syn-cookie-bad')
      return sendResetFor(this, src, seg) // <SEQ=SEG.ACK><CTL=RST>
    }
    if (this.connections.size >= this.config.maxConnections) return this.counters.drop('tcp-too-many-connections')
    if (listener.isFull?.() === true) return this.counters.drop('tcp-listener-full')
    this.counters.synCookiesAccepted++
    const tcb = this.passiveOpen(listener, src, dst, seg, irs, iss, mss, null, 'ACK with a valid SYN cookie')
    segmentArrives(tcb, seg)
  }

  /**
   * The TCB of a passive open, in SYN-RECEIVED: made "as a copy of the listening one"
   * (RFC 9293 3.10.7.2) for the peer's SYN with IRS `irs` and MSS option `mss`, with our ISS
   * `iss`. The one place for a SYN queued in LISTEN, a SYN reopening TIME-WAIT (its ISS above
   * the old incarnation's) and the ACK returning a SYN cookie (its SYN is gone: `synOptions`
   * is null, and the connection runs without options, syn-cookies.ts). `listener` is null
   * for a SYN the hook accepted (any destination): `dst` is then another host's address.
   */
  private passiveOpen(listener: Listener | null, src: Address, dst: Address, seg: TcpSegment, irs: number, iss: number,
    mss: number | undefined, synOptions: TcpOptions | null, cause: string): Tcb {
    const tcb = this.newTcb(dst, seg.dstPort, src, seg.srcPort)
    tcb.passive = true
    tcb.state = 'LISTEN' // this TCB starts as a copy of the listening one
    tcb.irs = irs
    tcb.rcvNxt = seqAdd(irs, 1)
    tcb.rcvAdv = tcb.rcvNxt
    tcb.rcvMss = this.mtu - tcpOverhead(dst) // RFC 9293 3.7.1; 60 bytes of headers over IPv6 (RFC 8200 8.3)
    tcb.pmtu = this.mtu
    tcb.segsIn = 1 // the SYN, which reached the listener
    takeMss(tcb, mss)
    // Window scale, timestamps, SACK: answered only if offered (RFC 7323, RFC 2018).
    if (synOptions !== null) {
      acceptSynOptions(tcb, synOptions)
      ecnAcceptSyn(tcb, seg) // RFC 3168 6.1.1: a SYN with ECE and CWR asks for ECN (not with a cookie: the SYN is gone)
    }
    else tcb.windowToAdvertise() // a cookie: the right edge our SYN,ACK advertised
    tcb.iss = iss
    tcb.sndUna = iss
    tcb.sndNxt = seqAdd(iss, 1)
    tcb.bufSeq = tcb.sndNxt
    tcb.sndWnd = seg.window
    this.connections.add(tcb)
    if (listener !== null) listener.synReceived++
    this.counters.passiveOpens++
    tcb.setState('SYN-RECEIVED', cause)
    return tcb
  }

  // ---- TcpHost ----

  transmit(tcb: Tcb, seg: OutSegment): void {
    // A SYN's data (Fast Open) is never cut by the link: it fits the MTU (fast-open-client.ts).
    const mss = seg.flags & SYN ? undefined : tcb.sndMss
    this.sendFrom(tcb.localAddr, tcb.remoteAddr, tcb.localPort, tcb.remotePort, seg, mss)
  }

  stateChanged(tcb: Tcb, from: State, to: State, cause: string): void {
    const hooked = from === 'SYN-RECEIVED' ? this.hooked.get(tcb) : undefined
    if (hooked !== undefined) {
      // The hook's handshake is over; ESTABLISHED is handed over in accept().
      this.synHandshakes--
      if (to !== 'ESTABLISHED') {
        this.hooked.delete(tcb)
        hooked.phase = 'done'
        hooked.user?.failed(cause)
      }
    } else if (from === 'SYN-RECEIVED' && tcb.passive && this.isLocal(tcb.localAddr)) {
      const listener = this.listeners.get(tcb.localPort)
      if (listener !== undefined) listener.synReceived--
      // (A listener opened since on the same port never counted it: no lower than 0.)
      if (listener !== undefined && tcb.fastOpenPassive && listener.fastOpenPending > 0) listener.fastOpenPending--
    }
    if (to === 'CLOSED') this.connections.delete(tcb)
    this.onStateChange(tcb, from, to, cause)
  }

  /** The TCB entered TIME-WAIT: a compact entry takes its place in the table and runs 2MSL (time-wait.ts). */
  timeWait(tcb: Tcb): void {
    const entry = new TimeWait(this, tcb)
    tcb.timeWait = entry // for whoever still holds the TCB: the application's socket
    this.connections.add(entry) // the same 4-tuple: the TCB is gone from the table
    restart2Msl(entry)
  }

  accept(tcb: Tcb): void {
    const hooked = this.hooked.get(tcb)
    if (hooked !== undefined) {
      this.hooked.delete(tcb)
      hooked.phase = 'done'
      return hooked.user?.established(tcb)
    }
    const listener = this.isLocal(tcb.localAddr) ? this.listeners.get(tcb.localPort) : undefined
    if (listener === undefined) {
      // The server closed while this connection was opening.
      sendResetAt(tcb, tcb.sndNxt)
      return enterClosed(tcb, null, 'listener closed')
    }
    listener.onAccept(tcb)
  }

  // ---- TimeWaitHost ----

  transmitTimeWait(tw: TimeWait, seg: OutSegment): void {
    this.sendFrom(tw.localAddr, tw.remoteAddr, tw.localPort, tw.remotePort, seg)
  }

  timeWaitClosed(tw: TimeWait, cause: string): void {
    this.connections.delete(tw)
    this.onStateChange(tw, 'TIME-WAIT', 'CLOSED', cause)
  }

  // ---- helpers ----

  private newTcb(localAddr: Address, localPort: number, remoteAddr: Address, remotePort: number): Tcb {
    const tcb: Tcb = new Tcb(this, localAddr, localPort, remoteAddr, remotePort, {
      retransmit: () => onRetransmitTimeout(tcb),
      delayedAck: () => onDelayedAck(tcb),
      persist: () => onPersist(tcb),
      keepalive: () => onKeepalive(tcb),
      close: () => onCloseTimer(tcb),
      pace: () => onPacingTimer(tcb),
    })
    tcb.tsOffset = this.isn.timestampOffset(localAddr, remoteAddr)
    return tcb
  }

  /** A free local port for a connection from `local` to (remoteAddr, remotePort), from a random start (RFC 6056). */
  private ephemeralPort(local: Address, remoteAddr: Address, remotePort: number): number {
    return this.freePort(port => this.listeners.has(port) || this.connections.get(local, port, remoteAddr, remotePort) !== undefined)
  }

  /** Is this one of our own addresses (IPv4 or IPv6), as opposed to another host's in any-destination mode? */
  isLocal(a: Address): boolean {
    return a === this.address || (this.address6 !== null && a === this.address6)
  }

  /** Our address of the family of `remote`, or null for IPv6 without one. */
  localFor(remote: Address): Address | null {
    return isV6(remote) ? this.address6 : this.address
  }

  /** The first port of the ephemeral range not `taken`, searching from a random start. */
  private freePort(taken: (port: number) => boolean): number {
    const range = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1
    const start = this.random.nextUint32() % range
    for (let i = 0; i < range; i++) {
      const port = EPHEMERAL_LOW + ((start + i) % range)
      if (!taken(port)) return port
    }
    throw Object.assign(new Error('no free local port'), { code: 'EADDRNOTAVAIL' })
  }

  /** SegmentOut: a segment from our address (of the peer's family) that no TCB owns. */
  sendSegment(remoteAddr: Address, localPort: number, remotePort: number, seg: OutSegment): void {
    const local = this.localFor(remoteAddr)
    if (local === null) return this.counters.drop('tcp-no-local-address')
    this.sendFrom(local, remoteAddr, localPort, remotePort, seg)
  }

  /** Build one segment from `localAddr` into an IP packet and send it; one larger than `mss` goes whole to a link that cuts it (TSO). */
  private sendFrom(localAddr: Address, remoteAddr: Address, localPort: number, remotePort: number, seg: OutSegment, mss?: number): void {
    this.counters.segmentsOut++
    const cut = mss !== undefined && (seg.payload?.length ?? 0) > mss
    const fields: TcpPacketFields = {
      src: localAddr, dst: remoteAddr, srcPort: localPort, dstPort: remotePort,
      seq: seg.seq, ack: seg.ack, flags: seg.flags, window: seg.window,
      options: seg.options, payload: seg.payload, partialChecksum: cut, tos: seg.tos,
    }
    // No allocation per packet where the link copies: build into the one transmit buffer.
    const reuse = this.txBuffer !== null && !this.txBusy
    const packet = reuse ? this.txBuffer!.subarray(0, writeTcpPacket(this.txBuffer!, 0, fields)) : buildTcpPacket(fields)
    if (reuse) this.txBusy = true
    try {
      if (this.trace !== null) {
        this.trace('out', localAddr, remoteAddr, {
          srcPort: localPort, dstPort: remotePort, seq: seg.seq, ack: seg.ack, headerLength: 20,
          flags: seg.flags, window: seg.window, urgentPointer: 0, options: seg.options ?? {},
          payload: seg.payload ?? new Uint8Array(0),
        })
      }
      this.sendPacket(packet, cut ? mss : undefined)
    } finally {
      if (reuse) this.txBusy = false
    }
  }
}
