// TCP Fast Open (RFC 7413) with the stack as the client and the kernel as the server: a
// Python listener (tfo-server.py, TCP_FASTOPEN set) takes two connections from
// connect({ fastOpen: true }). The first SYN asks for a cookie and the kernel's SYN,ACK
// carries one, which the stack caches for the kernel's address; the second SYN carries the
// cookie and the data, and the kernel's SYN,ACK acknowledges that data. net.ipv4.tcp_fastopen
// is set in the test's own network namespace only (the sysctl is per namespace).

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Socket } from '../../src/stack/socket/socket'
import { TCPI_OPT } from '../../src/stack/tcp-info'
import { ACK, SYN, type TcpSegment } from '../../src/stack/wire/tcp'
import { runText, stackOnTun, waitFor, type TunStack } from './helpers'
import { requireFreshNetns } from './netns'

const DEV = 'tktfoc0'
const KERNEL = '10.72.0.1'
const ADDR = '10.72.0.2'
const PORT = 8072
const SERVER = fileURLToPath(new URL('./tfo-server.py', import.meta.url))
const SYSCTL = '/proc/sys/net/ipv4/tcp_fastopen'

let t: TunStack
let before = ''
let server: ChildProcessWithoutNullStreams | null = null
const lines: string[] = []
/** Our SYNs (their Fast Open option, data, ISS) and the kernel's SYN,ACKs (option, ACK). */
const syns: Array<{ cookie: string | null; data: number; iss: number }> = []
const synAcks: Array<{ cookie: string | null; ack: number }> = []

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

beforeAll(async () => {
  requireFreshNetns()
  before = readFileSync(SYSCTL, 'utf8').trim()
  writeFileSync(SYSCTL, '3') // client (0x1) and server (0x2), in this namespace only
  t = stackOnTun(DEV, KERNEL, ADDR)
  t.stack.on('segment', (dir: string, { seg }: { seg: TcpSegment }) => {
    if (!(seg.flags & SYN)) return
    const fo = seg.options.fastOpen
    const cookie = fo === undefined ? null : hex(fo.cookie)
    if (dir === 'out' && !(seg.flags & ACK)) syns.push({ cookie, data: seg.payload.length, iss: seg.seq })
    if (dir === 'in' && seg.flags & ACK) synAcks.push({ cookie, ack: seg.ack })
  })
  server = spawn('python3', [SERVER, KERNEL, String(PORT), '2'], { stdio: 'pipe' })
  let buffered = ''
  server.stdout.on('data', (c: Buffer) => {
    buffered += c.toString()
    const parts = buffered.split('\n')
    buffered = parts.pop()!
    lines.push(...parts)
  })
  await waitFor(() => lines.includes('listening'), 'the Python Fast Open listener', 10_000)
})

afterAll(async () => {
  if (server !== null && server.exitCode === null) server.kill('SIGKILL')
  await t?.close()
  if (before !== '') writeFileSync(SYSCTL, before)
})

/** One connection with fastOpen: write `data`, end, and read the kernel's answer to the end. */
function exchange(data: string): Promise<{ reply: string; synData: boolean }> {
  return new Promise((resolve, reject) => {
    const socket: Socket = t.stack.connect({ host: KERNEL, port: PORT, fastOpen: true })
    let reply = ''
    let synData = false
    socket.on('connect', () => { synData = (socket.info().options & TCPI_OPT.SYN_DATA) !== 0 })
    socket.on('data', (d: Buffer) => { reply += d.toString() })
    socket.on('end', () => resolve({ reply, synData }))
    socket.on('error', reject)
    socket.end(data)
  })
}

describe('Fast Open client against the kernel (RFC 7413)', () => {
  it('sets tcp_fastopen in this network namespace only: a new namespace still has the default', async () => {
    expect(readFileSync(SYSCTL, 'utf8').trim()).toBe('3')
    const fresh = await runText('unshare', ['-n', 'cat', SYSCTL])
    expect(fresh.code).toBe(0)
    expect(fresh.stdout.trim()).not.toBe('3')
  })

  it('asks for a cookie first, then sends the cookie and the data in the SYN, which the kernel acknowledges', async () => {
    const first = await exchange('first, after the handshake')
    expect(first.reply).toBe('got 26 bytes')
    expect(first.synData).toBe(false)
    expect(syns[0]).toMatchObject({ cookie: '', data: 0 }) // an empty option: a cookie request (4.1.1)
    expect(synAcks[0]!.cookie).toMatch(/^[0-9a-f]{8,32}$/) // the kernel's cookie for our address

    const second = await exchange('second, in the SYN')
    expect(second.reply).toBe('got 18 bytes')
    expect(second.synData).toBe(true) // TCPI_OPT_SYN_DATA
    expect(syns[1]).toMatchObject({ cookie: synAcks[0]!.cookie, data: 18 })
    // The SYN,ACK acknowledges the SYN and all 18 bytes it carried.
    expect((synAcks[1]!.ack - syns[1]!.iss) >>> 0).toBe(1 + 18)

    await waitFor(() => lines.filter(l => l.startsWith('{')).length === 2, 'the server to report both connections')
    const got = lines.filter(l => l.startsWith('{')).map(l => (JSON.parse(l) as { data: string }).data)
    expect(got).toEqual(['first, after the handshake', 'second, in the SYN'])
    expect(t.internalErrors).toEqual([])
  })
})
