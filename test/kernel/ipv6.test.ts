// IPv6 against the kernel over TUN: the kernel side gets fd79::1/64 beside 10.79.0.1/24 on
// one device, the stack answers `ping -6` to fd79::2 while it serves IPv4 on the same device,
// counts the kernel's own router solicitations and MLD, and a TCP connect over IPv6 (not
// carried yet) fails at once in the kernel (EPROTO) after our ICMPv6 Parameter Problem.

import { execFileSync } from 'node:child_process'
import { connect as netConnect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runText, stackOnTun, type TunStack } from './helpers'
import { requireFreshNetns } from './netns'

const DEV = 'tkv6'
let tun: TunStack

beforeAll(() => {
  requireFreshNetns()
  tun = stackOnTun(DEV, '10.79.0.1', '10.79.0.2', { address6: 'fd79::2' })
  // nodad: the address is usable at once, without duplicate address detection's second.
  execFileSync('ip', ['-6', 'addr', 'add', 'fd79::1/64', 'dev', DEV, 'nodad'])
  tun.stack.createServer(s => s.pipe(s)).listen(7)
})

afterAll(async () => {
  expect(tun.internalErrors).toEqual([])
  await tun?.close()
})

describe('IPv6 on the TUN device, beside IPv4', () => {
  it('answers ping -6, and ping over IPv4 on the same device', async () => {
    const six = await runText('ping', ['-6', '-c', '3', '-i', '0.2', '-W', '2', 'fd79::2'])
    expect(six.code, six.stdout + six.stderr).toBe(0)
    expect(six.stdout).toMatch(/3 packets transmitted, 3 received/)
    const four = await runText('ping', ['-c', '2', '-i', '0.2', '-W', '2', '10.79.0.2'])
    expect(four.stdout).toMatch(/2 packets transmitted, 2 received/)
    expect(tun.stack.counters.pingsAnswered).toBeGreaterThanOrEqual(5)
  })

  it('ping -6 with 1400 bytes of data comes back whole (ping checks the data)', async () => {
    const r = await runText('ping', ['-6', '-c', '1', '-s', '1400', '-p', 'a5', '-W', '2', 'fd79::2'])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(r.stdout).toMatch(/1408 bytes from fd79::2/)
  })

  it("counts the kernel's own IPv6 (router solicitations, MLD) as ignored, never as drops", () => {
    const { ignored, drops } = tun.stack.counters
    expect(Object.keys(ignored).every(k => k.startsWith('ipv6-'))).toBe(true)
    expect(Object.keys(drops).filter(k => k.startsWith('ipv6') || k.startsWith('icmpv6'))).toEqual([])
  })

  it('a kernel TCP connect over IPv6 fails at once with EPROTO (ICMPv6 Parameter Problem), while IPv4 TCP works', async () => {
    const started = Date.now()
    const error = await new Promise<NodeJS.ErrnoException>((resolve, reject) => {
      const s = netConnect({ host: 'fd79::2', port: 7 })
      s.on('connect', () => { s.destroy(); reject(new Error('connected over IPv6')) })
      s.on('error', resolve)
    })
    expect(error.code).toBe('EPROTO') // Linux's icmpv6_err_convert: a parameter problem is a protocol error
    expect(Date.now() - started).toBeLessThan(1000)
    expect(tun.stack.counters.drops['ipv6-protocol']).toBeGreaterThanOrEqual(1)
    const echoed = await new Promise<string>((resolve, reject) => {
      const s = netConnect({ host: '10.79.0.2', port: 7 }, () => s.end('four'))
      let got = ''
      s.on('data', d => { got += d })
      s.on('end', () => resolve(got))
      s.on('error', reject)
    })
    expect(echoed).toBe('four')
  })
})
