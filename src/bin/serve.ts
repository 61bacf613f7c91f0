// tuntcp serve: the stack on a TUN device, serving PRODUCT.md's contract
// (echo 7, discard 9, daytime 13, chargen 19, HTTP 80) until SIGINT or SIGTERM,
// then a graceful close of every connection, bounded in time.

import { serveAll, SERVICES } from '../apps/index'
import { CommandError, DEVICE_OPTIONS, deviceArgs, parse, UsageError } from './args'
import { bringUp } from './bring-up'
import { startControl } from './control'

export const SERVE_USAGE = `usage: tuntcp serve [--dev NAME] [--addr A.B.C.D] [--kernel-addr A.B.C.D/P] [--mtu N] [--msl SECONDS] [--trace] [--pcap FILE] [--no-offload]

  --dev NAME            TUN device to attach to, or create (default tuntcp0)
  --addr A.B.C.D        the stack's own address (default 10.77.0.2)
  --kernel-addr A/P     the kernel side's address; set when given, or when the device
                        is created (default 10.77.0.1/24)
  --mtu N               device MTU (default 1500)
  --msl SECONDS         maximum segment lifetime; TIME-WAIT lasts twice this (default 30)
  --trace               print every segment and state change
  --pcap FILE           write every packet in and out to FILE (pcap, LINKTYPE_RAW)
  --no-offload          no checksum and TCP segmentation offload on the device (on where the
                        kernel supports it: segments up to 64 KB, cut at the MSS by the kernel)`

/** How long a shutdown waits for connections to close before resetting them. */
const SHUTDOWN_GRACE_MS = 2000

export async function serve(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, DEVICE_OPTIONS, true)
  if (values.help) {
    console.log(SERVE_USAGE)
    return 0
  }
  if (positionals.length > 0) throw new UsageError(`serve takes no arguments, got ${JSON.stringify(positionals[0])}`)
  const args = deviceArgs(values)
  const log = (line: string) => console.error(line)
  const running = bringUp(args, log)
  const { stack, device } = running
  serveAll(stack)
  let control: { path: string; close(): void }
  try {
    control = await startControl(stack, device.name)
  } catch (error) {
    running.takeDown()
    throw new CommandError((error as Error).message)
  }

  const lines = [`tuntcp: serving on ${device.name} (mtu ${device.mtu}${device.offload ? ', offload' : ''}) at ${stack.address}${running.kernelAddr ? `, kernel side ${running.kernelAddr}` : ''}`]
  for (const s of SERVICES) lines.push(`  ${String(s.port).padStart(3)}  ${s.name.padEnd(8)} ${s.rfc}`)
  lines.push('try:')
  lines.push(`  curl http://${stack.address}/`)
  lines.push(`  curl -o /dev/null http://${stack.address}/bytes/10485760`)
  lines.push(`  nc ${stack.address} 7`)
  lines.push(`  ping -c 3 ${stack.address}`)
  lines.push(`  sudo npx tuntcp ss${device.name === 'tuntcp0' ? '' : ` --dev ${device.name}`}`)
  lines.push('Ctrl-C to stop')
  console.log(lines.join('\n'))

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
