/**
 * A small seeded pseudo-random generator (mulberry32: a 32-bit counter mixed by multiply-xorshift
 * rounds), so a bootstrap gives the same interval for the same samples on every run and machine.
 * Statistical quality is ample for resampling; it is not for cryptography.
 */
export type Random = () => number

/** Uniform numbers in [0, 1) from a 32-bit seed. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A 32-bit seed from text (FNV-1a), to give every bench its own reproducible stream. */
export function seedFromText(text: string, base = 0): number {
  let hash = (0x811c9dc5 ^ base) >>> 0
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash
}
