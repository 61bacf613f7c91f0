// The net-shaped API against the kernel's TCP (Node's own net module, in this process):
// what a kernel peer sees of resetAndDestroy(), of listen(0), and what our errors and
// byte counts say of a kernel peer. The stack runs on a TUN device as 10.91.0.2; the
// kernel side is 10.91.0.1.

import { randomBytes } from 'node:crypto'
import { createServer as netServer, type Server as NetServer, type Socket as NetSocket } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Socket } from '../../src/stack/socket/socket'
import type { Stack } from '../../src/stack/stack'
import { KernelSockets, readAll, sha, stackOnTun, waitFor, type TunStack } from './helpers'
import { requireFreshNetns } from './netns'

const KERNEL = '10.91.0.1'
const ADDR = '10.91.0.2'

let tun: TunStack
let stack: Stack
const kernelSockets = new KernelSockets()
const kernelServers: NetServer[] = []

beforeAll(() => {
  requireFreshNetns()
  tun = stackOnTun('tknet0', KERNEL, ADDR)
  stack = tun.stack
})

afterEach(() => {
  kernelSockets.destroyAll()
  for (const server of kernelServers.splice(0)) server.close()
  expect(tun.internalErrors).toEqual([])
})

afterAll(() => tun?.close())

/** A kernel server on KERNEL, listening on a port the kernel picks. */
function kernelListen(onConnection: (s: NetSocket) => void, allowHalfOpen = false): Promise<{ server: NetServer; port: number }> {
  return new Promise((resolve, reject) => {
    const server = netServer({ allowHalfOpen }, s => { kernelSockets.track(s); onConnection(s) })
    kernelServers.push(server)
    server.once('error', reject)
    server.listen(0, KERNEL, () => resolve({ server, port: (server.address() as { port: number }).port }))
  })
}

/** Resolves with the socket's first 'error', or rejects if it closes without one within timeoutMs. */
function firstError(sock: NetSocket | Socket, timeoutMs = 10_000): Promise<Error & { code?: string; syscall?: string; address?: string; port?: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no error within ${timeoutMs} ms`)), timeoutMs)
    sock.once('error', e => { clearTimeout(timer); resolve(e) })
  })
}

describe('listen(0)', () => {
  it('takes an ephemeral port that a kernel net.connect reaches', async () => {
    const server = stack.createServer(s => s.end('hello from an ephemeral port'))
    await new Promise<void>(resolve => server.listen(0, ADDR, resolve))
    const { port } = server.address()!
    expect(port).toBeGreaterThanOrEqual(32768)
    const { data, ended } = await readAll(await kernelSockets.dial(ADDR, port), 10_000)
    expect(ended).toBe(true)
    expect(data.toString()).toBe('hello from an ephemeral port')
    server.close()
  })
})

describe('resetAndDestroy()', () => {
  it('makes the kernel client see ECONNRESET, and closes our socket without an error', async () => {
    const ours: { errors: Error[]; hadError?: boolean } = { errors: [] }
    const server = stack.createServer(s => {
      s.on('error', e => ours.errors.push(e))
      s.on('close', (hadError: boolean) => { ours.hadError = hadError })
      s.once('data', () => s.resetAndDestroy())
    })
    await new Promise<void>(resolve => server.listen(0, resolve))
    const kernel = await kernelSockets.dial(ADDR, server.address()!.port)
    const failed = firstError(kernel)
    kernel.write('reset me')
    const error = await failed
    expect(error).toMatchObject({ code: 'ECONNRESET', syscall: 'read' })
    await waitFor(() => ours.hadError !== undefined, 'our socket to close')
    expect(ours).toEqual({ errors: [], hadError: false })
    server.close()
  })
})

describe('errors name the kernel end', () => {
  it('stack.connect to a closed kernel port is "connect ECONNREFUSED <kernel address>:<port>"', async () => {
    // A port the kernel just gave up: nothing listens there now, so its SYN gets a RST.
    const { server, port } = await kernelListen(() => undefined)
    await new Promise<void>(resolve => server.close(() => resolve()))
    const sock = stack.connect(port, KERNEL)
    const error = await firstError(sock)
    expect(error).toMatchObject({ message: `connect ECONNREFUSED ${KERNEL}:${port}`, code: 'ECONNREFUSED', syscall: 'connect', address: KERNEL, port })
  })
})

describe('bytesRead and bytesWritten', () => {
  it('match the kernel peer after an echo of 256 KiB', async () => {
    const N = 256 * 1024
    let peer: NetSocket | undefined
    const { port } = await kernelListen(s => { peer = s; s.pipe(s) }, true)
    const sock = stack.connect({ port, host: KERNEL })
    const chunks: Buffer[] = []
    sock.on('data', (c: Buffer) => chunks.push(c))
    const closed = new Promise<void>((resolve, reject) => {
      sock.once('error', reject)
      sock.once('close', () => resolve())
    })
    const payload = randomBytes(N)
    sock.end(payload)
    await closed
    expect(sha(Buffer.concat(chunks))).toBe(sha(payload))
    expect([sock.bytesWritten, sock.bytesRead]).toEqual([N, N])
    await waitFor(() => peer?.closed === true, 'the kernel side to close')
    expect([peer!.bytesRead, peer!.bytesWritten]).toEqual([sock.bytesWritten, sock.bytesRead])
  })
})
