// tuntcp serve --workers N: the same service on N threads, one queue of a multi-queue
// TUN device each.
//
//   main thread                                   worker thread i (workers/worker.ts)
//   TunDevice.open({ multiQueue: true })          TunDevice.openQueue(dev): queue i
//   ip: MTU, kernel address, link up              new Stack({ address, link: queue i })
//   setQueueEnabled(false): holds the device,     serveAll(stack): echo, discard, daytime,
//     gets no packets                               chargen, HTTP
//   control socket (tuntcp ss), SIGINT/SIGTERM
//
// The kernel sends every packet of a flow to the same queue (the one that last wrote a
// packet of that flow, else a hash of its addresses and ports), so each connection is
// owned by exactly one worker and the stacks share nothing: no locks, no messages on the
// packet path. On a signal all workers close their connections at once; only when every
// one has drained do they close their queues, then the main thread closes the device.

import { TunError } from '../tun/errors.js'
import { CommandError, type DeviceArgs } from './args.js'
import { banner } from './banner.js'
import { openDevice } from './bring-up.js'
import { useColour } from './colour.js'
import { startControl, type Snapshot } from './control.js'
import { WorkerPool } from './workers/pool.js'
import type { WorkerState } from './workers/protocol.js'
import { sumCounters } from './workers/sum.js'

/** One snapshot of the whole serve, for `tuntcp ss`: every worker's connections, the counters added up. */
function merge(states: WorkerState[], address: string, device: string): Snapshot {
  return {
    address,
    device,
    connections: states.flatMap(s => s.connections.map(c => ({ ...c, worker: s.worker }))),
    counters: sumCounters(states.map(s => s.counters)).toJSON(),
    workers: states.map(s => ({ worker: s.worker, connections: s.connections.length, counters: s.counters })),
  }
}

/** One line per worker at exit: how the kernel spread the connections and packets. */
function workerLine(s: WorkerState): string {
  const c = s.counters as { passiveOpens: number; packetsIn: number; packetsOut: number; pingsAnswered: number }
  return `worker ${s.worker}: passive opens ${c.passiveOpens}, packets in ${c.packetsIn}, out ${c.packetsOut}, pings answered ${c.pingsAnswered}`
}

export async function serveWorkers(args: DeviceArgs, count: number, log: (line: string) => void, graceMs: number): Promise<number> {
  // Our queue of the device is disabled: it only keeps the device alive.
  const { device, kernelAddr, kernelAddr6 } = openDevice(args, log, true)
  let pool: WorkerPool | null = null
  let control: { path: string; close(): void } | null = null
  try {
    // The control socket first: it finds another serve on this device before our workers
    // add queues to it (a multi-queue device, unlike a single-queue one, is never busy).
    control = await startControl(async () => {
      if (pool === null) throw new Error('the workers are starting')
      return merge(await pool.snapshot(), args.addr6 === undefined ? args.addr : `${args.addr}, ${args.addr6}`, device.name)
    }, device.name)
    pool = await WorkerPool.start(count, args, useColour(process.stderr))
  } catch (error) {
    await pool?.terminate()
    control?.close()
    device.close()
    if (error instanceof TunError) throw error
    throw new CommandError((error as Error).message)
  }
  const workers = pool
  const socket = control

  console.log(banner({ device: device.name, mtu: device.mtu, offload: workers.offload, address: args.addr, address6: args.addr6, kernelAddr, kernelAddr6, workers: count }))

  return new Promise<number>(resolve => {
    let stopping = false
    const finish = (code: number) => {
      socket.close()
      device.close()
      resolve(code)
    }
    workers.onCrash = message => {
      if (stopping) return
      stopping = true
      log(`tuntcp: ${message}; stopping`)
      void workers.terminate().then(() => finish(1))
    }
    const stop = async (signal: NodeJS.Signals) => {
      if (stopping) {
        log(`tuntcp: ${signal} again, stopping now`)
        await workers.terminate()
        return finish(130)
      }
      stopping = true
      try {
        const before = merge(await workers.snapshot(), args.addr6 === undefined ? args.addr : `${args.addr}, ${args.addr6}`, device.name)
        const open = before.connections.filter(c => c.state !== 'TIME-WAIT').length
        const byState = Object.entries(countStates(before)).map(([state, n]) => `${state} ${n}`).join(', ')
        log(`tuntcp: ${signal}: closing ${open} connection${open === 1 ? '' : 's'} in ${count} workers (at most ${graceMs / 1000} s)${byState ? `; by state: ${byState}` : ''}`)
        await workers.shutdown(graceMs)
        const after = await workers.close()
        finish(0)
        for (const s of after) log(workerLine(s))
        log(sumCounters(after.map(s => s.counters)).format())
      } catch (error) {
        log(`tuntcp: ${(error as Error).message}`)
        await workers.terminate()
        finish(1)
      }
    }
    process.on('SIGINT', signal => void stop(signal))
    process.on('SIGTERM', signal => void stop(signal))
  })
}

function countStates(s: Snapshot): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const c of s.connections) counts[c.state] = (counts[c.state] ?? 0) + 1
  return counts
}
