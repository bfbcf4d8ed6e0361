/**
 * Allocation of tensor storage.
 *
 * Small arrays are carved from shared 1 MiB slabs: allocating a fresh ArrayBuffer per op result
 * costs about a microsecond in V8 (an off-heap, zeroed backing store the garbage collector must
 * track), which dominated small RL training steps; a view onto a slab is a plain object. A slab is
 * freed by the garbage collector once no view into it is alive; memory is never reused inside a
 * slab, so every array starts zeroed.
 *
 * Large arrays get their own buffer, and are recycled: once the garbage collector has collected
 * the array, its buffer goes back to a pool (a FinalizationRegistry, which holds the buffer while
 * the array lives) and the next array of that size reuses it, zero-filled. Why: Chromium's
 * ArrayBuffer allocator (PartitionAlloc) returns freed buffers' pages to the OS
 * (`madvise(MADV_DONTNEED)`), so every fresh buffer faults its pages in again; measured on PPO's
 * `fast` CartPole preset (batch 512 x 64 hidden = 128 KiB activations) this was a third of the
 * page's CPU time (BENCHMARKS.md, "browser"). Node's allocator (glibc) keeps freed memory, so there
 * it saves little, but the same path runs everywhere it can.
 *
 * Safety: a buffer is only recycled after `ArrayBuffer.prototype.transfer()` has moved its memory
 * to a new buffer object, which detaches the old one: any other view still onto it (a `subarray`
 * kept after its tensor was dropped) becomes empty instead of aliasing the next tensor. Runtimes
 * without `transfer` (Node 20) or without FinalizationRegistry do not recycle.
 */
const SLAB_BYTES = 1 << 20;
/** Arrays above this many elements get their own buffer (they would waste slab space). */
const SMALL_LIMIT = 4096;
/** The pool keeps at most this many bytes of free buffers; beyond it, freed buffers go to the GC. */
const POOL_LIMIT_BYTES = 64 << 20;

let slab = new ArrayBuffer(SLAB_BYTES);
let offset = 0;

type Transferable = ArrayBuffer & { transfer(): ArrayBuffer; readonly detached: boolean };

const canRecycle =
  typeof FinalizationRegistry === "function" &&
  typeof (ArrayBuffer.prototype as Partial<Transferable>).transfer === "function";

/** Free buffers by byte length. */
const pool = new Map<number, ArrayBuffer[]>();
let pooledBytes = 0;

/** Move a dead array's memory into the pool (detaching the old buffer object and all its views). */
function pool_(buffer: Transferable): void {
  // a buffer transferred away (postMessage) meanwhile is not ours to reuse
  if (buffer.detached || pooledBytes + buffer.byteLength > POOL_LIMIT_BYTES) return;
  const moved = buffer.transfer();
  let free = pool.get(moved.byteLength);
  if (free === undefined) pool.set(moved.byteLength, (free = []));
  free.push(moved);
  pooledBytes += moved.byteLength;
}

const registry = canRecycle ? new FinalizationRegistry<Transferable>(pool_) : null;

/** Counts of large allocations served from the pool and freshly allocated (tests and benchmarks read them). */
const stats = { recycled: 0, fresh: 0, released: 0 };

/** Whether this runtime recycles large buffers (see the module comment), and how often it did. */
export function storageStats(): {
  recycling: boolean;
  recycled: number;
  fresh: number;
  released: number;
  pooledBytes: number;
} {
  return { recycling: registry !== null, ...stats, pooledBytes };
}

function allocLarge(n: number): Float32Array {
  if (registry === null) return new Float32Array(n);
  const reused = pool.get(n * 4)?.pop();
  let array: Float32Array;
  if (reused === undefined) {
    stats.fresh++;
    array = new Float32Array(n);
  } else {
    stats.recycled++;
    pooledBytes -= reused.byteLength;
    array = new Float32Array(reused).fill(0);
  }
  registry.register(array, array.buffer as Transferable, array);
  return array;
}

/**
 * Give a large array's memory back to the pool now, without waiting for the garbage collector
 * (which, in V8, finalizes only at major collections: measured, about a third of PPO's large
 * arrays were then allocated afresh). For a caller that knows nothing else can read `array`, such
 * as the backward pass with a gradient it made and consumed. The array and any view onto its
 * buffer become empty, so a reference that was missed reads `undefined` instead of another
 * tensor's values. Returns false (and does nothing) for arrays this module did not allocate alone
 * in their buffer, arrays already released, and runtimes that do not recycle.
 */
export function releaseFloat32(array: Float32Array): boolean {
  if (registry === null || !registry.unregister(array)) return false;
  stats.released++;
  pool_(array.buffer as Transferable);
  return true;
}

/** A zero-filled Float32Array of length `n`. */
export function allocFloat32(n: number): Float32Array {
  if (n > SMALL_LIMIT) return allocLarge(n);
  if (n === 0) return new Float32Array(0);
  const bytes = (n * 4 + 15) & ~15; // keep 16-byte alignment for SIMD-friendly copies
  if (offset + bytes > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    offset = 0;
  }
  const view = new Float32Array(slab, offset, n);
  offset += bytes;
  return view;
}
