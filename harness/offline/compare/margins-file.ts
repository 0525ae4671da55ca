/**
 * Writing calibrated margins into the margins file (margins.ts has the format). Benches that were
 * not calibrated keep their entries, and comments a person wrote stay where they were: the file is
 * edited through the YAML document model, not rewritten.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { Document, isMap, parseDocument } from 'yaml'
import { ConfigError } from '../../config/settings.ts'
import type { BenchProposal } from './calibrate.ts'
import { parseMarginsFile } from './margins.ts'

const HEADER = [
  ' Regression margins for baseline comparisons (harness/offline/compare/margins.ts describes the format).',
  ' A metric counts as regressed only when it is worse by more than `relative` (a fraction: 0.10 = 10 %)',
  ' AND by more than `absoluteMs`, AND the difference is statistically significant.',
  ' Proposed by scripts/bench-calibrate.ts from the spread between repeated runs; edit freely.',
].join('\n')

/** Set each proposal's margins in `file` (created when missing); `note` heads each bench's entry. */
export function writeMarginsFile(file: string, proposals: readonly BenchProposal[], note: string): void {
  let doc: Document
  if (existsSync(file)) {
    const text = readFileSync(file, 'utf8')
    parseMarginsFile(text, file) // never build on a file that is already invalid
    doc = parseDocument(text)
  } else {
    doc = new Document({})
    doc.commentBefore = HEADER
  }
  if (doc.contents === null) doc.contents = doc.createNode({})
  if (!isMap(doc.contents)) throw new ConfigError(`${file}: expected a mapping at the top level`)

  for (const p of proposals) {
    const margins = doc.createNode(Object.fromEntries(p.metrics.map((m) => [m.metric, { relative: m.margin.relative, absoluteMs: m.margin.absoluteMs }])))
    for (const pair of margins.items) if (isMap(pair.value)) pair.value.flow = true // `p50: { relative: …, absoluteMs: … }`
    // on the bench's own value, so re-calibrating replaces the note together with the numbers
    margins.commentBefore = ` ${note}; spread ${p.metrics.map((m) => `${m.metric} ${(m.spreadRelative * 100).toFixed(1)} %`).join(', ')} over ${p.runs} runs`
    doc.setIn(['benches', p.file, p.bench], margins)
  }
  mkdirSync(path.dirname(file), { recursive: true })
  const partial = `${file}.${process.pid}.tmp`
  writeFileSync(partial, doc.toString({ lineWidth: 0 }))
  renameSync(partial, file)
}
