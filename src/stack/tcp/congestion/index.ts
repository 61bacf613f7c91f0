// Choosing a congestion control algorithm by name (StackOptions.tcp.congestionControl,
// Socket#setCongestionControl).

import { Cubic } from './cubic.js'
import { NewReno } from './newreno.js'
import { CONGESTION_CONTROLS, type CongestionControl, type CongestionControlName } from './types.js'

export function createCongestionControl(name: CongestionControlName, mss: number): CongestionControl {
  switch (name) {
    case 'newreno':
      return new NewReno(mss)
    case 'cubic':
      return new Cubic(mss)
    default:
      throw new RangeError(`unknown congestion control '${name as string}' (one of: ${CONGESTION_CONTROLS.join(', ')})`)
  }
}

export function isCongestionControlName(name: unknown): name is CongestionControlName {
  return typeof name === 'string' && (CONGESTION_CONTROLS as readonly string[]).includes(name)
}

export { Cubic, NewReno, CONGESTION_CONTROLS, type CongestionControl, type CongestionControlName }
export { initialWindow, INITIAL_SSTHRESH, type CongestionContext } from './types.js'
