// The tuntcp command as a user runs it: `serve` and `connect` as child processes,
// each creating its own TUN device, with curl and Node's net (the kernel's TCP) as
// the peers. Each test uses its own device name and /24.

import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect as netConnect, createServer as netCreateServer, type Server as NetServer, type Socket as NetSocket } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { parseTrace, type SenderRecord } from '../../src/viz/trace'
import { CLI, exitWithin, run as runWithInput, runText as run, sleep, stopLeftovers, tuntcp, waitFor } from './helpers'
import { interfaceExists, requireFreshNetns } from './netns'

/** tsx takes about a second to start; allow for a slow machine. */
const START_MS = 20_000

beforeAll(() => requireFreshNetns())

afterEach(stopLeftovers)

// -----------------------------------------------------------------------------

describe('tuntcp serve', () => {
  const kernelSockets: NetSocket[] = []
  afterAll(() => { for (const s of kernelSockets) s.destroy() })

  it('comes up, serves curl, and on SIGINT closes connections, prints counters, exits 0 and removes its device', async () => {
    expect(interfaceExists('tkcli0')).toBe(false)
    const cli = tuntcp(['serve', '--dev', 'tkcli0', '--addr', '10.83.0.2', '--kernel-addr', '10.83.0.1/24', '--msl', '1'])
    await waitFor(() => cli.stdout().includes('Ctrl-C to stop') || cli.child.exitCode !== null, 'the banner', START_MS)
    expect(cli.stdout()).toMatch(/tuntcp: serving on tkcli0 \(mtu 1500(, offload)?\) at 10\.83\.0\.2, kernel side 10\.83\.0\.1\/24/)
    expect(cli.stdout()).toContain('curl http://10.83.0.2/')
    expect(interfaceExists('tkcli0')).toBe(true)

    const page = await run('curl', ['-sS', '--max-time', '10', '-w', '\n%{http_code}', 'http://10.83.0.2/'])
    expect(page.stderr).toBe('')
    expect(page.code).toBe(0)
    expect(page.stdout).toContain('<h1>tuntcp at 10.83.0.2</h1>')
    expect(page.stdout.endsWith('\n200')).toBe(true)

    // A connection still open when SIGINT comes is closed gracefully (a FIN, not a RST).
    const sock = netConnect({ host: '10.83.0.2', port: 7 })
    kernelSockets.push(sock)
    let kernelError: Error | null = null
    let kernelEnded = false
    sock.on('error', e => { kernelError = e })
    sock.on('end', () => { kernelEnded = true })
    const echoed = new Promise<string>(resolve => sock.once('data', (c: Buffer) => resolve(c.toString())))
    sock.write('still here')
    expect(await echoed).toBe('still here')

    // tuntcp ss reads the running serve's connections through its control socket.
    const listing = tuntcp(['ss', '--dev', 'tkcli0'])
    expect(await exitWithin(listing, START_MS)).toBe(0)
    expect(listing.stdout()).toMatch(/^State +Recv-Q +Send-Q +Local Address:Port +Peer Address:Port +Timer$/m)
    expect(listing.stdout()).toMatch(new RegExp(`^ESTABLISHED +0 +0 +10\\.83\\.0\\.2:7 +10\\.83\\.0\\.1:${sock.localPort}`, 'm'))
    expect(listing.stdout()).toMatch(/connections? on tkcli0 \(10\.83\.0\.2\); packets in \d+/)

    const t0 = Date.now()
    cli.child.kill('SIGINT')
    const code = await exitWithin(cli, 5000)
    expect(code).toBe(0)
    expect(Date.now() - t0).toBeLessThan(5000)
    await waitFor(() => kernelEnded || kernelError !== null, 'the kernel socket to see the close', 2000)
    expect(kernelError).toBeNull()
    expect(kernelEnded).toBe(true)
    const err = cli.stderr()
    expect(err).toContain('tuntcp: SIGINT: closing 1 connection')
    expect(err).toMatch(/^packets in \d+, out \d+$/m)
    expect(err).toMatch(/^connections: active opens 0, passive opens [1-9]\d*, failures 0$/m)
    expect(err).not.toContain('internal error')
    expect(interfaceExists('tkcli0')).toBe(false)
    const gone = tuntcp(['ss', '--dev', 'tkcli0'])
    expect(await exitWithin(gone, START_MS)).toBe(1)
    expect(gone.stderr()).toContain('no tuntcp serve is running on tkcli0')
  })
})

const hasTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0
if (!hasTshark) console.warn('skipping the --pcap test: tshark is not installed (apt-get install tshark; .ci/run does)')

describe('tuntcp serve --pcap', () => {
  it.skipIf(!hasTshark)('writes every packet of a curl conversation, which tshark reads back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tuntcp-pcap-'))
    const file = join(dir, 'conversation.pcap')
    try {
      const cli = tuntcp(['serve', '--dev', 'tkpcap0', '--addr', '10.88.0.2', '--kernel-addr', '10.88.0.1/24', '--pcap', file])
      await waitFor(() => cli.stdout().includes('Ctrl-C to stop') || cli.child.exitCode !== null, 'the banner', START_MS)
      const page = await run('curl', ['-sS', '--max-time', '10', '-o', '/dev/null', '-w', '%{http_code}', 'http://10.88.0.2/'])
      expect(page.stdout).toBe('200')
      // Read while serve still runs: the file is flushed as it goes.
      const fields = await run('tshark', ['-r', file, '-Y', 'tcp.port == 80', '-T', 'fields', '-E', 'separator=,',
        '-e', 'ip.src', '-e', 'tcp.flags.syn', '-e', 'tcp.flags.ack', '-e', 'tcp.flags.fin', '-e', 'tcp.flags.reset', '-e', 'http.request.method', '-e', 'http.response.code'])
      expect(fields.code).toBe(0)
      const packets = fields.stdout.trim().split('\n')
      // The handshake, the request and response, and a close from both ends; no resets.
      expect(packets[0]).toBe('10.88.0.1,1,0,0,0,,')
      expect(packets[1]).toBe('10.88.0.2,1,1,0,0,,')
      expect(packets).toContain('10.88.0.1,0,1,0,0,GET,')
      expect(packets.some(p => p.startsWith('10.88.0.2,0,1,0,0,,200'))).toBe(true)
      expect(packets.filter(p => p.split(',')[3] === '1').map(p => p.split(',')[0]).sort()).toEqual(['10.88.0.1', '10.88.0.2'])
      expect(packets.filter(p => p.split(',')[4] === '1')).toEqual([])
      // Checksums as tshark computes them: every one of our packets is valid.
      const bad = await run('tshark', ['-r', file, '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-Y', 'ip.checksum.status == "Bad" || tcp.checksum.status == "Bad"'])
      expect(bad.stdout.trim()).toBe('')
      cli.child.kill('SIGINT')
      expect(await exitWithin(cli, 5000)).toBe(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('tuntcp serve --trace-json and tuntcp plot', () => {
  it('writes every segment, state change and sender snapshot of a download, which plot draws', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tuntcp-json-'))
    const file = join(dir, 'serve.jsonl')
    try {
      const cli = tuntcp(['serve', '--dev', 'tkjson0', '--addr', '10.89.0.2', '--kernel-addr', '10.89.0.1/24', '--trace-json', file])
      await waitFor(() => cli.stdout().includes('Ctrl-C to stop') || cli.child.exitCode !== null, 'the banner', START_MS)
      const got = await run('curl', ['-sS', '--max-time', '10', '-o', '/dev/null', '-w', '%{size_download}', 'http://10.89.0.2/bytes/300000'])
      expect(got.stdout).toBe('300000')
      cli.child.kill('SIGINT')
      expect(await exitWithin(cli, 5000)).toBe(0)
      const { header, records } = parseTrace(readFileSync(file, 'utf8'))
      expect(header).toMatchObject({ schema: 'tuntcp-trace', version: 1, stack: '10.89.0.2' })
      const segs = records.filter(r => r.type === 'segment')
      expect(segs[0]).toMatchObject({ dir: 'in', src: '10.89.0.1', dst: '10.89.0.2', dport: 80, flags: ['SYN'], conn: 1 })
      expect(segs.filter(s => s.dir === 'out').reduce((n, s) => n + s.len, 0)).toBeGreaterThan(300_000) // the body and the headers
      const states = records.filter(r => r.type === 'state').map(r => `${r.from}>${r.to}`)
      expect(states.slice(0, 2)).toEqual(['LISTEN>SYN-RECEIVED', 'SYN-RECEIVED>ESTABLISHED'])
      const senders = records.filter((r): r is SenderRecord => r.type === 'sender')
      expect(senders.length).toBeGreaterThan(10)
      expect(Math.max(...senders.map(s => s.cwnd))).toBeGreaterThan(14_600) // slow start grew it
      expect(senders.at(-1)!.srtt).toBeTypeOf('number')
      for (const out of ['serve.html', 'serve.svg']) {
        const drawn = await run(process.execPath, [CLI, 'plot', file, '-o', join(dir, out)])
        expect(drawn, out).toMatchObject({ code: 0, stderr: '' })
        expect(readFileSync(join(dir, out), 'utf8')).toContain('connection 1: 10.89.0.2:80 → 10.89.0.1:')
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('tuntcp connect', () => {
  // The CLI creates each device itself, so the kernel peer listens on every address.
  let server: NetServer
  const accepted: NetSocket[] = []
  const peers: string[] = []
  beforeAll(async () => {
    server = netCreateServer({ allowHalfOpen: true }, conn => {
      accepted.push(conn)
      peers.push(`${conn.remoteAddress}`)
      conn.on('error', () => {})
      conn.on('data', (c: Buffer) => conn.write(c.toString().toUpperCase()))
      conn.on('end', () => conn.end())
    })
    await new Promise<void>(resolve => server.listen(9000, '0.0.0.0', resolve))
  })
  afterAll(async () => {
    for (const c of accepted) c.destroy()
    await new Promise(r => server.close(r))
  })

  it('sends stdin, prints the reply, half-closes at end of stdin and exits 0', async () => {
    const cli = tuntcp(['connect', '10.84.0.1', '9000', '--dev', 'tkconn0', '--addr', '10.84.0.2', '--kernel-addr', '10.84.0.1/24'], 'ping\n')
    const code = await exitWithin(cli, START_MS)
    // Where it connects from is all it says (the port is the stack's ephemeral one).
    expect(cli.stderr()).toMatch(/^tuntcp: connecting to 10\.84\.0\.1:9000 from 10\.84\.0\.2:\d+\n$/)
    expect(code).toBe(0)
    expect(cli.stdout()).toBe('PING\n')
    expect(peers.at(-1)).toBe('10.84.0.2')
    expect(interfaceExists('tkconn0')).toBe(false)
  })

  it('exits 1 with one line saying why when the port has no listener', async () => {
    const cli = tuntcp(['connect', '10.85.0.1', '9001', '--dev', 'tkconn1', '--addr', '10.85.0.2', '--kernel-addr', '10.85.0.1/24'], '')
    const code = await exitWithin(cli, START_MS)
    expect(code).toBe(1)
    expect(cli.stdout()).toBe('')
    const lines = cli.stderr().trimEnd().split('\n')
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(/^tuntcp: connecting to 10\.85\.0\.1:9001 from 10\.85\.0\.2:\d+$/)
    expect(lines[1]).toBe('tuntcp: connection refused by 10.85.0.1:9001')
    expect(interfaceExists('tkconn1')).toBe(false)
  })

  it('says the peer is not answering after the SYN went out three times, and keeps waiting', async () => {
    // 10.71.0.3 is on the device's subnet but nobody's: the kernel (not forwarding) drops the SYN without a word.
    const cli = tuntcp(['connect', '10.71.0.3', '9000', '--dev', 'tkconn4', '--addr', '10.71.0.2', '--kernel-addr', '10.71.0.1/24'], '')
    await waitFor(() => cli.stderr().includes('connecting to') || cli.child.exitCode !== null, 'the connecting line', START_MS)
    const t0 = Date.now()
    await waitFor(() => cli.stderr().includes('not answering') || cli.child.exitCode !== null, 'the not-answering line', 10_000)
    // The SYN at 0 s, again at 1 s and 3 s (RFC 6298: 1 s, doubling); still trying, as the message says.
    expect(Date.now() - t0).toBeGreaterThan(2_000)
    expect(cli.child.exitCode).toBeNull()
    cli.child.kill('SIGINT')
    expect(await exitWithin(cli, 5000)).toBe(130)
    expect(cli.stderr().trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^tuntcp: connecting to 10\.71\.0\.3:9000 from 10\.71\.0\.2:\d+$/),
      'tuntcp: 10.71.0.3:9000 is not answering (SYN sent 3 times); still waiting',
      'tuntcp: interrupted, resetting the connection',
    ])
    expect(interfaceExists('tkconn4')).toBe(false)
  })

  it('colours --trace into a pipe with FORCE_COLOR, and never with NO_COLOR', async () => {
    const connect = (env: string[], dev: string, net: number) => runWithInput('env', [...env, process.execPath, CLI, 'connect',
      `10.${net}.0.1`, '9000', '--dev', dev, '--addr', `10.${net}.0.2`, '--kernel-addr', `10.${net}.0.1/24`, '--trace'], { input: 'hue\n', timeoutMs: START_MS })
    const forced = await connect(['-u', 'NO_COLOR', 'FORCE_COLOR=1'], 'tkconn5', 72)
    expect(forced.code).toBe(0)
    expect(forced.stdout.toString()).toBe('HUE\n')
    // Segments out in green, in in cyan, state changes in yellow (trace.ts); the plain lines stay plain.
    expect(forced.stderr).toMatch(/^\x1b\[32m +\d+\.\d{6} out 10\.72\.0\.2:\d+ > 10\.72\.0\.1:9000 {2}S .*\x1b\[0m$/m)
    expect(forced.stderr).toMatch(/^\x1b\[36m.* in .*\x1b\[0m$/m)
    expect(forced.stderr).toMatch(/^\x1b\[33m.* state .*\x1b\[0m$/m)
    const plain = await connect(['NO_COLOR=1', 'FORCE_COLOR=1'], 'tkconn6', 73)
    expect(plain.code).toBe(0)
    expect(plain.stderr).toMatch(/ out 10\.73\.0\.2:\d+ > 10\.73\.0\.1:9000 {2}S /)
    expect(plain.stderr).not.toContain('\x1b[')
  })

  it('exits 2 with one line on a bad flag, creating nothing', async () => {
    const cli = tuntcp(['connect', '10.86.0.1', '9000', '--dev', 'tkconn2', '--mtu', '5'], '')
    const code = await exitWithin(cli, START_MS)
    expect(code).toBe(2)
    expect(cli.stdout()).toBe('')
    const lines = cli.stderr().trimEnd().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^tuntcp: --mtu must be .*"5"/)
    expect(interfaceExists('tkconn2')).toBe(false)
  })

  it('--trace prints every segment and state change on stderr', async () => {
    const cli = tuntcp(['connect', '10.87.0.1', '9000', '--dev', 'tkconn3', '--addr', '10.87.0.2', '--kernel-addr', '10.87.0.1/24', '--trace'], 'trace me\n')
    const code = await exitWithin(cli, START_MS)
    expect(code).toBe(0)
    expect(cli.stdout()).toBe('TRACE ME\n')
    const lines = cli.stderr().trimEnd().split('\n')
    const segments = lines.filter(l => / (in|out) \d+\.\d+\.\d+\.\d+:\d+ > /.test(l))
    const states = lines.filter(l => / state /.test(l)).map(l => /\s(\S+ -> \S+) \(/.exec(l)?.[1])
    // The handshake, as the trace shows it: our SYN out, the kernel's SYN-ACK in, our ACK out.
    expect(segments[0]).toMatch(/^\s*\d+\.\d{6} out 10\.87\.0\.2:\d+ > 10\.87\.0\.1:9000 {2}S {5}seq 0 \(\d+\) win \d+ len 0/)
    expect(segments[1]).toMatch(/ in 10\.87\.0\.1:9000 > 10\.87\.0\.2:\d+ {2}S\. +seq 0 \(\d+\) ack 1 \(\d+\)/)
    expect(segments[2]).toMatch(/ out 10\.87\.0\.2:\d+ > 10\.87\.0\.1:9000 {2}\. +seq 1 \(\d+\) ack 1 /)
    // Data both ways: "trace me\n" (9 bytes) out, "TRACE ME\n" in.
    expect(segments.some(l => / out .* len 9/.test(l))).toBe(true)
    expect(segments.some(l => / in .* len 9/.test(l))).toBe(true)
    // A FIN each way (tcpdump's flags: F., FP.).
    expect(segments.filter(l => / out .*  F\S* +seq /.test(l))).toHaveLength(1)
    expect(segments.filter(l => / in .*  F\S* +seq /.test(l))).toHaveLength(1)
    expect(states[0]).toBe('CLOSED -> SYN-SENT')
    expect(states[1]).toBe('SYN-SENT -> ESTABLISHED')
    // Our FIN goes at end of stdin, the kernel's follows: an active close. (The kernel may
    // carry its ACK of our FIN on its own FIN, so FIN-WAIT-2 can be skipped.)
    expect(states).toContain('ESTABLISHED -> FIN-WAIT-1')
    expect(states.at(-1)).toMatch(/^FIN-WAIT-[12] -> TIME-WAIT$/)
    expect(lines.some(l => /^tuntcp: connected 10\.87\.0\.2:\d+ -> 10\.87\.0\.1:9000$/.test(l))).toBe(true)
    expect(interfaceExists('tkconn3')).toBe(false)
  })

  it('--trace-json writes the open, the data both ways and the close as JSON lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tuntcp-json-'))
    const file = join(dir, 'connect.jsonl')
    try {
      const cli = tuntcp(['connect', '10.92.0.1', '9000', '--dev', 'tkconn7', '--addr', '10.92.0.2', '--kernel-addr', '10.92.0.1/24', '--trace-json', file], 'json me\n')
      expect(await exitWithin(cli, START_MS)).toBe(0)
      expect(cli.stdout()).toBe('JSON ME\n')
      const { records } = parseTrace(readFileSync(file, 'utf8'))
      expect(records[0]).toMatchObject({ type: 'state', conn: 1, local: '10.92.0.2', remote: '10.92.0.1', rport: 9000, from: 'CLOSED', to: 'SYN-SENT', cause: 'active OPEN' })
      expect(records[1]).toMatchObject({ type: 'segment', dir: 'out', flags: ['SYN'], ack: null, dport: 9000 })
      expect(records.some(r => r.type === 'segment' && r.dir === 'in' && r.len === 8)).toBe(true)
      expect(records.filter(r => r.type === 'segment' && r.flags.includes('FIN'))).toHaveLength(2)
      expect(records.filter(r => r.type === 'state').at(-1)).toMatchObject({ to: 'TIME-WAIT' })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('tuntcp command-line habits', () => {
  it('prints usage on stderr with status 2 when no command is given, on stdout with 0 when asked', async () => {
    const bare = tuntcp([])
    expect(await exitWithin(bare, START_MS)).toBe(2)
    expect(bare.stdout()).toBe('')
    expect(bare.stderr()).toMatch(/^usage: tuntcp COMMAND/)
    for (const asked of [['help'], ['--help'], ['-h']]) {
      const help = tuntcp(asked)
      expect(await exitWithin(help, START_MS)).toBe(0)
      expect(help.stderr()).toBe('')
      expect(help.stdout()).toMatch(/^usage: tuntcp COMMAND/)
      expect(help.stdout()).toMatch(/^ {2}-V, --version /m)
    }
    const unknown = tuntcp(['help', 'frob'])
    expect(await exitWithin(unknown, START_MS)).toBe(2)
    expect(unknown.stdout()).toBe('')
    expect(unknown.stderr()).toBe('tuntcp: no command "frob" to help with; the commands: serve, connect, forward, ss, demo, script, plot\n')
    for (const flag of ['-V', '--version']) {
      const version = tuntcp([flag])
      expect(await exitWithin(version, START_MS)).toBe(0)
      expect(version.stdout()).toMatch(/^\d+\.\d+\.\d+\n$/)
    }
  })

  it('refuses a bad number in one line on stderr with status 2, before touching any device', async () => {
    for (const argv of [['serve', '--dev', 'tkbad0', '--msl', '-1'], ['connect', '10.74.0.1', '9', '--dev', 'tkbad0', '--mtu', '-5'], ['ss', '--dev', '-x']]) {
      const cli = tuntcp(argv)
      expect(await exitWithin(cli, START_MS), argv.join(' ')).toBe(2)
      expect(cli.stdout()).toBe('')
      expect(cli.stderr()).toMatch(/^tuntcp: [^\n]+\n$/)
    }
    expect(interfaceExists('tkbad0')).toBe(false)
  })
})

describe('tuntcp serve and ss, per network namespace', () => {
  const NS = 'tkcli-ns2'
  const banner = (out: () => string) => out().includes('Ctrl-C to stop')

  /** `tuntcp ARGS` inside the named namespace NS (ip netns exec), its output gathered. */
  function inNs(args: string[]) {
    const child = spawn('ip', ['netns', 'exec', NS, process.execPath, CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (c: string) => { out += c })
    child.stderr.setEncoding('utf8').on('data', (c: string) => { err += c })
    const exited = new Promise<number>(resolve => child.on('close', (code, signal) => resolve(code ?? (signal === 'SIGINT' ? 130 : 137))))
    return { child, stdout: () => out, stderr: () => err, exited }
  }

  beforeAll(async () => {
    await run('ip', ['netns', 'del', NS]) // what a killed run may have left
    const made = await run('ip', ['netns', 'add', NS])
    expect(made.stderr).toBe('')
  })
  afterAll(async () => {
    await run('ip', ['netns', 'del', NS]) // its devices go with it
  })

  it('runs two serves on the same device name in two namespaces, and each tuntcp ss finds its own', async () => {
    const here = tuntcp(['serve', '--dev', 'tkdup0', '--addr', '10.75.0.2', '--kernel-addr', '10.75.0.1/24'])
    const there = inNs(['serve', '--dev', 'tkdup0', '--addr', '10.76.0.2', '--kernel-addr', '10.76.0.1/24'])
    try {
      await waitFor(() => (banner(here.stdout) || here.child.exitCode !== null) && (banner(there.stdout) || there.child.exitCode !== null), 'both banners', START_MS)
      expect(here.stderr()).toBe('')
      expect(there.stderr()).toBe('')
      const ssHere = tuntcp(['ss', '--dev', 'tkdup0'])
      expect(await exitWithin(ssHere, START_MS)).toBe(0)
      expect(ssHere.stdout()).toMatch(/connections? on tkdup0 \(10\.75\.0\.2\);/)
      const ssThere = inNs(['ss', '--dev', 'tkdup0'])
      expect(await ssThere.exited).toBe(0)
      expect(ssThere.stdout()).toMatch(/connections? on tkdup0 \(10\.76\.0\.2\);/)
    } finally {
      there.child.kill('SIGINT')
      expect(await there.exited).toBe(0)
    }
    here.child.kill('SIGINT')
    expect(await exitWithin(here, 5000)).toBe(0)
  })

  it('ss --info and --json show what ss -ti does after a download; the kernel IPv6 is counted apart', async () => {
    const cli = tuntcp(['serve', '--dev', 'tkinfo0', '--addr', '10.74.0.2', '--kernel-addr', '10.74.0.1/24'])
    await waitFor(() => banner(cli.stdout) || cli.child.exitCode !== null, 'the banner', START_MS)
    // A download on a connection kept open (HTTP keep-alive), so ss still lists it afterwards.
    const sock = netConnect({ host: '10.74.0.2', port: 80 })
    try {
      const request = 'GET /bytes/300000 HTTP/1.1\r\nHost: 10.74.0.2\r\n\r\n'
      let got = 0
      sock.on('data', (c: Buffer) => { got += c.length })
      await new Promise<void>(resolve => sock.once('connect', resolve))
      sock.write(request)
      await waitFor(() => got > 300_000, 'the download', 10_000)
      await sleep(200) // let the last ACKs arrive
      const info = tuntcp(['ss', '--dev', 'tkinfo0', '--info'])
      expect(await exitWithin(info, START_MS)).toBe(0)
      const lines = info.stdout().split('\n')
      const row = lines.findIndex(l => new RegExp(`^ESTABLISHED .* 10\\.74\\.0\\.2:80 +10\\.74\\.0\\.1:${sock.localPort}`).test(l))
      expect(row).toBeGreaterThan(0)
      expect(lines[row + 1]).toMatch(new RegExp('^\\t ts sack cubic wscale:\\d+,\\d+ rto:\\d+(\\.\\d+)? rtt:[\\d.]+/[\\d.]+ mss:\\d+ pmtu:1500 rcvmss:\\d+ cwnd:\\d+( ssthresh:\\d+)? ' +
        `bytes_acked:${got} bytes_received:${request.length} segs_out:\\d+ segs_in:\\d+ delivered:\\d+ retrans:0/\\d+`))
      type Json = { connections: Array<Record<string, unknown>>; counters: { ignored: Record<string, number>; drops: Record<string, number> } }
      const ask = async (): Promise<Json> => {
        const json = tuntcp(['ss', '--dev', 'tkinfo0', '--json'])
        expect(await exitWithin(json, START_MS)).toBe(0)
        return JSON.parse(json.stdout()) as Json
      }
      let snapshot = await ask()
      // Read at once: node:http closes the idle keep-alive connection after 5 s.
      const conn = snapshot.connections.find(c => c.remotePort === sock.localPort)
      expect(conn).toMatchObject({
        bytesAcked: got, bytesReceived: request.length, congestionControl: 'cubic',
        cwnd: expect.any(Number), rtoMs: expect.any(Number), rttMs: expect.any(Number), rttvarMs: expect.any(Number), totalRetransmits: expect.any(Number),
      })
      // The kernel solicits a router as soon as the link has its IPv6 link-local address; allow it a few seconds.
      for (let tries = 0; tries < 10 && snapshot.counters.ignored['ipv6-router-solicitation'] === undefined; tries++) {
        await sleep(500)
        snapshot = await ask()
      }
      // The kernel sent a router solicitation when the link came up: counted by its name, not as an IPv4 drop.
      expect(snapshot.counters.ignored['ipv6-router-solicitation']).toBeGreaterThanOrEqual(1)
      expect(snapshot.counters.drops['ip-version']).toBeUndefined()
    } finally {
      sock.destroy()
    }
    const listing = tuntcp(['ss', '--dev', 'tkinfo0'])
    expect(await exitWithin(listing, START_MS)).toBe(0)
    expect(listing.stdout()).toMatch(/; dropped \d+; ignored [1-9]\d* \(IPv6\)$/m)
    cli.child.kill('SIGINT')
    expect(await exitWithin(cli, 5000)).toBe(0)
    expect(cli.stderr()).toMatch(/^ignored \(the link's own IPv6, by kind\): .*ipv6-router-solicitation [1-9]\d*/m)
  })
})
