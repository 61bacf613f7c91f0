// The kernel's side of a connection, read with `ss -tan` as a user would.

import { execFile } from 'node:child_process'
import type { State } from '../../stack/tcp/state.js'

/** ss spells a few states its own way. */
const SS_NAMES: Record<string, State> = {
  'ESTAB': 'ESTABLISHED', 'SYN-SENT': 'SYN-SENT', 'SYN-RECV': 'SYN-RECEIVED', 'FIN-WAIT-1': 'FIN-WAIT-1',
  'FIN-WAIT-2': 'FIN-WAIT-2', 'TIME-WAIT': 'TIME-WAIT', 'CLOSE-WAIT': 'CLOSE-WAIT', 'LAST-ACK': 'LAST-ACK',
  'LISTEN': 'LISTEN', 'CLOSING': 'CLOSING', 'UNCONN': 'CLOSED', 'CLOSE': 'CLOSED',
}

/** The kernel's state for local -> peer ('A.B.C.D:port' each), CLOSED when ss lists no such socket. */
export function kernelState(local: string, peer: string): Promise<State> {
  return new Promise((resolve, reject) => {
    execFile('ss', ['-tanH'], { timeout: 5000 }, (error, stdout) => {
      if (error) return reject(new Error(`ss failed: ${error.message}`))
      for (const line of stdout.split('\n')) {
        // State Recv-Q Send-Q Local:Port Peer:Port
        const fields = line.trim().split(/\s+/)
        if (fields.length >= 5 && fields[3] === local && fields[4] === peer) {
          return resolve(SS_NAMES[fields[0]!] ?? 'CLOSED')
        }
      }
      resolve('CLOSED')
    })
  })
}
