import { ProximalError } from "../errors.js";

/**
 * The kernel interface. Every numerical loop of the tensor engine runs through one `Backend`:
 * `cpu` (plain TypeScript, the readable reference), `wasm` (AssemblyScript compiled to WebAssembly
 * SIMD, src/kernels/) or `native` (C++ with AVX-512/AVX2 in an N-API addon, native/; Node only, when
 * it was built). All take and return plain typed arrays, so the frontend (tensor.ts, ops.ts) never
 * knows which one ran; tests run every kernel on each and require the same results.
 * The interface stays open for later backends: a backend only adds kernels here.
 */
export type BackendName = "cpu" | "wasm" | "native";

/**
 * Backend names kept for backends that do not exist yet. `webgpu` is the slot for a GPU backend
 * (issue #16): it would implement this same interface, its kernels dispatching compute shaders over
 * GPU buffers and reading results back into the typed arrays the frontend holds. None is built: this
 * machine has no GPU to test one on, so asking for it (`setBackend`, `PROXIMAL_BACKEND`) fails with
 * `BACKEND_UNAVAILABLE` instead of being an unknown name or quietly running on another backend.
 */
export const RESERVED_BACKENDS = ["webgpu"] as const;

/**
 * Throws `BACKEND_UNAVAILABLE` when `name` is a reserved backend name, saying what exists instead;
 * `how` names the request (`setBackend("webgpu")`, `PROXIMAL_BACKEND=webgpu`). Other names pass.
 */
export function rejectReservedBackend(name: string, how: string): void {
  if (!(RESERVED_BACKENDS as readonly string[]).includes(name)) return;
  throw new ProximalError(
    "BACKEND_UNAVAILABLE",
    `${how} asks for the ${name} backend, a name reserved for a future GPU backend: proximal has none yet. Use "native" (Node) or "wasm" (browsers and Node), or unset it for the default.`,
  );
}

/** Elementwise binary ops; the index is the op code the wasm kernels use. */
export const BINARY_OPS = [
  "add",
  "sub",
  "mul",
  "div",
  "maximum",
  "minimum",
  "pow",
  "tanhBackward",
  "reluBackward",
  "geluTanhBackward",
] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];

/** Elementwise unary ops; the index is the op code the wasm kernels use. */
export const UNARY_OPS = [
  "neg",
  "exp",
  "log",
  "sqrt",
  "tanh",
  "relu",
  "sigmoid",
  "softplus",
  "abs",
  "geluTanh",
  "geluErf",
  "square",
  "sign",
  "reciprocal",
  "erf",
] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];

export type ReduceOp = "sum" | "max";

/** Activations fused into a linear layer's kernel (`Backend.linearAct`). */
export type FusedActivation = "relu" | "tanh";

/** Hyperparameters of one Adam/AdamW step (PyTorch semantics). */
export interface AdamStepArgs {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** true: AdamW's decoupled decay `p *= 1 - lr*wd`; false: Adam's L2 term `g += wd*p`. */
  decoupled: boolean;
  /** `1 - beta1^t` */
  biasCorrection1: number;
  /** `sqrt(1 - beta2^t)` */
  biasCorrection2Sqrt: number;
}

/**
 * A linear layer's weight packed once by {@link Backend.packLinearWeight}, for a backend whose linear
 * kernel otherwise repacks it on every call. `layout` names the packing (the native path and its
 * panel width): a pack is only used where the backend's current layout is the same.
 */
export interface PackedWeight {
  readonly data: Float32Array;
  readonly layout: string;
}

export interface Backend {
  readonly name: BackendName;
  /**
   * `batch` products C = op(A) · op(B), op = transpose when the flag is set. A is [m,k] (stored
   * [k,m] when transA), B is [k,n] (stored [n,k] when transB), C is [m,n]; operands are `stride*`
   * elements apart per batch (0 = shared); `accumulate` adds into C instead of overwriting it.
   */
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
  ): void;
  /**
   * A linear layer `out[m, n] = x[m, k] · w[n, k]ᵀ + bias[n]` (PyTorch weight layout; bias may be
   * null), fused so the product and the bias take one pass.
   */
  linear(
    x: Float32Array,
    w: Float32Array,
    bias: Float32Array | null,
    out: Float32Array,
    m: number,
    k: number,
    n: number,
  ): void;
  /**
   * `out = act(x · wᵀ + bias)`: {@link Backend.linear} with the activation applied in the same call,
   * while the rows are in cache. The same bits as `linear` followed by `unary(act)`.
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
  ): void;
  /**
   * Optional, for backends whose linear kernel copies the weight into panels on every call (native):
   * the layout packs are made in now, W [n, k] packed in it, and {@link Backend.linear} /
   * {@link Backend.linearAct} (act null: none) reading W from that pack, with the same bits.
   * `packedLinearMinRows` is the fewest rows at which the kernel would pack (below, it reads W in
   * place, so a pack would only cost memory). Used by `withPackedWeights` (tensor/packedWeights.ts).
   */
  readonly packedLinearMinRows?: number;
  packedLinearLayout?(): string;
  packLinearWeight?(w: Float32Array, k: number, n: number): PackedWeight;
  linearPacked?(
    x: Float32Array,
    w: Float32Array,
    packed: PackedWeight,
    bias: Float32Array | null,
    out: Float32Array,
    m: number,
    k: number,
    n: number,
    act: FusedActivation | null,
  ): void;
  /**
   * The backward pass of {@link Backend.linearAct} (or of `linear`, act null) in one call, from its
   * output `y` [m, n] and the output's gradient `g`: the pre-activation gradient `dz = relu/tanh
   * backward(y, g)` (relu's from its output: `y <= 0` exactly where the input was; `g` itself for act
   * null), then `dx = dz · w` [m, k], `dw = dzᵀ · x` [n, k] and `db = Σ_rows dz` [n]; a null output is
   * skipped. The same bits as the unfused `binary` + two `matmul` + `reduce` calls, which is how the
   * cpu and wasm backends run it.
   */
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
  ): void;
  /**
   * `out[o,i] = a[o*aOuter + i*aInner] op b[o*bOuter + i*bInner]` over an [outer, inner] view.
   * `tanhBackward` is the fused tanh gradient `b·(1 - a²)` (a = tanh output, b = incoming gradient);
   * `reluBackward` the fused relu gradient `a <= 0 ? 0 : b` (a = relu input, b = incoming gradient;
   * PyTorch's `threshold_backward`, so a NaN input passes the gradient through); `geluTanhBackward`
   * the fused gradient of GPT-2's tanh GELU `b·gelu'(a)` (a = GELU input, b = incoming gradient),
   * `gelu'(x) = ½(1 + t) + ½x(1 − t²)·c(1 + 3·0.044715x²)`, `t = tanh(c(x + 0.044715x³))`, `c = √(2/π)`.
   */
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
  ): void;
  unary(op: UnaryOp, x: Float32Array, out: Float32Array): void;
  clamp(x: Float32Array, out: Float32Array, lo: number, hi: number): void;
  /** Reduce the middle axis of an [outer, len, inner] view: out is [outer, inner]. */
  reduce(op: ReduceOp, x: Float32Array, out: Float32Array, outer: number, len: number, inner: number): void;
  /** softmax (or log-softmax when `log`) over the last axis of [rows, cols]. */
  softmaxRows(x: Float32Array, out: Float32Array, rows: number, cols: number, log: boolean): void;
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
  /** Writes dx and overwrites dgamma/dbeta with this batch's parameter gradients. */
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
  /**
   * One Adam/AdamW step in place on p, m, v. The new m and v are flushed to zero below the smallest
   * normal float32 (2^-126) before use: the first moment of a parameter whose gradient stays 0 (a dead
   * ReLU unit) decays by β1 per step into subnormals within a few hundred steps, and subnormal
   * arithmetic takes a microcode assist on Intel CPUs (Adam over DQN's 67k parameters: 37 µs a step
   * with normal state, 432 µs with subnormal first moments, 763 µs with both; BENCHMARKS.md
   * "dqn", session 13). A flushed moment moves its parameter by at most lr·2^-126/eps (about 1e-33
   * at the defaults), below half an ulp of any parameter of magnitude above 1e-26, so the parameters
   * keep the bits they had without the flush.
   */
  adamStep(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, args: AdamStepArgs): void;
  /**
   * {@link Backend.adamStep} on every `(p[i], g[i], m[i], v[i])` with the same hyperparameters, in
   * one call: an optimizer step over a whole network crosses into the kernels once instead of once
   * per tensor. Elementwise, so bit-identical to the per-tensor calls.
   */
  adamSteps(
    p: Float32Array[],
    g: Float32Array[],
    m: Float32Array[],
    v: Float32Array[],
    args: AdamStepArgs,
  ): void;
  /**
   * Polyak averaging of target networks over every pair, in one call:
   * `target[i] = (1 - tau)·target[i] + tau·source[i]`, each product and the sum in float64, rounded
   * to float32 on store (the arithmetic of the JavaScript loop it replaces); `tau = 1` copies.
   */
  polyakUpdate(target: Float32Array[], source: Float32Array[], tau: number): void;
  /**
   * `Σ x²` over every element of every array in float64 (clipGradNorm's total norm), in an order every
   * backend follows, since it fixes the bits: within an array, element i goes to lane i mod 16 (each
   * lane in index order), the 16 lanes are added pairwise ((0+1), (2+3), …, then the 8 sums likewise,
   * down to one), and the arrays' sums are added in order. Sixteen independent chains let a vector
   * unit run it (one chain of dependent adds was 14% of a DQN step).
   */
  sumOfSquares(x: Float32Array[]): number;
  /** `x *= s` in place for every array, the product in float64 rounded on store. */
  scaleInPlace(x: Float32Array[], s: number): void;
  /**
   * Scaled dot-product attention (Vaswani et al. 2017, arXiv:1706.03762, eq. 1) in one call, no
   * score matrix kept: for each of the `batch·heads` blocks and each query row i,
   * `out[i] = Σ_j softmax_j(q[i]·k[j]/√headDim + mask[j]) v[j]` over keys j < `keys`, and with
   * `causal` only j <= i + keys − queries (queries aligned to the end of the keys, as a KV cache
   * needs). q and out are [batch, heads, queries, headDim]; k and v [batch, kvHeads, capacity,
   * headDim], of which the first `keys` positions are read (a preallocated KV cache); query head h
   * reads key/value head ⌊h·kvHeads/heads⌋ (grouped-query attention; kvHeads divides heads). `mask`
   * is additive [batch, keys] (padding: a large negative value) or null. Softmax denominators in
   * float64, as {@link Backend.softmaxRows}; a row whose keys are all masked out is NaN, as softmax's.
   */
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
  ): void;
  /**
   * Optional (cpu, native): the gradient of {@link Backend.attention} for training, in one call and
   * without a score matrix, recomputing each row's softmax as the forward pass did (FlashAttention's
   * backward, Dao et al. 2022, arXiv:2205.14135, Algorithm 4, one row at a time): with
   * `p = softmax(s)`, `s_j = q·k_j/√d + mask_j`, `dp_j = dOut·v_j` and `D = Σ_j p_j dp_j`,
   * `ds_j = p_j (dp_j − D)`, `dq = Σ_j ds_j k_j/√d`, `dk_j += ds_j q/√d`, `dv_j += p_j dOut`.
   * Shapes as `attention`'s with capacity = keys; dq [batch, heads, queries, headDim] and dk, dv
   * [batch, kvHeads, keys, headDim] are overwritten. A row whose keys are all masked out gives NaN
   * in dq and in its block's dk and dv, as the composed softmax's gradient does.
   */
  attentionBackward?(
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
  ): void;
}
