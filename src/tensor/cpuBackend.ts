import type { AdamStepArgs, Backend, BinaryOp, FusedActivation, ReduceOp, UnaryOp } from "./backend.js";
import { allocFloat32, releaseFloat32 } from "./storage.js";

/**
 * The plain-TypeScript backend: the readable reference every wasm kernel is tested against, and the
 * fallback where WebAssembly SIMD is unavailable. Arithmetic runs in float64 and rounds to float32
 * on store; accumulations (sums, statistics) stay in float64.
 */
export class CpuBackend implements Backend {
  readonly name = "cpu" as const;

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
    const row = new Float64Array(n);
    for (let t = 0; t < batch; t++) {
      const ao = t * strideA;
      const bo = t * strideB;
      const co = t * m * n;
      for (let i = 0; i < m; i++) {
        row.fill(0);
        for (let p = 0; p < k; p++) {
          const av = transA ? a[ao + p * m + i] : a[ao + i * k + p];
          if (av === 0) continue;
          if (transB) {
            for (let j = 0; j < n; j++) row[j] += av * b[bo + j * k + p];
          } else {
            const bp = bo + p * n;
            for (let j = 0; j < n; j++) row[j] += av * b[bp + j];
          }
        }
        const ci = co + i * n;
        if (accumulate) for (let j = 0; j < n; j++) out[ci + j] += row[j];
        else for (let j = 0; j < n; j++) out[ci + j] = row[j];
      }
    }
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
    this.matmul(x, w, out, 1, m, k, n, false, true, 0, 0, false);
    if (bias === null) return;
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[i * n + j] += bias[j];
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
    this.linear(x, w, bias, out, m, k, n);
    this.unary(act, out, out);
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
    linearActBackwardSteps(this, x, w, y, g, dx, dw, db, m, k, n, act);
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
    const f = BINARY_FNS[op];
    for (let o = 0; o < outer; o++) {
      const ap = o * aOuter;
      const bp = o * bOuter;
      const op_ = o * inner;
      for (let i = 0; i < inner; i++) out[op_ + i] = f(a[ap + i * aInner], b[bp + i * bInner]);
    }
  }

  unary(op: UnaryOp, x: Float32Array, out: Float32Array): void {
    const f = UNARY_FNS[op];
    for (let i = 0; i < x.length; i++) out[i] = f(x[i]);
  }

  clamp(x: Float32Array, out: Float32Array, lo: number, hi: number): void {
    const l = Math.fround(lo);
    const h = Math.fround(hi);
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      out[i] = v < l ? l : v > h ? h : v;
    }
  }

  reduce(op: ReduceOp, x: Float32Array, out: Float32Array, outer: number, len: number, inner: number): void {
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const base = o * len * inner + i;
        if (op === "sum") {
          let s = 0;
          for (let l = 0; l < len; l++) s += x[base + l * inner];
          out[o * inner + i] = s;
        } else {
          let m = Number.NEGATIVE_INFINITY;
          for (let l = 0; l < len; l++) {
            const v = x[base + l * inner];
            if (v > m || Number.isNaN(v)) m = v;
            if (Number.isNaN(m)) break;
          }
          out[o * inner + i] = m;
        }
      }
    }
  }

  softmaxRows(x: Float32Array, out: Float32Array, rows: number, cols: number, log: boolean): void {
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      let m = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < cols; c++) m = Math.max(m, x[base + c]);
      if (m === Number.NEGATIVE_INFINITY) m = 0; // fully masked row: exp(-inf) = 0 rather than NaN
      let s = 0;
      for (let c = 0; c < cols; c++) {
        const e = Math.exp(x[base + c] - m);
        if (!log) out[base + c] = e;
        s += e;
      }
      if (log) {
        const lse = m + Math.log(s);
        for (let c = 0; c < cols; c++) out[base + c] = x[base + c] - lse;
      } else {
        const inv = 1 / s;
        for (let c = 0; c < cols; c++) out[base + c] *= inv;
      }
    }
  }

  logsumexpRows(x: Float32Array, out: Float32Array, rows: number, cols: number): void {
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      let m = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < cols; c++) m = Math.max(m, x[base + c]);
      if (!Number.isFinite(m)) {
        out[r] = m;
        continue;
      }
      let s = 0;
      for (let c = 0; c < cols; c++) s += Math.exp(x[base + c] - m);
      out[r] = m + Math.log(s);
    }
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
    const e = Math.fround(eps);
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      let s = 0;
      for (let c = 0; c < cols; c++) s += x[base + c];
      const mu = s / cols;
      let v = 0;
      for (let c = 0; c < cols; c++) {
        const d = x[base + c] - mu;
        v += d * d;
      }
      const rs = 1 / Math.sqrt(v / cols + e);
      mean[r] = mu;
      rstd[r] = rs;
      for (let c = 0; c < cols; c++) {
        const xhat = Math.fround((x[base + c] - mu) * rs);
        out[base + c] = Math.fround(xhat * gamma[c]) + beta[c];
      }
    }
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
    const dgammaAcc = new Float64Array(cols);
    const dbetaAcc = new Float64Array(cols);
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      const mu = mean[r];
      const rs = rstd[r];
      let sumG = 0;
      let sumGX = 0;
      for (let c = 0; c < cols; c++) {
        const xhat = (x[base + c] - mu) * rs;
        const gv = g[base + c];
        const gg = gv * gamma[c];
        sumG += gg;
        sumGX += gg * xhat;
        dgammaAcc[c] += gv * xhat;
        dbetaAcc[c] += gv;
      }
      const meanG = sumG / cols;
      const meanGX = sumGX / cols;
      for (let c = 0; c < cols; c++) {
        const xhat = (x[base + c] - mu) * rs;
        dx[base + c] = rs * (g[base + c] * gamma[c] - meanG - xhat * meanGX);
      }
    }
    dgamma.set(dgammaAcc);
    dbeta.set(dbetaAcc);
  }

  adamStep(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, args: AdamStepArgs): void {
    const f = Math.fround;
    const lr = f(args.lr);
    const beta1 = f(args.beta1);
    const beta2 = f(args.beta2);
    const eps = f(args.eps);
    const wd = f(args.weightDecay);
    const stepSize = f(lr / f(args.biasCorrection1));
    const bc2 = f(args.biasCorrection2Sqrt);
    for (let i = 0; i < p.length; i++) {
      let param = p[i];
      let grad = g[i];
      if (wd !== 0) {
        if (args.decoupled) param = f(param * f(1 - f(lr * wd)));
        else grad = f(grad + f(wd * param));
      }
      const mi = flushSubnormal(f(f(beta1 * m[i]) + f(f(1 - beta1) * grad)));
      const vi = flushSubnormal(f(f(beta2 * v[i]) + f(f(f(1 - beta2) * grad) * grad)));
      m[i] = mi;
      v[i] = vi;
      const denom = f(f(f(Math.sqrt(vi)) / bc2) + eps);
      p[i] = f(param - f(f(stepSize * mi) / denom));
    }
  }

  adamSteps(
    p: Float32Array[],
    g: Float32Array[],
    m: Float32Array[],
    v: Float32Array[],
    args: AdamStepArgs,
  ): void {
    for (let t = 0; t < p.length; t++) this.adamStep(p[t], g[t], m[t], v[t], args);
  }

  polyakUpdate(target: Float32Array[], source: Float32Array[], tau: number): void {
    for (let t = 0; t < target.length; t++) {
      const dst = target[t];
      const src = source[t];
      if (tau === 1) dst.set(src);
      else for (let i = 0; i < dst.length; i++) dst[i] = (1 - tau) * dst[i] + tau * src[i];
    }
  }

  sumOfSquares(x: Float32Array[]): number {
    let total = 0;
    const lanes = new Float64Array(16);
    for (const a of x) {
      lanes.fill(0);
      for (let i = 0; i < a.length; i++) lanes[i & 15] += a[i] * a[i];
      for (let width = 8; width >= 1; width >>= 1)
        for (let j = 0; j < width; j++) lanes[j] = lanes[2 * j] + lanes[2 * j + 1];
      total += lanes[0];
    }
    return total;
  }

  scaleInPlace(x: Float32Array[], s: number): void {
    for (const a of x) for (let i = 0; i < a.length; i++) a[i] *= s;
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
    const scale = Math.fround(1 / Math.sqrt(headDim));
    const groups = heads / kvHeads;
    const scores = new Float32Array(keys);
    for (let b = 0; b < batch; b++) {
      for (let h = 0; h < heads; h++) {
        const kv = (b * kvHeads + Math.floor(h / groups)) * capacity * headDim;
        for (let i = 0; i < queries; i++) {
          const qi = ((b * heads + h) * queries + i) * headDim;
          const visible = causal ? Math.min(keys, i + keys - queries + 1) : keys;
          let m = rowScores(q, qi, k, kv, mask, b * keys, visible, headDim, scale, scores);
          if (m === Number.NEGATIVE_INFINITY) m = 0;
          let sum = 0;
          for (let j = 0; j < visible; j++) {
            scores[j] = Math.exp(scores[j] - m);
            sum += scores[j];
          }
          // every key masked out: NaN, as softmax over a row of -Infinity (torch 1.13)
          const inv = sum === 0 ? Number.NaN : 1 / sum;
          for (let d = 0; d < headDim; d++) {
            let acc = 0;
            for (let j = 0; j < visible; j++) acc += scores[j] * v[kv + j * headDim + d];
            out[qi + d] = acc * inv;
          }
        }
      }
    }
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
    const scale = Math.fround(1 / Math.sqrt(headDim));
    const groups = heads / kvHeads;
    const scores = new Float32Array(keys);
    const p = new Float64Array(keys);
    const dp = new Float64Array(keys);
    dq.fill(0);
    dk.fill(0);
    dv.fill(0);
    for (let b = 0; b < batch; b++) {
      for (let h = 0; h < heads; h++) {
        const kv = (b * kvHeads + Math.floor(h / groups)) * keys * headDim;
        for (let i = 0; i < queries; i++) {
          const qi = ((b * heads + h) * queries + i) * headDim;
          const visible = causal ? Math.min(keys, i + keys - queries + 1) : keys;
          // the forward pass's softmax, recomputed
          const m = rowScores(q, qi, k, kv, mask, b * keys, visible, headDim, scale, scores);
          let sum = 0;
          if (m !== Number.NEGATIVE_INFINITY) {
            for (let j = 0; j < visible; j++) {
              p[j] = Math.exp(scores[j] - m);
              sum += p[j];
            }
          }
          if (sum === 0) {
            // every key masked out: the forward row is NaN, and so is everything its gradient touches
            for (let d = 0; d < headDim; d++) dq[qi + d] = Number.NaN;
            for (let x = kv; x < kv + keys * headDim; x++) dk[x] = dv[x] = Number.NaN;
            continue;
          }
          let dot = 0; // D = Σ_j p_j dp_j = dOut·out
          for (let j = 0; j < visible; j++) {
            p[j] /= sum;
            let e = 0;
            for (let d = 0; d < headDim; d++) e += dOut[qi + d] * v[kv + j * headDim + d];
            dp[j] = e;
            dot += p[j] * e;
          }
          for (let j = 0; j < visible; j++) {
            const ds = p[j] * (dp[j] - dot) * scale;
            const kj = kv + j * headDim;
            for (let d = 0; d < headDim; d++) {
              dq[qi + d] += ds * k[kj + d];
              dk[kj + d] += ds * q[qi + d];
              dv[kj + d] += p[j] * dOut[qi + d];
            }
          }
        }
      }
    }
  }
}

/**
 * One query row's attention scores `scores[j] = fround(q·k_j)·scale + mask[j]` (float32) over the
 * visible keys, and their max: shared by `attention` and `attentionBackward`, so the backward
 * recomputes exactly the forward's softmax.
 */
function rowScores(
  q: Float32Array,
  qi: number,
  k: Float32Array,
  kv: number,
  mask: Float32Array | null,
  maskOffset: number,
  visible: number,
  headDim: number,
  scale: number,
  scores: Float32Array,
): number {
  let m = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < visible; j++) {
    let dot = 0;
    for (let d = 0; d < headDim; d++) dot += q[qi + d] * k[kv + j * headDim + d];
    const score = Math.fround(Math.fround(dot) * scale) + (mask === null ? 0 : mask[maskOffset + j]);
    scores[j] = score;
    m = Math.max(m, Math.fround(score));
  }
  return m;
}

const BINARY_FNS: Record<BinaryOp, (x: number, y: number) => number> = {
  add: (x, y) => x + y,
  sub: (x, y) => x - y,
  mul: (x, y) => x * y,
  div: (x, y) => x / y,
  maximum: (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? Number.NaN : Math.max(x, y)),
  minimum: (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? Number.NaN : Math.min(x, y)),
  pow: (x, y) => x ** y,
  tanhBackward: (y, g) => g * (1 - y * y),
  reluBackward: (x, g) => (x <= 0 ? 0 : g),
  geluTanhBackward: (x, g) => g * geluTanhDerivative(x),
};

/** d/dx of GPT-2's tanh GELU `½x(1 + tanh(c(x + 0.044715x³)))`, c = √(2/π). */
function geluTanhDerivative(x: number): number {
  const t = Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** erf by the Numerical Recipes erfc Chebyshev fit (fractional error < 1.2e-7); same as the wasm kernel. */
export function erf(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const poly =
    -z * z -
    1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t *
                  (-0.18628806 +
                    t *
                      (0.27886807 +
                        t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const erfc = t * Math.exp(poly);
  return x >= 0 ? 1 - erfc : erfc - 1;
}

const UNARY_FNS: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  tanh: Math.tanh,
  relu: (x) => (x > 0 || Number.isNaN(x) ? x : 0),
  sigmoid: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  softplus: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))),
  abs: Math.abs,
  geluTanh: (x) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))),
  geluErf: (x) => 0.5 * x * (1 + erf(x * Math.SQRT1_2)),
  square: (x) => x * x,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : x),
  reciprocal: (x) => 1 / x,
  erf,
};

/**
 * {@link Backend.linearActBackward} as the unfused kernels of `backend`, in the order the unfused
 * ops' gradient rules call them: the activation's gradient, then dx, dw and db.
 */
export function linearActBackwardSteps(
  backend: Backend,
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
  const dz = act === null ? g : allocFloat32(m * n);
  if (act !== null)
    backend.binary(act === "relu" ? "reluBackward" : "tanhBackward", y, g, dz, 1, m * n, 0, 1, 0, 1);
  if (dx !== null) backend.matmul(dz, w, dx, 1, m, n, k, false, false, 0, 0, false);
  if (dw !== null) backend.matmul(dz, x, dw, 1, n, m, k, true, false, 0, 0, false);
  if (db !== null) backend.reduce("sum", dz, db, 1, m, n);
  if (act !== null) releaseFloat32(dz);
}

/** The smallest normal float32, 2^-126. */
const FLOAT32_MIN_NORMAL = 1.1754943508222875e-38;

/** `x`, or 0 where it is a float32 subnormal (Backend.adamStep says why). */
function flushSubnormal(x: number): number {
  return Math.abs(x) < FLOAT32_MIN_NORMAL ? 0 : x;
}
