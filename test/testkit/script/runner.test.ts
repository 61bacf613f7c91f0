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

const run = (body: string, options = {}) => runScriptSource(OPEN + body, options)

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
})
