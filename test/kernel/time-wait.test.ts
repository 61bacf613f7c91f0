// TIME-WAIT as a kernel peer and `tuntcp ss` see it, now that the stack keeps a
// compact entry instead of the TCB (src/stack/tcp/time-wait.ts): `tuntcp serve`
// (a child process, its own device tktw0, 10.62.0.0/24, MSL 1 s) and Node's net
// (the kernel's TCP) as the client of daytime, where the stack closes first.

import { connect as netConnect } from 'node:net'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { runText, sleep, stopLeftovers, tuntcp, waitFor, type Cli } from './helpers'
import { requireFreshNetns } from './netns'

const START_MS = 20_000
const MSL_MS = 1000

beforeAll(() => requireFreshNetns())

afterEach(stopLeftovers)

/** Everything a tuntcp process printed so far, both streams. */
const output = (cli: Cli) => cli.stdout() + cli.stderr()

/** One daytime exchange from the kernel: read the line, close after the stack's FIN. Resolves with our local port. */
function daytime(localPort?: number): Promise<{ line: string; port: number }> {
  return new Promise((resolve, reject) => {
    const sock = netConnect({ host: '10.62.0.2', port: 13, ...(localPort !== undefined ? { localPort } : {}) })
    let line = ''
    let port = 0
    sock.setEncoding('utf8')
    sock.on('connect', () => { port = sock.localPort! })
    sock.on('data', (c: string) => { line += c })
    sock.on('error', reject)
    sock.on('close', () => resolve({ line, port }))
  })
}

/** The `tuntcp ss` listing of the serve on tktw0. */
async function ssListing(): Promise<string> {
  const ss = tuntcp(['ss', '--dev', 'tktw0'])
  expect(await ss.exited).toBe(0)
  return output(ss)
}

/** Wait (at most 5 s) until the kernel holds no socket on local port `port` (ss -tan). */
async function kernelPortFree(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const r = await runText('ss', ['-tanH', `sport = :${port}`])
    if (r.stdout.trim() === '') return
    await sleep(50)
  }
  throw new Error(`the kernel still holds port ${port} after 5 s`)
}

describe('TIME-WAIT seen from outside', () => {
  it('tuntcp ss lists each TIME-WAIT with its timer until 2MSL ends; a client reusing its port meanwhile is served (RFC 6191)', async () => {
    const serve = tuntcp(['serve', '--dev', 'tktw0', '--addr', '10.62.0.2', '--kernel-addr', '10.62.0.1/24', '--msl', String(MSL_MS / 1000)])
    await waitFor(() => output(serve).includes('Ctrl-C to stop') || serve.child.exitCode !== null, 'the banner', START_MS)

    const done = await Promise.all(Array.from({ length: 20 }, () => daytime()))
    for (const d of done) expect(d.line).toMatch(/ UTC\r\n$/)
    const listing = await ssListing()
    for (const d of done) {
      expect(listing).toMatch(new RegExp(`^TIME-WAIT +0 +0 +10\\.62\\.0\\.2:13 +10\\.62\\.0\\.1:${d.port} +timer:\\(timewait,[0-9.]+m?s,0\\)$`, 'm'))
    }

    // The kernel closed second, so its end is gone at once and it may reuse the port while
    // the stack still holds TIME-WAIT: Linux's SYN carries a newer timestamp, which lets the
    // stack end that TIME-WAIT and accept the new connection (RFC 6191).
    // Node's 'close' comes when the kernel sends its FIN (LAST-ACK); its end is gone once our
    // ACK arrives, which on a busy machine can be a moment later: wait for that, not a bind error.
    await kernelPortFree(done[0]!.port)
    const again = await daytime(done[0]!.port)
    expect(again.line).toMatch(/ UTC\r\n$/)
    expect(again.port).toBe(done[0]!.port)

    await sleep(2 * MSL_MS + 500)
    const after = await ssListing()
    expect(after).not.toContain('TIME-WAIT')
    expect(after).toMatch(/^0 connections on tktw0/m)

    serve.child.kill('SIGINT')
    expect(await serve.exited).toBe(0)
    expect(output(serve)).not.toContain('internal error')
  })
})
