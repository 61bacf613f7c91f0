// How far Linux's packetdrill scripts get on tuntcp: runs each script (unchanged)
// and prints the count passing, then the first failure of every other script,
// grouped by its reason, biggest group first. For issue 12's measurements:
//   npx tsx tools/corpus-report.ts $(sed 's#^#../shared/packetdrill-corpus/#' ../shared/packetdrill-corpus/TRAIN.txt)
// With --by-script, one line per script instead of groups. packetdrill's own flags
// --ip_version=ipv4|ipv6|ipv4-mapped-ipv6 and --mtu=N run every script so, as its
// run_all.py runs each in three variants (IPv6 with --mtu=1520):
//   npx tsx tools/corpus-report.ts --ip_version=ipv6 --mtu=1520 FILE...

import { IP_VERSIONS } from '../src/testkit/script/ast.js'
import { runScriptFile, type RunOptions } from '../src/testkit/script/index.js'

/** A failure message without what varies from script to script (numbers, times, quoted text). */
export function reasonKey(message: string): string {
  return message
    .replace(/`[^`]*`/g, '`...`')
    .split('\n')[0]!
    .replace(/"[^"]*"/g, '"..."')
    .replace(/\b\d+(\.\d+)?( s)?\b/g, 'N')
    .replace(/\(tolerance [^)]*\)/g, '')
    .trim()
}

async function main(argv: string[]): Promise<void> {
  const byScript = argv.includes('--by-script')
  const files = argv.filter(a => !a.startsWith('--'))
  const flag = (name: string) => argv.find(a => a.startsWith(`--${name}=`))?.slice(name.length + 3)
  const options: RunOptions = {}
  const version = flag('ip_version')
  if (version !== undefined) {
    options.ipVersion = IP_VERSIONS.find(v => v === version)
    if (options.ipVersion === undefined) throw new Error(`--ip_version must be ${IP_VERSIONS.join(', ')}, not ${version}`)
  }
  const mtu = flag('mtu')
  if (mtu !== undefined) options.mtu = Number(mtu)
  const groups = new Map<string, string[]>()
  let passed = 0
  for (const file of files) {
    const result = await runScriptFile(file, options)
    const name = file.replace(/^.*gtests\/net\/tcp\//, '')
    if (result.ok) {
      passed++
      if (byScript) console.log(`ok    ${name}`)
      continue
    }
    const f = result.failure!
    if (byScript) console.log(`FAIL  ${name}:${f.line}  ${f.message.split('\n')[0]}`)
    const key = reasonKey(f.message)
    groups.set(key, [...(groups.get(key) ?? []), `${name}:${f.line}`])
  }
  console.log(`${passed} passed, ${files.length - passed} failed`)
  if (byScript) return
  for (const [key, names] of [...groups].sort((a, b) => b[1].length - a[1].length)) {
    console.log(`\n${names.length}  ${key}`)
    for (const n of names) console.log(`     ${n}`)
  }
}

await main(process.argv.slice(2))
