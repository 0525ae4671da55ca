/**
 * Artillery plugin `tasker-sketch` (loaded through ARTILLERY_PLUGIN_PATH by the distributed load):
 * when a generator process's run is done, writes its metrics to `config.plugins['tasker-sketch'].out`
 * — per reporting period (Artillery's intermediate reports, every period flushed before `done`),
 * counters as numbers and histograms as the DDSketch protobufs Artillery merges its own workers'
 * metrics with (base64). Periods, not the `done` report: in Artillery 2.0.34 the `done` report's
 * histograms missed some of the values its counters had counted (25 of 30 in a test run). Artillery's JSON report (--output) keeps only the summaries (percentiles),
 * which cannot be merged; the sketches can. Runs in the CLI's main thread only (Artillery also
 * loads plugins in its worker threads, whose partial metrics are not wanted here).
 */
import { writeFileSync } from 'node:fs'
import { isMainThread } from 'node:worker_threads'

/** Artillery 2's metrics format (not the legacy one) for the `done` event. */
export const LEGACY_METRICS_FORMAT = false

interface Sketch {
  toProto(): Uint8Array
}

interface DoneStats {
  counters?: Record<string, number>
  histograms?: Record<string, Sketch>
  firstMetricAt?: number
  lastMetricAt?: number
}

export interface SketchPeriod {
  counters: Record<string, number>
  /** histogram name → DDSketch protobuf, base64 */
  histograms: Record<string, string>
  firstMetricAt?: number
  lastMetricAt?: number
}

export interface SketchFile {
  periods: SketchPeriod[]
}

export class Plugin {
  constructor(script: { config: { plugins?: Record<string, { out?: string }> } }, events: { on(event: 'stats' | 'done', listener: (stats: DoneStats) => void): void }) {
    const out = script.config.plugins?.['tasker-sketch']?.out
    if (!isMainThread || !out) return
    const periods: SketchPeriod[] = []
    events.on('stats', (stats) => {
      periods.push({
        counters: stats.counters ?? {},
        histograms: Object.fromEntries(Object.entries(stats.histograms ?? {}).map(([name, h]) => [name, Buffer.from(h.toProto()).toString('base64')])),
        firstMetricAt: stats.firstMetricAt,
        lastMetricAt: stats.lastMetricAt,
      })
    })
    events.on('done', () => writeFileSync(out, JSON.stringify({ periods } satisfies SketchFile)))
  }

  cleanup(done: () => void): void {
    done()
  }
}
