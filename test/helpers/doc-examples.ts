// The runnable examples of the docs: every fenced block whose info string is
// `js example=NAME` (plus `root` when it needs root and a TUN device), so the tests can
// run each one exactly as a reader would copy it.

import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'

export interface DocExample {
  name: string
  /** The doc it is in, relative to the repository. */
  doc: string
  code: string
  root: boolean
}

const root = resolve(import.meta.dirname, '../..')
const FENCE = /^```js example=([\w-]+)( root)?\n([\s\S]*?)^```$/gm

export function docExamples(docs = ['README.md', 'docs/api.md']): DocExample[] {
  const examples: DocExample[] = []
  for (const doc of docs) {
    for (const m of readFileSync(resolve(root, doc), 'utf8').matchAll(FENCE)) {
      examples.push({ name: m[1]!, doc, code: m[3]!, root: m[2] !== undefined })
    }
  }
  return examples
}
