/** Writing a results document: a timestamped file that is never overwritten, plus latest.json. */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { ResultsDocument } from './schema.ts'

export interface WrittenResults {
  /** `<dir>/bench-<timestamp>.json` */
  file: string
  /** `<dir>/latest.json`, a copy of the same document */
  latest: string
}

export function writeResultsFiles(doc: ResultsDocument, dir: string, now: Date = new Date()): WrittenResults {
  mkdirSync(dir, { recursive: true })
  const stamp = now.toISOString().replace(/[:.]/g, '-')
  let file = path.join(dir, `bench-${stamp}.json`)
  for (let i = 2; existsSync(file) && i < 1000; i++) file = path.join(dir, `bench-${stamp}-${i}.json`)
  const text = `${JSON.stringify(doc, null, 2)}\n`
  writeFileSync(file, text, { flag: 'wx' })
  // latest.json is replaced atomically, so a reader never sees half a file.
  const latest = path.join(dir, 'latest.json')
  const partial = `${latest}.${process.pid}.tmp`
  writeFileSync(partial, text)
  renameSync(partial, latest)
  return { file, latest }
}
