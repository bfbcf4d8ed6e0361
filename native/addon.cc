// The N-API entry points of proximal's native backend (src/tensor/nativeBackend.ts is the only
// caller). Each kernel takes Float32Arrays and numbers, reads the arrays' memory in place through
// napi_get_typedarray_info (no copies, no allocation per call), checks that every array is long
// enough for the shape it is given (so a wrong call is a RangeError, never a write out of bounds),
// and runs the kernel of the instruction-set path chosen at load time.
//
// N-API (version 8 here) is ABI-stable: one build loads on every Node from 20 on.
#define NAPI_VERSION 8
#include <node_api.h>
#include <stdio.h>
#include <string.h>

#include "kernels.h"

namespace {

const PxKernels* active = nullptr;

/** The best path this CPU (and OS: the builtins check XCR0) supports. */
const PxKernels* detect() {
#if defined(PX_HAVE_X86_PATHS)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return &px_kernels_avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &px_kernels_avx2;
#endif
  return &px_kernels_generic;
}

bool supported(const PxKernels* k) {
#if defined(PX_HAVE_X86_PATHS)
  __builtin_cpu_init();
  if (k == &px_kernels_avx512) return __builtin_cpu_supports("avx512f");
  if (k == &px_kernels_avx2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return k == &px_kernels_generic;
}

constexpr size_t MAX_ARGS = 14;

struct Args {
  napi_env env;
  napi_value argv[MAX_ARGS];
  size_t argc = MAX_ARGS;
  const char* kernel;
  bool failed = false;

  Args(napi_env e, napi_callback_info info, const char* name) : env(e), kernel(name) {
    napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  }

  void fail(const char* what, size_t i) {
    if (failed) return;
    failed = true;
    char message[256];
    snprintf(message, sizeof message, "native %s: argument %zu %s (a bug in proximal's nativeBackend.ts)", kernel,
             i, what);
    napi_throw_type_error(env, "ERR_PROXIMAL_NATIVE_ARGS", message);
  }

  /** A Float32Array's data (its byteOffset applied) and length; null with an error thrown otherwise. */
  float* f32(size_t i, int64_t* length) {
    *length = 0;
    if (i >= argc) {
      fail("is missing", i);
      return nullptr;
    }
    bool isTyped = false;
    napi_is_typedarray(env, argv[i], &isTyped);
    if (!isTyped) {
      fail("is not a Float32Array", i);
      return nullptr;
    }
    napi_typedarray_type type;
    size_t len = 0;
    void* data = nullptr;
    napi_get_typedarray_info(env, argv[i], &type, &len, &data, nullptr, nullptr);
    if (type != napi_float32_array) {
      fail("is not a Float32Array", i);
      return nullptr;
    }
    *length = static_cast<int64_t>(len);
    // an empty array may have no backing store; kernels never dereference it (every extent is 0)
    static float empty[1];
    return data != nullptr ? static_cast<float*>(data) : empty;
  }

  /** A Float32Array or null (the linear layer's missing bias). */
  float* f32OrNull(size_t i, int64_t* length) {
    *length = 0;
    napi_valuetype t;
    if (i < argc && napi_typeof(env, argv[i], &t) == napi_ok && t == napi_null) {
      *length = 0;
      return nullptr;
    }
    return f32(i, length);
  }

  int64_t integer(size_t i) {
    int64_t v = 0;
    if (i >= argc || napi_get_value_int64(env, argv[i], &v) != napi_ok) fail("is not a number", i);
    if (v < 0) fail("is negative", i);
    return v;
  }

  double number(size_t i) {
    double v = 0;
    if (i >= argc || napi_get_value_double(env, argv[i], &v) != napi_ok) fail("is not a number", i);
    return v;
  }

  /** Require `have >= need` floats for argument i. */
  bool fits(size_t i, int64_t have, int64_t need) {
    if (have < need) {
      char what[128];
      snprintf(what, sizeof what, "has %lld elements where the shape needs %lld", static_cast<long long>(have),
               static_cast<long long>(need));
      fail(what, i);
      return false;
    }
    return true;
  }
};

napi_value Matmul(napi_env env, napi_callback_info info) {
  Args a(env, info, "matmul");
  int64_t la, lb, lc;
  const float* pa = a.f32(0, &la);
  const float* pb = a.f32(1, &lb);
  float* pc = a.f32(2, &lc);
  const int64_t batch = a.integer(3), m = a.integer(4), k = a.integer(5), n = a.integer(6);
  const int64_t transA = a.integer(7), transB = a.integer(8), strideA = a.integer(9), strideB = a.integer(10);
  const int64_t accumulate = a.integer(11);
  if (a.failed) return nullptr;
  if (batch == 0 || m == 0 || n == 0) return nullptr;
  if (!a.fits(0, la, (batch - 1) * strideA + m * k) || !a.fits(1, lb, (batch - 1) * strideB + k * n) ||
      !a.fits(2, lc, batch * m * n))
    return nullptr;
  active->matmul(pa, pb, pc, batch, m, k, n, transA != 0, transB != 0, strideA, strideB, accumulate != 0);
  return nullptr;
}

napi_value Linear(napi_env env, napi_callback_info info) {
  Args a(env, info, "linear");
  int64_t lx, lw, lbias, lo;
  const float* x = a.f32(0, &lx);
  const float* w = a.f32(1, &lw);
  const float* bias = a.f32OrNull(2, &lbias);
  float* out = a.f32(3, &lo);
  const int64_t m = a.integer(4), k = a.integer(5), n = a.integer(6);
  if (a.failed) return nullptr;
  if (!a.fits(0, lx, m * k) || !a.fits(1, lw, n * k) || (bias != nullptr && !a.fits(2, lbias, n)) ||
      !a.fits(3, lo, m * n))
    return nullptr;
  active->linear(x, w, bias, out, m, k, n);
  return nullptr;
}

napi_value Binary(napi_env env, napi_callback_info info) {
  Args a(env, info, "binary");
  const int64_t op = a.integer(0);
  int64_t la, lb, lo;
  const float* pa = a.f32(1, &la);
  const float* pb = a.f32(2, &lb);
  float* out = a.f32(3, &lo);
  const int64_t outer = a.integer(4), inner = a.integer(5), aOuter = a.integer(6), aInner = a.integer(7);
  const int64_t bOuter = a.integer(8), bInner = a.integer(9);
  if (a.failed) return nullptr;
  if (outer == 0 || inner == 0) return nullptr;
  if (!a.fits(1, la, (outer - 1) * aOuter + (inner - 1) * aInner + 1) ||
      !a.fits(2, lb, (outer - 1) * bOuter + (inner - 1) * bInner + 1) || !a.fits(3, lo, outer * inner))
    return nullptr;
  active->binary(static_cast<int>(op), pa, pb, out, outer, inner, aOuter, aInner, bOuter, bInner);
  return nullptr;
}

napi_value Unary(napi_env env, napi_callback_info info) {
  Args a(env, info, "unary");
  const int64_t op = a.integer(0);
  int64_t lx, lo;
  const float* x = a.f32(1, &lx);
  float* out = a.f32(2, &lo);
  if (a.failed || !a.fits(2, lo, lx)) return nullptr;
  active->unary(static_cast<int>(op), x, out, lx);
  return nullptr;
}

napi_value Clamp(napi_env env, napi_callback_info info) {
  Args a(env, info, "clamp");
  int64_t lx, lo;
  const float* x = a.f32(0, &lx);
  float* out = a.f32(1, &lo);
  const double low = a.number(2), high = a.number(3);
  if (a.failed || !a.fits(1, lo, lx)) return nullptr;
  active->clamp(x, out, lx, static_cast<float>(low), static_cast<float>(high));
  return nullptr;
}

napi_value Reduce(napi_env env, napi_callback_info info) {
  Args a(env, info, "reduce");
  const int64_t op = a.integer(0);
  int64_t lx, lo;
  const float* x = a.f32(1, &lx);
  float* out = a.f32(2, &lo);
  const int64_t outer = a.integer(3), len = a.integer(4), inner = a.integer(5);
  if (a.failed || !a.fits(1, lx, outer * len * inner) || !a.fits(2, lo, outer * inner)) return nullptr;
  active->reduce(static_cast<int>(op), x, out, outer, len, inner);
  return nullptr;
}

napi_value SoftmaxRows(napi_env env, napi_callback_info info) {
  Args a(env, info, "softmaxRows");
  int64_t lx, lo;
  const float* x = a.f32(0, &lx);
  float* out = a.f32(1, &lo);
  const int64_t rows = a.integer(2), cols = a.integer(3), log = a.integer(4);
  if (a.failed || !a.fits(0, lx, rows * cols) || !a.fits(1, lo, rows * cols)) return nullptr;
  active->softmaxRows(x, out, rows, cols, log != 0);
  return nullptr;
}

napi_value LogsumexpRows(napi_env env, napi_callback_info info) {
  Args a(env, info, "logsumexpRows");
  int64_t lx, lo;
  const float* x = a.f32(0, &lx);
  float* out = a.f32(1, &lo);
  const int64_t rows = a.integer(2), cols = a.integer(3);
  if (a.failed || !a.fits(0, lx, rows * cols) || !a.fits(1, lo, rows)) return nullptr;
  active->logsumexpRows(x, out, rows, cols);
  return nullptr;
}

napi_value LayerNormRows(napi_env env, napi_callback_info info) {
  Args a(env, info, "layerNormRows");
  int64_t lx, lg, lb, lo, lm, lr;
  const float* x = a.f32(0, &lx);
  const float* gamma = a.f32(1, &lg);
  const float* beta = a.f32(2, &lb);
  float* out = a.f32(3, &lo);
  float* mean = a.f32(4, &lm);
  float* rstd = a.f32(5, &lr);
  const int64_t rows = a.integer(6), cols = a.integer(7);
  const double eps = a.number(8);
  if (a.failed || !a.fits(0, lx, rows * cols) || !a.fits(1, lg, cols) || !a.fits(2, lb, cols) ||
      !a.fits(3, lo, rows * cols) || !a.fits(4, lm, rows) || !a.fits(5, lr, rows))
    return nullptr;
  active->layerNormRows(x, gamma, beta, out, mean, rstd, rows, cols, static_cast<float>(eps));
  return nullptr;
}

napi_value LayerNormBackwardRows(napi_env env, napi_callback_info info) {
  Args a(env, info, "layerNormBackwardRows");
  int64_t lx, lgam, lm, lr, lg, ldx, ldg, ldb;
  const float* x = a.f32(0, &lx);
  const float* gamma = a.f32(1, &lgam);
  const float* mean = a.f32(2, &lm);
  const float* rstd = a.f32(3, &lr);
  const float* g = a.f32(4, &lg);
  float* dx = a.f32(5, &ldx);
  float* dgamma = a.f32(6, &ldg);
  float* dbeta = a.f32(7, &ldb);
  const int64_t rows = a.integer(8), cols = a.integer(9);
  if (a.failed || !a.fits(0, lx, rows * cols) || !a.fits(1, lgam, cols) || !a.fits(2, lm, rows) ||
      !a.fits(3, lr, rows) || !a.fits(4, lg, rows * cols) || !a.fits(5, ldx, rows * cols) ||
      !a.fits(6, ldg, cols) || !a.fits(7, ldb, cols))
    return nullptr;
  active->layerNormBackwardRows(x, gamma, mean, rstd, g, dx, dgamma, dbeta, rows, cols);
  return nullptr;
}

napi_value AdamStep(napi_env env, napi_callback_info info) {
  Args a(env, info, "adamStep");
  int64_t lp, lg, lm, lv;
  float* p = a.f32(0, &lp);
  const float* g = a.f32(1, &lg);
  float* m = a.f32(2, &lm);
  float* v = a.f32(3, &lv);
  PxAdamArgs args;
  args.lr = static_cast<float>(a.number(4));
  args.beta1 = static_cast<float>(a.number(5));
  args.beta2 = static_cast<float>(a.number(6));
  args.eps = static_cast<float>(a.number(7));
  args.weightDecay = static_cast<float>(a.number(8));
  args.decoupled = a.number(9) != 0;
  args.biasCorrection1 = static_cast<float>(a.number(10));
  args.biasCorrection2Sqrt = static_cast<float>(a.number(11));
  if (a.failed || !a.fits(1, lg, lp) || !a.fits(2, lm, lp) || !a.fits(3, lv, lp)) return nullptr;
  active->adamStep(p, g, m, v, lp, &args);
  return nullptr;
}

napi_value Isa(napi_env env, napi_callback_info) {
  napi_value result;
  napi_create_string_utf8(env, active->isa, NAPI_AUTO_LENGTH, &result);
  return result;
}

/** setIsa(name): switch to a path by name (tests and benchmarks); false where the CPU lacks it. */
napi_value SetIsa(napi_env env, napi_callback_info info) {
  Args a(env, info, "setIsa");
  char name[32] = {0};
  size_t len = 0;
  if (a.argc < 1 || napi_get_value_string_utf8(env, a.argv[0], name, sizeof name, &len) != napi_ok) {
    a.fail("is not a string", 0);
    return nullptr;
  }
  const PxKernels* candidates[] = {
#if defined(PX_HAVE_X86_PATHS)
      &px_kernels_avx512, &px_kernels_avx2,
#endif
      &px_kernels_generic};
  bool ok = false;
  for (const PxKernels* k : candidates) {
    if (strcmp(k->isa, name) == 0 && supported(k)) {
      active = k;
      ok = true;
    }
  }
  napi_value result;
  napi_get_boolean(env, ok, &result);
  return result;
}

/** The paths compiled into this build, best first, whether or not this CPU runs them. */
napi_value CompiledIsas(napi_env env, napi_callback_info) {
  const char* names[] = {
#if defined(PX_HAVE_X86_PATHS)
      px_kernels_avx512.isa, px_kernels_avx2.isa,
#endif
      px_kernels_generic.isa};
  napi_value array;
  napi_create_array(env, &array);
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    napi_value s;
    napi_create_string_utf8(env, names[i], NAPI_AUTO_LENGTH, &s);
    napi_set_element(env, array, static_cast<uint32_t>(i), s);
  }
  return array;
}

napi_value Init(napi_env env, napi_value exports) {
  if (active == nullptr) active = detect();
  struct Fn {
    const char* name;
    napi_callback cb;
  } fns[] = {
      {"matmul", Matmul},
      {"linear", Linear},
      {"binary", Binary},
      {"unary", Unary},
      {"clamp", Clamp},
      {"reduce", Reduce},
      {"softmaxRows", SoftmaxRows},
      {"logsumexpRows", LogsumexpRows},
      {"layerNormRows", LayerNormRows},
      {"layerNormBackwardRows", LayerNormBackwardRows},
      {"adamStep", AdamStep},
      {"isa", Isa},
      {"setIsa", SetIsa},
      {"compiledIsas", CompiledIsas},
  };
  for (const Fn& f : fns) {
    napi_value fn;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, nullptr, &fn);
    napi_set_named_property(env, exports, f.name, fn);
  }
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
