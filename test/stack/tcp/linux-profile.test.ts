// The Linux profile (config.ts LINUX_PROFILE) and the window shift from the receive buffer's
// maximum (options.ts, as Linux's tcp_select_initial_window in net/ipv4/tcp_output.c).

import { describe, expect, it } from 'vitest'
import { DEFAULT_TCP_CONFIG, LINUX_PROFILE, TCP_PROFILES } from '../../../src/stack/tcp/config'
import { ourWindowShift, windowShiftFor } from '../../../src/stack/tcp/options'
import { runScriptSource } from '../../../src/testkit/script/index'
import { twoStacks } from '../../helpers/two-stacks'
import { runUntil } from '../../helpers/virtual-time'

describe('window scale from the buffer sizes (RFC 7323 2.3; Linux tcp_select_initial_window)', () => {
  it('is the smallest shift whose 16-bit window covers the space, at most 14', () => {
    expect(windowShiftFor(65_535)).toBe(0)
    expect(windowShiftFor(65_536)).toBe(1)
    expect(windowShiftFor(2 * 1024 * 1024)).toBe(6)
    expect(windowShiftFor(2 ** 40)).toBe(14)
  })

  it('covers the maximum the buffer may grow to (tcp_rmem[2]), not only its size now', () => {
    expect(ourWindowShift({ rcvBufSize: 540_000, rcvBufMax: 15 * 1024 * 1024 })).toBe(8) // defaults.sh
    expect(ourWindowShift({ rcvBufSize: 131_072, rcvBufMax: 6_291_456 })).toBe(7) // Linux's built-in tcp_rmem
    expect(ourWindowShift({ rcvBufSize: 540_000, rcvBufMax: 0 })).toBe(4) // tuntcp without a maximum: the buffer alone
    expect(ourWindowShift(DEFAULT_TCP_CONFIG)).toBe(6)
  })
})

describe('the Linux profile', () => {
  it('is a named set of tunables; tuntcp\'s defaults keep delayed ACKs and PSH at the end of the data only', () => {
    expect(TCP_PROFILES.linux).toBe(LINUX_PROFILE)
    expect(LINUX_PROFILE).toMatchObject({ quickAck: true, pushBursts: true, probeInRecovery: false, prrSafeAck: true, growOnDelivered: true, initialRtoMs: 1000, minRtoMs: 200, maxRtoMs: 120_000, delayedAckMs: 40 })
    expect(DEFAULT_TCP_CONFIG).toMatchObject({ quickAck: false, pushBursts: false, probeInRecovery: true, prrSafeAck: false, growOnDelivered: true, rcvBufMax: 0 })
  })

  it('a stack given it offers window scale 7 and starts from IW10 (RFC 6928, Linux TCP_INIT_CWND)', async () => {
    const { clock, a, b } = twoStacks({ tcp: LINUX_PROFILE })
    const shifts: number[] = []
    a.on('segment', (dir: 'in' | 'out', { seg }: { seg: { options: { windowScale?: number } } }) => {
      if (dir === 'out' && seg.options.windowScale !== undefined) shifts.push(seg.options.windowScale)
    })
    b.createServer(() => {}).listen(80)
    const sock = a.connect({ host: '10.0.0.2', port: 80 })
    await runUntil(clock, () => sock.state === 'ESTABLISHED')
    expect(shifts).toEqual([7])
    const info = sock.info()
    expect(info.rcv_wscale).toBe(7)
    expect(info.snd_cwnd).toBe(10)
    expect(info.rto).toBe(200_000) // µs: the handshake's RTT (about 0 here) gives the floor, TCP_RTO_MIN
  })
})

describe('an ACK of data never sent (RFC 9293 3.10.7.4 fifth, RFC 5961 5.2; Linux tcp_ack)', () => {
  // Were TS.Recent 200000, PAWS would drop the next data segment (TSval 201), and the ACK would say 1.
  it('is answered by a challenge ACK by default, dropped silently in the profile, and never sets TS.Recent', async () => {
    for (const ackUnsentChallenge of [true, false]) {
      const r = await runScriptSource(`--tcp_ack_unsent_challenge=${ackUnsentChallenge}
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  bind(3, ..., ...) = 0
+0  listen(3, 1) = 0
+0  < S 0:0(0) win 65535 <mss 1460,nop,nop,TS val 100 ecr 0>
+0  > S. 0:0(0) ack 1 <mss 1460,nop,nop,TS val 700 ecr 100>
+.1 < . 1:1(0) ack 1 win 65535 <nop,nop,TS val 200 ecr 700>
+0  accept(3, ..., ...) = 4
+0  < . 1:1(0) ack 9999 win 65535 <nop,nop,TS val 200000 ecr 700>
${ackUnsentChallenge ? '+0  > . 1:1(0) ack 1 <nop,nop,TS val 800 ecr 200>\n' : ''}+.1 < . 1:1001(1000) ack 1 win 65535 <nop,nop,TS val 201 ecr 700>
+0~+.04  > . 1:1(0) ack 1001 <nop,nop,TS val 900 ecr 201>
`)
      expect(r.failure?.message, `ackUnsentChallenge ${ackUnsentChallenge}`).toBeUndefined()
    }
  })
})

describe('the window offered, as Linux grows it (rcvSsthresh; tcp_grow_window)', () => {
  // A 100000-byte buffer: our shift is 1, so window fields are in 2-byte units.
  const open = (synOptions: string) => `--tcp_rcv_ssthresh=true
--tcp_rcv_buf_size=100000
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  bind(3, ..., ...) = 0
+0  listen(3, 1) = 0
+0  < S 0:0(0) win 65535 <${synOptions}>
+0  > S. 0:0(0) ack 1 <...>
+.1 < . 1:1(0) ack 1 win 65535
+0  accept(3, ..., ...) = 4
+0  < P. 1:101(100) ack 1 win 65535
+0~+.05 > . 1:1(0) ack 101 win 32718
+0  read(4, ..., 100) = 100
+0  < P. 101:1101(1000) ack 1 win 65535
+0~+.05 > . 1:1(0) ack 1101 win 33768
+0  < P. 1101:2101(1000) ack 1 win 65535
+0  < P. 2101:3101(1000) ack 1 win 65535
+0  > . 1:1(0) ack 3101 win 35768
`
  it('starts at 65535 and grows by twice each segment of 128 bytes or more, though the buffer has more room', async () => {
    // 100 bytes: no growth (the right edge stays at 1 + 65535); then 65535 + 2000 = 67535, then 71535.
    expect(await runScriptSource(open('mss 1000,sackOK,nop,nop,nop,wscale 0'))).toEqual({ ok: true })
  })

  it('grows for out-of-order data only with SACK, as Linux keeps the window still to force duplicate ACKs without', async () => {
    const ooo = (win: number, sack: string) => `+0  < P. 4101:5101(1000) ack 1 win 65535\n+0  > . 1:1(0) ack 3101 win ${win}${sack}\n`
    expect(await runScriptSource(open('mss 1000,sackOK,nop,nop,nop,wscale 0') + ooo(36768, ' <nop,nop,sack 4101:5101>'))).toEqual({ ok: true })
    expect(await runScriptSource(open('mss 1000,nop,wscale 0') + ooo(35768, ''))).toEqual({ ok: true })
  })
})
