// Bring the stack up on a TUN device for serve and connect: open (or create)
// the device, give the kernel side its address when asked or when we created the
// device, and attach --trace and --pcap. take_down() undoes all of it.

import { withFullTcpChecksum } from '../stack/wire/tcp'
import { Stack } from '../stack/stack'
import { configureKernelSide, parseCidr } from '../tun/iproute'
import { TunDevice } from '../tun/tun-device'
import { CommandError, DEFAULT_KERNEL_ADDR, UsageError, type DeviceArgs } from './args'
import { PcapWriter } from './pcap'
import { Tracer } from './trace'

export interface Running {
  device: TunDevice
  stack: Stack
  /** The kernel side's address (A.B.C.D/P), when we set it. */
  kernelAddr: string | undefined
  /** Close the pcap file and the device (a device we created disappears). */
  takeDown(): void
}

/** Is `addr` inside `cidr`'s network? */
function inSubnet(addr: string, cidr: string): boolean {
  const { address, prefix } = parseCidr(cidr)
  const n = (a: string) => a.split('.').reduce((acc, o) => acc * 256 + Number(o), 0)
  const size = 2 ** (32 - prefix)
  return Math.floor(n(addr) / size) === Math.floor(n(address) / size)
}

export function bringUp(args: DeviceArgs, log: (line: string) => void): Running {
  const kernelAddr = args.kernelAddr ?? DEFAULT_KERNEL_ADDR
  if (parseCidr(kernelAddr).address === args.addr) {
    throw new UsageError(`--addr ${args.addr} is the kernel side's address: the stack needs an address of its own`)
  }
  const device = TunDevice.open({ name: args.dev, mtu: args.mtu, offload: args.offload })
  let pcap: PcapWriter | null = null
  try {
    let configured: string | undefined
    if (device.created || args.kernelAddr !== undefined) {
      configureKernelSide(device.name, kernelAddr, args.mtu)
      configured = kernelAddr
      if (!inSubnet(args.addr, kernelAddr)) log(`tuntcp: warning: ${args.addr} is outside ${kernelAddr}; the kernel will not route to it over ${device.name}`)
    }
    const stack = new Stack({ address: args.addr, link: device, mslMs: args.mslMs })
    if (args.trace) new Tracer(stack, line => log(line), process.stderr.isTTY === true)
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
    stack.on('internal-error', (error: Error) => log(`tuntcp: internal error (packet dropped): ${error.stack ?? error.message}`))
    device.onError(error => log(error.message))
    return {
      device, stack, kernelAddr: configured,
      takeDown() {
        pcap?.close()
        device.close()
      },
    }
  } catch (error) {
    pcap?.close()
    device.close()
    throw error
  }
}
