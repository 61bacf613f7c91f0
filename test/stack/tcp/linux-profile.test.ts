// The Linux profile (config.ts LINUX_PROFILE) and the window shift from the receive buffer's
// maximum (options.ts, as Linux's tcp_select_initial_window in net/ipv4/tcp_output.c).

import { describe, expect, it } from 'vitest'
import { DEFAULT_TCP_CONFIG, LINUX_PROFILE, TCP_PROFILES } from '../../../src/stack/tcp/config'
import { ourWindowShift, windowShiftFor } from '../../../src/stack/tcp/options'
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
    expect(LINUX_PROFILE).toMatchObject({ quickAck: true, pushBursts: true, initialRtoMs: 1000, minRtoMs: 200, maxRtoMs: 120_000, delayedAckMs: 40 })
    expect(DEFAULT_TCP_CONFIG).toMatchObject({ quickAck: false, pushBursts: false, rcvBufMax: 0 })
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
