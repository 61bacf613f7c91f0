// tuntcp forward against real programs, in three throwaway namespaces made here (names carry
// our PID; all removed at the end, even on failure), inside the test run's own namespace:
//
//   client ns (curl, nc, ping)  --TUN-->  tuntcp forward, in this namespace  --veth-->  server ns
//   10.0.2.100, fd00::100                 kernel sockets (or microsocks)                10.201.0.2
//   default routes of both families       fd20:1::1                                    fd20:1::2
//
// What a client sees: a 10 MiB download whole (SHA-256), a refused port as refused (curl exit 7),
// a UDP reply, ping answered, a half-close passed on (nc -N), 200 connections at once, the
// forwarded connection in tuntcp ss with both ends, the same over IPv6 (curl -6, UDP, ping -6,
// an IPv4 and an IPv6 download at once), the same download through SOCKS5, and the device gone
// after SIGINT.

import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exitWithin, run, runText, sha, sleep, stopLeftovers, tuntcp, waitFor, type Cli } from './helpers'
import { requireFreshNetns } from './netns'
import { docExamples } from '../helpers/doc-examples'

const id = process.pid
const CLIENT_NS = `tfc${id}`
const SERVER_NS = `tfs${id}`
const VETH = `tfv${id}`
const DEV = `tft${id}`
const SERVER = '10.201.0.2'
const SERVER6 = 'fd20:1::2'
const hasMicrosocks = (await runText('sh', ['-c', 'command -v microsocks'])).code === 0
const hasDanted = (await runText('sh', ['-c', 'command -v danted'])).code === 0

const children: ChildProcess[] = []
let fileSha = ''

/** A long-lived helper process, killed by its PID in afterAll. */
function start(cmd: string, args: string[]): { child: ChildProcess; out: () => string } {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] })
  children.push(child)
  let out = ''
  child.stdout!.setEncoding('utf8').on('data', (c: string) => { out += c })
  child.stderr!.setEncoding('utf8').on('data', (c: string) => { out += c })
  return { child, out: () => out }
}

async function ip(...args: string[]): Promise<void> {
  const r = await runText('ip', args)
  if (r.code !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`)
}

/** Wait until something listens on 127.0.0.1:port here (a proxy we started). */
async function listening(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await runText('sh', ['-c', `ss -ltn | grep -q 127.0.0.1:${port}`])).code === 0) return
    await sleep(50)
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`)
}

/** A UDP request from the client namespace to the echo server (at `server`, of either family): the reply line, or null after 3 s. */
async function udpAsk(server = SERVER): Promise<string | null> {
  const script = `const s = require('dgram').createSocket('${server.includes(':') ? 'udp6' : 'udp4'}');
    s.on('message', (m, r) => { console.log(r.address + ':' + r.port + ' ' + m); process.exit(0) });
    s.send('question', 5353, '${server}'); setTimeout(() => process.exit(3), 3000)`
  const r = await inClient(process.execPath, ['-e', script])
  return r.code === 0 ? r.stdout.toString().trim() : null
}

/** Run a command in the client namespace. */
const inClient = (cmd: string, args: string[], input?: string, timeoutMs = 30_000) =>
  run('ip', ['netns', 'exec', CLIENT_NS, cmd, ...args], { input, timeoutMs })

async function startForwarder(extra: string[] = []): Promise<Cli> {
  const cli = tuntcp(['forward', '--netns', CLIENT_NS, '--dev', DEV, ...extra])
  await waitFor(() => cli.stdout().includes('Ctrl-C to stop') || cli.child.exitCode !== null, 'tuntcp forward to come up', 10_000)
  expect(cli.stdout(), cli.stderr()).toContain('Ctrl-C to stop')
  return cli
}

async function stopForwarder(cli: Cli): Promise<void> {
  cli.child.kill('SIGINT')
  expect(await exitWithin(cli, 8000), cli.stderr()).toBe(0)
}

/** curl's URL for `server`, of either family: http://10.201.0.2:8080/file, http://[fd20:1::2]:8080/file. */
const url = (server: string, port: number, path: string) => `http://${server.includes(':') ? `[${server}]` : server}:${port}${path}`

async function download(server = SERVER): Promise<string> {
  const r = await inClient('curl', ['-sS', '-g', '--max-time', '30', url(server, 8080, '/file')])
  expect(r.code, r.stderr).toBe(0)
  expect(r.stdout.length).toBe(10 << 20)
  return sha(r.stdout)
}

beforeAll(async () => {
  requireFreshNetns()
  await ip('netns', 'add', CLIENT_NS)
  await ip('netns', 'add', SERVER_NS)
  await ip('link', 'add', `${VETH}a`, 'type', 'veth', 'peer', 'name', `${VETH}b`, 'netns', SERVER_NS)
  await ip('addr', 'add', '10.201.0.1/24', 'dev', `${VETH}a`)
  await ip('link', 'set', `${VETH}a`, 'up')
  await ip('-n', SERVER_NS, 'addr', 'add', `${SERVER}/24`, 'dev', `${VETH}b`)
  await ip('-n', SERVER_NS, 'link', 'set', `${VETH}b`, 'up')
  // IPv6 on the veth, nodad: usable at once (no duplicate address detection to wait for).
  await ip('-6', 'addr', 'add', 'fd20:1::1/64', 'dev', `${VETH}a`, 'nodad')
  await ip('-n', SERVER_NS, '-6', 'addr', 'add', `${SERVER6}/64`, 'dev', `${VETH}b`, 'nodad')
  const servers = start('ip', ['netns', 'exec', SERVER_NS, process.execPath, 'test/kernel/forward-servers.mjs', SERVER, SERVER6])
  await waitFor(() => /ready [0-9a-f]{64}/.test(servers.out()), `the servers in ${SERVER_NS}: ${servers.out()}`, 10_000)
  fileSha = /ready ([0-9a-f]{64})/.exec(servers.out())![1]!
}, 30_000)

afterAll(async () => {
  await stopLeftovers()
  // SIGTERM first: danted's mother process takes its own children with it; then SIGKILL what is left.
  const alive = () => children.filter(child => child.exitCode === null && child.signalCode === null)
  for (const child of alive()) child.kill('SIGTERM')
  for (let i = 0; i < 20 && alive().length > 0; i++) await sleep(50)
  for (const child of alive()) child.kill('SIGKILL')
  // Deleting a namespace removes its devices; the veth's other end goes with its peer.
  await runText('ip', ['netns', 'del', CLIENT_NS])
  await runText('ip', ['netns', 'del', SERVER_NS])
  await runText('ip', ['link', 'del', `${VETH}a`])
})

describe('tuntcp forward: a namespace\'s traffic, carried out by kernel sockets', () => {
  let cli: Cli

  it('comes up: the device is in the client namespace, with its addresses and the default routes of both families', async () => {
    cli = await startForwarder()
    const route = await runText('ip', ['-n', CLIENT_NS, 'route', 'show', 'default'])
    expect(route.stdout).toContain(`default dev ${DEV}`)
    const addr = await runText('ip', ['-n', CLIENT_NS, '-4', 'addr', 'show', DEV])
    expect(addr.stdout).toContain('10.0.2.100/24')
    const route6 = await runText('ip', ['-n', CLIENT_NS, '-6', 'route', 'show', 'default'])
    expect(route6.stdout).toContain(`default dev ${DEV}`)
    const addr6 = await runText('ip', ['-n', CLIENT_NS, '-6', 'addr', 'show', DEV])
    expect(addr6.stdout).toMatch(/inet6 fd00::100\/64 scope global nodad/)
    expect(addr6.stdout).not.toContain('tentative')
    expect(cli.stdout()).toContain('at 10.0.2.100/24 and fd00::100/64, default routes into the stack (10.0.2.2, fd00::2)')
    expect((await runText('ip', ['link', 'show', DEV])).code).not.toBe(0) // not here: moved
  })

  it('curl downloads 10 MiB through it, whole (SHA-256)', async () => {
    expect(await download()).toBe(fileSha)
  })

  it('a port nobody listens on upstream is refused: curl exits 7', async () => {
    const r = await inClient('curl', ['-sS', '--max-time', '10', `http://${SERVER}:8081/`])
    expect(r.code, r.stderr).toBe(7)
  })

  it('a UDP request gets its reply, from the address asked', async () => {
    expect(await udpAsk()).toBe(`${SERVER}:5353 echo question`)
  })

  it('ping gets a reply from the address pinged (answered by the stack)', async () => {
    const r = await inClient('ping', ['-c1', '-W2', SERVER])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.toString()).toMatch(/from 10\.201\.0\.2/)
  })

  it('nc -N: the client\'s FIN reaches the server, whose answer still comes back (half-close)', async () => {
    const r = await inClient('nc', ['-N', SERVER, '9000'], 'six b\n')
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.toString()).toBe('got 6\n')
  })

  it('200 connections at once all get their answer', async () => {
    const urls = Array.from({ length: 200 }, () => [`http://${SERVER}:8080/small`, '-o', '/dev/null']).flat()
    const r = await inClient('curl', ['-sS', '--max-time', '30', '-Z', '--parallel-max', '200', '--parallel-immediate', '-w', '%{http_code}\\n', ...urls])
    expect(r.code, r.stderr).toBe(0)
    const codes = r.stdout.toString().trim().split('\n')
    expect(codes.filter(c => c === '200').length, r.stderr + codes.join(' ')).toBe(200)
  })

  it('tuntcp ss lists a forwarded connection with both ends: the client\'s and the upstream socket\'s', async () => {
    const nc = start('ip', ['netns', 'exec', CLIENT_NS, 'nc', '-N', SERVER, '9000'])
    let text = ''
    for (let i = 0; i < 50 && !text.includes(`${SERVER}:9000`); i++) {
      await sleep(100)
      text = (await runText(process.execPath, ['bin/tuntcp.mjs', 'ss', '--dev', DEV])).stdout
    }
    const row = text.split('\n').find(line => line.startsWith('tcp') && line.includes(`${SERVER}:9000`))
    expect(row, text).toMatch(/^tcp +10\.0\.2\.100:\d+ +10\.201\.0\.2:9000 +10\.201\.0\.1:\d+ +10\.201\.0\.2:9000 +open$/)
    nc.child.stdin!.end('x')
    await waitFor(() => nc.child.exitCode !== null, 'nc to finish', 5000)
    expect(nc.out()).toBe('got 1\n')
  })

  it('curl -6: a page and 10 MiB whole (SHA-256) from an IPv6 server, through the stack\'s IPv6', async () => {
    const page = await inClient('curl', ['-sS', '-6', '-g', '--max-time', '10', url(SERVER6, 8080, '/small')])
    expect(page.code, page.stderr).toBe(0)
    expect(page.stdout.toString()).toBe('sixteen bytes ok')
    expect(await download(SERVER6)).toBe(fileSha)
  })

  it('an IPv6 port nobody listens on upstream is refused: curl -6 exits 7', async () => {
    const r = await inClient('curl', ['-sS', '-6', '-g', '--max-time', '10', url(SERVER6, 8081, '/')])
    expect(r.code, r.stderr).toBe(7)
  })

  it('a UDP request over IPv6 gets its reply, from the address asked', async () => {
    expect(await udpAsk(SERVER6)).toBe(`${SERVER6}:5353 echo question`)
  })

  it('ping -6 gets a reply from the address pinged (ICMPv6 echo, answered by the stack)', async () => {
    const r = await inClient('ping', ['-6', '-c1', '-W2', SERVER6])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.toString()).toContain(`from ${SERVER6}`)
  })

  it('an IPv4 and an IPv6 download at the same time, both whole', async () => {
    expect(await Promise.all([download(SERVER), download(SERVER6)])).toEqual([fileSha, fileSha])
  })

  it('tuntcp ss lists a forwarded IPv6 connection as [address]:port on both sides', async () => {
    const nc = start('ip', ['netns', 'exec', CLIENT_NS, 'nc', '-6', '-N', SERVER6, '9000'])
    let text = ''
    for (let i = 0; i < 50 && !text.includes(`[${SERVER6}]:9000`); i++) {
      await sleep(100)
      text = (await runText(process.execPath, ['bin/tuntcp.mjs', 'ss', '--dev', DEV])).stdout
    }
    const row = text.split('\n').find(line => line.startsWith('tcp') && line.includes(`[${SERVER6}]:9000`))
    expect(row, text).toMatch(/^tcp +\[fd00::100\]:\d+ +\[fd20:1::2\]:9000 +\[fd20:1::1\]:\d+ +\[fd20:1::2\]:9000 +open$/)
    nc.child.stdin!.end('x')
    await waitFor(() => nc.child.exitCode !== null, 'nc to finish', 5000)
    expect(nc.out()).toBe('got 1\n')
  })

  it('SIGINT: exits 0 and the device is gone from the namespace', async () => {
    await stopForwarder(cli)
    expect((await runText('ip', ['-n', CLIENT_NS, 'link', 'show', DEV])).code).not.toBe(0)
    expect(cli.stderr()).toContain('SIGINT')
  })
})

describe('tuntcp forward --socks5: the same through a SOCKS5 proxy (microsocks)', () => {
  it.skipIf(!hasMicrosocks && !process.env.CI)('downloads 10 MiB whole through the proxy; with the proxy gone, a connect is refused', async () => {
    if (!hasMicrosocks) throw new Error('microsocks is not installed (CI must have it: .ci/run)')
    const port = 10800 + (id % 1000)
    const proxy = start('microsocks', ['-i', '127.0.0.1', '-p', String(port)])
    await listening(port)
    const cli = await startForwarder(['--socks5', `127.0.0.1:${port}`])
    expect(cli.stdout()).toContain(`through socks5 127.0.0.1:${port}`)
    expect(await download()).toBe(fileSha)
    // An IPv6 destination: a CONNECT naming it in the IPv6 form (RFC 1928 5, ATYP 4).
    const page6 = await inClient('curl', ['-sS', '-6', '-g', '--max-time', '10', url(SERVER6, 8080, '/small')])
    expect(page6.code, page6.stderr).toBe(0)
    expect(page6.stdout.toString()).toBe('sixteen bytes ok')
    proxy.child.kill('SIGTERM')
    await waitFor(() => proxy.child.exitCode !== null || proxy.child.signalCode !== null, 'microsocks to stop', 5000)
    const r = await inClient('curl', ['-sS', '--max-time', '10', `http://${SERVER}:8080/small`])
    expect(r.code, r.stderr).toBe(7)
    await stopForwarder(cli)
  })

  it.skipIf(!hasMicrosocks && !process.env.CI)('docs/forward.md\'s tun2socks in 30 lines carries the download through microsocks, and goes on SIGINT', async () => {
    const example = docExamples(['docs/forward.md']).find(e => e.name === 'tun2socks')!
    const dir = resolve(import.meta.dirname, '../../build/doc-examples')
    mkdirSync(dir, { recursive: true })
    writeFileSync(resolve(dir, 'tun2socks.mjs'), example.code)
    const port = 11800 + (id % 1000)
    start('microsocks', ['-i', '127.0.0.1', '-p', String(port)])
    await listening(port)
    const t2s = start(process.execPath, [resolve(dir, 'tun2socks.mjs'), CLIENT_NS, `127.0.0.1:${port}`])
    await waitFor(() => t2s.out().includes('tun2socks:') || t2s.child.exitCode !== null, 'the tun2socks example to come up', 10_000)
    expect(t2s.out()).toContain(`tun2socks: ${CLIENT_NS} -> socks5 127.0.0.1:${port}`)
    expect(await download()).toBe(fileSha)
    const refused = await inClient('curl', ['-sS', '--max-time', '10', `http://${SERVER}:8081/`])
    expect(refused.code, refused.stderr).toBe(7)
    t2s.child.kill('SIGINT')
    await waitFor(() => t2s.child.exitCode !== null, 'the example to exit', 5000)
    expect(t2s.child.exitCode, t2s.out()).toBe(0)
    expect((await runText('ip', ['-n', CLIENT_NS, 'link', 'show', 'tun2socks0'])).code).not.toBe(0)
  })
  it.skipIf(!hasDanted && !process.env.CI)('UDP through Dante (UDP ASSOCIATE): the reply comes back through the proxy\'s relay; with the proxy gone, none', async () => {
    if (!hasDanted) throw new Error('danted is not installed (CI must have it: .ci/run installs dante-server)')
    const port = 12800 + (id % 1000)
    const dir = resolve(import.meta.dirname, '../../build')
    mkdirSync(dir, { recursive: true })
    const conf = resolve(dir, `danted-${id}.conf`)
    writeFileSync(conf, [
      'logoutput: stderr', `internal: 127.0.0.1 port = ${port}`, 'external: 10.201.0.1', 'external: fd20:1::1',
      'clientmethod: none', 'socksmethod: none', 'user.privileged: root', 'user.unprivileged: nobody',
      'client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }',
      'socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 command: connect udpassociate }',
      'socks pass { from: 127.0.0.0/8 to: ::/0 command: connect udpassociate }',
      'socks pass { from: 0.0.0.0/0 to: 127.0.0.0/8 command: udpreply }',
      'socks pass { from: ::/0 to: 127.0.0.0/8 command: udpreply }', '',
    ].join('\n'))
    const dante = start('danted', ['-f', conf])
    await listening(port)
    const cli = await startForwarder(['--socks5', `127.0.0.1:${port}`])
    expect(await udpAsk()).toBe(`${SERVER}:5353 echo question`)
    const text = (await runText(process.execPath, ['bin/tuntcp.mjs', 'ss', '--dev', DEV])).stdout
    const row = text.split('\n').find(line => line.startsWith('udp'))
    expect(row, text).toMatch(/^udp +10\.0\.2\.100:\d+ +10\.201\.0\.2:5353 +0\.0\.0\.0:\d+ +127\.0\.0\.1:\d+ +1 up, 1 down$/)
    // An IPv6 destination: the SOCKS UDP header names it in the IPv6 form (RFC 1928 7), to the same IPv4 relay.
    expect(await udpAsk(SERVER6), dante.out()).toBe(`${SERVER6}:5353 echo question`)
    dante.child.kill('SIGTERM')
    await waitFor(() => dante.child.exitCode !== null || dante.child.signalCode !== null, 'danted to stop', 5000)
    expect(await udpAsk()).toBeNull()
    await stopForwarder(cli)
  })
  if (!hasDanted && !process.env.CI) console.log('forward --socks5 UDP kernel test skipped: danted is not installed (apt-get install dante-server)')
  if (!hasMicrosocks && !process.env.CI) console.log('forward --socks5 kernel test skipped: microsocks is not installed (apt-get install microsocks)')
})
