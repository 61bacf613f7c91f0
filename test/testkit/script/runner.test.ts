// The runner: a script that matches passes; each kind of mismatch fails at its
// line, saying what was expected and what the stack did. Scripts are inline and
// short; test/scripts/ holds the real ones (scripts.test.ts runs them).
import { describe, expect, it } from 'vitest'
import { runScriptSource } from '../../../src/testkit/script/index'

/** A passive open on 8080 that leaves fd 4 ESTABLISHED at 0.100 s. */
const OPEN = `
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  bind(3, ..., ...) = 0
+0  listen(3, 1) = 0
+0  < S 0:0(0) win 65535 <mss 1460>
+0  > S. 0:0(0) ack 1 <...>
+.1 < . 1:1(0) ack 1 win 65535
+0  accept(3, ..., ...) = 4
`
/** The line number of the first line after OPEN. */
const NEXT = OPEN.split('\n').length

const run = (body: string, options = {}, head = '') => runScriptSource(head + OPEN + body, options)
const message = async (body: string) => (await run(body)).failure?.message

describe('a script that matches', () => {
  it('passes, whatever ISN the seed gives the stack (numbers are relative)', async () => {
    const body = `+0  write(4, ..., 10) = 10
+0  > P. 1:11(10) ack 1
+.1 < . 1:1(0) ack 11 win 65535
`
    expect(await run(body, { seed: 1 })).toEqual({ ok: true })
    expect(await run(body, { seed: 99 })).toEqual({ ok: true })
  })

  it('traces every event and every segment sent when asked', async () => {
    const lines: string[] = []
    await run('+0  write(4, ..., 10) = 10\n+0  > P. 1:11(10) ack 1\n', { trace: (l: string) => lines.push(l.trim()) })
    expect(lines).toContain('0.000 s  > S. 0:0(0) ack 1 win 65535 <mss 1460>')
    expect(lines).toContain('0.100 s  +0  write(4, ..., 10) = 10')
    expect(lines).toContain('0.100 s  > P. 1:11(10) ack 1 win 65535')
  })
})

describe('segments no line expects', () => {
  it('are not checked (as in packetdrill), but the trace shows them', async () => {
    const lines: string[] = []
    const result = await run('+0  write(4, ..., 10) = 10\n', { trace: (l: string) => lines.push(l.trim()) })
    expect(result).toEqual({ ok: true })
    expect(lines).toContain('0.100 s  > P. 1:11(10) ack 1 win 65535   (not checked: no line of the script expects it)')
  })
})

describe('a segment that differs', () => {
  it('fails at its line with the expected and the actual segment', async () => {
    const result = await runScriptSource(OPEN.replace('> S. 0:0(0) ack 1 <...>', '> S. 0:0(0) ack 2 <...>'))
    expect(result.ok).toBe(false)
    expect(result.failure).toEqual({
      line: 6,
      source: '+0  > S. 0:0(0) ack 2 <...>',
      message: 'ack: expected 2, got 1',
      expected: 'S. 0:0(0) ack 2 <...> at 0.000 s (±4 ms)',
      actual: 'S. 0:0(0) ack 1 win 65535 <mss 1460> at 0.000 s',
    })
  })

  it('checks flags, sequence numbers, length, window and options', async () => {
    const body = (line: string) => `+0  write(4, ..., 10) = 10\n${line}\n`
    const message = async (line: string) => (await run(body(line))).failure?.message
    expect(await message('+0  > . 1:11(10) ack 1')).toBe('flags: expected ., got P.')
    expect(await message('+0  > P. 2:12(10) ack 1')).toBe('sequence number: expected 2, got 1')
    expect(await message('+0  > P. 1:12(11) ack 1')).toBe('payload length: expected 11, got 10')
    expect(await message('+0  > P. 1:11(10) ack 1 win 1000')).toBe('window: expected 1000, got 65535')
    expect(await message('+0  > P. 1:11(10) ack 1 <nop,nop,sack 1:2>')).toBe('options: missing option nop at position 1')
  })

  it('does not check what the script leaves out (ack, win, <...>)', async () => {
    expect(await run('+0  write(4, ..., 10) = 10\n+0  > P. 1:11(10)\n')).toEqual({ ok: true })
  })

  it('says so when the stack sends nothing', async () => {
    const result = await run('+.1 > F. 1:1(0) ack 1\n')
    expect(result.failure).toMatchObject({
      line: NEXT,
      message: 'the stack sent nothing',
      expected: 'F. 1:1(0) ack 1 at 0.200 s (±4 ms)',
      actual: expect.stringMatching(/^nothing, by \d+\.\d+ s$/),
    })
  })
})

describe('segments sent together', () => {
  it('match one larger segment, as Linux sends over TSO (packetdrill joins them so)', async () => {
    expect(await run('+0  write(4, ..., 2920) = 2920\n+0  > P. 1:2921(2920) ack 1\n')).toEqual({ ok: true })
  })

  it('still match one line each, MSS by MSS', async () => {
    const body = '+0  write(4, ..., 2920) = 2920\n+0  > . 1:1461(1460) ack 1\n+0  > P. 1461:2921(1460) ack 1\n'
    expect(await run(body)).toEqual({ ok: true })
  })

  it('are not joined past the length the script expects', async () => {
    const result = await run('+0  write(4, ..., 2920) = 2920\n+0  > P. 1:2001(2000) ack 1\n')
    expect(result.failure?.message).toBe('flags: expected P., got .')
    expect(result.failure?.actual).toBe('. 1:1461(1460) ack 1 win 65535 at 0.100 s')
  })
})

describe('timing', () => {
  it('fails a segment sent later than its time range', async () => {
    // The ACK of data is delayed by 40 ms (delayedAckMs); the script allows 10.
    const result = await run('+.1 < P. 1:11(10) ack 1 win 65535\n+0~+.01 > . 1:1(0) ack 11\n', { stack: { tcp: { delayedAckMs: 40 } } })
    expect(result.failure).toMatchObject({
      line: NEXT + 1,
      message: 'timing: expected between 0.200 s and 0.210 s (tolerance 0.004 s), sent at 0.240 s',
      expected: '. 1:1(0) ack 11 between 0.200 s and 0.210 s',
      actual: '. 1:1(0) ack 11 win 65525 at 0.240 s',
    })
  })

  it('fails a segment sent earlier than its time range', async () => {
    const result = await run('+0  write(4, ..., 10) = 10\n+.1~+.2 > P. 1:11(10) ack 1\n')
    expect(result.failure?.message).toBe('timing: expected between 0.200 s and 0.300 s (tolerance 0.004 s), sent at 0.100 s')
  })

  it('accepts a segment anywhere inside its range, and within the tolerance of a point', async () => {
    expect(await run('+.1 < P. 1:11(10) ack 1 win 65535\n+0~+.05 > . 1:1(0) ack 11\n', { stack: { tcp: { delayedAckMs: 40 } } })).toEqual({ ok: true })
    expect(await run('+.1 < P. 1:11(10) ack 1 win 65535\n+.043 > . 1:1(0) ack 11\n', { stack: { tcp: { delayedAckMs: 40 } } })).toEqual({ ok: true })
  })
})

describe('system calls', () => {
  it('fails on a wrong errno, naming both', async () => {
    const body = `+.1 < F. 1:1(0) ack 1 win 65535
+0  > . 1:1(0) ack 2
+.1 < R 2:2(0) win 0
+0  write(4, ..., 10) = -1 ECONNRESET (Connection reset by peer)
`
    expect((await run(body)).failure).toMatchObject({
      line: NEXT + 3,
      message: 'write() returned -1 EPIPE (Broken pipe), expected errno ECONNRESET (Connection reset by peer)',
    })
  })

  it('fails on a wrong return value', async () => {
    const result = await run('+.1 < F. 1:1(0) ack 1 win 65535\n+0  read(4, ..., 10) = -1 ECONNRESET\n')
    expect(result.failure?.message).toBe('read() returned 0, expected -1 ECONNRESET')
  })

  it('lets a blocking call return when the stack makes it ready, at END', async () => {
    const body = '+0...0.200 read(4, ..., 100) = 10\n+.2 < P. 1:11(10) ack 1 win 65535\n'
    expect(await run(body)).toEqual({ ok: true })
    const late = await run(body.replace('0.200', '0.100'))
    expect(late.failure).toMatchObject({
      line: NEXT,
      message: 'timing: expected read() to return at 0.200 s (tolerance 0.004 s), it returned at 0.300 s',
    })
  })

  it('fails a script that ends while a call is blocked', async () => {
    expect((await run('+0  read(4, ..., 100) = 10\n')).failure).toMatchObject({
      line: NEXT,
      message: 'the script ended while read() was still blocked',
    })
  })

  it('answers EBADF for a file descriptor the script never opened', async () => {
    expect(await run('+0  close(9) = -1 EBADF (Bad file descriptor)\n')).toEqual({ ok: true })
  })
})

describe('scripts refused before they run', () => {
  it('fail at the line the parser names', async () => {
    const result = await runScriptSource('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 frob(3) = 0\n')
    expect(result.failure).toEqual({
      line: 2,
      source: '+0 frob(3) = 0',
      message: expect.stringMatching(/^unsupported: system call frob\(\)/),
    })
  })
})

describe('options and numbering as in packetdrill', () => {
  it('takes the stack tunables from --tcp_ options in the script', async () => {
    const result = await runScriptSource(`--tcp_rcv_buf_size=4000\n${OPEN.replace('<...>', 'win 4000 <...>')}`)
    expect(result).toEqual({ ok: true })
  })

  it('refuses an inbound TS ecr it cannot map to the stack clock', async () => {
    const result = await run('+0  < . 1:1(0) ack 1 win 65535 <nop,nop,TS val 5 ecr 7>\n')
    expect(result.failure?.message).toMatch(/^cannot map TS ecr 7 to the stack's clock/)
  })

  it('gives a second passive connection a remote port of its own, and its accept() the fd number again', async () => {
    // The first connection (fd 4) stays open; packetdrill's next SYN comes from a new port
    // (next_ephemeral_port), so it is a new connection, not a SYN to the first.
    const second = `+0  close(3) = 0${OPEN.replace('0   socket', '+0  socket')}+0  write(4, ..., 10) = 10
+0  > P. 1:11(10) ack 1
`
    expect(await run(second)).toEqual({ ok: true })
  })
})

describe('shell lines and %{ }% blocks', () => {
  it('fails a %{ }% assert at its line, naming the tcpi_ values it read', async () => {
    const r = await run('+0  %{\nassert tcpi_state == TCP_ESTABLISHED\nassert tcpi_snd_cwnd == 11, tcpi_snd_cwnd\n}%\n')
    expect(r.failure).toEqual({
      line: NEXT + 2, source: 'assert tcpi_snd_cwnd == 11, tcpi_snd_cwnd',
      message: 'assertion failed: assert tcpi_snd_cwnd == 11, tcpi_snd_cwnd (tcpi_snd_cwnd = 10)',
    })
  })

  it('reads TCP_INFO of the socket under test: the listener until accept() gives the connection', async () => {
    const body = OPEN.replace('+0  accept(3, ..., ...) = 4', '+0  %{ assert tcpi_state == TCP_LISTEN }%\n+0  accept(3, ..., ...) = 4\n+0  %{ assert tcpi_state == TCP_ESTABLISHED }%')
    expect(await runScriptSource(body)).toEqual({ ok: true })
  })

  it('applies a timed sysctl line at its time: the next connection takes it', async () => {
    const body = `0 \`sysctl -q net.ipv4.tcp_timestamps=0\`
+0  socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0  connect(3, ..., ...) = -1 EINPROGRESS
+0  > S 0:0(0) <mss 1460,nop,nop,sackOK,nop,wscale 6>
`
    expect(await runScriptSource(body)).toEqual({ ok: true })
  })

  it('lets the script\'s own --tcp_ options win over its shell lines', async () => {
    const body = `--tcp_sack=true
\`sysctl -q net.ipv4.tcp_sack=0\`
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0  connect(3, ..., ...) = -1 EINPROGRESS
+0  > S 0:0(0) <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 6>
`
    expect(await runScriptSource(body)).toEqual({ ok: true })
  })

  it('fails nstat | grep NAME at its line when NAME has not changed since the last nstat, as grep would', async () => {
    const r = await run('+0  `nstat`\n+0  `nstat | grep TcpExtOutOfWindowIcmps`\n')
    expect(r.failure).toEqual({
      line: NEXT + 1, source: '+0  `nstat | grep TcpExtOutOfWindowIcmps`',
      message: 'shell command failed: nstat | grep TcpExtOutOfWindowIcmps: nstat shows no TcpExtOutOfWindowIcmps (it has not changed since the last nstat), so grep finds nothing',
    })
    // Counted since the start (no nstat before): the passive open.
    expect(await run('+0  `nstat | grep TcpPassiveOpens`\n+0  `nstat -a | grep TcpPassiveOpens`\n')).toEqual({ ok: true })
  })
})

// ---- the system calls and options of issue 12 part 5, as Linux means them ----

describe('sending', () => {
  it('sendto() on a connected socket is send(); sendmsg() sends its iovec', async () => {
    expect(await run(`+0 sendto(4, ..., 10, 0, ..., ...) = 10
+0 > P. 1:11(10) ack 1
+0 < . 1:1(0) ack 11 win 65535
+0 sendmsg(4, {msg_name(...)=..., msg_iov(2)=[{..., 5}, {..., 7}], msg_flags=0}, 0) = 12
+0 > P. 11:23(12) ack 1
`)).toEqual({ ok: true })
  })

  it('MSG_FASTOPEN on an open connection is an ordinary send, as on Linux', async () => {
    expect(await run('+0 sendto(4, ..., 10, MSG_FASTOPEN, ..., ...) = 10\n+0 > P. 1:11(10) ack 1\n')).toEqual({ ok: true })
  })

  it('sendto(MSG_FASTOPEN) on a new socket: a cookie request, then the cookie and data in the SYN (RFC 7413)', async () => {
    const script = `
0    socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0   fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0   sendto(3, ..., 100, MSG_FASTOPEN, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0   > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 6,FO,nop,nop>
+.01 < S. 0:0(0) ack 1 win 65535 <mss 1000,FO aabbccdd,nop,nop>
+0   > . 1:1(0) ack 1
+0   close(3) = 0
+0   > F. 1:1(0) ack 1
+0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 4
+0   fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0   sendto(4, ..., 2000, MSG_FASTOPEN, ..., ...) = 960
+0   > S 0:960(960) <mss 1460,sackOK,TS val 110 ecr 0,nop,wscale 6,FO aabbccdd,nop,nop>
+0   sendto(4, ..., 10, MSG_FASTOPEN, ..., ...) = -1 EALREADY (Operation already in progress)
+0   write(4, ..., 10) = -1 EAGAIN (Resource temporarily unavailable)
+.01 < S. 0:0(0) ack 961 win 65535 <mss 1000>
+0   > . 961:961(0) ack 1
+0   %{ assert tcpi_options & TCPI_OPT_SYN_DATA }%
`
    expect(await runScriptSource(script)).toEqual({ ok: true })
  })

  it('injects an ICMP destination unreachable quoting the stack\'s segment: the connect() fails (RFC 1122 4.2.3.9)', async () => {
    const script = `
0    socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0   fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0   connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0   > S 0:0(0) <...>
+.01 < icmp unreachable host_unreachable [0:0(0)]
+0   connect(3, ..., ...) = -1 EHOSTUNREACH (No route to host)
`
    expect(await runScriptSource(script)).toEqual({ ok: true })
    const elsewhere = script.replace('[0:0(0)]', '[5000:5000(0)]').replace('-1 EHOSTUNREACH (No route to host)', '-1 EALREADY (Operation already in progress)')
    expect(await runScriptSource(elsewhere)).toEqual({ ok: true }) // not in flight: ignored (RFC 5927 4.1)
  })

  it('refuses MSG_FASTOPEN with EOPNOTSUPP when tcp_fastopen has the client bit off, or the address is AF_UNSPEC', async () => {
    const off = `
0  \`sysctl -q net.ipv4.tcp_fastopen=0\`
+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 sendto(3, ..., 10, MSG_FASTOPEN, ..., ...) = -1 EOPNOTSUPP (Operation not supported)
+0 setsockopt(3, SOL_TCP, TCP_FASTOPEN_CONNECT, [1], 4) = -1 EOPNOTSUPP (Operation not supported)
+0 sendto(3, ..., 10, MSG_FASTOPEN, AF_UNSPEC, ...) = -1 EOPNOTSUPP (Operation not supported)
`
    expect(await runScriptSource(off)).toEqual({ ok: true })
  })

  it('MSG_EOR ends a segment: the next write does not join it', async () => {
    expect(await run(`+0 setsockopt(4, SOL_TCP, TCP_CORK, [1], 4) = 0
+0 send(4, ..., 300, MSG_EOR) = 300
+0 write(4, ..., 300) = 300
+0 > P. 1:301(300) ack 1
+.1 setsockopt(4, SOL_TCP, TCP_CORK, [0], 4) = 0
+0 > P. 301:601(300) ack 1
`)).toEqual({ ok: true })
  })
})

describe('receiving', () => {
  it('recvmsg() reads its iovec, and with TCP_INQ tells what is left (1 for a FIN)', async () => {
    expect(await run(`+0 setsockopt(4, SOL_TCP, TCP_INQ, [1], 4) = 0
+0 < P. 1:1001(1000) ack 1 win 65535
+0 recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 400}], msg_flags=0, msg_control=[{cmsg_level=SOL_TCP, cmsg_type=TCP_CM_INQ, cmsg_data=600}]}, 0) = 400
+0 < F. 1001:1001(0) ack 1 win 65535
+0 recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 600}], msg_flags=0, msg_control=[{cmsg_level=SOL_TCP, cmsg_type=TCP_CM_INQ, cmsg_data=1}]}, 0) = 600
+0 read(4, ..., 10) = 0
`)).toEqual({ ok: true })
  })

  it('a wrong TCP_CM_INQ fails naming both', async () => {
    expect(await message(`+0 setsockopt(4, SOL_TCP, TCP_INQ, [1], 4) = 0
+0 < P. 1:1001(1000) ack 1 win 65535
+0 recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 400}], msg_flags=0, msg_control=[{cmsg_level=SOL_TCP, cmsg_type=TCP_CM_INQ, cmsg_data=9}]}, 0) = 400
`)).toBe('recvmsg(): TCP_CM_INQ is 600, expected 9')
  })

  it('after shutdown(SHUT_RD) an empty queue reads 0, yet data still arrives, is ACKed and read (Linux)', async () => {
    expect(await run(`+0 shutdown(4, SHUT_RD) = 0
+0 read(4, ..., 100) = 0
+0 < P. 1:101(100) ack 1 win 65535
* > . 1:1(0) ack 101
+0 read(4, ..., 100) = 100
`)).toEqual({ ok: true })
  })

  it('--mss cuts a long inbound segment into segments of that size, arriving together as a GRO packet: one ACK for all', async () => {
    expect(await run(`+0 < . 1:3001(3000) ack 1 win 65535
+0 > . 1:1(0) ack 3001
+0 %{ assert tcpi_bytes_received == 3000 }%
+0 %{ assert tcpi_rcv_mss == 1000, tcpi_rcv_mss }%
`, {}, '--mss=1000\n')).toEqual({ ok: true })
  })
})

describe('ioctl', () => {
  it('SIOCINQ counts unread bytes, SIOCOUTQ unacknowledged ones, SIOCOUTQNSD unsent ones', async () => {
    expect(await run(`+0 < P. 1:101(100) ack 1 win 65535
+0 ioctl(4, SIOCINQ, [100]) = 0
+0 ioctl(4, FIONREAD, [100]) = 0
+0 setsockopt(4, SOL_TCP, TCP_CORK, [1], 4) = 0
+0 write(4, ..., 50) = 50
+0 ioctl(4, SIOCOUTQ, [50]) = 0
+0 ioctl(4, SIOCOUTQNSD, [50]) = 0
+0 ioctl(3, SIOCINQ, [0]) = -1 EINVAL (Invalid argument)
`)).toEqual({ ok: true })
  })

  it('a wrong count fails naming both', async () => {
    expect(await message('+0 ioctl(4, SIOCINQ, [5]) = 0\n')).toBe('ioctl(SIOCINQ) gave 0, expected 5')
  })
})

describe('socket options', () => {
  it('SO_SNDBUF and SO_RCVBUF read back doubled, as Linux stores them', async () => {
    expect(await run(`+0 setsockopt(4, SOL_SOCKET, SO_SNDBUF, [100000], 4) = 0
+0 getsockopt(4, SOL_SOCKET, SO_SNDBUF, [200000], [4]) = 0
+0 setsockopt(4, SOL_SOCKET, SO_RCVBUF, [1000], 4) = 0
+0 getsockopt(4, SOL_SOCKET, SO_RCVBUF, [2304], [4]) = 0
`)).toEqual({ ok: true })
  })

  it('TCP_MAXSEG reads the MSS in use; NOTSENT_LOWAT, USER_TIMEOUT, CORK, INQ read back', async () => {
    expect(await run(`+0 getsockopt(4, SOL_TCP, TCP_MAXSEG, [1460], [4]) = 0
+0 setsockopt(4, SOL_TCP, TCP_NOTSENT_LOWAT, [32000], 4) = 0
+0 getsockopt(4, SOL_TCP, TCP_NOTSENT_LOWAT, [32000], [4]) = 0
+0 setsockopt(4, SOL_TCP, TCP_USER_TIMEOUT, [3000], 4) = 0
+0 getsockopt(4, SOL_TCP, TCP_USER_TIMEOUT, [3000], [4]) = 0
+0 setsockopt(4, SOL_TCP, TCP_USER_TIMEOUT, [-1], 4) = -1 EINVAL (Invalid argument)
+0 getsockopt(4, SOL_TCP, TCP_CORK, [0], [4]) = 0
+0 getsockopt(4, SOL_TCP, TCP_INQ, [0], [4]) = 0
`)).toEqual({ ok: true })
  })

  it('TCP_USER_TIMEOUT aborts a connection whose data stays unacknowledged that long', async () => {
    expect(await run(`+0 setsockopt(4, SOL_TCP, TCP_USER_TIMEOUT, [1500], 4) = 0
+0 write(4, ..., 10) = 10
+0 > P. 1:11(10) ack 1
+3 write(4, ..., 10) = -1 ETIMEDOUT (Connection timed out)
`)).toEqual({ ok: true })
  })

  it('refuses an option it does not know, naming it and those it does', async () => {
    expect(await message('+0 setsockopt(4, SOL_SOCKET, SO_ZEROCOPY, [1], 4) = 0\n')).toMatch(/^unsupported: setsockopt option SO_ZEROCOPY \(supported: .*TCP_CORK/)
  })
})

describe('poll and epoll', () => {
  it('poll() shows POLLOUT when there is room, POLLIN when data or a FIN is in', async () => {
    expect(await run(`+0 poll([{fd=4, events=POLLIN|POLLOUT, revents=POLLOUT}], 1, 0) = 1
+0 < P. 1:11(10) ack 1 win 65535
+0 poll([{fd=4, events=POLLIN, revents=POLLIN}], 1, 0) = 1
+0 read(4, ..., 10) = 10
+0 poll([{fd=4, events=POLLIN, revents=0}], 1, 0) = 0
+0 < F. 11:11(0) ack 1 win 65535
+0 poll([{fd=4, events=POLLIN|POLLRDHUP, revents=POLLIN|POLLRDHUP}], 1, 0) = 1
`)).toEqual({ ok: true })
  })

  it('a blocking poll() returns when data arrives', async () => {
    expect(await run(`+0 poll([{fd=4, events=POLLIN, revents=POLLIN}], 1, 1000) = 1
+.2 < P. 1:11(10) ack 1 win 65535
`)).toEqual({ ok: true })
  })

  it('a blocking poll() or epoll_wait() with nothing ready returns 0 when its timeout ends, not at the next event', async () => {
    expect(await run(`+0...0.150 poll([{fd=4, events=POLLIN, revents=0}], 1, 150) = 0
+1 < P. 1:11(10) ack 1 win 65535
`)).toEqual({ ok: true })
    expect(await run(`+0 epoll_create(1) = 5
+0 epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLIN, fd=4}) = 0
+0...0.250 epoll_wait(5, {events=0, ptr=0}, 1, 250) = 0
+2 < P. 1:11(10) ack 1 win 65535
`)).toEqual({ ok: true })
  })

  it('poll() shows POLLERR|POLLHUP after a reset', async () => {
    expect(await run(`+0 < R. 1:1(0) ack 1 win 0
+0 poll([{fd=4, events=POLLIN|POLLOUT, revents=POLLIN|POLLOUT|POLLERR|POLLHUP}], 1, 0) = 1
`)).toEqual({ ok: true })
  })

  it('epoll: level-triggered reports again, EPOLLET only once per change; ctl errnos as Linux', async () => {
    expect(await run(`+0 epoll_create(1) = 5
+0 epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLIN, fd=4}) = 0
+0 epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLIN, fd=4}) = -1 EEXIST (File exists)
+0 epoll_ctl(5, EPOLL_CTL_DEL, 3, {events=0, fd=3}) = -1 ENOENT (No such file or directory)
+0 < P. 1:11(10) ack 1 win 65535
+0 epoll_wait(5, {events=EPOLLIN, fd=4}, 1, 0) = 1
+0 epoll_wait(5, {events=EPOLLIN, fd=4}, 1, 0) = 1
+0 epoll_ctl(5, EPOLL_CTL_MOD, 4, {events=EPOLLIN|EPOLLOUT|EPOLLET, fd=4}) = 0
+0 epoll_wait(5, {events=EPOLLIN|EPOLLOUT, fd=4}, 1, 0) = 1
+0 epoll_wait(5, {events=0, ptr=0}, 1, 0) = 0
`)).toEqual({ ok: true })
  })

  it('a wrong epoll_wait() event fails naming what came', async () => {
    expect(await message(`+0 epoll_create(1) = 5
+0 epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLIN, fd=4}) = 0
+0 epoll_wait(5, {events=EPOLLIN, fd=4}, 1, 0) = 1
`)).toBe('epoll_wait(): no events, expected {events=EPOLLIN, fd=4}')
  })
})
