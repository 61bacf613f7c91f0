// The pcap writer: the libpcap file format with LINKTYPE_RAW, read back byte by byte.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { PcapWriter } from '../../src/bin/pcap'

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
