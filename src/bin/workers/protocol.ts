// The messages between `tuntcp serve --workers N`'s main thread and its worker threads.
//
//   main                                    worker i
//   new Worker(boot.mjs, { workerData })  ->  opens a queue, starts a Stack, serveAll()
//                                         <-  { type: 'ready' }   or   { type: 'failed' }
//   { id, type: 'snapshot' }              ->
//                                         <-  { id, type: 'state', state }       (tuntcp ss)
//   { id, type: 'shutdown', graceMs }     ->  stack.shutdown(graceMs): every connection closed
//                                         <-  { id, type: 'state', state }
//   { id, type: 'close' }                 ->  closes its queue; the thread may then end
//                                         <-  { id, type: 'state', state }
//
// Everything crosses by structured clone, so it is plain data: no class instances.

import type { ConnectionInfo } from '../../stack/connection-info.js'
import type { TunCounters } from '../../tun/tun-device.js'
import type { DeviceArgs } from '../args.js'

/** What a worker is told when it starts (worker_threads' workerData). */
export interface WorkerData {
  /** 0 .. N-1: names the worker in logs, `tuntcp ss` and the summary at exit. */
  index: number
  /** The serve flags; args.dev is the multi-queue device the main thread has opened. */
  args: DeviceArgs
  /** ANSI colours for --trace (the main thread knows whether stderr is a terminal). */
  colour: boolean
}

/** What the main thread asks a worker; each question carries an id its answer repeats. */
export type Ask =
  | { type: 'snapshot' }
  | { type: 'shutdown'; graceMs: number }
  | { type: 'close' }
export type Request = Ask & { id: number }

/** One worker's connections and counters (Counters.toJSON(), TunDevice.counters). */
export interface WorkerState {
  worker: number
  connections: ConnectionInfo[]
  counters: Record<string, unknown>
  device: TunCounters
}

export type Reply =
  | { type: 'ready'; offload: boolean }
  | { type: 'failed'; code: string; message: string }
  | { id: number; type: 'state'; state: WorkerState }
