// One worker thread of `tuntcp serve --workers N` (started through boot.mjs).
//
// It adds its own queue to the multi-queue TUN device the main thread created, and runs
// a whole Stack of its own on it: the same address, the same services (serveAll), its
// own connections, timers and counters. The kernel sends every packet of a flow to one
// queue (see src/tun/native/tun.c), so each connection lives in exactly one worker and
// the workers share nothing. The main thread asks for snapshots, the graceful shutdown
// and the close with the messages of protocol.ts.

import { parentPort, workerData } from 'node:worker_threads'
import { serveAll } from '../../apps/index.js'
import type { Stack } from '../../stack/stack.js'
import { TunDevice } from '../../tun/tun-device.js'
import { startStack } from '../bring-up.js'
import type { Reply, Request, WorkerData, WorkerState } from './protocol.js'

const { index, args, colour } = workerData as WorkerData
const port = parentPort!

function post(reply: Reply): void {
  port.postMessage(reply)
}

/** Lines from a worker (--trace, errors) say which one: "w1 ...". */
const log = (line: string) => console.error(`w${index} ${line}`)

function state(stack: Stack, device: TunDevice): WorkerState {
  return { worker: index, connections: stack.connections(), counters: stack.counters.toJSON(), device: { ...device.counters } }
}

function start(): void {
  let device: TunDevice
  let stack: Stack
  let closePcap: () => void
  try {
    device = TunDevice.openQueue(args.dev)
    ;({ stack, close: closePcap } = startStack(device, args, log, colour))
    serveAll(stack)
  } catch (error) {
    const err = error as Error & { code?: string }
    post({ type: 'failed', code: err.code ?? 'EUNKNOWN', message: err.message })
    port.close()
    return
  }
  port.on('message', (request: Request) => {
    switch (request.type) {
      case 'snapshot':
        post({ id: request.id, type: 'state', state: state(stack, device) })
        break
      case 'shutdown':
        void stack.shutdown(request.graceMs).then(() => post({ id: request.id, type: 'state', state: state(stack, device) }))
        break
      case 'close':
        // Only once every worker has drained: closing a queue makes the kernel rehash the
        // remaining flows over the other queues, whose stacks do not know them.
        closePcap()
        device.close()
        post({ id: request.id, type: 'state', state: state(stack, device) })
        port.close()
        break
    }
  })
  post({ type: 'ready', offload: device.offload })
}

start()
