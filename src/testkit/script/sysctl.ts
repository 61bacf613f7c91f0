// Linux's TCP sysctls as a script sets them (`sysctl -q net.ipv4.tcp_sack=0`,
// set_sysctls.py, defaults.sh), and what each means for tuntcp: a tunable of
// src/stack/tcp/config.ts, a behaviour tuntcp has fixed at one value, or a
// feature tuntcp lacks, so the setting changes nothing here. Nothing is ever
// written to the host: the setting goes to the stack under test. The table is the
// single truth for the runner and for docs/scripts.md ("Shell lines").

import { DEFAULT_TCP_CONFIG, type FastOpenConfig, type TcpConfig } from '../../stack/tcp/config.js'

/** What applying one `name=value` gives: settings for the stack, or why it is refused. */
export type SysctlResult =
  | {
      ok: true
      patch: Partial<TcpConfig>
      /** Set when tuntcp does not honour this value (it behaves as Linux does with another): shown with -v. */
      note?: string
    }
  | { ok: false; reason: string }

export interface SysctlEntry {
  /** How it maps, in one line, for docs/scripts.md. */
  doc: string
  apply(value: string, config: TcpConfig): SysctlResult
}

const ok = (patch: Partial<TcpConfig>, note?: string): SysctlResult => (note === undefined ? { ok: true, patch } : { ok: true, patch, note })
const refuse = (reason: string): SysctlResult => ({ ok: false, reason })

/** A sysctl integer: decimal or 0x hex (set_sysctls.py /proc/sys/net/ipv4/tcp_fastopen=0x207). */
export function sysctlInt(value: string): number | null {
  const v = value.trim()
  if (/^\d+$/.test(v)) return Number(v)
  if (/^0x[0-9a-f]+$/i.test(v)) return parseInt(v.slice(2), 16)
  return null
}

/** A tunable of TcpConfig from an integer, scaled (seconds to ms) and range-checked. */
function int(key: keyof TcpConfig, doc: string, opts: { min?: number; max?: number; scale?: number } = {}): SysctlEntry {
  const { min = 0, max = 2 ** 31 - 1, scale = 1 } = opts
  return {
    doc,
    apply(value) {
      const n = sysctlInt(value)
      if (n === null || n < min || n > max) return refuse(`must be a whole number from ${min} to ${max}`)
      return ok({ [key]: n * scale })
    },
  }
}

/** A boolean tunable from 0 or 1 (and any other listed values meaning on). */
function flag(key: keyof TcpConfig, doc: string, alsoOn: number[] = []): SysctlEntry {
  return {
    doc,
    apply(value) {
      const n = sysctlInt(value)
      if (n === 0) return ok({ [key]: false })
      if (n === 1 || (n !== null && alsoOn.includes(n))) return ok({ [key]: true })
      return refuse(`must be 0 or 1${alsoOn.length > 0 ? ` (or ${alsoOn.join(', ')})` : ''}`)
    },
  }
}

/**
 * Linux's buffer triple "min default max": a socket starts with the default; the maximum,
 * when `maxKey` is given, goes there (tcp_rmem's max sets the window scale).
 */
function buffer(key: 'rcvBufSize' | 'sndBufSize', doc: string, maxKey?: 'rcvBufMax'): SysctlEntry {
  return {
    doc,
    apply(value) {
      const parts = value.trim().split(/\s+/).map(sysctlInt)
      if (parts.length !== 3 || parts.some(p => p === null || p <= 0)) return refuse('must be three byte counts "min default max"')
      return ok(maxKey === undefined ? { [key]: parts[1]! } : { [key]: parts[1]!, [maxKey]: parts[2]! })
    },
  }
}

/**
 * A behaviour tuntcp has at one setting only. `same` are the values that describe
 * tuntcp; another value is refused, or with `differs` accepted and reported as
 * not honoured (Linux's defaults.sh sets these: issue 12's Linux profile is where they go).
 */
function fixed(doc: string, same: number[], differs?: string): SysctlEntry {
  return {
    doc,
    apply(value) {
      const n = sysctlInt(value)
      if (n !== null && same.includes(n)) return ok({})
      if (differs !== undefined && n !== null) return ok({}, `not honoured: ${differs}`)
      return refuse(`tuntcp only behaves as ${same.join(' or ')}: ${doc}`)
    },
  }
}

/** A setting of something tuntcp does not have: accepted, and changes nothing. */
function noEffect(why: string, accept: (n: number | null) => string | null = () => null): SysctlEntry {
  return {
    doc: `no effect in tuntcp: ${why}`,
    apply(value) {
      const wrong = accept(sysctlInt(value))
      return wrong === null ? ok({}, `no effect in tuntcp: ${why}`) : refuse(wrong)
    },
  }
}

// The bits of net.ipv4.tcp_fastopen (include/net/tcp.h).
const TFO_CLIENT_ENABLE = 0x1
const TFO_SERVER_ENABLE = 0x2
const TFO_CLIENT_NO_COOKIE = 0x4
const TFO_SERVER_COOKIE_NOT_REQD = 0x200
const TFO_SERVER_WO_SOCKOPT1 = 0x400
const TFO_KNOWN_BITS = TFO_CLIENT_ENABLE | TFO_SERVER_ENABLE | TFO_CLIENT_NO_COOKIE | TFO_SERVER_COOKIE_NOT_REQD | TFO_SERVER_WO_SOCKOPT1
/** tcp_fastopen_key as Linux prints it (proc_tcp_fastopen_key, net/ipv4/sysctl_net_ipv4.c). */
const FAST_OPEN_KEY = /^[0-9a-f]{8}(?:-[0-9a-f]{8}){3}(?:,[0-9a-f]{8}(?:-[0-9a-f]{8}){3})?$/

/** The Fast Open switches a tcp_fastopen value sets. */
export function fastOpenFromSysctl(n: number): FastOpenConfig {
  return {
    client: (n & TFO_CLIENT_ENABLE) !== 0,
    server: (n & TFO_SERVER_ENABLE) !== 0,
    clientNoCookie: (n & TFO_CLIENT_NO_COOKIE) !== 0,
    serverNoCookie: (n & TFO_SERVER_COOKIE_NOT_REQD) !== 0,
    serverAllListeners: (n & TFO_SERVER_WO_SOCKOPT1) !== 0,
  }
}

/** Every sysctl a script may set, by its name under net.ipv4. */
export const SYSCTLS: Readonly<Record<string, SysctlEntry>> = {
  tcp_timestamps: flag('timestamps', 'timestamps offered in our SYNs (RFC 7323 3); 2 (no random offset) counts as 1: scripts see TS vals relative to the first', [2]),
  tcp_sack: flag('sack', 'SACK-permitted offered in our SYNs (RFC 2018)'),
  tcp_window_scaling: flag('windowScaling', 'window scaling offered in our SYNs (RFC 7323 2)'),
  tcp_rmem: buffer('rcvBufSize', 'rcvBufSize: the middle value, the receive buffer a socket starts with (Linux grows it towards max by autotuning; tuntcp does not); rcvBufMax: the max, which our window scale covers, as Linux\'s tcp_select_initial_window (15 MiB: a shift of 8)', 'rcvBufMax'),
  tcp_wmem: buffer('sndBufSize', 'sndBufSize: the middle value, the send buffer a socket starts with'),
  tcp_syn_retries: int('synRetries', 'synRetries: SYN retransmissions before ETIMEDOUT', { min: 1, max: 127 }),
  tcp_synack_retries: {
    doc: 'tuntcp counts SYN and SYN,ACK retransmissions with one number (synRetries): accepted when it equals tcp_syn_retries',
    apply(value, config) {
      const n = sysctlInt(value)
      if (n === config.synRetries) return ok({})
      return refuse(`tuntcp retransmits SYN,ACKs as often as SYNs (tcp_syn_retries, now ${config.synRetries}): set both to one value`)
    },
  },
  tcp_retries2: int('dataRetries', 'dataRetries: data retransmissions before ETIMEDOUT (Linux turns the count into a time as if the RTO doubled from 200 ms; the same when it does)', { min: 1, max: 255 }),
  tcp_fin_timeout: int('finWait2TimeoutMs', 'finWait2TimeoutMs, in seconds: how long an orphaned FIN-WAIT-2 waits', { min: 1, scale: 1000 }),
  tcp_keepalive_time: int('keepaliveIdleMs', 'keepaliveIdleMs, in seconds: idle time before the first keepalive probe', { min: 1, scale: 1000 }),
  tcp_keepalive_intvl: int('keepaliveIntervalMs', 'keepaliveIntervalMs, in seconds: between keepalive probes', { min: 1, scale: 1000 }),
  tcp_keepalive_probes: int('keepaliveProbes', 'keepaliveProbes: unanswered probes before the connection is dropped', { min: 1, max: 127 }),
  tcp_max_syn_backlog: int('synBacklog', 'synBacklog: half-open connections per listener', { min: 1 }),
  tcp_challenge_ack_limit: int('challengeAckLimit', 'challengeAckLimit: RFC 5961 challenge ACKs per second'),
  tcp_rto_min_us: {
    doc: 'minRtoMs, from microseconds (whole milliseconds only: the timer wheel ticks in ms)',
    apply(value) {
      const n = sysctlInt(value)
      if (n === null || n < 1000 || n % 1000 !== 0) return refuse('must be a whole number of milliseconds, in microseconds (200000)')
      return ok({ minRtoMs: n / 1000 })
    },
  },
  tcp_syncookies: {
    doc: 'synCookies: 1 answers with SYN cookies once the SYN queue is full, 0 never; 2 (always) is refused',
    apply(value) {
      const n = sysctlInt(value)
      if (n === 0 || n === 1) return ok({ synCookies: n === 1 })
      return refuse('tuntcp sends SYN cookies only when the SYN queue is full: 0 or 1')
    },
  },
  tcp_congestion_control: {
    doc: 'congestionControl: cubic, or reno (tuntcp\'s newreno, RFC 6582, which Linux\'s reno is)',
    apply(value) {
      const v = value.trim()
      if (v === 'cubic') return ok({ congestionControl: 'cubic' })
      if (v === 'reno') return ok({ congestionControl: 'newreno' })
      return refuse('tuntcp has cubic and reno (newreno)')
    },
  },
  tcp_reordering: fixed('the DupThresh a connection starts with is 3 (RFC 5681); reordering seen raises it', [3]),
  tcp_notsent_lowat: fixed('tuntcp has no TCP_NOTSENT_LOWAT: all unsent data counts as writable room, as 4294967295 (no limit)', [0xffffffff]),
  tcp_ecn: {
    doc: 'ecn: ECN (RFC 3168): 0 never, 1 asked for in our SYNs and agreed to when asked, 2 agreed to only when asked (the default)',
    apply(value) {
      const n = sysctlInt(value)
      if (n === 0 || n === 1 || n === 2) return ok({ ecn: n })
      return refuse('tuntcp has classic ECN (RFC 3168) only: 0, 1 or 2 (3 and up are AccECN)')
    },
  },
  tcp_slow_start_after_idle: fixed('tuntcp restarts from the initial window after an idle RTO (RFC 5681 4.1), as 1', [1], 'tuntcp restarts slow start after idle (RFC 5681 4.1), as tcp_slow_start_after_idle=1'),
  tcp_frto: fixed('tuntcp has no F-RTO (RFC 5682): after an RTO it resends go-back-N and undoes a spurious one by timestamps (RFC 4015), as 0', [0], 'tuntcp has no F-RTO (RFC 5682), as tcp_frto=0'),
  tcp_dsack: fixed('tuntcp sends a D-SACK block for a duplicate segment and uses those it receives (RFC 2883), as 1', [1], 'tuntcp always sends and uses D-SACK blocks (RFC 2883), as tcp_dsack=1'),
  tcp_early_retrans: fixed('tuntcp sends tail loss probes (RFC 8985 7), as 3 or 4', [3, 4], 'tuntcp always sends tail loss probes (RFC 8985 7), as tcp_early_retrans=3'),
  tcp_recovery: fixed('tuntcp marks losses by RACK\'s reordering window once reordering is seen (RFC 8985), as 1', [1], 'tuntcp uses RACK\'s reordering window once reordering is seen, as tcp_recovery=1'),
  tcp_fack: noEffect('FACK is gone from Linux itself (4.15) and was never in tuntcp'),
  tcp_ecn_option: noEffect('the AccECN option is used only on AccECN connections, and tuntcp has classic ECN only (RFC 3168)'),
  tcp_tso_win_divisor: noEffect('the script\'s link has no segmentation offload, so nothing waits to build a large TSO segment'),
  tcp_min_tso_segs: int('minTsoSegs', 'minTsoSegs: with pushBursts (the Linux profile), the fewest segments of a packet of a burst, which ends with PSH (Linux\'s TSO autosizing)', { min: 1, max: 255 }),
  tcp_pacing_ss_ratio: noEffect('tuntcp does not pace'),
  tcp_pacing_ca_ratio: noEffect('tuntcp does not pace'),
  tcp_min_rtt_wlen: int('minRttWindowMs', 'minRttWindowMs, in seconds: how long tcpi_min_rtt holds its minimum (RACK keeps its own min_RTT, RFC 8985)', { min: 0, max: 86_400, scale: 1000 }),
  tcp_fastopen: {
    doc: 'fastOpen, from the bits: 0x1 client, 0x2 server, 0x4 client data without a cookie, 0x200 server data without a cookie, 0x400 every listener as if TCP_FASTOPEN were set (queue = backlog); the bits from 0x10000 up (an old form of 0x400\'s queue length) change nothing',
    apply(value) {
      const n = sysctlInt(value)
      if (n === null) return refuse('must be a number (a bit mask such as 0x203)')
      const unknown = n & 0xffff & ~TFO_KNOWN_BITS
      if (unknown !== 0) return refuse(`bits 0x${unknown.toString(16)} are not among the ones tuntcp knows (0x1 0x2 0x4 0x200 0x400)`)
      return ok({ fastOpen: fastOpenFromSysctl(n) })
    },
  },
  tcp_fastopen_key: {
    doc: 'fastOpenKey: the server\'s cookie key, four groups of 8 hex digits, and perhaps a backup key after a comma (it still checks cookies)',
    apply(value) {
      const v = value.trim().toLowerCase()
      if (!FAST_OPEN_KEY.test(v)) return refuse('must be a key of four groups of 8 hex digits, a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4, and perhaps a backup key after a comma')
      return ok({ fastOpenKey: v })
    },
  },
  tcp_fastopen_blackhole_timeout_sec: noEffect('tuntcp\'s client does not detect middleboxes that drop Fast Open SYNs'),
}

/** `net.ipv4.tcp_sack` or `net/ipv4/tcp_sack` (from /proc/sys/net/ipv4/tcp_sack) as the table's key, or null. */
export function sysctlKey(name: string): string | null {
  const m = /^net[./]ipv4[./](tcp_[a-z0-9_]+)$/.exec(name)
  return m === null ? null : m[1]!
}

/** Apply `name=value` (name as sysctl writes it) to `config`: settings, or why not. */
export function applySysctl(name: string, value: string, config: TcpConfig = DEFAULT_TCP_CONFIG): SysctlResult {
  const key = sysctlKey(name)
  const entry = key === null ? undefined : SYSCTLS[key]
  if (entry === undefined) return refuse(`sysctl ${name} is not in tuntcp's table (docs/scripts.md, "Shell lines")`)
  const result = entry.apply(value, config)
  return result.ok ? result : refuse(`sysctl ${name}=${value}: ${result.reason}`)
}

/**
 * The values Linux's packetdrill defaults.sh (gtests/net/common/defaults.sh) sets,
 * used when a script names it and the file is not there to read. Written from
 * reading it, as data: [sysctl name, value].
 */
export const LINUX_DEFAULTS: ReadonlyArray<readonly [string, string]> = [
  ['net.ipv4.tcp_rmem', '4096 540000 15728640'],
  ['net.ipv4.tcp_wmem', '4096 262144 4194304'],
  ['net.ipv4.tcp_timestamps', '1'],
  ['net.ipv4.tcp_syn_retries', '5'],
  ['net.ipv4.tcp_synack_retries', '5'],
  ['net.ipv4.tcp_frto', '2'],
  ['net.ipv4.tcp_sack', '1'],
  ['net.ipv4.tcp_dsack', '1'],
  ['net.ipv4.tcp_fack', '0'],
  ['net.ipv4.tcp_reordering', '3'],
  ['net.ipv4.tcp_congestion_control', 'cubic'],
  ['net.ipv4.tcp_slow_start_after_idle', '0'],
  ['net.ipv4.tcp_early_retrans', '4'],
  ['net.ipv4.tcp_recovery', '1'],
  ['net.ipv4.tcp_tso_win_divisor', '3'],
  ['net.ipv4.tcp_ecn', '0'],
  ['net.ipv4.tcp_ecn_option', '2'],
  ['net.ipv4.tcp_pacing_ss_ratio', '200'],
  ['net.ipv4.tcp_pacing_ca_ratio', '120'],
  ['net.ipv4.tcp_notsent_lowat', '4294967295'],
  ['net.ipv4.tcp_fastopen', '0x70403'],
  ['net.ipv4.tcp_fastopen_key', 'a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4'],
  ['net.ipv4.tcp_syncookies', '1'],
]
