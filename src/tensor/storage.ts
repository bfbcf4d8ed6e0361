/**
 * Allocation of tensor storage.
 *
 * Small arrays are carved from shared 1 MiB slabs: allocating a fresh ArrayBuffer per op result
 * costs about a microsecond in V8 (an off-heap, zeroed backing store the garbage collector must
 * track), which dominated small RL training steps; a view onto a slab is a plain object. A slab is
 * freed by the garbage collector once no view into it is alive; memory is never reused inside a
 * slab, so every array starts zeroed.
 *
 * Large arrays get their own buffer, and their memory is reused through a pool of free buffers
 * (by byte length; reused buffers are zero-filled), filled two ways:
 * - **Released:** the backward pass hands back each large gradient it made and consumed
 *   (`releaseFloat32`), at once. Everywhere.
 * - **Collected:** in browsers, a FinalizationRegistry (which holds the buffer while its array
 *   lives) hands back the buffer of every large array the garbage collector collected. Why:
 *   Chromium's ArrayBuffer allocator (PartitionAlloc) returns freed buffers' pages to the OS
 *   (`madvise(MADV_DONTNEED)`), so every fresh buffer faults its pages in again; on PPO's `fast`
 *   CartPole preset (batch 512 x 64 hidden = 128 KiB activations) that was a third of the page's
 *   CPU time (BENCHMARKS.md, "browser"). Not on Node: its allocator (glibc) keeps freed memory, and
 *   keeping each buffer through one more collection raised peak RSS (measured: 150 MB to 230 MB on
 *   `train ppo --env CartPole-v1`).
 *
 * Safety: a buffer enters the pool only after its memory has moved to a new buffer object
 * (`ArrayBuffer.prototype.transfer()`, or on Node 20, which lacks it, `structuredClone` with the
 * buffer in its transfer list: both move the memory without copying). That detaches the old
 * buffer: any other view still onto it (a `subarray` kept after its tensor was dropped) becomes
 * empty instead of aliasing the next tensor. A runtime with neither does not pool.
 */
const SLAB_BYTES = 1 << 20;
/** Arrays above this many elements get their own buffer (they would waste slab space). */
const SMALL_LIMIT = 4096;
/** The pool keeps at most this many bytes of free buffers; beyond it, freed buffers go to the GC. */
const POOL_LIMIT_BYTES = 64 << 20;

let slab = new ArrayBuffer(SLAB_BYTES);
let offset = 0;

type Movable = ArrayBuffer & { transfer?(): ArrayBuffer; readonly detached?: boolean };

/** Move a buffer's memory to a new ArrayBuffer, detaching the old one (null: not possible here). */
const moveBuffer: ((buffer: Movable) => ArrayBuffer) | null =
  typeof (ArrayBuffer.prototype as Movable).transfer === "function"
    ? (buffer) => (buffer.transfer as () => ArrayBuffer).call(buffer)
    : typeof structuredClone === "function"
      ? (buffer) => structuredClone(buffer, { transfer: [buffer] })
      : null;

/** Free buffers by byte length. */
const pool = new Map<number, ArrayBuffer[]>();
let pooledBytes = 0;
/** Large arrays allocated here, alone in their buffer, and not yet released. */
const managed = new WeakSet<Float32Array>();

/** Move a dead array's memory into the pool (detaching the old buffer object and all its views). */
function addToPool(buffer: Movable): void {
  // a buffer transferred away (postMessage) meanwhile is not ours to reuse
  // (Node 20 has no `detached`; a detached buffer's length is 0, and ours are never empty)
  if (moveBuffer === null || buffer.detached === true || buffer.byteLength === 0) return;
  if (pooledBytes + buffer.byteLength > POOL_LIMIT_BYTES) return;
  const moved = moveBuffer(buffer);
  let free = pool.get(moved.byteLength);
  if (free === undefined) pool.set(moved.byteLength, (free = []));
  free.push(moved);
  pooledBytes += moved.byteLength;
}

const isNode = typeof process !== "undefined" && typeof process.versions?.node === "string";
const registry =
  typeof FinalizationRegistry === "function" && moveBuffer !== null
    ? new FinalizationRegistry<Movable>(addToPool)
    : null;
/** Whether collected arrays' buffers are pooled (browsers; see the module comment). */
let poolCollected = !isNode && registry !== null;

/**
 * Pool the buffers of collected large arrays (on in browsers, off on Node). Tests turn it on to
 * exercise the browser's path in Node; returns the previous setting.
 */
export function setPoolCollected(enabled: boolean): boolean {
  const previous = poolCollected;
  poolCollected = enabled && registry !== null;
  return previous;
}

/** Counts of large allocations served from the pool and freshly allocated (tests and benchmarks read them). */
const stats = { recycled: 0, fresh: 0, released: 0 };

/** Whether this runtime pools large buffers (see the module comment), and how often it did. */
export function storageStats(): {
  pooling: boolean;
  poolCollected: boolean;
  recycled: number;
  fresh: number;
  released: number;
  pooledBytes: number;
} {
  return { pooling: moveBuffer !== null, poolCollected, ...stats, pooledBytes };
}

function allocLarge(n: number, zeroed: boolean): Float32Array {
  if (moveBuffer === null) return new Float32Array(n);
  const reused = pool.get(n * 4)?.pop();
  let array: Float32Array;
  if (reused === undefined) {
    stats.fresh++;
    array = new Float32Array(n);
  } else {
    stats.recycled++;
    pooledBytes -= reused.byteLength;
    array = new Float32Array(reused);
    if (zeroed) array.fill(0);
  }
  managed.add(array);
  if (poolCollected) registry?.register(array, array.buffer as Movable, array);
  scoped?.push(array);
  return array;
}

/** Large arrays allocated inside the innermost `withScopedStorage` call (null: outside any). */
let scoped: Float32Array[] | null = null;

/**
 * Run `fn`, then give every large array allocated during it back to the pool (`releaseFloat32`),
 * without waiting for the garbage collector. For a training step whose intermediate tensors
 * (activations, gradients, losses) all die with it: on Node, where only the backward pass's own
 * gradients were pooled, a SAC gradient step otherwise makes ~18 fresh 256 KiB buffers for the
 * collector to find. `fn` must let no such array escape (a result, a field, a parameter's `.grad`:
 * call `zeroGrad()` inside): a released array becomes empty, so a missed reference reads
 * `undefined` (and tests catch it) instead of another tensor's values. Arrays made with
 * `new Float32Array` (optimizer state, replay storage) are never released. Scopes nest.
 */
export function withScopedStorage(fn: () => void): void {
  const outer = scoped;
  const mine: Float32Array[] = [];
  scoped = mine;
  try {
    fn();
  } finally {
    scoped = outer;
    for (const array of mine) releaseFloat32(array);
  }
}

/**
 * Give a large array's memory back to the pool now, without waiting for the garbage collector.
 * For a caller that knows nothing else can read `array`, such as the backward pass with a gradient
 * it made and consumed. The array and any view onto its buffer become empty, so a reference that
 * was missed reads `undefined` instead of another tensor's values. Returns false (and does
 * nothing) for arrays this module did not allocate alone in their buffer and arrays already
 * released.
 */
export function releaseFloat32(array: Float32Array): boolean {
  if (!managed.has(array)) return false;
  managed.delete(array);
  registry?.unregister(array);
  stats.released++;
  addToPool(array.buffer as Movable);
  return true;
}

/** A zero-filled Float32Array of length `n`. */
export function allocFloat32(n: number): Float32Array {
  if (n > SMALL_LIMIT) return allocLarge(n, true);
  return allocSmall(n);
}

/**
 * A Float32Array of length `n` whose values are unspecified (a reused buffer keeps what it held):
 * for a kernel's output that the kernel writes in full, which need not be zero-filled first.
 */
export function allocFloat32ForOverwrite(n: number): Float32Array {
  if (n > SMALL_LIMIT) return allocLarge(n, false);
  return allocSmall(n);
}

function allocSmall(n: number): Float32Array {
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
