// TCP Fast Open (RFC 7413) with the kernel as the client and the stack as the server: a
// Python client (tfo-client.py, sendto with MSG_FASTOPEN) connects twice. The first
// connection asks for a cookie and gets it in our SYN,ACK; the kernel keeps it in its TCP
// metrics; the second carries its data in the SYN, which the stack takes at once and hands
// over with the connection still in SYN-RECEIVED. net.ipv4.tcp_fastopen is set in the
// test's own network namespace only (the sysctl is per namespace: checked first).

import { readFileSync, writeFileSync } from 'node:fs'
import { createServer as httpCreateServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Socket } from '../../src/stack/socket/socket'
import { TCPI_OPT } from '../../src/stack/tcp-info'
import { SYN, type TcpSegment } from '../../src/stack/wire/tcp'
import { runText, stackOnTun, type TunStack } from './helpers'
import { requireFreshNetns } from './netns'

const DEV = 'tktfo0'
const KERNEL = '10.71.0.1'
const ADDR = '10.71.0.2'
const PORT = 8070
const HTTP_PORT = 8071
const CLIENT = fileURLToPath(new URL('./tfo-client.py', import.meta.url))
const SYSCTL = '/proc/sys/net/ipv4/tcp_fastopen'

let t: TunStack
let before = ''
/** Each connection the server got: its state when handed over, the data it had by then, TCPI_OPT_SYN_DATA. */
const accepted: Array<{ state: string; bytesAtAccept: number; synData: boolean }> = []
/** Our SYN,ACKs and the Fast Open option each carried. */
const synAcks: Array<{ cookie: string | null }> = []
/** The kernel's SYNs: the Fast Open option and how much data each carried. */
const syns: Array<{ cookie: string | null; data: number }> = []

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

beforeAll(() => {
  requireFreshNetns()
  before = readFileSync(SYSCTL, 'utf8').trim()
  writeFileSync(SYSCTL, '3') // client (0x1) and server (0x2), here only
  t = stackOnTun(DEV, KERNEL, ADDR)
  t.stack.on('segment', (dir: string, { seg }: { seg: TcpSegment }) => {
    if (!(seg.flags & SYN)) return
    const fo = seg.options.fastOpen
    if (dir === 'out') synAcks.push({ cookie: fo === undefined ? null : hex(fo.cookie) })
    else syns.push({ cookie: fo === undefined ? null : hex(fo.cookie), data: seg.payload.length })
  })
  t.stack.createServer((socket: Socket) => {
    let got = ''
    socket.on('error', () => {})
    socket.on('data', (d: Buffer) => {
      got += d.toString()
      socket.end(`got ${got}`)
    })
    const entry = { state: socket.state, bytesAtAccept: 0, synData: (socket.info().options & TCPI_OPT.SYN_DATA) !== 0 }
    accepted.push(entry)
    // The SYN's data is delivered right after 'connection', in the same turn, before any ACK can come.
    queueMicrotask(() => { entry.bytesAtAccept = socket.bytesRead })
  }).listen({ port: PORT, fastOpen: 16 })
  // node:http on the stack's sockets, Fast Open on: curl --tcp-fastopen puts its request in the SYN.
  const http = httpCreateServer((req, res) => res.end(`${req.method} ${req.url} ${req.socket.remoteAddress}\n`))
  t.stack.createServer((socket: Socket) => {
    httpStates.push(socket.state)
    http.emit('connection', socket)
  }).listen({ port: HTTP_PORT, fastOpen: 16 })
})

/** The state of each connection the HTTP server got, when it got it. */
const httpStates: string[] = []

afterAll(async () => {
  if (before !== '') writeFileSync(SYSCTL, before)
  await t?.close()
})

describe('a kernel client with tcp_fastopen=3 and the stack as a Fast Open server', () => {
  it('the sysctl is per network namespace: a fresh namespace has the kernel default, not ours', async () => {
    const r = await runText('unshare', ['-n', 'cat', SYSCTL])
    expect(r.code).toBe(0)
    expect(r.stdout.trim()).toMatch(/^\d+$/)
    expect(r.stdout.trim()).not.toBe('3') // a new namespace starts from the kernel's default (1), not from ours
    expect(readFileSync(SYSCTL, 'utf8').trim()).toBe('3')
  })

  it('gets a cookie on the first connection, then its second SYN carries the data, accepted before the handshake ends', async () => {
    const r = await runText('python3', [CLIENT, ADDR, String(PORT), 'hello', '2'], 30_000)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout.split('\n').filter(Boolean)).toEqual(['got hello', 'got hello'])

    // The first SYN asked for a cookie (no data); our SYN,ACK gave it.
    expect(syns[0]).toEqual({ cookie: '', data: 0 })
    const cookie = synAcks[0]!.cookie
    expect(cookie).toMatch(/^[0-9a-f]{16}$/)
    // The second SYN brought the cookie back with the data, and the SYN,ACK gave none (it was valid).
    expect(syns[1]).toEqual({ cookie, data: 5 })
    expect(synAcks[1]!.cookie).toBeNull()
    expect(t.stack.counters.fastOpenPassive).toBe(1)
    expect(t.stack.counters.fastOpenPassiveFail).toBe(0)

    // The first connection was an ordinary one; the second was ours in SYN-RECEIVED, data in hand.
    expect(accepted[0]).toMatchObject({ state: 'ESTABLISHED', synData: false })
    expect(accepted[1]).toEqual({ state: 'SYN-RECEIVED', bytesAtAccept: 5, synData: true })

    // The kernel keeps the cookie for our address (its TCP metrics cache).
    const metrics = await runText('ip', ['tcp_metrics', 'show', ADDR])
    expect(metrics.stdout).toContain(`fo_cookie ${cookie}`)
    expect(t.internalErrors).toEqual([])
  })

  it('after a key change the kernel\'s cookie fails: only the SYN is ACKed, a fresh cookie given, the kernel sends its data again (RFC 7413 4.2.2)', async () => {
    const first = synAcks.length
    const firstAccepted = accepted.length
    t.stack.tcpConfig.fastOpenKey = '0badc0de-5eed1234-600dcafe-7e577e57'
    const r = await runText('python3', [CLIENT, ADDR, String(PORT), 'again', '2'], 30_000)
    expect(r.stderr).toBe('')
    expect(r.stdout.split('\n').filter(Boolean)).toEqual(['got again', 'got again'])
    const fresh = synAcks[first]!.cookie
    expect(fresh).toMatch(/^[0-9a-f]{16}$/)
    expect(fresh).not.toBe(synAcks[0]!.cookie)
    expect(t.stack.counters.fastOpenPassiveFail).toBe(1)
    // The failed one was an ordinary handshake; the next SYN brought the fresh cookie and was taken.
    expect(accepted[firstAccepted]).toMatchObject({ state: 'ESTABLISHED', synData: false })
    expect(accepted[firstAccepted + 1]).toEqual({ state: 'SYN-RECEIVED', bytesAtAccept: 5, synData: true })
    expect(syns.at(-2)).toEqual({ cookie: synAcks[0]!.cookie, data: 5 }) // the old cookie, with data
    expect(syns.at(-1)).toEqual({ cookie: fresh, data: 5 })
    const metrics = await runText('ip', ['tcp_metrics', 'show', ADDR])
    expect(metrics.stdout).toContain(`fo_cookie ${fresh}`)
    expect(t.internalErrors).toEqual([])
  })

  it('curl --tcp-fastopen to node:http on the stack: the second request rides in the SYN and is answered', async () => {
    // The kernel keeps cookies per destination address: forget the one the tests above left.
    expect((await runText('ip', ['tcp_metrics', 'delete', ADDR])).code).toBe(0)
    const passive = t.stack.counters.fastOpenPassive
    const url = `http://${ADDR}:${HTTP_PORT}/tfo`
    for (let i = 0; i < 2; i++) {
      const r = await runText('curl', ['-sS', '--tcp-fastopen', '--max-time', '10', url], 20_000)
      expect(r.stderr).toBe('')
      expect(r.stdout).toBe(`GET /tfo ${KERNEL}\n`)
    }
    expect(httpStates).toEqual(['ESTABLISHED', 'SYN-RECEIVED'])
    expect(t.stack.counters.fastOpenPassive).toBe(passive + 1)
    expect(t.internalErrors).toEqual([])
  })
})
