// tuntcp connect HOST PORT: an active open from the stack to a kernel peer,
// like nc: stdin goes to the connection and the connection to stdout. End of
// stdin sends our FIN (a half-close); we exit once both directions are done.

import { DEVICE_OPTIONS, deviceArgs, parse, port, UsageError } from './args.js'
import { bringUp } from './bring-up.js'
import type { Socket } from '../stack/socket/socket.js'
import type { Stack } from '../stack/stack.js'
import { hostPortText, isV6, parseAnyAddress } from '../stack/wire/address.js'
import { SYN, type TcpSegment } from '../stack/wire/tcp.js'

export const CONNECT_USAGE = `usage: tuntcp connect HOST PORT [--dev NAME] [--addr A] [--kernel-addr A/P] [--mtu N] [--msl SECONDS] [--trace] [--trace-json FILE] [--pcap FILE] [--no-offload]

  HOST is an IPv4 or IPv6 address the kernel routes over the device, usually the kernel
  side's own address (10.77.0.1 or fd77::1 by default). Options as for serve. On stderr: the
  addresses it connects from and to, and, when the SYN has gone out three times
  unanswered, that the peer is not answering (it gives up after about two minutes).`

/** After the connection closes, how long to stay up to answer a retransmitted FIN from TIME-WAIT. */
const LINGER_MS = 500

/** Our SYN retransmitted this often (at 1 s, then 3 s: RFC 6298's doubling) and the user hears the peer is silent. */
const SYN_RETRANSMITS_BEFORE_WARNING = 2

/**
 * Say on stderr that `socket` is connecting and, if the peer has not answered our SYN after
 * SYN_RETRANSMITS_BEFORE_WARNING retransmissions, that it is not answering: the stack goes on
 * trying (about two minutes in all) and a silent wait would look like a hang.
 */
export function reportOpening(stack: Stack, socket: Socket, host: string, remotePort: number, log: (line: string) => void): void {
  log(`tuntcp: connecting to ${hostPortText(host, remotePort)} from ${hostPortText(socket.localAddress, socket.localPort)}`)
  // connect() sent the first SYN already: every SYN seen from here on is a retransmission.
  let retransmitted = 0
  const onSegment = (dir: 'in' | 'out', { seg }: { seg: TcpSegment }) => {
    if (dir !== 'out' || !(seg.flags & SYN) || seg.srcPort !== socket.localPort || seg.dstPort !== remotePort) return
    if (++retransmitted < SYN_RETRANSMITS_BEFORE_WARNING) return
    log(`tuntcp: ${hostPortText(host, remotePort)} is not answering (SYN sent ${retransmitted + 1} times); still waiting`)
    stop()
  }
  const stop = () => {
    stack.off('segment', onSegment)
    socket.off('connect', stop)
    socket.off('close', stop)
  }
  stack.on('segment', onSegment)
  socket.once('connect', stop)
  socket.once('close', stop)
}

export async function connect(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, DEVICE_OPTIONS, true)
  if (values.help) {
    console.log(CONNECT_USAGE)
    return 0
  }
  const [host, portText, extra] = positionals
  if (host === undefined) throw new UsageError('missing HOST and PORT')
  const remote = parseAnyAddress(host)
  if (remote === null) throw new UsageError(`HOST must be an IPv4 or IPv6 address, not ${JSON.stringify(host)}`)
  const remotePort = port(portText)
  if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`)
  const args = deviceArgs(values)
  if (isV6(remote) && args.addr6 === undefined) throw new UsageError(`HOST ${host} is IPv6, but the stack has no IPv6 address: add one with --addr`)
  const log = (line: string) => console.error(line)
  const running = bringUp(args, log)
  const { stack } = running

  return new Promise<number>(resolve => {
    const socket = stack.connect({ host: typeof remote === 'string' ? remote : host, port: remotePort, allowHalfOpen: true })
    reportOpening(stack, socket, host, remotePort, log)
    let failed: Error | null = null
    socket.on('connect', () => {
      if (args.trace) log(`tuntcp: connected ${hostPortText(socket.localAddress, socket.localPort)} -> ${hostPortText(host, remotePort)}`)
      process.stdin.pipe(socket) // our FIN follows the end of stdin
    })
    socket.pipe(process.stdout, { end: false })
    socket.on('error', error => {
      failed = error
    })
    socket.on('close', () => {
      process.stdin.unpipe(socket)
      process.stdin.pause()
      process.stdin.destroy()
      if (failed !== null) {
        const code = (failed as NodeJS.ErrnoException).code
        const peer = hostPortText(host, remotePort)
        const why = code === 'ECONNREFUSED' ? `connection refused by ${peer}`
          : code === 'ECONNRESET' ? `connection reset by ${peer}`
          : code === 'ETIMEDOUT' ? `connection to ${peer} timed out`
          : failed.message
        log(`tuntcp: ${why}`)
      }
      const exitCode = interrupted ? 130 : failed === null ? 0 : 1
      setTimeout(() => {
        running.takeDown()
        resolve(exitCode)
      }, failed === null ? LINGER_MS : 0)
    })
    let interrupted = false
    const abort = () => {
      log('tuntcp: interrupted, resetting the connection')
      interrupted = true
      socket.destroy()
    }
    process.once('SIGINT', abort)
    process.once('SIGTERM', abort)
  })
}
