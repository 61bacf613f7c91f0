// What the kernel tests share: waiting for a condition, running a command while the
// stack keeps running (never spawnSync: the stack lives on this event loop), a stack on
// a TUN device, kernel sockets to the stack, and the tuntcp command as a child process.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { createHash } from 'node:crypto'
import { connect as netConnect, type Server as NetServer, type Socket as NetSocket } from 'node:net'
import { Stack, type StackOptions } from '../../src/stack/stack'
import { configureKernelSide } from '../../src/tun/iproute'
import { TunDevice } from '../../src/tun/tun-device'

export const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')
export const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))

/** Poll `cond` until it holds; fail naming `what` after timeoutMs. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(10)
  }
}

export interface Ran { code: number | null; signal: NodeJS.Signals | null; stdout: Buffer; stderr: string }

/** Run a command asynchronously, killed (SIGKILL) after timeoutMs; stdin gets `input`. */
export function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const stdin = opts.input === undefined ? 'ignore' : 'pipe'
    const child = spawn(cmd, args, { stdio: [stdin, 'pipe', 'pipe'], timeout: opts.timeoutMs ?? 20_000, killSignal: 'SIGKILL' })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout!.on('data', (c: Buffer) => out.push(c))
    child.stderr!.on('data', (c: Buffer) => err.push(c))
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }))
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => {}) // a command that exits without reading its input (EPIPE) is not our failure
      child.stdin!.end(opts.input)
    }
  })
}

/** The same, with stdout as text. */
export async function runText(cmd: string, args: string[], timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = await run(cmd, args, { timeoutMs })
  return { code: r.code, stdout: r.stdout.toString(), stderr: r.stderr }
}

export interface TunStack {
  stack: Stack
  device: TunDevice
  /** What the stack's 'internal-error' event reported: a test expects none. */
  internalErrors: unknown[]
  /** Shut the stack down (bounded) and remove the device. */
  close(): Promise<void>
}

/** A Stack at `address` on a new TUN device `dev` whose kernel side is `kernel`/24 (MTU 1500, MSL 1 s; more in `options`). */
export function stackOnTun(dev: string, kernel: string, address: string, options: Partial<StackOptions> = {}): TunStack {
  const device = TunDevice.open({ name: dev, mtu: 1500 })
  configureKernelSide(dev, `${kernel}/24`, 1500)
  const stack = new Stack({ address, link: device, mslMs: 1000, ...options })
  const internalErrors: unknown[] = []
  stack.on('internal-error', (e: unknown) => internalErrors.push(e))
  return { stack, device, internalErrors, close: async () => { await stack.shutdown(300); device.close() } }
}

/** Kernel TCP connections to the stack, remembered so a test's afterEach can destroy what is left. */
export class KernelSockets {
  private readonly open: NetSocket[] = []

  /** Connect to host:port; resolves once connected. */
  dial(host: string, port: number, allowHalfOpen = false): Promise<NetSocket> {
    return new Promise((resolve, reject) => {
      const sock = netConnect({ host, port, allowHalfOpen })
      this.open.push(sock)
      sock.once('connect', () => { sock.off('error', reject); resolve(sock) })
      sock.once('error', reject)
    })
  }

  /** Remember a socket made elsewhere (e.g. accepted by a kernel listener). */
  track(sock: NetSocket): void {
    this.open.push(sock)
  }

  destroyAll(): void {
    for (const s of this.open.splice(0)) s.destroy()
  }
}

/** A test's cleanup: every kernel connection, stack socket and kernel listener it left open, emptied from their lists. */
export async function closeLeftOpen(kernel: KernelSockets, stackSockets: { destroy(): void }[], servers: NetServer[]): Promise<void> {
  kernel.destroyAll()
  for (const s of stackSockets.splice(0)) s.destroy()
  await Promise.all(servers.splice(0).map(s => new Promise(r => s.close(r))))
}

/** Everything a socket reads until it closes, and whether 'end' came first; rejects on error or after timeoutMs. */
export function readAll(sock: NetSocket, timeoutMs = 60_000): Promise<{ data: Buffer; ended: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let ended = false
    const timer = setTimeout(() => reject(new Error(`no close within ${timeoutMs} ms (got ${Buffer.concat(chunks).length} bytes)`)), timeoutMs)
    sock.on('data', (c: Buffer) => chunks.push(c))
    sock.on('end', () => { ended = true })
    sock.on('error', e => { clearTimeout(timer); reject(e) })
    sock.on('close', () => { clearTimeout(timer); resolve({ data: Buffer.concat(chunks), ended }) })
  })
}

// --- the tuntcp command ------------------------------------------------------

export const CLI = 'bin/tuntcp.mjs'

export interface Cli {
  child: ChildProcessWithoutNullStreams
  stdout: () => string
  stderr: () => string
  /** Resolves with the exit code (or 130 for SIGINT, 137 for SIGKILL) once the process has exited. */
  exited: Promise<number>
}

const running: Cli[] = []

/** Start `tuntcp ARGS...` (stdin gets `input` and is closed, when given). */
export function tuntcp(args: string[], input?: string): Cli {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8').on('data', (c: string) => { out += c })
  child.stderr.setEncoding('utf8').on('data', (c: string) => { err += c })
  const exited = new Promise<number>(resolve => {
    child.on('close', (code, signal) => resolve(code ?? (signal === 'SIGINT' ? 130 : 128 + 9)))
  })
  if (input !== undefined) {
    child.stdin.on('error', () => {}) // it may exit before reading all of it
    child.stdin.end(input)
  }
  const cli = { child, stdout: () => out, stderr: () => err, exited }
  running.push(cli)
  return cli
}

/** The exit code, or a failure if the process does not exit within ms. */
export async function exitWithin(cli: Cli, ms: number): Promise<number> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`tuntcp did not exit within ${ms} ms; stderr:\n${cli.stderr()}`)), ms)
  })
  try {
    return await Promise.race([cli.exited, late])
  } finally {
    clearTimeout(timer)
  }
}

/** For afterEach: whatever a failed test left running is killed by its PID and awaited, so its device goes too. */
export async function stopLeftovers(): Promise<void> {
  for (const cli of running.splice(0)) {
    if (cli.child.exitCode === null && cli.child.signalCode === null) {
      cli.child.kill('SIGKILL')
      await cli.exited
    }
  }
}
