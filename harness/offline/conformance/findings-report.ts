/**
 * The conformance report's findings, beside the timing table: each function's scaling order and
 * the history series, whether both deployments offer the same candidate tasks, the dominant plan
 * node at the largest scale (and where a plan changed), and the contract probes with their evidence.
 */
import type { Finding } from '../../results/findings.ts'
import { formatScaling, scalingFromResults } from '../../results/scaling.ts'
import type { Side } from './side-by-side.ts'

type Of<K extends Finding['kind']> = Extract<Finding, { kind: K }>
const of = <K extends Finding['kind']>(side: Side, kind: K): Of<K>[] => (side.findings ?? []).filter((f): f is Of<K> => f.kind === kind)

/** Per scale: do the two sides offer the same tasks? undefined where either did not take the set. */
export function candidateComparison(left: Side, right: Side): Map<string, { same: boolean; line: string }> {
  const out = new Map<string, { same: boolean; line: string }>()
  for (const l of of(left, 'candidates')) {
    const r = of(right, 'candidates').find((x) => x.scale === l.scale && x.name === l.name)
    if (!r) continue
    const rs = new Set(r.tasks)
    const common = l.tasks.filter((t) => rs.has(t)).length
    const same = common === l.tasks.length && common === r.tasks.length
    const onlyL = l.tasks.filter((t) => !rs.has(t))
    const onlyR = r.tasks.filter((t) => !new Set(l.tasks).has(t))
    const eg = (xs: string[]) => (xs.length ? ` (e.g. task #${xs.slice(0, 3).join(', #')})` : '')
    out.set(l.scale, {
      same,
      line: same
        ? `@${l.scale}: the same ${common} tasks`
        : `@${l.scale}: different sets: ${left.label} ${l.tasks.length}, ${right.label} ${r.tasks.length}, ${common} in both; only ${left.label}: ${onlyL.length}${eg(onlyL)}; only ${right.label}: ${onlyR.length}${eg(onlyR)}`,
    })
  }
  return out
}

export function findingsReport(left: Side, right: Side): string[] {
  const sides = [left, right]
  const lines: string[] = ['', '### Scaling order (p50 against tasks in the database; flat: exponent < 0.1)', '', `| call | ${left.label} | ${right.label} |`, '|---|---|---|']
  const fits = sides.map((s) => scalingFromResults(s.doc))
  const history = sides.map((s) => of(s, 'scaling').find((f) => f.name.endsWith(' history')))
  for (const name of [...new Set(fits.flatMap((f) => [...f.keys()]))]) {
    lines.push(`| ${name} | ${fits.map((f) => (f.has(name) ? formatScaling(f.get(name)!) : '—')).join(' | ')} |`)
  }
  if (history.some(Boolean)) lines.push(`| ${history.find(Boolean)!.name} (fixed live set, 0 / 10× / 20× complete tasks beside it) | ${history.map((h) => h?.line ?? '—').join(' | ')} |`)

  const candidates = candidateComparison(left, right)
  lines.push('', '### Candidate sets (get_next_ready_tasks asked for every task, same seeded data)', '')
  lines.push(...(candidates.size ? [...candidates.values()].map((c) => `- ${c.line}`) : ['- not compared (taken up to 10K tasks, on seeded data only)']))

  lines.push('', '### Dominant plan node at the largest scale', '', `| function | ${left.label} | ${right.label} |`, '|---|---|---|')
  const plans = sides.map((s) => of(s, 'plan'))
  for (const name of [...new Set(plans.flat().map((p) => p.name))]) {
    const cells = plans.map((ps) => {
      const mine = ps.filter((p) => p.name === name)
      const last = mine.reduce<Of<'plan'> | undefined>((a, p) => (!a || p.tasks > a.tasks ? p : a), undefined)
      if (!last) return '—'
      const changes = mine.filter((p) => p.changedFrom).map((p) => `${p.changedFrom}→${p.scale}`)
      return `@${last.scale}: ${last.dominant}${changes.length ? `; plan changes ${changes.join(', ')}` : '; same plan at every scale'}`
    })
    lines.push(`| ${name} | ${cells.join(' | ')} |`)
  }

  lines.push('', '### Contract probes (checks, not timings; a probe fails the run only when budgeted)', '')
  const probes = sides.map((s) => of(s, 'probe'))
  const names = [...new Set(probes.flat().map((p) => p.name))]
  if (names.length === 0) lines.push('- none ran')
  for (const name of names) {
    lines.push(`- ${name}:`)
    sides.forEach((s, i) => {
      const p = probes[i]!.find((x) => x.name === name)
      lines.push(`  - ${s.label}: ${p ? `**${p.status.toUpperCase()}**: ${p.evidence.join('; ')}` : 'not run'}`)
    })
  }
  return lines
}
