// Counters of several stacks added up: `serve --workers` prints one total at exit and
// `tuntcp ss` shows one, whatever fields Counters has (numbers, and records of numbers
// such as drops by reason and states entered).

import { Counters } from '../../stack/counters.js'

/** The sum of Counters.toJSON() snapshots, as a Counters (so .format() prints it). */
export function sumCounters(all: Array<Record<string, unknown>>): Counters {
  const total = new Counters()
  const fields = total as unknown as Record<string, unknown>
  for (const one of all) {
    for (const [key, value] of Object.entries(one)) {
      const have = fields[key]
      if (typeof value === 'number' && typeof have === 'number') {
        fields[key] = have + value
      } else if (value !== null && typeof value === 'object' && have !== null && typeof have === 'object') {
        const record = have as Record<string, number>
        for (const [name, n] of Object.entries(value as Record<string, unknown>)) {
          if (typeof n === 'number') record[name] = (record[name] ?? 0) + n
        }
      }
    }
  }
  return total
}
