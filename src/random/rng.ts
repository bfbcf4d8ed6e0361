/**
 * The one seedable random generator of proximal. Every random draw in the library goes through an
 * `Rng` passed in explicitly (never `Math.random`), so the same seed gives the same numbers on every
 * platform: the generator only uses 32-bit integer arithmetic (`Math.imul`, `>>>`), which JavaScript
 * defines exactly.
 *
 * Algorithm: xoshiro128** 1.1 (Blackman & Vigna, https://prng.di.unimi.it/), seeded through
 * SplitMix32 so that nearby seeds give unrelated streams.
 *
 * @example
 * const rng = new Rng(42);
 * rng.uniform();          // a float in [0, 1)
 * rng.normal();           // a standard normal draw
 * rng.permutation(5);     // e.g. Int32Array [3, 0, 4, 1, 2]
 */
export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  /** Second Box-Muller draw kept for the next `normal()` call; part of the state. */
  private spareNormal: number | null = null;

  constructor(seed = 0) {
    this.seed(seed);
  }

  /** Restart the stream from `seed` (any integer; only its low 53 bits matter). */
  seed(seed: number): void {
    if (!Number.isFinite(seed)) throw new RangeError(`Rng seed must be a finite number, got ${seed}.`);
    const lo = Math.floor(seed) >>> 0;
    const hi = Math.floor(seed / 4294967296) >>> 0;
    let x = (lo ^ Math.imul(hi, 0x9e3779b9)) >>> 0;
    const next = (): number => {
      // SplitMix32 (Steele, Lea & Flood 2014, 32-bit variant)
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the all-zero state is a fixed point
    this.spareNormal = null;
  }

  /** A uniform unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A uniform float in `[low, high)` with 53 bits of randomness. */
  uniform(low = 0, high = 1): number {
    const a = this.nextUint32() >>> 5; // 27 bits
    const b = this.nextUint32() >>> 6; // 26 bits
    const u = (a * 67108864 + b) / 9007199254740992;
    return low + (high - low) * u;
  }

  /** A normal draw with the given mean and standard deviation (Box-Muller, both draws used). */
  normal(mean = 0, std = 1): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return mean + std * z;
    }
    let u1 = this.uniform();
    while (u1 === 0) u1 = this.uniform();
    const u2 = this.uniform();
    const radius = Math.sqrt(-2 * Math.log(u1));
    const angle = 2 * Math.PI * u2;
    this.spareNormal = radius * Math.sin(angle);
    return mean + std * radius * Math.cos(angle);
  }

  /** A uniform integer in `[0, n)`, without modulo bias (Lemire's rejection method). */
  integer(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 4294967296) {
      throw new RangeError(`Rng.integer(n) needs an integer 1 <= n <= 2^32, got ${n}.`);
    }
    if (n === 4294967296) return this.nextUint32();
    // remainders as x − ⌊x / n⌋·n: V8 compiles `%` on numbers past 2^31 to a float64 remainder
    // (fmod), which made a 256-element permutation cost 5.6 µs. Exact for 32-bit x and n: x / n is
    // within half an ulp (< 2^-21 / n) of q + r/n, so it never rounds up to q + 1, and q·n is exact
    const threshold = 4294967296 - Math.floor(4294967296 / n) * n;
    for (;;) {
      const x = this.nextUint32();
      if (x >= threshold) return x - Math.floor(x / n) * n;
    }
  }

  /** A uniform integer in `[low, high)`. */
  integers(low: number, high: number): number {
    return low + this.integer(high - low);
  }

  /**
   * An index drawn with probability proportional to `weights` (non-negative, not all zero).
   * Uses one uniform draw and a linear scan, so the draw sequence is the same on every backend.
   */
  categorical(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) {
      const w = weights[i];
      if (!(w >= 0)) throw new RangeError(`Rng.categorical: weight ${i} is ${w}; weights must be >= 0.`);
      total += w;
    }
    if (!(total > 0) || !Number.isFinite(total)) {
      throw new RangeError(`Rng.categorical: weights must have a positive finite sum, got ${total}.`);
    }
    return this.categoricalWithTotal(weights, total);
  }

  /**
   * {@link categorical} for a caller that already holds the weights' sum, added in index order (so
   * the same draw, bit for bit), and knows them to be valid (non-negative, a positive finite sum):
   * it skips the pass that checks and sums them. Token sampling computes the sum with the weights.
   */
  categoricalWithTotal(weights: ArrayLike<number>, total: number): number {
    const target = this.uniform() * total;
    let cumulative = 0;
    let last = 0;
    for (let i = 0; i < weights.length; i++) {
      if (weights[i] > 0) last = i;
      cumulative += weights[i];
      if (target < cumulative) return i;
    }
    return last; // rounding left target just above the sum: take the last index with weight
  }

  /** A uniformly random permutation of `0..n-1` (Fisher-Yates). */
  permutation(n: number): Int32Array {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    this.shuffle(out);
    return out;
  }

  /** Shuffle an array in place (Fisher-Yates). */
  shuffle<T extends { length: number; [i: number]: unknown }>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.integer(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  /** An independent generator seeded from this one (for sub-components such as each vector env). */
  spawn(): Rng {
    const child = new Rng(0);
    child.s0 = this.nextUint32();
    child.s1 = this.nextUint32();
    child.s2 = this.nextUint32();
    child.s3 = this.nextUint32();
    if ((child.s0 | child.s1 | child.s2 | child.s3) === 0) child.s0 = 1;
    return child;
  }

  /** The full state, JSON-serialisable, for checkpoints. */
  getState(): RngState {
    return { s: [this.s0, this.s1, this.s2, this.s3], spareNormal: this.spareNormal };
  }

  /** Restore a state from {@link Rng.getState}. */
  setState(state: RngState): void {
    if (!Array.isArray(state?.s) || state.s.length !== 4 || !state.s.every((v) => Number.isInteger(v))) {
      throw new TypeError("Rng.setState: expected { s: [4 integers], spareNormal } from Rng.getState().");
    }
    [this.s0, this.s1, this.s2, this.s3] = state.s.map((v) => v >>> 0);
    this.spareNormal = state.spareNormal ?? null;
  }

  /** A copy with the same state. */
  clone(): Rng {
    const copy = new Rng(0);
    copy.setState(this.getState());
    return copy;
  }
}

/** Serialisable generator state, see {@link Rng.getState}. */
export interface RngState {
  s: number[];
  spareNormal: number | null;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
