// What serve prints once it answers: both families' addresses and the lines to try for each.
import { describe, expect, it } from 'vitest'
import { banner } from '../../src/bin/banner'

describe('the serve banner', () => {
  it('names both addresses and both kernel sides, and gives the IPv6 lines (curl -g, nc -6, ping -6)', () => {
    const text = banner({ device: 'tuntcp0', mtu: 1500, offload: true, address: '10.77.0.2', address6: 'fd77::2', kernelAddr: '10.77.0.1/24', kernelAddr6: 'fd77::1/64', workers: 1 })
    expect(text.split('\n')[0]).toBe('tuntcp: serving on tuntcp0 (mtu 1500, offload) at 10.77.0.2 and fd77::2, kernel side 10.77.0.1/24 and fd77::1/64')
    expect(text).toContain('  curl -g http://[fd77::2]/\n')
    expect(text).toContain('  nc -6 fd77::2 7\n')
    expect(text).toContain('  ping -6 -c 3 fd77::2\n')
  })

  it('says nothing of IPv6 for a stack without it', () => {
    const text = banner({ device: 'tun9', mtu: 1500, offload: false, address: '10.9.0.2', kernelAddr: undefined, workers: 1 })
    expect(text.split('\n')[0]).toBe('tuntcp: serving on tun9 (mtu 1500) at 10.9.0.2')
    expect(text).not.toMatch(/-6|\[/)
  })
})
