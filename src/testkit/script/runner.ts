// Run a parsed script against a fresh Stack in virtual time. The script plays
// the remote host (192.0.2.1 by default) and the application on the stack
// (192.168.0.1): `<` lines are injected at their time, `>` lines must be what
// the stack sends and when, and system calls drive the stack's Socket API.
//
// Timing and sequence numbers follow packetdrill (google/packetdrill, run.c,
// run_packet.c, socket.h): a relative time counts from when the previous event
// happened; SYN segments carry absolute sequence numbers and every other
// segment numbers relative to the ISNs learned from the SYNs, as tcpdump prints them.

import type { Server } from '../../stack/socket/server.js'
import type { Socket } from '../../stack/socket/socket.js'
import { SeededRandom } from '../../stack/random.js'
import { Stack, type StackOptions } from '../../stack/stack.js'
import type { State } from '../../stack/tcp/state.js'
import { TCP_PROFILES, type TcpProfileName } from '../../stack/tcp/config.js'
import { VirtualClock } from '../../stack/time/virtual-clock.js'
import { addressText, bytesV6, isV6, mappedV6, parseAnyAddress, type Address } from '../../stack/wire/address.js'
import { ACK, FIN, PSH, RST, SYN } from '../../stack/wire/tcp.js'
import { buildIcmpPacket } from '../../stack/wire/icmp.js'
import { buildIcmpv6Error } from '../../stack/wire/icmpv6.js'
import type { Link, PacketHandler } from '../../tun/link.js'
import { emptyTcpInfo } from '../../stack/tcp-info.js'
import { DEFAULT_OPTIONS, type CodeSpec, type IpVersion, type EventTime, type Expr, type IcmpSpec, type PacketSpec, type Script, type ScriptEvent, type ShellSpec, type SyscallSpec, type TcpOptionSpec } from './ast.js'
import { runCode } from './code.js'
import { icmpMessage, type WireFamily } from './icmp.js'
import { nstatSnapshot } from './nstat.js'
import type { PyValue } from './python.js'
import { mergeEffects, type ShellEffect } from './shell.js'
import { FAST_OPEN_DEFINES, evaluate, exprText, iovLength, structFields } from './parse.js'
import { buildPacket, decodePacket, ECN_FIELD, ecnText, encodeOptions, findTimestamp, flagsText, optionsMismatch, optionsText, pattern, patternByte, patternMismatch, segmentText, shiftSackBlocks, withTsEcr, type WireSegment } from './segment.js'
import { ERRNO, STRERROR, SYMBOLS } from './symbols.js'

export interface RunOptions {
  /** Seed of the stack's random source (ISNs, ephemeral ports). Default 1. */
  seed?: number
  /** More options for the stack (e.g. `{ tcp: { ... } }`); address, link, clock and random are the runner's. */
  stack?: Partial<StackOptions>
  /** A named configuration the stack starts from (`tuntcp script --profile linux`); a script running defaults.sh gets Linux's anyway. */
  profile?: TcpProfileName
  /** Called with one line per event and per segment sent, for `tuntcp script --verbose`. */
  trace?: (line: string) => void
  /** packetdrill's --ip_version given on the command line: wins over the script's own. */
  ipVersion?: IpVersion
  /** packetdrill's --mtu given on the command line (run_all.py runs IPv6 with 1520): wins over the script's own. */
  mtu?: number
  /** Called with the stack before the script runs, to watch it (`tuntcp script --trace-json`). */
  onStack?: (stack: Stack) => void
}

/** The first thing that went wrong, on the script line that shows it. */
export interface Failure {
  line: number
  /** The script line as written. */
  source: string
  /** What went wrong, in one line. */
  message: string
  /** The segment the line expected, in script notation, with its time. */
  expected?: string
  /** What the stack sent instead, with its time, or a sentence saying nothing came. */
  actual?: string
}

export interface RunResult {
  ok: boolean
  failure?: Failure
}

/** The port the remote end uses for connections it opens (packetdrill picks an ephemeral one). */
export const REMOTE_PORT = 40_000
/**
 * With --ip_version=ipv6 and no --local_ip / --remote_ip, as packetdrill's run_all.py: the stack's
 * address (a ULA, RFC 4193) and the script's (RFC 3849's documentation prefix).
 */
export const LOCAL_IP6 = 'fd3d:fa7b:d17d::'
export const REMOTE_IP6 = '2001:db8::1'
/** How far past a missed deadline we look, in virtual time, to say what the stack sent instead. */
const LOOKAHEAD_US = 600_000_000

type Outcome = { ret: number; errno?: string }
type Attempt = () => Promise<Outcome | 'block'>

/**
 * What packetdrill calls the socket under test: the connection the script's
 * segments belong to, with the ISNs that map script numbers to wire numbers.
 */
interface Connection {
  state:
    | 'none' | 'new' | 'listening'
    | 'passive-received' | 'synack-sent' | 'synack-acked'
    | 'active-connecting' | 'active-syn-sent' | 'active-syn-acked'
  /** The remote ISN: the script's and the wire's are the same. */
  remoteIsn: number
  /** The stack's ISN as the script writes it (the seq of its `> S` or `> S.` line) and as sent. */
  scriptLocalIsn: number
  liveLocalIsn: number
  localPort: number
  remotePort: number
  /** The stack's TS vals as the script wrote them and as sent (packetdrill's outbound TS val mapping). */
  tsVals: Map<number, number>
  /** The first outbound timestamp, script and live: the baseline for mapping other TS values. */
  firstTs: { script: number; live: number } | null
}

/** A stack socket behind a file descriptor. */
interface Conn {
  socket: Socket
  established: boolean
  /** 'end' came: the peer's FIN has been read. */
  eof: boolean
  /** The pending socket error (Linux's sk_err), taken by the next call that reports it. */
  error: string | null
  /** The state the connection was in when it reached CLOSED. */
  lastState: State | null
  readOffset: number
  writeOffset: number
  /** shutdown(SHUT_RD): reads of an empty queue return 0 (Linux's RCV_SHUTDOWN; data still arrives and is ACKed). */
  readShut: boolean
}

/** The options setsockopt() set on a socket, which accepted sockets inherit from their listener as on Linux. */
interface SockOpts {
  /** SO_SNDBUF and SO_RCVBUF as getsockopt() reads them: doubled, as Linux's sock_setsockopt. */
  sndBuf?: number
  rcvBuf?: number
  /** TCP_FASTOPEN on a listener: its Fast Open queue length (RFC 7413; 0 off). */
  fastOpen?: number
  cork?: boolean
  notsentLowat?: number
  userTimeout?: number
  inq?: boolean
  /** TCP_SYNCNT: SYN retransmissions before ETIMEDOUT. */
  synCnt?: number
  /** TCP_KEEPIDLE, in seconds. */
  keepIdle?: number
}

/** What an epoll instance watches on one fd. */
interface Interest {
  events: number
  /** The readiness last seen (EPOLLET reports only bits that came up since). */
  seen: number
}

interface Fd {
  kind: 'socket' | 'listener' | 'conn' | 'epoll'
  nonblocking: boolean
  keepalive: boolean
  /** TCP_NODELAY: Nagle's algorithm off (RFC 9293 3.7.4); accepted sockets inherit it, as on Linux. */
  noDelay?: boolean
  port?: number
  connection: Connection
  server?: Server
  queue?: Conn[]
  conn?: Conn
  opts: SockOpts
  /** An epoll instance's interest list, by fd. */
  interest?: Map<number, Interest>
  /** TCP_FASTOPEN_CONNECT: connect() opens with Fast Open (RFC 7413), the SYN waiting for the first write. */
  fastOpenConnect?: boolean
}

interface Pending {
  ev: ScriptEvent
  spec: SyscallSpec
  attempt: Attempt
  /** When a `T...END` call must return (µs), or null. */
  endUs: number | null
  /** When its own timeout ends (µs: poll, epoll_wait), or null: time stops there to let it return on time. */
  wakeUs: number | null
}

interface Sent {
  us: number
  seg: WireSegment
}

/** A Link whose far end is the script. */
class ScriptLink implements Link {
  private handler: PacketHandler | null = null
  private batchEnd: (() => void) | null = null
  constructor(readonly mtu: number, private readonly onSend: (packet: Uint8Array) => void) {}
  send(packet: Uint8Array): void { this.onSend(packet.slice()) }
  onReceive(handler: PacketHandler | null): void { this.handler = handler }
  onBatchEnd(handler: (() => void) | null): void { this.batchEnd = handler }
  /** The packets of one inbound line, as one batch: a GRO packet's segments reach TCP together and get one ACK. */
  inject(packets: readonly Uint8Array[]): void {
    for (const packet of packets) this.handler?.(packet)
    this.batchEnd?.()
  }
  close(): void { this.handler = null; this.batchEnd = null }
}

export async function runScript(script: Script, options: RunOptions = {}): Promise<RunResult> {
  const ipVersion = options.ipVersion ?? script.options.ipVersion
  const runner = new Runner(withDefines(script, ipVersion === 'ipv6' ? 'ipv6' : 'ipv4'), options)
  return runner.run()
}

/** The script with the -D names of its Fast Open options (TFO_COOKIE) given their value for the wire's family. */
function withDefines(script: Script, family: WireFamily): Script {
  if (family === 'ipv4') return script // the parser gave them their IPv4 values
  const define = (o: TcpOptionSpec): TcpOptionSpec =>
    (o.kind === 'FO' || o.kind === 'FOEXP') && o.define !== undefined ? { ...o, cookie: FAST_OPEN_DEFINES[family][o.define] ?? o.cookie } : o
  const events = script.events.map(ev => ev.action.type !== 'packet' ? ev : { ...ev, action: { ...ev.action, options: ev.action.options?.map(define) ?? null } })
  return { ...script, events }
}

class Runner {
  private readonly clock = new VirtualClock(0)
  private readonly link: ScriptLink
  private readonly stack: Stack
  /** The stack's and the script's addresses, of the family --ip_version says (wire/address.ts). */
  private readonly local: Address
  private readonly remote: Address
  private readonly remoteIp: string
  /** --ip_version: the wire's family, and whether the sockets are IPv6 ones over it (ipv4-mapped-ipv6). */
  private readonly ipVersion: IpVersion
  private readonly family: WireFamily
  /** What the script's sockets bind and connect to (packetdrill's live_bind_ip, live_connect_ip): IPv4-mapped under ipv4-mapped-ipv6. */
  private readonly bindHost: string | undefined
  private readonly connectHost: string
  private readonly sent: Sent[] = []
  private readonly fds = new Map<number, Fd>()
  private conn: Connection
  /** Passive connections by the peer's port, for scripts that open several with explicit ports. */
  private readonly byPort = new Map<number, Connection>()
  private pending: Pending | null = null
  /** Set by a poll or epoll_wait attempt that blocks with a timeout: when that timeout ends (µs). */
  private blockDeadlineUs: number | null = null
  private polling = false
  private failure: Failure | null = null
  private last: { ev: ScriptEvent; us: number } | null = null
  /** The event being run: a failure found meanwhile (the stack threw) belongs to its line. */
  private current: ScriptEvent | null = null
  /** The stack's last SYN seq and the peer's: where each byte stream starts, for the data pattern. */
  private outIss: number | null = null
  private inIrs = 0
  /** packetdrill's socket under test, whose TCP_INFO a %{ }% block reads: the last fd socket() or accept() made. */
  private underTest: number | null = null
  /** The variables of the %{ }% blocks, one namespace for the whole script. */
  private readonly pyVars = new Map<string, PyValue>()
  /** nstat's history: the counters when nstat last ran (nstat.ts); none before the first, as a fresh namespace counts from 0. */
  private nstatHistory = new Map<string, number>()
  /** Local ports of active sockets the script has moved on from: their segments are not checked (as packetdrill's sniffer skips other sockets' packets). */
  private readonly retiredPorts = new Set<number>()
  /** The last segment the stack sent (on a socket not retired): what an ICMP line quotes by default. */
  private lastOut: WireSegment | null = null

  constructor(private readonly script: Script, private readonly options: RunOptions) {
    const o = script.options
    // --ip_version=ipv6: the IPv4 defaults give way to packetdrill's IPv6 ones (a ULA for the stack, RFC 3849's documentation prefix for the peer).
    const ipVersion = options.ipVersion ?? o.ipVersion
    this.ipVersion = ipVersion
    const v6 = ipVersion === 'ipv6'
    this.family = v6 ? 'ipv6' : 'ipv4'
    const localIp = v6 && o.localIp === DEFAULT_OPTIONS.localIp ? LOCAL_IP6 : o.localIp
    this.remoteIp = v6 && o.remoteIp === DEFAULT_OPTIONS.remoteIp ? REMOTE_IP6 : o.remoteIp
    this.local = parseAnyAddress(localIp)!
    this.remote = parseAnyAddress(this.remoteIp)!
    const mixed = isV6(this.local) !== v6 || isV6(this.remote) !== v6
    if (mixed) {
      // Reported as the script's failure by run(); the stack below gets addresses it can take.
      this.failure = { line: 0, source: '', message: `--local_ip ${localIp} and --remote_ip ${this.remoteIp} must both be ${v6 ? 'IPv6' : 'IPv4'} addresses (--ip_version=${ipVersion})` }
      this.local = v6 ? LOCAL_IP6 : parseAnyAddress(DEFAULT_OPTIONS.localIp)!
    }
    // ipv4-mapped-ipv6 (packetdrill's config.c): IPv4 on the wire, AF_INET6 sockets bound to and
    // connecting to the IPv4 addresses mapped, ::ffff:a.b.c.d (RFC 4291 2.5.5.2).
    const mappedSockets = ipVersion === 'ipv4-mapped-ipv6' && !mixed
    this.bindHost = mappedSockets ? mappedV6(this.local as number) : undefined
    this.connectHost = mappedSockets ? mappedV6(this.remote as number) : this.remoteIp
    const mtu = options.mtu ?? o.mtu
    // RFC 8200 5: IPv6 needs a link of 1280 bytes at least.
    if (v6 && mtu < 1280) this.failure ??= { line: 0, source: '', message: `--mtu=${mtu} is below 1280, too small for IPv6 (RFC 8200 5)` }
    this.link = new ScriptLink(mtu, packet => this.onSend(packet))
    this.stack = new Stack({
      ...options.stack,
      // The script's own --tcp_ options win over what its shell lines set up.
      tcp: { ...(options.profile === undefined ? {} : TCP_PROFILES[options.profile]), ...options.stack?.tcp, ...mergeEffects(script.setup), ...o.tcp },
      address: v6 || mixed ? DEFAULT_OPTIONS.localIp : localIp, address6: v6 ? addressText(this.local) : undefined,
      link: this.link, clock: this.clock, random: new SeededRandom(options.seed ?? 1),
    })
    this.stack.on('internal-error', (error: Error) => {
      const ev = this.current ?? this.last?.ev
      this.failure ??= { line: ev?.line ?? 0, source: ev?.source ?? '', message: `the stack threw: ${error.stack ?? error.message}` }
    })
    this.conn = this.newConnection('none')
    options.onStack?.(this.stack)
  }

  async run(): Promise<RunResult> {
    this.traceShell(this.script.setup)
    this.nstat(this.script.setup, null)
    for (const ev of this.failure === null ? this.script.events : []) {
      await this.runEvent(ev)
      if (this.failure !== null) break
    }
    if (this.failure === null) await this.finishPending()
    this.traceUnchecked()
    this.clock.cancelWake()
    return this.failure === null ? { ok: true } : { ok: false, failure: this.failure }
  }

  /** For --verbose: what the stack sent that no `>` line looked at (packetdrill does not check it either). */
  private traceUnchecked(): void {
    for (const { us, seg } of this.sent) {
      const c = this.byPort.get(seg.dstPort) ?? this.conn
      this.trace(`${secs(us).padStart(12)}  > ${segmentText(this.scriptView(c, null, seg))}   (not checked: no line of the script expects it)`)
    }
  }

  // ---- time ----

  private nowUs(): number {
    return Math.round(this.clock.now() * 1000)
  }

  private trace(text: string): void {
    this.options.trace?.(text)
  }

  /** Let Node's queues drain (stream events, the window check after a read), then see if a blocked call can return. */
  private async settle(): Promise<void> {
    for (let i = 0; i < 4; i++) await new Promise<void>(resolve => setImmediate(resolve))
  }

  private async step(): Promise<void> {
    await this.settle()
    await this.poll()
  }

  /**
   * Move virtual time to `us`, stopping at every timer on the way so each fires
   * at its exact time; stop early once `until()` holds. Returns whether it did.
   */
  private async advanceTo(us: number, until: () => boolean = () => false): Promise<boolean> {
    await this.step()
    const target = us / 1000
    for (;;) {
      if (this.failure !== null || until()) return true
      const next = this.nextWake()
      if (next === undefined || next > target) break
      this.clock.advanceTo(Math.max(next, this.clock.now()))
      await this.step()
    }
    if (target > this.clock.now()) {
      this.clock.advanceTo(target)
      await this.step()
    }
    return this.failure !== null || until()
  }

  /** The next moment something may happen (ms): the stack's next timer, or a blocked call's timeout if sooner. */
  private nextWake(): number | undefined {
    const timer = this.clock.nextWake()
    const wake = this.pending?.wakeUs ?? null
    if (wake === null || wake / 1000 <= this.clock.now()) return timer
    return timer === undefined ? wake / 1000 : Math.min(timer, wake / 1000)
  }

  /** When the event is due (µs since the start), resolving relative times as packetdrill does. */
  private schedule(ev: ScriptEvent): { us: number; endUs: number; offset: number } {
    const t: EventTime = ev.time
    let offset = 0
    if (t.kind === 'relative' || t.kind === 'relative-range' || t.kind === 'any') {
      // Back-to-back inbound segments keep their spacing from the script, not from when each was handled.
      offset = this.last !== null && isInbound(this.last.ev) && isInbound(ev) ? this.last.us : this.nowUs()
    }
    switch (t.kind) {
      case 'absolute': return { us: t.us, endUs: t.us, offset }
      case 'relative': return { us: offset + t.us, endUs: offset + t.us, offset }
      case 'absolute-range': return { us: t.us, endUs: t.endUs, offset }
      case 'relative-range': return { us: offset + t.us, endUs: offset + t.endUs, offset }
      case 'any': return { us: offset, endUs: offset, offset }
    }
  }

  /** packetdrill's tolerance: --tolerance_usecs, or a share of the gap since the last event (--tolerance_percent). */
  private tolerance(us: number): number {
    const o = this.script.options
    const gap = this.last === null ? 0 : Math.max(0, us - this.last.us)
    return Math.max(o.toleranceUs, Math.floor((o.tolerancePercent / 100) * gap))
  }

  private fail(ev: ScriptEvent, message: string, extra: { expected?: string; actual?: string } = {}): void {
    this.failure ??= { line: ev.line, source: ev.source, message, ...extra }
  }

  // ---- events ----

  private async runEvent(ev: ScriptEvent): Promise<void> {
    this.current = ev
    const when = this.schedule(ev)
    const a = ev.action
    if (a.type === 'packet' && a.direction === 'out') {
      await this.outbound(ev, a, when)
    } else if (a.type === 'packet') {
      if (await this.waitFor(ev, when.us, 'inbound segment')) this.inbound(ev, a)
      await this.step()
    } else if (a.type === 'icmp') {
      if (await this.waitFor(ev, when.us, 'inbound ICMP message')) this.icmpIn(ev, a)
      await this.step()
    } else if (a.type === 'shell') {
      if (await this.waitFor(ev, when.us, 'shell line')) this.shell(ev, a)
      await this.step()
    } else if (a.type === 'code') {
      if (await this.waitFor(ev, when.us, '%{ }% block')) this.code(ev, a)
      await this.step()
    } else {
      if (await this.waitFor(ev, when.us, 'system call')) await this.syscall(ev, a, when)
      await this.step()
    }
    this.last = { ev, us: when.us }
  }

  /** A shell line during the script: its settings change the stack's tunables from now on (shell.ts). */
  private shell(ev: ScriptEvent, a: ShellSpec): void {
    Object.assign(this.stack.tcpConfig, mergeEffects(a.effects))
    if (a.effects.some(e => e.flushMetrics === true)) this.stack.flushFastOpenCache()
    this.traceShell(a.effects)
    this.nstat(a.effects, ev)
  }

  /** The nstat commands of a shell line (nstat.ts): update the history, or check a counter as grep would. */
  private nstat(effects: readonly ShellEffect[], ev: ScriptEvent | null): void {
    for (const e of effects) {
      if (e.nstat === undefined) continue
      const now = nstatSnapshot(this.stack.counters)
      if (e.nstat.kind === 'check') {
        const { counter, absolute } = e.nstat
        const value = now.get(counter)!
        const shown = absolute ? value : value - (this.nstatHistory.get(counter) ?? 0)
        this.trace(`${''.padStart(12)}  nstat: ${counter} ${shown}${absolute ? '' : ' since the last nstat'}`)
        if (shown === 0) {
          const at = ev ?? { line: e.line, source: e.what }
          this.failure ??= { line: at.line, source: at.source, message: `shell command failed: ${e.what}: nstat shows no ${counter} (${absolute ? 'it is 0' : 'it has not changed since the last nstat'}), so grep finds nothing` }
        }
      }
      this.nstatHistory = now
    }
  }

  private traceShell(effects: readonly ShellEffect[]): void {
    for (const e of effects) {
      const patch = Object.entries(e.patch).map(([k, v]) => `${k}=${typeof v === 'object' && v !== null ? JSON.stringify(v) : v}`).join(' ')
      this.trace(`${''.padStart(12)}  ${e.what}${patch === '' ? '' : `: ${patch}`}${e.note === undefined ? '' : ` (${e.note})`}`)
    }
  }

  /** A %{ }% block: its asserts against the socket under test's TCP_INFO now (code.ts). */
  private code(ev: ScriptEvent, a: CodeSpec): void {
    const fd = this.underTest === null ? undefined : this.fds.get(this.underTest)
    if (fd === undefined) return this.fail(ev, `the %{ }% block needs a socket under test (fd ${this.underTest ?? 'none'}), and there is none open`)
    const info = fd.conn !== undefined ? fd.conn.socket.info() : emptyTcpInfo(fd.kind === 'listener' ? 'LISTEN' : 'CLOSED')
    const failure = runCode(a.statements, info, this.pyVars, text => this.trace(`${''.padStart(12)}  print: ${text}`))
    if (failure === null) return
    this.failure ??= { line: failure.line, source: failure.line === ev.line ? ev.source : failure.source ?? ev.source, message: failure.message }
  }

  /** Wait until `us`; false if the script failed meanwhile or the event comes too late to be on time. */
  private async waitFor(ev: ScriptEvent, us: number, what: string): Promise<boolean> {
    await this.advanceTo(us)
    if (this.failure !== null) return false
    const tol = this.tolerance(us)
    if (this.nowUs() > us + tol) {
      this.fail(ev, `timing error: expected the ${what} at ${secs(us)} but the script only got there at ${secs(this.nowUs())} (tolerance ${secs(tol)})`)
      return false
    }
    this.trace(`${secs(this.nowUs()).padStart(12)}  ${ev.source}`)
    return true
  }

  private newConnection(state: Connection['state']): Connection {
    return {
      state, remoteIsn: 0, scriptLocalIsn: 0, liveLocalIsn: 0, localPort: this.script.options.bindPort, remotePort: REMOTE_PORT,
      tsVals: new Map(), firstTs: null,
    }
  }

  // ---- segments in ----

  private inbound(ev: ScriptEvent, p: PacketSpec): void {
    let c = p.srcPort === undefined ? this.conn : this.byPort.get(p.srcPort) ?? this.conn
    const bareSyn = (p.flags & (SYN | ACK | RST)) === SYN
    const otherPort = p.srcPort !== undefined && p.srcPort !== c.remotePort
    if (c.state === 'none' || c.state === 'listening' || (otherPort && bareSyn)) {
      // The first segment to a listener makes the connection under test (packetdrill: a child socket);
      // a SYN from another port written `< PORT>8080 S ...` makes another one, numbered on its own.
      c = this.conn = this.newConnection('passive-received')
      c.remoteIsn = p.seq
      // Each passive connection gets a remote port of its own, as packetdrill's next_ephemeral_port:
      // a second one while the first is open is a new 4-tuple, not a SYN to the first.
      if (p.srcPort !== undefined) c.remotePort = p.srcPort
      else while (this.byPort.has(c.remotePort)) c.remotePort++
      this.byPort.set(c.remotePort, c)
    } else if (c.state === 'synack-sent' && p.flags & ACK) {
      c.state = 'synack-acked'
    } else if (c.state === 'active-syn-sent' && p.flags & SYN) {
      // The peer's SYN,ACK (or, in a simultaneous open, its bare SYN) gives its ISN.
      if (p.flags & ACK) c.state = 'active-syn-acked'
      c.remoteIsn = p.seq
    }
    const syn = (p.flags & SYN) !== 0
    const seq = syn ? p.seq : (p.seq + c.remoteIsn) >>> 0
    let ack = p.ack ?? 0
    if (p.flags & ACK) ack = (ack + (syn ? c.liveLocalIsn - c.scriptLocalIsn : c.liveLocalIsn)) >>> 0
    if (syn) this.inIrs = seq
    const dataSeq = syn ? seq + 1 : seq
    // SACK blocks are numbered like ACKs; a TS echo reply names one of the stack's TS vals (run_packet.c, map_inbound_packet).
    let options = shiftSackBlocks(p.options ?? [], syn ? 0 : c.liveLocalIsn)
    const ts = findTimestamp(options)
    if (ts !== undefined && p.flags & ACK) {
      const ecr = this.liveTsEcr(c, ts.ecr)
      if (ecr === null) return this.fail(ev, `cannot map TS ecr ${ts.ecr} to the stack's clock: no outbound segment had a timestamp yet (write the TS option of the SYN,ACK or SYN, not <...>)`)
      options = withTsEcr(options, ecr)
    }
    // --mss: a longer segment is packetdrill's GSO packet, arriving as segments of that size; FIN and PSH on the last.
    const size = this.script.options.mss > 0 && !syn ? this.script.options.mss : Math.max(1, p.len)
    const packets: Uint8Array[] = []
    for (let off = 0; off === 0 || off < p.len; off += size) {
      const len = Math.min(size, p.len - off)
      const last = off + len >= p.len
      packets.push(buildPacket({
        src: this.remote, dst: this.local, srcPort: p.srcPort ?? c.remotePort, dstPort: p.dstPort ?? c.localPort,
        seq: (seq + off) >>> 0, ack, flags: last ? p.flags : p.flags & ~(FIN | PSH), win: p.win!, options: encodeOptions(options),
        payload: pattern((dataSeq + off - (this.inIrs + 1)) >>> 0, len), ecn: ECN_FIELD[p.ecn ?? 'noecn'][0],
      }))
    }
    this.link.inject(packets)
  }

  /**
   * An ICMP error from the script's address, ICMPv4 (RFC 792) or ICMPv6 (RFC 4443) as the wire
   * is, its names looked up in that family's table (icmp.ts): it quotes the IP header and the
   * first 8 bytes of the segment at the line's [start:...] on the connection under test
   * (numbered as its `>` lines are), or else of the last segment the stack sent.
   */
  private icmpIn(ev: ScriptEvent, a: IcmpSpec): void {
    const message = icmpMessage(a, this.family)
    if (typeof message === 'string') return this.fail(ev, `${message} (--ip_version=${this.ipVersion})`)
    const { local, remote } = this
    const c = this.conn
    const last = this.lastOut
    if (a.quote === undefined && last === null) return this.fail(ev, 'the ICMP message has no segment to quote: the stack has sent none yet (write [start:end(length)])')
    const seq = a.quote !== undefined ? (c.liveLocalIsn + a.quote.seq) >>> 0 : last!.seq
    const srcPort = a.quote !== undefined || last === null ? c.localPort : last.srcPort
    const dstPort = a.quote !== undefined || last === null ? c.remotePort : last.dstPort
    const quoted = buildPacket({ src: local, dst: remote, srcPort, dstPort, seq, ack: 0, flags: 0, win: 0, options: new Uint8Array(0), payload: new Uint8Array(0) })
    if (isV6(local) && isV6(remote)) {
      // The IPv6 header and the TCP header's first 8 bytes, as packetdrill quotes; Packet Too Big's MTU is the whole second word.
      return this.link.inject([buildIcmpv6Error(quoted.subarray(0, 48), message.type, message.code, message.rest, bytesV6(remote), bytesV6(local))])
    }
    // Next-hop MTU in the low 16 bits of the second word (RFC 1191 4).
    this.link.inject([buildIcmpPacket({ src: remote as number, dst: local as number, type: message.type, code: message.code, rest: message.rest, body: quoted.subarray(0, 28) })])
  }

  /** A script TS ecr as the stack's TS val it echoes: an exact earlier val, else by offset from the first. */
  private liveTsEcr(c: Connection, ecr: number): number | null {
    const exact = c.tsVals.get(ecr)
    if (exact !== undefined) return exact
    if (c.firstTs === null) return null
    return (ecr - c.firstTs.script + c.firstTs.live) >>> 0
  }

  // ---- segments out ----

  private onSend(packet: Uint8Array): void {
    const seg = decodePacket(packet)
    if (seg === null || seg.src !== this.local || seg.dst !== this.remote) return
    if (this.retiredPorts.has(seg.srcPort) && seg.srcPort !== this.conn.localPort) return this.traceRetired(this.nowUs(), seg)
    if (seg.flags & SYN) this.outIss = seg.seq
    this.lastOut = seg
    this.sent.push({ us: this.nowUs(), seg })
  }

  /** The script moved on from the active socket on `port`: what it sent and sends is not checked. */
  private retire(port: number): void {
    this.retiredPorts.add(port)
    for (let i = 0; i < this.sent.length; i++) {
      const { us, seg } = this.sent[i]!
      if (seg.srcPort !== port) continue
      this.sent.splice(i--, 1)
      this.traceRetired(us, seg)
    }
  }

  private traceRetired(us: number, seg: WireSegment): void {
    this.trace(`${secs(us).padStart(12)}  > ${flagsText(seg.flags)} from port ${seg.srcPort}   (not checked: from an earlier socket)`)
  }

  private async outbound(ev: ScriptEvent, p: PacketSpec, when: { us: number; endUs: number }): Promise<void> {
    const any = ev.time.kind === 'any'
    const tol = this.tolerance(when.us)
    const deadline = any ? this.nowUs() + LOOKAHEAD_US : when.endUs + tol
    const expectedText = `${segmentText(p)} ${timeText(ev.time, when, tol)}`
    if (this.sent.length === 0) await this.advanceTo(deadline, () => this.sent.length > 0)
    if (this.failure !== null) return
    if (this.sent.length === 0) {
      // Nothing on time: look further, to say what the stack did send, and when.
      await this.lookAhead(deadline + LOOKAHEAD_US)
      if (this.failure !== null) return
      if (this.sent.length === 0) {
        this.fail(ev, 'the stack sent nothing', { expected: expectedText, actual: `nothing, by ${secs(this.nowUs())}` })
        return
      }
    }
    const got = this.coalesce(this.sent.shift()!, p.len)
    const live = got.seg
    // The segment belongs to the connection of its port (tuntcp's extension for several connections), else the one under test.
    const c = this.byPort.get(live.dstPort) ?? this.conn
    const synAck = (p.flags & (SYN | ACK)) === (SYN | ACK)
    let learnSynAck = false
    if (c.state === 'passive-received' && synAck) {
      c.scriptLocalIsn = p.seq
      learnSynAck = true
    } else if (c.state === 'active-connecting' && (p.flags & (SYN | ACK)) === SYN) {
      c.state = 'active-syn-sent'
      c.scriptLocalIsn = p.seq
    }
    if (learnSynAck) {
      c.state = 'synack-sent'
      c.liveLocalIsn = live.seq
    }
    if (c.state === 'active-syn-sent' && (live.flags & (SYN | ACK)) === SYN) {
      c.liveLocalIsn = live.seq
      c.localPort = live.srcPort
    }
    const actual = this.scriptView(c, p, live)
    const seq = actual.seq
    const ack = actual.ack
    const actualText = `${segmentText(actual)} at ${secs(got.us)}`
    this.trace(`${secs(got.us).padStart(12)}  > ${segmentText(actual)}`)
    const mismatch = (what: string) => this.fail(ev, what, { expected: expectedText, actual: actualText })

    if (p.srcPort !== undefined && p.srcPort !== live.srcPort) return mismatch(`source port: expected ${p.srcPort}, got ${live.srcPort}`)
    if (p.dstPort !== undefined && p.dstPort !== live.dstPort) return mismatch(`destination port: expected ${p.dstPort}, got ${live.dstPort}`)
    if (p.flags !== live.flags) return mismatch(`flags: expected ${p.flagsText}, got ${flagsText(live.flags)}`)
    if (p.ecn !== undefined && !ECN_FIELD[p.ecn].includes(live.ecn)) return mismatch(`ECN field: expected [${p.ecn}], got ${ecnText(live.ecn)}`)
    if (p.seq !== seq) return mismatch(`sequence number: expected ${p.seq}, got ${seq}`)
    if (p.len !== actual.len) return mismatch(`payload length: expected ${p.len}, got ${actual.len}`)
    if (p.ack !== undefined && p.ack !== ack) return mismatch(`ack: expected ${p.ack}, got ${ack}`)
    if (p.win !== undefined && p.win !== live.win) return mismatch(`window: expected ${p.win}, got ${live.win}`)
    if (p.options !== null) {
      if (actual.options === null) return mismatch('options: the stack sent malformed TCP options')
      const wrong = optionsMismatch(p.options, actual.options)
      if (wrong !== null) return mismatch(`options: ${wrong}`)
    }
    if (live.payload.length > 0 && this.outIss !== null) {
      const offset = (live.seq + (live.flags & SYN ? 1 : 0) - (this.outIss + 1)) >>> 0 // a SYN's data starts after it (Fast Open)
      const at = patternMismatch(offset, live.payload)
      if (at >= 0) {
        return mismatch(`data: byte ${at} of the payload (stream byte ${offset + at}) is ${hex(live.payload[at]!)}, the application wrote ${hex(patternByte(offset + at))}`)
      }
    }
    if (!any) {
      const lo = when.us - tol
      const hi = when.endUs + tol
      if (got.us < lo || got.us > hi) {
        const range = when.us === when.endUs ? `at ${secs(when.us)}` : `between ${secs(when.us)} and ${secs(when.endUs)}`
        return mismatch(`timing: expected ${range} (tolerance ${secs(tol)}), sent at ${secs(got.us)}`)
      }
    }
  }

  /**
   * A segment the stack sent, in script numbers: SYNs relative to the script's
   * ISN, the rest to the stack's ISN; ACKs likewise to the peer's (run_packet.c,
   * tcp_convert_seq_number). `p` is the script line it is checked against, if any.
   */
  private scriptView(c: Connection, p: PacketSpec | null, live: WireSegment) {
    const syn = (live.flags & SYN) !== 0
    const seq = (live.seq - (syn ? c.liveLocalIsn - c.scriptLocalIsn : c.liveLocalIsn)) >>> 0
    const ack = live.flags & ACK ? (live.ack - (syn ? 0 : c.remoteIsn)) >>> 0 : live.ack
    return { flags: live.flags, seq, len: live.payload.length, ack, win: live.win, options: this.scriptOptions(c, p, live) }
  }

  /**
   * The options of a segment the stack sent, in script numbers: SACK blocks
   * relative to the peer's ISN, the TS val relative to the first one seen
   * (run_packet.c, map_outbound_live_packet). Also learns the TS val mapping.
   */
  private scriptOptions(c: Connection, p: PacketSpec | null, live: WireSegment): TcpOptionSpec[] | null {
    if (live.options === null) return null
    let options = shiftSackBlocks(live.options, (live.flags & SYN ? 0 : -c.remoteIsn) >>> 0)
    const liveTs = findTimestamp(options)
    const scriptTs = p === null ? undefined : findTimestamp(p.options)
    if (liveTs !== undefined && scriptTs !== undefined) {
      c.tsVals.set(scriptTs.val, liveTs.val)
      c.firstTs ??= { script: scriptTs.val, live: liveTs.val }
    }
    if (liveTs !== undefined && c.firstTs !== null) {
      const val = (c.firstTs.script + liveTs.val - c.firstTs.live) >>> 0
      options = options.map(o => (o.kind === 'TS' ? { kind: 'TS', val, ecr: o.ecr } : o))
    }
    return options
  }

  /**
   * Linux sends one large segment over TSO where the stack sends several of one
   * MSS each. As packetdrill does when it sniffs a wire (run_packet.c,
   * verify_packet_fragments), segments sent at the same moment that continue one
   * another, with the same ACK and options, are joined until they reach the
   * length the script expects; PSH and FIN come from the last one.
   */
  private coalesce(first: Sent, want: number): Sent {
    let seg = first.seg
    if (seg.flags & (SYN | RST | FIN) || seg.payload.length === 0) return first
    while (seg.payload.length < want) {
      const next = this.sent[0]
      if (next === undefined || next.us !== first.us) break
      const n = next.seg
      const continues = n.seq === ((seg.seq + seg.payload.length) >>> 0) && n.ack === seg.ack && n.srcPort === seg.srcPort && n.dstPort === seg.dstPort
      const sameKind = (n.flags & ~(PSH | FIN)) === (seg.flags & ~PSH) && optionsText(n.options) === optionsText(seg.options)
      if (!continues || !sameKind || n.payload.length === 0 || seg.payload.length + n.payload.length > want) break
      this.sent.shift()
      const payload = new Uint8Array(seg.payload.length + n.payload.length)
      payload.set(seg.payload)
      payload.set(n.payload, seg.payload.length)
      seg = { ...seg, flags: (seg.flags & ~PSH) | n.flags, win: n.win, payload }
      if (n.flags & FIN) break
    }
    return seg === first.seg ? first : { us: first.us, seg }
  }

  /** Advance until the stack sends something, the timers run out, or `limitUs`. */
  private async lookAhead(limitUs: number): Promise<void> {
    await this.step()
    while (this.sent.length === 0 && this.failure === null) {
      const next = this.nextWake()
      if (next === undefined || next * 1000 > limitUs) return
      this.clock.advanceTo(Math.max(next, this.clock.now()))
      await this.step()
    }
  }

  // ---- system calls ----

  private async syscall(ev: ScriptEvent, s: SyscallSpec, when: { us: number; offset: number }): Promise<void> {
    const endUs = s.endUs === null ? null : ev.time.kind === 'relative' ? s.endUs + when.offset : s.endUs
    const attempt = this.call(ev, s)
    if (attempt === null) return
    const blocking = s.endUs !== null
    if (blocking && this.pending !== null) {
      return this.fail(ev, `blocking system call while another one (line ${this.pending.ev.line}) is still blocked`)
    }
    this.blockDeadlineUs = null
    const out = await attempt()
    if (this.failure !== null) return
    if (out === 'block') {
      if (this.pending !== null) return this.fail(ev, `${s.name}() would block while another call (line ${this.pending.ev.line}) is still blocked`)
      this.pending = { ev, spec: s, attempt, endUs, wakeUs: this.blockDeadlineUs }
      this.trace(`${''.padStart(12)}  (${s.name}() blocks)`)
      return
    }
    this.finishCall(ev, s, out, endUs)
  }

  /** Poll the blocked call: the stack may have made it ready. */
  private async poll(): Promise<void> {
    const p = this.pending
    if (p === null || this.polling || this.failure !== null) return
    this.polling = true
    try {
      const out = await p.attempt()
      if (out !== 'block' && this.pending === p) {
        this.pending = null
        this.trace(`${secs(this.nowUs()).padStart(12)}  ${p.spec.name}() returns ${out.ret}${out.errno ? ` ${out.errno}` : ''} (line ${p.ev.line})`)
        this.finishCall(p.ev, p.spec, out, p.endUs)
      }
    } finally {
      this.polling = false
    }
  }

  /** Check a call's result (and, for `T...END`, when it returned). */
  private finishCall(ev: ScriptEvent, s: SyscallSpec, out: Outcome, endUs: number | null): void {
    const expected = evaluate(s.result, ev.line)
    const got = out.ret + (out.errno ? ` ${out.errno} (${STRERROR[out.errno] ?? ''})` : '')
    const newFd = s.name === 'socket' || s.name === 'accept'
    if (newFd ? out.ret < 0 !== expected < 0 : out.ret !== expected) {
      return this.fail(ev, `${s.name}() returned ${got}, expected ${exprText(s.result)}${s.errno ? ` ${s.errno}` : ''}`)
    }
    if (s.errno !== undefined && out.errno !== s.errno && ERRNO[out.errno ?? ''] !== ERRNO[s.errno]) {
      return this.fail(ev, `${s.name}() returned ${got}, expected errno ${s.errno} (${STRERROR[s.errno] ?? ''})`)
    }
    if (endUs !== null) {
      const tol = this.script.options.toleranceUs
      const now = this.nowUs()
      if (Math.abs(now - endUs) > tol) {
        return this.fail(ev, `timing: expected ${s.name}() to return at ${secs(endUs)} (tolerance ${secs(tol)}), it returned at ${secs(now)}`)
      }
    }
  }

  private async finishPending(): Promise<void> {
    const p = this.pending
    if (p === null) return
    if (p.endUs !== null) await this.advanceTo(p.endUs + this.script.options.toleranceUs, () => this.pending === null)
    if (this.failure !== null || this.pending === null) return
    this.fail(p.ev, `the script ended while ${p.spec.name}() was still blocked`)
  }

  /** The attempt function of one call, or null if the script already failed. Attempts can be retried while they block. */
  private call(ev: ScriptEvent, s: SyscallSpec): Attempt | null {
    const arg = (i: number) => evaluate(s.args[i]!, ev.line)
    const done = (ret: number, errno?: string): Attempt => async () => ({ ret, errno })
    const err = (errno: string): Attempt => done(-1, errno)
    if (s.name === 'socket') {
      const fd = evaluate(s.result, ev.line)
      if (fd >= 0 && this.fds.has(fd)) {
        this.fail(ev, `socket() = ${fd}: file descriptor ${fd} is already open in the script`)
        return null
      }
      // packetdrill's socket_domain: AF_INET under ipv4, AF_INET6 under ipv6 and ipv4-mapped-ipv6 (config.c).
      const domain = s.args[0]!
      const want = this.ipVersion === 'ipv4' ? 'AF_INET' : 'AF_INET6'
      if (domain.kind === 'word' && domain.name.replace(/^PF_/, 'AF_') !== want) {
        this.fail(ev, `socket(${domain.name}, ...) under --ip_version=${this.ipVersion}: the socket there is ${want} (write ... for the domain to have it chosen)`)
        return null
      }
      if (fd >= 0) {
        // packetdrill checks only the socket under test's segments: an earlier active socket's go unchecked.
        if (this.conn.state.startsWith('active-')) this.retire(this.conn.localPort)
        this.conn = this.newConnection('new')
        this.fds.set(fd, { kind: 'socket', nonblocking: (arg(1) & O_NONBLOCK) !== 0, keepalive: false, connection: this.conn, opts: {} })
        this.underTest = fd
      }
      return done(fd >= 0 ? fd : 3)
    }
    if (s.name === 'epoll_create') {
      const num = evaluate(s.result, ev.line)
      if (num >= 0 && this.fds.has(num)) {
        this.fail(ev, `epoll_create() = ${num}: file descriptor ${num} is already open in the script`)
        return null
      }
      if (arg(0) <= 0) return err('EINVAL') // Linux: the size hint must be positive
      if (num >= 0) this.fds.set(num, { kind: 'epoll', nonblocking: false, keepalive: false, connection: this.conn, opts: {}, interest: new Map() })
      return done(num)
    }
    if (s.name === 'poll') return this.pollCall(ev, s)
    const fdNum = arg(0)
    const fd = this.fds.get(fdNum)
    if (fd === undefined) return err('EBADF')
    switch (s.name) {
      case 'bind':
        if (fd.kind !== 'socket' || fd.port !== undefined) return err('EINVAL')
        fd.port = this.script.options.bindPort
        return done(0)
      case 'listen': return this.listen(fd, arg(1))
      case 'accept': return this.accept(ev, s, fd)
      case 'connect': return this.connect(fd)
      case 'write': return this.write(fd, arg(2), 0)
      case 'send': return this.write(fd, arg(2), arg(3))
      case 'sendto': {
        const unspec = (s.args[4] as { name?: string }).name === 'AF_UNSPEC'
        return this.write(fd, arg(2), arg(3), unspec)
      }
      case 'sendmsg': return this.write(fd, iovLength(structFields(s.args[1]!).get('msg_iov'), ev.line), arg(2))
      case 'read': case 'recv': return this.read(ev, fd, arg(2))
      case 'recvmsg': return this.recvmsg(ev, s, fd)
      case 'ioctl': return this.ioctl(ev, s, fd)
      case 'epoll_ctl': return this.epollCtl(ev, s, fd)
      case 'epoll_wait': return this.epollWait(ev, s, fd)
      case 'shutdown': {
        if (fd.kind !== 'conn') return err('ENOTCONN')
        const socket = fd.conn!.socket
        if (arg(1) === SYMBOLS.SHUT_RD) {
          // Linux: later reads of an empty queue return 0, but data still arrives, is ACKed and can be read.
          return async () => {
            if (socket.destroyed) return { ret: -1, errno: 'ENOTCONN' }
            fd.conn!.readShut = true
            return { ret: 0 }
          }
        }
        return async () => {
          if (socket.destroyed) return { ret: -1, errno: 'ENOTCONN' } // Linux: shutdown() of a closed TCP socket
          if (!socket.writableEnded) socket.end()
          await this.settle()
          return { ret: 0 }
        }
      }
      case 'close': return this.close(fdNum, fd)
      case 'fcntl': {
        const cmd = (s.args[1] as { name?: string }).name
        if (cmd === 'F_GETFL') return done(2 | (fd.nonblocking ? O_NONBLOCK : 0))
        fd.nonblocking = (arg(2) & O_NONBLOCK) !== 0
        return done(0)
      }
      case 'setsockopt': return this.setsockopt(ev, s, fd)
      case 'getsockopt': return this.getsockopt(ev, s, fd)
    }
    this.fail(ev, `unsupported: system call ${s.name}()`)
    return null
  }

  private listen(fd: Fd, backlog: number): Attempt {
    const done = (ret: number, errno?: string): Attempt => async () => ({ ret, errno })
    if (fd.kind === 'listener') return done(0)
    if (fd.kind !== 'socket') return done(-1, 'EINVAL')
    const port = fd.port ?? this.script.options.bindPort
    const server = this.stack.createServer({ allowHalfOpen: true })
    const queue: Conn[] = []
    server.on('error', () => {})
    server.on('connection', (socket: Socket) => {
      const conn = this.wrap(socket, true)
      if (fd.keepalive) socket.setKeepAlive(true)
      if (fd.noDelay === true) socket.setNoDelay(true)
      applyOpts(socket, fd.opts)
      queue.push(conn)
    })
    server.listen({ port, host: this.bindHost, backlog, fastOpen: fd.opts.fastOpen ?? 0 })
    if (!server.listening) return done(-1, 'EADDRINUSE')
    fd.kind = 'listener'
    fd.port = port
    fd.server = server
    fd.queue = queue
    if (fd.connection.state === 'new') fd.connection.state = 'listening'
    return done(0)
  }

  private accept(ev: ScriptEvent, s: SyscallSpec, fd: Fd): Attempt {
    return async () => {
      if (fd.kind !== 'listener') return { ret: -1, errno: 'EINVAL' }
      const conn = fd.queue!.shift()
      if (conn === undefined) return fd.nonblocking ? { ret: -1, errno: 'EAGAIN' } : 'block'
      const view = this.socketViewMismatch(conn.socket)
      if (view !== null) this.fail(ev, `accept(): ${view}`)
      const num = evaluate(s.result, ev.line)
      // A script fd still open on an earlier accepted connection is taken over, the old socket left
      // open and out of the script's reach, as packetdrill's newer fd shadows it (run_syscall_accept).
      if (this.fds.has(num) && this.fds.get(num)!.kind !== 'conn') {
        this.fail(ev, `accept() = ${num}: file descriptor ${num} is already open in the script`)
        return { ret: num }
      }
      this.fds.set(num, { kind: 'conn', nonblocking: false, keepalive: fd.keepalive, noDelay: fd.noDelay, connection: this.conn, conn, opts: { ...fd.opts } })
      this.underTest = num
      return { ret: num }
    }
  }

  private connect(fd: Fd): Attempt {
    if (fd.kind === 'listener') return async () => ({ ret: -1, errno: 'EISCONN' })
    if (fd.kind === 'socket') {
      const failed = this.open(fd, fd.fastOpenConnect === true)
      if (failed !== null) return async () => failed
      // TCP_FASTOPEN_CONNECT with a cookie at hand: connect() returns at once, the SYN waits for the first write.
      if (fd.conn!.socket.synDataRoom !== null) return async () => ({ ret: 0 })
      if (fd.nonblocking) return async () => ({ ret: -1, errno: 'EINPROGRESS' })
    } else if (fd.conn?.socket.synDataRoom != null) {
      return async () => ({ ret: -1, errno: 'EISCONN' }) // a deferred Fast Open connect counts as connected (Linux)
    } else if (fd.nonblocking) {
      const c = fd.conn!
      return async () => {
        if (c.error !== null) return this.takeError(c)
        return c.established ? { ret: -1, errno: 'EISCONN' } : { ret: -1, errno: 'EALREADY' }
      }
    }
    const c = fd.conn!
    return async () => {
      if (c.error !== null) return this.takeError(c)
      if (c.established) return { ret: 0 }
      return 'block'
    }
  }

  /** Active OPEN on a new socket, with Fast Open or not: the fd becomes a connection. Returns a failure, or null. */
  private open(fd: Fd, fastOpen: boolean): Outcome | null {
    if (fd.connection.state === 'new') {
      fd.connection.state = 'active-connecting'
      fd.connection.remotePort = this.script.options.connectPort
      if (fd.port !== undefined) fd.connection.localPort = fd.port
    }
    let socket: Socket
    try {
      socket = this.stack.connect({ host: this.connectHost, port: this.script.options.connectPort, localPort: fd.port, allowHalfOpen: true, fastOpen })
    } catch (error) {
      return { ret: -1, errno: (error as { code?: string }).code ?? 'EADDRINUSE' }
    }
    const view = this.socketViewMismatch(socket)
    if (view !== null && this.current !== null) this.fail(this.current, `connect(): ${view}`)
    fd.kind = 'conn'
    fd.conn = this.wrap(socket, false)
    if (fd.keepalive) socket.setKeepAlive(true, (fd.opts.keepIdle ?? 0) * 1000)
    if (fd.noDelay === true) socket.setNoDelay(true)
    applyOpts(socket, fd.opts)
    return null
  }

  /**
   * What a script socket shows of its peer must be what getpeername() gives in its family:
   * the IPv4 address for AF_INET, the IPv6 one for AF_INET6, and under ipv4-mapped-ipv6 the
   * IPv4 one mapped, ::ffff:a.b.c.d, family IPv6, as a dual-stack socket's (RFC 3493 3.7).
   */
  private socketViewMismatch(socket: Socket): string | null {
    const peer = this.ipVersion === 'ipv4-mapped-ipv6' && !isV6(this.remote) ? mappedV6(this.remote) : addressText(this.remote)
    const family = this.ipVersion === 'ipv4' ? 'IPv4' : 'IPv6'
    if (socket.remoteAddress === peer && socket.remoteFamily === family) return null
    return `the socket's peer is ${socket.remoteFamily} ${socket.remoteAddress}, where an ${family === 'IPv6' ? 'AF_INET6' : 'AF_INET'} socket sees ${peer} (--ip_version=${this.ipVersion})`
  }

  /**
   * A write that starts a Fast Open SYN, as Linux's tcp_sendmsg_fastopen: sendto(MSG_FASTOPEN) on a
   * new socket, or the first write after a TCP_FASTOPEN_CONNECT connect(). With a cookie the SYN
   * carries the data; non-blocking, only what it carries is taken (and none is EINPROGRESS). Without
   * a cookie the SYN asks for one: non-blocking, EINPROGRESS and nothing taken. A blocking call
   * returns once ESTABLISHED (its data all queued), or with the connection's error.
   */
  private fastOpenWrite(fd: Fd, count: number, nonblocking: boolean): Attempt {
    const c = fd.conn!
    let started = false
    return async () => {
      if (!started) {
        started = true
        const room = c.socket.synDataRoom
        if (room !== null) {
          const n = nonblocking ? Math.min(count, room) : count
          this.queue(c, n, true)
          if (nonblocking) return n > 0 ? { ret: n } : { ret: -1, errno: 'EINPROGRESS' }
        } else {
          if (nonblocking) return { ret: -1, errno: 'EINPROGRESS' }
          this.queue(c, count, false)
        }
      }
      if (c.error !== null) return this.takeError(c)
      if (c.established) return { ret: count }
      if (c.socket.destroyed) return { ret: -1, errno: 'EPIPE' }
      return 'block'
    }
  }

  /** Hand `count` bytes of the pattern to the socket; `always`: even none (it sends a waiting Fast Open SYN). */
  private queue(c: Conn, count: number, always: boolean): void {
    if (count === 0 && !always) return
    c.socket.write(pattern(c.writeOffset, count))
    c.writeOffset += count
  }

  /**
   * write(), send(), sendto() on a connected socket (its address ignored, as Linux's tcp_sendmsg) and
   * sendmsg(). MSG_FASTOPEN (RFC 7413) on a new socket connects and sends in the SYN; on a connection
   * still opening it is EALREADY, once open it changes nothing. Before the connection is open a write
   * waits for it, or is EAGAIN when non-blocking (Linux's sk_stream_wait_connect).
   */
  private write(fd: Fd, count: number, flags: number, unspec = false): Attempt {
    const nonblocking = fd.nonblocking || (flags & SYMBOLS.MSG_DONTWAIT!) !== 0
    if (flags & SYMBOLS.MSG_FASTOPEN!) {
      // Linux's tcp_sendmsg_fastopen: the client side switched off, or no address family, is EOPNOTSUPP.
      if (!this.stack.tcpConfig.fastOpen.client || unspec) return async () => ({ ret: -1, errno: 'EOPNOTSUPP' })
      if (fd.kind === 'socket') {
        const failed = this.open(fd, true)
        if (failed !== null) return async () => failed
        return this.fastOpenWrite(fd, count, nonblocking)
      }
      if (fd.kind === 'conn' && fd.conn!.socket.synDataRoom === null && !fd.conn!.established && fd.conn!.error === null) {
        return async () => ({ ret: -1, errno: 'EALREADY' })
      }
    }
    if (fd.kind === 'conn' && fd.conn!.socket.synDataRoom !== null) return this.fastOpenWrite(fd, count, nonblocking)
    let queued = false
    return async () => {
      if (fd.kind !== 'conn') return { ret: -1, errno: 'EPIPE' }
      const c = fd.conn!
      if (c.error !== null) return this.takeError(c)
      const socket = c.socket
      if (socket.writableEnded || socket.destroyed) return { ret: -1, errno: 'EPIPE' }
      if (!c.established && !queued) return nonblocking ? { ret: -1, errno: 'EAGAIN' } : 'block'
      if (!queued && count > 0) {
        queued = true
        socket.write(pattern(c.writeOffset, count))
        c.writeOffset += count
        if (flags & SYMBOLS.MSG_EOR!) socket.endRecord()
      }
      return { ret: count }
    }
  }

  private read(ev: ScriptEvent, fd: Fd, count: number): Attempt {
    return async () => {
      if (fd.kind !== 'conn') return { ret: -1, errno: 'ENOTCONN' }
      const c = fd.conn!
      const socket = c.socket
      if (count === 0) return { ret: 0 }
      let available = socket.readableLength
      if (available === 0 && !c.eof && !socket.destroyed) {
        // A FIN read from an empty buffer shows as 'end' only once read() is called.
        socket.read(0)
        await this.settle()
        available = socket.readableLength
      }
      if (available > 0) {
        const n = Math.min(count, available)
        const data = socket.read(n) as Buffer | null
        if (data === null) return 'block'
        const at = patternMismatch(c.readOffset, data)
        if (at >= 0) {
          this.fail(ev, `read(): stream byte ${c.readOffset + at} is ${hex(data[at]!)}, but the peer sent ${hex(patternByte(c.readOffset + at))} there`)
        }
        c.readOffset += data.length
        return { ret: data.length }
      }
      if (c.error !== null) return this.takeError(c)
      if (c.eof || socket.destroyed || c.readShut) return { ret: 0 }
      return fd.nonblocking ? { ret: -1, errno: 'EAGAIN' } : 'block'
    }
  }

  private close(num: number, fd: Fd): Attempt {
    return async () => {
      this.fds.delete(num)
      if (fd.kind === 'listener') {
        fd.server!.close()
        // Connections never accepted go with the listener (Linux resets them).
        for (const c of fd.queue!.splice(0)) c.socket.destroy()
      } else if (fd.kind === 'conn') {
        const socket = fd.conn!.socket
        // Linux: close() with unread data resets (RFC 1122 4.2.2.13); otherwise FIN, and the TCB closes on its own.
        if (socket.readableLength === 0 && !socket.writableEnded && !socket.destroyed) {
          socket.end()
          await this.settle()
        }
        socket.destroy()
      }
      await this.settle()
      return { ret: 0 }
    }
  }

  /** recvmsg(): a read of msg_iov's length; with TCP_INQ, the TCP_CM_INQ control message says what is left (Linux's tcp_inq_hint). */
  private recvmsg(ev: ScriptEvent, s: SyscallSpec, fd: Fd): Attempt {
    const msg = structFields(s.args[1]!)
    const read = this.read(ev, fd, iovLength(msg.get('msg_iov'), ev.line))
    const control = msg.get('msg_control')
    return async () => {
      const out = await read()
      if (out === 'block' || out.ret < 0 || control === undefined || control.kind !== 'list') return out
      const want = control.items.map(item => evaluate(structFields(item).get('cmsg_data') ?? { kind: 'int', value: 0 }, ev.line))
      if (fd.opts.inq !== true) {
        this.fail(ev, 'recvmsg() expects a TCP_CM_INQ control message, but TCP_INQ is off on this socket')
        return out
      }
      const c = fd.conn!
      const left = c.socket.queues().unread
      // All read and the peer's FIN in: 1, so the reader knows to read the end (tcp_inq_hint).
      const inq = left === 0 && (c.eof || finReceived(c.socket.state)) ? 1 : left
      if (want[0] !== inq) this.fail(ev, `recvmsg(): TCP_CM_INQ is ${inq}, expected ${want[0]}`)
      return out
    }
  }

  /** ioctl(SIOCINQ/FIONREAD, SIOCOUTQ, SIOCOUTQNSD): the queue sizes, as Linux's tcp_ioctl (EINVAL on a listener). */
  private ioctl(ev: ScriptEvent, s: SyscallSpec, fd: Fd): Attempt {
    const request = (s.args[1] as { name?: string }).name!
    const expected = evaluate(s.args[2]!, ev.line)
    return async () => {
      if (fd.kind === 'listener' || fd.kind === 'epoll') return { ret: -1, errno: 'EINVAL' }
      const q = fd.conn?.socket.queues() ?? { unread: 0, unacked: 0, unsent: 0 }
      const value = request === 'SIOCOUTQ' ? q.unacked : request === 'SIOCOUTQNSD' ? q.unsent : q.unread
      if (value !== expected) this.fail(ev, `ioctl(${request}) gave ${value}, expected ${expected}`)
      return { ret: 0 }
    }
  }

  private setsockopt(ev: ScriptEvent, s: SyscallSpec, fd: Fd): Attempt {
    const name = (s.args[2] as { name?: string }).name!
    const value = evaluate(s.args[3]!, ev.line)
    const socket = fd.conn?.socket
    const o = fd.opts
    switch (name) {
      // Linux's do_tcp_setsockopt: the Fast Open queue of a socket that is or will be listening (EINVAL once connected).
      case 'TCP_FASTOPEN':
        if (fd.kind === 'conn' || value < 0) return async () => ({ ret: -1, errno: 'EINVAL' })
        o.fastOpen = value
        fd.server?.setFastOpen(value)
        break
      case 'SO_KEEPALIVE':
        fd.keepalive = value !== 0
        socket?.setKeepAlive(fd.keepalive)
        break
      case 'TCP_NODELAY':
        fd.noDelay = value !== 0
        socket?.setNoDelay(fd.noDelay)
        break
      // Linux's sock_setsockopt: at most net.core.[wr]mem_max, doubled for the kernel's overhead, at least SOCK_MIN_[SND|RCV]BUF.
      case 'SO_SNDBUF': o.sndBuf = Math.max(4608, Math.min(value, 212_992) * 2); break
      case 'SO_RCVBUF': o.rcvBuf = Math.max(2304, Math.min(value, 212_992) * 2); break
      case 'TCP_CORK': o.cork = value !== 0; break
      // Linux takes the value as unsigned; 0 means the sysctl's default, 0xffffffff: no limit.
      case 'TCP_NOTSENT_LOWAT': o.notsentLowat = value >>> 0; break
      case 'TCP_USER_TIMEOUT':
        if (value < 0) return async () => ({ ret: -1, errno: 'EINVAL' })
        o.userTimeout = value
        break
      case 'TCP_INQ': o.inq = value !== 0; break
      case 'TCP_SYNCNT':
        if (value < 1 || value > 127) return async () => ({ ret: -1, errno: 'EINVAL' }) // Linux's MAX_TCP_SYNCNT
        o.synCnt = value
        break
      case 'TCP_KEEPIDLE':
        if (value < 1 || value > 32_767) return async () => ({ ret: -1, errno: 'EINVAL' }) // Linux's MAX_TCP_KEEPIDLE
        o.keepIdle = value
        socket?.setKeepAlive(fd.keepalive, value * 1000)
        break
      case 'TCP_FASTOPEN_CONNECT':
        // Linux: EOPNOTSUPP while the client side of tcp_fastopen is off; only before connect().
        if (!this.stack.tcpConfig.fastOpen.client) return async () => ({ ret: -1, errno: 'EOPNOTSUPP' })
        if (fd.kind !== 'socket') return async () => ({ ret: -1, errno: 'EISCONN' })
        fd.fastOpenConnect = value !== 0
        break
    }
    if (socket !== undefined) applyOpts(socket, o, name)
    return async () => ({ ret: 0 })
  }

  private getsockopt(ev: ScriptEvent, s: SyscallSpec, fd: Fd): Attempt | null {
    const name = (s.args[2] as { name?: string }).name!
    const expected = evaluate(s.args[3]!, ev.line)
    const c = fd.conn
    const config = this.stack.tcpConfig
    let value: number
    let shown: string
    switch (name) {
      case 'SO_ERROR': {
        const error = c?.error ?? null
        if (c !== undefined) c.error = null
        value = error === null ? 0 : ERRNO[error]!
        shown = error ?? '0'
        break
      }
      case 'SO_KEEPALIVE': value = fd.keepalive ? 1 : 0; break
      case 'SO_SNDBUF': value = fd.opts.sndBuf ?? config.sndBufSize; break
      case 'SO_RCVBUF': value = fd.opts.rcvBuf ?? config.rcvBufSize; break
      case 'TCP_NODELAY': value = fd.noDelay === true ? 1 : 0; break
      // The MSS in use once connected (Linux's mss_cache); before, Linux's TCP_MSS_DEFAULT.
      case 'TCP_MAXSEG': value = c !== undefined && c.established ? c.socket.info().snd_mss : 536; break
      case 'TCP_CORK': value = fd.opts.cork === true ? 1 : 0; break
      case 'TCP_NOTSENT_LOWAT': value = fd.opts.notsentLowat ?? 0; break
      case 'TCP_USER_TIMEOUT': value = fd.opts.userTimeout ?? 0; break
      case 'TCP_INQ': value = fd.opts.inq === true ? 1 : 0; break
      case 'TCP_FASTOPEN': value = fd.opts.fastOpen ?? 0; break
      default: value = 0
    }
    shown ??= String(value)
    if (value >>> 0 !== expected >>> 0) {
      this.fail(ev, `getsockopt(${name}) gave ${shown}, expected ${exprText(s.args[3]!)}`)
      return null
    }
    return async () => ({ ret: 0 })
  }

  /** The poll() bits an fd shows now, as Linux's tcp_poll. */
  private readiness(fd: Fd | undefined): number {
    const S = SYMBOLS as Record<string, number>
    if (fd === undefined) return S.POLLNVAL!
    if (fd.kind === 'listener') return fd.queue!.length > 0 ? S.POLLIN! | S.POLLRDNORM! : 0
    if (fd.kind === 'epoll') return 0
    // Not connected (CLOSE): Linux shows it hung up and writable.
    if (fd.kind === 'socket') return S.POLLOUT! | S.POLLWRNORM! | S.POLLHUP!
    const c = fd.conn!
    const socket = c.socket
    const state = socket.state
    let mask = 0
    if (c.error !== null) mask |= S.POLLERR!
    if (state === 'SYN-SENT' || (state === 'SYN-RECEIVED' && !c.established)) return mask
    const peerFin = c.eof || finReceived(state)
    const closed = state === 'CLOSED' || socket.destroyed
    const writeShut = socket.writableEnded
    if (closed || (peerFin && writeShut)) mask |= S.POLLHUP!
    if (peerFin || c.readShut || closed) mask |= S.POLLIN! | S.POLLRDNORM! | S.POLLRDHUP! // RCV_SHUTDOWN (a reset sets it too: tcp_done)
    if (socket.readableLength > 0) mask |= S.POLLIN! | S.POLLRDNORM!
    // Writable: room in the send buffer (sk_stream_is_writeable); after SHUT_WR Linux shows POLLOUT too.
    if (writeShut || closed || socket.writeSpace > 0) mask |= S.POLLOUT! | S.POLLWRNORM!
    return mask
  }

  /** poll([{fd, events, revents}], n, timeout): each revents must be what the fd shows; blocks while none is ready. */
  private pollCall(ev: ScriptEvent, s: SyscallSpec): Attempt {
    const entries = (s.args[0] as { items: Expr[] }).items.map(item => {
      const f = structFields(item)
      return { fd: evaluate(f.get('fd')!, ev.line), events: evaluate(f.get('events')!, ev.line), revents: evaluate(f.get('revents')!, ev.line) }
    })
    const timeout = evaluate(s.args[2]!, ev.line)
    const deadline = this.nowUs() + timeout * 1000
    const always = SYMBOLS.POLLERR! | SYMBOLS.POLLHUP! | SYMBOLS.POLLNVAL!
    return async () => {
      const got = entries.map(e => this.readiness(this.fds.get(e.fd)) & (e.events | always))
      const ready = got.filter(r => r !== 0).length
      if (ready === 0 && timeout !== 0 && (timeout < 0 || this.nowUs() < deadline)) return this.blockUntil(timeout < 0 ? null : deadline)
      entries.forEach((e, i) => {
        if (got[i] !== e.revents) this.fail(ev, `poll(): fd ${e.fd} revents ${pollText(got[i]!, 'POLL')}, expected ${pollText(e.revents, 'POLL')}`)
      })
      return { ret: ready }
    }
  }

  private epollCtl(ev: ScriptEvent, s: SyscallSpec, fd: Fd): Attempt {
    const op = (s.args[1] as { name: string }).name
    const target = evaluate(s.args[2]!, ev.line)
    const events = op === 'EPOLL_CTL_DEL' ? 0 : evaluate(structFields(s.args[3]!).get('events')!, ev.line)
    return async () => {
      if (fd.kind !== 'epoll') return { ret: -1, errno: 'EINVAL' }
      if (!this.fds.has(target)) return { ret: -1, errno: 'EBADF' }
      const interest = fd.interest!
      const has = interest.has(target)
      if (op === 'EPOLL_CTL_ADD' && has) return { ret: -1, errno: 'EEXIST' }
      if (op !== 'EPOLL_CTL_ADD' && !has) return { ret: -1, errno: 'ENOENT' }
      if (op === 'EPOLL_CTL_DEL') interest.delete(target)
      else interest.set(target, { events, seen: 0 })
      return { ret: 0 }
    }
  }

  /**
   * epoll_wait(epfd, {events=..., fd=N}, max, timeout): the first ready fd's events must be those
   * written. With EPOLLET an fd is reported only for bits that came up since it was last seen.
   */
  private epollWait(ev: ScriptEvent, s: SyscallSpec, fd: Fd): Attempt {
    const want = structFields(s.args[1]!)
    const wantEvents = evaluate(want.get('events')!, ev.line)
    const wantFd = want.get('fd')
    const max = evaluate(s.args[2]!, ev.line)
    const timeout = evaluate(s.args[3]!, ev.line)
    const deadline = this.nowUs() + timeout * 1000
    const always = SYMBOLS.EPOLLERR! | SYMBOLS.EPOLLHUP!
    return async () => {
      if (fd.kind !== 'epoll') return { ret: -1, errno: 'EINVAL' }
      if (max <= 0) return { ret: -1, errno: 'EINVAL' }
      const reported: Array<{ fd: number; events: number }> = []
      for (const [num, i] of fd.interest!) {
        const now = this.readiness(this.fds.get(num)) & (i.events | always)
        const edge = (i.events & SYMBOLS.EPOLLET!) !== 0
        const events = edge ? now & ~i.seen : now
        if (reported.length < max && events !== 0) reported.push({ fd: num, events })
        i.seen = now
      }
      if (reported.length === 0 && timeout !== 0 && (timeout < 0 || this.nowUs() < deadline)) return this.blockUntil(timeout < 0 ? null : deadline)
      const first = reported[0]
      const firstEvents = first?.events ?? 0
      if (firstEvents !== wantEvents >>> 0 || (first !== undefined && wantFd !== undefined && evaluate(wantFd, ev.line) !== first.fd)) {
        this.fail(ev, `epoll_wait(): ${first === undefined ? 'no events' : `fd ${first.fd} events ${pollText(firstEvents, 'EPOLL')}`}, expected ${exprText(s.args[1]!)}`)
      }
      return { ret: reported.length }
    }
  }

  /** A poll or epoll_wait blocks, until `deadlineUs` at the latest (null: no timeout). */
  private blockUntil(deadlineUs: number | null): 'block' {
    this.blockDeadlineUs = deadlineUs
    return 'block'
  }

  /** Linux's sock_error(): the pending error, once. */
  private takeError(c: Conn): Outcome {
    const errno = c.error!
    c.error = null
    return { ret: -1, errno }
  }

  private wrap(socket: Socket, established: boolean): Conn {
    const c: Conn = { socket, established, eof: false, error: null, lastState: null, readOffset: 0, writeOffset: 0, readShut: false }
    socket.on('connect', () => { c.established = true })
    socket.on('end', () => { c.eof = true })
    socket.on('state', (from: State, to: State) => { if (to === 'CLOSED') c.lastState = from })
    socket.on('error', (error: Error & { code?: string }) => {
      let code = error.code ?? 'ECONNABORTED'
      // Linux reports a reset in CLOSE-WAIT as EPIPE (tcp_reset()).
      if (code === 'ECONNRESET' && c.lastState === 'CLOSE-WAIT') code = 'EPIPE'
      c.error = code
    })
    return c
  }
}

/** Hand the options a script set to the stack's socket (accepted sockets inherit them, as on Linux). */
function applyOpts(socket: Socket, o: SockOpts, only?: string): void {
  const set = (name: string) => only === undefined || only === name
  if (set('SO_SNDBUF') && o.sndBuf !== undefined) socket.setSendBufferSize(o.sndBuf)
  if (set('SO_RCVBUF') && o.rcvBuf !== undefined) socket.setReceiveBufferSize(o.rcvBuf)
  if (set('TCP_CORK') && o.cork !== undefined) socket.setCork(o.cork)
  if (set('TCP_NOTSENT_LOWAT') && o.notsentLowat !== undefined) socket.setNotSentLowat(o.notsentLowat === 0 || o.notsentLowat === 0xffff_ffff ? null : o.notsentLowat)
  if (set('TCP_USER_TIMEOUT') && o.userTimeout !== undefined) socket.setUserTimeout(o.userTimeout)
  if (set('TCP_SYNCNT') && o.synCnt !== undefined) socket.setSynRetries(o.synCnt)
}

/** Has the peer's FIN arrived (Linux's RCV_SHUTDOWN from the peer)? */
function finReceived(state: State): boolean {
  return state === 'CLOSE-WAIT' || state === 'LAST-ACK' || state === 'CLOSING' || state === 'TIME-WAIT'
}

/** poll or epoll bits by name, for messages: POLLIN|POLLOUT. */
function pollText(mask: number, prefix: 'POLL' | 'EPOLL'): string {
  if (mask === 0) return '0'
  const names = ['IN', 'PRI', 'OUT', 'ERR', 'HUP', 'NVAL', 'RDNORM', 'WRNORM', 'RDHUP'].filter(n => {
    const bit = SYMBOLS[`POLL${n}`]!
    return (prefix === 'POLL' || !['NVAL', 'RDNORM', 'WRNORM'].includes(n)) && mask & bit
  })
  return names.map(n => prefix + n).join('|')
}

/** O_NONBLOCK and SOCK_NONBLOCK on Linux. */
const O_NONBLOCK = 0o4000

function isInbound(ev: ScriptEvent): boolean {
  return (ev.action.type === 'packet' && ev.action.direction === 'in') || ev.action.type === 'icmp'
}

/** Seconds since the start of the script: 0.100 s, or 0.000250 s below a millisecond. */
export function secs(us: number): string {
  return `${(us / 1e6).toFixed(us % 1000 === 0 ? 3 : 6)} s`
}

function timeText(t: EventTime, when: { us: number; endUs: number }, tol: number): string {
  if (t.kind === 'any') return 'at any time'
  if (when.us === when.endUs) return `at ${secs(when.us)} (±${(tol / 1000).toFixed(tol % 1000 === 0 ? 0 : 3)} ms)`
  return `between ${secs(when.us)} and ${secs(when.endUs)}`
}

function hex(b: number): string {
  return `0x${b.toString(16).padStart(2, '0')}`
}
