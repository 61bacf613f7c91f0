// The pcap writer: the libpcap file format with LINKTYPE_RAW, read back byte by byte.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { PcapWriter, preciseNowMs } from '../../src/bin/pcap'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

it('writes a global header and one record per packet, each on disk as soon as it is written', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tuntcp-pcap-'))
  dirs.push(dir)
  const file = join(dir, 'x.pcap')
  const pcap = new PcapWriter(file)
  const first = Uint8Array.from([0x45, 1, 2, 3])
  pcap.write(first, 1_700_000_000_123.456)
  // Flushed as it goes: readable before close.
  const partial = readFileSync(file)
  expect(partial.length).toBe(24 + 16 + 4)
  pcap.write(new Uint8Array(100).fill(9), 1_700_000_001_000)
  pcap.close()
  pcap.write(first) // after close: ignored
  const b = readFileSync(file)
  expect(b.readUInt32LE(0)).toBe(0xa1b2c3d4)
  expect([b.readUInt16LE(4), b.readUInt16LE(6)]).toEqual([2, 4])
  expect(b.readUInt32LE(16)).toBe(65535)
  expect(b.readUInt32LE(20)).toBe(101) // LINKTYPE_RAW
  expect([b.readUInt32LE(24), b.readUInt32LE(28), b.readUInt32LE(32), b.readUInt32LE(36)]).toEqual([1_700_000_000, 123_456, 4, 4])
  expect([...b.subarray(40, 44)]).toEqual([0x45, 1, 2, 3])
  expect([b.readUInt32LE(44), b.readUInt32LE(48), b.readUInt32LE(52)]).toEqual([1_700_000_001, 0, 100])
  expect(b.length).toBe(24 + 16 + 4 + 16 + 100)
})

it('stamps packets with real microseconds by default, not whole milliseconds', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tuntcp-pcap-'))
  dirs.push(dir)
  const file = join(dir, 'x.pcap')
  const pcap = new PcapWriter(file)
  const before = Date.now()
  const n = 20
  for (let i = 0; i < n; i++) {
    const until = performance.now() + 0.05 // 50 us apart: a burst within a few milliseconds
    while (performance.now() < until) { /* spin */ }
    pcap.write(Uint8Array.from([0x45, i]))
  }
  pcap.close()
  const after = Date.now()
  const b = readFileSync(file)
  const stamps: number[] = []
  for (let i = 0, at = 24; i < n; i++, at += 16 + 2) stamps.push(b.readUInt32LE(at) * 1e6 + b.readUInt32LE(at + 4))
  // On the wall clock (performance's origin was read from it when the process started),
  // in the order written.
  expect(stamps[0]! / 1000).toBeGreaterThanOrEqual(before - 20)
  expect(stamps.at(-1)! / 1000).toBeLessThanOrEqual(after + 20)
  for (let i = 1; i < n; i++) expect(stamps[i]!).toBeGreaterThan(stamps[i - 1]!)
  // Whole milliseconds times 1000 would all end in 000; and no two packets share a stamp.
  expect(stamps.filter(us => us % 1000 !== 0).length).toBeGreaterThan(n / 2)
  expect(new Set(stamps).size).toBe(n)
})

it('preciseNowMs() is the wall clock with a sub-millisecond fraction', () => {
  const samples = Array.from({ length: 50 }, () => preciseNowMs())
  expect(Math.abs(samples[0]! - Date.now())).toBeLessThan(50)
  expect(samples.some(t => !Number.isInteger(t))).toBe(true)
})
