// The pictures in a real browser (Debian's chromium, headless): a plot of a lossy
// simulated transfer and the demo's page (from recorded rows: the page is pure, the
// demo itself needs root and is run in test/kernel/demo.test.ts) load without console
// errors, fetch nothing, and draw something. Without chromium the test is skipped with
// the reason, except under CI, where it fails.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { demoPage } from '../../src/bin/demo/html'
import { plotHtml, plotSvg } from '../../src/viz/plot'
import { parseTrace } from '../../src/viz/trace'
import { lossyTransfer } from '../../tools/pictures'
import { chromiumPath, inkShare, loadInChromium } from '../helpers/browser'
import { FOUR_WAY_CLOSE } from './fixtures'

const chromium = chromiumPath()
if (chromium === null && !process.env.CI) console.log('browser tests skipped: chromium is not installed (apt-get install chromium)')

const dir = mkdtempSync(join(tmpdir(), 'tuntcp-viz-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Write `content` to `name`, load it, and check what every page of ours must do. */
async function loads(name: string, content: string, width: number) {
  if (chromium === null) throw new Error('chromium is not installed: CI must have it (.ci/run installs it)')
  const file = join(dir, name)
  writeFileSync(file, content)
  const page = await loadInChromium(file, width, 600)
  expect(page.errors).toEqual([])
  expect(page.requests).toEqual([]) // self-contained: nothing fetched
  return inkShare(page.png, [0x1f, 0x5f, 0xbf]) // the blue of data segments and arrows
}

describe.skipIf(chromium === null && !process.env.CI)('in headless chromium', () => {
  it('shows the plot of a lossy transfer, as HTML and as SVG', async () => {
    const trace = parseTrace((await lossyTransfer()).text)
    for (const [name, content] of [['lossy.html', plotHtml(trace)], ['lossy.svg', plotSvg(trace)]] as const) {
      const { ink, colour } = await loads(name, content, 800)
      expect(ink, name).toBeGreaterThan(0.02) // not a blank page
      expect(colour, name).toBeGreaterThan(0.001) // the segments are drawn
    }
  }, 60_000)

  it('shows the demo page with its ladders', async () => {
    const { ink, colour } = await loads('demo.html', demoPage([FOUR_WAY_CLOSE], 'recorded'), 1000)
    expect(ink).toBeGreaterThan(0.02)
    expect(colour).toBeGreaterThan(0.0005)
  }, 60_000)
})
