// proximal's WebAssembly kernels, written in AssemblyScript and compiled with SIMD by
// `npm run build:wasm` (scripts/buildWasm.mjs), twice: a SIMD128 build and a relaxed-SIMD build whose
// matmul multiply-adds may fuse (see `madd`). Every pointer is a byte offset into this module's
// memory, managed from JavaScript (src/tensor/wasmBackend.ts); nothing here allocates.
// Each kernel has a plain-TypeScript twin in src/tensor/cpuBackend.ts that is the readable reference;
// tests run both on the same inputs.

// ---------------------------------------------------------------------------------------------
// multiply-add

/**
 * c + a·b on four lanes: the inner step of every matmul loop. ASC_FEATURE_RELAXED_SIMD is a
 * compile-time constant, so each build holds one branch only. The relaxed-SIMD build (compiled with
 * `--enable relaxed-simd`) uses f32x4.relaxed_madd, which the engine runs as one fused instruction
 * with one rounding where the CPU has it (x86 FMA3, ARM NEON) and as a multiply then an add
 * elsewhere: the result is exact to within one rounding either way, but its bits depend on the CPU.
 * The SIMD128 build multiplies then adds, the same bits on every machine.
 */
@inline
function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

// ---------------------------------------------------------------------------------------------
// matmul

/**
 * C[m,n] (+)= A[m,k] · B[k,n], all row-major and contiguous. Register-blocked 4 rows × 8 columns:
 * 8 f32x4 accumulators stay in registers while p runs over k (`madd`: fused in the relaxed-SIMD
 * build where the CPU fuses, mul+add in the SIMD128 build, which has no FMA).
 */
export function matmul(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, accumulate: i32): void {
  matmulStrided(a, b, c, m, k, n, accumulate, k, 1);
}

/**
 * The matmul kernel with A read through strides: element (i, p) of A is at
 * `a[i * aRow + p * aCol]`. A is only ever read one scalar at a time (then splatted), so a
 * transposed A (aRow = 1, aCol = m) costs nothing extra: Aᵀ·B needs no transposed copy.
 */
export function matmulStrided(
  a: usize,
  b: usize,
  c: usize,
  m: i32,
  k: i32,
  n: i32,
  accumulate: i32,
  aRowStride: i32,
  aColStride: i32,
): void {
  const rowA = (<usize>aRowStride) << 2;
  const colA = (<usize>aColStride) << 2;
  const rowB = (<usize>n) << 2;
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const a0p = a + <usize>i * rowA;
    const a1p = a0p + rowA;
    const a2p = a1p + rowA;
    const a3p = a2p + rowA;
    const c0p = c + <usize>i * rowB;
    const c1p = c0p + rowB;
    const c2p = c1p + rowB;
    const c3p = c2p + rowB;
    let j = 0;
    for (; j + 8 <= n; j += 8) {
      const off = (<usize>j) << 2;
      let x00 = f32x4.splat(0);
      let x01 = f32x4.splat(0);
      let x10 = f32x4.splat(0);
      let x11 = f32x4.splat(0);
      let x20 = f32x4.splat(0);
      let x21 = f32x4.splat(0);
      let x30 = f32x4.splat(0);
      let x31 = f32x4.splat(0);
      if (accumulate) {
        x00 = v128.load(c0p + off);
        x01 = v128.load(c0p + off, 16);
        x10 = v128.load(c1p + off);
        x11 = v128.load(c1p + off, 16);
        x20 = v128.load(c2p + off);
        x21 = v128.load(c2p + off, 16);
        x30 = v128.load(c3p + off);
        x31 = v128.load(c3p + off, 16);
      }
      let bp = b + off;
      let pa: usize = 0;
      for (let p = 0; p < k; p++, pa += colA) {
        const b0 = v128.load(bp);
        const b1 = v128.load(bp, 16);
        const v0 = f32x4.splat(load<f32>(a0p + pa));
        const v1 = f32x4.splat(load<f32>(a1p + pa));
        const v2 = f32x4.splat(load<f32>(a2p + pa));
        const v3 = f32x4.splat(load<f32>(a3p + pa));
        x00 = madd(v0, b0, x00);
        x01 = madd(v0, b1, x01);
        x10 = madd(v1, b0, x10);
        x11 = madd(v1, b1, x11);
        x20 = madd(v2, b0, x20);
        x21 = madd(v2, b1, x21);
        x30 = madd(v3, b0, x30);
        x31 = madd(v3, b1, x31);
        bp += rowB;
      }
      v128.store(c0p + off, x00);
      v128.store(c0p + off, x01, 16);
      v128.store(c1p + off, x10);
      v128.store(c1p + off, x11, 16);
      v128.store(c2p + off, x20);
      v128.store(c2p + off, x21, 16);
      v128.store(c3p + off, x30);
      v128.store(c3p + off, x31, 16);
    }
    for (; j + 4 <= n; j += 4) {
      const off = (<usize>j) << 2;
      let x0 = f32x4.splat(0);
      let x1 = f32x4.splat(0);
      let x2 = f32x4.splat(0);
      let x3 = f32x4.splat(0);
      if (accumulate) {
        x0 = v128.load(c0p + off);
        x1 = v128.load(c1p + off);
        x2 = v128.load(c2p + off);
        x3 = v128.load(c3p + off);
      }
      let bp = b + off;
      let pa: usize = 0;
      for (let p = 0; p < k; p++, pa += colA) {
        const b0 = v128.load(bp);
        x0 = madd(f32x4.splat(load<f32>(a0p + pa)), b0, x0);
        x1 = madd(f32x4.splat(load<f32>(a1p + pa)), b0, x1);
        x2 = madd(f32x4.splat(load<f32>(a2p + pa)), b0, x2);
        x3 = madd(f32x4.splat(load<f32>(a3p + pa)), b0, x3);
        bp += rowB;
      }
      v128.store(c0p + off, x0);
      v128.store(c1p + off, x1);
      v128.store(c2p + off, x2);
      v128.store(c3p + off, x3);
    }
    for (; j < n; j++) {
      const off = (<usize>j) << 2;
      let s0: f32 = accumulate ? load<f32>(c0p + off) : 0;
      let s1: f32 = accumulate ? load<f32>(c1p + off) : 0;
      let s2: f32 = accumulate ? load<f32>(c2p + off) : 0;
      let s3: f32 = accumulate ? load<f32>(c3p + off) : 0;
      let bp = b + off;
      let pa: usize = 0;
      for (let p = 0; p < k; p++, pa += colA) {
        const bv = load<f32>(bp);
        s0 += load<f32>(a0p + pa) * bv;
        s1 += load<f32>(a1p + pa) * bv;
        s2 += load<f32>(a2p + pa) * bv;
        s3 += load<f32>(a3p + pa) * bv;
        bp += rowB;
      }
      store<f32>(c0p + off, s0);
      store<f32>(c1p + off, s1);
      store<f32>(c2p + off, s2);
      store<f32>(c3p + off, s3);
    }
  }
  for (; i < m; i++) {
    const ap = a + <usize>i * rowA;
    const cp = c + <usize>i * rowB;
    let j = 0;
    for (; j + 8 <= n; j += 8) {
      const off = (<usize>j) << 2;
      let x0 = f32x4.splat(0);
      let x1 = f32x4.splat(0);
      if (accumulate) {
        x0 = v128.load(cp + off);
        x1 = v128.load(cp + off, 16);
      }
      let bp = b + off;
      for (let p = 0; p < k; p++) {
        const v = f32x4.splat(load<f32>(ap + <usize>p * colA));
        x0 = madd(v, v128.load(bp), x0);
        x1 = madd(v, v128.load(bp, 16), x1);
        bp += rowB;
      }
      v128.store(cp + off, x0);
      v128.store(cp + off, x1, 16);
    }
    for (; j + 4 <= n; j += 4) {
      const off = (<usize>j) << 2;
      let x0 = accumulate ? v128.load(cp + off) : f32x4.splat(0);
      let bp = b + off;
      for (let p = 0; p < k; p++) {
        x0 = madd(f32x4.splat(load<f32>(ap + <usize>p * colA)), v128.load(bp), x0);
        bp += rowB;
      }
      v128.store(cp + off, x0);
    }
    for (; j < n; j++) {
      const off = (<usize>j) << 2;
      let s: f32 = accumulate ? load<f32>(cp + off) : 0;
      let bp = b + off;
      for (let p = 0; p < k; p++) {
        s += load<f32>(ap + <usize>p * colA) * load<f32>(bp);
        bp += rowB;
      }
      store<f32>(cp + off, s);
    }
  }
}

/** Batched matmul: `batch` independent products at the given element strides (0 = shared operand). */
export function matmulBatched(
  a: usize,
  b: usize,
  c: usize,
  batch: i32,
  m: i32,
  k: i32,
  n: i32,
  strideA: i32,
  strideB: i32,
  strideC: i32,
  accumulate: i32,
  transA: i32,
): void {
  for (let t = 0; t < batch; t++) {
    matmulStrided(
      a + ((<usize>t * <usize>strideA) << 2),
      b + ((<usize>t * <usize>strideB) << 2),
      c + ((<usize>t * <usize>strideC) << 2),
      m,
      k,
      n,
      accumulate,
      transA ? 1 : k,
      transA ? m : 1,
    );
  }
}

/**
 * out[m, n] = x[m, k] · wT[k, n] + bias[n] (bias may be 0 = none): a linear layer whose weight was
 * transposed to [in, out] by the caller, with the bias added while the rows are still in cache.
 */
export function linear(x: usize, wT: usize, bias: usize, out: usize, m: i32, k: i32, n: i32): void {
  matmul(x, wT, out, m, k, n, 0);
  if (bias == 0) return;
  binary(0, out, bias, out, m, n, n, 1, 0, 1);
}

/**
 * C[m, n] = A[m, k] · B[n, k]ᵀ (+ bias[n] when bias ≠ 0) as dot products of rows, for few rows of A
 * (a rollout's batch of a handful of envs): no transposed copy of B, whose rows are read contiguously.
 * Two rows of A × four rows of B per block: 8 f32x4 accumulators, summed across lanes at the end.
 */
export function matmulNT(a: usize, b: usize, bias: usize, c: usize, m: i32, k: i32, n: i32): void {
  const rowA = (<usize>k) << 2;
  const k4 = k & ~3;
  let i = 0;
  for (; i < m; i += 2) {
    const twoRows = i + 1 < m;
    const a0 = a + <usize>i * rowA;
    const a1 = twoRows ? a0 + rowA : a0;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const b0 = b + <usize>j * rowA;
      const b1 = b0 + rowA;
      const b2 = b1 + rowA;
      const b3 = b2 + rowA;
      let s00 = f32x4.splat(0);
      let s01 = f32x4.splat(0);
      let s02 = f32x4.splat(0);
      let s03 = f32x4.splat(0);
      let s10 = f32x4.splat(0);
      let s11 = f32x4.splat(0);
      let s12 = f32x4.splat(0);
      let s13 = f32x4.splat(0);
      for (let p = 0; p < k4; p += 4) {
        const off = (<usize>p) << 2;
        const x0 = v128.load(a0 + off);
        const x1 = v128.load(a1 + off);
        const y0 = v128.load(b0 + off);
        const y1 = v128.load(b1 + off);
        const y2 = v128.load(b2 + off);
        const y3 = v128.load(b3 + off);
        s00 = madd(x0, y0, s00);
        s01 = madd(x0, y1, s01);
        s02 = madd(x0, y2, s02);
        s03 = madd(x0, y3, s03);
        s10 = madd(x1, y0, s10);
        s11 = madd(x1, y1, s11);
        s12 = madd(x1, y2, s12);
        s13 = madd(x1, y3, s13);
      }
      // lane sums of four accumulators at once: r[q] = Σ lanes of s0q
      let r0 = horizontalSums(s00, s01, s02, s03);
      let r1 = horizontalSums(s10, s11, s12, s13);
      for (let p = k4; p < k; p++) {
        const off = (<usize>p) << 2;
        const y = f32x4.replace_lane(
          f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(load<f32>(b0 + off)), 1, load<f32>(b1 + off)), 2, load<f32>(b2 + off)),
          3,
          load<f32>(b3 + off),
        );
        r0 = madd(f32x4.splat(load<f32>(a0 + off)), y, r0);
        r1 = madd(f32x4.splat(load<f32>(a1 + off)), y, r1);
      }
      if (bias != 0) {
        const bv = v128.load(bias + ((<usize>j) << 2));
        r0 = f32x4.add(r0, bv);
        r1 = f32x4.add(r1, bv);
      }
      v128.store(c + ((<usize>i * <usize>n + <usize>j) << 2), r0);
      if (twoRows) v128.store(c + ((<usize>(i + 1) * <usize>n + <usize>j) << 2), r1);
    }
    for (; j < n; j++) {
      const bj = b + <usize>j * rowA;
      let t0: f32 = 0;
      let t1: f32 = 0;
      for (let p = 0; p < k; p++) {
        const off = (<usize>p) << 2;
        const y = load<f32>(bj + off);
        t0 += load<f32>(a0 + off) * y;
        t1 += load<f32>(a1 + off) * y;
      }
      if (bias != 0) {
        const bj0 = load<f32>(bias + ((<usize>j) << 2));
        t0 += bj0;
        t1 += bj0;
      }
      store<f32>(c + ((<usize>i * <usize>n + <usize>j) << 2), t0);
      if (twoRows) store<f32>(c + ((<usize>(i + 1) * <usize>n + <usize>j) << 2), t1);
    }
  }
}

/** [Σ lanes of x0, Σ lanes of x1, Σ lanes of x2, Σ lanes of x3] by two rounds of pairwise shuffles. */
@inline
function horizontalSums(x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  const a = f32x4.add(v128.shuffle<f32>(x0, x1, 0, 2, 4, 6), v128.shuffle<f32>(x0, x1, 1, 3, 5, 7));
  const b = f32x4.add(v128.shuffle<f32>(x2, x3, 0, 2, 4, 6), v128.shuffle<f32>(x2, x3, 1, 3, 5, 7));
  return f32x4.add(v128.shuffle<f32>(a, b, 0, 2, 4, 6), v128.shuffle<f32>(a, b, 1, 3, 5, 7));
}

/** out[c, r] = x[r, c] for each of `batch` matrices [rows, cols], in 4×4 SIMD blocks plus scalar edges. */
export function transpose(x: usize, out: usize, batch: i32, rows: i32, cols: i32): void {
  const size = <usize>rows * <usize>cols;
  const rowBytes = (<usize>cols) << 2;
  const outRowBytes = (<usize>rows) << 2;
  for (let t = 0; t < batch; t++) {
    const xb = x + ((<usize>t * size) << 2);
    const ob = out + ((<usize>t * size) << 2);
    let r = 0;
    for (; r + 4 <= rows; r += 4) {
      const x0 = xb + <usize>r * rowBytes;
      let c = 0;
      for (; c + 4 <= cols; c += 4) {
        const off = (<usize>c) << 2;
        const r0 = v128.load(x0 + off);
        const r1 = v128.load(x0 + rowBytes + off);
        const r2 = v128.load(x0 + 2 * rowBytes + off);
        const r3 = v128.load(x0 + 3 * rowBytes + off);
        const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
        const t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
        const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
        const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
        const o0 = ob + <usize>c * outRowBytes + ((<usize>r) << 2);
        v128.store(o0, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
        v128.store(o0 + outRowBytes, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
        v128.store(o0 + 2 * outRowBytes, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
        v128.store(o0 + 3 * outRowBytes, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
      }
      for (; c < cols; c++) {
        for (let q = 0; q < 4; q++) {
          store<f32>(ob + ((<usize>c * <usize>rows + <usize>(r + q)) << 2), load<f32>(x0 + <usize>q * rowBytes + ((<usize>c) << 2)));
        }
      }
    }
    for (; r < rows; r++) {
      const xr = xb + <usize>r * rowBytes;
      for (let c = 0; c < cols; c++) {
        store<f32>(ob + ((<usize>c * <usize>rows + <usize>r) << 2), load<f32>(xr + ((<usize>c) << 2)));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// elementwise binary: op codes shared with src/tensor/backend.ts (BINARY_OPS)
// 0 add, 1 sub, 2 mul, 3 div, 4 maximum, 5 minimum, 6 pow, 7 tanhBackward (g·(1 - y²)),
// 8 reluBackward (x <= 0 ? 0 : g, x = relu input), 9 geluTanhBackward (g·gelu'(x), x = GELU input)

@inline
function binaryV(op: i32, x: v128, y: v128): v128 {
  switch (op) {
    case 0:
      return f32x4.add(x, y);
    case 1:
      return f32x4.sub(x, y);
    case 2:
      return f32x4.mul(x, y);
    case 3:
      return f32x4.div(x, y);
    case 4:
      return maxV(x, y);
    case 5:
      return minV(x, y);
    case 7:
      // tanh backward, x = tanh output y, y = incoming gradient g: g·(1 - y²)
      return f32x4.mul(y, f32x4.sub(f32x4.splat(1), f32x4.mul(x, x)));
    case 9:
      return f32x4.mul(y, geluTanhDerivativeV(x));
    default:
      // 8: relu backward, x = relu input, y = incoming gradient: clear the lanes where x <= 0
      // (a NaN input compares false and keeps its gradient, as PyTorch's threshold_backward)
      return v128.andnot(y, f32x4.le(x, f32x4.splat(0)));
  }
}

// gelu'(x) of the tanh form: ½(1 + t) + ½x(1 − t²)·c(1 + 3·0.044715x²), t = tanh(c(x + 0.044715x³))
@inline
function geluTanhDerivativeV(x: v128): v128 {
  const half = f32x4.splat(0.5);
  const one = f32x4.splat(1);
  const x2 = f32x4.mul(x, x);
  const t = tanhV(f32x4.mul(f32x4.splat(SQRT_2_OVER_PI), f32x4.add(x, f32x4.mul(f32x4.splat(0.044715), f32x4.mul(x2, x)))));
  const inner = f32x4.mul(f32x4.splat(SQRT_2_OVER_PI), f32x4.add(one, f32x4.mul(f32x4.splat(<f32>0.134145), x2)));
  const left = f32x4.mul(half, f32x4.add(one, t));
  const right = f32x4.mul(f32x4.mul(half, x), f32x4.mul(f32x4.sub(one, f32x4.mul(t, t)), inner));
  return f32x4.add(left, right);
}

// NaN-propagating max/min, as torch.maximum/minimum (f32x4.max also propagates NaN)
@inline
function maxV(x: v128, y: v128): v128 {
  return f32x4.max(x, y);
}

@inline
function minV(x: v128, y: v128): v128 {
  return f32x4.min(x, y);
}

@inline
function binaryS(op: i32, x: f32, y: f32): f32 {
  switch (op) {
    case 0:
      return x + y;
    case 1:
      return x - y;
    case 2:
      return x * y;
    case 3:
      return x / y;
    case 4:
      return x != x || y != y ? NaN : Mathf.max(x, y);
    case 5:
      return x != x || y != y ? NaN : Mathf.min(x, y);
    case 6:
      return Mathf.pow(x, y);
    case 7:
      return y * (<f32>1 - x * x);
    case 9:
      return y * f32x4.extract_lane(geluTanhDerivativeV(f32x4.splat(x)), 0);
    default:
      return x <= 0 ? 0 : y;
  }
}

/**
 * Broadcast binary op over a [outer, inner] view: a[o, i] op b[o, i] where each operand's
 * outer/inner stride is 0 (broadcast) or its natural stride. Covers same-shape (both full),
 * scalar (both strides 0), row broadcast (b inner only: bias) and column broadcast (b outer only).
 */
export function binary(
  op: i32,
  a: usize,
  b: usize,
  out: usize,
  outer: i32,
  inner: i32,
  aOuter: i32,
  aInner: i32,
  bOuter: i32,
  bInner: i32,
): void {
  for (let o = 0; o < outer; o++) {
    const ap = a + ((<usize>o * <usize>aOuter) << 2);
    const bp = b + ((<usize>o * <usize>bOuter) << 2);
    const op_ = out + ((<usize>o * <usize>inner) << 2);
    let i = 0;
    if (op != 6) {
      if (aInner == 1 && bInner == 1) {
        for (; i + 4 <= inner; i += 4) {
          const off = (<usize>i) << 2;
          v128.store(op_ + off, binaryV(op, v128.load(ap + off), v128.load(bp + off)));
        }
      } else if (aInner == 1 && bInner == 0) {
        const y = f32x4.splat(load<f32>(bp));
        for (; i + 4 <= inner; i += 4) {
          const off = (<usize>i) << 2;
          v128.store(op_ + off, binaryV(op, v128.load(ap + off), y));
        }
      } else if (aInner == 0 && bInner == 1) {
        const x = f32x4.splat(load<f32>(ap));
        for (; i + 4 <= inner; i += 4) {
          const off = (<usize>i) << 2;
          v128.store(op_ + off, binaryV(op, x, v128.load(bp + off)));
        }
      }
    }
    for (; i < inner; i++) {
      const x = load<f32>(ap + ((<usize>i * <usize>aInner) << 2));
      const y = load<f32>(bp + ((<usize>i * <usize>bInner) << 2));
      store<f32>(op_ + ((<usize>i) << 2), binaryS(op, x, y));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// elementwise unary: op codes shared with src/tensor/backend.ts (UNARY_OPS)
// 0 neg, 1 exp, 2 log, 3 sqrt, 4 tanh, 5 relu, 6 sigmoid, 7 softplus, 8 abs,
// 9 gelu (tanh form), 10 gelu (erf form), 11 square, 12 sign, 13 reciprocal, 14 erf

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const INV_SQRT2: f32 = 0.7071067811865476;

@inline
function unaryS(op: i32, x: f32): f32 {
  switch (op) {
    case 0:
      return -x;
    case 1:
      return expS(x);
    case 2:
      return Mathf.log(x);
    case 3:
      return Mathf.sqrt(x);
    case 4:
      return tanhS(x);
    case 5:
      return x > 0 || x != x ? x : 0; // NaN stays NaN, as in the SIMD body
    case 6:
      return sigmoidf(x);
    case 7:
      return softplusf(x);
    case 8:
      return Mathf.abs(x);
    case 9:
      return <f32>0.5 * x * (<f32>1 + tanhS(SQRT_2_OVER_PI * (x + <f32>0.044715 * x * x * x)));
    case 10:
      return <f32>(0.5 * <f64>x * (1.0 + erf(<f64>x * <f64>INV_SQRT2)));
    case 11:
      return x * x;
    case 12:
      return x > 0 ? 1 : x < 0 ? -1 : x;
    case 13:
      return <f32>1 / x;
    default:
      return <f32>erf(<f64>x);
  }
}

@inline
function sigmoidf(x: f32): f32 {
  if (x >= 0) return <f32>(1 / (1 + Math.exp(-(<f64>x))));
  const e = Math.exp(<f64>x);
  return <f32>(e / (1 + e));
}

// softplus(x) = log(1 + e^x) = max(x, 0) + log1p(e^-|x|), stable for large |x|
@inline
function softplusf(x: f32): f32 {
  return <f32>(Math.max(<f64>x, 0) + Math.log1p(Math.exp(-Math.abs(<f64>x))));
}

// erf through the Numerical Recipes erfc Chebyshev fit (fractional error < 1.2e-7 everywhere).
// GELU uses 0.5·x·(1 + erf(x/√2)), so that error stays below f32 resolution relative to the result.
// src/tensor/cpuBackend.ts uses the same fit so both backends agree.
function erf(x: f64): f64 {
  const z = Math.abs(x);
  const t = 1.0 / (1.0 + 0.5 * z);
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

// ---------------------------------------------------------------------------------------------
// vectorised transcendentals (4 lanes at a time). Both are accurate to a few ulp in f32, far inside
// the 1e-5 relative agreement the tests require with the cpu backend's float64 Math functions.

// exp: Cephes expf range reduction x = n·ln2 + r (ln2 split in two for exactness), a degree-6
// polynomial for e^r, and 2^n built in the exponent bits. Below -87.34 the result is 0 (and -inf
// gives exactly 0, which masked softmax rows rely on); above 88.72 it is +inf; NaN stays NaN.
@inline
function expV(x: v128): v128 {
  const hi = f32x4.splat(88.7228393555);
  const lo = f32x4.splat(-87.3365447506);
  // pmin/pmax map to single minps/maxps; the NaN-propagating min/max take several instructions
  const xc = f32x4.pmax(f32x4.pmin(x, hi), lo);
  const n = f32x4.floor(f32x4.add(f32x4.mul(xc, f32x4.splat(1.44269504089)), f32x4.splat(0.5)));
  let r = f32x4.sub(xc, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.1219444e-4)));
  let y = f32x4.splat(1.98756915e-4);
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(1.3981999507e-3));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(8.3334519073e-3));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(4.1665795894e-2));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(1.6666665459e-1));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(5.0000001201e-1));
  y = f32x4.add(f32x4.add(f32x4.mul(y, f32x4.mul(r, r)), r), f32x4.splat(1));
  // n is integral and |n| < 2^22: adding 1.5·2^23 leaves it in the low mantissa bits (cheaper than
  // a saturating float→int conversion)
  const magic = f32x4.splat(12582912.0);
  const ni = i32x4.sub(f32x4.add(n, magic), magic);
  const pow2n = i32x4.shl(i32x4.add(ni, i32x4.splat(127)), 23);
  let result = f32x4.mul(y, pow2n);
  result = v128.bitselect(f32x4.splat(0), result, f32x4.lt(x, lo));
  result = v128.bitselect(f32x4.splat(Infinity), result, f32x4.gt(x, hi));
  return result;
}

@inline
function expS(x: f32): f32 {
  return f32x4.extract_lane(expV(f32x4.splat(x)), 0);
}

// tanh: odd rational minimax approximation p(x)/q(x) of degrees 13/6 on [-7.9053, 7.9053], where
// f32 tanh is already ±1; tiny |x| returns x (the cubic term is below f32 resolution).
@inline
function tanhV(x: v128): v128 {
  const c = f32x4.splat(7.90531110763549805);
  const xc = f32x4.pmax(f32x4.pmin(x, c), f32x4.neg(c));
  const x2 = f32x4.mul(xc, xc);
  let p = f32x4.splat(-2.76076847742355e-16);
  p = f32x4.add(f32x4.mul(p, x2), f32x4.splat(2.00018790482477e-13));
  p = f32x4.add(f32x4.mul(p, x2), f32x4.splat(-8.60467152213735e-11));
  p = f32x4.add(f32x4.mul(p, x2), f32x4.splat(5.12229709037114e-8));
  p = f32x4.add(f32x4.mul(p, x2), f32x4.splat(1.48572235717979e-5));
  p = f32x4.add(f32x4.mul(p, x2), f32x4.splat(6.37261928875436e-4));
  p = f32x4.add(f32x4.mul(p, x2), f32x4.splat(4.89352455891786e-3));
  p = f32x4.mul(p, xc);
  let q = f32x4.splat(1.19825839466702e-6);
  q = f32x4.add(f32x4.mul(q, x2), f32x4.splat(1.18534705686654e-4));
  q = f32x4.add(f32x4.mul(q, x2), f32x4.splat(2.268434632439e-3));
  q = f32x4.add(f32x4.mul(q, x2), f32x4.splat(4.89352518554385e-3));
  const t = f32x4.div(p, q);
  return v128.bitselect(x, t, f32x4.lt(f32x4.abs(x), f32x4.splat(0.0004)));
}

@inline
function tanhS(x: f32): f32 {
  return f32x4.extract_lane(tanhV(f32x4.splat(x)), 0);
}

export function unary(op: i32, x: usize, out: usize, n: i32): void {
  let i = 0;
  if (op == 0) {
    for (; i + 4 <= n; i += 4)
      v128.store(out + ((<usize>i) << 2), f32x4.neg(v128.load(x + ((<usize>i) << 2))));
  } else if (op == 1) {
    for (; i + 4 <= n; i += 4) v128.store(out + ((<usize>i) << 2), expV(v128.load(x + ((<usize>i) << 2))));
  } else if (op == 4) {
    for (; i + 4 <= n; i += 4) v128.store(out + ((<usize>i) << 2), tanhV(v128.load(x + ((<usize>i) << 2))));
  } else if (op == 3) {
    for (; i + 4 <= n; i += 4)
      v128.store(out + ((<usize>i) << 2), f32x4.sqrt(v128.load(x + ((<usize>i) << 2))));
  } else if (op == 5) {
    const zero = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const v = v128.load(x + ((<usize>i) << 2));
      // relu(NaN) stays NaN as in torch: select v where v > 0 or v is NaN
      const keep = v128.or(f32x4.gt(v, zero), f32x4.ne(v, v));
      v128.store(out + ((<usize>i) << 2), v128.and(v, keep));
    }
  } else if (op == 8) {
    for (; i + 4 <= n; i += 4)
      v128.store(out + ((<usize>i) << 2), f32x4.abs(v128.load(x + ((<usize>i) << 2))));
  } else if (op == 11) {
    for (; i + 4 <= n; i += 4) {
      const v = v128.load(x + ((<usize>i) << 2));
      v128.store(out + ((<usize>i) << 2), f32x4.mul(v, v));
    }
  }
  for (; i < n; i++) store<f32>(out + ((<usize>i) << 2), unaryS(op, load<f32>(x + ((<usize>i) << 2))));
}

/** out = clamp(x, lo, hi) (NaN stays NaN). */
export function clamp(x: usize, out: usize, n: i32, lo: f32, hi: f32): void {
  for (let i = 0; i < n; i++) {
    const v = load<f32>(x + ((<usize>i) << 2));
    store<f32>(out + ((<usize>i) << 2), v < lo ? lo : v > hi ? hi : v);
  }
}

// ---------------------------------------------------------------------------------------------
// reductions over the middle axis of an [outer, len, inner] view

/** out[o, i] = Σ_l x[o, l, i] (op 0), max_l (op 1). */
export function reduce(op: i32, x: usize, out: usize, outer: i32, len: i32, inner: i32): void {
  for (let o = 0; o < outer; o++) {
    const xo = x + ((<usize>o * <usize>len * <usize>inner) << 2);
    const oo = out + ((<usize>o * <usize>inner) << 2);
    if (inner == 1) {
      // contiguous row: SIMD accumulate
      let i = 0;
      if (op == 0) {
        let acc = f32x4.splat(0);
        for (; i + 4 <= len; i += 4) acc = f32x4.add(acc, v128.load(xo + ((<usize>i) << 2)));
        let s: f32 =
          f32x4.extract_lane(acc, 0) +
          f32x4.extract_lane(acc, 1) +
          (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
        for (; i < len; i++) s += load<f32>(xo + ((<usize>i) << 2));
        store<f32>(oo, s);
      } else {
        let m: f32 = -Infinity;
        let nan = false;
        for (; i < len; i++) {
          const v = load<f32>(xo + ((<usize>i) << 2));
          if (v != v) nan = true;
          if (v > m) m = v;
        }
        store<f32>(oo, nan ? NaN : m);
      }
      continue;
    }
    // strided: accumulate whole rows of `inner` into out
    for (let i = 0; i < inner; i++) store<f32>(oo + ((<usize>i) << 2), op == 0 ? 0 : -Infinity);
    for (let l = 0; l < len; l++) {
      const xr = xo + ((<usize>l * <usize>inner) << 2);
      let i = 0;
      if (op == 0) {
        for (; i + 4 <= inner; i += 4) {
          const off = (<usize>i) << 2;
          v128.store(oo + off, f32x4.add(v128.load(oo + off), v128.load(xr + off)));
        }
        for (; i < inner; i++) {
          const off = (<usize>i) << 2;
          store<f32>(oo + off, load<f32>(oo + off) + load<f32>(xr + off));
        }
      } else {
        for (; i < inner; i++) {
          const off = (<usize>i) << 2;
          const v = load<f32>(xr + off);
          const cur = load<f32>(oo + off);
          store<f32>(oo + off, v != v || v > cur ? v : cur);
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// row-wise (last axis) softmax family and layer norm

/** out = softmax(x) (mode 0) or log_softmax(x) (mode 1) over rows of length `cols`. */
export function softmaxRows(x: usize, out: usize, rows: i32, cols: i32, mode: i32): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + ((<usize>r * <usize>cols) << 2);
    const or = out + ((<usize>r * <usize>cols) << 2);
    let m: f32 = -Infinity;
    for (let c = 0; c < cols; c++) m = Mathf.max(m, load<f32>(xr + ((<usize>c) << 2)));
    if (m == -Infinity) m = 0; // a fully masked row: keep exp(-inf - 0) = 0 instead of NaN
    let s: f64 = 0;
    for (let c = 0; c < cols; c++) {
      const e = expS(load<f32>(xr + ((<usize>c) << 2)) - m);
      if (mode == 0) store<f32>(or + ((<usize>c) << 2), e);
      s += <f64>e;
    }
    if (mode == 0) {
      const inv = <f32>(1.0 / s);
      for (let c = 0; c < cols; c++)
        store<f32>(or + ((<usize>c) << 2), load<f32>(or + ((<usize>c) << 2)) * inv);
    } else {
      const lse = m + <f32>Math.log(s);
      for (let c = 0; c < cols; c++)
        store<f32>(or + ((<usize>c) << 2), load<f32>(xr + ((<usize>c) << 2)) - lse);
    }
  }
}

/** out[r] = log Σ_c exp(x[r, c]), stable. */
export function logsumexpRows(x: usize, out: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + ((<usize>r * <usize>cols) << 2);
    let m: f32 = -Infinity;
    for (let c = 0; c < cols; c++) m = Mathf.max(m, load<f32>(xr + ((<usize>c) << 2)));
    if (m == -Infinity || m == Infinity) {
      store<f32>(out + ((<usize>r) << 2), m);
      continue;
    }
    let s: f64 = 0;
    for (let c = 0; c < cols; c++) s += <f64>expS(load<f32>(xr + ((<usize>c) << 2)) - m);
    store<f32>(out + ((<usize>r) << 2), m + <f32>Math.log(s));
  }
}

/**
 * Layer norm over rows: y = (x - mean) * rstd * gamma + beta, also writing mean and rstd per row
 * for the backward pass. Statistics in f64 (as the cpu reference) so both agree to f32 rounding.
 */
export function layerNormRows(
  x: usize,
  gamma: usize,
  beta: usize,
  out: usize,
  meanOut: usize,
  rstdOut: usize,
  rows: i32,
  cols: i32,
  eps: f32,
): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + ((<usize>r * <usize>cols) << 2);
    const or = out + ((<usize>r * <usize>cols) << 2);
    let s: f64 = 0;
    for (let c = 0; c < cols; c++) s += <f64>load<f32>(xr + ((<usize>c) << 2));
    const mean = s / <f64>cols;
    let v: f64 = 0;
    for (let c = 0; c < cols; c++) {
      const d = <f64>load<f32>(xr + ((<usize>c) << 2)) - mean;
      v += d * d;
    }
    const rstd = 1.0 / Math.sqrt(v / <f64>cols + <f64>eps);
    const m32 = <f32>mean;
    const r32 = <f32>rstd;
    store<f32>(meanOut + ((<usize>r) << 2), m32);
    store<f32>(rstdOut + ((<usize>r) << 2), r32);
    for (let c = 0; c < cols; c++) {
      const off = (<usize>c) << 2;
      const xhat = <f32>((<f64>load<f32>(xr + off) - mean) * rstd);
      store<f32>(or + off, xhat * load<f32>(gamma + off) + load<f32>(beta + off));
    }
  }
}

/**
 * Layer norm backward for rows: dx = rstd * (g·γ - mean(g·γ) - x̂ · mean(g·γ·x̂)); also accumulates
 * dgamma += Σ_r g·x̂ and dbeta += Σ_r g.
 */
export function layerNormBackwardRows(
  x: usize,
  gamma: usize,
  meanIn: usize,
  rstdIn: usize,
  g: usize,
  dx: usize,
  dgamma: usize,
  dbeta: usize,
  rows: i32,
  cols: i32,
): void {
  for (let c = 0; c < cols; c++) {
    store<f32>(dgamma + ((<usize>c) << 2), 0);
    store<f32>(dbeta + ((<usize>c) << 2), 0);
  }
  for (let r = 0; r < rows; r++) {
    const xr = x + ((<usize>r * <usize>cols) << 2);
    const gr = g + ((<usize>r * <usize>cols) << 2);
    const dr = dx + ((<usize>r * <usize>cols) << 2);
    const mean = <f64>load<f32>(meanIn + ((<usize>r) << 2));
    const rstd = <f64>load<f32>(rstdIn + ((<usize>r) << 2));
    let sumG: f64 = 0;
    let sumGX: f64 = 0;
    for (let c = 0; c < cols; c++) {
      const off = (<usize>c) << 2;
      const xhat = (<f64>load<f32>(xr + off) - mean) * rstd;
      const gv = <f64>load<f32>(gr + off);
      const gg = gv * <f64>load<f32>(gamma + off);
      sumG += gg;
      sumGX += gg * xhat;
      store<f32>(dgamma + off, load<f32>(dgamma + off) + <f32>(gv * xhat));
      store<f32>(dbeta + off, load<f32>(dbeta + off) + <f32>gv);
    }
    const meanG = sumG / <f64>cols;
    const meanGX = sumGX / <f64>cols;
    for (let c = 0; c < cols; c++) {
      const off = (<usize>c) << 2;
      const xhat = (<f64>load<f32>(xr + off) - mean) * rstd;
      const gg = <f64>load<f32>(gr + off) * <f64>load<f32>(gamma + off);
      store<f32>(dr + off, <f32>(rstd * (gg - meanG - xhat * meanGX)));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// optimizer

/** The smallest normal f32, 2^-126. */
const F32_MIN_NORMAL: f32 = 1.17549435e-38;

/**
 * One Adam/AdamW step on a flat parameter, PyTorch semantics (torch.optim.Adam, foreach=False):
 * decoupled decay p *= 1 - lr·wd (AdamW, decoupled = 1) or L2 g += wd·p (Adam);
 * m = β1 m + (1-β1) g; v = β2 v + (1-β2) g²; p -= lr/bc1 · m / (sqrt(v)/sqrt(bc2) + eps).
 */
export function adamStep(
  p: usize,
  g: usize,
  m: usize,
  v: usize,
  n: i32,
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  weightDecay: f32,
  decoupled: i32,
  biasCorrection1: f32,
  biasCorrection2Sqrt: f32,
): void {
  const stepSize = lr / biasCorrection1;
  for (let i = 0; i < n; i++) {
    const off = (<usize>i) << 2;
    let param = load<f32>(p + off);
    let grad = load<f32>(g + off);
    if (weightDecay != 0) {
      if (decoupled) param = param * (<f32>1 - lr * weightDecay);
      else grad = grad + weightDecay * param;
    }
    // subnormal moments flushed to 0 (Backend.adamStep in src/tensor/backend.ts says why)
    let mi = beta1 * load<f32>(m + off) + (<f32>1 - beta1) * grad;
    let vi = beta2 * load<f32>(v + off) + (<f32>1 - beta2) * grad * grad;
    if (Mathf.abs(mi) < F32_MIN_NORMAL) mi = 0;
    if (Mathf.abs(vi) < F32_MIN_NORMAL) vi = 0;
    store<f32>(m + off, mi);
    store<f32>(v + off, vi);
    const denom = Mathf.sqrt(vi) / biasCorrection2Sqrt + eps;
    store<f32>(p + off, param - (stepSize * mi) / denom);
  }
}

/**
 * Polyak averaging dst = (1 - tau)·dst + tau·src with the JavaScript reference's arithmetic: both
 * products and the sum in f64, one rounding to f32 on store (wasm has no implicit FMA).
 */
export function polyak(dst: usize, src: usize, n: i32, tau: f64): void {
  const keep = 1.0 - tau;
  for (let i = 0; i < n; i++) {
    const off = (<usize>i) << 2;
    store<f32>(dst + off, <f32>(keep * <f64>load<f32>(dst + off) + tau * <f64>load<f32>(src + off)));
  }
}

@inline
function dotRow(a: usize, b: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let d = 0;
  for (; d + 4 <= n; d += 4) {
    const off = (<usize>d) << 2;
    acc = f32x4.add(acc, f32x4.mul(v128.load(a + off), v128.load(b + off)));
  }
  let s: f32 =
    f32x4.extract_lane(acc, 0) +
    f32x4.extract_lane(acc, 1) +
    (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  for (; d < n; d++) s += load<f32>(a + ((<usize>d) << 2)) * load<f32>(b + ((<usize>d) << 2));
  return s;
}

/**
 * Fused attention (Backend.attention in src/tensor/backend.ts): per query row, its scores into
 * `scores` (`keys` floats of scratch), their softmax, and the weighted sum of values, so no
 * [queries, keys] matrix is written. q, out [batch, heads, queries, hd]; k, v [batch, kvHeads,
 * capacity, hd], the first `keys` positions read; query head h reads key/value head h / (heads /
 * kvHeads); `mask` additive [batch, keys], 0 for none; `causal` aligns queries to the end of the keys.
 */
export function attention(
  q: usize,
  k: usize,
  v: usize,
  mask: usize,
  out: usize,
  scores: usize,
  batch: i32,
  heads: i32,
  kvHeads: i32,
  queries: i32,
  keys: i32,
  hd: i32,
  capacity: i32,
  causal: i32,
): void {
  const scale = <f32>(1.0 / Math.sqrt(<f64>hd));
  const groups = heads / kvHeads;
  const row = (<usize>hd) << 2;
  const hd4 = hd & ~3;
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const kvOffset = <usize>(b * kvHeads + h / groups) * <usize>capacity * row;
      const kb = k + kvOffset;
      const vb = v + kvOffset;
      const mb: usize = mask == 0 ? 0 : mask + ((<usize>b * <usize>keys) << 2);
      for (let i = 0; i < queries; i++) {
        const block = <usize>((b * heads + h) * queries + i) * row;
        const qi = q + block;
        const oi = out + block;
        let visible = causal != 0 ? min(keys, i + keys - queries + 1) : keys;
        if (visible < 0) visible = 0;
        let m: f32 = -Infinity;
        for (let j = 0; j < visible; j++) {
          let score = dotRow(qi, kb + <usize>j * row, hd) * scale;
          if (mb != 0) score += load<f32>(mb + ((<usize>j) << 2));
          store<f32>(scores + ((<usize>j) << 2), score);
          m = Mathf.max(m, score);
        }
        if (m == -Infinity) m = 0;
        const mv = f32x4.splat(m);
        let j = 0;
        for (; j + 4 <= visible; j += 4) {
          const at = scores + ((<usize>j) << 2);
          v128.store(at, expV(f32x4.sub(v128.load(at), mv)));
        }
        for (; j < visible; j++) {
          const at = scores + ((<usize>j) << 2);
          store<f32>(at, expS(load<f32>(at) - m));
        }
        let sum: f64 = 0;
        for (j = 0; j < visible; j++) sum += <f64>load<f32>(scores + ((<usize>j) << 2));
        if (sum == 0) {
          // every key masked out: NaN, as softmax over a row of -Infinity (torch 1.13)
          for (let d = 0; d < hd; d++) store<f32>(oi + ((<usize>d) << 2), NaN);
          continue;
        }
        const inv = <f32>(1.0 / sum);
        memory.fill(oi, 0, row);
        for (j = 0; j < visible; j++) {
          const w = load<f32>(scores + ((<usize>j) << 2)) * inv;
          const wv = f32x4.splat(w);
          const vj = vb + <usize>j * row;
          let d = 0;
          for (; d < hd4; d += 4) {
            const off = (<usize>d) << 2;
            v128.store(oi + off, f32x4.add(v128.load(oi + off), f32x4.mul(wv, v128.load(vj + off))));
          }
          for (; d < hd; d++) {
            const off = (<usize>d) << 2;
            store<f32>(oi + off, load<f32>(oi + off) + w * load<f32>(vj + off));
          }
        }
      }
    }
  }
}
