/**
 * The bodies an OTLP/HTTP server answers with, in the request's encoding (OTLP spec, "OTLP/HTTP
 * Response"): on success an ExportTraceServiceResponse, whose partial_success is set only when
 * spans were rejected; on a bad request a google.rpc.Status.
 *
 *   ExportTraceServiceResponse  1 partial_success (ExportTracePartialSuccess)
 *   ExportTracePartialSuccess   1 rejected_spans (int64)  2 error_message (string)
 *   google.rpc.Status           1 code (int32)  2 message (string)
 */

export type OtlpEncoding = 'json' | 'protobuf'

/** google.rpc.Code INVALID_ARGUMENT */
export const STATUS_INVALID_ARGUMENT = 3

export function exportResponse(encoding: OtlpEncoding, rejected: number, errorMessage: string | undefined): Buffer {
  if (encoding === 'json') {
    const body = rejected > 0 ? { partialSuccess: { rejectedSpans: String(rejected), errorMessage: errorMessage ?? '' } } : {}
    return Buffer.from(JSON.stringify(body))
  }
  if (rejected === 0) return Buffer.alloc(0) // every field at its default: the empty message
  const partial = Buffer.concat([tag(1, 0), varint(BigInt(rejected)), lengthDelimited(2, Buffer.from(errorMessage ?? ''))])
  return lengthDelimited(1, partial)
}

export function statusResponse(encoding: OtlpEncoding, code: number, message: string): Buffer {
  if (encoding === 'json') return Buffer.from(JSON.stringify({ code, message }))
  return Buffer.concat([tag(1, 0), varint(BigInt(code)), lengthDelimited(2, Buffer.from(message))])
}

function tag(field: number, wireType: number): Buffer {
  return varint(BigInt((field << 3) | wireType))
}

function lengthDelimited(field: number, bytes: Buffer): Buffer {
  return Buffer.concat([tag(field, 2), varint(BigInt(bytes.length)), bytes])
}

/** A protobuf base-128 varint (a negative number as its 64-bit two's complement, as protobuf does). */
export function varint(value: bigint): Buffer {
  const out: number[] = []
  let v = BigInt.asUintN(64, value)
  do {
    let byte = Number(v & 0x7fn)
    v >>= 7n
    if (v !== 0n) byte |= 0x80
    out.push(byte)
  } while (v !== 0n)
  return Buffer.from(out)
}
