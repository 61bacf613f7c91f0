// Command-line parsing shared by the subcommands: node:util parseArgs, plus the
// checks that turn a bad flag into one clear line and exit status 2.

import { parseArgs, type ParseArgsConfig } from 'node:util'
import { parseCidr } from '../tun/iproute.js'
import { parseAddress } from '../stack/wire/ipv4.js'

/** A mistake on the command line: printed as one line, exit status 2. */
export class UsageError extends Error {}

/** A failure at run time the user can act on: printed as one line, exit status 1. */
export class CommandError extends Error {}

/** The options every subcommand that brings up the stack shares. */
export const DEVICE_OPTIONS = {
  dev: { type: 'string', default: 'tuntcp0' },
  addr: { type: 'string', default: '10.77.0.2' },
  'kernel-addr': { type: 'string' },
  mtu: { type: 'string', default: '1500' },
  msl: { type: 'string', default: '30' },
  trace: { type: 'boolean', default: false },
  'trace-json': { type: 'string' },
  pcap: { type: 'string' },
  'no-offload': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsConfig['options']

export const DEFAULT_KERNEL_ADDR = '10.77.0.1/24'

/** `tuntcp serve` takes the device options and --workers. */
export const SERVE_OPTIONS = {
  ...DEVICE_OPTIONS,
  workers: { type: 'string', default: '1' },
} as const satisfies ParseArgsConfig['options']

/** More threads than this is a typo, not a plan: each one is a whole V8 isolate. */
export const MAX_WORKERS = 64

export interface DeviceArgs {
  dev: string
  addr: string
  /** The kernel side's address; undefined means: set the default only on a device we create. */
  kernelAddr: string | undefined
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

export function deviceArgs(values: Record<string, string | boolean | undefined>): DeviceArgs {
  const addr = values.addr as string
  if (parseAddress(addr) === null) throw new UsageError(`--addr must be an IPv4 address like 10.77.0.2, not ${JSON.stringify(addr)}`)
  const kernelAddr = values['kernel-addr'] as string | undefined
  if (kernelAddr !== undefined) {
    try {
      parseCidr(kernelAddr)
    } catch (error) {
      throw new UsageError(`--kernel-addr must look like 10.77.0.1/24, not ${JSON.stringify(kernelAddr)}`)
    }
  }
  const mtu = integer('mtu', values.mtu as string, 68, 65535)
  if (!Number.isInteger(mtu)) throw new UsageError('--mtu must be a whole number')
  const msl = integer('msl', values.msl as string, 0.001, 3600)
  return {
    dev: values.dev as string,
    addr,
    kernelAddr,
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
