// The runner under packetdrill's three --ip_version values: ipv4, ipv6, and ipv4-mapped-ipv6
// (IPv4 on the wire, AF_INET6 sockets that see ::ffff: addresses), the ICMP lines of each
// family, --mtu, and TFO_COOKIE's value per family. Scripts are inline and short.
import { describe, expect, it } from 'vitest'
import type { Stack } from '../../../src/stack/stack'
import { runScriptSource, type RunOptions } from '../../../src/testkit/script/index'

const PASSIVE = `
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  bind(3, ..., ...) = 0
+0  listen(3, 1) = 0
+0  < S 0:0(0) win 65535 <mss 1460>
+0  > S. 0:0(0) ack 1 <mss 1460>
+.1 < . 1:1(0) ack 1 win 65535
+0  accept(3, ..., ...) = 4
+0  write(4, ..., 100) = 100
+0  > P. 1:101(100) ack 1
+.1 < . 1:1(0) ack 101 win 65535
+0  close(4) = 0
+0  > F. 101:101(0) ack 1
`

const ACTIVE = `
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0  connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0  > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 6>
+.1 < S. 0:0(0) ack 1 win 65535 <mss 1460>
+0  > . 1:1(0) ack 1
+0  getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0
`

/** Run a script and keep the IP version of every packet the stack sent. */
async function runWatching(source: string, options: RunOptions) {
  const versions = new Set<number>()
  const onStack = (stack: Stack) => stack.on('packet', (dir: string, p: Uint8Array) => { if (dir === 'out') versions.add(p[0]! >> 4) })
  const result = await runScriptSource(source, { ...options, onStack })
  return { result, versions: [...versions] }
}

describe('--ip_version=ipv4-mapped-ipv6: IPv4 on the wire, IPv6 sockets', () => {
  it('a passive open: IPv4 packets with IPv4 MSS (1460), the accepted socket an AF_INET6 one seeing ::ffff:192.0.2.1', async () => {
    const { result, versions } = await runWatching(PASSIVE, { ipVersion: 'ipv4-mapped-ipv6' })
    expect(result).toEqual({ ok: true })
    expect(versions).toEqual([4])
  })

  it('an active open connects to ::ffff:192.0.2.1 and goes out as IPv4', async () => {
    const { result, versions } = await runWatching(ACTIVE, { ipVersion: 'ipv4-mapped-ipv6' })
    expect(result).toEqual({ ok: true })
    expect(versions).toEqual([4])
  })

  it('the script may say it so itself; socket(AF_INET6, ...) is its domain, AF_INET is not', async () => {
    const head = '--ip_version=ipv4-mapped-ipv6\n'
    expect(await runScriptSource(head + PASSIVE.replace('socket(...,', 'socket(AF_INET6,'))).toEqual({ ok: true })
    const r = await runScriptSource(head + PASSIVE.replace('socket(...,', 'socket(AF_INET,'))
    expect(r.failure?.message).toBe('socket(AF_INET, ...) under --ip_version=ipv4-mapped-ipv6: the socket there is AF_INET6 (write ... for the domain to have it chosen)')
  })

  it('needs IPv4 addresses for the wire', async () => {
    const r = await runScriptSource('--local_ip=fd00::1\n' + PASSIVE, { ipVersion: 'ipv4-mapped-ipv6' })
    expect(r.failure?.message).toMatch(/must both be IPv4 addresses \(--ip_version=ipv4-mapped-ipv6\)/)
  })
})

describe('--ip_version=ipv6 and --mtu', () => {
  it('over IPv6 at the default MTU of 1500 our MSS is 1440 (RFC 8200 8.3); with --mtu 1520, as run_all.py runs IPv6, 1460', async () => {
    const r = await runScriptSource(PASSIVE, { ipVersion: 'ipv6' })
    expect(r.failure?.message).toBe('options: option 1: expected mss 1460, got mss 1440')
    const { result, versions } = await runWatching(PASSIVE, { ipVersion: 'ipv6', mtu: 1520 })
    expect(result).toEqual({ ok: true })
    expect(versions).toEqual([6])
    expect(await runScriptSource('--mtu=1520\n' + PASSIVE, { ipVersion: 'ipv6' })).toEqual({ ok: true })
  })

  it('refuses an MTU below 1280 for IPv6 (RFC 8200 5)', async () => {
    const r = await runScriptSource(PASSIVE, { ipVersion: 'ipv6', mtu: 1000 })
    expect(r.failure?.message).toBe('--mtu=1000 is below 1280, too small for IPv6 (RFC 8200 5)')
  })
})

describe('ICMP lines in the wire\'s family, by packetdrill\'s names', () => {
  const synSent = (icmp: string, result: string) => `
0    socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0   fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0   connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0   > S 0:0(0) <...>
+.01 < icmp ${icmp} [0:0(0)]
+0   connect(3, ..., ...) = ${result}
`

  it('over IPv6, unreachable port_unreachable is ICMPv6 type 1 code 4: connect() fails with ECONNREFUSED', async () => {
    const { result, versions } = await runWatching(synSent('unreachable port_unreachable', '-1 ECONNREFUSED (Connection refused)'), { ipVersion: 'ipv6' })
    expect(result).toEqual({ ok: true })
    expect(versions).toEqual([6])
  })

  it('over IPv6, no_route (and net_unreachable, code 0 there too) is ENETUNREACH, address_unreachable EHOSTUNREACH', async () => {
    for (const [icmp, result] of [
      ['unreachable no_route', '-1 ENETUNREACH (Network is unreachable)'],
      ['unreachable', '-1 ENETUNREACH (Network is unreachable)'],
      ['unreachable address_unreachable', '-1 EHOSTUNREACH (No route to host)'],
    ]) {
      expect(await runScriptSource(synSent(icmp!, result!), { ipVersion: 'ipv6' })).toEqual({ ok: true })
    }
  })

  it('a name the wire\'s family lacks fails at its line, as packetdrill refuses it', async () => {
    const v6 = await runScriptSource(synSent('unreachable frag_needed mtu 1280', '0'), { ipVersion: 'ipv6' })
    expect(v6.failure).toMatchObject({ line: 6, message: 'ICMPv6 unreachable has no code frag_needed (net_unreachable, no_route, admin_prohibited, not_neighbour, address_unreachable, port_unreachable) (--ip_version=ipv6)' })
    const v4 = await runScriptSource(synSent('packet_too_big mtu 1280', '0'))
    expect(v4.failure?.message).toBe('ICMPv4 has no message packet_too_big (unreachable) (--ip_version=ipv4)')
    const mtu = await runScriptSource(synSent('unreachable port_unreachable mtu 1280', '0'), { ipVersion: 'ipv6' })
    expect(mtu.failure?.message).toBe('ICMPv6 MTU is only valid for packet_too_big (--ip_version=ipv6)')
  })

  it('over IPv6, a Packet Too Big quoting data in flight lowers the MSS and resends at once, cut to the new size (RFC 8201)', async () => {
    const script = `
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  bind(3, ..., ...) = 0
+0  listen(3, 1) = 0
+0  < S 0:0(0) win 65535 <mss 1460>
+0  > S. 0:0(0) ack 1 <mss 1440>
+.1 < . 1:1(0) ack 1 win 65535
+0  accept(3, ..., ...) = 4
+0  write(4, ..., 1440) = 1440
+0  > P. 1:1441(1440) ack 1
+.01 < icmp packet_too_big mtu 1280 [1:1441(1440)]
+0  > . 1:1221(1220) ack 1
+0  > P. 1221:1441(220) ack 1
`
    expect(await runScriptSource(script, { ipVersion: 'ipv6' })).toEqual({ ok: true })
  })
})

describe('TFO_COOKIE, the name packetdrill\'s run_all.py defines, per family', () => {
  // defaults.sh's key; a Fast Open listener; a SYN with the cookie and data, which the SYN,ACK acknowledges.
  const script = `
\`sysctl -q net.ipv4.tcp_fastopen=0x3 net.ipv4.tcp_fastopen_key=a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4\`
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  bind(3, ..., ...) = 0
+0  listen(3, 1) = 0
+0  setsockopt(3, SOL_TCP, TCP_FASTOPEN, [1], 4) = 0
+0  < S 0:10(10) win 65535 <mss 1400,FO TFO_COOKIE,nop,nop>
+0  > S. 0:0(0) ack 11 <...>
+0  accept(3, ..., ...) = 4
`

  it('is the cookie Linux gives 192.0.2.1 over IPv4 (and ipv4-mapped-ipv6), 2001:db8::1 to fd3d:fa7b:d17d:: over IPv6', async () => {
    expect(await runScriptSource(script)).toEqual({ ok: true })
    expect(await runScriptSource(script, { ipVersion: 'ipv4-mapped-ipv6' })).toEqual({ ok: true })
    expect(await runScriptSource(script, { ipVersion: 'ipv6' })).toEqual({ ok: true })
  })

  it('is refused for another server address: the SYN,ACK acknowledges only the SYN', async () => {
    const r = await runScriptSource('--local_ip=fd3d:fa7b:d17d::7\n' + script, { ipVersion: 'ipv6' })
    expect(r.failure?.message).toBe('ack: expected 11, got 1')
  })
})
