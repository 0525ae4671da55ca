/**
 * Merging the generators' metrics the way Artillery merges its own workers' (and its Fargate /
 * Lambda containers'): counters are added, histograms are DDSketches merged bucket by bucket —
 * percentiles are read from the merged sketch, never averaged. The sketch keeps count, sum, min
 * and max exactly and every quantile within 1 % relative error; the sd comes from the Σ latency²
 * counter the processor adds.
 */
import { readFileSync } from 'node:fs'
import type { SketchFile } from '../../bench/load-engine/artillery-plugin-tasker-sketch/index.ts'
import { MIN_SAMPLES_FOR_P99, type LatencySummary } from '../../results/percentiles.ts'

/** The part of @artilleryio/sketches-js's DDSketch used here. */
export interface Sketch {
  count: number
  sum: number
  min: number
  max: number
  getValueAtQuantile(q: number): number
  merge(other: Sketch): void
}

export interface SketchClass {
  fromProto(buffer: Uint8Array): Sketch
}

export interface MergedMetrics {
  counters: Record<string, number>
  histograms: Record<string, Sketch>
  firstMetricAt: number | undefined
  lastMetricAt: number | undefined
  /** how many generators' files were merged */
  generators: number
  /**
   * Σ over generators of completions per second over the generator's own window (first → last
   * metric): generator processes start a little apart, so one window over all would understate it
   */
  achievedThroughput: number
}

export function readSketchFile(file: string): SketchFile {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new Error(`${file}: the generator left no readable metrics (${(err as Error).message}); see its log next to it`)
  }
  const f = parsed as Partial<SketchFile>
  if (typeof f !== 'object' || f === null || !Array.isArray(f.periods)) {
    throw new Error(`${file}: not a tasker-sketch metrics file (expected periods of counters and histograms)`)
  }
  return f as SketchFile
}

export function mergeMetrics(files: readonly SketchFile[], DDSketch: SketchClass): MergedMetrics {
  const merged: MergedMetrics = { counters: {}, histograms: {}, firstMetricAt: undefined, lastMetricAt: undefined, generators: files.length, achievedThroughput: 0 }
  for (const file of files) {
    const gen = { done: 0, first: Infinity, last: -Infinity }
    for (const f of file.periods) {
      gen.done += f.counters['tasker.completed'] ?? 0
      if (f.firstMetricAt) gen.first = Math.min(gen.first, f.firstMetricAt)
      if (f.lastMetricAt) gen.last = Math.max(gen.last, f.lastMetricAt)
      for (const [name, value] of Object.entries(f.counters)) merged.counters[name] = (merged.counters[name] ?? 0) + value
      for (const [name, base64] of Object.entries(f.histograms)) {
        const sketch = DDSketch.fromProto(Buffer.from(base64, 'base64'))
        const into = merged.histograms[name]
        if (into) into.merge(sketch)
        else merged.histograms[name] = sketch
      }
    }
    if (gen.done > 0 && gen.last > gen.first) merged.achievedThroughput += (gen.done * 1000) / Math.max(1, gen.last - gen.first)
    if (gen.first < Infinity) merged.firstMetricAt = Math.min(merged.firstMetricAt ?? Infinity, gen.first)
    if (gen.last > -Infinity) merged.lastMetricAt = Math.max(merged.lastMetricAt ?? -Infinity, gen.last)
  }
  return merged
}

/** The suite's summary of a merged latency sketch; `squares` is Σ x² of the same samples. */
export function summarizeSketch(h: Sketch, squares: number): LatencySummary {
  const n = h.count
  if (!(n > 0)) throw new RangeError('cannot summarize an empty sketch: no task completed')
  const mean = h.sum / n
  const variance = n > 1 ? Math.max(0, (squares - n * mean * mean) / (n - 1)) : 0
  // The sketch's quantiles are bucket midpoints: keep them inside the exact min and max.
  const q = (p: number) => Math.min(h.max, Math.max(h.min, h.getValueAtQuantile(p)))
  return {
    n,
    min: h.min,
    max: h.max,
    mean,
    sd: Math.sqrt(variance),
    p50: q(0.5),
    p75: q(0.75),
    p90: q(0.9),
    p95: q(0.95),
    p99: q(0.99),
    p999: q(0.999),
    p99Meaningful: n >= MIN_SAMPLES_FOR_P99,
  }
}

/**
 * Evenly spaced quantile points of the sketch (min and max included), sorted: the results file's
 * `samples` for significance tests of a later comparison. At most `cap` points, so with more tasks
 * than that `samples.length < n` says they are quantiles (as retained-samples.ts).
 */
export function sketchQuantilePoints(h: Sketch, cap = 1000): number[] {
  const points = Math.max(2, Math.min(cap, h.count))
  const out: number[] = []
  for (let i = 0; i < points; i++) {
    const p = i / (points - 1)
    const v = i === 0 ? h.min : i === points - 1 ? h.max : Math.min(h.max, Math.max(h.min, h.getValueAtQuantile(p)))
    out.push(Math.round(v * 1e6) / 1e6)
  }
  return out.sort((a, b) => a - b)
}
