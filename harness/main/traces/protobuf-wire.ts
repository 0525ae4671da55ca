/**
 * The protobuf wire format, reading side only: enough to walk a message field by field.
 * A message is a sequence of (tag, value) pairs; the tag is a varint `field_number << 3 | wire_type`:
 *   0 varint, 1 fixed 64-bit (little-endian), 2 length-delimited (bytes, strings, sub-messages),
 *   5 fixed 32-bit. Types 3 and 4 (groups) are obsolete and not accepted.
 * Unknown fields are skipped by their wire type, so newer senders stay readable.
 */

export class ProtobufDecodeError extends Error {
  override name = 'ProtobufDecodeError'
}

export const WIRE_VARINT = 0
export const WIRE_FIXED64 = 1
export const WIRE_LEN = 2
export const WIRE_FIXED32 = 5

export interface Field {
  number: number
  wireType: number
}

export class ProtobufReader {
  readonly bytes: Uint8Array
  private pos: number
  private readonly end: number
  private readonly view: DataView

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.bytes = bytes
    this.pos = start
    this.end = end
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  /** The next field's tag, or undefined at the end of this message. */
  nextField(): Field | undefined {
    if (this.pos >= this.end) return undefined
    const tag = this.varint()
    const number = Number(tag >> 3n)
    const wireType = Number(tag & 7n)
    if (number === 0) throw new ProtobufDecodeError(`field number 0 at byte ${this.pos} (corrupt or not protobuf)`)
    return { number, wireType }
  }

  /** A varint as an unsigned 64-bit BigInt (at most 10 bytes). */
  varint(): bigint {
    let result = 0n
    for (let shift = 0n, i = 0; i < 10; i++, shift += 7n) {
      if (this.pos >= this.end) throw new ProtobufDecodeError('varint runs past the end of the message')
      const byte = this.bytes[this.pos++]!
      result |= BigInt(byte & 0x7f) << shift
      if ((byte & 0x80) === 0) return BigInt.asUintN(64, result)
    }
    throw new ProtobufDecodeError('varint longer than 10 bytes')
  }

  /** A varint that must fit a JavaScript number (lengths, enums, small counts). */
  uint32(): number {
    const v = this.varint()
    if (v > 0xffffffffn) throw new ProtobufDecodeError(`value ${v} does not fit 32 bits`)
    return Number(v)
  }

  /** int64 as two's complement in a varint (negative values take 10 bytes). */
  int64(): bigint {
    return BigInt.asIntN(64, this.varint())
  }

  bool(): boolean {
    return this.varint() !== 0n
  }

  fixed64(): bigint {
    const v = this.view.getBigUint64(this.take(8), true)
    return v
  }

  fixed32(): number {
    return this.view.getUint32(this.take(4), true)
  }

  double(): number {
    return this.view.getFloat64(this.take(8), true)
  }

  /** The bytes of a length-delimited field (a view, not a copy). */
  lengthDelimited(): Uint8Array {
    const length = this.uint32()
    const start = this.take(length)
    return this.bytes.subarray(start, start + length)
  }

  string(): string {
    return textDecoder.decode(this.lengthDelimited())
  }

  /** A reader over an embedded message. */
  message(): ProtobufReader {
    const length = this.uint32()
    const start = this.take(length)
    return new ProtobufReader(this.bytes, start, start + length)
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint()
        return
      case WIRE_FIXED64:
        this.take(8)
        return
      case WIRE_LEN:
        this.take(this.uint32())
        return
      case WIRE_FIXED32:
        this.take(4)
        return
      default:
        throw new ProtobufDecodeError(`wire type ${wireType} at byte ${this.pos} is not supported (groups are obsolete; corrupt body?)`)
    }
  }

  /** Advances by n bytes and returns where they start. */
  private take(n: number): number {
    if (this.pos + n > this.end) throw new ProtobufDecodeError(`field of ${n} bytes at byte ${this.pos} runs past the end of its message (${this.end})`)
    const start = this.pos
    this.pos += n
    return start
  }
}

const textDecoder = new TextDecoder('utf-8', { fatal: false })

/** Throws unless the field has the wire type its schema says. */
export function expectWireType(field: Field, wireType: number, where: string): void {
  if (field.wireType !== wireType) {
    throw new ProtobufDecodeError(`${where} (field ${field.number}) has wire type ${field.wireType}, expected ${wireType}`)
  }
}
