// The tuntcp command: serve, connect, forward, ss, demo, script, plot, help. Exit status 0 on
// success, 1 on a failure at run time (one line saying what), 2 on a bad command line.

import { readFileSync } from 'node:fs'
import { TunError } from '../tun/errors.js'
import { CommandError, UsageError } from './args.js'
import { connect, CONNECT_USAGE } from './connect.js'
import { demo, DEMO_USAGE } from './demo.js'
import { forward, FORWARD_USAGE } from './forward.js'
import { plot, PLOT_USAGE } from './plot.js'
import { script, SCRIPT_USAGE } from './script.js'
import { serve, SERVE_USAGE } from './serve.js'
import { ss, SS_USAGE } from './ss.js'

const USAGE = `usage: tuntcp COMMAND [options]

commands:
  serve                 run the stack on a TUN device: echo 7, discard 9, daytime 13, chargen 19, HTTP 80
  connect HOST PORT     open a connection from the stack to a kernel peer; stdin and stdout, like nc
  forward --netns NAME  carry a network namespace's TCP, UDP and ping to any address, like slirp4netns (root)
  ss [--dev NAME]       list the connections of a running serve, like ss -tan -o
  demo                  show the ways a connection closes, both ends' states side by side (root)
  script FILE...        run packetdrill-style scripts against the stack in virtual time
  plot TRACE -o OUT     draw a --trace-json file: time-sequence and cwnd graphs (.svg or .html)
  help [COMMAND]        this text, or a command's options (also -h, --help)
  -V, --version         print the version

Needs root (or CAP_NET_ADMIN) for the TUN device. See README.md.`

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

const COMMAND_USAGE: Record<string, string> = {
  serve: SERVE_USAGE, connect: CONNECT_USAGE, forward: FORWARD_USAGE, ss: SS_USAGE, demo: DEMO_USAGE, script: SCRIPT_USAGE, plot: PLOT_USAGE,
}

/** `tuntcp help [COMMAND]`: asked for, so on stdout with status 0; an unknown COMMAND is a usage error. */
function help(command: string | undefined): number {
  if (command === undefined) {
    console.log(USAGE)
    return 0
  }
  if (!Object.hasOwn(COMMAND_USAGE, command)) {
    throw new UsageError(`no command ${JSON.stringify(command)} to help with; the commands: ${Object.keys(COMMAND_USAGE).join(', ')}`)
  }
  console.log(COMMAND_USAGE[command])
  return 0
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  try {
    switch (command) {
      case 'serve':
        return await serve(rest)
      case 'connect':
        return await connect(rest)
      case 'forward':
        return await forward(rest)
      case 'demo':
        return await demo(rest)
      case 'ss':
        return await ss(rest)
      case 'script':
        return await script(rest)
      case 'plot':
        return await plot(rest)
      case 'help':
      case '--help':
      case '-h':
        return help(rest[0])
      case undefined:
        // No command is a usage error: the usage goes where errors go, as for any other mistake.
        console.error(USAGE)
        return 2
      case '--version':
      case '-V':
        console.log(version())
        return 0
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)} (try: tuntcp help)`)
    }
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`tuntcp: ${error.message}`)
      return 2
    }
    if (error instanceof CommandError) {
      console.error(`tuntcp: ${error.message}`)
      return 1
    }
    if (error instanceof TunError) {
      console.error(error.message.startsWith('tuntcp:') ? error.message : `tuntcp: ${error.message}`)
      return 1
    }
    throw error
  }
}
