// The stack on a TUN device behind the bad wire of test/helpers/netem-profile.ts, for the
// kernel tests that send bulk data through it (lossy.test.ts, lossy-bbr.test.ts). Toward
// the stack, `tc qdisc ... netem` on the TUN device (the kernel's egress) when the kernel
// has netem, else the same faults played in userspace on the packets read from the device
// (a FaultyLink); away from it, the stack's own outbound faults (StackOptions.faults).
// No offload: netem and the fault model then act on single segments, as on a real wire.

import { spawnSync } from 'node:child_process'
import { Stack, type StackOptions } from '../../src/stack/stack'
import { FaultyLink } from '../../src/tun/faulty-link'
import { configureKernelSide } from '../../src/tun/iproute'
import type { Link } from '../../src/tun/link'
import { TunDevice } from '../../src/tun/tun-device'
import { NETEM_ARGS, NETEM_PROFILE } from '../helpers/netem-profile'

export interface BadWire {
  device: TunDevice
  stack: Stack
  /** Who plays the faults toward the stack: the kernel's netem, or a FaultyLink here. */
  towardStack: 'netem' | 'userspace'
}

/** A Stack at `address` on new TUN device `dev` (kernel side `kernel`/24) behind the bad wire. */
export function stackBehindBadWire(dev: string, kernel: string, address: string, options: Partial<StackOptions> = {}): BadWire {
  const device = TunDevice.open({ name: dev, mtu: 1500, offload: false })
  configureKernelSide(dev, `${kernel}/24`, 1500)
  const netem = spawnSync('tc', ['qdisc', 'add', 'dev', dev, 'root', 'netem', ...NETEM_ARGS], { encoding: 'utf8' })
  // Without sch_netem (CONFIG_NET_SCH_NETEM) in this kernel: the same faults, in userspace.
  const towardStack = netem.status === 0 ? 'netem' : 'userspace'
  const link: Link = towardStack === 'netem' ? device : new FaultyLink(device, { seed: 4, inbound: NETEM_PROFILE })
  const stack = new Stack({ address, link, mslMs: 1000, faults: { ...NETEM_PROFILE, seed: 5 }, ...options })
  return { device, stack, towardStack }
}
