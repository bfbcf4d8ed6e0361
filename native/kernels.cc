// Every Backend kernel for one instruction-set path. scripts/buildNative.mjs compiles this file once
// per path with different flags and macros:
//   PX_TABLE  the exported table's name (px_kernels_avx512, px_kernels_avx2, px_kernels_generic)
//   PX_ISA    its name as reported by backendInfo() ("avx512", "avx2", "generic")
//   PX_VF     floats per SIMD vector (16 with -mavx512f, 8 with -mavx2 -mfma, 4 generic)
//   PX_MR     rows of the GEMM micro-tile, PX_NV vectors per row of it (PX_NR = PX_VF * PX_NV columns)
// Everything below sits in an anonymous namespace (internal linkage) and uses no inline C++ library
// code, so no code compiled for AVX-512 can be shared with the generic object by the linker.
//
// Numerics: float32 arithmetic, with float64 for the statistics the TypeScript reference keeps in
// float64 (reduce sums, softmax denominators, layer-norm moments). FMA contraction is on
// (-ffp-contract=fast): it is what makes the GEMM fast, and elsewhere it only removes a rounding.
// Results are deterministic for a given ISA path and shape; avx512 and avx2 sum every GEMM output in
// the same order (KC below is shared by all paths) and both use FMA, so they give the same bits
// (nativeParity.test.ts checks it), except on the dot-product path (one or two rows times a
// transposed B), whose lane count is the vector width.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

#ifndef PX_TABLE
#error "compile with -DPX_TABLE=... -DPX_ISA=... -DPX_VF=... -DPX_MR=... -DPX_NV=... (scripts/buildNative.mjs)"
#endif

namespace {

constexpr int VF = PX_VF;
constexpr int MR = PX_MR;
constexpr int NV = PX_NV;
constexpr int NR = VF * NV;
// K is blocked so that a B panel (KC x NR floats: 32 KiB at NR = 32) stays in L1 while the micro-tile
// walks it, and the B block (KC x NC: 512 KiB) in L2. Shared by all paths: it fixes the order in
// which each output sums its terms.
constexpr int64_t KC = 256;
constexpr int64_t NC = 512;
// Row-major B is read in place (no copy) unless at least this many rows of A will stream over it:
// then contiguous panels pay for their copy in fewer cache and TLB misses. RL's batches (64-2048
// rows of 64-256 wide layers) stay below the cost of a copy either way; on this shared 2-core machine
// the difference at 512^3 was within the run-to-run noise (56-64 GFLOP/s both ways), so the
// threshold follows the usual cache argument rather than a clean measurement.
constexpr int64_t PACK_MIN_ROWS = 256;
static_assert(NC % 32 == 0, "NC must be a multiple of every path's NR");

typedef float vf __attribute__((vector_size(VF * 4)));
typedef float vfu __attribute__((vector_size(VF * 4), aligned(4), may_alias));
typedef float v4u __attribute__((vector_size(16), aligned(4), may_alias));
typedef double vd4 __attribute__((vector_size(32)));

inline vf loadu(const float* p) { return *reinterpret_cast<const vfu*>(p); }
inline void storeu(float* p, vf v) { *reinterpret_cast<vfu*>(p) = v; }
inline vf splat(float x) { return x - vf{}; }  // x - (+0) is x for every x, so this folds to a broadcast
inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }

/** Scratch owned by the calling thread (worker threads may load the addon too); grows, never shrinks. */
template <typename T>
struct Scratch {
  T* data = nullptr;
  int64_t size = 0;
  T* get(int64_t n) {
    if (n > size) {
      free(data);
      // 64-byte aligned for full-width vector loads of packed panels
      data = static_cast<T*>(aligned_alloc(64, ((n * sizeof(T) + 63) / 64) * 64));
      if (data == nullptr) abort();
      size = n;
    }
    return data;
  }
};
thread_local Scratch<float> packScratch;
thread_local Scratch<double> doubleScratch;

// ---------------------------------------------------------------------------------------------
// GEMM. Why a hand-written kernel rather than a system BLAS, measured (2026-12-01, this 2-core AMD
// EPYC with AVX-512, one thread, best of 7, GFLOP/s; OpenBLAS 0.3.21 from Debian, OPENBLAS_NUM_THREADS=1,
// called through cblas_sgemm from a one-off C++ harness, not kept, with no N-API in between):
//
//   m x k x n, op        OpenBLAS   this kernel avx512   this kernel avx2
//   64x4x256,   x·Wᵀ        17.1         26.2                23.8
//   64x256x256, x·Wᵀ        32.9         48.9                29.3
//   256x64x256, gᵀ·x        34.0         65.4                30.7
//   64x256x256, g·W         33.9         71.9                36.1
//   2048x64x64, x·Wᵀ        27.1         56.2                25.8
//   512x512x512             26.8         66.9                26.8
//   1x256x256,  x·Wᵀ         2.4         18.6                16.7
//
// OpenBLAS picks its Haswell (AVX2) kernels on this CPU (openblas_get_corename) and matches our avx2
// path; our AVX-512 path is 1.5-2.5x faster, and at one row a BLAS call's fixed costs dominate.
// Besides, a fresh machine has no optimised BLAS (only Debian's reference libblas, or none), so
// linking one would make speed depend on what happens to be installed. Hence a self-contained kernel.
//
// Scheme (the usual Goto/BLIS one, minus A packing): C is cut into MR x NR micro-tiles whose
// MR*NV vector accumulators stay in registers for a whole KC block; each step broadcasts MR values
// of A (read in place through row/column strides, so transA costs nothing) and FMAs them with NV
// vectors of B. B is read in place when it is row-major and the panel is full; transposed B
// (x·Wᵀ of a linear layer) and the ragged last panel are packed into [KC][NR] panels first.

template <int R>
void micro(int64_t kc, const float* __restrict a, int64_t rsA, int64_t csA, const float* __restrict b,
           int64_t ldb, float* __restrict c, int64_t ldc, bool add) {
  vf acc[R][NV];
#pragma GCC unroll 16
  for (int i = 0; i < R; i++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) acc[i][v] = vf{};
  for (int64_t p = 0; p < kc; p++) {
    vf bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) bv[v] = loadu(b + p * ldb + v * VF);
    const float* ap = a + p * csA;
#pragma GCC unroll 16
    for (int i = 0; i < R; i++) {
      const vf av = splat(ap[i * rsA]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) acc[i][v] += av * bv[v];
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < R; i++) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) {
      float* cp = c + i * ldc + v * VF;
      storeu(cp, add ? loadu(cp) + acc[i][v] : acc[i][v]);
    }
  }
}

typedef void (*MicroFn)(int64_t, const float*, int64_t, int64_t, const float*, int64_t, float*, int64_t, bool);
static_assert(MR <= 14, "extend MICRO");
const MicroFn MICRO[15] = {nullptr,    micro<1>,  micro<2>,  micro<3>,  micro<4>,
                           micro<5>,   micro<6>,  micro<7>,  micro<8>,  micro<9>,
                           micro<10>,  micro<11>, micro<12>, micro<13>, micro<14>};

typedef float v4 __attribute__((vector_size(16)));

/** Pack columns j0..j0+nr of rows p0..p0+kc of B (row-major [k, n], or [n, k] when transB; ldb floats
 * between stored rows) as [kc][NR]. */
void packPanel(const float* b, int64_t ldb, bool transB, int64_t p0, int64_t kc, int64_t j0, int64_t nr,
               float* __restrict dst) {
  if (transB) {
    // 4x4 blocks transposed in registers: reads and writes both stay 16-byte contiguous
    int64_t jj = 0;
    for (; jj + 4 <= nr; jj += 4) {
      const float* s0 = b + (j0 + jj) * ldb + p0;
      const float* s1 = s0 + ldb;
      const float* s2 = s1 + ldb;
      const float* s3 = s2 + ldb;
      int64_t p = 0;
      for (; p + 4 <= kc; p += 4) {
        const v4 r0 = *reinterpret_cast<const v4u*>(s0 + p), r1 = *reinterpret_cast<const v4u*>(s1 + p);
        const v4 r2 = *reinterpret_cast<const v4u*>(s2 + p), r3 = *reinterpret_cast<const v4u*>(s3 + p);
        typedef int i4 __attribute__((vector_size(16)));
        const v4 t0 = __builtin_shuffle(r0, r1, i4{0, 4, 1, 5}), t1 = __builtin_shuffle(r0, r1, i4{2, 6, 3, 7});
        const v4 t2 = __builtin_shuffle(r2, r3, i4{0, 4, 1, 5}), t3 = __builtin_shuffle(r2, r3, i4{2, 6, 3, 7});
        float* d = dst + p * NR + jj;
        *reinterpret_cast<v4u*>(d) = __builtin_shuffle(t0, t2, i4{0, 1, 4, 5});
        *reinterpret_cast<v4u*>(d + NR) = __builtin_shuffle(t0, t2, i4{2, 3, 6, 7});
        *reinterpret_cast<v4u*>(d + 2 * NR) = __builtin_shuffle(t1, t3, i4{0, 1, 4, 5});
        *reinterpret_cast<v4u*>(d + 3 * NR) = __builtin_shuffle(t1, t3, i4{2, 3, 6, 7});
      }
      for (; p < kc; p++) {
        float* d = dst + p * NR + jj;
        d[0] = s0[p], d[1] = s1[p], d[2] = s2[p], d[3] = s3[p];
      }
    }
    for (; jj < nr; jj++) {
      const float* src = b + (j0 + jj) * ldb + p0;
      for (int64_t p = 0; p < kc; p++) dst[p * NR + jj] = src[p];
    }
  } else {
    for (int64_t p = 0; p < kc; p++) {
      const float* src = b + (p0 + p) * ldb + j0;
      for (int64_t jj = 0; jj < nr; jj++) dst[p * NR + jj] = src[jj];
    }
  }
  if (nr < NR)
    for (int64_t p = 0; p < kc; p++)
      for (int64_t jj = nr; jj < NR; jj++) dst[p * NR + jj] = 0.0f;
}

/** Σ x[i]·y[i] over n floats: VF-lane accumulators, then the lanes in order, then the tail. */
inline float dot(const float* __restrict x, const float* __restrict y, int64_t n) {
  vf acc0 = vf{}, acc1 = vf{};
  int64_t i = 0;
  for (; i + 2 * VF <= n; i += 2 * VF) {
    acc0 += loadu(x + i) * loadu(y + i);
    acc1 += loadu(x + i + VF) * loadu(y + i + VF);
  }
  for (; i + VF <= n; i += VF) acc0 += loadu(x + i) * loadu(y + i);
  acc0 += acc1;
  float s = 0.0f;
  for (int v = 0; v < VF; v++) s += acc0[v];
  for (; i < n; i++) s += x[i] * y[i];
  return s;
}

// Rows at or below this, with transposed B (x·Wᵀ, a rollout's forward pass at m = 1), use dot
// products against B's rows instead of packing Bᵀ: packing would copy all of B to use each value once
// (1x256x256: 27 µs packed, a few µs as dot products).
constexpr int64_t DOT_ROWS = 2;
thread_local Scratch<float> narrowScratch;

/**
 * One micro-tile row block times one packed [kc][NR] panel: C[mr, nr] (+)= A·panel, through a full
 * tile and back when the panel is ragged (nr < NR). Shared by gemmTiles and linearPackedRows, so a
 * prepacked product runs exactly the packed one's operations.
 */
inline void panelProduct(MicroFn kernel, int64_t kc, const float* ap, int64_t rsA, int64_t csA, const float* panel,
                         float* cp, int64_t ldc, int64_t mr, int64_t nr, bool add) {
  if (nr == NR) {
    kernel(kc, ap, rsA, csA, panel, NR, cp, ldc, add);
    return;
  }
  alignas(64) float tile[MR * NR];
  kernel(kc, ap, rsA, csA, panel, NR, tile, NR, false);
  for (int64_t i = 0; i < mr; i++)
    for (int64_t j = 0; j < nr; j++) cp[i * ldc + j] = add ? cp[i * ldc + j] + tile[i * NR + j] : tile[i * NR + j];
}

/**
 * The tiled product: C[m,n] (+)= A·B with A read through (rsA, csA) and B row-major [k,n] or, when
 * transB, [n,k], with `ldb` floats between B's stored rows. Packing follows `fullM`, the height of
 * the whole product, but only changes where B is read from, never the sum: every element of C is
 * Σ_p A[i,p]·B[p,j] as FMAs in p order within each KC block, blocks added in order.
 */
void gemmTiles(const float* a, int64_t rsA, int64_t csA, const float* b, int64_t ldb, bool transB, float* c,
               int64_t m, int64_t k, int64_t n, bool accumulate, int64_t fullM) {
  float* pack = packScratch.get(KC * NC);
  // row-major B is read in place when few row panels reuse it; past that, contiguous panels pay
  const bool packB = transB || fullM >= PACK_MIN_ROWS;
  for (int64_t jc = 0; jc < n; jc += NC) {
    const int64_t nc = imin(NC, n - jc);
    for (int64_t pc = 0; pc < k; pc += KC) {
      const int64_t kc = imin(KC, k - pc);
      const bool add = accumulate || pc > 0;
      for (int64_t jr = 0; jr < nc; jr += NR) {
        const int64_t nr = imin(NR, nc - jr);
        if (packB || nr < NR) packPanel(b, ldb, transB, pc, kc, jc + jr, nr, pack + (jr / NR) * kc * NR);
      }
      for (int64_t ir = 0; ir < m; ir += MR) {
        const int64_t mr = imin(MR, m - ir);
        const MicroFn kernel = MICRO[mr];
        const float* ap = a + ir * rsA + pc * csA;
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int64_t nr = imin(NR, nc - jr);
          float* cp = c + ir * n + jc + jr;
          if (!packB && nr == NR) kernel(kc, ap, rsA, csA, b + pc * ldb + jc + jr, ldb, cp, n, add);
          else panelProduct(kernel, kc, ap, rsA, csA, pack + (jr / NR) * kc * NR, cp, n, mr, nr, add);
        }
      }
    }
  }
}

/**
 * C[m,n] (+)= A·B with A read through (rsA, csA) and B row-major [k,n] or, when transB, [n,k]. The
 * shape-dependent choices (dot products, packing B, the transposed product) follow `fullM`, `n` and
 * the strides, never the row block: when this call computes one row block of a product, every
 * element of C is the same sequence of operations however the rows are split.
 */
void gemm(const float* a, int64_t rsA, int64_t csA, const float* b, bool transB, float* c, int64_t m, int64_t k,
          int64_t n, bool accumulate, int64_t fullM) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (!accumulate) memset(c, 0, sizeof(float) * m * n);
    return;
  }
  const int64_t ldb = transB ? k : n;
  if (transB && csA == 1 && fullM <= DOT_ROWS) {
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) {
        const float d = dot(a + i * rsA, b + j * k, k);
        c[i * n + j] = accumulate ? c[i * n + j] + d : d;
      }
    return;
  }
  // Two products into a narrow C run as tiles of Cᵀ, which are full width where C's would be mostly
  // padding past n. Same sum for every element (the FMAs commute, and Cᵀ starts from C when
  // accumulating), so the same bits:
  // - A read down its columns (gᵀ·x, a layer's weight gradient): Cᵀ = Bᵀ·Aᵀ (256x256x4: 21 µs as C's
  //   tiles);
  // - x·Wᵀ (a policy or value head, 64 inputs into 1 or 2 outputs): Cᵀ = W·xᵀ, W's rows broadcast and
  //   x packed as the panel (256x64x2: 6.6 µs as C's tiles, 4.4 µs as Cᵀ's).
  const bool readDownColumns = rsA == 1 && csA != 1;
  const bool narrowHead = transB && csA == 1;
  if ((readDownColumns || narrowHead) && n < NR && fullM >= NR) {
    float* ct = narrowScratch.get(n * m);
    if (accumulate)
      for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) ct[j * m + i] = c[i * n + j];
    if (narrowHead) gemmTiles(b, k, 1, a, rsA, true, ct, n, k, m, accumulate, n);
    // Bᵀ as the left operand: (j, p) is B's (p, j); Aᵀ as row-major [k, m] with csA between rows
    else if (transB) gemmTiles(b, k, 1, a, csA, false, ct, n, k, m, accumulate, n);
    else gemmTiles(b, 1, n, a, csA, false, ct, n, k, m, accumulate, n);
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) c[i * n + j] = ct[j * m + i];
    return;
  }
  gemmTiles(a, rsA, csA, b, ldb, transB, c, m, k, n, accumulate, fullM);
}

void matmul(const float* a, const float* b, float* c, int64_t batch, int64_t m, int64_t k, int64_t n, int transA,
            int transB, int64_t strideA, int64_t strideB, int accumulate) {
  for (int64_t t = 0; t < batch; t++) {
    const float* at = a + t * strideA;
    const float* bt = b + t * strideB;
    float* ct = c + t * m * n;
    // A [m,k] row-major: element (i,p) at i*k + p; transposed (stored [k,m]): at p*m + i
    if (transA) gemm(at, 1, m, bt, transB != 0, ct, m, k, n, accumulate != 0, m);
    else gemm(at, k, 1, bt, transB != 0, ct, m, k, n, accumulate != 0, m);
  }
}

void linear(const float* x, const float* w, const float* bias, float* out, int64_t m, int64_t k, int64_t n) {
  // the bias first, then the product accumulated onto it: one pass over the output for both
  if (bias != nullptr)
    for (int64_t i = 0; i < m; i++) memcpy(out + i * n, bias, sizeof(float) * n);
  gemm(x, k, 1, w, true, out, m, k, n, bias != nullptr, m);
}

// ---------------------------------------------------------------------------------------------
// Prepacked weights. gemmTiles packs a transposed B (a linear layer's weight) on every call; at the
// few rows of cached generation (8 sequences, one token each) that copy costs more than the product:
// measured on this machine, x·Wᵀ over a GPT's 17 MB of weights took 2.0-2.5 ms at 8 rows and 2.1 ms
// at 16 (the packing, not the FMAs), against 0.84 ms at 1 row (dot products, no packing). So a weight
// that will not change for a while (a model's parameters during generate()) is packed once into the
// exact panels gemmTiles would build, in the order it walks them, and read from there: the same FMAs
// in the same order, so the same bits as the unpacked call.

/** Floats of W [n, k] packed as gemmTiles' [KC][NR] panels: every column block padded to NR. */
int64_t packedLinearSize(int64_t k, int64_t n) { return k * NR * ((n + NR - 1) / NR); }

/** Column block jc, K block pc of a packed W: the blocks before it hold jc·k floats (NC is a multiple
 * of NR, so every full column block has NC columns), then pc·NR floats per panel of this block. */
inline int64_t packedOffset(int64_t jc, int64_t pc, int64_t k, int64_t n) {
  const int64_t panels = (imin(NC, n - jc) + NR - 1) / NR;
  return jc * k + pc * NR * panels;
}

/** Pack W [n, k] (a linear layer's weight, read as a transposed B) for linearPackedRows. */
void packLinear(const float* w, int64_t k, int64_t n, float* dst) {
  for (int64_t jc = 0; jc < n; jc += NC) {
    const int64_t nc = imin(NC, n - jc);
    for (int64_t pc = 0; pc < k; pc += KC) {
      const int64_t kc = imin(KC, k - pc);
      float* block = dst + packedOffset(jc, pc, k, n);
      for (int64_t jr = 0; jr < nc; jr += NR) packPanel(w, k, true, pc, kc, jc + jr, imin(NR, nc - jr), block + (jr / NR) * kc * NR);
    }
  }
}

/**
 * Rows [0, m) and columns [j0, j1) of out[fullM, n] (+)= x · Wᵀ from W packed by packLinear (j0 and j1
 * multiples of NR, or j1 = n): gemmTiles' loop for a transposed B with the packing taken out, so the
 * same bits. At fullM <= DOT_ROWS the unpacked call takes dot products instead (no packing to save), so
 * this does the same, from `w`.
 */
void linearPackedRows(const float* x, const float* w, const float* packed, float* c, int64_t m, int64_t k, int64_t n,
                      int64_t j0, int64_t j1, int accumulate, int64_t fullM) {
  if (m == 0 || j1 <= j0) return;
  if (k == 0) {
    if (!accumulate)
      for (int64_t i = 0; i < m; i++) memset(c + i * n + j0, 0, sizeof(float) * (j1 - j0));
    return;
  }
  if (fullM <= DOT_ROWS) {
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = j0; j < j1; j++) {
        const float d = dot(x + i * k, w + j * k, k);
        c[i * n + j] = accumulate ? c[i * n + j] + d : d;
      }
    return;
  }
  for (int64_t jc = (j0 / NC) * NC; jc < j1; jc += NC) {
    const int64_t nc = imin(NC, n - jc);
    for (int64_t pc = 0; pc < k; pc += KC) {
      const int64_t kc = imin(KC, k - pc);
      const bool add = accumulate || pc > 0;
      const float* block = packed + packedOffset(jc, pc, k, n);
      for (int64_t ir = 0; ir < m; ir += MR) {
        const int64_t mr = imin(MR, m - ir);
        const MicroFn kernel = MICRO[mr];
        const float* ap = x + ir * k + pc;
        for (int64_t jr = 0; jr < nc; jr += NR) {
          if (jc + jr < j0 || jc + jr >= j1) continue;
          panelProduct(kernel, kc, ap, k, 1, block + (jr / NR) * kc * NR, c + ir * n + jc + jr, n, mr,
                       imin(NR, nc - jr), add);
        }
      }
    }
  }
}

void gemmRows(const float* a, int64_t rsA, int64_t csA, const float* b, int transB, float* c, int64_t m, int64_t k,
              int64_t n, int accumulate, int64_t fullM) {
  gemm(a, rsA, csA, b, transB != 0, c, m, k, n, accumulate != 0, fullM);
}

// ---------------------------------------------------------------------------------------------
// Elementwise. Written as plain loops over branch-free scalar functions so that GCC vectorises them
// for the path's vector width; transcendentals are polynomial (ported from the wasm kernels,
// src/kernels/index.ts) because libm calls would keep the loops scalar.

inline float bitsToFloat(int32_t i) { return __builtin_bit_cast(float, i); }
inline int32_t floatToBits(float f) { return __builtin_bit_cast(int32_t, f); }

// exp: Cephes expf: x = n·ln2 + r (ln2 split in two), degree-6 polynomial for e^r, 2^n in the exponent
// bits. Below -87.34 gives 0 (so exp(-inf) = 0 exactly, which masked softmax rows rely on), above
// 88.72 +inf, NaN stays NaN. A few ulp from the correctly rounded value.
inline float pxexp(float x) {
  const float hi = 88.7228393555f, lo = -87.3365447506f;
  float xc = hi < x ? hi : x;
  xc = xc < lo ? lo : xc;
  // round to nearest by the 1.5·2^23 trick: n is integral, |n| <= 128
  const float magic = 12582912.0f;
  const float t = xc * 1.44269504089f + magic;
  const float nf = t - magic;
  float r = xc - nf * 0.693359375f;
  r = r - nf * -2.12194440e-4f;
  float y = 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * (r * r) + r + 1.0f;
  const int32_t ni = floatToBits(t) - floatToBits(magic);
  // 2^n as two factors so n = 128 (x near 88.72) does not overflow the exponent field
  const int32_t h = ni >> 1;
  float result = y * bitsToFloat((h + 127) << 23) * bitsToFloat((ni - h + 127) << 23);
  result = x < lo ? 0.0f : result;
  result = x > hi ? __builtin_inff() : result;
  return result;
}

// tanh: the wasm kernel's odd rational minimax approximation p(x)/q(x) on [-7.9053, 7.9053], where
// float32 tanh is already ±1; tiny |x| returns x.
inline float pxtanh(float x) {
  const float c = 7.90531110763549805f;
  float xc = c < x ? c : x;
  xc = xc < -c ? -c : xc;
  const float x2 = xc * xc;
  float p = -2.76076847742355e-16f;
  p = p * x2 + 2.00018790482477e-13f;
  p = p * x2 + -8.60467152213735e-11f;
  p = p * x2 + 5.12229709037114e-8f;
  p = p * x2 + 1.48572235717979e-5f;
  p = p * x2 + 6.37261928875436e-4f;
  p = p * x2 + 4.89352455891786e-3f;
  p = p * xc;
  float q = 1.19825839466702e-6f;
  q = q * x2 + 1.18534705686654e-4f;
  q = q * x2 + 2.268434632439e-3f;
  q = q * x2 + 4.89352518554385e-3f;
  const float t = p / q;
  return __builtin_fabsf(x) < 0.0004f ? x : t;
}

/** d/dx of GPT-2's tanh GELU: ½(1 + t) + ½x(1 − t²)·c(1 + 3·0.044715x²), t = tanh(c(x + 0.044715x³)). */
inline float pxgeluTanhDerivative(float x) {
  const float c = 0.7978845608028654f;
  const float t = pxtanh(c * (x + 0.044715f * x * x * x));
  return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * c * (1.0f + 0.134145f * x * x);
}

inline float pxsigmoid(float x) {
  const float e = pxexp(-__builtin_fabsf(x));
  const float s = 1.0f / (1.0f + e);
  return x >= 0.0f ? s : e * s;
}

// erf: the Numerical Recipes erfc fit of the reference (cpuBackend.ts erf), in float64: in float32
// `1 - erfc` loses the relative accuracy of small results
inline double pxerf(double x) {
  const double z = __builtin_fabs(x);
  const double t = 1.0 / (1.0 + 0.5 * z);
  const double poly =
      -z * z - 1.26551223 +
      t * (1.00002368 +
           t * (0.37409196 +
                t * (0.09678418 +
                     t * (-0.18628806 +
                          t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const double erfc = t * exp(poly);
  return x >= 0 ? 1.0 - erfc : erfc - 1.0;
}

inline bool isnan_(float x) { return x != x; }

template <typename F>
void binaryLoop(F f, const float* __restrict a, const float* __restrict b, float* __restrict out, int64_t outer,
                int64_t inner, int64_t aOuter, int64_t aInner, int64_t bOuter, int64_t bInner) {
  for (int64_t o = 0; o < outer; o++) {
    const float* ap = a + o * aOuter;
    const float* bp = b + o * bOuter;
    float* op = out + o * inner;
    // the common views get loops the compiler vectorises; the rest take strides
    if (aInner == 1 && bInner == 1) {
      for (int64_t i = 0; i < inner; i++) op[i] = f(ap[i], bp[i]);
    } else if (aInner == 1 && bInner == 0) {
      const float bv = bp[0];
      for (int64_t i = 0; i < inner; i++) op[i] = f(ap[i], bv);
    } else if (aInner == 0 && bInner == 1) {
      const float av = ap[0];
      for (int64_t i = 0; i < inner; i++) op[i] = f(av, bp[i]);
    } else {
      for (int64_t i = 0; i < inner; i++) op[i] = f(ap[i * aInner], bp[i * bInner]);
    }
  }
}

// The restrict qualifiers above promise no overlap; an in-place call (out == a or b) is still
// correct because every element is read before the same index is written, and no other one after.
void binary(int op, const float* a, const float* b, float* out, int64_t outer, int64_t inner, int64_t aOuter,
            int64_t aInner, int64_t bOuter, int64_t bInner) {
#define PX_BINARY(EXPR) \
  binaryLoop([](float x, float y) { return EXPR; }, a, b, out, outer, inner, aOuter, aInner, bOuter, bInner)
  switch (op) {
    case 0: PX_BINARY(x + y); break;
    case 1: PX_BINARY(x - y); break;
    case 2: PX_BINARY(x * y); break;
    case 3: PX_BINARY(x / y); break;
    case 4: PX_BINARY(isnan_(x) || isnan_(y) ? x + y : (x > y ? x : y)); break;
    case 5: PX_BINARY(isnan_(x) || isnan_(y) ? x + y : (x < y ? x : y)); break;
    case 6: PX_BINARY(powf(x, y)); break;
    case 7: PX_BINARY(y * (1.0f - x * x)); break;
    case 8: PX_BINARY(x <= 0.0f ? 0.0f : y); break;
    case 9: PX_BINARY(y * pxgeluTanhDerivative(x)); break;
    default: break;
  }
#undef PX_BINARY
}

void unary(int op, const float* x, float* out, int64_t n) {
  const float sqrt2OverPi = 0.7978845608028654f;
#define PX_UNARY(EXPR)                  \
  for (int64_t i = 0; i < n; i++) {     \
    const float v = x[i];               \
    out[i] = EXPR;                      \
  }
  switch (op) {
    case 0: PX_UNARY(-v); break;
    case 1: PX_UNARY(pxexp(v)); break;
    case 2: PX_UNARY(logf(v)); break;
    case 3: PX_UNARY(__builtin_sqrtf(v)); break;
    case 4: PX_UNARY(pxtanh(v)); break;
    case 5: PX_UNARY(v > 0.0f || isnan_(v) ? v : 0.0f); break;
    case 6: PX_UNARY(pxsigmoid(v)); break;
    case 7: PX_UNARY((v > 0.0f || isnan_(v) ? v : 0.0f) + log1pf(pxexp(-__builtin_fabsf(v)))); break;
    case 8: PX_UNARY(__builtin_fabsf(v)); break;
    case 9: PX_UNARY(0.5f * v * (1.0f + pxtanh(sqrt2OverPi * (v + 0.044715f * v * v * v)))); break;
    case 10: PX_UNARY(static_cast<float>(0.5 * v * (1.0 + pxerf(v * 0.7071067811865476)))); break;
    case 11: PX_UNARY(v * v); break;
    case 12: PX_UNARY(v > 0.0f ? 1.0f : (v < 0.0f ? -1.0f : v)); break;
    case 13: PX_UNARY(1.0f / v); break;
    case 14: PX_UNARY(static_cast<float>(pxerf(v))); break;
    default: break;
  }
#undef PX_UNARY
}

void clamp(const float* x, float* out, int64_t n, float lo, float hi) {
  for (int64_t i = 0; i < n; i++) {
    const float v = x[i];
    out[i] = v < lo ? lo : (v > hi ? hi : v);
  }
}

/** Σ x[0..n) in float64: four double lanes twice over (vectorised), then the lanes, then the tail. */
double sumDouble(const float* x, int64_t n) {
  vd4 acc0 = vd4{}, acc1 = vd4{};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    acc0 += __builtin_convertvector(*reinterpret_cast<const v4u*>(x + i), vd4);
    acc1 += __builtin_convertvector(*reinterpret_cast<const v4u*>(x + i + 4), vd4);
  }
  acc0 += acc1;
  double s = (acc0[0] + acc0[1]) + (acc0[2] + acc0[3]);
  for (; i < n; i++) s += x[i];
  return s;
}

/** max that propagates NaN from either side, as the reference's loop does */
inline float maxNan(float m, float v) { return v > m || isnan_(v) ? v : m; }

void reduce(int op, const float* x, float* out, int64_t outer, int64_t len, int64_t inner) {
  if (op == 0) {
    if (inner == 1) {
      for (int64_t o = 0; o < outer; o++) out[o] = static_cast<float>(sumDouble(x + o * len, len));
      return;
    }
    double* acc = doubleScratch.get(inner);
    for (int64_t o = 0; o < outer; o++) {
      for (int64_t i = 0; i < inner; i++) acc[i] = 0.0;
      const float* xo = x + o * len * inner;
      for (int64_t l = 0; l < len; l++)
        for (int64_t i = 0; i < inner; i++) acc[i] += xo[l * inner + i];
      for (int64_t i = 0; i < inner; i++) out[o * inner + i] = static_cast<float>(acc[i]);
    }
    return;
  }
  for (int64_t o = 0; o < outer; o++) {
    const float* xo = x + o * len * inner;
    float* oo = out + o * inner;
    for (int64_t i = 0; i < inner; i++) oo[i] = -__builtin_inff();
    for (int64_t l = 0; l < len; l++) {
      // once NaN, maxNan keeps it: v > NaN is false and a later v is not NaN
      for (int64_t i = 0; i < inner; i++) {
        const float v = xo[l * inner + i];
        oo[i] = isnan_(oo[i]) ? oo[i] : maxNan(oo[i], v);
      }
    }
  }
}

float rowMax(const float* x, int64_t cols) {
  float m = -__builtin_inff();
  for (int64_t c = 0; c < cols; c++) m = isnan_(m) ? m : maxNan(m, x[c]);
  return m;
}

thread_local Scratch<float> expScratch;

/**
 * Σ_c exp(x[c] − m) in float64: the exponentials into a scratch row (a loop the compiler vectorises),
 * then sumDouble's lanes. Adding each one into a double as it was made was one dependent add per
 * element, the latency chain that made a 4096-wide log-softmax cost 4% of a GPT training step.
 */
double sumOfExps(const float* x, float m, int64_t cols) {
  float* e = expScratch.get(cols > 0 ? cols : 1);
  for (int64_t c = 0; c < cols; c++) e[c] = pxexp(x[c] - m);
  return sumDouble(e, cols);
}

void softmaxRows(const float* x, float* out, int64_t rows, int64_t cols, int log) {
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    float* orow = out + r * cols;
    float m = rowMax(xr, cols);
    if (m == -__builtin_inff()) m = 0.0f;  // fully masked row: exp(-inf) = 0 rather than NaN
    if (log) {
      const float lse = static_cast<float>(m + ::log(sumOfExps(xr, m, cols)));
      for (int64_t c = 0; c < cols; c++) orow[c] = xr[c] - lse;
    } else {
      for (int64_t c = 0; c < cols; c++) orow[c] = pxexp(xr[c] - m);
      const float inv = static_cast<float>(1.0 / sumDouble(orow, cols));
      for (int64_t c = 0; c < cols; c++) orow[c] *= inv;
    }
  }
}

void logsumexpRows(const float* x, float* out, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    const float m = rowMax(xr, cols);
    if (isnan_(m) || m == __builtin_inff() || m == -__builtin_inff()) {
      out[r] = m;
      continue;
    }
    out[r] = static_cast<float>(m + ::log(sumOfExps(xr, m, cols)));
  }
}

void layerNormRows(const float* x, const float* gamma, const float* beta, float* out, float* mean, float* rstd,
                   int64_t rows, int64_t cols, float eps) {
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    const double mu = sumDouble(xr, cols) / static_cast<double>(cols);
    double var = 0.0;
    for (int64_t c = 0; c < cols; c++) {
      const double d = xr[c] - mu;
      var += d * d;
    }
    const double rs = 1.0 / sqrt(var / static_cast<double>(cols) + eps);
    mean[r] = static_cast<float>(mu);
    rstd[r] = static_cast<float>(rs);
    float* orow = out + r * cols;
    for (int64_t c = 0; c < cols; c++) {
      const float xhat = static_cast<float>((xr[c] - mu) * rs);
      orow[c] = xhat * gamma[c] + beta[c];
    }
  }
}

void layerNormBackwardRows(const float* x, const float* gamma, const float* mean, const float* rstd, const float* g,
                           float* dx, float* dgamma, float* dbeta, int64_t rows, int64_t cols) {
  double* acc = doubleScratch.get(2 * cols);
  double* dgammaAcc = acc;
  double* dbetaAcc = acc + cols;
  for (int64_t c = 0; c < 2 * cols; c++) acc[c] = 0.0;
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    const float* gr = g + r * cols;
    const double mu = mean[r];
    const double rs = rstd[r];
    double sumG = 0.0, sumGX = 0.0;
    for (int64_t c = 0; c < cols; c++) {
      const double xhat = (xr[c] - mu) * rs;
      const double gv = gr[c];
      const double gg = gv * gamma[c];
      sumG += gg;
      sumGX += gg * xhat;
      dgammaAcc[c] += gv * xhat;
      dbetaAcc[c] += gv;
    }
    const double meanG = sumG / static_cast<double>(cols);
    const double meanGX = sumGX / static_cast<double>(cols);
    float* dxr = dx + r * cols;
    for (int64_t c = 0; c < cols; c++) {
      const double xhat = (xr[c] - mu) * rs;
      dxr[c] = static_cast<float>(rs * (static_cast<double>(gr[c]) * gamma[c] - meanG - xhat * meanGX));
    }
  }
  for (int64_t c = 0; c < cols; c++) {
    dgamma[c] = static_cast<float>(dgammaAcc[c]);
    dbeta[c] = static_cast<float>(dbetaAcc[c]);
  }
}

// PyTorch's Adam/AdamW in float32, in the reference's order of operations and with its roundings: no
// FMA contraction here, because m = beta1·m + (1-beta1)·g cancels when g changes sign, and a fused
// multiply-add then gives a different small m than two rounded products (measured: 1.1-5.7x the
// parity tolerance on the avx2/avx512 paths before this attribute)
__attribute__((optimize("fp-contract=off"))) void adamStep(float* p, const float* g, float* m, float* v, int64_t n, const PxAdamArgs* args) {
  const float lr = args->lr, beta1 = args->beta1, beta2 = args->beta2, eps = args->eps, wd = args->weightDecay;
  const float stepSize = lr / args->biasCorrection1;
  const float bc2 = args->biasCorrection2Sqrt;
  const float decay = 1.0f - lr * wd;
  const bool l2 = wd != 0.0f && !args->decoupled;
  const bool decoupled = wd != 0.0f && args->decoupled;
  for (int64_t i = 0; i < n; i++) {
    float param = p[i];
    float grad = g[i];
    if (decoupled) param = param * decay;
    if (l2) grad = grad + wd * param;
    // moments below the smallest normal float flushed to 0 (Backend.adamStep in src/tensor/backend.ts
    // says why: subnormal arithmetic took 12-20x the time on Intel)
    float mi = beta1 * m[i] + (1.0f - beta1) * grad;
    float vi = beta2 * v[i] + ((1.0f - beta2) * grad) * grad;
    mi = __builtin_fabsf(mi) < 0x1p-126f ? 0.0f : mi;
    vi = __builtin_fabsf(vi) < 0x1p-126f ? 0.0f : vi;
    m[i] = mi;
    v[i] = vi;
    const float denom = __builtin_sqrtf(vi) / bc2 + eps;
    p[i] = param - (stepSize * mi) / denom;
  }
}

// The target networks' Polyak average with the JavaScript loop's arithmetic (float64 products and
// sum, one rounding to float32): no FMA contraction, which would round (1-tau)·dst + tau·src once
// instead of three times
__attribute__((optimize("fp-contract=off"))) void polyak(float* dst, const float* src, int64_t n, double tau) {
  const double keep = 1.0 - tau;
  for (int64_t i = 0; i < n; i++)
    dst[i] = static_cast<float>(keep * static_cast<double>(dst[i]) + tau * static_cast<double>(src[i]));
}

// Σ x² in the order Backend.sumOfSquares defines: 16 lanes (element i into lane i mod 16, each in
// index order), lanes added pairwise ((0+1), (2+3), ... then again) and the result added to acc.
// A float's square is exact in double, so FMA and multiply-then-add give the same bits. One chain
// of dependent adds (the old order) ran at a quarter of an add per cycle: 14% of a DQN step.
double sumSquares(const float* x, int64_t n, double acc) {
  vd4 s0 = vd4{}, s1 = vd4{}, s2 = vd4{}, s3 = vd4{};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const vd4 a = __builtin_convertvector(*reinterpret_cast<const v4u*>(x + i), vd4);
    const vd4 b = __builtin_convertvector(*reinterpret_cast<const v4u*>(x + i + 4), vd4);
    const vd4 c = __builtin_convertvector(*reinterpret_cast<const v4u*>(x + i + 8), vd4);
    const vd4 d = __builtin_convertvector(*reinterpret_cast<const v4u*>(x + i + 12), vd4);
    s0 += a * a, s1 += b * b, s2 += c * c, s3 += d * d;
  }
  double lanes[16];
  for (int j = 0; j < 4; j++) lanes[j] = s0[j], lanes[4 + j] = s1[j], lanes[8 + j] = s2[j], lanes[12 + j] = s3[j];
  for (; i < n; i++) lanes[i & 15] += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  for (int width = 8; width >= 1; width /= 2)
    for (int j = 0; j < width; j++) lanes[j] = lanes[2 * j] + lanes[2 * j + 1];
  return acc + lanes[0];
}

void scale(float* x, int64_t n, double s) {
  for (int64_t i = 0; i < n; i++) x[i] = static_cast<float>(static_cast<double>(x[i]) * s);
}

// ---------------------------------------------------------------------------------------------
// Attention, fused: scores, softmax and the weighted sum of values per query row, with the row's
// scores in a thread-local scratch of `keys` floats instead of a [queries, keys] matrix in memory,
// and keys/values read in place from a KV cache preallocated for `capacity` positions.

typedef float v8 __attribute__((vector_size(32)));

// The lanes' sum as a tree of halves (4 levels at 16 lanes) rather than 15 dependent scalar adds,
// which made the latency of the reduction, not the multiply-adds, the cost of a 64-wide dot product
inline float hsum(vf v) {
#if PX_VF == 16
  const v8 h = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
               __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  const v4 q = __builtin_shufflevector(h, h, 0, 1, 2, 3) + __builtin_shufflevector(h, h, 4, 5, 6, 7);
#elif PX_VF == 8
  const v4 q = __builtin_shufflevector(v, v, 0, 1, 2, 3) + __builtin_shufflevector(v, v, 4, 5, 6, 7);
#else
  const v4 q = v;
#endif
  return (q[0] + q[2]) + (q[1] + q[3]);
}

inline float dotRow(const float* a, const float* b, int64_t n) {
  vf acc = vf{};
  int64_t d = 0;
  for (; d + VF <= n; d += VF) acc += loadu(a + d) * loadu(b + d);
  float s = hsum(acc);
  for (; d < n; d++) s += a[d] * b[d];
  return s;
}

thread_local Scratch<float> scoreScratch;

/** y[d] += a·x[d] for d < n, in vectors (one FMA per element, as the scalar loop contracts to). */
inline void axpy(float* __restrict y, const float* __restrict x, float a, int64_t n) {
  const vf av = splat(a);
  int64_t d = 0;
  for (; d + VF <= n; d += VF) storeu(y + d, loadu(y + d) + av * loadu(x + d));
  for (; d < n; d++) y[d] += a * x[d];
}

/**
 * One query row's scores `p[j] = q·k_j·scale + mask[j]` over the visible keys, and their max (-inf
 * when there are none, or all are -inf): the forward and backward passes share it, so the backward
 * recomputes exactly the forward's softmax.
 */
inline float rowScores(const float* qi, const float* kb, const float* mb, int64_t visible, int64_t hd, float scale,
                       float* p) {
  float m = -__builtin_inff();
  for (int64_t j = 0; j < visible; j++) {
    float score = dotRow(qi, kb + j * hd, hd) * scale;
    if (mb != nullptr) score += mb[j];
    p[j] = score;
    m = score > m ? score : m;
  }
  return m;
}

void attention(const float* q, const float* k, const float* v, const float* mask, float* out, int64_t heads,
               int64_t kvHeads, int64_t queries, int64_t keys, int64_t hd, int64_t capacity, int causal,
               int64_t first, int64_t last) {
  // 1/√headDim rounded once from double, as the TypeScript reference's Math.fround(1 / Math.sqrt(d))
  const float scale = static_cast<float>(1.0 / sqrt(static_cast<double>(hd)));
  const int64_t groups = heads / kvHeads;
  float* p = scoreScratch.get(keys > 0 ? keys : 1);
  for (int64_t block = first; block < last; block++) {
    const int64_t b = block / heads, h = block % heads;
    const int64_t kvOffset = (b * kvHeads + h / groups) * capacity * hd;
    const float* kb = k + kvOffset;
    const float* vb = v + kvOffset;
    const float* mb = mask != nullptr ? mask + b * keys : nullptr;
    for (int64_t i = 0; i < queries; i++) {
      const float* qi = q + (block * queries + i) * hd;
      float* oi = out + (block * queries + i) * hd;
      int64_t visible = causal ? imin(keys, i + keys - queries + 1) : keys;
      if (visible < 0) visible = 0;
      float m = rowScores(qi, kb, mb, visible, hd, scale, p);
      if (m == -__builtin_inff()) m = 0.0f;
      for (int64_t j = 0; j < visible; j++) p[j] = pxexp(p[j] - m);
      const double sum = sumDouble(p, visible);
      if (sum == 0.0) {  // every key masked out: NaN, as softmax over a row of -inf (torch 1.13)
        for (int64_t d = 0; d < hd; d++) oi[d] = __builtin_nanf("");
        continue;
      }
      const float inv = static_cast<float>(1.0 / sum);
      for (int64_t d = 0; d < hd; d++) oi[d] = 0.0f;
      for (int64_t j = 0; j < visible; j++) axpy(oi, vb + j * hd, p[j] * inv, hd);
    }
  }
}

/**
 * The gradient of `attention` (Backend.attentionBackward in src/tensor/backend.ts) for key/value
 * blocks [firstKv, lastKv) of the batch·kvHeads ones: each row's softmax is recomputed as the forward
 * pass computes it (same scores, max, exponentials and float64 sum), then dp_j = dOut·v_j,
 * D = Σ_j p_j dp_j, ds_j = p_j (dp_j − D), and dq, dk, dv take their sums one key at a time. A
 * block's dk and dv are written only by the task that owns it, so any split gives the same bits.
 */
void attentionBackward(const float* q, const float* k, const float* v, const float* mask, const float* dout, float* dq,
                       float* dk, float* dv, int64_t heads, int64_t kvHeads, int64_t queries, int64_t keys, int64_t hd,
                       int causal, int64_t firstKv, int64_t lastKv) {
  const float scale = static_cast<float>(1.0 / sqrt(static_cast<double>(hd)));
  const int64_t groups = heads / kvHeads;
  float* p = scoreScratch.get(keys > 0 ? 2 * keys : 2);
  float* dp = p + (keys > 0 ? keys : 1);
  for (int64_t kvBlock = firstKv; kvBlock < lastKv; kvBlock++) {
    const int64_t b = kvBlock / kvHeads, g = kvBlock % kvHeads;
    const float* kb = k + kvBlock * keys * hd;
    const float* vb = v + kvBlock * keys * hd;
    float* dkb = dk + kvBlock * keys * hd;
    float* dvb = dv + kvBlock * keys * hd;
    memset(dkb, 0, sizeof(float) * keys * hd);
    memset(dvb, 0, sizeof(float) * keys * hd);
    const float* mb = mask != nullptr ? mask + b * keys : nullptr;
    bool poisoned = false;  // a fully masked row: NaN through the whole block, after its other rows
    for (int64_t hh = 0; hh < groups; hh++) {
      const int64_t block = b * heads + g * groups + hh;
      for (int64_t i = 0; i < queries; i++) {
        const float* qi = q + (block * queries + i) * hd;
        const float* gi = dout + (block * queries + i) * hd;
        float* dqi = dq + (block * queries + i) * hd;
        int64_t visible = causal ? imin(keys, i + keys - queries + 1) : keys;
        if (visible < 0) visible = 0;
        const float m = rowScores(qi, kb, mb, visible, hd, scale, p);
        double sum = 0.0;
        if (m != -__builtin_inff()) {
          for (int64_t j = 0; j < visible; j++) p[j] = pxexp(p[j] - m);
          sum = sumDouble(p, visible);
        }
        if (sum == 0.0) {
          for (int64_t d = 0; d < hd; d++) dqi[d] = __builtin_nanf("");
          poisoned = true;
          continue;
        }
        const float inv = static_cast<float>(1.0 / sum);
        float dot = 0.0f;
        for (int64_t j = 0; j < visible; j++) {
          p[j] *= inv;
          dp[j] = dotRow(gi, vb + j * hd, hd);
          dot += p[j] * dp[j];
        }
        for (int64_t d = 0; d < hd; d++) dqi[d] = 0.0f;
        for (int64_t j = 0; j < visible; j++) {
          const float ds = p[j] * (dp[j] - dot) * scale;
          axpy(dqi, kb + j * hd, ds, hd);
          axpy(dkb + j * hd, qi, ds, hd);
          axpy(dvb + j * hd, gi, p[j], hd);
        }
      }
    }
    if (poisoned)
      for (int64_t x = 0; x < keys * hd; x++) dkb[x] = dvb[x] = __builtin_nanf("");
  }
}

}  // namespace

extern "C" const PxKernels PX_TABLE = {
    PX_ISA,        matmul,        gemmRows,      linear, binary, unary, clamp, reduce, softmaxRows, logsumexpRows,
    layerNormRows, layerNormBackwardRows, adamStep, polyak, sumSquares, scale, attention,
    NR,            packedLinearSize, packLinear, linearPackedRows, attentionBackward,
};
