// The main thread's side of `tuntcp serve --workers N`: start N worker threads (each
// opens one queue of the device and serves on it), ask them all the same question and
// gather the answers, and stop them. Messages: protocol.ts.

import { Worker } from 'node:worker_threads'
import { TunError } from '../../tun/errors.js'
import type { DeviceArgs } from '../args.js'
import type { Ask, Reply, Request, WorkerData, WorkerState } from './protocol.js'

interface Member {
  worker: Worker
  /** Removes the listeners that only matter while the worker starts. */
  started(): void
  /** Requests sent and not answered yet, by id. */
  pending: Map<number, { resolve(state: WorkerState): void; reject(error: Error): void }>
  /** False once the thread has exited (or failed). */
  alive: boolean
}

/**
 * The thread's entry: the compiled worker.js in the package; from the TypeScript sources
 * (tests, tsx) boot.mjs, which registers tsx's loader in the thread first.
 */
const WORKER_ENTRY = import.meta.url.endsWith('.ts')
  ? new URL('./boot.mjs', import.meta.url)
  : new URL('./worker.js', import.meta.url)

export class WorkerPool {
  /** Whether the workers' queues carry checksum and segmentation offload (the device's setting). */
  readonly offload: boolean
  private readonly members: Member[]
  private nextId = 1
  private stopping = false
  /** Called once if a worker dies while serving (not while the pool is being stopped). */
  onCrash: ((message: string) => void) | null = null

  private constructor(members: Member[], offload: boolean) {
    this.members = members
    this.offload = offload
  }

  get size(): number {
    return this.members.length
  }

  /**
   * Start `count` workers on the multi-queue device args.dev and wait until each serves.
   * If one fails (its queue, its stack), all are stopped and its error is thrown, as a
   * TunError when it was one (so the command prints its one line and exits 1).
   */
  static async start(count: number, args: DeviceArgs, colour: boolean): Promise<WorkerPool> {
    const members: Member[] = []
    const ready: Promise<boolean>[] = []
    for (let index = 0; index < count; index++) {
      const data: WorkerData = { index, args, colour }
      const worker = new Worker(WORKER_ENTRY, { workerData: data })
      let started = () => {}
      ready.push(new Promise<boolean>((resolve, reject) => {
        const onMessage = (reply: Reply) => {
          if (reply.type === 'ready') resolve(reply.offload)
          else if (reply.type === 'failed') reject(new TunError(reply.code, reply.message))
        }
        const onError = (error: Error) => reject(new Error(`worker ${index} failed to start: ${error.message}`))
        const onExit = (code: number) => reject(new Error(`worker ${index} exited while starting (code ${code})`))
        worker.on('message', onMessage).on('error', onError).on('exit', onExit)
        // (Not removeAllListeners(): Worker keeps listeners of its own on itself.)
        started = () => worker.off('message', onMessage).off('error', onError).off('exit', onExit)
      }))
      members.push({ worker, started, pending: new Map(), alive: true })
    }
    let offload: boolean[]
    try {
      offload = await Promise.all(ready)
    } catch (error) {
      await Promise.all(members.map(m => m.worker.terminate()))
      throw error
    }
    const pool = new WorkerPool(members, offload.every(Boolean))
    members.forEach((member, index) => pool.watch(member, index))
    return pool
  }

  /** Route answers to their requests; report a worker that dies on its own. */
  private watch(member: Member, index: number): void {
    const { worker } = member
    member.started()
    worker.on('message', (reply: Reply) => {
      if (!('id' in reply)) return
      const waiting = member.pending.get(reply.id)
      member.pending.delete(reply.id)
      waiting?.resolve(reply.state)
    })
    const died = (why: string) => {
      if (!member.alive) return
      member.alive = false
      for (const waiting of member.pending.values()) waiting.reject(new Error(`worker ${index} ${why}`))
      member.pending.clear()
      if (!this.stopping) this.onCrash?.(`worker ${index} ${why}`)
    }
    worker.on('error', error => died(`failed: ${error.stack ?? error.message}`))
    worker.on('exit', code => died(`exited (code ${code})`))
  }

  /** Ask every worker; resolves with their answers in worker order. */
  private askAll(ask: Ask, timeoutMs: number): Promise<WorkerState[]> {
    return Promise.all(this.members.map((member, index) => new Promise<WorkerState>((resolve, reject) => {
      if (!member.alive) return reject(new Error(`worker ${index} is not running`))
      const id = this.nextId++
      const timer = setTimeout(() => {
        member.pending.delete(id)
        reject(new Error(`worker ${index} did not answer ${ask.type} within ${timeoutMs} ms`))
      }, timeoutMs)
      member.pending.set(id, {
        resolve: state => { clearTimeout(timer); resolve(state) },
        reject: error => { clearTimeout(timer); reject(error) },
      })
      const request: Request = { ...ask, id }
      member.worker.postMessage(request)
    })))
  }

  /** Every worker's connections and counters, now. */
  snapshot(): Promise<WorkerState[]> {
    return this.askAll({ type: 'snapshot' }, 5_000)
  }

  /** Every worker closes all its connections gracefully, at the same time (Stack.shutdown). */
  shutdown(graceMs: number): Promise<WorkerState[]> {
    this.stopping = true
    return this.askAll({ type: 'shutdown', graceMs }, graceMs + 5_000)
  }

  /** Every worker closes its queue (after shutdown); then the threads are ended. Final states. */
  async close(): Promise<WorkerState[]> {
    this.stopping = true
    try {
      return await this.askAll({ type: 'close' }, 5_000)
    } finally {
      await this.terminate()
    }
  }

  /**
   * End every thread now. A queue a worker did not close stays open (its fd belongs to the
   * process, not the thread) until the process exits, which is what follows this.
   */
  async terminate(): Promise<void> {
    this.stopping = true
    await Promise.all(this.members.map(m => m.worker.terminate()))
  }
}
