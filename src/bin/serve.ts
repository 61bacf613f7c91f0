// tuntcp serve: the stack on a TUN device, serving PRODUCT.md's contract
// (echo 7, discard 9, daytime 13, chargen 19, HTTP 80) until SIGINT or SIGTERM,
// then a graceful close of every connection, bounded in time. With --workers N > 1
// the serving is done by N threads, one queue of the device each (serve-workers.ts).

import { serveAll } from '../apps/index.js'
import { CommandError, deviceArgs, MAX_WORKERS, parse, SERVE_OPTIONS, UsageError, workers } from './args.js'
import { banner } from './banner.js'
import { bringUp } from './bring-up.js'
import { stackSnapshot, startControl } from './control.js'
import { serveWorkers } from './serve-workers.js'

export const SERVE_USAGE = `usage: tuntcp serve [--dev NAME] [--addr A.B.C.D] [--addr X::Y] [--kernel-addr A.B.C.D/P] [--kernel-addr X::Y/P] [--mtu N] [--msl SECONDS] [--trace] [--trace-json FILE] [--pcap FILE] [--no-offload] [--workers N]

  --dev NAME            TUN device to attach to, or create (default tuntcp0)
  --addr A              the stack's own address, repeatable: one IPv4 and at most one IPv6
                        (default 10.77.0.2 and fd77::2; an --addr given replaces both)
  --kernel-addr A/P     the kernel side's address, repeatable, one of each family; set when
                        given, or when the device is created (default 10.77.0.1/24, and
                        fd77::1/64 when the stack has IPv6, added nodad)
  --mtu N               device MTU (default 1500)
  --msl SECONDS         maximum segment lifetime; TIME-WAIT lasts twice this (default 30)
  --trace               print every segment and state change
  --trace-json FILE     write every segment, state change and the sender's cwnd, RTT and
                        bytes in flight after each ACK to FILE, one JSON object a line
                        (docs/trace-json.md; draw it with tuntcp plot)
  --pcap FILE           write every packet in and out to FILE (pcap, LINKTYPE_RAW)
  --no-offload          no checksum and TCP segmentation offload on the device (on where the
                        kernel supports it: segments up to 64 KB, cut at the MSS by the kernel)
  --workers N           serve with N threads (1 to ${MAX_WORKERS}, default 1): the device is made
                        multi-queue, each thread runs its own stack on one queue and owns the
                        connections the kernel hashes there; not with --pcap or --trace-json`

/** How long a shutdown waits for connections to close before resetting them. */
const SHUTDOWN_GRACE_MS = 2000

export async function serve(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, SERVE_OPTIONS, true)
  if (values.help) {
    console.log(SERVE_USAGE)
    return 0
  }
  if (positionals.length > 0) throw new UsageError(`serve takes no arguments, got ${JSON.stringify(positionals[0])}`)
  const args = deviceArgs(values)
  const threads = workers(values.workers)
  const log = (line: string) => console.error(line)
  if (threads > 1 && args.pcap !== undefined) {
    throw new UsageError('--pcap works with one worker only: the threads would have to share one capture file (drop --workers or --pcap)')
  }
  if (threads > 1 && args.traceJson !== undefined) {
    throw new UsageError('--trace-json works with one worker only: the threads would have to share one trace file (drop --workers or --trace-json)')
  }
  if (threads > 1) return serveWorkers(args, threads, log, SHUTDOWN_GRACE_MS)
  const running = bringUp(args, log)
  const { stack, device } = running
  serveAll(stack)
  let control: { path: string; close(): void }
  try {
    control = await startControl(() => stackSnapshot(stack, device.name), device.name)
  } catch (error) {
    running.takeDown()
    throw new CommandError((error as Error).message)
  }

  console.log(banner({
    device: device.name, mtu: device.mtu, offload: device.offload, address: stack.address, address6: stack.address6 ?? undefined,
    kernelAddr: running.kernelAddr, kernelAddr6: running.kernelAddr6, workers: 1,
  }))

  return new Promise<number>(resolve => {
    let stopping = false
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        log(`tuntcp: ${signal} again, stopping now`)
        control.close()
        running.takeDown()
        return resolve(130)
      }
      stopping = true
      const byState = Object.entries(stack.connectionsByState()).map(([state, n]) => `${state} ${n}`).join(', ')
      const open = stack.connections().filter(c => c.state !== 'TIME-WAIT').length
      log(`tuntcp: ${signal}: closing ${open} connection${open === 1 ? '' : 's'} (at most ${SHUTDOWN_GRACE_MS / 1000} s)${byState ? `; by state: ${byState}` : ''}`)
      void stack.shutdown(SHUTDOWN_GRACE_MS).then(() => {
        control.close()
        running.takeDown()
        log(stack.counters.format())
        resolve(0)
      })
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })
}
