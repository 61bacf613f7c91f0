// Bring the stack up on a TUN device for serve and connect: open (or create)
// the device, give the kernel side its address when asked or when we created the
// device, and attach --trace, --trace-json and --pcap. takeDown() undoes all of it. The two halves,
// openDevice() and startStack(), are used apart by `serve --workers`: the main thread
// opens the device, each worker thread starts a stack on a queue of its own.

import { withFullTcpChecksum } from '../stack/wire/tcp.js'
import { Stack, type StackOptions } from '../stack/stack.js'
import { configureKernelSide, parseCidr, parseCidr6 } from '../tun/iproute.js'
import { TunDevice } from '../tun/tun-device.js'
import { parseAddressV6 } from '../stack/wire/ipv6.js'
import { CommandError, DEFAULT_KERNEL_ADDR, DEFAULT_KERNEL_ADDR6, UsageError, type DeviceArgs } from './args.js'
import { useColour } from './colour.js'
import { PcapWriter } from './pcap.js'
import { Tracer } from './trace.js'
import { traceJsonToFile } from './trace-json.js'

export interface Running {
  device: TunDevice
  stack: Stack
  /** The kernel side's address (A.B.C.D/P), when we set it. */
  kernelAddr: string | undefined
  /** The kernel side's IPv6 address (X::Y/P), when we set it. */
  kernelAddr6: string | undefined
  /** Close the pcap and trace files and the device (a device we created disappears). */
  takeDown(): void
}

/** Is `addr` inside `cidr`'s network? */
function inSubnet(addr: string, cidr: string): boolean {
  const { address, prefix } = parseCidr(cidr)
  const n = (a: string) => a.split('.').reduce((acc, o) => acc * 256 + Number(o), 0)
  const size = 2 ** (32 - prefix)
  return Math.floor(n(addr) / size) === Math.floor(n(address) / size)
}

/** The same for IPv6: do the first `prefix` bits agree? */
function inSubnet6(addr: string, cidr: string): boolean {
  const { address, prefix } = parseCidr6(cidr)
  const a = parseAddressV6(addr)!
  const b = parseAddressV6(address)!
  for (let bit = 0; bit < prefix; bit++) {
    const mask = 0x80 >> (bit % 8)
    if ((a[bit >> 3]! & mask) !== (b[bit >> 3]! & mask)) return false
  }
  return true
}

/** The device, open, with its kernel side configured when we created it or were asked to. */
export interface OpenedDevice {
  device: TunDevice
  /** The kernel side's address (A.B.C.D/P), when we set it. */
  kernelAddr: string | undefined
  /** The kernel side's IPv6 address (X::Y/P), when we set it. */
  kernelAddr6: string | undefined
}

/**
 * Open (or create) the device of `args` and configure its kernel side when we created it
 * or --kernel-addr was given. With `forWorkers` the device is a multi-queue one and the
 * queue returned is disabled at once: it only holds the device (which lives as long as
 * one of its queues is open) while worker threads add queues of their own and serve.
 * On failure nothing is left behind.
 */
export function openDevice(args: DeviceArgs, log: (line: string) => void, forWorkers = false): OpenedDevice {
  const kernelAddr = args.kernelAddr ?? DEFAULT_KERNEL_ADDR
  // The kernel side gets an IPv6 address only when the stack has one.
  const kernelAddr6 = args.addr6 === undefined ? undefined : args.kernelAddr6 ?? DEFAULT_KERNEL_ADDR6
  if (parseCidr(kernelAddr).address === args.addr) {
    throw new UsageError(`--addr ${args.addr} is the kernel side's address: the stack needs an address of its own`)
  }
  if (kernelAddr6 !== undefined && parseCidr6(kernelAddr6).address === args.addr6) {
    throw new UsageError(`--addr ${args.addr6} is the kernel side's address: the stack needs an address of its own`)
  }
  const device = TunDevice.open({ name: args.dev, mtu: args.mtu, offload: args.offload, multiQueue: forWorkers })
  try {
    if (forWorkers) device.setQueueEnabled(false)
    if (!(device.created || args.kernelAddr !== undefined || args.kernelAddr6 !== undefined)) {
      return { device, kernelAddr: undefined, kernelAddr6: undefined }
    }
    configureKernelSide(device.name, kernelAddr6 === undefined ? [kernelAddr] : [kernelAddr, kernelAddr6], args.mtu)
    if (!inSubnet(args.addr, kernelAddr)) log(`tuntcp: warning: ${args.addr} is outside ${kernelAddr}; the kernel will not route to it over ${device.name}`)
    if (kernelAddr6 !== undefined && !inSubnet6(args.addr6!, kernelAddr6)) {
      log(`tuntcp: warning: ${args.addr6} is outside ${kernelAddr6}; the kernel will not route to it over ${device.name}`)
    }
    return { device, kernelAddr, kernelAddr6 }
  } catch (error) {
    device.close()
    throw error
  }
}

/**
 * A Stack at --addr on `device`, with --trace, --trace-json and --pcap attached, internal
 * errors and device errors logged. `close()` closes the files (the device is the caller's).
 */
export function startStack(device: TunDevice, args: DeviceArgs, log: (line: string) => void,
  colour = useColour(process.stderr), more: Partial<StackOptions> = {}): { stack: Stack; close(): void } {
  const stack = new Stack({ address: args.addr, address6: args.addr6, link: device, mslMs: args.mslMs, ...more })
  if (args.trace) new Tracer(stack, line => log(line), colour)
  let pcap: PcapWriter | null = null
  if (args.pcap !== undefined) {
    let writer: PcapWriter
    try {
      writer = new PcapWriter(args.pcap)
    } catch (error) {
      throw new CommandError(`cannot write the pcap file ${args.pcap}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
    }
    pcap = writer
    // With offload a TCP checksum may be left for the kernel to finish: the file gets it whole.
    stack.on('packet', (_dir: string, packet: Uint8Array, partial: boolean) => writer.write(partial ? withFullTcpChecksum(packet) : packet))
  }
  let stopJson: (() => void) | null = null
  if (args.traceJson !== undefined) {
    try {
      stopJson = traceJsonToFile(stack, args.traceJson)
    } catch (error) {
      pcap?.close()
      throw error
    }
  }
  stack.on('internal-error', (error: Error) => log(`tuntcp: internal error (packet dropped): ${error.stack ?? error.message}`))
  device.onError(error => log(error.message))
  return {
    stack,
    close: () => {
      pcap?.close()
      stopJson?.()
    },
  }
}

export function bringUp(args: DeviceArgs, log: (line: string) => void): Running {
  const { device, kernelAddr, kernelAddr6 } = openDevice(args, log)
  try {
    const { stack, close } = startStack(device, args, log)
    return {
      device, stack, kernelAddr, kernelAddr6,
      takeDown() {
        close()
        device.close()
      },
    }
  } catch (error) {
    device.close()
    throw error
  }
}
