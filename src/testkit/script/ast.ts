// A parsed script: its options and its events, each event a time and an action
// (a TCP segment in or out, or a system call). Times are in microseconds, as in
// packetdrill; relative times are resolved only when the script runs.

import type { TcpConfig } from '../../stack/tcp/config.js'
import type { PyStmt } from './python.js'
import type { ShellEffect } from './shell.js'

export type EventTime =
  /** `0.100`: that many microseconds after the script started. */
  | { kind: 'absolute'; us: number }
  /** `+0.1`: after the previous event. */
  | { kind: 'relative'; us: number }
  /** `0.1~0.3`: anywhere in the range (outbound segments only). */
  | { kind: 'absolute-range'; us: number; endUs: number }
  /** `+0~+.2`: anywhere in the range after the previous event (outbound segments only). */
  | { kind: 'relative-range'; us: number; endUs: number }
  /** `*`: any time (outbound segments only). */
  | { kind: 'any' }

/** One TCP option in a segment, in the order written. */
export type TcpOptionSpec =
  | { kind: 'nop' }
  | { kind: 'eol' }
  | { kind: 'mss'; value: number }
  | { kind: 'wscale'; value: number }
  | { kind: 'sackOK' }
  | { kind: 'sack'; blocks: Array<[number, number]> }
  | { kind: 'TS'; val: number; ecr: number }
  /**
   * Fast Open (RFC 7413): kind 34 (`FO`) or 254 with ExID 0xF989 (`FOEXP`); cookie in lower-case hex, '' for a request;
   * `define`: the name it was written as (TFO_COOKIE), whose value depends on the wire's family.
   */
  | { kind: 'FO' | 'FOEXP'; cookie: string; define?: string }

export interface PacketSpec {
  type: 'packet'
  direction: 'in' | 'out'
  /** Explicit ports (`< 40000>8080 S ...`); usually absent. */
  srcPort?: number
  dstPort?: number
  /** The control bits (FIN, SYN, RST, PSH, ACK as in wire/tcp.ts). */
  flags: number
  /** The flags as written: `S.`, `F.`, `.`, `-` for none. */
  flagsText: string
  /** Start sequence number (relative, see docs/scripts.md) and payload length. */
  seq: number
  len: number
  /** `ack N`: absent means 0 inbound and "not checked" outbound. */
  ack?: number
  /** `win N`: required inbound; absent means "not checked" outbound. */
  win?: number
  /** The options, or null for `<...>` (outbound only: any options). Empty: none at all. */
  options: TcpOptionSpec[] | null
  /**
   * The IP header's ECN field, `[noecn]`, `[ect0]`, `[ect1]`, `[ce]` or `[ect01]` (either ECT)
   * before the flags (RFC 3168 5). Absent: Not-ECT inbound, not checked outbound, as packetdrill.
   */
  ecn?: EcnSpec
}

export type EcnSpec = 'noecn' | 'ect0' | 'ect1' | 'ce' | 'ect01'

/** An expression in a system call, in packetdrill's C-like syntax. */
export type Expr =
  | { kind: 'ellipsis' }
  | { kind: 'int'; value: number }
  | { kind: 'word'; name: string }
  | { kind: 'string'; value: string }
  | { kind: 'list'; items: Expr[] }
  | { kind: 'struct'; items: Expr[] }
  | { kind: 'or'; left: Expr; right: Expr }
  | { kind: 'assign'; name: string; value: Expr }
  | { kind: 'call'; name: string; args: Expr[] }

export interface SyscallSpec {
  type: 'syscall'
  name: string
  args: Expr[]
  /** `T...END call()`: a blocking call that must return at END (µs; relative if T is). Null: no end time given. */
  endUs: number | null
  /** The expected return value. */
  result: Expr
  /** The expected errno name (`-1 ECONNRESET`), if any. */
  errno?: string
}

/** A backquoted shell line after the script started: its settings apply at its time (shell.ts). */
export interface ShellSpec {
  type: 'shell'
  command: string
  effects: ShellEffect[]
}

/** A `%{ ... }%` block: its statements run at its time against the socket under test (code.ts). */
export interface CodeSpec {
  type: 'code'
  statements: PyStmt[]
}

export interface ScriptEvent {
  /** Line of the event's time, 1-based. */
  line: number
  /** The source line, trimmed, for messages. */
  source: string
  time: EventTime
  action: PacketSpec | IcmpSpec | SyscallSpec | ShellSpec | CodeSpec
}

/**
 * An inbound ICMP error (`< icmp unreachable frag_needed mtu 800 [0:1000(1000)]`): from the
 * script's address, quoting the IP header and the first 8 bytes of a segment the stack sent on
 * the connection under test, at `seq` (relative, as a `>` line numbers it; absent: the last one
 * it sent). The names are packetdrill's, read in the wire family's table when it runs (icmp.ts):
 * ICMPv4 over IPv4, ICMPv6 over IPv6.
 */
export interface IcmpSpec {
  type: 'icmp'
  /** The message type's name: unreachable, or packet_too_big (IPv6). */
  message: string
  /** The code's name as written (net_unreachable, port_unreachable, frag_needed, ...); absent: code 0. */
  codeName?: string
  /** The MTU: of the next hop for frag_needed (RFC 1191 4), or of Packet Too Big (RFC 4443 3.2). */
  mtu?: number
  /** The quoted segment's start and length, as [start:end(length)]. */
  quote?: { seq: number; len: number }
}

/** packetdrill's --ip_version values (config.c): the wire's family, and the sockets'. */
export const IP_VERSIONS = ['ipv4', 'ipv4-mapped-ipv6', 'ipv6'] as const
export type IpVersion = typeof IP_VERSIONS[number]

export interface ScriptOptions {
  /** --tolerance_usecs: how far an event may be from its time (µs). Default 4000, as in packetdrill. */
  toleranceUs: number
  /** --tolerance_percent: a tolerance that grows with the gap since the previous event. Default 0. */
  tolerancePercent: number
  /**
   * --ip_version: the scripts' packets are IPv4 (the default) or IPv6 (RFC 8200) on the wire;
   * ipv4-mapped-ipv6: IPv4 on the wire, the sockets IPv6 ones seeing IPv4-mapped addresses.
   */
  ipVersion: IpVersion
  /** --mtu: the link's MTU, which the stack's MSS follows. Default 1500, as packetdrill's tun device. */
  mtu: number
  /** --local_ip: the stack's address. Default 192.168.0.1 (IPv6: fd3d:fa7b:d17d::). */
  localIp: string
  /** --remote_ip: the script's (the peer's) address. Default 192.0.2.1 (IPv6: 2001:db8::1, RFC 3849's documentation prefix). */
  remoteIp: string
  /** --bind_port: the port bind() and listen() use. Default 8080. */
  bindPort: number
  /** --connect_port: the port connect() goes to. Default 8080. */
  connectPort: number
  /** --mss: inbound segments longer than this are injected cut into segments of this size (packetdrill's gso_size), or 0. */
  mss: number
  /**
   * tuntcp's own options, `--tcp_rcv_buf_size=4096`: a tunable of
   * src/stack/tcp/config.ts, in snake case after `tcp_`, for this script's stack.
   */
  tcp: Partial<TcpConfig>
}

export const DEFAULT_OPTIONS: ScriptOptions = {
  toleranceUs: 4000,
  tolerancePercent: 0,
  ipVersion: 'ipv4',
  mtu: 1500,
  localIp: '192.168.0.1',
  remoteIp: '192.0.2.1',
  bindPort: 8080,
  connectPort: 8080,
  mss: 0,
  tcp: {},
}

export interface Script {
  options: ScriptOptions
  /** What the shell lines before the first event set (defaults.sh, sysctls): the stack starts with it. */
  setup: ShellEffect[]
  events: ScriptEvent[]
}
