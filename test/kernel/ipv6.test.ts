// IPv6 against the kernel over TUN: the kernel side gets fd79::1/64 beside 10.79.0.1/24 on
// one device, the stack serves every service (serveAll) on fd79::2 and 10.79.0.2 at once.
// ping -6, curl -6 (a page, 10 MiB), nc -6 echo, the kernel's TIME-WAIT in `ss -6` when it
// closes first, the stack's when it does, IPv4 beside it, dual-stack sockets (an IPv4 peer seen
// as ::ffff:10.79.0.1), and a real Packet Too Big: the
// kernel, forwarding our segments to a second stack behind a 1280-byte link, answers the
// first too-big one as a router does (RFC 8201), and our MSS comes down to fit.

import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect as netConnect } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { chargenBytes } from '../../src/apps/chargen'
import { serveAll } from '../../src/apps/index'
import type { StateChange } from '../../src/stack/stack'
import { KernelSockets, exitWithin, readAll, run, runText, sha, stackOnTun, stopLeftovers, tuntcp, waitFor, type TunStack } from './helpers'
import { requireFreshNetns } from './netns'

const DEV = 'tkv6'
const ADDR6 = 'fd79::2'
const KERNEL6 = 'fd79::1'
/** The second stack, behind the kernel as a router, on a device whose kernel side takes 1280 bytes. */
const FAR_DEV = 'tkv6far'
const FAR6 = 'fd7a::2'

let tun: TunStack
let far: TunStack
const changes: StateChange[] = []
const kernelSockets = new KernelSockets()

beforeAll(() => {
  requireFreshNetns()
  tun = stackOnTun(DEV, '10.79.0.1', '10.79.0.2', { address6: ADDR6 })
  // nodad: the address is usable at once, without duplicate address detection's second.
  execFileSync('ip', ['-6', 'addr', 'add', `${KERNEL6}/64`, 'dev', DEV, 'nodad'])
  tun.stack.on('state', (c: StateChange) => changes.push(c))
  serveAll(tun.stack)
})

afterEach(async () => {
  kernelSockets.destroyAll()
  await stopLeftovers()
})

afterAll(async () => {
  expect(tun.internalErrors).toEqual([])
  await tun?.close()
  await far?.close()
})

/** The stack's state changes for its connection with the kernel's port `remotePort`, as "FROM -> TO". */
function statesOf(localPort: number, remotePort: number): string[] {
  return changes
    .filter(c => c.conn.localPort === localPort && c.conn.remotePort === remotePort && c.conn.remoteAddress === KERNEL6)
    .map(c => `${c.from} -> ${c.to}`)
}

describe('IPv6 on the TUN device, beside IPv4', () => {
  it('answers ping -6, and ping over IPv4 on the same device', async () => {
    const six = await runText('ping', ['-6', '-c', '3', '-i', '0.2', '-W', '2', ADDR6])
    expect(six.code, six.stdout + six.stderr).toBe(0)
    expect(six.stdout).toMatch(/3 packets transmitted, 3 received/)
    const four = await runText('ping', ['-c', '2', '-i', '0.2', '-W', '2', '10.79.0.2'])
    expect(four.stdout).toMatch(/2 packets transmitted, 2 received/)
    expect(tun.stack.counters.pingsAnswered).toBeGreaterThanOrEqual(5)
  })

  it('ping -6 with 1400 bytes of data comes back whole (ping checks the data)', async () => {
    const r = await runText('ping', ['-6', '-c', '1', '-s', '1400', '-p', 'a5', '-W', '2', ADDR6])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(r.stdout).toMatch(/1408 bytes from fd79::2/)
  })

  it("counts the kernel's own IPv6 (router solicitations, MLD) as ignored, never as drops", () => {
    const { ignored, drops } = tun.stack.counters
    expect(Object.keys(ignored).every(k => k.startsWith('ipv6-'))).toBe(true)
    expect(Object.keys(drops).filter(k => k.startsWith('ipv6') || k.startsWith('icmpv6'))).toEqual([])
  })
})

describe('TCP over IPv6 with kernel clients', () => {
  it('curl -6 GET / is 200 with the page', async () => {
    const r = await run('curl', ['-6', '-g', '-sS', '--max-time', '10', '-w', '\n%{http_code}', `http://[${ADDR6}]/`])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const text = r.stdout.toString()
    expect(text.slice(text.lastIndexOf('\n') + 1)).toBe('200')
    expect(text).toContain('<h1>tuntcp at')
  })

  it('curl -6 GET /bytes/10485760 is exactly 10 MiB of the chargen pattern (SHA-256)', async () => {
    const N = 10_485_760
    const r = await run('curl', ['-6', '-g', '-sS', '--fail', '--max-time', '30', `http://[${ADDR6}]/bytes/${N}`], { timeoutMs: 40_000 })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout.length).toBe(N)
    expect(sha(r.stdout)).toBe(sha(chargenBytes(0, N)))
  })

  it('nc -6 echoes 256 KiB intact (SHA-256)', async () => {
    const input = randomBytes(192 * 1024).toString('base64') + '\n' // 256 KiB of text
    const r = await run('nc', ['-6', '-N', '-w', '5', ADDR6, '7'], { input, timeoutMs: 20_000 })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(sha(r.stdout)).toBe(sha(Buffer.from(input)))
  })

  it('the kernel closes first: its TIME-WAIT shows in ss -6 -tan, the stack takes the passive close', async () => {
    const sock = await kernelSockets.dial(ADDR6, 9, true)
    expect([sock.remoteFamily, sock.remoteAddress]).toEqual(['IPv6', ADDR6])
    const port = sock.localPort!
    const done = readAll(sock)
    sock.end(randomBytes(64 * 1024))
    await done
    await waitFor(() => statesOf(9, port).includes('LAST-ACK -> CLOSED'), 'the discard connection to close')
    expect(statesOf(9, port)).toEqual([
      'LISTEN -> SYN-RECEIVED', 'SYN-RECEIVED -> ESTABLISHED', 'ESTABLISHED -> CLOSE-WAIT', 'CLOSE-WAIT -> LAST-ACK', 'LAST-ACK -> CLOSED',
    ])
    const ss = await runText('ss', ['-6', '-tan', 'state', 'time-wait'])
    expect(ss.stdout).toContain(`[${KERNEL6}]:${port}`)
    expect(ss.stdout).toContain(`[${ADDR6}]:9`)
  })

  it('the stack closes first (daytime): FIN-WAIT-2 while the kernel is in CLOSE-WAIT (ss -6), then TIME-WAIT for 2 MSL', async () => {
    const sock = await kernelSockets.dial(ADDR6, 13, true)
    const port = sock.localPort!
    const chunks: Buffer[] = []
    sock.on('data', (c: Buffer) => chunks.push(c))
    await new Promise<void>(resolve => sock.once('end', resolve))
    expect(Buffer.concat(chunks).toString()).toMatch(/^\d\d [A-Z]{3} \d{4} \d\d:\d\d:\d\d UTC\r\n$/)
    await waitFor(() => statesOf(13, port).includes('FIN-WAIT-1 -> FIN-WAIT-2'), 'the stack to reach FIN-WAIT-2')
    const ss = await runText('ss', ['-6', '-tan', 'state', 'close-wait'])
    expect(ss.stdout).toContain(`[${KERNEL6}]:${port}`)
    sock.end()
    await new Promise<void>(resolve => sock.once('close', resolve))
    await waitFor(() => statesOf(13, port).includes('TIME-WAIT -> CLOSED'), `TIME-WAIT to end (${statesOf(13, port).join(', ')})`, 5000)
    expect(statesOf(13, port).slice(2)).toEqual([
      'ESTABLISHED -> FIN-WAIT-1', 'FIN-WAIT-1 -> FIN-WAIT-2', 'FIN-WAIT-2 -> TIME-WAIT', 'TIME-WAIT -> CLOSED',
    ])
  })

  it('IPv4 TCP works at the same time on the same device', async () => {
    const text = (host: string, payload: string) => new Promise<string>((resolve, reject) => {
      const s = netConnect({ host, port: 7 }, () => s.end(payload))
      let got = ''
      s.on('data', d => { got += d })
      s.on('end', () => resolve(got))
      s.on('error', reject)
    })
    const [four, six] = await Promise.all([text('10.79.0.2', 'four'), text(ADDR6, 'six')])
    expect([four, six]).toEqual(['four', 'six'])
  })

  it('the stack connects out to a kernel server over IPv6', async () => {
    const { createServer } = await import('node:net')
    const server = createServer(s => s.end('hello from the kernel'))
    await new Promise<void>(resolve => server.listen(9100, KERNEL6, resolve))
    try {
      const sock = tun.stack.connect({ host: KERNEL6, port: 9100 })
      const chunks: Buffer[] = []
      sock.on('data', (c: Buffer) => chunks.push(c))
      await new Promise<void>((resolve, reject) => { sock.on('end', resolve); sock.on('error', reject) })
      sock.end()
      expect(Buffer.concat(chunks).toString()).toBe('hello from the kernel')
      expect([sock.remoteFamily, sock.localAddress]).toEqual(['IPv6', ADDR6])
    } finally {
      server.close()
    }
  })

  it("a stack server on '::' takes a Node client over IPv4 and sees it as ::ffff:10.79.0.1, as net's dual-stack socket does", async () => {
    const peers: string[] = []
    const server = tun.stack.createServer(s => { peers.push(`${s.remoteFamily} ${s.remoteAddress} ${s.localAddress}`); s.end(`you are ${s.remoteAddress}`) })
    await new Promise<void>(resolve => server.listen(9300, '::', resolve))
    try {
      expect(server.address()).toEqual({ address: '::', port: 9300, family: 'IPv6' })
      const client = netConnect({ host: '10.79.0.2', port: 9300 })
      const reply = await new Promise<string>((resolve, reject) => {
        let got = ''
        client.on('data', (d: Buffer) => { got += d })
        client.on('end', () => { client.end(); resolve(got) })
        client.on('error', reject)
      })
      expect(reply).toBe('you are ::ffff:10.79.0.1')
      expect(peers).toEqual(['IPv6 ::ffff:10.79.0.1 ::ffff:10.79.0.2'])
      // The kernel's client is a plain IPv4 socket: the wire carried IPv4.
      expect([client.remoteFamily, client.remoteAddress]).toEqual(['IPv4', '10.79.0.2'])
    } finally {
      server.close()
    }
  })

  it('the stack connects to ::ffff:10.79.0.1 over IPv4: the kernel server sees 10.79.0.2, the stack socket ::ffff: addresses', async () => {
    const { createServer } = await import('node:net')
    const server = createServer(s => s.end(`you are ${s.remoteFamily} ${s.remoteAddress}`))
    await new Promise<void>(resolve => server.listen(9301, '10.79.0.1', resolve))
    try {
      const sock = tun.stack.connect({ host: '::ffff:10.79.0.1', port: 9301 })
      const chunks: Buffer[] = []
      sock.on('data', (c: Buffer) => chunks.push(c))
      await new Promise<void>((resolve, reject) => { sock.on('end', resolve); sock.on('error', reject) })
      sock.end()
      expect(Buffer.concat(chunks).toString()).toBe('you are IPv4 10.79.0.2')
      expect([sock.remoteFamily, sock.remoteAddress, sock.localAddress]).toEqual(['IPv6', '::ffff:10.79.0.1', '::ffff:10.79.0.2'])
    } finally {
      server.close()
    }
  })
})

describe('UDP over IPv6 with a kernel socket', () => {
  it('echoes a datagram to a kernel udp6 socket, and a closed port refuses it (ICMPv6 port unreachable: ECONNREFUSED)', async () => {
    const { createSocket } = await import('node:dgram')
    const echo = tun.stack.createSocket('udp6')
    echo.on('message', (msg: Buffer, rinfo) => echo.send(msg, rinfo.port, rinfo.address))
    echo.bind(5353)
    const kernel = createSocket('udp6')
    try {
      const reply = new Promise<[string, string]>(resolve => kernel.once('message', (m, r) => resolve([m.toString(), r.address])))
      kernel.send('six by udp', 5353, ADDR6)
      expect(await reply).toEqual(['six by udp', ADDR6])
      const refused = createSocket('udp6')
      const error = new Promise<string>(resolve => refused.once('error', e => resolve((e as NodeJS.ErrnoException).code!)))
      refused.connect(5354, ADDR6, () => refused.send('anyone?'))
      expect(await error).toBe('ECONNREFUSED')
      refused.close()
    } finally {
      kernel.close()
      echo.close()
    }
  })
})

describe('path MTU discovery over IPv6 (RFC 8201)', () => {
  it('a Packet Too Big from the kernel as a router lowers our MSS to 1280 - 60, and the data gets through', async () => {
    // The far stack's TUN is opened for 1500 bytes, so it offers MSS 1440; then its kernel
    // side is cut to 1280: the kernel, forwarding, cannot pass our full-sized segments on.
    far = stackOnTun(FAR_DEV, '10.80.0.1', '10.80.0.2', { address6: FAR6 })
    execFileSync('ip', ['-6', 'addr', 'add', 'fd7a::1/64', 'dev', FAR_DEV, 'nodad'])
    execFileSync('ip', ['link', 'set', 'dev', FAR_DEV, 'mtu', '1280'])
    execFileSync('sysctl', ['-qw', 'net.ipv6.conf.all.forwarding=1']) // this namespace only
    const received: Buffer[] = []
    let ended = false
    far.stack.createServer(s => {
      s.on('data', (c: Buffer) => received.push(c))
      s.on('end', () => { ended = true; s.end() })
    }).listen(9)
    const sock = tun.stack.connect({ host: FAR6, port: 9 })
    await new Promise<void>((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject) })
    const payload = randomBytes(256 * 1024)
    sock.end(payload)
    await waitFor(() => ended, 'the far stack to get all the data', 20_000)
    expect(sha(Buffer.concat(received))).toBe(sha(payload))
    expect(tun.stack.counters.pmtuReductions).toBe(1)
    const mine = changes.find(c => c.conn.remoteAddress === FAR6)
    expect(mine).toBeDefined()
    // The far end's ACK of our FIN may still be on its way when its 'end' fires: wait for it.
    await waitFor(() => sock.state === 'CLOSED' || sock.state === 'TIME-WAIT' || sock.state === 'FIN-WAIT-2', 'our FIN to be acknowledged', 5_000)
    expect(far.internalErrors).toEqual([])
  })
})

describe('tuntcp serve over both families', () => {
  it('serves --addr of each family with --kernel-addr of each (nodad), answers curl -6 and nc -6, ss shows [addr]:port, SIGINT exits 0', async () => {
    const cli = tuntcp(['serve', '--dev', 'tkv6cli', '--addr', '10.78.0.2', '--addr', 'fd78::2', '--kernel-addr', '10.78.0.1/24', '--kernel-addr', 'fd78::1/64', '--msl', '1'])
    await waitFor(() => cli.stdout().includes('Ctrl-C to stop') || cli.child.exitCode !== null, 'the banner', 15_000)
    expect(cli.stdout()).toMatch(/at 10\.78\.0\.2 and fd78::2, kernel side 10\.78\.0\.1\/24 and fd78::1\/64/)
    expect(cli.stdout()).toContain('curl -g http://[fd78::2]/')
    const page = await run('curl', ['-6', '-g', '-sS', '--max-time', '10', '-w', '\n%{http_code}', 'http://[fd78::2]/'])
    expect(page.stderr).toBe('')
    expect(page.stdout.toString().endsWith('\n200')).toBe(true)
    const sock = await kernelSockets.dial('fd78::2', 7)
    const echoed = new Promise<string>(resolve => sock.once('data', (c: Buffer) => resolve(c.toString())))
    sock.write('still here')
    expect(await echoed).toBe('still here')
    const listing = tuntcp(['ss', '--dev', 'tkv6cli'])
    expect(await exitWithin(listing, 15_000)).toBe(0)
    expect(listing.stdout()).toMatch(new RegExp(`^ESTABLISHED +0 +0 +\\[fd78::2\\]:7 +\\[fd78::1\\]:${sock.localPort}`, 'm'))
    const four = await run('nc', ['-N', '-w', '5', '10.78.0.2', '7'], { input: 'four\n', timeoutMs: 10_000 })
    expect(four.stdout.toString()).toBe('four\n')
    cli.child.kill('SIGINT')
    expect(await exitWithin(cli, 10_000)).toBe(0)
  })

  it('out of the box (no --addr, no --kernel-addr) serves 10.77.0.2 and fd77::2, the kernel side 10.77.0.1/24 and fd77::1/64', async () => {
    const cli = tuntcp(['serve', '--dev', 'tkv6def'])
    await waitFor(() => cli.stdout().includes('Ctrl-C to stop') || cli.child.exitCode !== null, 'the banner', 15_000)
    expect(cli.stdout()).toMatch(/at 10\.77\.0\.2 and fd77::2, kernel side 10\.77\.0\.1\/24 and fd77::1\/64/)
    const six = await run('curl', ['-6', '-g', '-sS', '--max-time', '10', '-o', '/dev/null', '-w', '%{http_code}', 'http://[fd77::2]/'])
    const four = await run('curl', ['-sS', '--max-time', '10', '-o', '/dev/null', '-w', '%{http_code}', 'http://10.77.0.2/'])
    expect([six.stdout.toString(), four.stdout.toString()]).toEqual(['200', '200'])
    cli.child.kill('SIGINT')
    expect(await exitWithin(cli, 10_000)).toBe(0)
  })

  it('--trace prints IPv6 ends as [addr]:port, and --pcap (LINKTYPE_RAW) holds IPv6 packets whose checksums tshark finds good', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tuntcp-pcap6-'))
    const file = join(dir, 'six.pcap')
    try {
      const cli = tuntcp(['serve', '--dev', 'tkv6pcap', '--addr', '10.75.0.2', '--addr', 'fd75::2', '--kernel-addr', '10.75.0.1/24',
        '--kernel-addr', 'fd75::1/64', '--trace', '--pcap', file])
      await waitFor(() => cli.stdout().includes('Ctrl-C to stop') || cli.child.exitCode !== null, 'the banner', 15_000)
      const page = await run('curl', ['-6', '-g', '-sS', '--max-time', '10', '-o', '/dev/null', '-w', '%{http_code}', 'http://[fd75::2]/bytes/100000'])
      expect(page.stdout.toString()).toBe('200')
      await waitFor(() => /state \[fd75::2\]:80 \[fd75::1\]:\d+ +SYN-RECEIVED -> ESTABLISHED/.test(cli.stderr()), 'the trace line', 5000)
      expect(cli.stderr()).toMatch(/in \[fd75::1\]:\d+ > \[fd75::2\]:80 +S /)
      const fields = await run('tshark', ['-r', file, '-Y', 'tcp.port == 80', '-T', 'fields', '-E', 'separator=,', '-e', 'ipv6.src', '-e', 'tcp.flags.syn', '-e', 'tcp.flags.ack'])
      expect(fields.code).toBe(0)
      const packets = fields.stdout.toString().trim().split('\n')
      expect(packets.slice(0, 2)).toEqual(['fd75::1,1,0', 'fd75::2,1,1'])
      // Offloaded segments are written with their checksum completed (withFullTcpChecksum).
      const bad = await run('tshark', ['-r', file, '-o', 'tcp.check_checksum:TRUE', '-Y', 'tcp.checksum.status == "Bad"'])
      expect(bad.stdout.toString().trim()).toBe('')
      cli.child.kill('SIGINT')
      expect(await exitWithin(cli, 10_000)).toBe(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('tuntcp connect reaches a kernel server over IPv6', async () => {
    const { createServer } = await import('node:net')
    const got: Buffer[] = []
    const server = createServer(s => { s.on('data', (c: Buffer) => got.push(c)); s.on('end', () => s.end('bye\n')) })
    await new Promise<void>(resolve => server.listen(9200, '::', resolve))
    try {
      const cli = tuntcp(['connect', 'fd76::1', '9200', '--dev', 'tkv6con', '--addr', '10.76.0.2', '--addr', 'fd76::2', '--kernel-addr', '10.76.0.1/24', '--kernel-addr', 'fd76::1/64'], 'over six\n')
      expect(await exitWithin(cli, 15_000)).toBe(0)
      expect(cli.stdout()).toBe('bye\n')
      expect(Buffer.concat(got).toString()).toBe('over six\n')
      expect(cli.stderr()).toMatch(/connecting to \[fd76::1\]:9200 from \[fd76::2\]:\d+/)
    } finally {
      server.close()
    }
  })
})
