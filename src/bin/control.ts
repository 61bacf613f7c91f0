// The control socket of a running `tuntcp serve`: a Unix socket that answers
// each connection with one JSON document (the connections and the counters),
// which `tuntcp ss` reads. One per device, in /run/tuntcp (or the temp dir).

import { mkdirSync, unlinkSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ConnectionInfo, Stack } from '../stack/stack'

export interface Snapshot {
  address: string
  device: string
  connections: ConnectionInfo[]
  counters: Record<string, unknown>
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

export function controlPath(device: string): string {
  return join(directory(), `${device}.sock`)
}

/** Serve snapshots of `stack` on the control socket; close() removes it. */
export async function startControl(stack: Stack, device: string): Promise<{ path: string; close(): void }> {
  const path = controlPath(device)
  const server = net.createServer(conn => {
    const snapshot: Snapshot = { address: stack.address, device, connections: stack.connections(), counters: stack.counters.toJSON() }
    conn.end(JSON.stringify(snapshot) + '\n')
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', async (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EADDRINUSE') return reject(error)
      // A socket file left by a serve that died: remove it, unless someone still answers there.
      if (await answers(path)) return reject(new Error(`another tuntcp serve is running on ${device} (${path})`))
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

/** Ask the serve on `device` for a snapshot. */
export function query(device: string): Promise<Snapshot> {
  const path = controlPath(device)
  return new Promise((resolve, reject) => {
    const conn = net.connect(path)
    let text = ''
    conn.setEncoding('utf8')
    conn.on('data', (chunk: string) => { text += chunk })
    conn.on('end', () => {
      try {
        resolve(JSON.parse(text) as Snapshot)
      } catch (error) {
        reject(new Error(`bad answer from ${path}: ${(error as Error).message}`))
      }
    })
    conn.on('error', (error: NodeJS.ErrnoException) => {
      reject(new Error(error.code === 'ENOENT' || error.code === 'ECONNREFUSED'
        ? `no tuntcp serve is running on ${device} (no ${path})`
        : `cannot reach ${path}: ${error.message}`))
    })
  })
}
