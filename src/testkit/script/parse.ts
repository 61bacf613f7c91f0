// The parser for the subset of packetdrill's script language we run (see
// docs/scripts.md): options, event times, TCP segments in and out, and the
// socket system calls. It follows packetdrill's grammar (gtests/net/packetdrill/
// parser.y in google/packetdrill) so that a Linux script written in the subset
// means the same thing here; anything else is refused with "line N: ...".

import { DEFAULT_TCP_CONFIG, type TcpConfig } from '../../stack/tcp/config.js'
import { CONGESTION_CONTROLS, isCongestionControlName } from '../../stack/tcp/congestion/index.js'
import { ACK, CWR, ECE, FIN, PSH, RST, SYN } from '../../stack/wire/tcp.js'
import { parseAnyAddress } from '../../stack/wire/address.js'
import { DEFAULT_OPTIONS, IP_VERSIONS, type CodeSpec, type EcnSpec, type EventTime, type Expr, type IcmpSpec, type PacketSpec, type Script, type ScriptEvent, type ScriptOptions, type ShellSpec, type SyscallSpec, type TcpOptionSpec } from './ast.js'
import { checkCodeNames } from './code.js'
import { ScriptError, unsupported } from './errors.js'
import { ICMP_TYPE_NAMES, icmpCodeNames, type WireFamily } from './icmp.js'
import { tokenize, type Token } from './lexer.js'
import { parsePython } from './python.js'
import { interpretShell, type ShellContext, type ShellEffect } from './shell.js'
import { ERRNO, GET_SOCKET_OPTIONS, SOCKET_OPTIONS, SYMBOLS } from './symbols.js'

export interface ParseOptions {
  /** The script's directory: relative paths in its shell lines (defaults.sh) are read from there. */
  scriptDir?: string
  /** Reads a file for a shell line, or null; default: the file system (shell.ts). */
  readFile?: (path: string) => string | null
}

/** Parse a whole script; throws ScriptError at the first line it cannot accept. */
export function parseScript(source: string, opts: ParseOptions = {}): Script {
  return new Parser(source, opts).script()
}

const MAX_U32 = 0xffffffff

class Parser {
  private readonly tokens: Token[]
  private readonly lines: string[]
  private pos = 0
  /** What the shell lines need: the settings so far (for checks that compare), what to restore. */
  private readonly shell: Omit<ShellContext, 'line'>
  /** Variables the %{ }% blocks so far assigned (one Python namespace per script, as in packetdrill). */
  private readonly pyNames = new Set<string>()

  constructor(source: string, opts: ParseOptions) {
    this.tokens = tokenize(source)
    this.lines = source.split('\n')
    this.shell = { config: { ...DEFAULT_TCP_CONFIG }, restore: { patch: null }, ...opts }
  }

  script(): Script {
    const options: ScriptOptions = { ...DEFAULT_OPTIONS, tcp: {} }
    while (this.peek().kind === 'option') this.option(options)
    const setup: ShellEffect[] = []
    const events: ScriptEvent[] = []
    while (this.peek().kind !== 'eof') {
      const t = this.peek()
      if (t.kind === 'option') throw new ScriptError(t.line, `--${t.text} must come before the first event`)
      // Shell lines before the first event set the stack up; after it, an untimed one happens with the event before.
      if (t.kind === 'command' && events.length === 0) {
        setup.push(...this.shellLine(this.next()).effects)
        continue
      }
      if (t.kind === 'command' || t.kind === 'code') {
        events.push({ line: t.line, source: (this.lines[t.line - 1] ?? '').trim(), time: { kind: 'relative', us: 0 }, action: this.blockAction(this.next()) })
        continue
      }
      events.push(this.event())
    }
    if (events.length === 0) throw new ScriptError(this.peek().line, 'the script has no events')
    const first = events[0]!
    if (first.time.kind === 'absolute' && first.time.us !== 0) {
      throw new ScriptError(first.line, 'the first event must be at time 0')
    }
    let last: ScriptEvent | undefined
    for (const e of events) {
      if (last !== undefined && last.time.kind === 'absolute' && e.time.kind === 'absolute' && e.time.us < last.time.us) {
        throw new ScriptError(e.line, `time goes backward in the script, from ${seconds(last.time.us)} to ${seconds(e.time.us)}`)
      }
      last = e
    }
    return { options, setup, events }
  }

  /** A backquoted shell line, interpreted now (shell.ts); its settings carry on to the lines after it. */
  private shellLine(t: Token): ShellSpec {
    const effects = interpretShell(t.text, { ...this.shell, line: t.line })
    for (const e of effects) this.shell.config = { ...this.shell.config, ...e.patch }
    return { type: 'shell', command: t.text, effects }
  }

  /** A shell line or a %{ }% block as an event's action. */
  private blockAction(t: Token): ShellSpec | CodeSpec {
    if (t.kind === 'command') return this.shellLine(t)
    const statements = parsePython(t.text, t.line)
    checkCodeNames(statements, this.pyNames)
    return { type: 'code', statements }
  }

  // ---- options: --name=value, before the first event ----

  private option(options: ScriptOptions): void {
    const t = this.next()
    let value: Token | undefined
    if (this.isPunct('=')) {
      this.next()
      value = this.next()
    }
    const need = (): string => {
      if (value === undefined || value.kind === 'eof') throw new ScriptError(t.line, `--${t.text} needs a value (--${t.text}=...)`)
      return value.text
    }
    const int = (min: number, max: number): number => {
      const v = need()
      const n = Number(v)
      if (!/^\d+$/.test(v) || n < min || n > max) throw new ScriptError(t.line, `--${t.text} must be a whole number from ${min} to ${max}, not ${v}`)
      return n
    }
    const ip = (): string => {
      let v = need()
      // The tokenizer cuts an IPv6 address at its colons (fd00::1 is fd00 : : 1): join the line's pieces again.
      while (this.peek().line === t.line && (this.isPunct(':') || ['word', 'int', 'ipv4'].includes(this.peek().kind))) v += this.next().text
      if (parseAnyAddress(v) === null) throw new ScriptError(t.line, `--${t.text} must be an IPv4 or IPv6 address, not ${v}`)
      return v
    }
    switch (t.text) {
      case 'tolerance_usecs': options.toleranceUs = int(0, 60_000_000); break
      case 'tolerance_percent': options.tolerancePercent = int(0, 100); break
      case 'ip_version': {
        let v = need()
        // The tokenizer cuts "ipv4-mapped-ipv6" at its dashes: join the word again.
        while (this.isPunct('-') && this.peek(1).line === t.line) v += `-${(this.next(), this.next()).text}`
        const version = IP_VERSIONS.find(name => name === v)
        if (version === undefined) throw new ScriptError(t.line, `--ip_version must be ${IP_VERSIONS.join(', ')}, not ${v}`)
        options.ipVersion = version
        break
      }
      // packetdrill's tun device MTU; IPv6 needs 1280 (RFC 8200 5), which the runner checks once the family is known.
      case 'mtu': options.mtu = int(576, 65535); break
      case 'local_ip': options.localIp = ip(); break
      case 'remote_ip': options.remoteIp = ip(); break
      case 'bind_port': options.bindPort = int(1, 65535); break
      case 'connect_port': options.connectPort = int(1, 65535); break
      // packetdrill's TSval clock rate, for checking TS vals: tuntcp's TSval ticks once per millisecond.
      case 'tcp_ts_tick_usecs':
        if (int(1, 1_000_000) !== 1000) throw unsupported(t.line, `--tcp_ts_tick_usecs=${value!.text}: tuntcp's TSval clock ticks every 1000 us`)
        break
      // An inbound TS ecr that echoes no TS val the stack sent is mapped by its offset from the
      // first one: what this asks packetdrill to do, and what the runner always does.
      case 'tcp_ts_ecr_scaled': break
      case 'mss': options.mss = int(1, 65535); break
      default:
        if (t.text.startsWith('tcp_')) return this.stackOption(t, options, need())
        throw unsupported(t.line, `option --${t.text}`)
    }
  }

  /** `--tcp_msl_ms=1000`: a TcpConfig tunable (src/stack/tcp/config.ts) for this script's stack. */
  private stackOption(t: Token, options: ScriptOptions, value: string): void {
    const key = t.text.slice(4).replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()) as keyof TcpConfig
    const known = Object.keys(DEFAULT_TCP_CONFIG).map(k => `--tcp_${k.replace(/[A-Z]/g, c => `_${c.toLowerCase()}`)}`)
    if (!(key in DEFAULT_TCP_CONFIG)) throw new ScriptError(t.line, `unknown option --${t.text} (the stack's tunables are ${known.join(', ')})`)
    const model = DEFAULT_TCP_CONFIG[key]
    const tcp = options.tcp as Record<string, unknown>
    if (typeof model === 'number') {
      if (!/^\d+$/.test(value)) throw new ScriptError(t.line, `--${t.text} must be a whole number, not ${value}`)
      tcp[key] = Number(value)
    } else if (typeof model === 'boolean') {
      if (value !== 'true' && value !== 'false') throw new ScriptError(t.line, `--${t.text} must be true or false, not ${value}`)
      tcp[key] = value === 'true'
    } else if (key === 'fastOpen') {
      throw new ScriptError(t.line, `--${t.text}: set Fast Open with sysctl net.ipv4.tcp_fastopen (a bit mask, docs/scripts.md)`)
    } else if (key === 'congestionControl') {
      if (!isCongestionControlName(value)) throw new ScriptError(t.line, `--${t.text} must be one of ${CONGESTION_CONTROLS.join(', ')}, not ${value}`)
      tcp[key] = value
    } else {
      tcp[key] = value
    }
  }

  // ---- events ----

  private event(): ScriptEvent {
    const line = this.peek().line
    const time = this.time()
    const t = this.peek()
    let action: PacketSpec | IcmpSpec | SyscallSpec | ShellSpec | CodeSpec
    if (t.kind === 'punct' && t.text === '<' && this.isWord('icmp', 1)) action = this.icmp()
    else if (t.kind === 'punct' && (t.text === '<' || t.text === '>')) action = this.packet()
    else if (t.kind === 'word' || t.kind === 'ellipsis') action = this.syscall()
    else if (t.kind === 'command' || t.kind === 'code') action = this.blockAction(this.next())
    else throw new ScriptError(t.line, `expected a segment (< or >) or a system call after the time, found ${describe(t)}`)
    const outbound = action.type === 'packet' && action.direction === 'out'
    if (time.kind === 'any' && !outbound) throw new ScriptError(line, 'the time * can only be used with outbound segments (>)')
    if ((time.kind === 'absolute-range' || time.kind === 'relative-range') && !outbound) {
      throw new ScriptError(line, 'a time range can only be used with outbound segments (>)')
    }
    return { line, source: (this.lines[line - 1] ?? '').trim(), time, action }
  }

  private time(): EventTime {
    const t = this.peek()
    if (this.isPunct('*')) {
      this.next()
      return { kind: 'any' }
    }
    if (this.isPunct('+')) {
      this.next()
      const us = this.seconds('a relative time after +')
      if (!this.isPunct('~')) return { kind: 'relative', us }
      this.next()
      if (!this.isPunct('+')) throw new ScriptError(this.peek().line, 'a relative time range is written +START~+END')
      this.next()
      const endUs = this.seconds('the end of the time range')
      if (endUs < us) throw new ScriptError(t.line, 'the time range is backwards')
      return { kind: 'relative-range', us, endUs }
    }
    if (t.kind === 'int' || t.kind === 'float') {
      const us = this.seconds('a time')
      if (!this.isPunct('~')) return { kind: 'absolute', us }
      this.next()
      const endUs = this.seconds('the end of the time range')
      if (endUs < us) throw new ScriptError(t.line, 'the time range is backwards')
      return { kind: 'absolute-range', us, endUs }
    }
    throw new ScriptError(t.line, `expected an event time (0, 0.100, +0.1, +0~+0.2, 0.1~0.3 or *), found ${describe(t)}`)
  }

  /** A number of seconds, as microseconds. */
  private seconds(what: string): number {
    const t = this.next()
    if (t.kind !== 'int' && t.kind !== 'float') throw new ScriptError(t.line, `expected ${what} in seconds, found ${describe(t)}`)
    if (t.value < 0) throw new ScriptError(t.line, `negative time ${t.text}`)
    return Math.round(t.value * 1_000_000)
  }

  // ---- TCP segments ----

  private packet(): PacketSpec {
    const dir = this.next()
    const direction = dir.text === '<' ? 'in' : 'out'
    const line = dir.line
    let t = this.peek()
    const ecn = this.isPunct('[') ? this.ecnField() : undefined
    t = this.peek()
    if (this.isPunct('(') || this.isPunct('[')) throw unsupported(t.line, 'IP header fields (tos, ttl, flowlabel) on a segment (only the ECN field: [noecn], [ect0], [ect1], [ce], [ect01])')
    if (t.kind === 'word' && ['udp', 'icmp', 'ipv4', 'ipv6', 'gre', 'GREv0', 'mpls'].includes(t.text)) {
      throw unsupported(t.line, `${t.text} packets (only TCP segments)`)
    }
    const spec: PacketSpec = { type: 'packet', direction, flags: 0, flagsText: '', seq: 0, len: 0, options: [] }
    if (ecn !== undefined) spec.ecn = ecn
    if (t.kind === 'int' && this.isPunct('>', 1)) {
      spec.srcPort = this.port(this.next())
      this.next()
      spec.dstPort = this.port(this.expect('int', 'the destination port'))
    }
    this.flags(spec)
    // start:end(length)
    const start = this.expect('int', 'the sequence numbers start:end(length)')
    this.expectPunct(':', 'start:end(length)')
    const end = this.expect('int', 'start:end(length)')
    this.expectPunct('(', 'start:end(length)')
    const len = this.expect('int', 'start:end(length)')
    this.expectPunct(')', 'start:end(length)')
    this.u32(start, 'start sequence number')
    this.u32(end, 'end sequence number')
    if (len.value < 0 || len.value > 0xffff) throw new ScriptError(len.line, `payload length ${len.text} out of range`)
    if (((start.value + len.value) >>> 0) !== end.value) throw new ScriptError(start.line, 'inconsistent sequence numbers and payload length: end must be start + length')
    spec.seq = start.value
    spec.len = len.value
    if (this.isWord('ack')) {
      this.next()
      spec.ack = this.u32(this.expect('int', 'the acknowledgment number after ack'), 'ack number').value
    }
    if (this.isWord('win')) {
      this.next()
      const w = this.expect('int', 'the window after win')
      if (w.value < 0 || w.value > 0xffff) throw new ScriptError(w.line, `window ${w.text} out of range (0 to 65535)`)
      spec.win = w.value
    }
    if (this.isWord('urg')) throw unsupported(this.peek().line, 'urg (urgent pointer)')
    if (this.isPunct('<')) spec.options = this.tcpOptions()
    if (this.isPunct('{')) throw unsupported(this.peek().line, '{ } packet mutation (fuzzing)')
    if (direction === 'in') {
      if (spec.options === null) throw new ScriptError(line, '<...> for TCP options can only be used with outbound segments')
      if (spec.win === undefined) throw new ScriptError(line, 'an inbound segment needs its window: win N')
    }
    return spec
  }

  /** `[ect0]`: the ECN field of the segment's IP header (RFC 3168 5). */
  private ecnField(): EcnSpec {
    const open = this.next()
    const word = this.peek()
    const names: readonly EcnSpec[] = ['noecn', 'ect0', 'ect1', 'ce', 'ect01']
    if (word.kind !== 'word' || !(names as readonly string[]).includes(word.text)) {
      throw unsupported(open.line, 'IP header fields (tos, ttl, flowlabel) on a segment (only the ECN field: [noecn], [ect0], [ect1], [ce], [ect01])')
    }
    this.next()
    this.expectPunct(']', 'the ECN field [ect0]')
    return word.text as EcnSpec
  }

  /**
   * `< icmp TYPE [CODE] [mtu N] [[start:end(length)]]`, only inbound: destination unreachable, or
   * over IPv6 packet_too_big. The names are checked against both families' tables here and
   * looked up in the wire's when the line runs (icmp.ts), as packetdrill does.
   */
  private icmp(): IcmpSpec {
    this.next() // <
    this.next() // icmp
    const what = this.expect('word', 'the ICMP message: unreachable or packet_too_big')
    if (!ICMP_TYPE_NAMES.includes(what.text)) throw unsupported(what.line, `icmp ${what.text} (only ${ICMP_TYPE_NAMES.join(', ')})`)
    const spec: IcmpSpec = { type: 'icmp', message: what.text }
    const name = this.peek()
    if (name.kind === 'word' && name.text !== 'mtu') {
      const codes = icmpCodeNames(what.text)
      if (!codes.includes(name.text)) throw new ScriptError(name.line, `unknown ICMP ${what.text} code ${name.text} (${codes.join(', ') || 'it has none'})`)
      this.next()
      spec.codeName = name.text
    }
    if (this.isWord('mtu')) {
      this.next()
      const mtu = this.expect('int', 'the MTU after mtu')
      if (mtu.value < 68 || mtu.value > 0xffff) throw new ScriptError(mtu.line, `mtu ${mtu.text} out of range (68 to 65535)`)
      spec.mtu = mtu.value
    }
    if (this.isPunct('[')) {
      this.next()
      const start = this.u32(this.expect('int', 'the quoted segment [start:end(length)]'), 'start sequence number')
      this.expectPunct(':', '[start:end(length)]')
      const end = this.u32(this.expect('int', '[start:end(length)]'), 'end sequence number')
      this.expectPunct('(', '[start:end(length)]')
      const len = this.expect('int', '[start:end(length)]')
      this.expectPunct(')', '[start:end(length)]')
      this.expectPunct(']', '[start:end(length)]')
      if (((start.value + len.value) >>> 0) !== end.value) throw new ScriptError(start.line, 'inconsistent sequence numbers and payload length: end must be start + length')
      spec.quote = { seq: start.value, len: len.value }
    }
    return spec
  }

  private flags(spec: PacketSpec): void {
    const t = this.next()
    let text: string
    if (t.kind === 'punct' && t.text === '.') text = '.'
    else if (t.kind === 'punct' && t.text === '-') text = ''
    else if (t.kind === 'word') {
      text = t.text
      if (this.isPunct('.')) {
        this.next()
        text += '.'
      }
    } else {
      throw new ScriptError(t.line, `expected TCP flags (S, S., ., P., F., R, R., FP., - for none), found ${describe(t)}`)
    }
    let flags = 0
    for (const c of text) {
      switch (c) {
        case 'F': flags |= FIN; break
        case 'S': flags |= SYN; break
        case 'R': flags |= RST; break
        case 'P': flags |= PSH; break
        case '.': flags |= ACK; break
        case 'E': flags |= ECE; break
        case 'W': flags |= CWR; break
        case 'A': throw unsupported(t.line, "TCP flag 'A' (AccECN's AE bit)")
        case 'U': throw unsupported(t.line, "TCP flag 'U' (urgent)")
        default:
          if (c >= '0' && c <= '7') throw unsupported(t.line, `TCP flag '${c}' (AccECN)`)
          throw new ScriptError(t.line, `invalid TCP flag '${c}' in ${JSON.stringify(text)}`)
      }
    }
    spec.flags = flags
    spec.flagsText = text === '' ? '-' : text
  }

  private tcpOptions(): TcpOptionSpec[] | null {
    const open = this.next()
    if (this.peek().kind === 'ellipsis') {
      this.next()
      this.expectPunct('>', '<...>')
      return null
    }
    const list: TcpOptionSpec[] = []
    for (;;) {
      list.push(this.tcpOption())
      if (this.isPunct(',')) { this.next(); continue }
      this.expectPunct('>', 'the end of the TCP options')
      break
    }
    const bytes = list.reduce((n, o) => n + optionLength(o), 0)
    if (bytes % 4 !== 0) {
      throw new ScriptError(open.line, `TCP options take ${bytes} bytes; pad them to a multiple of 4 with nop, as packetdrill requires`)
    }
    if (bytes > 40) throw new ScriptError(open.line, `TCP options take ${bytes} bytes; at most 40 fit`)
    return list
  }

  private tcpOption(): TcpOptionSpec {
    const t = this.next()
    if (t.kind !== 'word') throw new ScriptError(t.line, `expected a TCP option (mss, nop, sackOK, wscale, sack, TS, eol), found ${describe(t)}`)
    switch (t.text) {
      case 'nop': return { kind: 'nop' }
      case 'eol': return { kind: 'eol' }
      case 'sackOK': return { kind: 'sackOK' }
      case 'mss': {
        const v = this.expect('int', 'the MSS value')
        if (v.value < 0 || v.value > 0xffff) throw new ScriptError(v.line, `mss ${v.text} out of range`)
        return { kind: 'mss', value: v.value }
      }
      case 'wscale': {
        const v = this.expect('int', 'the window scale shift count')
        if (v.value < 0 || v.value > 0xff) throw new ScriptError(v.line, `wscale ${v.text} out of range`)
        return { kind: 'wscale', value: v.value }
      }
      case 'sack': {
        const blocks: Array<[number, number]> = []
        while (this.peek().kind === 'int') {
          const left = this.u32(this.next(), 'SACK left edge').value
          this.expectPunct(':', 'a SACK block left:right')
          const right = this.u32(this.expect('int', 'a SACK block left:right'), 'SACK right edge').value
          blocks.push([left, right])
        }
        if (blocks.length === 0) throw new ScriptError(t.line, 'sack needs at least one block left:right')
        if (blocks.length > 4) throw new ScriptError(t.line, 'at most 4 SACK blocks fit')
        return { kind: 'sack', blocks }
      }
      case 'TS': {
        if (!this.isWord('val')) throw new ScriptError(t.line, 'timestamps are written TS val N ecr N')
        this.next()
        const val = this.u32(this.expect('int', 'the TS val'), 'TS val').value
        if (!this.isWord('ecr')) throw new ScriptError(t.line, 'timestamps are written TS val N ecr N')
        this.next()
        const ecr = this.u32(this.expect('int', 'the TS ecr'), 'TS ecr').value
        return { kind: 'TS', val, ecr }
      }
      case 'md5': throw unsupported(t.line, 'TCP option md5')
      case 'FO': case 'FOEXP': return { kind: t.text, ...this.fastOpenCookie() }
      default: throw new ScriptError(t.line, `unknown TCP option ${t.text}`)
    }
  }

  /**
   * The cookie after `FO` or `FOEXP`, as packetdrill writes it: hex digits (`FO 3021b9d889017eeb`),
   * a name its own test runner defines with -D (TFO_COOKIE), or nothing (a cookie request).
   */
  private fastOpenCookie(): { cookie: string; define?: string } {
    const t = this.peek()
    if (t.kind !== 'word' && t.kind !== 'int') return { cookie: '' }
    this.next()
    const defined = FAST_OPEN_DEFINES.ipv4[t.text]
    if (defined !== undefined) return { cookie: defined, define: t.text }
    const hex = t.text
    if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex)) throw new ScriptError(t.line, `a Fast Open cookie is an even number of hex digits, not ${t.text}`)
    if (hex.length / 2 > 32) throw new ScriptError(t.line, `a Fast Open cookie of ${hex.length / 2} bytes does not fit the options`)
    return { cookie: hex.toLowerCase() }
  }

  // ---- system calls ----

  private syscall(): SyscallSpec {
    let endUs: number | null = null
    if (this.peek().kind === 'ellipsis') {
      this.next()
      endUs = this.seconds('the end time after ... (T...END call)')
    }
    const name = this.expect('word', 'a system call name')
    this.expectPunct('(', `${name.text}(`)
    const args: Expr[] = []
    if (!this.isPunct(')')) {
      for (;;) {
        args.push(this.expr())
        if (this.isPunct(',')) { this.next(); continue }
        break
      }
    }
    this.expectPunct(')', `the end of the arguments of ${name.text}()`)
    const equals = this.expectPunct('=', `the expected result: ${name.text}(...) = N`)
    const result = this.expr()
    const spec: SyscallSpec = { type: 'syscall', name: name.text, args, endUs, result }
    // `= -1 ECONNRESET (Connection reset by peer)`: the errno and its note end the line.
    const e = this.peek()
    if (e.kind === 'word' && e.line === equals.line) {
      if (!(e.text in ERRNO)) throw new ScriptError(e.line, `unknown errno ${e.text}`)
      spec.errno = e.text
      this.next()
    }
    if (this.isPunct('(') && this.peek().line === equals.line) this.skipNote()
    validateSyscall(spec, name.line)
    return spec
  }

  /** The strace-style note after a result, `(Operation now in progress)`: not checked. */
  private skipNote(): void {
    const open = this.next()
    let depth = 1
    while (depth > 0) {
      const t = this.next()
      if (t.kind === 'eof') throw new ScriptError(open.line, 'unterminated ( note )')
      if (t.kind === 'punct' && t.text === '(') depth++
      if (t.kind === 'punct' && t.text === ')') depth--
    }
  }

  private expr(): Expr {
    let left = this.primary()
    while (this.isPunct('|')) {
      this.next()
      left = { kind: 'or', left, right: this.primary() }
    }
    return left
  }

  private primary(): Expr {
    const t = this.next()
    switch (t.kind) {
      case 'ellipsis': return { kind: 'ellipsis' }
      case 'int': return { kind: 'int', value: t.value }
      case 'string': {
        let value = t.text
        while (this.peek().kind === 'string') value += this.next().text
        if (this.peek().kind === 'ellipsis') this.next() // "abc"... : a prefix
        return { kind: 'string', value }
      }
      case 'word': {
        if (this.isPunct('(')) {
          this.next()
          const args: Expr[] = []
          if (!this.isPunct(')')) {
            for (;;) {
              args.push(this.expr())
              if (this.isPunct(',')) { this.next(); continue }
              break
            }
          }
          this.expectPunct(')', `the end of ${t.text}(...)`)
          // packetdrill's struct fields with a length: msg_iov(1)=[...], msg_name(...)=...
          if (this.isPunct('=')) {
            this.next()
            return { kind: 'assign', name: t.text, value: this.expr() }
          }
          return { kind: 'call', name: t.text, args }
        }
        if (this.isPunct('=')) {
          this.next()
          return { kind: 'assign', name: t.text, value: this.expr() }
        }
        return { kind: 'word', name: t.text }
      }
      case 'punct':
        if (t.text === '[' || t.text === '{') {
          const close = t.text === '[' ? ']' : '}'
          const items: Expr[] = []
          if (!this.isPunct(close)) {
            for (;;) {
              items.push(this.expr())
              if (this.isPunct(',')) { this.next(); continue }
              break
            }
          }
          this.expectPunct(close, `the closing ${close}`)
          return { kind: t.text === '[' ? 'list' : 'struct', items }
        }
        break
    }
    throw new ScriptError(t.line, `expected an expression, found ${describe(t)}`)
  }

  // ---- helpers ----

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.pos + ahead, this.tokens.length - 1)]!
  }

  private next(): Token {
    const t = this.peek()
    if (this.pos < this.tokens.length - 1) this.pos++
    return t
  }

  private isPunct(text: string, ahead = 0): boolean {
    const t = this.peek(ahead)
    return t.kind === 'punct' && t.text === text
  }

  private isWord(text: string, ahead = 0): boolean {
    const t = this.peek(ahead)
    return t.kind === 'word' && t.text === text
  }

  private expect(kind: Token['kind'], what: string): Token {
    const t = this.next()
    if (t.kind !== kind) throw new ScriptError(t.line, `expected ${what}, found ${describe(t)}`)
    return t
  }

  private expectPunct(text: string, what: string): Token {
    const t = this.next()
    if (t.kind !== 'punct' || t.text !== text) throw new ScriptError(t.line, `expected '${text}' in ${what}, found ${describe(t)}`)
    return t
  }

  private u32(t: Token, what: string): Token {
    if (!Number.isInteger(t.value) || t.value < 0 || t.value > MAX_U32) throw new ScriptError(t.line, `${what} ${t.text} out of range (0 to 4294967295)`)
    return t
  }

  private port(t: Token): number {
    if (t.kind !== 'int' || t.value < 1 || t.value > 65535) throw new ScriptError(t.line, `port ${t.text} out of range`)
    return t.value
  }
}

function describe(t: Token): string {
  switch (t.kind) {
    case 'eof': return 'the end of the script'
    case 'string': return JSON.stringify(t.text)
    case 'command': return `\`${t.text}\``
    case 'option': return `--${t.text}`
    default: return `'${t.text}'`
  }
}

function seconds(us: number): string {
  return `${(us / 1e6).toFixed(6)} s`
}

/** Bytes an option takes on the wire. */
/**
 * The names packetdrill's test runner (gtests/net/packetdrill/run_all.py) defines with -D, per
 * wire family: TFO_COOKIE is the cookie Linux makes under the key of defaults.sh for the
 * script's address to the stack's: 192.0.2.1 -> 192.168.0.1 over IPv4 (ipv4-mapped-ipv6 too:
 * the wire is IPv4), and over IPv6 2001:db8::1 -> fd3d:fa7b:d17d:: (the value run_all.py passes
 * for its IPv6 run). The stack under test must compute the same one (fast-open.ts).
 */
export const FAST_OPEN_DEFINES: Readonly<Record<WireFamily, Readonly<Record<string, string>>>> = {
  ipv4: { TFO_COOKIE: '3021b9d889017eeb' },
  ipv6: { TFO_COOKIE: '6aa6ae70c288023b' },
}

export function optionLength(o: TcpOptionSpec): number {
  switch (o.kind) {
    case 'FO': return 2 + o.cookie.length / 2
    case 'FOEXP': return 4 + o.cookie.length / 2
    case 'nop': case 'eol': return 1
    case 'sackOK': return 2
    case 'wscale': return 3
    case 'mss': return 4
    case 'TS': return 10
    case 'sack': return 2 + 8 * o.blocks.length
  }
}

// ---- expressions: evaluation and the checks of each system call ----

/** The numeric value of an expression (symbols, `|`, and `[N]` taken as N). */
export function evaluate(e: Expr, line: number): number {
  switch (e.kind) {
    case 'int': return e.value
    case 'word': {
      const v = SYMBOLS[e.name]
      if (v === undefined) throw new ScriptError(line, `unknown symbol ${e.name}`)
      return v
    }
    case 'or': return evaluate(e.left, line) | evaluate(e.right, line)
    case 'list':
      if (e.items.length === 1) return evaluate(e.items[0]!, line)
      throw new ScriptError(line, 'expected [N], one value in brackets')
    default:
      throw new ScriptError(line, `expected a number, found ${exprText(e)}`)
  }
}

/** An expression as written, for messages. */
export function exprText(e: Expr): string {
  switch (e.kind) {
    case 'ellipsis': return '...'
    case 'int': return String(e.value)
    case 'word': return e.name
    case 'string': return JSON.stringify(e.value)
    case 'list': return `[${e.items.map(exprText).join(', ')}]`
    case 'struct': return `{${e.items.map(exprText).join(', ')}}`
    case 'or': return `${exprText(e.left)}|${exprText(e.right)}`
    case 'assign': return `${e.name}=${exprText(e.value)}`
    case 'call': return `${e.name}(${e.args.map(exprText).join(', ')})`
  }
}

/** Words in an expression such as O_RDWR|O_NONBLOCK. */
function words(e: Expr): string[] {
  if (e.kind === 'word') return [e.name]
  if (e.kind === 'or') return [...words(e.left), ...words(e.right)]
  if (e.kind === 'list') return e.items.flatMap(words)
  return []
}

const CALLS = [
  'socket', 'bind', 'listen', 'accept', 'connect', 'read', 'write', 'recv', 'send', 'sendto', 'sendmsg', 'recvmsg', 'shutdown', 'close',
  'fcntl', 'ioctl', 'setsockopt', 'getsockopt', 'poll', 'epoll_create', 'epoll_ctl', 'epoll_wait',
]

/** The send() flags the runner carries out: MSG_EOR (a record boundary), MSG_DONTWAIT and MSG_FASTOPEN. */
const SEND_FLAGS = ['MSG_EOR', 'MSG_DONTWAIT', 'MSG_FASTOPEN']

/** socket()'s domains: the runner checks the one written against --ip_version when the call runs. */
const SOCKET_DOMAINS = ['AF_INET', 'PF_INET', 'AF_INET6', 'PF_INET6']

/** The fields of a packetdrill struct, `{name=value, ...}` or `name(len)=value`, by name. */
export function structFields(e: Expr): Map<string, Expr> {
  const fields = new Map<string, Expr>()
  if (e.kind === 'struct') for (const item of e.items) if (item.kind === 'assign') fields.set(item.name, item.value)
  return fields
}

/** The byte count of a msghdr's msg_iov, `[{..., 2000}, ...]`: the sum of the lengths. */
export function iovLength(e: Expr | undefined, line: number): number {
  if (e === undefined || e.kind !== 'list') throw new ScriptError(line, 'msg_iov must be a list of {..., length}')
  let sum = 0
  for (const item of e.items) {
    const len = item.kind === 'struct' ? item.items[1] : undefined
    if (len === undefined) throw new ScriptError(line, `msg_iov entries are {..., length}, not ${exprText(item)}`)
    sum += evaluate(len, line)
  }
  return sum
}

/** Refuse, before running anything, a call the runner cannot carry out as written. */
function validateSyscall(s: SyscallSpec, line: number): void {
  if (!CALLS.includes(s.name)) throw unsupported(line, `system call ${s.name}() (supported: ${CALLS.join(', ')})`)
  const arity: Record<string, number[]> = {
    socket: [3], bind: [3], listen: [2], accept: [3], connect: [3], read: [3], write: [3], recv: [4], send: [4], sendto: [6],
    sendmsg: [3], recvmsg: [3], shutdown: [2], close: [1], fcntl: [2, 3], ioctl: [3], setsockopt: [5], getsockopt: [5],
    poll: [3], epoll_create: [1], epoll_ctl: [4], epoll_wait: [4],
  }
  if (!arity[s.name]!.includes(s.args.length)) {
    throw new ScriptError(line, `${s.name}() takes ${arity[s.name]!.join(' or ')} arguments, not ${s.args.length}`)
  }
  const arg = (i: number) => s.args[i]!
  const ellipsis = (i: number, what: string) => {
    if (arg(i).kind !== 'ellipsis') throw unsupported(line, `${s.name}() with an explicit ${what} (${exprText(arg(i))}): write ... as packetdrill does`)
  }
  const fd = (i = 0) => {
    if (arg(i).kind !== 'int') throw new ScriptError(line, `argument ${i + 1} of ${s.name}() is a file descriptor number, not ${exprText(arg(i))}`)
  }
  const num = (i: number, what: string) => evaluateOr(arg(i), line, `the ${what} of ${s.name}()`)
  const sendFlags = (i: number) => {
    const flags = words(arg(i))
    const bad = flags.find(w => !SEND_FLAGS.includes(w))
    // Flags written as a number (0x20000000) are those bits: each must be one of ours.
    const known = SEND_FLAGS.reduce((m, f) => m | SYMBOLS[f]!, 0)
    const numeric = flags.length === 0 ? num(i, 'flags') : 0
    if (bad !== undefined || (numeric & ~known) !== 0) throw unsupported(line, `${s.name}() flag ${bad ?? exprText(arg(i))} (only ${SEND_FLAGS.join(', ')})`)
  }
  evaluateOr(s.result, line, `the result of ${s.name}()`)
  switch (s.name) {
    case 'socket': {
      const domain = arg(0)
      if (domain.kind !== 'ellipsis' && !(domain.kind === 'word' && SOCKET_DOMAINS.includes(domain.name))) {
        throw unsupported(line, `socket domain ${exprText(domain)} (only ..., AF_INET or AF_INET6)`)
      }
      const type = words(arg(1))
      if (!type.includes('SOCK_STREAM') || type.some(w => w !== 'SOCK_STREAM' && w !== 'SOCK_NONBLOCK')) {
        throw unsupported(line, `socket type ${exprText(arg(1))} (only SOCK_STREAM)`)
      }
      if (num(2, 'protocol') !== 6 && num(2, 'protocol') !== 0) throw unsupported(line, `socket protocol ${exprText(arg(2))} (only IPPROTO_TCP)`)
      break
    }
    case 'bind':
    case 'connect':
    case 'accept':
      fd()
      ellipsis(1, 'address')
      ellipsis(2, 'address length')
      break
    case 'listen':
      fd()
      num(1, 'backlog')
      break
    case 'read':
    case 'write':
    case 'recv':
    case 'send':
    case 'sendto':
      fd()
      ellipsis(1, 'buffer')
      if (num(2, 'byte count') < 0) throw new ScriptError(line, `${s.name}() of a negative byte count`)
      if (s.name === 'recv' && num(3, 'flags') !== 0) throw unsupported(line, `recv() flags ${exprText(arg(3))} (only 0)`)
      if (s.name === 'send' || s.name === 'sendto') sendFlags(3)
      // sendto() on a connected TCP socket ignores the address, as Linux does (tcp_sendmsg).
      // AF_UNSPEC as the address: Linux refuses it for MSG_FASTOPEN (EOPNOTSUPP), and so does the runner.
      if (s.name === 'sendto') {
        const unspec = arg(4).kind === 'word' && (arg(4) as { name: string }).name === 'AF_UNSPEC'
        if (!unspec) ellipsis(4, 'address')
        ellipsis(5, 'address length')
      }
      break
    case 'sendmsg':
    case 'recvmsg': {
      fd()
      const msg = structFields(arg(1))
      if (arg(1).kind !== 'struct') throw new ScriptError(line, `${s.name}() takes a msghdr, {msg_name(...)=..., msg_iov(1)=[{..., N}], msg_flags=0}`)
      iovLength(msg.get('msg_iov'), line)
      const control = msg.get('msg_control')
      if (s.name === 'recvmsg' && control !== undefined) {
        if (control.kind !== 'list') throw new ScriptError(line, 'msg_control must be a list of {cmsg_level=..., cmsg_type=..., cmsg_data=...}')
        for (const c of control.items) {
          const type = structFields(c).get('cmsg_type')
          if (type?.kind !== 'word' || type.name !== 'TCP_CM_INQ') throw unsupported(line, `recvmsg() control message ${type === undefined ? exprText(c) : exprText(type)} (only TCP_CM_INQ)`)
        }
      } else if (control !== undefined) {
        throw unsupported(line, 'sendmsg() with control messages')
      }
      if (s.name === 'sendmsg') sendFlags(2)
      else if (num(2, 'flags') !== 0) throw unsupported(line, `recvmsg() flags ${exprText(arg(2))} (only 0)`)
      break
    }
    case 'close':
      fd()
      break
    case 'shutdown': {
      fd()
      const how = num(1, 'how')
      if (how !== 0 && how !== 1 && how !== 2) throw new ScriptError(line, `shutdown() how must be SHUT_RD, SHUT_WR or SHUT_RDWR, not ${exprText(arg(1))}`)
      break
    }
    case 'fcntl': {
      fd()
      const cmd = arg(1)
      const name = cmd.kind === 'word' ? cmd.name : exprText(cmd)
      if (name === 'F_GETFL') {
        if (s.args.length !== 2) throw new ScriptError(line, 'fcntl(fd, F_GETFL) takes no third argument')
      } else if (name === 'F_SETFL') {
        if (s.args.length !== 3) throw new ScriptError(line, 'fcntl(fd, F_SETFL, flags) needs the flags')
        const flags = words(arg(2))
        const bad = flags.find(w => !['O_RDONLY', 'O_WRONLY', 'O_RDWR', 'O_NONBLOCK'].includes(w))
        if (bad !== undefined) throw unsupported(line, `fcntl() flag ${bad} (only O_RDWR and O_NONBLOCK)`)
        num(2, 'flags')
      } else {
        throw unsupported(line, `fcntl() command ${name} (only F_GETFL and F_SETFL)`)
      }
      break
    }
    case 'ioctl': {
      fd()
      const req = arg(1)
      const name = req.kind === 'word' ? req.name : exprText(req)
      if (!['SIOCINQ', 'FIONREAD', 'SIOCOUTQ', 'SIOCOUTQNSD'].includes(name)) throw unsupported(line, `ioctl() request ${name} (only SIOCINQ, FIONREAD, SIOCOUTQ, SIOCOUTQNSD)`)
      num(2, 'value')
      break
    }
    case 'setsockopt':
    case 'getsockopt': {
      fd()
      const level = arg(1)
      const name = arg(2)
      const levelName = level.kind === 'word' ? level.name : exprText(level)
      const optName = name.kind === 'word' ? name.name : exprText(name)
      const table = s.name === 'setsockopt' ? SOCKET_OPTIONS : GET_SOCKET_OPTIONS
      const allowed = table[levelName]
      if (allowed === undefined || !allowed.includes(optName)) {
        const all = [...new Set(Object.values(table).flat())].join(', ')
        throw unsupported(line, `${s.name} option ${optName} (supported: ${all})`)
      }
      num(3, 'option value')
      num(4, 'option length')
      break
    }
    case 'poll': {
      const list = arg(0)
      if (list.kind !== 'list') throw new ScriptError(line, 'poll() takes a list of {fd=N, events=..., revents=...}')
      for (const item of list.items) {
        const f = structFields(item)
        if (f.get('fd')?.kind !== 'int') throw new ScriptError(line, `poll() entries need fd=N, not ${exprText(item)}`)
        evaluateOr(f.get('events'), line, 'the events of poll()')
        evaluateOr(f.get('revents'), line, 'the revents of poll()')
      }
      num(1, 'count')
      num(2, 'timeout')
      break
    }
    case 'epoll_create':
      num(0, 'size')
      break
    case 'epoll_ctl': {
      fd()
      const op = arg(1)
      if (op.kind !== 'word' || !['EPOLL_CTL_ADD', 'EPOLL_CTL_MOD', 'EPOLL_CTL_DEL'].includes(op.name)) throw new ScriptError(line, `epoll_ctl() op must be EPOLL_CTL_ADD, _MOD or _DEL, not ${exprText(op)}`)
      fd(2)
      const ev = structFields(arg(3))
      if (op.name !== 'EPOLL_CTL_DEL') evaluateOr(ev.get('events'), line, 'the events of epoll_ctl()')
      break
    }
    case 'epoll_wait': {
      fd()
      const ev = structFields(arg(1))
      evaluateOr(ev.get('events'), line, 'the events of epoll_wait()')
      num(2, 'maxevents')
      num(3, 'timeout')
      break
    }
  }
}

function evaluateOr(e: Expr | undefined, line: number, what: string): number {
  if (e === undefined) throw new ScriptError(line, `missing ${what}`)
  try {
    return evaluate(e, line)
  } catch (error) {
    if (error instanceof ScriptError) throw new ScriptError(line, `${what}: ${error.detail}`)
    throw error
  }
}

