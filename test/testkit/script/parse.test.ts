// The parser: each construct of the language, and a clear "line N: ..." for
// each mistake. Scripts here are tiny; the real ones live in test/scripts/.
import { describe, expect, it } from 'vitest'
import type { PacketSpec, SyscallSpec } from '../../../src/testkit/script/ast'
import { ScriptError } from '../../../src/testkit/script/errors'
import { parseScript } from '../../../src/testkit/script/parse'
import { ACK, CWR, ECE, FIN, PSH, RST, SYN } from '../../../src/stack/wire/tcp'

/** The one event of `0 <line>` (or the last event of a longer script). */
function event(line: string) {
  const script = parseScript(line.startsWith('0') ? line : `0 ${line}`)
  return script.events[script.events.length - 1]!
}
const packet = (line: string) => event(line).action as PacketSpec
const call = (line: string) => event(line).action as SyscallSpec

/** The error a script gives, as `line N: detail`. */
function error(source: string): string {
  try {
    parseScript(source)
  } catch (e) {
    if (e instanceof ScriptError) return e.message
    throw e
  }
  throw new Error('the script parsed')
}

describe('times', () => {
  it('reads absolute, relative, ranges and any', () => {
    const s = parseScript('0 close(3) = 0\n+0.1 close(3) = 0\n+.25 close(3) = 0\n1.5 > . 1:1(0)\n+0~+.2 > . 1:1(0)\n2.1~2.3 > . 1:1(0)\n* > . 1:1(0)')
    expect(s.events.map(e => e.time)).toEqual([
      { kind: 'absolute', us: 0 },
      { kind: 'relative', us: 100_000 },
      { kind: 'relative', us: 250_000 },
      { kind: 'absolute', us: 1_500_000 },
      { kind: 'relative-range', us: 0, endUs: 200_000 },
      { kind: 'absolute-range', us: 2_100_000, endUs: 2_300_000 },
      { kind: 'any' },
    ])
    expect(s.events.map(e => e.line)).toEqual([1, 2, 3, 4, 5, 6, 7])
  })

  it('keeps the source line for messages', () => {
    expect(parseScript('// c\n0   close(3) = 0   \n').events[0]).toMatchObject({ line: 2, source: '0   close(3) = 0' })
  })

  it.each([
    ['1 close(3) = 0', 'line 1: the first event must be at time 0'],
    ['0 close(3) = 0\n2 close(3) = 0\n1 close(3) = 0', 'line 3: time goes backward in the script, from 2.000000 s to 1.000000 s'],
    ['0 close(3) = 0\n+0~+.1 close(3) = 0', 'line 2: a time range can only be used with outbound segments (>)'],
    ['0 close(3) = 0\n* < . 1:1(0) win 1', 'line 2: the time * can only be used with outbound segments (>)'],
    ['0 > . 1:1(0)\n+.2~+.1 > . 1:1(0)', 'line 2: the time range is backwards'],
    ['0 > . 1:1(0)\n+0~.2 > . 1:1(0)', 'line 2: a relative time range is written +START~+END'],
    ['0 close(3) = 0\nclose(3) = 0', "line 2: expected an event time (0, 0.100, +0.1, +0~+0.2, 0.1~0.3 or *), found 'close'"],
    ['// only a comment', 'line 1: the script has no events'],
  ])('refuses %j', (source, message) => {
    expect(error(source)).toBe(message)
  })
})

describe('segments', () => {
  it('reads flags, sequence numbers, ack, window and options', () => {
    expect(packet('< S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>')).toEqual({
      type: 'packet', direction: 'in', flags: SYN, flagsText: 'S', seq: 0, len: 0, win: 65535,
      options: [{ kind: 'mss', value: 1460 }, { kind: 'sackOK' }, { kind: 'TS', val: 100, ecr: 0 }, { kind: 'nop' }, { kind: 'wscale', value: 7 }],
    })
    expect(packet('> P. 1:1001(1000) ack 5 win 200')).toMatchObject({ direction: 'out', flags: PSH | ACK, seq: 1, len: 1000, ack: 5, win: 200, options: [] })
  })

  it('reads Fast Open options as packetdrill writes them: FO, FOEXP, with a hex cookie, TFO_COOKIE, or none (RFC 7413)', () => {
    expect(packet('< S 0:0(0) win 1 <mss 1460,FO,nop,nop>').options).toEqual([{ kind: 'mss', value: 1460 }, { kind: 'FO', cookie: '' }, { kind: 'nop' }, { kind: 'nop' }])
    expect(packet('< S 0:0(0) win 1 <FOEXP>').options).toEqual([{ kind: 'FOEXP', cookie: '' }])
    expect(packet('> S. 0:0(0) ack 1 <FO 00abaaabE8e954c2,nop,nop>').options).toEqual([{ kind: 'FO', cookie: '00abaaabe8e954c2' }, { kind: 'nop' }, { kind: 'nop' }])
    // TFO_COOKIE keeps its name: over IPv6 the runner gives it the IPv6 value (FAST_OPEN_DEFINES).
    expect(packet('< S 0:0(0) win 1 <FOEXP TFO_COOKIE>').options).toEqual([{ kind: 'FOEXP', cookie: '3021b9d889017eeb', define: 'TFO_COOKIE' }])
    expect(packet('< S 0:0(0) win 1 <FO 12345678,nop,nop>').options).toEqual([{ kind: 'FO', cookie: '12345678' }, { kind: 'nop' }, { kind: 'nop' }])
    expect(error('0 < S 0:0(0) win 1 <FO abc,nop>')).toBe('line 1: a Fast Open cookie is an even number of hex digits, not abc')
    expect(error('0 < S 0:0(0) win 1 <FO>')).toBe('line 1: TCP options take 2 bytes; pad them to a multiple of 4 with nop, as packetdrill requires')
  })

  it('reads flag combinations and - for none', () => {
    expect(packet('> FP. 1:11(10) ack 1').flags).toBe(FIN | PSH | ACK)
    expect(packet('> R. 0:0(0) ack 1').flags).toBe(RST | ACK)
    expect(packet('> S. 0:0(0) ack 1').flags).toBe(SYN | ACK)
    expect(packet('> . 1:1(0) ack 1')).toMatchObject({ flags: ACK, flagsText: '.' })
    expect(packet('> - 1:1(0)')).toMatchObject({ flags: 0, flagsText: '-' })
  })

  it('reads the ECN flags E (ECE) and W (CWR) and the IP header\'s ECN field (RFC 3168)', () => {
    expect(packet('> SEW 0:0(0) <...>')).toMatchObject({ flags: SYN | ECE | CWR, flagsText: 'SEW' })
    expect(packet('< SE. 0:0(0) ack 1 win 100').flags).toBe(SYN | ECE | ACK)
    expect(packet('> [ect0] P. 1:1001(1000) ack 1')).toMatchObject({ ecn: 'ect0', flags: PSH | ACK })
    expect(packet('< [ce] . 1:11(10) ack 1 win 100').ecn).toBe('ce')
    expect(packet('> . 1:1(0) ack 1').ecn).toBeUndefined() // not checked, as packetdrill
  })

  it('leaves out what the script leaves out: ack and win of an outbound segment are not checked', () => {
    const p = packet('> . 1:1(0)')
    expect(p.ack).toBeUndefined()
    expect(p.win).toBeUndefined()
  })

  it('reads <...> as any options, and sack blocks', () => {
    expect(packet('> S. 0:0(0) ack 1 <...>').options).toBeNull()
    expect(packet('< . 1:1(0) ack 1 win 100 <nop,nop,sack 101:201 301:401>').options).toEqual([
      { kind: 'nop' }, { kind: 'nop' }, { kind: 'sack', blocks: [[101, 201], [301, 401]] },
    ])
  })

  it('takes send flags written as a number when each bit is a flag it knows', () => {
    expect(() => parseScript('0 sendto(4, ..., 10, 0x20000000, ..., ...) = 10')).not.toThrow()
    expect(() => parseScript('0 send(4, ..., 10, 0x20000040) = 10')).not.toThrow() // MSG_FASTOPEN|MSG_DONTWAIT
    expect(error('0 send(4, ..., 10, 0x4000000) = 10')).toBe('line 1: unsupported: send() flag 67108864 (only MSG_EOR, MSG_DONTWAIT, MSG_FASTOPEN)')
  })

  it('reads an inbound ICMP error by its names (either family\'s), the MTU, the quoted segment', () => {
    const action = (src: string) => parseScript(src).events[0]!.action
    expect(action('0 < icmp unreachable frag_needed mtu 800 [0:1000(1000)]')).toEqual({
      type: 'icmp', message: 'unreachable', codeName: 'frag_needed', mtu: 800, quote: { seq: 0, len: 1000 },
    })
    expect(action('0 < icmp unreachable [5000:6000(1000)]')).toEqual({ type: 'icmp', message: 'unreachable', quote: { seq: 5000, len: 1000 } })
    // ICMPv6's names too: the wire's family picks the table when the line runs (icmp.ts).
    expect(action('0 < icmp unreachable admin_prohibited')).toEqual({ type: 'icmp', message: 'unreachable', codeName: 'admin_prohibited' })
    expect(action('0 < icmp packet_too_big mtu 1280')).toEqual({ type: 'icmp', message: 'packet_too_big', mtu: 1280 })
  })

  it('reads --ip_version ipv4-mapped-ipv6 and --mtu, and socket(AF_INET6, ...)', () => {
    const s = parseScript('--ip_version=ipv4-mapped-ipv6\n--mtu=1520\n0 socket(AF_INET6, SOCK_STREAM, IPPROTO_TCP) = 3')
    expect([s.options.ipVersion, s.options.mtu]).toEqual(['ipv4-mapped-ipv6', 1520])
    // An IPv6 address is one value, though the tokenizer cuts it at its colons.
    const v6 = parseScript('--local_ip=fd3d:fa7b:d17d::7 --remote_ip=2001:db8::1\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3')
    expect([v6.options.localIp, v6.options.remoteIp]).toEqual(['fd3d:fa7b:d17d::7', '2001:db8::1'])
  })

  it('reads explicit ports', () => {
    expect(packet('< 40001>8080 S 0:0(0) win 100')).toMatchObject({ srcPort: 40001, dstPort: 8080, flags: SYN })
  })

  it.each([
    ['0 < . 1:1(0) ack 1', 'line 1: an inbound segment needs its window: win N'],
    ['--ip_version=ipv7\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3', 'line 1: --ip_version must be ipv4, ipv4-mapped-ipv6, ipv6, not ipv7'],
    ['--mtu=100\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3', 'line 1: --mtu must be a whole number from 576 to 65535, not 100'],
    ['0 socket(AF_UNIX, SOCK_STREAM, IPPROTO_TCP) = 3', 'line 1: unsupported: socket domain AF_UNIX (only ..., AF_INET or AF_INET6)'],
    ['0 < S 0:0(0) win 1 <...>', 'line 1: <...> for TCP options can only be used with outbound segments'],
    ['0 > . 1:5(3)', 'line 1: inconsistent sequence numbers and payload length: end must be start + length'],
    ['0 > . 1:1(0) win 70000', 'line 1: window 70000 out of range (0 to 65535)'],
    ['0 > X. 1:1(0)', `line 1: invalid TCP flag 'X' in "X."`],
    ['0 > AE. 1:1(0)', "line 1: unsupported: TCP flag 'A' (AccECN's AE bit)"],
    ['0 > . 1:1', "line 1: expected '(' in start:end(length), found the end of the script"],
    ['0 < S 0:0(0) win 1 <mss 1460,nop>', 'line 1: TCP options take 5 bytes; pad them to a multiple of 4 with nop, as packetdrill requires'],
    ['0 < S 0:0(0) win 1 <md5 abc>', 'line 1: unsupported: TCP option md5'],
    ['0 < S 0:0(0) win 1 <frob 1>', 'line 1: unknown TCP option frob'],
    ['0 < S 0:0(0) win 1 <TS 1 2,nop,nop>', 'line 1: timestamps are written TS val N ecr N'],
    ['0 > udp (10)', 'line 1: unsupported: udp packets (only TCP segments)'],
    ['0 > icmp unreachable', 'line 1: unsupported: icmp packets (only TCP segments)'],
    ['0 < icmp echo_request', 'line 1: unsupported: icmp echo_request (only unreachable, packet_too_big)'],
    ['0 < icmp unreachable frob', 'line 1: unknown ICMP unreachable code frob (net_unreachable, host_unreachable, protocol_unreachable, port_unreachable, frag_needed, source_route_failed, net_unknown, host_unknown, source_host_isolated, net_prohibited, host_prohibited, net_unreachable_for_tos, host_unreachable_for_tos, packet_filtered, precedence_violation, precedence_cutoff, no_route, admin_prohibited, not_neighbour, address_unreachable)'],
    ['0 < icmp packet_too_big frob', 'line 1: unknown ICMP packet_too_big code frob (it has none)'],
    ['0 > . 1:1(0) urg 1', 'line 1: unsupported: urg (urgent pointer)'],
    ['0 > [ecn 1] . 1:1(0)', 'line 1: unsupported: IP header fields (tos, ttl, flowlabel) on a segment (only the ECN field: [noecn], [ect0], [ect1], [ce], [ect01])'],
    ['0 close(3) = 0\n\n+0 > . 99999999999:99999999999(0)', 'line 3: start sequence number 99999999999 out of range (0 to 4294967295)'],
  ])('refuses %j', (source, message) => {
    expect(error(source)).toBe(message)
  })
})

describe('system calls', () => {
  it('reads arguments, ... and the result', () => {
    expect(call('socket(..., SOCK_STREAM, IPPROTO_TCP) = 3')).toEqual({
      type: 'syscall', name: 'socket', endUs: null, result: { kind: 'int', value: 3 },
      args: [{ kind: 'ellipsis' }, { kind: 'word', name: 'SOCK_STREAM' }, { kind: 'word', name: 'IPPROTO_TCP' }],
    })
    expect(call('setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0').args[3]).toEqual({ kind: 'list', items: [{ kind: 'int', value: 1 }] })
    expect(call('fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0').args[2]).toEqual({
      kind: 'or', left: { kind: 'word', name: 'O_RDWR' }, right: { kind: 'word', name: 'O_NONBLOCK' },
    })
  })

  it('reads errno with or without the strerror note', () => {
    expect(call('read(4, ..., 10) = -1 ECONNRESET (Connection reset by peer)')).toMatchObject({ result: { kind: 'int', value: -1 }, errno: 'ECONNRESET' })
    expect(call('read(4, ..., 10) = -1 EAGAIN')).toMatchObject({ errno: 'EAGAIN' })
  })

  it('reads a blocking call T...END', () => {
    expect(event('0 close(3) = 0\n+0...0.200 accept(3, ..., ...) = 4')).toMatchObject({
      time: { kind: 'relative', us: 0 }, action: { name: 'accept', endUs: 200_000 },
    })
  })

  it.each([
    ['0 frob(3) = 0', 'line 1: unsupported: system call frob() (supported: socket, bind, listen, accept, connect, read, write, recv, send, sendto, sendmsg, recvmsg, shutdown, close, fcntl, ioctl, setsockopt, getsockopt, poll, epoll_create, epoll_ctl, epoll_wait)'],
    ['0 close(3, 4) = 0', 'line 1: close() takes 1 arguments, not 2'],
    ['0 close(3)', "line 1: expected '=' in the expected result: close(...) = N, found the end of the script"],
    ['0 read(4, ..., 10) = -1 EFROB', 'line 1: unknown errno EFROB'],
    ['0 setsockopt(3, SOL_SOCKET, SO_LINGER, [1], 4) = 0', 'line 1: unsupported: setsockopt option SO_LINGER (supported: SO_REUSEADDR, SO_KEEPALIVE, SO_SNDBUF, SO_RCVBUF, TCP_NODELAY, TCP_CORK, TCP_NOTSENT_LOWAT, TCP_USER_TIMEOUT, TCP_INQ, TCP_FASTOPEN, TCP_KEEPIDLE, TCP_SYNCNT, TCP_FASTOPEN_CONNECT)'],
    ['0 setsockopt(3, IPPROTO_TCP, TCP_CONGESTION, "cubic", 5) = 0', 'line 1: unsupported: setsockopt option TCP_CONGESTION (supported: SO_REUSEADDR, SO_KEEPALIVE, SO_SNDBUF, SO_RCVBUF, TCP_NODELAY, TCP_CORK, TCP_NOTSENT_LOWAT, TCP_USER_TIMEOUT, TCP_INQ, TCP_FASTOPEN, TCP_KEEPIDLE, TCP_SYNCNT, TCP_FASTOPEN_CONNECT)'],
    ['0 setsockopt(3, SOL_TCP, TCP_MAXSEG, [1000], 4) = 0', 'line 1: unsupported: setsockopt option TCP_MAXSEG (supported: SO_REUSEADDR, SO_KEEPALIVE, SO_SNDBUF, SO_RCVBUF, TCP_NODELAY, TCP_CORK, TCP_NOTSENT_LOWAT, TCP_USER_TIMEOUT, TCP_INQ, TCP_FASTOPEN, TCP_KEEPIDLE, TCP_SYNCNT, TCP_FASTOPEN_CONNECT)'],
    ['0 send(4, ..., 1, MSG_ZEROCOPY) = 1', 'line 1: unsupported: send() flag MSG_ZEROCOPY (only MSG_EOR, MSG_DONTWAIT, MSG_FASTOPEN)'],
    ['0 ioctl(4, SIOCATMARK, [0]) = 0', 'line 1: unsupported: ioctl() request SIOCATMARK (only SIOCINQ, FIONREAD, SIOCOUTQ, SIOCOUTQNSD)'],
    ['0 recvmsg(4, {msg_iov(1)=[{..., 1}], msg_control=[{cmsg_level=SOL_SOCKET, cmsg_type=SCM_TIMESTAMPING, cmsg_data=0}]}, 0) = 1', 'line 1: unsupported: recvmsg() control message SCM_TIMESTAMPING (only TCP_CM_INQ)'],
    ['0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3', 'line 1: unsupported: socket type SOCK_DGRAM (only SOCK_STREAM)'],
    ['0 bind(3, {sin_family=AF_INET}, 16) = 0', 'line 1: unsupported: bind() with an explicit address ({sin_family=AF_INET}): write ... as packetdrill does'],
    ['0 shutdown(4, 7) = 0', 'line 1: shutdown() how must be SHUT_RD, SHUT_WR or SHUT_RDWR, not 7'],
    ['0 listen(3, FROB) = 0', 'line 1: the backlog of listen(): unknown symbol FROB'],
    ['0 `sysctl -q net.ipv4.tcp_frob=0`', "line 1: unsupported: sysctl net.ipv4.tcp_frob is not in tuntcp's table (docs/scripts.md, \"Shell lines\")"],
    ['0 close(3) = 0\n+0 `rm -rf /`', 'line 2: unsupported: shell command rm (`rm -rf /`): the runner never runs commands; it understands defaults.sh, set_sysctls.py, sysctl and the no-ops of docs/scripts.md'],
    ['0 close(3) = 0\n+0 %{ import os }%', 'line 2: unsupported Python: the statement or keyword import (the runner evaluates assert, assignments, print() and expressions of tcpi_ fields (docs/scripts.md))'],
  ])('refuses %j', (source, message) => {
    expect(error(source)).toBe(message)
  })
})

describe('options', () => {
  it('reads packetdrill options before the first event', () => {
    const s = parseScript('--tolerance_usecs=10000\n--local_ip=10.0.0.2\n--bind_port=80\n0 close(3) = 0')
    expect(s.options).toMatchObject({ toleranceUs: 10_000, localIp: '10.0.0.2', bindPort: 80, remoteIp: '192.0.2.1' })
  })

  it('reads the stack tunables of src/stack/tcp/config.ts as --tcp_<name>', () => {
    const s = parseScript('--tcp_rcv_buf_size=4000\n--tcp_msl_ms=1000\n--tcp_syn_cookies=false\n--tcp_congestion_control=newreno\n0 close(3) = 0')
    expect(s.options.tcp).toEqual({ rcvBufSize: 4000, mslMs: 1000, synCookies: false, congestionControl: 'newreno' })
  })

  it.each([
    ['--frob=1\n0 close(3) = 0', 'line 1: unsupported: option --frob'],
    ['--tolerance_usecs=x\n0 close(3) = 0', 'line 1: --tolerance_usecs must be a whole number from 0 to 60000000, not x'],
    ['--local_ip=10.0.0\n0 close(3) = 0', 'line 1: --local_ip must be an IPv4 or IPv6 address, not 10.0'],
    ['--tcp_msl_ms=fast\n0 close(3) = 0', 'line 1: --tcp_msl_ms must be a whole number, not fast'],
    ['--tcp_sack=maybe\n0 close(3) = 0', 'line 1: --tcp_sack must be true or false, not maybe'],
    ['--tcp_congestion_control=vegas\n0 close(3) = 0', 'line 1: --tcp_congestion_control must be one of newreno, cubic, bbr, not vegas'],
    ['0 close(3) = 0\n--tolerance_usecs=1', 'line 2: --tolerance_usecs must come before the first event'],
  ])('refuses %j', (source, message) => {
    expect(error(source)).toBe(message)
  })

  it('names the known tunables when one is misspelt', () => {
    expect(error('--tcp_msl=1\n0 close(3) = 0')).toMatch(/^line 1: unknown option --tcp_msl \(the stack's tunables are --tcp_msl_ms, --tcp_fin_wait2_timeout_ms, /)
  })
})
