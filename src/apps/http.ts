// HTTP/1.1 on the stack's sockets. The server is Node's own node:http: it takes
// any Duplex handed to it with emit('connection'), so the parsing, keep-alive and
// Connection: close handling are Node's, and only the routes are ours:
//   GET /          a small page
//   GET /bytes/N   N bytes of the chargen pattern, with Content-Length

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Server } from '../stack/socket/server.js'
import type { Stack } from '../stack/stack.js'
import { chargenBytes, CHARGEN_PERIOD } from './chargen.js'

/** The largest /bytes/N served (1 TiB): beyond it, 400. */
export const MAX_BYTES = 2 ** 40

const CHUNK_PERIODS = 64 // 450 KB per write

function page(stack: Stack): string {
  return [
    '<!doctype html>',
    '<title>tuntcp</title>',
    `<h1>tuntcp at ${stack.address}</h1>`,
    '<p>This page came over a TCP connection run in userspace by tuntcp.</p>',
    '<p>Try <a href="/bytes/1048576">/bytes/1048576</a> for a mebibyte of chargen text.</p>',
    '',
  ].join('\n')
}

function sendBytes(res: ServerResponse, total: number): void {
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': total })
  if (res.req.method === 'HEAD') return void res.end()
  // Whole periods per write keep the pattern aligned: every chunk but the last is the same buffer.
  const chunk = chargenBytes(0, CHARGEN_PERIOD.length * CHUNK_PERIODS)
  let sent = 0
  const pump = () => {
    while (sent < total) {
      const n = Math.min(chunk.length, total - sent)
      sent += n
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once('drain', pump)
    }
    res.end()
  }
  pump()
}

function route(stack: Stack, req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('method not allowed\n')
    return
  }
  const path = (req.url ?? '/').split('?')[0]
  if (path === '/') {
    const body = page(stack)
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(body) })
    res.end(req.method === 'HEAD' ? undefined : body)
    return
  }
  const bytes = /^\/bytes\/(\d{1,13})$/.exec(path ?? '')
  if (bytes !== null && Number(bytes[1]) <= MAX_BYTES) return sendBytes(res, Number(bytes[1]))
  const status = bytes !== null ? 400 : 404
  res.writeHead(status, { 'Content-Type': 'text/plain' })
  res.end(status === 400 ? `at most ${MAX_BYTES} bytes\n` : 'not found: try / or /bytes/N\n')
}

/** A connection that sends no complete request within this long is closed (node:http's own checks need listen()). */
export const IDLE_TIMEOUT_MS = 60_000

export function httpServer(stack: Stack): Server {
  const http = createServer((req, res) => route(stack, req, res))
  http.timeout = IDLE_TIMEOUT_MS
  // node:http ends idle keep-alive connections with destroy(): make that a FIN, as on a kernel socket.
  return stack.createServer({ closeOnDestroy: true }, socket => {
    socket.on('error', () => {})
    // node:http turns Nagle off on the sockets its own listen() accepts (noDelay: true by default);
    // a socket handed in by emit('connection') skips that, so do it here.
    socket.setNoDelay(true)
    http.emit('connection', socket)
  })
}
