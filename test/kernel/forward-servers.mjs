#!/usr/bin/env node
// The far side of test/kernel/forward.test.ts and bench/forward.mjs, run in the server namespace with plain node:
//   node test/kernel/forward-servers.mjs ADDRESS [ADDRESS...]     (each address of either family)
// HTTP on 8080 (GET /file: 10 MiB of a fixed pattern; GET /small: 16 bytes; GET /zero/N: N zero
// bytes, streamed; anything else with a body, POST or PUT: the body's byte count), a half-close service on 9000 (reads to the client's FIN, then answers
// "got N" and closes), UDP echo on 5353, each on every ADDRESS. Prints "ready SHA256-OF-/file" once all listen.

import { createHash } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { createServer as httpServer } from 'node:http'
import { createServer as netServer, isIPv6 } from 'node:net'

const addresses = process.argv.slice(2)
const file = Buffer.alloc(10 << 20)
for (let i = 0; i < file.length; i++) file[i] = (i * 31 + (i >> 12)) & 0xff

const onRequest = (req, res) => {
  if (req.url === '/file') return res.end(file)
  if (req.url === '/small') return res.end('sixteen bytes ok')
  const zero = /^\/zero\/(\d+)$/.exec(req.url ?? '')
  if (zero) return sendZeros(res, Number(zero[1]))
  let n = 0
  req.on('data', c => { n += c.length })
  req.on('end', () => res.end(`${n}\n`))
}
/** N zero bytes in 64 KiB writes, waiting for 'drain' (bench/forward.mjs downloads this). */
function sendZeros(res, n) {
  const chunk = Buffer.alloc(65536)
  res.writeHead(200, { 'content-length': n })
  const more = () => {
    while (n > 0) {
      const part = n >= chunk.length ? chunk : chunk.subarray(0, n)
      n -= part.length
      if (!res.write(part)) return res.once('drain', more)
    }
    res.end()
  }
  more()
}

const onHalf = sock => {
  let n = 0
  sock.on('data', c => { n += c.length })
  sock.on('end', () => sock.end(`got ${n}\n`))
  sock.on('error', () => {})
}

let waiting = 3 * addresses.length
const up = () => {
  if (--waiting === 0) console.log(`ready ${createHash('sha256').update(file).digest('hex')}`)
}
for (const address of addresses) {
  httpServer(onRequest).listen(8080, address, up)
  netServer({ allowHalfOpen: true }, onHalf).listen(9000, address, up)
  const udp = createSocket(isIPv6(address) ? 'udp6' : 'udp4', (msg, rinfo) => udp.send(Buffer.concat([Buffer.from('echo '), msg]), rinfo.port, rinfo.address))
  udp.bind(5353, address, up)
}
process.on('SIGTERM', () => process.exit(0))
