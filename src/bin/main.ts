// The tuntcp command: serve, connect, help. Exit status 0 on success, 1 on a
// failure at run time (one line saying what), 2 on a bad command line.

import { readFileSync } from 'node:fs'
import { TunError } from '../tun/errors.js'
import { CommandError, UsageError } from './args.js'
import { connect, CONNECT_USAGE } from './connect.js'
import { demo, DEMO_USAGE } from './demo.js'
import { script, SCRIPT_USAGE } from './script.js'
import { serve, SERVE_USAGE } from './serve.js'
import { ss, SS_USAGE } from './ss.js'

const USAGE = `usage: tuntcp COMMAND [options]

commands:
  serve                 run the stack on a TUN device: echo 7, discard 9, daytime 13, chargen 19, HTTP 80
  connect HOST PORT     open a connection from the stack to a kernel peer; stdin and stdout, like nc
  ss [--dev NAME]       list the connections of a running serve, like ss -tan -o
  demo                  show the ways a connection closes, both ends' states side by side (root)
  script FILE...        run packetdrill-style scripts against the stack in virtual time
  help [COMMAND]        this text, or a command's options

Needs root (or CAP_NET_ADMIN) for the TUN device. See README.md.`

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  try {
    switch (command) {
      case 'serve':
        return await serve(rest)
      case 'connect':
        return await connect(rest)
      case 'demo':
        return await demo(rest)
      case 'ss':
        return await ss(rest)
      case 'script':
        return await script(rest)
      case 'help':
      case '--help':
      case '-h':
      case undefined:
        console.log(rest[0] === 'serve' ? SERVE_USAGE : rest[0] === 'connect' ? CONNECT_USAGE : rest[0] === 'demo' ? DEMO_USAGE : rest[0] === 'ss' ? SS_USAGE : rest[0] === 'script' ? SCRIPT_USAGE : USAGE)
        return command === undefined ? 2 : 0
      case '--version':
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
