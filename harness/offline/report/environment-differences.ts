import type { EnvironmentDifference } from '../compare/environment-match.ts'

/** `node v22.1.0 → v24.1.0, cpuCount 2 → 4` */
export function environmentDifferencesLine(differences: readonly EnvironmentDifference[]): string {
  return differences.map((d) => `${d.field} ${d.baseline} → ${d.current}`).join(', ')
}
