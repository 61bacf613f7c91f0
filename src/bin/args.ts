// Command-line parsing shared by the subcommands: node:util parseArgs, plus the
// checks that turn a bad flag into one clear line and exit status 2.

import { parseArgs, type ParseArgsConfig } from 'node:util'
import { isCidr6, parseCidr, parseCidr6 } from '../tun/iproute.js'
import { parseAddress } from '../stack/wire/ipv4.js'
import { formatAddressV6, parseAddressV6 } from '../stack/wire/ipv6.js'

/** A mistake on the command line: printed as one line, exit status 2. */
export class UsageError extends Error {}

/** A failure at run time the user can act on: printed as one line, exit status 1. */
export class CommandError extends Error {}

/** The options every subcommand that brings up the stack shares. */
export const DEVICE_OPTIONS = {
  dev: { type: 'string', default: 'tuntcp0' },
  addr: { type: 'string', multiple: true },
  'kernel-addr': { type: 'string', multiple: true },
  mtu: { type: 'string', default: '1500' },
  msl: { type: 'string', default: '30' },
  trace: { type: 'boolean', default: false },
  'trace-json': { type: 'string' },
  pcap: { type: 'string' },
  'no-offload': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsConfig['options']

/** Without --addr the stack serves both families at these. */
export const DEFAULT_ADDR = '10.77.0.2'
export const DEFAULT_ADDR6 = 'fd77::2'
export const DEFAULT_KERNEL_ADDR = '10.77.0.1/24'
export const DEFAULT_KERNEL_ADDR6 = 'fd77::1/64'

/** `tuntcp serve` takes the device options and --workers. */
export const SERVE_OPTIONS = {
  ...DEVICE_OPTIONS,
  workers: { type: 'string', default: '1' },
} as const satisfies ParseArgsConfig['options']

/** More threads than this is a typo, not a plan: each one is a whole V8 isolate. */
export const MAX_WORKERS = 64

export interface DeviceArgs {
  dev: string
  /** The stack's IPv4 address. */
  addr: string
  /** The stack's IPv6 address (RFC 5952 text), or undefined: IPv4 only. */
  addr6: string | undefined
  /** The kernel side's IPv4 address; undefined means: set the default only on a device we create. */
  kernelAddr: string | undefined
  /** The kernel side's IPv6 address (X::Y/P), the same way; only with addr6. */
  kernelAddr6: string | undefined
  mtu: number
  mslMs: number
  trace: boolean
  /** --trace-json FILE: the trace as JSON lines (docs/trace-json.md). */
  traceJson: string | undefined
  pcap: string | undefined
  /** Checksum and segmentation offload on the TUN device (off with --no-offload). */
  offload: boolean
  help: boolean
}

export function parse<O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O, allowPositionals: boolean) {
  try {
    return parseArgs({ args: joinNegativeValues(argv, options), options, allowPositionals, strict: true })
  } catch (error) {
    const message = (error as Error).message
    // "--msl -x": parseArgs cannot tell a value from a flag and explains in three lines; say it in one.
    const ambiguous = /^Option '([^']+)' argument is ambiguous/.exec(message)
    if (ambiguous) throw new UsageError(`${ambiguous[1]} needs a value; to give one starting with '-', write ${ambiguous[1]}=-VALUE`)
    // parseArgs explains itself ("Unknown option '--foo'. To specify..."); keep its first sentence.
    throw new UsageError(message.split(/\.\s/)[0]!.trim())
  }
}

/**
 * `--msl -1` means the value -1, which parseArgs would refuse as ambiguous (it could be a
 * flag): join it as `--msl=-1`, so the range check says what is wrong with it.
 */
function joinNegativeValues(argv: string[], options: NonNullable<ParseArgsConfig['options']>): string[] {
  const valueFlag = (arg: string) => {
    const name = arg.startsWith('--') ? arg.slice(2) : Object.keys(options).find(k => arg === `-${options[k]!.short}`)
    return name !== undefined && Object.hasOwn(options, name) && options[name]!.type === 'string' ? name : undefined
  }
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const next = argv[i + 1]
    if (arg === '--') return out.concat(argv.slice(i))
    const name = next !== undefined && /^-\.?\d/.test(next) ? valueFlag(arg) : undefined
    if (name !== undefined) {
      out.push(`--${name}=${next}`)
      i++
    } else {
      out.push(arg)
    }
  }
  return out
}

function integer(name: string, text: string, min: number, max: number): number {
  const n = Number(text)
  if (!/^\d+(\.\d+)?$/.test(text) || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be a number from ${min} to ${max}, not ${JSON.stringify(text)}`)
  }
  return n
}

/** A flag given once (a string), repeatably (a list), or not at all, as a list. */
function list(v: string | boolean | string[] | undefined): string[] {
  return v === undefined || typeof v === 'boolean' ? [] : typeof v === 'string' ? [v] : v
}

/** The stack's addresses without --addr: serve's (10.77.0.2, fd77::2), or a subcommand's own. */
export interface DefaultAddresses {
  addr: string
  addr6: string
}

/**
 * --addr, repeatable: one IPv4 address (required) and at most one IPv6 address. Without
 * --addr: both defaults, 10.77.0.2 and fd77::2 (or the subcommand's).
 */
function stackAddresses(given: string[], defaults: DefaultAddresses): { addr: string; addr6: string | undefined } {
  if (given.length === 0) return { ...defaults }
  let addr: string | undefined
  let addr6: string | undefined
  for (const a of given) {
    if (parseAddress(a) !== null) {
      if (addr !== undefined) throw new UsageError(`--addr given two IPv4 addresses (${addr}, ${a}): the stack has one of each family`)
      addr = a
      continue
    }
    const bytes = parseAddressV6(a)
    if (bytes === null) throw new UsageError(`--addr must be an IPv4 address like 10.77.0.2 or an IPv6 one like fd77::2, not ${JSON.stringify(a)}`)
    if (addr6 !== undefined) throw new UsageError(`--addr given two IPv6 addresses (${addr6}, ${a}): the stack has one of each family`)
    addr6 = formatAddressV6(bytes)
  }
  if (addr === undefined) throw new UsageError(`--addr needs an IPv4 address too (like ${defaults.addr}): the stack always has one`)
  return { addr, addr6 }
}

/** --kernel-addr, repeatable: at most one of each family, and IPv6 only for a stack with IPv6. */
function kernelAddresses(given: string[], addr6: string | undefined): { kernelAddr: string | undefined; kernelAddr6: string | undefined } {
  let kernelAddr: string | undefined
  let kernelAddr6: string | undefined
  for (const c of given) {
    const v6 = isCidr6(c)
    try {
      if (v6) parseCidr6(c)
      else parseCidr(c)
    } catch {
      throw new UsageError(`--kernel-addr must look like 10.77.0.1/24 or fd77::1/64, not ${JSON.stringify(c)}`)
    }
    if (v6 && addr6 === undefined) throw new UsageError(`--kernel-addr ${c} is IPv6, but the stack has no IPv6 address: give one with --addr`)
    if ((v6 ? kernelAddr6 : kernelAddr) !== undefined) throw new UsageError(`--kernel-addr given two ${v6 ? 'IPv6' : 'IPv4'} addresses: the kernel side has one of each family`)
    if (v6) kernelAddr6 = c
    else kernelAddr = c
  }
  return { kernelAddr, kernelAddr6 }
}

export function deviceArgs(values: Record<string, string | boolean | string[] | undefined>,
  defaults: DefaultAddresses = { addr: DEFAULT_ADDR, addr6: DEFAULT_ADDR6 }): DeviceArgs {
  const { addr, addr6 } = stackAddresses(list(values.addr), defaults)
  const { kernelAddr, kernelAddr6 } = kernelAddresses(list(values['kernel-addr']), addr6)
  const mtu = integer('mtu', values.mtu as string, 68, 65535)
  if (!Number.isInteger(mtu)) throw new UsageError('--mtu must be a whole number')
  // RFC 8200 5: IPv6 needs links of 1280 bytes; Linux turns IPv6 off on a device below that.
  if (addr6 !== undefined && mtu < 1280) throw new UsageError(`--mtu ${mtu} is below 1280, too small for IPv6 (RFC 8200 5): raise it, or give --addr with an IPv4 address only`)
  const msl = integer('msl', values.msl as string, 0.001, 3600)
  return {
    dev: values.dev as string,
    addr,
    addr6,
    kernelAddr,
    kernelAddr6,
    mtu,
    mslMs: Math.round(msl * 1000),
    trace: values.trace === true,
    traceJson: values['trace-json'] as string | undefined,
    pcap: values.pcap as string | undefined,
    offload: values['no-offload'] !== true,
    help: values.help === true,
  }
}

/**
 * --workers N: how many threads serve, each with its own queue of a multi-queue TUN
 * device and its own Stack. 1 (the default) is the plain single-queue device, no threads.
 */
export function workers(text: string): number {
  const n = Number(text)
  if (!/^\d+$/.test(text) || n < 1 || n > MAX_WORKERS) {
    throw new UsageError(`--workers must be a whole number from 1 to ${MAX_WORKERS}, not ${JSON.stringify(text)}`)
  }
  return n
}

/** A TCP port given on the command line. */
export function port(text: string | undefined): number {
  if (text === undefined) throw new UsageError('missing PORT')
  const n = Number(text)
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) throw new UsageError(`PORT must be from 1 to 65535, not ${JSON.stringify(text)}`)
  return n
}
