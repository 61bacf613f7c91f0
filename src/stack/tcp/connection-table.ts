// The connection table: every connection the stack holds, found by its 4-tuple.
// The local address is the stack's own, or in any-destination mode (StackOptions.promiscuous)
// the address the peer meant, so the key is the whole 4-tuple: (local address, remote
// address, local port, remote port).
//
// Three levels of Map: by local address (one entry on an ordinary stack, one per destination
// in any-destination mode), by remote address, then by the two ports packed into one 32-bit
// integer. The ports go in the inner key because they are what varies: a server sees many
// remote ports from each client address, a client uses many local ports towards one server
// address, and either way one inner Map holds them all. Packed with `<<` and `|`, the key is
// a signed 32-bit integer, which V8 keeps as a small integer: no heap number per key and no
// string built per packet. An entry then costs a few words of its Map, which matters when a
// million connections wait in TIME-WAIT (docs/performance.md, memory).

import type { Address } from '../wire/address.js'

/** What the table needs to know about a connection: its 4-tuple. */
export interface FourTuple {
  readonly localAddr: Address
  readonly localPort: number
  readonly remoteAddr: Address
  readonly remotePort: number
}

/** Both ports in one int32: local port in the high 16 bits (negative from 32768 on, which is fine for a key). */
function portsKey(localPort: number, remotePort: number): number {
  return (localPort << 16) | remotePort
}

export class ConnectionTable<C extends FourTuple> {
  private readonly byLocal = new Map<Address, Map<Address, Map<number, C>>>()
  /** Connections held. */
  size = 0

  get(localAddr: Address, localPort: number, remoteAddr: Address, remotePort: number): C | undefined {
    return this.byLocal.get(localAddr)?.get(remoteAddr)?.get(portsKey(localPort, remotePort))
  }

  /** Add a connection, or put it in the place of the one with the same 4-tuple (a TCB entering TIME-WAIT). */
  add(conn: C): void {
    let byRemote = this.byLocal.get(conn.localAddr)
    if (byRemote === undefined) this.byLocal.set(conn.localAddr, (byRemote = new Map()))
    let byPorts = byRemote.get(conn.remoteAddr)
    if (byPorts === undefined) byRemote.set(conn.remoteAddr, (byPorts = new Map()))
    const key = portsKey(conn.localPort, conn.remotePort)
    if (!byPorts.has(key)) this.size++
    byPorts.set(key, conn)
  }

  /** Remove this connection; nothing happens if its 4-tuple now belongs to another one. */
  delete(conn: C): void {
    const byRemote = this.byLocal.get(conn.localAddr)
    const byPorts = byRemote?.get(conn.remoteAddr)
    const key = portsKey(conn.localPort, conn.remotePort)
    if (byPorts?.get(key) !== conn) return
    byPorts.delete(key)
    this.size--
    if (byPorts.size > 0) return
    byRemote!.delete(conn.remoteAddr)
    if (byRemote!.size === 0) this.byLocal.delete(conn.localAddr)
  }

  *[Symbol.iterator](): IterableIterator<C> {
    for (const byRemote of this.byLocal.values()) for (const byPorts of byRemote.values()) yield* byPorts.values()
  }
}
