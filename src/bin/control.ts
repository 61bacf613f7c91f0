// The control socket of a running `tuntcp serve`: a Unix socket that answers
// each connection with one JSON document (the connections and the counters),
// which `tuntcp ss` reads. One per device and network namespace, in /run/tuntcp
// (or the temp dir). With `serve --workers N` the main thread gathers the document
// from every worker.

import { mkdirSync, readlinkSync, unlinkSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ForwardedConnection } from '../forward/tcp-relay.js'
import type { ForwardedFlow } from '../forward/udp-relay.js'
import type { ConnectionInfo } from '../stack/connection-info.js'
import type { Stack } from '../stack/stack.js'

export interface Snapshot {
  /** The stack's address, or its two ('10.77.0.2, fd77::2'). */
  address: string
  device: string
  /** With workers, each connection says which worker owns it. */
  connections: Array<ConnectionInfo & { worker?: number }>
  /** The stack's counters; with workers, all workers' added up. */
  counters: Record<string, unknown>
  /** With `serve --workers N`: each worker's own connection count and counters. */
  workers?: Array<{ worker: number; connections: number; counters: Record<string, unknown> }>
  /** With `tuntcp forward`: each forwarded connection's two sides and each UDP flow, and the relay's counters. */
  forwarded?: { upstream: string; connections: ForwardedConnection[]; flows: ForwardedFlow[]; counters: Record<string, unknown> }
  /** With `tuntcp forward`: the process's memory (after a full GC when node ran with --expose-gc), for docs/forward.md's measure. */
  memory?: { heapUsed: number; rss: number; gc: boolean }
}

/** The snapshot of one stack. */
export function stackSnapshot(stack: Stack, device: string): Snapshot {
  const address = stack.address6 === null ? stack.address : `${stack.address}, ${stack.address6}`
  return { address, device, connections: stack.connections(), counters: stack.counters.toJSON() }
}

function directory(): string {
  for (const dir of ['/run/tuntcp', join(tmpdir(), 'tuntcp')]) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 })
      return dir
    } catch {
      // not writable: try the next
    }
  }
  return tmpdir()
}

/** This process's network namespace: the inode of /proc/self/ns/net ("net:[4026531840]"); null where there is no /proc. */
export function netns(): string | null {
  try {
    return /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/net'))?.[1] ?? null
  } catch {
    return null
  }
}

/**
 * The socket of `device` in network namespace `ns`. Device names are per namespace (two
 * namespaces may each have a tuntcp0) while /run is shared by all of them, so the name
 * carries the namespace: `tuntcp ss` finds the serve of its own. (A Linux abstract socket
 * would be per namespace by itself, but has no file permissions: any user could take
 * the name first, or answer in serve's place.)
 */
export function controlPath(device: string, ns: string | null = netns()): string {
  return join(directory(), ns === null ? `${device}.sock` : `net${ns}-${device}.sock`)
}

/** Serve snapshot() on the control socket of `device` (in namespace `ns`); close() removes it. */
export async function startControl(snapshot: () => Snapshot | Promise<Snapshot>, device: string, ns: string | null = netns()): Promise<{ path: string; close(): void }> {
  const path = controlPath(device, ns)
  const server = net.createServer(conn => {
    // A peer that hangs up before the answer (the probe of answers(), say) is no error of ours.
    conn.on('error', () => conn.destroy())
    Promise.resolve().then(snapshot).then(
      s => conn.end(JSON.stringify(s) + '\n'),
      (error: Error) => conn.end(JSON.stringify({ error: error.message }) + '\n'))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', async (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EADDRINUSE') return reject(error)
      // A socket file left by a serve that died: remove it, unless someone still answers there.
      if (await answers(path)) return reject(new Error(`another tuntcp serve is running on ${device} in this network namespace (${path})`))
      unlinkSync(path)
      server.listen(path, resolve)
    })
    server.listen(path, resolve)
  })
  server.unref()
  return {
    path,
    close() {
      server.close()
      try {
        unlinkSync(path)
      } catch {
        // already gone
      }
    },
  }
}

function answers(path: string): Promise<boolean> {
  return new Promise(resolve => {
    const probe = net.connect(path)
    probe.once('connect', () => { probe.destroy(); resolve(true) })
    probe.once('error', () => resolve(false))
  })
}

/** Ask the serve on `device` (in namespace `ns`, by default our own) for a snapshot. */
export function query(device: string, ns: string | null = netns()): Promise<Snapshot> {
  const path = controlPath(device, ns)
  return new Promise((resolve, reject) => {
    const conn = net.connect(path)
    let text = ''
    conn.setEncoding('utf8')
    conn.on('data', (chunk: string) => { text += chunk })
    conn.on('end', () => {
      try {
        const answer = JSON.parse(text) as Snapshot | { error: string }
        if ('error' in answer) reject(new Error(`the serve on ${device} could not answer: ${answer.error}`))
        else resolve(answer)
      } catch (error) {
        reject(new Error(`bad answer from ${path}: ${(error as Error).message}`))
      }
    })
    conn.on('error', (error: NodeJS.ErrnoException) => {
      reject(new Error(error.code === 'ENOENT' || error.code === 'ECONNREFUSED'
        ? `no tuntcp serve is running on ${device} in this network namespace (no ${path})`
        : `cannot reach ${path}: ${error.message}`))
    })
  })
}
