// A deterministic network simulation: any number of stacks on one in-memory network,
// one virtual clock, one seed. Packets travel along paths (one per direction between
// two hosts) whose models add delay, jitter, loss, duplication, reordering, corruption
// and a bandwidth limit. Everything random comes from the seed, and events at the
// same virtual time run in the order they were scheduled, so a seed replays a run
// exactly. Virtual time jumps from event to event: a 2MSL of 60 s costs no wall time.
//
//   const sim = new Simulation({ seed: 7, link: { delayMs: 5, loss: 0.01 } })
//   const server = sim.addStack('10.0.0.2')
//   const client = sim.addStack('10.0.0.1')
//   server.createServer(s => s.pipe(s)).listen(7)
//   const sock = client.connect({ host: '10.0.0.2', port: 7 })
//   sock.end('hello')
//   await sim.runUntilQuiet()

import { createHash, type Hash } from 'node:crypto'
import { SeededRandom } from '../../stack/random.js'
import { Stack, type StackOptions, type StateChange } from '../../stack/stack.js'
import { VirtualClock } from '../../stack/time/virtual-clock.js'
import { parseAddress } from '../../stack/wire/ipv4.js'
import { fromBytesV6, parseAnyAddress } from '../../stack/wire/address.js'
import type { Link, PacketHandler } from '../../tun/link.js'
import { EventQueue } from './event-queue.js'
import { Path, type LinkModel } from './path.js'
import { describePacket } from './describe.js'

/** Packets delivered at one virtual instant before we call it a livelock. */
const MAX_EVENTS_AT_ONE_INSTANT = 100_000

export interface SimulationOptions {
  /** Every random choice of the run follows from this seed. */
  seed: number
  /** The model of every path not given one with setLink(). Default: a perfect, instant wire. */
  link?: LinkModel
  /** Virtual time at the start, in ms. Default 1000. */
  start?: number
  /** MTU of every host's link. Default 1500. */
  mtu?: number
  /** Keep a readable line per event in `log` (costs memory; the digest is kept either way). */
  record?: boolean
}

/** What a host's stack may be given; address, link, clock and random come from the simulation. */
export type HostOptions = Omit<StackOptions, 'address' | 'link' | 'clock' | 'random'>

/** Thrown when a run does not finish within its limit of virtual time. */
export class SimulationError extends Error {
  constructor(readonly seed: number, message: string) {
    super(`${message} (seed ${seed})`)
    this.name = 'SimulationError'
  }
}

/** The Link each host's stack sees: sending hands the packet to the simulation. */
class SimLink implements Link {
  handler: PacketHandler | null = null
  closed = false
  constructor(private readonly sim: Simulation, readonly address: number, readonly mtu: number) {}
  send(packet: Uint8Array): void {
    if (!this.closed) this.sim.route(this.address, packet)
  }
  onReceive(handler: PacketHandler | null): void {
    this.handler = handler
  }
  close(): void {
    this.closed = true
    this.handler = null
  }
}

interface Host {
  address: number
  stack: Stack
  clock: VirtualClock
  link: SimLink
}

/** Let pending microtasks, nextTicks and immediates run: stream events, application callbacks. */
async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>(resolve => setImmediate(resolve))
}

export class Simulation {
  readonly seed: number
  /** Readable events, when `record` was set: time, what happened, the packet. */
  readonly log: string[] = []
  /** Every state change of every connection of every host, in order. */
  readonly stateChanges: (StateChange & { time: number; host: string })[] = []
  /** Errors the stacks reported as bugs ('internal-error'): a correct run has none. */
  readonly internalErrors: unknown[] = []
  /** Packets sent to an address no host has. */
  unroutable = 0

  private readonly random: SeededRandom
  private readonly defaultModel: LinkModel
  private readonly mtu: number
  private readonly record: boolean
  private readonly hosts = new Map<number, Host>()
  /** Hosts by their IPv6 address (HostOptions.address6), for IPv6 packets; the same Host objects. */
  private readonly hosts6 = new Map<string, Host>()
  private readonly paths = new Map<string, Path>()
  private readonly queue = new EventQueue()
  private readonly digest: Hash = createHash('sha256')
  private current: number
  /** Events run at the current instant: without delays a pair of hosts can talk forever in zero time. */
  private eventsThisInstant = 0

  constructor(opts: SimulationOptions) {
    if (!Number.isSafeInteger(opts.seed)) throw new RangeError(`seed must be an integer, got ${opts.seed}`)
    this.seed = opts.seed
    this.random = new SeededRandom(opts.seed)
    this.defaultModel = opts.link ?? {}
    this.current = opts.start ?? 1000
    this.mtu = opts.mtu ?? 1500
    this.record = opts.record ?? false
  }

  /** Virtual time now, in ms. */
  now(): number {
    return this.current
  }

  /** A new host at `address`, with its own stack on the simulation's clock and seed. */
  addStack(address: string, options: HostOptions = {}): Stack {
    const addr = parseAddress(address)
    if (addr === null) throw new TypeError(`not an IPv4 address: ${address}`)
    if (this.hosts.has(addr)) throw new Error(`simulation: ${address} already has a host`)
    const addr6 = options.address6 === undefined ? null : parseAnyAddress(options.address6)
    if (typeof addr6 === 'string' && this.hosts6.has(addr6)) throw new Error(`simulation: ${addr6} already has a host`)
    const clock = new VirtualClock(this.current)
    const link = new SimLink(this, addr, this.mtu)
    const stack = new Stack({ ...options, address, link, clock, random: new SeededRandom(this.random.nextUint32()) })
    stack.on('internal-error', error => this.internalErrors.push(error))
    stack.on('state', (change: StateChange) => {
      this.stateChanges.push({ ...change, time: this.current, host: address })
      this.note(`${address} ${change.conn.localPort}>${change.conn.remoteAddress}:${change.conn.remotePort} ${change.from} -> ${change.to} (${change.cause})`)
    })
    const host = { address: addr, stack, clock, link }
    this.hosts.set(addr, host)
    // With options.address6 the host takes IPv6 too, over the same paths as its IPv4 (one wire).
    if (stack.address6 !== null) this.hosts6.set(stack.address6, host)
    return stack
  }

  /** Set the model of the path from `from` to `to` (one direction). */
  setLink(from: string, to: string, model: LinkModel): void {
    this.paths.set(pathKey(mustParse(from), mustParse(to)), new Path(model, new SeededRandom(this.random.nextUint32())))
  }

  /** Set the same model both ways between `a` and `b` (each direction draws its own coin flips). */
  setLinks(a: string, b: string, model: LinkModel): void {
    this.setLink(a, b, model)
    this.setLink(b, a, model)
  }

  /** The path from `from` to `to`, with its counters (made with the default model on first use). */
  path(from: string, to: string): Path {
    return this.pathBetween(mustParse(from), mustParse(to))
  }

  /** SHA-256 over every event of the run so far: two runs with one seed must agree. */
  traceDigest(): string {
    return this.digest.copy().digest('hex')
  }

  /** Run events until virtual time `deadline` (absolute ms); the clock ends exactly there. */
  async runUntil(deadline: number): Promise<void> {
    await settle()
    for (;;) {
      const next = this.nextEventTime()
      if (next === undefined || next > deadline) break
      this.step()
      await settle()
    }
    if (deadline > this.current) this.moveClocksTo(deadline)
    await settle()
  }

  /** Run for `ms` of virtual time. */
  runFor(ms: number): Promise<void> {
    return this.runUntil(this.current + ms)
  }

  /**
   * Run until nothing is left to happen: no packet in flight, no timer armed anywhere.
   * Fails with a SimulationError after `limitMs` of virtual time (a connection that
   * never finishes, or a service that talks forever).
   */
  async runUntilQuiet(limitMs = 3_600_000): Promise<void> {
    const end = this.current + limitMs
    await settle()
    for (;;) {
      const next = this.nextEventTime()
      if (next === undefined) return
      if (next > end) throw new SimulationError(this.seed, `not quiet after ${limitMs} ms of virtual time`)
      this.step()
      await settle()
    }
  }

  /** Run until `done()` holds; fails with a SimulationError if it does not within `limitMs` of virtual time. */
  async waitFor(done: () => boolean, limitMs = 600_000): Promise<void> {
    const end = this.current + limitMs
    await settle()
    while (!done()) {
      const next = this.nextEventTime()
      if (next === undefined) throw new SimulationError(this.seed, 'condition not reached: the network went quiet')
      if (next > end) throw new SimulationError(this.seed, `condition not reached within ${limitMs} ms of virtual time`)
      this.step()
      await settle()
    }
  }

  /** Called by a host's link: put the packet on the path to its destination. */
  route(from: number, packet: Uint8Array): void {
    const copy = packet.slice() // the sender may reuse its buffer
    const host = packet.length >= 40 && packet[0]! >> 4 === 6
      ? this.hosts6.get(fromBytesV6(packet.subarray(24, 40)))
      : this.hosts.get(packet.length >= 20 ? readAddress(packet, 16) : -1)
    if (host === undefined || packet.length > this.mtu) {
      this.unroutable++
      this.note(`drop unroutable`, copy)
      return
    }
    const path = this.pathBetween(from, host.address)
    const arrivals = path.send(copy, this.current)
    if (arrivals.length === 0) this.note('lost', copy)
    for (const a of arrivals) {
      this.queue.push(a.at, () => {
        path.counters.delivered++
        this.note(a.corrupted ? 'deliver corrupted' : 'deliver', a.packet)
        if (!host.link.closed) host.link.handler?.(a.packet)
      })
    }
  }

  private pathBetween(from: number, to: number): Path {
    const key = pathKey(from, to)
    let path = this.paths.get(key)
    if (path === undefined) {
      path = new Path(this.defaultModel, new SeededRandom(this.random.nextUint32()))
      this.paths.set(key, path)
    }
    return path
  }

  /** The next thing due: a packet arrival or a timer of some stack. */
  private nextEventTime(): number | undefined {
    let next = this.queue.peekTime()
    for (const h of this.hosts.values()) {
      const w = h.clock.nextWake()
      if (w !== undefined && (next === undefined || w < next)) next = w
    }
    return next
  }

  /** Do the next thing due: timers due before the next packet fire first, then that packet arrives. */
  private step(): void {
    const before = this.current
    const packetAt = this.queue.peekTime()
    let timerAt: number | undefined
    for (const h of this.hosts.values()) {
      const w = h.clock.nextWake()
      if (w !== undefined && (timerAt === undefined || w < timerAt)) timerAt = w
    }
    if (timerAt !== undefined && (packetAt === undefined || timerAt < packetAt)) {
      this.moveClocksTo(Math.max(timerAt, this.current))
      return
    }
    const event = this.queue.pop()!
    this.moveClocksTo(Math.max(event.at, this.current))
    if (this.current !== before) this.eventsThisInstant = 0
    else if (++this.eventsThisInstant > MAX_EVENTS_AT_ONE_INSTANT) {
      throw new SimulationError(this.seed, `more than ${MAX_EVENTS_AT_ONE_INSTANT} packets at ${this.current} ms without time moving: give the links some delay`)
    }
    event.run()
  }

  /** Move every host's clock to `t`, one due wake-up at a time so the stacks' timers interleave in time order. */
  private moveClocksTo(t: number): void {
    for (;;) {
      let next: number | undefined
      for (const h of this.hosts.values()) {
        const w = h.clock.nextWake()
        if (w !== undefined && (next === undefined || w < next)) next = w
      }
      if (next === undefined || next > t) break
      const at = Math.max(next, this.current)
      this.current = at
      for (const h of this.hosts.values()) h.clock.advanceTo(at)
    }
    this.current = t
    for (const h of this.hosts.values()) h.clock.advanceTo(t)
  }

  /** Add one event to the digest (and to the log when recording). */
  private note(what: string, packet?: Uint8Array): void {
    this.digest.update(`${this.current} ${what}\n`)
    if (packet !== undefined) this.digest.update(packet)
    if (this.record) this.log.push(`${this.current.toFixed(3)} ${what}${packet ? ' ' + describePacket(packet) : ''}`)
  }
}

function pathKey(from: number, to: number): string {
  return `${from}>${to}`
}

function readAddress(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0
}

function mustParse(address: string): number {
  const a = parseAddress(address)
  if (a === null) throw new TypeError(`not an IPv4 address: ${address}`)
  return a
}
