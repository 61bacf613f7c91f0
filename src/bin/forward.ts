// tuntcp forward --netns NAME: give a network namespace a TUN device whose far end is the
// stack, with a default route into it, and carry every TCP connection, UDP flow and ping
// from there, to any address, out of our own namespace (kernel sockets) or through a SOCKS5
// proxy, as slirp4netns does for a rootless container. Node cannot setns() a thread, so the
// device is made here and moved there (`ip link set DEV netns NAME`): its fd stays ours.

import { existsSync } from 'node:fs'
import { Forwarder } from '../forward/forwarder.js'
import { Socks5Upstream } from '../forward/socks.js'
import { DirectUpstream, type Upstream } from '../forward/upstream.js'
import type { Stack } from '../stack/stack.js'
import { DEFAULT_UDP_CONFIG } from '../stack/udp/udp-layer.js'
import { parseAddress } from '../stack/wire/ipv4.js'
import { formatAddressV6, parseAddressV6 } from '../stack/wire/ipv6.js'
import { addDefaultRoute, configureKernelSide, moveToNetns, parseCidr, parseCidr6 } from '../tun/iproute.js'
import { TunDevice } from '../tun/tun-device.js'
import { CommandError, DEVICE_OPTIONS, deviceArgs, parse, UsageError } from './args.js'
import { startStack } from './bring-up.js'
import { startControl, stackSnapshot, type Snapshot } from './control.js'

export const FORWARD_USAGE = `usage: tuntcp forward --netns NAME [--socks5 HOST:PORT] [--addr A.B.C.D] [--addr X::Y] [--kernel-addr A.B.C.D/P] [--kernel-addr X::Y/P] [--dev NAME] [--mtu N] [--trace] [--trace-json FILE] [--pcap FILE] [--max-connections N] [--max-flows N] [--udp-idle S]

  As root: makes TUN device NAME here, moves it into network namespace NAME (ip netns
  add NAME makes one), gives it --kernel-addr (IPv4 and IPv6), brings it up and routes
  the namespace's default routes (both families) into it. Every TCP connection and UDP
  flow from there, to any address of either family, is ended in the stack and opened
  again from this namespace; pings (ping and ping -6) are answered by the stack itself
  (Node has no ICMP socket to relay them with). docs/forward.md.

  --netns NAME          the network namespace to carry (a name of ip netns, /run/netns/NAME)
  --socks5 HOST:PORT    carry every TCP connection (CONNECT) and UDP flow (UDP ASSOCIATE)
                        through this SOCKS5 proxy (127.0.0.1:1080 or [::1]:1080); nothing goes around it
  --addr ADDRESS        the stack's own addresses, the namespace's gateways, repeatable, one of
                        each family (default 10.0.2.2 and fd00::2); an IPv4 one alone: IPv4 only
  --kernel-addr A/P     the namespace side's addresses, one of each family (default
                        10.0.2.100/24, and fd00::100/64 when the stack has IPv6; added nodad)
  --dev NAME            the device's name (default tuntcp0); must not exist yet
  --mtu N               device MTU (default 1500; at least 1280 with IPv6)
  --max-connections N   TCP connections open or connecting at once; beyond, RST (default 4096)
  --max-flows N         UDP flows at once; beyond, ICMP port unreachable (default 1024)
  --udp-idle S          a UDP flow with no datagram either way for S seconds ends (default 60)
  --trace, --trace-json FILE, --pcap FILE, --msl SECONDS, --no-offload    as for serve

  An upstream that refuses, is unreachable or does not answer within 10 s: the client gets
  RST (its connect fails with ECONNREFUSED). Ctrl-C ends every connection and flow, removes
  the device and exits 0. tuntcp ss --dev NAME (here, not in the namespace) lists them.`

/** The stack's and the namespace side's addresses without --addr and --kernel-addr: slirp4netns' (its IPv6 prefix is fd00::/64 too). */
export const FORWARD_DEFAULTS = { addr: '10.0.2.2', addr6: 'fd00::2', kernelAddr: '10.0.2.100/24', kernelAddr6: 'fd00::100/64' }

const FORWARD_OPTIONS = {
  ...DEVICE_OPTIONS,
  netns: { type: 'string' },
  socks5: { type: 'string' },
  'max-connections': { type: 'string', default: '4096' },
  'max-flows': { type: 'string', default: '1024' },
  'udp-idle': { type: 'string', default: '60' },
} as const

/** How long a shutdown waits for connections to close before resetting them. */
const SHUTDOWN_GRACE_MS = 2000

function count(name: string, text: string, max: number): number {
  const n = Number(text)
  if (!/^\d+$/.test(text) || n < 1 || n > max) throw new UsageError(`--${name} must be a whole number from 1 to ${max}, not ${JSON.stringify(text)}`)
  return n
}

/** --socks5 HOST:PORT: an IPv4 address and port, or an IPv6 address in brackets and a port. */
function socks5(text: string): Upstream {
  const m = /^(?:(\d{1,3}(?:\.\d{1,3}){3})|\[([0-9a-fA-F:.]+)\]):(\d{1,5})$/.exec(text)
  const v6 = m?.[2] === undefined ? null : parseAddressV6(m[2])
  const ok = m !== null && (m[1] !== undefined ? parseAddress(m[1]) !== null : v6 !== null) && Number(m[3]) >= 1 && Number(m[3]) <= 65535
  if (!ok) throw new UsageError(`--socks5 must be an address and port like 127.0.0.1:1080 or [::1]:1080, not ${JSON.stringify(text)}`)
  return new Socks5Upstream({ address: v6 === null ? m[1]! : formatAddressV6(v6), port: Number(m[3]) })
}

/** The heap and RSS now; after a full collection when node runs with --expose-gc (bench/forward.mjs does). */
function memory(): { heapUsed: number; rss: number; gc: boolean } {
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  const m = process.memoryUsage()
  return { heapUsed: m.heapUsed, rss: m.rss, gc: gc !== undefined }
}

export async function forward(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, FORWARD_OPTIONS, true)
  if (values.help) {
    console.log(FORWARD_USAGE)
    return 0
  }
  if (positionals.length > 0) throw new UsageError(`forward takes no arguments, got ${JSON.stringify(positionals[0])}`)
  const netns = values.netns
  if (netns === undefined) throw new UsageError('forward needs --netns NAME: the network namespace to carry (ip netns add NAME makes one)')
  if (!/^[\w.-]+$/.test(netns) || netns === '.' || netns === '..') throw new UsageError(`--netns must be a name of ip netns, not ${JSON.stringify(netns)}`)
  const args = deviceArgs(values, FORWARD_DEFAULTS)
  const kernelAddr = args.kernelAddr ?? FORWARD_DEFAULTS.kernelAddr
  // The namespace side gets an IPv6 address (and route) only when the stack has one.
  const kernelAddr6 = args.addr6 === undefined ? undefined : args.kernelAddr6 ?? FORWARD_DEFAULTS.kernelAddr6
  if (parseCidr(kernelAddr).address === args.addr) throw new UsageError(`--addr ${args.addr} is the namespace side's address: the stack needs an address of its own`)
  if (kernelAddr6 !== undefined && parseCidr6(kernelAddr6).address === args.addr6) {
    throw new UsageError(`--addr ${args.addr6} is the namespace side's address: the stack needs an address of its own`)
  }
  const maxConnections = count('max-connections', values['max-connections'], 1_000_000)
  const maxFlows = count('max-flows', values['max-flows'], 1_000_000)
  const udpIdle = Number(values['udp-idle'])
  if (!/^\d+(\.\d+)?$/.test(values['udp-idle']) || !(udpIdle >= 1 && udpIdle <= 86_400)) {
    throw new UsageError(`--udp-idle must be a number of seconds from 1 to 86400, not ${JSON.stringify(values['udp-idle'])}`)
  }
  const upstream = values.socks5 === undefined ? new DirectUpstream() : socks5(values.socks5)
  if (process.getuid?.() !== 0) throw new CommandError(`forward needs root: it makes a TUN device and moves it into namespace ${netns} (run it with sudo)`)
  if (!existsSync(`/run/netns/${netns}`)) throw new CommandError(`no network namespace named ${netns} (/run/netns/${netns}): make one with ip netns add ${netns}`)

  const log = (line: string) => console.error(line)
  const device = TunDevice.open({ name: args.dev, mtu: args.mtu, offload: args.offload })
  if (!device.created) {
    device.close()
    throw new CommandError(`a device named ${args.dev} exists already in this namespace: choose another with --dev`)
  }
  let stack: Stack
  let closeFiles: () => void
  try {
    moveToNetns(device.name, netns)
    // The IPv6 address is added nodad (iproute.ts): no duplicate address detection, usable at once.
    configureKernelSide(device.name, kernelAddr6 === undefined ? [kernelAddr] : [kernelAddr, kernelAddr6], args.mtu, netns)
    addDefaultRoute(device.name, netns, 4)
    if (kernelAddr6 !== undefined) addDefaultRoute(device.name, netns, 6)
    // The stack's own bound is one above the relay's, so that the relay's refusal (ICMP) is what one flow too many sees.
    const udp = { ...DEFAULT_UDP_CONFIG, maxFlows: maxFlows + 1, flowIdleTimeoutMs: Math.round(udpIdle * 1000) }
    ;({ stack, close: closeFiles } = startStack(device, args, log, undefined, { promiscuous: true, udp, tcp: { maxConnections: maxConnections + 1 } }))
  } catch (error) {
    device.close()
    throw error
  }
  const forwarder = new Forwarder(stack, upstream, { maxConnections, maxFlows })
  const snapshot = (): Snapshot => ({
    ...stackSnapshot(stack, device.name),
    forwarded: { upstream: upstream.name, connections: forwarder.connections(), flows: forwarder.flows(), counters: forwarder.counters() as unknown as Record<string, unknown> },
    memory: memory(),
  })
  let control: { close(): void }
  try {
    control = await startControl(snapshot, device.name)
  } catch (error) {
    closeFiles()
    device.close()
    throw new CommandError((error as Error).message)
  }
  const takeDown = () => {
    control.close()
    closeFiles()
    device.close() // a device we created disappears, from the namespace too
  }
  console.log([
    `tuntcp: forwarding network namespace ${netns}: ${device.name} (mtu ${device.mtu}) at ${kernelAddr}${kernelAddr6 === undefined ? '' : ` and ${kernelAddr6}`}, default route${kernelAddr6 === undefined ? '' : 's'} into the stack (${args.addr}${args.addr6 === undefined ? '' : `, ${args.addr6}`})`,
    `  TCP and UDP to any ${kernelAddr6 === undefined ? 'IPv4 ' : 'IPv4 or IPv6 '}address go out ${upstream.name === 'direct' ? 'from this namespace' : `through ${upstream.name}`}; pings are answered by the stack`,
    `  at most ${maxConnections} connections and ${maxFlows} UDP flows; a flow idle ${udpIdle} s ends`,
    'try:',
    `  ip netns exec ${netns} curl http://SOME.ADDRESS/`,
    `  tuntcp ss${device.name === 'tuntcp0' ? '' : ` --dev ${device.name}`}`,
    'Ctrl-C to stop',
  ].join('\n'))

  return new Promise<number>(resolve => {
    let stopping = false
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        log(`tuntcp: ${signal} again, stopping now`)
        takeDown()
        return resolve(130)
      }
      stopping = true
      log(`tuntcp: ${signal}: ending ${forwarder.tcp.size} connection${forwarder.tcp.size === 1 ? '' : 's'} and ${forwarder.udp.size} flow${forwarder.udp.size === 1 ? '' : 's'} (at most ${SHUTDOWN_GRACE_MS / 1000} s)`)
      forwarder.close()
      void stack.shutdown(SHUTDOWN_GRACE_MS).then(() => {
        takeDown()
        log(stack.counters.format())
        resolve(0)
      })
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })
}
