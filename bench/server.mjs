// The server side of `npm run bench` (started by bench/net.mjs inside a network
// namespace; never run it on the host). Both modes run the SAME service code,
// src/apps (serveAll: echo 7, discard 9, daytime 13, chargen 19, HTTP 80 on node:http),
// under the same runtime: plain node, with tuntcp as the package ships it (dist/, compiled by
// `npm run build`; bench/run.mjs builds it first), so no TypeScript loader is measured:
//
//   node bench/server.mjs tuntcp DEV STACK_ADDR KERNEL_CIDR MTU [WORKERS [STACK_ADDR6 KERNEL_CIDR6]]
//       the stack on a TUN device; the kernel side of DEV gets KERNEL_CIDR (and KERNEL_CIDR6,
//       with the stack at STACK_ADDR6 too: single-threaded only). With WORKERS > 1,
//       as `tuntcp serve --workers N` does it (the same code, src/bin/workers): a multi-queue
//       device and N worker threads, each with its own queue and its own Stack
//   node bench/server.mjs kernel ADDR
//       serveAll handed a tiny adapter whose createServer is node:net's, so the very
//       same apps run on kernel sockets (the apps only use what net.Server/net.Socket have)
//
// Prints one line `READY {...}` on stdout when every service listens. On SIGTERM it
// prints `DONE {...}` (the stack's counters in tuntcp mode) and exits.

import { createServer } from 'node:net'
import { Stack, TunDevice, configureKernelSide, serveAll } from '../dist/index.js'
import { openDevice } from '../dist/bin/bring-up.js'
import { WorkerPool } from '../dist/bin/workers/pool.js'
import { sumCounters } from '../dist/bin/workers/sum.js'

async function allListening(servers) {
  await Promise.all(servers.map(s => s.listening ? undefined : new Promise((resolve, reject) => {
    s.once('listening', () => resolve())
    s.once('error', err => reject(err))
  })))
}

async function main(argv) {
  const [mode, ...rest] = argv
  let done
  if (mode === 'tuntcp' && Number(rest[4] ?? 1) > 1) {
    const [dev = 'tbench0', addr = '10.78.0.2', kernelCidr = '10.78.0.1/24', mtu = '1500', workers = '2'] = rest
    const args = {
      dev, addr, kernelAddr: kernelCidr, mtu: Number(mtu), mslMs: 30_000, trace: false, traceJson: undefined, pcap: undefined, offload: true, help: false,
    }
    const { device } = openDevice(args, line => process.stderr.write(`${line}\n`), true)
    const pool = await WorkerPool.start(Number(workers), args, false)
    done = async () => {
      const states = await pool.close()
      device.close()
      return {
        counters: sumCounters(states.map(s => s.counters)).toJSON(),
        workers: states.map(s => ({ worker: s.worker, counters: s.counters, device: s.device })),
      }
    }
  } else if (mode === 'tuntcp') {
    const [dev = 'tbench0', addr = '10.78.0.2', kernelCidr = '10.78.0.1/24', mtu = '1500', , addr6, kernelCidr6] = rest
    const device = TunDevice.open({ name: dev, mtu: Number(mtu) })
    configureKernelSide(device.name, kernelCidr6 ? [kernelCidr, kernelCidr6] : kernelCidr, Number(mtu))
    // TUNTCP_BENCH_TCP='{"outputCoalescing":false}': a TcpConfig override, to measure one switch off and on.
    const tcp = process.env.TUNTCP_BENCH_TCP ? JSON.parse(process.env.TUNTCP_BENCH_TCP) : undefined
    const stack = new Stack({ address: addr, address6: addr6, link: device, tcp })
    const servers = serveAll(stack)
    await allListening(servers)
    done = () => {
      const result = { counters: stack.counters.toJSON(), device: { ...device.counters }, connections: stack.connectionsByState() }
      device.close()
      return result
    }
  } else if (mode === 'kernel') {
    const [addr = '10.79.0.2'] = rest
    // What serveAll uses of a Stack: `address` (the HTTP page names it) and createServer.
    const kernelStack = {
      address: addr,
      createServer: (...args) => createServer(...args),
    }
    const servers = serveAll(kernelStack)
    await allListening(servers)
    done = () => ({})
  } else {
    throw new Error(`usage: server.ts tuntcp|kernel ...; got ${JSON.stringify(mode)}`)
  }
  process.stdout.write(`READY ${JSON.stringify({ mode, pid: process.pid })}\n`)
  const stop = async () => {
    let result = {}
    try {
      result = await done()
    } catch (error) {
      result = { error: error.message }
    }
    process.stdout.write(`DONE ${JSON.stringify(result)}\n`, () => process.exit(0))
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

main(process.argv.slice(2)).catch(err => {
  process.stderr.write(`bench server: ${err.message}\n`)
  process.exit(1)
})
