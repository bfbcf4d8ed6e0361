import { ProximalError } from "../errors.js";
import type {
  AdamStepArgs,
  Backend,
  BinaryOp,
  FusedActivation,
  PackedWeight,
  ReduceOp,
  UnaryOp,
} from "./backend.js";
import { BINARY_OPS, UNARY_OPS } from "./backend.js";
import { allocFloat32ForOverwrite } from "./storage.js";

/**
 * The exports of the N-API addon (native/addon.cc), built by scripts/buildNative.mjs into
 * build/native/proximal.node. Booleans travel as 0/1: a number is the cheapest N-API argument.
 */
interface NativeAddon {
  matmul(
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
    batch: number,
    m: number,
    k: number,
    n: number,
    transA: number,
    transB: number,
    strideA: number,
    strideB: number,
    accumulate: number,
  ): void;
  linear(
    x: Float32Array,
    w: Float32Array,
    bias: Float32Array | null,
    out: Float32Array,
    m: number,
    k: number,
    n: number,
  ): void;
  linearAct(
    x: Float32Array,
    w: Float32Array,
    bias: Float32Array | null,
    out: Float32Array,
    m: number,
    k: number,
    n: number,
    act: number,
  ): void;
  packedLinearSize(k: number, n: number): number;
  packLinear(w: Float32Array, dst: Float32Array, k: number, n: number): void;
  linearPacked(
    x: Float32Array,
    w: Float32Array,
    packed: Float32Array,
    nr: number,
    bias: Float32Array | null,
    out: Float32Array,
    m: number,
    k: number,
    n: number,
    act: number,
  ): void;
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
    act: number,
  ): void;
  binary(
    op: number,
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
    outer: number,
    inner: number,
    aOuter: number,
    aInner: number,
    bOuter: number,
    bInner: number,
  ): void;
  unary(op: number, x: Float32Array, out: Float32Array): void;
  clamp(x: Float32Array, out: Float32Array, lo: number, hi: number): void;
  reduce(op: number, x: Float32Array, out: Float32Array, outer: number, len: number, inner: number): void;
  softmaxRows(x: Float32Array, out: Float32Array, rows: number, cols: number, log: number): void;
  logsumexpRows(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
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
  ): void;
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
  ): void;
  adamStep(
    p: Float32Array,
    g: Float32Array,
    m: Float32Array,
    v: Float32Array,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    decoupled: number,
    biasCorrection1: number,
    biasCorrection2Sqrt: number,
  ): void;
  adamSteps(
    p: Float32Array[],
    g: Float32Array[],
    m: Float32Array[],
    v: Float32Array[],
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    decoupled: number,
    biasCorrection1: number,
    biasCorrection2Sqrt: number,
  ): void;
  polyakUpdate(target: Float32Array[], source: Float32Array[], tau: number): void;
  sumOfSquares(x: Float32Array[]): number;
  scaleInPlace(x: Float32Array[], s: number): void;
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
    causal: number,
  ): void;
  attentionBackward(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    mask: Float32Array | null,
    dOut: Float32Array,
    dq: Float32Array,
    dk: Float32Array,
    dv: Float32Array,
    batch: number,
    heads: number,
    kvHeads: number,
    queries: number,
    keys: number,
    headDim: number,
    causal: number,
  ): void;
  /** The instruction-set path in use: "avx512", "avx2" or "generic". */
  isa(): string;
  /** Switch paths by name; false where this CPU lacks it. */
  setIsa(name: string): boolean;
  /** Every path compiled in, best first. */
  compiledIsas(): string[];
  /** Run large products on `n` threads (1 to 256; 1 = the calling thread only). */
  setThreads(n: number): void;
  /** The thread count large products run on. */
  threads(): number;
}

/** The most threads the native kernels run on. */
export const MAX_THREADS = 256;

/** The instruction-set paths of the native kernels (x86-64 builds have all three, others generic). */
export type NativeIsa = "avx512" | "avx2" | "generic";

const BINARY_CODE = new Map<BinaryOp, number>(BINARY_OPS.map((op, i) => [op, i]));
const UNARY_CODE = new Map<UnaryOp, number>(UNARY_OPS.map((op, i) => [op, i]));

/**
 * The native backend: C++ kernels (AVX-512, AVX2+FMA or generic, chosen at load time from the CPU)
 * in an N-API addon. Unlike the wasm backend it needs no copies: the addon reads and writes the
 * typed arrays' own memory, so a call costs one N-API transition plus the arithmetic.
 */
export class NativeBackend implements Backend {
  readonly name = "native" as const;
  private readonly k: NativeAddon;

  constructor(addon: NativeAddon) {
    this.k = addon;
  }

  /** The instruction-set path the kernels run on. */
  get isa(): NativeIsa {
    return this.k.isa() as NativeIsa;
  }

  /**
   * Threads that large matrix products (about 16M multiply-adds and up) run on, split into row
   * blocks; smaller ones, and every other kernel, run on the calling thread. Results are
   * bit-identical for every thread count (each output element is computed by one thread, in the
   * same order).
   */
  get threads(): number {
    return this.k.threads();
  }

  /** Set {@link threads} (an integer from 1 to 256). */
  setThreads(n: number): void {
    if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
      throw new ProximalError(
        "INVALID_OPTION",
        `The thread count must be an integer from 1 to ${MAX_THREADS}, got ${n}.`,
      );
    }
    this.k.setThreads(n);
  }

  /** Every path this build contains, best first (tests run each one this CPU supports). */
  compiledIsas(): NativeIsa[] {
    return this.k.compiledIsas() as NativeIsa[];
  }

  /** The compiled paths this CPU runs, best first (each one tried; the current path is kept). */
  runnableIsas(): NativeIsa[] {
    const current = this.isa;
    const runnable = this.compiledIsas().filter((isa) => this.k.setIsa(isa));
    this.k.setIsa(current);
    return runnable;
  }

  /**
   * Run on another path (tests, benchmarks; `PROXIMAL_NATIVE_ISA` at load). Throws
   * BACKEND_UNAVAILABLE where this CPU or build lacks it.
   */
  setIsa(isa: NativeIsa): void {
    this.layout = null;
    if (!this.k.setIsa(isa)) {
      throw new ProximalError(
        "BACKEND_UNAVAILABLE",
        `The native kernels cannot run the "${isa}" path here: this build has ${this.compiledIsas().join(", ")}, and this CPU runs the ones up to its own features. Unset PROXIMAL_NATIVE_ISA to use the best one.`,
      );
    }
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
    this.k.matmul(a, b, out, batch, m, k, n, +transA, +transB, strideA, strideB, +accumulate);
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
    this.k.linear(x, w, bias, out, m, k, n);
  }

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
    this.k.linearAct(x, w, bias, out, m, k, n, act === "relu" ? 0 : 1);
  }

  /** The addon's dot-product path takes one or two rows (native/kernels.cc DOT_ROWS): no packing there. */
  readonly packedLinearMinRows = 3;

  private layout: { name: string; panelWidth: number } | null = null;

  /** Packs follow the path and its panel width (setIsa can change both): "avx512/32" etc. */
  packedLinearLayout(): string {
    return this.packLayout().name;
  }

  private packLayout(): { name: string; panelWidth: number } {
    if (this.layout === null) {
      // one column of one row packs into one panel: its size is the panel width
      const panelWidth = this.k.packedLinearSize(1, 1);
      this.layout = { name: `${this.k.isa()}/${panelWidth}`, panelWidth };
    }
    return this.layout;
  }

  packLinearWeight(w: Float32Array, k: number, n: number): PackedWeight {
    // from the storage pool, where withPackedWeights hands it back: a fresh buffer faults its pages in
    // (measured here: a new 4 MiB pack took 11 ms, refilling a used one 0.24 ms)
    const data = allocFloat32ForOverwrite(this.k.packedLinearSize(k, n));
    this.k.packLinear(w, data, k, n);
    return { data, layout: this.packedLinearLayout() };
  }

  linearPacked(
    x: Float32Array,
    w: Float32Array,
    packed: PackedWeight,
    bias: Float32Array | null,
    out: Float32Array,
    m: number,
    k: number,
    n: number,
    act: FusedActivation | null,
  ): void {
    const layout = this.packLayout();
    if (packed.layout !== layout.name) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `linearPacked: the weight was packed as ${packed.layout}, but the kernels now use ${layout.name} (the instruction-set path changed). Pack it again.`,
      );
    }
    const code = act === null ? -1 : act === "relu" ? 0 : 1;
    this.k.linearPacked(x, w, packed.data, layout.panelWidth, bias, out, m, k, n, code);
  }

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
    this.k.linearActBackward(x, w, y, g, dx, dw, db, m, k, n, act === null ? -1 : act === "relu" ? 0 : 1);
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
    this.k.binary(BINARY_CODE.get(op)!, a, b, out, outer, inner, aOuter, aInner, bOuter, bInner);
  }

  unary(op: UnaryOp, x: Float32Array, out: Float32Array): void {
    this.k.unary(UNARY_CODE.get(op)!, x, out);
  }

  clamp(x: Float32Array, out: Float32Array, lo: number, hi: number): void {
    this.k.clamp(x, out, lo, hi);
  }

  reduce(op: ReduceOp, x: Float32Array, out: Float32Array, outer: number, len: number, inner: number): void {
    this.k.reduce(op === "sum" ? 0 : 1, x, out, outer, len, inner);
  }

  softmaxRows(x: Float32Array, out: Float32Array, rows: number, cols: number, log: boolean): void {
    this.k.softmaxRows(x, out, rows, cols, +log);
  }

  logsumexpRows(x: Float32Array, out: Float32Array, rows: number, cols: number): void {
    this.k.logsumexpRows(x, out, rows, cols);
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
    this.k.layerNormRows(x, gamma, beta, out, mean, rstd, rows, cols, eps);
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
    this.k.layerNormBackwardRows(x, gamma, mean, rstd, g, dx, dgamma, dbeta, rows, cols);
  }

  adamStep(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, args: AdamStepArgs): void {
    this.k.adamStep(
      p,
      g,
      m,
      v,
      args.lr,
      args.beta1,
      args.beta2,
      args.eps,
      args.weightDecay,
      +args.decoupled,
      args.biasCorrection1,
      args.biasCorrection2Sqrt,
    );
  }

  adamSteps(
    p: Float32Array[],
    g: Float32Array[],
    m: Float32Array[],
    v: Float32Array[],
    args: AdamStepArgs,
  ): void {
    this.k.adamSteps(
      p,
      g,
      m,
      v,
      args.lr,
      args.beta1,
      args.beta2,
      args.eps,
      args.weightDecay,
      +args.decoupled,
      args.biasCorrection1,
      args.biasCorrection2Sqrt,
    );
  }

  polyakUpdate(target: Float32Array[], source: Float32Array[], tau: number): void {
    this.k.polyakUpdate(target, source, tau);
  }

  sumOfSquares(x: Float32Array[]): number {
    return this.k.sumOfSquares(x);
  }

  scaleInPlace(x: Float32Array[], s: number): void {
    this.k.scaleInPlace(x, s);
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
    this.k.attention(q, k, v, mask, out, batch, heads, kvHeads, queries, keys, headDim, capacity, +causal);
  }

  attentionBackward(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    mask: Float32Array | null,
    dOut: Float32Array,
    dq: Float32Array,
    dk: Float32Array,
    dv: Float32Array,
    batch: number,
    heads: number,
    kvHeads: number,
    queries: number,
    keys: number,
    headDim: number,
    causal: boolean,
  ): void {
    this.k.attentionBackward(
      q,
      k,
      v,
      mask,
      dOut,
      dq,
      dk,
      dv,
      batch,
      heads,
      kvHeads,
      queries,
      keys,
      headDim,
      +causal,
    );
  }
}

/** Where the build puts the addon and its status, relative to this module (dist/tensor/ or src/tensor/). */
const ADDON_URL = new URL("../../build/native/proximal.node", import.meta.url);
const STATUS_URL = new URL("../../build/native/status.json", import.meta.url);

/** The outcome of loading the addon: the backend, or why there is none. */
type NativeLoad = { backend: NativeBackend; failure?: undefined } | { backend: null; failure: string };

let cached: NativeLoad | undefined;

interface NodeRuntime {
  getBuiltinModule?: (id: string) => unknown;
  env?: Record<string, string | undefined>;
}

function loadOnce(): NativeLoad {
  if (cached !== undefined) return cached;
  cached = load();
  return cached;
}

function load(): NativeLoad {
  const runtime = (globalThis as { process?: NodeRuntime }).process;
  // process.getBuiltinModule (Node >= 20.16) loads node:module synchronously without a static
  // import, so this file still bundles for browsers, where it reports "not Node" instead
  if (typeof runtime?.getBuiltinModule !== "function") {
    return { backend: null, failure: "it needs Node.js >= 20.16 (native addons do not load in browsers)" };
  }
  // PROXIMAL_NATIVE=0 disables the addon at run time as at build time (scripts/buildNative.mjs)
  if (runtime.env?.PROXIMAL_NATIVE === "0")
    return { backend: null, failure: "PROXIMAL_NATIVE=0 disables it" };
  const fs = runtime.getBuiltinModule("node:fs") as typeof import("node:fs");
  const url = runtime.getBuiltinModule("node:url") as typeof import("node:url");
  const mod = runtime.getBuiltinModule("node:module") as typeof import("node:module");
  const addonPath = url.fileURLToPath(ADDON_URL);
  if (!fs.existsSync(addonPath)) {
    let why = "the addon was not built";
    try {
      const status = JSON.parse(fs.readFileSync(url.fileURLToPath(STATUS_URL), "utf8")) as {
        reason?: string;
      };
      if (typeof status.reason === "string") why = `the addon was not built: ${status.reason}`;
    } catch {
      // no status file: the build step never ran (e.g. a checkout without `npm run build`)
    }
    return {
      backend: null,
      failure: `${why} (${addonPath} is missing; \`npm run build:native\` builds it, given a C++ compiler and Node's headers)`,
    };
  }
  let backend: NativeBackend;
  try {
    const addon = mod.createRequire(import.meta.url)(addonPath) as NativeAddon;
    if (typeof addon.setThreads !== "function") throw new Error("it predates the thread pool");
    if (typeof addon.linearActBackward !== "function") throw new Error("it predates the fused kernels");
    if (typeof addon.linearPacked !== "function") throw new Error("it predates the prepacked weights");
    if (typeof addon.attentionBackward !== "function") throw new Error("it predates the attention backward");
    backend = new NativeBackend(addon);
  } catch (error) {
    const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
    return {
      backend: null,
      failure: `${addonPath} failed to load (${message}); rebuild it with \`npm run build:native\``,
    };
  }
  // PROXIMAL_NATIVE_ISA=avx2|generic forces a lower path (benchmarks; the tests call setIsa);
  // an unknown or unsupported value is an error rather than quietly the default path
  const forced = runtime.env?.PROXIMAL_NATIVE_ISA;
  if (forced !== undefined && forced !== "") backend.setIsa(forced as NativeIsa);
  const os = runtime.getBuiltinModule("node:os") as typeof import("node:os");
  backend.setThreads(defaultThreads(runtime.env?.PROXIMAL_THREADS, os));
  return { backend };
}

/**
 * The thread count at load: `PROXIMAL_THREADS` where set (an integer from 1 to 256; anything else is
 * an error, not quietly the default), else the number of cores the process may use.
 */
export function defaultThreads(
  requested: string | undefined,
  os: Pick<typeof import("node:os"), "cpus"> & { availableParallelism?: () => number },
): number {
  if (requested !== undefined && requested !== "") {
    const n = Number(requested);
    if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
      throw new ProximalError(
        "INVALID_OPTION",
        `PROXIMAL_THREADS must be an integer from 1 to ${MAX_THREADS}, got "${requested}". Unset it to use every core.`,
      );
    }
    return n;
  }
  const cores = typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
  return Math.min(Math.max(cores, 1), MAX_THREADS);
}

/** The native backend, loaded once; null where the addon is missing or fails to load ({@link nativeLoadFailure}). */
export function loadNativeBackend(): NativeBackend | null {
  return loadOnce().backend;
}

/** Why the native backend is unavailable, or undefined when it loaded. */
export function nativeLoadFailure(): string | undefined {
  return loadOnce().failure;
}

/** Like {@link loadNativeBackend} but throws BACKEND_UNAVAILABLE naming the cause and the fix. */
export function requireNativeBackend(): NativeBackend {
  const { backend, failure } = loadOnce();
  if (backend === null) {
    throw new ProximalError(
      "BACKEND_UNAVAILABLE",
      `The native backend is unavailable: ${failure}. Use the wasm backend instead: setBackend("wasm"), or PROXIMAL_BACKEND=wasm.`,
    );
  }
  return backend;
}
