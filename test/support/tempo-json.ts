/**
 * Trace bodies in the form Tempo answers with (and an OTLP/JSON exporter may send): proto3 JSON
 * under `batches`, ids as base64 bytes rather than OTLP/JSON's hex.
 */

/** A span's trace and span ids, given in hex, as proto3 JSON writes bytes: base64. */
export function base64Ids(traceHex: string, spanHex: string): { traceId: string; spanId: string } {
  return { traceId: Buffer.from(traceHex, 'hex').toString('base64'), spanId: Buffer.from(spanHex, 'hex').toString('base64') }
}

/**
 * One service's spans as a Tempo `batches` body; `listKey` names the spans' list: `scopeSpans` now,
 * `instrumentationLibrarySpans` in older OTLP.
 */
export function tempoBatches(service: string, spans: Record<string, unknown>[], listKey: 'scopeSpans' | 'instrumentationLibrarySpans' = 'scopeSpans') {
  return { batches: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] }, [listKey]: [{ spans }] }] }
}
