// The table `npm run bench` prints (bench/table.mjs): its columns and ratios, with and
// without the gvisor column.

import { describe, expect, it } from 'vitest'
import { relative, table, type Row } from '../../bench/table.mjs'

const download: Row = {
  id: 'download', label: 'download', unit: 'MB/s', better: 'higher', reps: 3,
  kernel: { value: 800 }, tuntcp: { value: 400 }, gvisor: { value: 100 },
}
const rtt: Row = {
  id: 'rtt-p50', label: 'RTT p50', unit: 'us', better: 'lower', reps: 5,
  kernel: { value: 30 }, tuntcp: { value: 60 }, gvisor: { value: 90, error: null, note: 'slow' },
}

describe('relative', () => {
  it('is a rate over a rate, and for a latency the base over the side', () => {
    expect(relative(download)).toBe(0.5)
    expect(relative(download, 'tuntcp', 'gvisor')).toBe(4)
    expect(relative(rtt)).toBe(0.5)
    expect(relative(rtt, 'tuntcp', 'gvisor')).toBe(1.5)
  })

  it('is null when a side is missing or failed', () => {
    expect(relative({ ...download, gvisor: { value: null, error: 'boom' } }, 'tuntcp', 'gvisor')).toBeNull()
    expect(relative({ ...download, gvisor: undefined }, 'tuntcp', 'gvisor')).toBeNull()
  })
})

describe('table', () => {
  it('has a gvisor column and a tuntcp/gvisor ratio when the rows have a gvisor side', () => {
    const lines = table([download, rtt]).split('\n')
    expect(lines[0].trim().split(/\s{2,}/)).toEqual(['unit', 'kernel', 'tuntcp', 'gvisor', 'tuntcp/kernel', 'tuntcp/gvisor'])
    expect(lines[2].split(/\s{2,}/)).toEqual(['download', 'MB/s', '800', '400', '100', '0.50x', '4.00x'])
    expect(lines[3].split(/\s{2,}/)).toEqual(['RTT p50', 'us', '30.0', '60.0', '90.0', '0.50x', '1.50x'])
    expect(lines).toContain('  rtt-p50 gvisor: slow')
    expect(lines.some(l => l.startsWith('tuntcp/gvisor:'))).toBe(true)
  })

  it('has neither without one, and a workers column when asked', () => {
    const plain = { ...download, gvisor: undefined, tuntcpN: { value: 600 } }
    const head = table([plain], 2).split('\n')[0].trim().split(/\s{2,}/)
    expect(head).toEqual(['unit', 'kernel', 'tuntcp', 'tuntcp x2', 'tuntcp/kernel', 'x2/x1'])
    expect(table([plain], 2).split('\n')[2].split(/\s{2,}/)).toEqual(['download', 'MB/s', '800', '400', '600', '0.50x', '1.50x'])
  })

  it('says which side failed', () => {
    const failed = { ...download, gvisor: { value: null, error: 'gvisor server at 10.78.2.2 does not answer HTTP' } }
    const text = table([failed])
    expect(text).toContain('  download gvisor: FAILED: gvisor server at 10.78.2.2 does not answer HTTP')
    expect(text.split('\n')[2].split(/\s{2,}/)).toEqual(['download', 'MB/s', '800', '400', 'n/a', '0.50x', 'n/a'])
  })
})
