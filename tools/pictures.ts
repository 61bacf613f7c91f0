// The pictures in docs/teaching.md:
//
//   npx tsx tools/pictures.ts
//       docs/pictures/lossy-transfer.{jsonl,svg}: a download through the simulator (no root,
//       virtual time: the same seed draws the same picture), traced with --trace-json's
//       writer and plotted as `tuntcp plot` does
//   sudo npx tuntcp demo --only client-closes-first --json /tmp/demo.json
//   npx tsx tools/pictures.ts --ladder /tmp/demo.json
//       docs/pictures/four-way-close.svg: the demo's ladder of that run (a real kernel client)

import { readFileSync, writeFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { scenarioLadder } from '../src/bin/demo/html.js'
import type { Outcome } from '../src/bin/demo/scenarios.js'
import { JsonTracer } from '../src/bin/trace-json.js'
import { Simulation } from '../src/testkit/sim/index.js'
import { ladderSvg } from '../src/viz/ladder.js'
import { plotSvg } from '../src/viz/plot.js'
import { parseTrace } from '../src/viz/trace.js'

const OUT = process.env.OUT ?? 'docs/pictures'

/**
 * The JSON trace, at the sender, of a 200 kB download over a 4 Mbit/s path with 20 ms
 * of delay each way and 2% loss, to a receiver with a 96 kB window (so the window
 * line is in the picture).
 */
export async function lossyTransfer(seed = 4): Promise<{ text: string; lost: number }> {
  const sim = new Simulation({ seed, link: { delayMs: 20, bandwidthBps: 4_000_000, loss: 0.02 } })
  const server = sim.addStack('10.0.0.2')
  const client = sim.addStack('10.0.0.1', { tcp: { rcvBufSize: 96 * 1024 } })
  const lines: string[] = []
  const tracer = new JsonTracer(server, line => lines.push(line))
  server.createServer(s => s.end(Buffer.alloc(200_000, 'x'))).listen(19)
  const sock = client.connect({ host: '10.0.0.2', port: 19 })
  sock.resume()
  sock.on('end', () => sock.end())
  await sim.runUntilQuiet()
  tracer.detach()
  // The wall-clock start is no input of the picture: left out, the files change only with the code.
  lines[0] = lines[0]!.replace(/"start":"[^"]*"/, '"start":"1970-01-01T00:00:00.000Z"')
  return { text: lines.join('\n') + '\n', lost: sim.path('10.0.0.2', '10.0.0.1').counters.lost }
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === '--ladder') {
    const demo = JSON.parse(readFileSync(argv[1]!, 'utf8')) as { scenarios: Outcome[] }
    const name = argv[2] ?? 'client-closes-first'
    const outcome = demo.scenarios.find(s => s.name === name)
    if (outcome === undefined) throw new Error(`no scenario ${name} in ${argv[1]}`)
    // Code links relative to docs/pictures/, where the picture lives in the repository.
    writeFileSync(`${OUT}/four-way-close.svg`, ladderSvg(scenarioLadder(outcome, '../../'), name) + '\n')
    console.log(`wrote ${OUT}/four-way-close.svg from ${name} in ${argv[1]}`)
    return
  }
  const seed = Number(process.env.SEED ?? 4)
  const { text, lost } = await lossyTransfer(seed)
  writeFileSync(`${OUT}/lossy-transfer.jsonl`, text)
  writeFileSync(`${OUT}/lossy-transfer.svg`, plotSvg(parseTrace(text)))
  console.log(`seed ${seed}: ${text.split('\n').length - 1} records, ${lost} packets lost on the way to the client; wrote ${OUT}/lossy-transfer.{jsonl,svg}`)
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main(process.argv.slice(2))
