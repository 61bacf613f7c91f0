#!/usr/bin/env node
// Node net clients for `npm run bench` (kernel sockets; run inside the bench's namespace):
//
//   node bench/net-client.mjs upload HOST PORT BYTES    BYTES to discard, then FIN;
//        timed from connect() to the server's FIN (which discard sends only after
//        reading everything), so every byte was delivered to the server's application
//   node bench/net-client.mjs rtt HOST PORT COUNT       COUNT 1-byte ping-pongs on one
//        connection to echo (after COUNT/10 warm-up ones), each timed with hrtime
//
// Prints one JSON line.

import { connect } from 'node:net'

const CHUNK = 64 * 1024

function upload(host, port, bytes) {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(CHUNK, 0x61)
    const start = process.hrtime.bigint()
    let sent = 0
    const sock = connect({ host, port })
    sock.setNoDelay(true)
    sock.on('error', reject)
    const pump = () => {
      while (sent < bytes) {
        const n = Math.min(CHUNK, bytes - sent)
        sent += n
        if (!sock.write(n === CHUNK ? chunk : chunk.subarray(0, n))) return
      }
      sock.end()
    }
    sock.on('drain', pump)
    sock.once('connect', pump)
    sock.resume()
    sock.once('end', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9
      resolve({ bytes, seconds, MBps: bytes / seconds / 1e6 })
    })
  })
}

function rtt(host, port, count) {
  return new Promise((resolve, reject) => {
    const warmup = Math.max(10, Math.floor(count / 10))
    const samples = []
    const one = Buffer.from('x')
    const sock = connect({ host, port })
    sock.setNoDelay(true)
    sock.on('error', reject)
    let round = 0
    let t0 = 0n
    let pending = 0
    const ping = () => {
      t0 = process.hrtime.bigint()
      pending = 1
      sock.write(one)
    }
    sock.on('data', data => {
      pending -= data.length
      if (pending > 0) return
      const us = Number(process.hrtime.bigint() - t0) / 1e3
      if (round >= warmup) samples.push(us)
      round++
      if (round < warmup + count) return ping()
      sock.end()
      samples.sort((a, b) => a - b)
      const q = p => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))]
      const mean = samples.reduce((s, x) => s + x, 0) / samples.length
      resolve({ count: samples.length, warmup, p50us: q(0.5), p99us: q(0.99), p999us: q(0.999), meanUs: mean, minUs: samples[0], maxUs: samples.at(-1) })
    })
    sock.once('connect', ping)
  })
}

const [what, host, port, n] = process.argv.slice(2)
const run = what === 'upload' ? upload : what === 'rtt' ? rtt : null
if (!run || !host || !port || !n) {
  console.error('usage: net-client.mjs upload|rtt HOST PORT N')
  process.exit(2)
}
run(host, Number(port), Number(n)).then(
  result => { console.log(JSON.stringify(result)); process.exit(0) },
  err => { console.error(`net-client ${what}: ${err.message}`); process.exit(1) },
)
