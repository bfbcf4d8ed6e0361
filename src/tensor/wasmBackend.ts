import { ProximalError } from "../errors.js";
import type { AdamStepArgs, Backend, BinaryOp, FusedActivation, ReduceOp, UnaryOp } from "./backend.js";
import { BINARY_OPS, UNARY_OPS } from "./backend.js";
import { CpuBackend, linearActBackwardSteps } from "./cpuBackend.js";
import { WASM_KERNELS_BASE64, WASM_KERNELS_RELAXED_BASE64 } from "./wasmBinary.generated.js";
import type { WasmBuild, WasmBuildChoice } from "./wasmBuild.js";
import {
  chooseWasmBuild,
  relaxedMaddFuses,
  relaxedSimdSupported,
  requestedWasmBuild,
  wasmBuildLabel,
} from "./wasmBuild.js";

/** The exports of src/kernels/index.ts (pointers are byte offsets into `memory`). */
interface KernelExports {
  attention(
    q: number,
    k: number,
    v: number,
    mask: number,
    out: number,
    scores: number,
    batch: number,
    heads: number,
    kvHeads: number,
    queries: number,
    keys: number,
    headDim: number,
    capacity: number,
    causal: number,
  ): void;
  memory: WebAssembly.Memory;
  __heap_base?: WebAssembly.Global;
  matmulBatched(
    a: number,
    b: number,
    c: number,
    batch: number,
    m: number,
    k: number,
    n: number,
    strideA: number,
    strideB: number,
    strideC: number,
    accumulate: number,
    transA: number,
  ): void;
  transpose(x: number, out: number, batch: number, rows: number, cols: number): void;
  linear(x: number, wT: number, bias: number, out: number, m: number, k: number, n: number): void;
  matmulNT(a: number, b: number, bias: number, out: number, m: number, k: number, n: number): void;
  binary(
    op: number,
    a: number,
    b: number,
    out: number,
    outer: number,
    inner: number,
    aOuter: number,
    aInner: number,
    bOuter: number,
    bInner: number,
  ): void;
  unary(op: number, x: number, out: number, n: number): void;
  clamp(x: number, out: number, n: number, lo: number, hi: number): void;
  reduce(op: number, x: number, out: number, outer: number, len: number, inner: number): void;
  softmaxRows(x: number, out: number, rows: number, cols: number, mode: number): void;
  logsumexpRows(x: number, out: number, rows: number, cols: number): void;
  layerNormRows(
    x: number,
    gamma: number,
    beta: number,
    out: number,
    mean: number,
    rstd: number,
    rows: number,
    cols: number,
    eps: number,
  ): void;
  layerNormBackwardRows(
    x: number,
    gamma: number,
    mean: number,
    rstd: number,
    g: number,
    dx: number,
    dgamma: number,
    dbeta: number,
    rows: number,
    cols: number,
  ): void;
  adamStep(
    p: number,
    g: number,
    m: number,
    v: number,
    n: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    decoupled: number,
    biasCorrection1: number,
    biasCorrection2Sqrt: number,
  ): void;
  polyak(dst: number, src: number, n: number, tau: number): void;
}

const BINARY_CODE = new Map<BinaryOp, number>(BINARY_OPS.map((op, i) => [op, i]));
const UNARY_CODE = new Map<UnaryOp, number>(UNARY_OPS.map((op, i) => [op, i]));
/** Linear layers on at most this many rows use the dot-product kernel (measured crossover, 64x64 weights). */
const SMALL_BATCH_ROWS = 16;
const TRANSCENDENTAL = new Set<UnaryOp>([
  "exp",
  "log",
  "tanh",
  "sigmoid",
  "softplus",
  "geluTanh",
  "geluErf",
  "erf",
]);

/**
 * The WebAssembly SIMD backend. Tensors live in JavaScript typed arrays (so the garbage collector
 * owns their lifetime and nothing can leak); each kernel call copies its operands into a scratch
 * arena in wasm memory, runs, and copies the result out. The arena grows to the largest call seen
 * and is reused, so steady-state calls allocate nothing.
 */
export class WasmBackend implements Backend {
  readonly name = "wasm" as const;
  /** Which build of the kernels this is (relaxed SIMD or SIMD128). */
  readonly build: WasmBuild;
  /**
   * Whether the matmul multiply-adds run fused (one rounding): the relaxed-SIMD build on an engine
   * and CPU that fuse `relaxed_madd` ({@link relaxedMaddFuses}); never the SIMD128 build.
   */
  readonly fma: boolean;
  /**
   * Elementwise, reduction and row ops on fewer elements than this run the TypeScript loop instead:
   * below it, copying operands in and out of wasm memory costs more than the arithmetic (measured:
   * a 256-element multiply takes 0.7 µs either way, 1024 elements 1.4 µs in wasm vs 3.8 µs in
   * TypeScript). Transcendental ops use {@link transcendentalCutoff} instead. Matmul always runs in
   * wasm. Tests set both to 0 to exercise every kernel.
   */
  smallOpCutoff = 512;
  /**
   * Cutoff for exp, tanh, log, sigmoid, softplus, GELU and erf, whose SIMD polynomials beat V8's
   * scalar Math functions from a few elements on (256 tanh: 0.9 µs in wasm, 5.3 µs in TypeScript).
   */
  transcendentalCutoff = 32;
  private readonly cpu = new CpuBackend();
  private readonly k: KernelExports;
  private heap: Float32Array;
  private readonly base: number;
  private top: number;

  constructor(exports: KernelExports, build: WasmBuild, fma: boolean) {
    this.k = exports;
    this.build = build;
    this.fma = fma;
    // the module's own static data sits below __heap_base (a few hundred bytes); the arena starts at
    // the first 64 KiB page boundary above it
    const heapBase = exports.__heap_base ? Number(exports.__heap_base.value) : 0;
    this.base = Math.max(65536, (heapBase + 65535) & ~65535);
    this.top = this.base;
    this.heap = new Float32Array(exports.memory.buffer);
  }

  /** Reserve `n` floats in the arena (16-byte aligned) and return their byte offset. */
  private alloc(n: number): number {
    const ptr = this.top;
    this.top += (n * 4 + 15) & ~15 || 16;
    const needed = this.top - this.k.memory.buffer.byteLength;
    if (needed > 0) {
      this.k.memory.grow(Math.ceil(needed / 65536));
      this.heap = new Float32Array(this.k.memory.buffer);
    }
    return ptr;
  }

  private put(x: Float32Array): number {
    const ptr = this.alloc(x.length);
    this.heap.set(x, ptr >> 2);
    return ptr;
  }

  private get(ptr: number, out: Float32Array): void {
    const start = ptr >> 2;
    const n = out.length;
    if (n <= 256) {
      // a subarray view is an allocation; for short results a loop is cheaper
      const heap = this.heap;
      for (let i = 0; i < n; i++) out[i] = heap[start + i];
    } else {
      out.set(this.heap.subarray(start, start + n));
    }
  }

  private reset(): void {
    this.top = this.base;
  }

  matmul(
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
    batch: number,
    m: number,
    k: number,
    n: number,
    transA: boolean,
    transB: boolean,
    strideA: number,
    strideB: number,
    accumulate: boolean,
  ): void {
    this.reset();
    const aBatches = strideA === 0 ? 1 : batch;
    const bBatches = strideB === 0 ? 1 : batch;
    const pa = this.put(a.length === aBatches * m * k ? a : a.subarray(0, aBatches * m * k));
    let pb = this.put(b.length === bBatches * k * n ? b : b.subarray(0, bBatches * k * n));
    // a transposed A is read through strides by the kernel: no copy needed
    if (transB) {
      const t = this.alloc(bBatches * k * n);
      this.k.transpose(pb, t, bBatches, n, k);
      pb = t;
    }
    const pc = accumulate ? this.put(out) : this.alloc(out.length);
    this.k.matmulBatched(
      pa,
      pb,
      pc,
      batch,
      m,
      k,
      n,
      strideA === 0 ? 0 : m * k,
      strideB === 0 ? 0 : k * n,
      m * n,
      accumulate ? 1 : 0,
      transA ? 1 : 0,
    );
    this.get(pc, out);
  }

  linear(
    x: Float32Array,
    w: Float32Array,
    bias: Float32Array | null,
    out: Float32Array,
    m: number,
    k: number,
    n: number,
  ): void {
    this.get(this.linearInArena(x, w, bias, m, k, n), out);
  }

  /**
   * The linear layer and its activation before the result leaves wasm memory: one copy out instead
   * of a copy out, in and out again. The activation runs where `unary` would run it (the kernel, or
   * below the same size cutoffs the TypeScript loop), so the bits are those of `linear` then `unary`.
   */
  linearAct(
    x: Float32Array,
    w: Float32Array,
    bias: Float32Array | null,
    out: Float32Array,
    m: number,
    k: number,
    n: number,
    act: FusedActivation,
  ): void {
    const po = this.linearInArena(x, w, bias, m, k, n);
    if (out.length < (act === "tanh" ? this.transcendentalCutoff : this.smallOpCutoff)) {
      this.get(po, out);
      this.cpu.unary(act, out, out);
      return;
    }
    this.k.unary(UNARY_CODE.get(act)!, po, po, out.length);
    this.get(po, out);
  }

  /** The unfused kernels in order (each copies its operands in and out, as the unfused ops would). */
  linearActBackward(
    x: Float32Array,
    w: Float32Array,
    y: Float32Array,
    g: Float32Array,
    dx: Float32Array | null,
    dw: Float32Array | null,
    db: Float32Array | null,
    m: number,
    k: number,
    n: number,
    act: FusedActivation | null,
  ): void {
    linearActBackwardSteps(this, x, w, y, g, dx, dw, db, m, k, n, act);
  }

  /** x·wᵀ + bias into the arena; returns the result's offset (valid until the next reset). */
  private linearInArena(
    x: Float32Array,
    w: Float32Array,
    bias: Float32Array | null,
    m: number,
    k: number,
    n: number,
  ): number {
    this.reset();
    const px = this.put(x);
    const pw = this.put(w);
    const pb = bias === null ? 0 : this.put(bias);
    const po = this.alloc(m * n);
    if (m <= SMALL_BATCH_ROWS) {
      // few rows (rollouts): dot products against W's rows beat transposing W first
      this.k.matmulNT(px, pw, pb, po, m, k, n);
    } else {
      const pwT = this.alloc(w.length);
      this.k.transpose(pw, pwT, 1, n, k);
      this.k.linear(px, pwT, pb, po, m, k, n);
    }
    return po;
  }

  binary(
    op: BinaryOp,
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
    outer: number,
    inner: number,
    aOuter: number,
    aInner: number,
    bOuter: number,
    bInner: number,
  ): void {
    if (out.length < this.smallOpCutoff) {
      this.cpu.binary(op, a, b, out, outer, inner, aOuter, aInner, bOuter, bInner);
      return;
    }
    this.reset();
    const pa = this.put(a);
    const pb = this.put(b);
    const po = this.alloc(out.length);
    this.k.binary(BINARY_CODE.get(op)!, pa, pb, po, outer, inner, aOuter, aInner, bOuter, bInner);
    this.get(po, out);
  }

  unary(op: UnaryOp, x: Float32Array, out: Float32Array): void {
    if (x.length < (TRANSCENDENTAL.has(op) ? this.transcendentalCutoff : this.smallOpCutoff)) {
      this.cpu.unary(op, x, out);
      return;
    }
    this.reset();
    const px = this.put(x);
    this.k.unary(UNARY_CODE.get(op)!, px, px, x.length);
    this.get(px, out);
  }

  clamp(x: Float32Array, out: Float32Array, lo: number, hi: number): void {
    if (x.length < this.smallOpCutoff) {
      this.cpu.clamp(x, out, lo, hi);
      return;
    }
    this.reset();
    const px = this.put(x);
    this.k.clamp(px, px, x.length, lo, hi);
    this.get(px, out);
  }

  reduce(op: ReduceOp, x: Float32Array, out: Float32Array, outer: number, len: number, inner: number): void {
    if (x.length < this.smallOpCutoff) {
      this.cpu.reduce(op, x, out, outer, len, inner);
      return;
    }
    this.reset();
    const px = this.put(x);
    const po = this.alloc(out.length);
    this.k.reduce(op === "sum" ? 0 : 1, px, po, outer, len, inner);
    this.get(po, out);
  }

  softmaxRows(x: Float32Array, out: Float32Array, rows: number, cols: number, log: boolean): void {
    if (x.length < this.transcendentalCutoff) {
      this.cpu.softmaxRows(x, out, rows, cols, log);
      return;
    }
    this.reset();
    const px = this.put(x);
    const po = this.alloc(out.length);
    this.k.softmaxRows(px, po, rows, cols, log ? 1 : 0);
    this.get(po, out);
  }

  logsumexpRows(x: Float32Array, out: Float32Array, rows: number, cols: number): void {
    if (x.length < this.transcendentalCutoff) {
      this.cpu.logsumexpRows(x, out, rows, cols);
      return;
    }
    this.reset();
    const px = this.put(x);
    const po = this.alloc(out.length);
    this.k.logsumexpRows(px, po, rows, cols);
    this.get(po, out);
  }

  layerNormRows(
    x: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    out: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    rows: number,
    cols: number,
    eps: number,
  ): void {
    this.reset();
    const px = this.put(x);
    const pg = this.put(gamma);
    const pb = this.put(beta);
    const po = this.alloc(out.length);
    const pm = this.alloc(rows);
    const pr = this.alloc(rows);
    this.k.layerNormRows(px, pg, pb, po, pm, pr, rows, cols, eps);
    this.get(po, out);
    this.get(pm, mean);
    this.get(pr, rstd);
  }

  layerNormBackwardRows(
    x: Float32Array,
    gamma: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    g: Float32Array,
    dx: Float32Array,
    dgamma: Float32Array,
    dbeta: Float32Array,
    rows: number,
    cols: number,
  ): void {
    this.reset();
    const px = this.put(x);
    const pgam = this.put(gamma);
    const pm = this.put(mean);
    const pr = this.put(rstd);
    const pg = this.put(g);
    const pdx = this.alloc(dx.length);
    const pdg = this.alloc(cols);
    const pdb = this.alloc(cols);
    this.k.layerNormBackwardRows(px, pgam, pm, pr, pg, pdx, pdg, pdb, rows, cols);
    this.get(pdx, dx);
    this.get(pdg, dgamma);
    this.get(pdb, dbeta);
  }

  adamStep(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, args: AdamStepArgs): void {
    this.adamSteps([p], [g], [m], [v], args);
  }

  /**
   * Every parameter in one kernel call: the step is elementwise with shared hyperparameters, so the
   * tensors are laid end to end in the arena (p's, g's, m's, v's each contiguous) and run as one.
   */
  adamSteps(
    p: Float32Array[],
    g: Float32Array[],
    m: Float32Array[],
    v: Float32Array[],
    args: AdamStepArgs,
  ): void {
    let total = 0;
    for (const a of p) total += a.length;
    if (total < this.smallOpCutoff) {
      this.cpu.adamSteps(p, g, m, v, args);
      return;
    }
    this.reset();
    const pp = this.putAll(p, total);
    const pg = this.putAll(g, total);
    const pm = this.putAll(m, total);
    const pv = this.putAll(v, total);
    this.k.adamStep(
      pp,
      pg,
      pm,
      pv,
      total,
      args.lr,
      args.beta1,
      args.beta2,
      args.eps,
      args.weightDecay,
      args.decoupled ? 1 : 0,
      args.biasCorrection1,
      args.biasCorrection2Sqrt,
    );
    this.getAll(pp, p);
    this.getAll(pm, m);
    this.getAll(pv, v);
  }

  polyakUpdate(target: Float32Array[], source: Float32Array[], tau: number): void {
    let total = 0;
    for (const a of target) total += a.length;
    if (tau === 1 || total < this.smallOpCutoff) {
      this.cpu.polyakUpdate(target, source, tau);
      return;
    }
    this.reset();
    const pd = this.putAll(target, total);
    const ps = this.putAll(
      source.map((s, i) => (s.length === target[i].length ? s : s.subarray(0, target[i].length))),
      total,
    );
    this.k.polyak(pd, ps, total, tau);
    this.getAll(pd, target);
  }

  // A sum of squares and a scaling read each element once: copying the arrays into wasm memory
  // would cost as much as the TypeScript loop, and a vectorised sum would change the summation
  // order (the norm's bits), so both stay with the reference.
  sumOfSquares(x: Float32Array[]): number {
    return this.cpu.sumOfSquares(x);
  }

  scaleInPlace(x: Float32Array[], s: number): void {
    this.cpu.scaleInPlace(x, s);
  }

  attention(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    mask: Float32Array | null,
    out: Float32Array,
    batch: number,
    heads: number,
    kvHeads: number,
    queries: number,
    keys: number,
    headDim: number,
    capacity: number,
    causal: boolean,
  ): void {
    this.reset();
    const pq = this.put(q.length === out.length ? q : q.subarray(0, out.length));
    // only the filled positions of a preallocated cache cross into wasm memory, packed
    const pk = this.putRows(k, batch * kvHeads, keys * headDim, capacity * headDim);
    const pv = this.putRows(v, batch * kvHeads, keys * headDim, capacity * headDim);
    const pm = mask === null ? 0 : this.put(mask.subarray(0, batch * keys));
    const po = this.alloc(out.length);
    const scores = this.alloc(keys);
    this.k.attention(
      pq,
      pk,
      pv,
      pm,
      po,
      scores,
      batch,
      heads,
      kvHeads,
      queries,
      keys,
      headDim,
      keys,
      +causal,
    );
    this.get(po, out);
  }

  /** The first `width` floats of each of `rows` rows `stride` apart, packed into the arena. */
  private putRows(x: Float32Array, rows: number, width: number, stride: number): number {
    if (width === stride) return this.put(x.subarray(0, rows * width));
    const ptr = this.alloc(rows * width);
    const heap = this.heap;
    let at = ptr >> 2;
    for (let r = 0; r < rows; r++, at += width) heap.set(x.subarray(r * stride, r * stride + width), at);
    return ptr;
  }

  /** Copy the arrays end to end (`total` floats in all) into the arena; returns the first's offset. */
  private putAll(xs: Float32Array[], total: number): number {
    const ptr = this.alloc(total);
    let at = ptr >> 2;
    for (const x of xs) {
      this.heap.set(x, at);
      at += x.length;
    }
    return ptr;
  }

  /** Copy consecutive arena floats from `ptr` back into each array in turn. */
  private getAll(ptr: number, outs: Float32Array[]): void {
    let at = ptr;
    for (const out of outs) {
      this.get(at, out);
      at += out.length << 2;
    }
  }
}

/** The outcome of instantiating one build of the kernels: the backend, or why it could not be built. */
type WasmLoad = { backend: WasmBackend; failure?: undefined } | { backend: null; failure: unknown };

const builds = new Map<WasmBuild, WasmLoad>();
/** The build chosen for the wasm backend (PROXIMAL_WASM_RELAXED and the runtime), once per process. */
let chosen: WasmBuildChoice | undefined;

/** Instantiate `build` (once; later calls return the same outcome). */
function loadBuild(build: WasmBuild): WasmLoad {
  const known = builds.get(build);
  if (known !== undefined) return known;
  let load: WasmLoad;
  try {
    if (typeof WebAssembly === "undefined") {
      // e.g. `node --jitless`, or a browser with WebAssembly disabled by policy
      throw new Error("this JavaScript runtime has no WebAssembly");
    }
    const relaxed = build === "relaxed-simd";
    const bytes = decodeBase64(relaxed ? WASM_KERNELS_RELAXED_BASE64 : WASM_KERNELS_BASE64);
    const module = new WebAssembly.Module(bytes);
    const instance = new WebAssembly.Instance(module, { env: { abort: wasmAbort } });
    const exports = instance.exports as unknown as KernelExports;
    load = { backend: new WasmBackend(exports, build, relaxed && relaxedMaddFuses()) };
  } catch (error) {
    load = { backend: null, failure: error };
  }
  builds.set(build, load);
  return load;
}

/**
 * The build the wasm backend runs: PROXIMAL_WASM_RELAXED where set, else relaxed SIMD where the
 * runtime validates it (see chooseWasmBuild). A bad PROXIMAL_WASM_RELAXED throws its ProximalError
 * here, on every call, rather than turning into a quiet fallback.
 */
function chosenBuild(): WasmBuildChoice {
  chosen ??= chooseWasmBuild(requestedWasmBuild(), relaxedSimdSupported());
  return chosen;
}

function loadOnce(): WasmLoad {
  return loadBuild(chosenBuild().build);
}

/**
 * Instantiate the kernels synchronously from the embedded binary (once; later calls return the same
 * backend); null where WebAssembly SIMD is unavailable, with the cause in {@link wasmLoadFailure}.
 * The build is the relaxed-SIMD one where the runtime has relaxed SIMD, else SIMD128
 * (`PROXIMAL_WASM_RELAXED=0` forces SIMD128); {@link wasmBuildInfo} says which.
 */
export function loadWasmBackend(): WasmBackend | null {
  return loadOnce().backend;
}

/**
 * One build of the kernels, whichever the wasm backend runs (benchmarks and tests compare the two);
 * null where this runtime cannot load it (relaxed SIMD on Node 20 without its flag).
 */
export function loadWasmBuild(build: WasmBuild): WasmBackend | null {
  return loadBuild(build).backend;
}

/** The wasm backend's build, whether its multiply-adds are fused, its label and why it was chosen. */
export interface WasmBuildInfo {
  build: WasmBuild;
  fma: boolean;
  /** `"relaxed-simd fma"`, `"simd128"`, ... (wasmBuildLabel). */
  label: string;
  reason: string;
}

/** Which build the wasm backend runs and why; null where the kernels do not load. */
export function wasmBuildInfo(): WasmBuildInfo | null {
  const { backend } = loadOnce();
  if (backend === null) return null;
  return {
    build: backend.build,
    fma: backend.fma,
    label: wasmBuildLabel(backend.build, backend.fma),
    reason: chosenBuild().reason,
  };
}

/** Why the kernels failed to load (the error's message), or undefined when they loaded. */
export function wasmLoadFailure(): string | undefined {
  const { backend, failure } = loadOnce();
  if (backend !== null) return undefined;
  return failure instanceof Error ? failure.message : String(failure);
}

/** Like {@link loadWasmBackend} but throws, naming the cause, when WebAssembly SIMD is unavailable. */
export function requireWasmBackend(): WasmBackend {
  const { backend, failure } = loadOnce();
  if (backend === null) {
    throw new ProximalError(
      "BACKEND_UNAVAILABLE",
      `The wasm backend could not load its WebAssembly SIMD kernels: ${wasmLoadFailure()}. It needs WebAssembly with SIMD (Node >= 16.4, current browsers, not node --jitless). Use the TypeScript backend instead: setBackend("cpu"), or PROXIMAL_BACKEND=cpu.`,
      { cause: failure },
    );
  }
  return backend;
}

function wasmAbort(): never {
  throw new ProximalError(
    "INTERNAL",
    "A WebAssembly kernel aborted. This is a bug in proximal; please report it.",
  );
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  if (typeof Buffer !== "undefined") {
    const buffer = Buffer.from(text, "base64");
    const bytes = new Uint8Array(buffer.length);
    bytes.set(buffer);
    return bytes;
  }
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
