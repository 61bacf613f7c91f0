// Choosing a congestion control algorithm by name (StackOptions.tcp.congestionControl,
// Socket#setCongestionControl).

import { Bbr } from './bbr.js'
import { Cubic } from './cubic.js'
import { NewReno } from './newreno.js'
import { CONGESTION_CONTROLS, type CongestionControl, type CongestionControlName } from './types.js'

export function createCongestionControl(name: CongestionControlName, mss: number): CongestionControl {
  switch (name) {
    case 'newreno':
      return new NewReno(mss)
    case 'cubic':
      return new Cubic(mss)
    case 'bbr':
      return new Bbr(mss)
    default:
      throw new RangeError(`unknown congestion control '${name as string}' (one of: ${CONGESTION_CONTROLS.join(', ')})`)
  }
}

export function isCongestionControlName(name: unknown): name is CongestionControlName {
  return typeof name === 'string' && (CONGESTION_CONTROLS as readonly string[]).includes(name)
}

export { Bbr, Cubic, NewReno, CONGESTION_CONTROLS, type CongestionControl, type CongestionControlName }
export { initialWindow, INITIAL_SSTHRESH, type AckContext, type CongestionContext } from './types.js'
