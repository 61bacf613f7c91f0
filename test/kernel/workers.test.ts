// tuntcp serve --workers N: one multi-queue TUN device, N worker threads, each with its
// own queue and its own Stack. Checked as a user sees it: many concurrent kernel clients
// (curl --parallel, Node's net) all served, the kernel spreading their flows over both
// workers (tuntcp ss and the summary at exit say which worker had which), ping answered,
// a graceful close of every open connection on SIGINT, the device gone afterwards.

import { connect as netConnect, type Socket as NetSocket } from 'node:net'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { CLI, exitWithin, runText, stopLeftovers, tuntcp, waitFor, type Cli } from './helpers'
import { interfaceExists, requireFreshNetns } from './netns'

/** tsx takes about a second to start, in the main thread and again in each worker. */
const START_MS = 30_000

beforeAll(() => requireFreshNetns())

/** Commands here may wait on many parallel clients: allow 30 s. */
const run = (cmd: string, args: string[], timeoutMs = 30_000) => runText(cmd, args, timeoutMs)

/** Serve with `workers` threads on `dev`, and wait for the banner. */
async function serve(dev: string, subnet: string, workers: number): Promise<Cli> {
  const cli = tuntcp(['serve', '--dev', dev, '--addr', `${subnet}.2`, '--kernel-addr', `${subnet}.1/24`, '--msl', '1', '--workers', String(workers)])
  await waitFor(() => cli.stdout().includes('Ctrl-C to stop') || cli.child.exitCode !== null, 'the banner', START_MS)
  return cli
}

/** An echo connection that has echoed once; records how it ends. */
async function echoConnection(host: string): Promise<{ sock: NetSocket; ended: () => boolean; error: () => Error | null }> {
  const sock = netConnect({ host, port: 7 })
  let ended = false
  let error: Error | null = null
  sock.on('end', () => { ended = true })
  sock.on('error', e => { error = e })
  const echoed = new Promise<string>(resolve => sock.once('data', (c: Buffer) => resolve(c.toString())))
  sock.write('ping')
  expect(await echoed).toBe('ping')
  return { sock, ended: () => ended, error: () => error }
}

afterEach(stopLeftovers)

// -----------------------------------------------------------------------------

describe('tuntcp serve --workers 2', () => {
  it('serves many concurrent connections from both workers, answers ping, lists them in ss, and on SIGINT closes them, exits 0 and removes the device', async () => {
    expect(interfaceExists('tkmq0')).toBe(false)
    const cli = await serve('tkmq0', '10.67.0', 2)
    expect(cli.stdout()).toMatch(/tuntcp: serving on tkmq0 \(mtu 1500(, offload)?, 2 workers\) at 10\.67\.0\.2, kernel side 10\.67\.0\.1\/24/)
    // Two queues carry the packets; the main thread's own queue is disabled.
    const link = await run('ip', ['-d', 'link', 'show', 'tkmq0'])
    expect(link.stdout).toMatch(/multi_queue numqueues 2 numdisabled 1/)

    // 200 requests, 32 at a time, each on a connection of its own (a new source port):
    // with Connection: close the server ends each one, so curl cannot reuse them.
    const requests = 200
    const urlArgs = Array.from({ length: requests }, () => ['-o', '/dev/null', 'http://10.67.0.2/']).flat()
    // (curl 7.88 prints its parallel progress meter even with -s: stderr is not checked.)
    const curl = await run('curl', ['-sS', '--parallel', '--parallel-max', '32', '-H', 'Connection: close', '--max-time', '20', '-w', '%{http_code}\n', ...urlArgs], 60_000)
    expect(curl.code).toBe(0)
    expect(curl.stdout.trim().split('\n')).toEqual(Array(requests).fill('200'))

    const ping = await run('ping', ['-c', '3', '-i', '0.2', '-W', '2', '10.67.0.2'])
    expect(ping.stdout).toContain('3 received')

    // Connections left open: ss shows each with the worker that owns it.
    const open = await Promise.all(Array.from({ length: 24 }, () => echoConnection('10.67.0.2')))
    const ss = await run(process.execPath, [CLI, 'ss', '--dev', 'tkmq0', '--json'])
    expect(ss.code).toBe(0)
    const snapshot = JSON.parse(ss.stdout) as { connections: Array<{ state: string; localPort: number; worker: number }>; workers: Array<{ worker: number; counters: { passiveOpens: number } }> }
    const echo = snapshot.connections.filter(c => c.localPort === 7 && c.state === 'ESTABLISHED')
    expect(echo).toHaveLength(24)
    expect(snapshot.workers.map(w => w.worker)).toEqual([0, 1])
    const table = await run(process.execPath, [CLI, 'ss', '--dev', 'tkmq0'])
    expect(table.stdout).toMatch(/^State\s+Recv-Q\s+Send-Q\s+Local Address:Port\s+Peer Address:Port\s+Worker\s+Timer$/m)
    expect(table.stdout).toMatch(/^ {2}worker 0: \d+ connections?, passive opens \d+;/m)
    expect(table.stdout).toMatch(/^ {2}worker 1: \d+ connections?, passive opens \d+;/m)

    cli.child.kill('SIGINT')
    expect(await exitWithin(cli, 15_000)).toBe(0)
    // Every open connection was closed with a FIN, whichever worker owned it.
    await waitFor(() => open.every(c => c.ended()), 'a FIN on every open connection', 5_000)
    expect(open.map(c => c.error())).toEqual(Array(24).fill(null))
    for (const c of open) c.sock.destroy()

    const err = cli.stderr()
    expect(err).toMatch(/tuntcp: SIGINT: closing 24 connections in 2 workers/)
    // Both workers had connections: the kernel spread the flows over both queues.
    const opens = [0, 1].map(w => Number(new RegExp(`^worker ${w}: passive opens (\\d+),`, 'm').exec(err)?.[1]))
    expect(opens[0]).toBeGreaterThan(0)
    expect(opens[1]).toBeGreaterThan(0)
    // The total is the sum, and counts every connection made.
    expect(err).toContain(`passive opens ${opens[0]! + opens[1]!},`)
    expect(opens[0]! + opens[1]!).toBe(requests + 24)
    expect(err).toMatch(/pings answered 3/)
    expect(err).not.toMatch(/internal error/)
    expect(interfaceExists('tkmq0')).toBe(false)
  })

  it('refuses a second serve on the same device with one line, and leaves the first serving', async () => {
    const first = await serve('tkmq1', '10.67.1', 2)
    expect(first.stdout()).toContain('Ctrl-C to stop')
    const second = tuntcp(['serve', '--dev', 'tkmq1', '--addr', '10.67.1.2', '--workers', '2'])
    expect(await exitWithin(second, START_MS)).toBe(1)
    expect(second.stderr().trimEnd().split('\n')).toEqual([expect.stringMatching(/^tuntcp: another tuntcp serve is running on tkmq1/)])
    // A single-queue serve cannot take a multi-queue device either.
    const single = tuntcp(['serve', '--dev', 'tkmq1', '--addr', '10.67.1.2'])
    expect(await exitWithin(single, START_MS)).toBe(1)
    expect(single.stderr().trimEnd().split('\n')).toEqual(['tuntcp: device tkmq1 exists but is not a single-queue TUN device: choose another name'])

    const page = await run('curl', ['-sS', '--max-time', '10', '-o', '/dev/null', '-w', '%{http_code}', 'http://10.67.1.2/'])
    expect(page.stdout).toBe('200')
    first.child.kill('SIGINT')
    expect(await exitWithin(first, 15_000)).toBe(0)
    expect(interfaceExists('tkmq1')).toBe(false)
  })

  it('will not add worker queues to a single-queue device', async () => {
    const single = await serve('tkmq2', '10.67.2', 1)
    expect(single.stdout()).toContain('Ctrl-C to stop')
    const multi = tuntcp(['serve', '--dev', 'tkmq2', '--addr', '10.67.2.2', '--workers', '2'])
    expect(await exitWithin(multi, START_MS)).toBe(1)
    expect(multi.stderr().trimEnd().split('\n')).toEqual(['tuntcp: device tkmq2 exists but is not a multi-queue TUN device: choose another name'])
    single.child.kill('SIGINT')
    expect(await exitWithin(single, 15_000)).toBe(0)
    expect(interfaceExists('tkmq2')).toBe(false)
  })

  it.each([
    [['--workers', '0'], 'tuntcp: --workers must be a whole number from 1 to 64, not "0"'],
    [['--workers', 'abc'], 'tuntcp: --workers must be a whole number from 1 to 64, not "abc"'],
    [['--workers', '2', '--pcap', '/tmp/tkmq.pcap'], 'tuntcp: --pcap works with one worker only: the threads would have to share one capture file (drop --workers or --pcap)'],
  ])('exits 2 with one line for %j, creating nothing', async (flags, line) => {
    const cli = tuntcp(['serve', '--dev', 'tkmq3', ...flags])
    expect(await exitWithin(cli, START_MS)).toBe(2)
    expect(cli.stderr().trimEnd().split('\n')).toEqual([line])
    expect(interfaceExists('tkmq3')).toBe(false)
  })
})
