// The kernel table of one instruction-set path. kernels.cc is compiled once per path (avx512, avx2,
// generic) with different -m flags, each into its own namespace, and addon.cc picks one table at load
// time from what the CPU supports. Plain function pointers and PODs only: no inline C++ library code
// may be shared between the objects, or the linker could keep an AVX-512 copy for the generic path.
#pragma once
#include <stdint.h>

struct PxAdamArgs {
  float lr, beta1, beta2, eps, weightDecay;
  int decoupled;
  float biasCorrection1, biasCorrection2Sqrt;
};

struct PxKernels {
  const char* isa;
  // C[t] (+)= op(A[t]) · op(B[t]) for t < batch; strides in elements (0 = shared operand)
  void (*matmul)(const float* a, const float* b, float* c, int64_t batch, int64_t m, int64_t k, int64_t n,
                 int transA, int transB, int64_t strideA, int64_t strideB, int accumulate);
  // Rows [0, m) of a GEMM whose full height is fullM: C[m,n] (+)= A·B, A read through (rsA, csA), B
  // row-major [k,n] or, when transB, [n,k]. The packing, dot-product and narrow-output choices follow
  // fullM, n and the strides, never the block, so a product split into row blocks (threads) gives the
  // same bits as the whole one.
  void (*gemmRows)(const float* a, int64_t rsA, int64_t csA, const float* b, int transB, float* c, int64_t m,
                   int64_t k, int64_t n, int accumulate, int64_t fullM);
  // out[m,n] = x[m,k] · w[n,k]ᵀ + bias[n] (bias may be null)
  void (*linear)(const float* x, const float* w, const float* bias, float* out, int64_t m, int64_t k,
                 int64_t n);
  void (*binary)(int op, const float* a, const float* b, float* out, int64_t outer, int64_t inner,
                 int64_t aOuter, int64_t aInner, int64_t bOuter, int64_t bInner);
  void (*unary)(int op, const float* x, float* out, int64_t n);
  void (*clamp)(const float* x, float* out, int64_t n, float lo, float hi);
  void (*reduce)(int op, const float* x, float* out, int64_t outer, int64_t len, int64_t inner);
  void (*softmaxRows)(const float* x, float* out, int64_t rows, int64_t cols, int log);
  void (*logsumexpRows)(const float* x, float* out, int64_t rows, int64_t cols);
  void (*layerNormRows)(const float* x, const float* gamma, const float* beta, float* out, float* mean,
                        float* rstd, int64_t rows, int64_t cols, float eps);
  void (*layerNormBackwardRows)(const float* x, const float* gamma, const float* mean, const float* rstd,
                                const float* g, float* dx, float* dgamma, float* dbeta, int64_t rows,
                                int64_t cols);
  void (*adamStep)(float* p, const float* g, float* m, float* v, int64_t n, const PxAdamArgs* args);
  // dst = (1 - tau)·dst + tau·src, products and sum in double (no FMA), rounded to float on store
  void (*polyak)(float* dst, const float* src, int64_t n, double tau);
  // acc + Σ x[i]² accumulated in double one element after another (the order fixes the bits)
  double (*sumSquares)(const float* x, int64_t n, double acc);
  // x *= s, the product in double rounded to float on store
  void (*scale)(float* x, int64_t n, double s);
  // Fused attention over blocks [first, last) of the batch·heads blocks (Backend.attention in
  // src/tensor/backend.ts): q, out [batch, heads, queries, hd]; k, v [batch, kvHeads, capacity, hd],
  // the first `keys` positions read; mask additive [batch, keys] or null
  void (*attention)(const float* q, const float* k, const float* v, const float* mask, float* out, int64_t heads,
                    int64_t kvHeads, int64_t queries, int64_t keys, int64_t hd, int64_t capacity, int causal,
                    int64_t first, int64_t last);
  // Prepacked linear weights (kernels.cc, "Prepacked weights"): the GEMM's column panel width, the
  // packed size of W [n, k], W packed, and rows [0, m) x columns [j0, j1) of out = x · Wᵀ from it
  // (j0, j1 multiples of nr or j1 = n), the same bits as linear's product
  int64_t nr;
  int64_t (*packedLinearSize)(int64_t k, int64_t n);
  void (*packLinear)(const float* w, int64_t k, int64_t n, float* dst);
  void (*linearPackedRows)(const float* x, const float* w, const float* packed, float* c, int64_t m, int64_t k,
                           int64_t n, int64_t j0, int64_t j1, int accumulate, int64_t fullM);
  // The gradient of attention (Backend.attentionBackward) for key/value blocks [firstKv, lastKv) of the
  // batch·kvHeads ones; k, v, dk, dv [batch, kvHeads, keys, hd]
  void (*attentionBackward)(const float* q, const float* k, const float* v, const float* mask, const float* dout,
                            float* dq, float* dk, float* dv, int64_t heads, int64_t kvHeads, int64_t queries,
                            int64_t keys, int64_t hd, int causal, int64_t firstKv, int64_t lastKv);
};

extern "C" {
extern const PxKernels px_kernels_generic;
#if defined(PX_HAVE_X86_PATHS)
extern const PxKernels px_kernels_avx2;
extern const PxKernels px_kernels_avx512;
#endif
}
