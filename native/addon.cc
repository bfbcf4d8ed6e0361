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

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "kernels.h"

namespace {

const PxKernels* active = nullptr;

// ---------------------------------------------------------------------------------------------
// Threads. Large products are split into row blocks run on a pool of worker threads (the calling
// thread takes blocks too). Each element of C is computed by one thread with the same FMAs in the
// same order as without threads (gemmRows follows the whole product's shape), so results are
// bit-identical for every thread count: no reduction is ever split across threads.

/** A fixed set of workers that run `tasks` indices of a job, the caller's thread included. */
class ThreadPool {
 public:
  explicit ThreadPool(int workers) {
    for (int i = 0; i < workers; i++) threads_.emplace_back([this] { loop(); });
  }
  // workers blocked on the condition variable end with the process; the pool is never destroyed
  // (a static destructor joining threads at exit could deadlock inside the runtime's teardown)
  ThreadPool(const ThreadPool&) = delete;
  int workers() const { return static_cast<int>(threads_.size()); }

  void run(int tasks, const std::function<void(int)>& fn) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      job_ = &fn;
      tasks_ = tasks;
      next_.store(0);
      pending_ = workers();
      generation_++;
    }
    wake_.notify_all();
    for (int i; (i = next_.fetch_add(1)) < tasks;) fn(i);
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [this] { return pending_ == 0; });
    job_ = nullptr;
  }

 private:
  void loop() {
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(int)>* job;
      int tasks;
      {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        job = job_;
        tasks = tasks_;
      }
      for (int i; (i = next_.fetch_add(1)) < tasks;) (*job)(i);
      std::lock_guard<std::mutex> lock(mu_);
      if (--pending_ == 0) done_.notify_one();
    }
  }

  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  const std::function<void(int)>* job_ = nullptr;
  int tasks_ = 0;
  int pending_ = 0;
  uint64_t generation_ = 0;
  std::atomic<int> next_{0};
};

int numThreads = 1;
ThreadPool* pool = nullptr;  // numThreads - 1 workers; replaced (old one leaked, idle) on a resize
// one job at a time: a second JS thread (worker_threads) calling in meanwhile runs single-threaded
std::mutex poolBusy;

// Below this many multiply-adds a product runs on the calling thread. Measured on this 2-core AVX-512
// machine, quiet (bench engine, 2026-12-02): waking a worker and joining cost tens of microseconds,
// so 2 threads were slower on 64x256x256 (4M multiply-adds, 216 -> 127 GFLOP/s) and 2048x64x64 (8M,
// 248 -> 214), and faster from 256^3 (16.7M, 247 -> 290) up (512^3: 238 -> 441).
constexpr int64_t PARALLEL_MIN_MACS = int64_t(1) << 24;
// Row blocks are multiples of every path's micro-tile height (12 for AVX-512, 6 otherwise).
constexpr int64_t ROW_QUANTUM = 12;

/** Run `fn(t, i0, i1)` over `batch` products of `m` rows, split into row blocks across the pool. */
void forRowBlocks(int64_t batch, int64_t m, int64_t k, int64_t n,
                  const std::function<void(int64_t, int64_t, int64_t)>& fn) {
  const bool big = batch * m * k * n >= PARALLEL_MIN_MACS;
  std::unique_lock<std::mutex> lock(poolBusy, std::try_to_lock);
  if (numThreads <= 1 || pool == nullptr || !big || !lock.owns_lock()) {
    for (int64_t t = 0; t < batch; t++) fn(t, 0, m);
    return;
  }
  // enough products to go round: one task per product; else split each into row blocks
  int64_t rows = m;
  if (batch < numThreads) {
    const int64_t share = (m + numThreads - 1) / numThreads;
    rows = ((share + ROW_QUANTUM - 1) / ROW_QUANTUM) * ROW_QUANTUM;
  }
  const int64_t blocks = (m + rows - 1) / rows;
  const std::function<void(int)> task = [&](int index) {
    const int64_t t = index / blocks, i0 = (index % blocks) * rows;
    fn(t, i0, i0 + rows < m ? i0 + rows : m);
  };
  pool->run(static_cast<int>(batch * blocks), task);
}

/**
 * Run `fn(first, last)` over independent blocks [0, blocks) (attention's heads, a product's column
 * panels): split across the pool when the call does at least PARALLEL_MIN_MACS multiply-adds, else on
 * this thread. Each block is computed by one thread in a fixed order, so any split gives the same bits.
 */
void forBlocks(int64_t blocks, int64_t macs, const std::function<void(int64_t, int64_t)>& fn) {
  std::unique_lock<std::mutex> lock(poolBusy, std::try_to_lock);
  if (numThreads <= 1 || pool == nullptr || macs < PARALLEL_MIN_MACS || blocks < 2 || !lock.owns_lock()) {
    fn(0, blocks);
    return;
  }
  const int64_t tasks = blocks < numThreads ? blocks : numThreads;
  const std::function<void(int)> task = [&](int index) { fn(blocks * index / tasks, blocks * (index + 1) / tasks); };
  pool->run(static_cast<int>(tasks), task);
}

void setThreadCount(int n) {
  if (n == numThreads) return;
  std::lock_guard<std::mutex> lock(poolBusy);
  pool = n > 1 ? new ThreadPool(n - 1) : nullptr;
  numThreads = n;
}

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

constexpr size_t MAX_ARGS = 16;

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

  /**
   * The Float32Arrays of a JavaScript array argument, into `data` and `lengths` (cleared first); false
   * with an error thrown when it is not an array of Float32Arrays.
   */
  bool f32List(size_t i, std::vector<float*>& data, std::vector<int64_t>& lengths) {
    data.clear();
    lengths.clear();
    bool isArray = false;
    if (i >= argc || napi_is_array(env, argv[i], &isArray) != napi_ok || !isArray) {
      fail("is not an array of Float32Arrays", i);
      return false;
    }
    uint32_t count = 0;
    napi_get_array_length(env, argv[i], &count);
    for (uint32_t j = 0; j < count; j++) {
      napi_value element;
      napi_typedarray_type type;
      size_t len = 0;
      void* ptr = nullptr;
      bool isTyped = false;
      if (napi_get_element(env, argv[i], j, &element) != napi_ok ||
          napi_is_typedarray(env, element, &isTyped) != napi_ok || !isTyped ||
          napi_get_typedarray_info(env, element, &type, &len, &ptr, nullptr, nullptr) != napi_ok ||
          type != napi_float32_array) {
        fail("has an element that is not a Float32Array", i);
        return false;
      }
      static float empty[1];
      data.push_back(ptr != nullptr ? static_cast<float*>(ptr) : empty);
      lengths.push_back(static_cast<int64_t>(len));
    }
    return true;
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

/** C (+)= op(A)·op(B) for `batch` products, split into row blocks across the pool (the matmul kernel). */
void runMatmul(const float* pa, const float* pb, float* pc, int64_t batch, int64_t m, int64_t k, int64_t n, bool transA,
               bool transB, int64_t strideA, int64_t strideB, bool accumulate) {
  // A [m,k] row-major: element (i,p) at i*k + p; transposed (stored [k,m]): at p*m + i
  const int64_t rsA = transA ? 1 : k, csA = transA ? m : 1;
  forRowBlocks(batch, m, k, n, [&](int64_t t, int64_t i0, int64_t i1) {
    active->gemmRows(pa + t * strideA + i0 * rsA, rsA, csA, pb + t * strideB, transB, pc + t * m * n + i0 * n, i1 - i0,
                     k, n, accumulate, m);
  });
}

/**
 * out = x·wᵀ + bias, then (act >= 0) the unary kernel `act` over each row block while it is in cache:
 * per element the same computation as the linear kernel followed by the unary one.
 */
void runLinear(const float* x, const float* w, const float* bias, float* out, int64_t m, int64_t k, int64_t n,
               int act) {
  forRowBlocks(1, m, k, n, [&](int64_t, int64_t i0, int64_t i1) {
    // the bias first, then the product accumulated onto it: one pass over the output for both
    if (bias != nullptr)
      for (int64_t i = i0; i < i1; i++) memcpy(out + i * n, bias, sizeof(float) * n);
    active->gemmRows(x + i0 * k, k, 1, w, 1, out + i0 * n, i1 - i0, k, n, bias != nullptr, m);
    if (act >= 0) active->unary(act, out + i0 * n, out + i0 * n, (i1 - i0) * n);
  });
}

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
  runMatmul(pa, pb, pc, batch, m, k, n, transA != 0, transB != 0, strideA, strideB, accumulate != 0);
  return nullptr;
}

// Unary op codes (src/tensor/backend.ts UNARY_OPS) of the activations linearAct fuses: 0 relu, 1 tanh
constexpr int FUSED_UNARY[2] = {5, 4};
// ...and binary op codes (BINARY_OPS) of their gradients: reluBackward, tanhBackward
constexpr int FUSED_BACKWARD[2] = {8, 7};

/** linear(x, w, bias, out, m, k, n) and linearAct(x, w, bias, out, m, k, n, act). */
napi_value LinearImpl(napi_env env, napi_callback_info info, bool withAct) {
  Args a(env, info, withAct ? "linearAct" : "linear");
  int64_t lx, lw, lbias, lo;
  const float* x = a.f32(0, &lx);
  const float* w = a.f32(1, &lw);
  const float* bias = a.f32OrNull(2, &lbias);
  float* out = a.f32(3, &lo);
  const int64_t m = a.integer(4), k = a.integer(5), n = a.integer(6);
  const int64_t act = withAct ? a.integer(7) : -1;
  if (a.failed) return nullptr;
  if (withAct && act > 1) {
    a.fail("is not an activation code (0 relu, 1 tanh)", 7);
    return nullptr;
  }
  if (!a.fits(0, lx, m * k) || !a.fits(1, lw, n * k) || (bias != nullptr && !a.fits(2, lbias, n)) ||
      !a.fits(3, lo, m * n))
    return nullptr;
  runLinear(x, w, bias, out, m, k, n, withAct ? FUSED_UNARY[act] : -1);
  return nullptr;
}

napi_value Linear(napi_env env, napi_callback_info info) { return LinearImpl(env, info, false); }
napi_value LinearAct(napi_env env, napi_callback_info info) { return LinearImpl(env, info, true); }

/** packedLinearSize(k, n): floats of W [n, k] packed for linearPacked on the active path. */
napi_value PackedLinearSize(napi_env env, napi_callback_info info) {
  Args a(env, info, "packedLinearSize");
  const int64_t k = a.integer(0), n = a.integer(1);
  if (a.failed) return nullptr;
  napi_value result;
  napi_create_int64(env, active->packedLinearSize(k, n), &result);
  return result;
}

/** packLinear(w, dst, k, n): W [n, k] packed into dst (packedLinearSize(k, n) floats). */
napi_value PackLinear(napi_env env, napi_callback_info info) {
  Args a(env, info, "packLinear");
  int64_t lw, ld;
  const float* w = a.f32(0, &lw);
  float* dst = a.f32(1, &ld);
  const int64_t k = a.integer(2), n = a.integer(3);
  if (a.failed) return nullptr;
  if (!a.fits(0, lw, n * k) || !a.fits(1, ld, active->packedLinearSize(k, n))) return nullptr;
  active->packLinear(w, k, n, dst);
  return nullptr;
}

// Below this many rows a prepacked product is split across the pool by column panels rather than by
// rows: cached generation's 8 rows are fewer than one row block (ROW_QUANTUM), so a row split would
// leave every thread but one idle. Each output element's sum is the same either way. The split waits
// for the same PARALLEL_MIN_MACS as the row split: splitting the bench GPT's head (8x256x4096, 8.4M
// multiply-adds) from a quarter of it measured no faster on 2 threads (2,071-2,498 tokens/s against
// 2,227-2,518 unsplit, alternating, 2026-12-02).
constexpr int64_t COLUMN_SPLIT_MAX_ROWS = 2 * ROW_QUANTUM;

/**
 * linearPacked(x, w, packed, nr, bias, out, m, k, n, act): linear or linearAct (act -1 none, 0 relu,
 * 1 tanh) with W read from its packed form (packLinear on a path with panel width nr); the same bits.
 */
napi_value LinearPacked(napi_env env, napi_callback_info info) {
  Args a(env, info, "linearPacked");
  int64_t lx, lw, lp, lbias, lo;
  const float* x = a.f32(0, &lx);
  const float* w = a.f32(1, &lw);
  const float* packed = a.f32(2, &lp);
  const int64_t nr = a.integer(3);
  const float* bias = a.f32OrNull(4, &lbias);
  float* out = a.f32(5, &lo);
  const int64_t m = a.integer(6), k = a.integer(7), n = a.integer(8);
  double actArg = a.number(9);
  if (a.failed) return nullptr;
  const int act = static_cast<int>(actArg);
  if (actArg != act || act < -1 || act > 1) {
    a.fail("is not an activation code (-1 none, 0 relu, 1 tanh)", 9);
    return nullptr;
  }
  if (nr != active->nr) {
    // packed on another instruction-set path (setIsa since): its panels have another width
    a.fail("was packed for another panel width than the active path's", 3);
    return nullptr;
  }
  if (!a.fits(0, lx, m * k) || !a.fits(1, lw, n * k) || !a.fits(2, lp, active->packedLinearSize(k, n)) ||
      (bias != nullptr && !a.fits(4, lbias, n)) || !a.fits(5, lo, m * n))
    return nullptr;
  if (m == 0 || n == 0) return nullptr;
  const int unaryOp = act >= 0 ? FUSED_UNARY[act] : -1;
  // columns [j0, j1) of rows [i0, i1): bias, product, activation, while the block is in cache
  auto block = [&](int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    if (bias != nullptr)
      for (int64_t i = i0; i < i1; i++) memcpy(out + i * n + j0, bias + j0, sizeof(float) * (j1 - j0));
    active->linearPackedRows(x + i0 * k, w, packed, out + i0 * n, i1 - i0, k, n, j0, j1, bias != nullptr, m);
    if (unaryOp >= 0)
      for (int64_t i = i0; i < i1; i++) active->unary(unaryOp, out + i * n + j0, out + i * n + j0, j1 - j0);
  };
  if (m <= COLUMN_SPLIT_MAX_ROWS) {
    forBlocks((n + nr - 1) / nr, m * k * n, [&](int64_t first, int64_t last) {
      block(0, m, first * nr, last * nr < n ? last * nr : n);
    });
  } else {
    forRowBlocks(1, m, k, n, [&](int64_t, int64_t i0, int64_t i1) { block(i0, i1, 0, n); });
  }
  return nullptr;
}

// The pre-activation gradient of linearActBackward, reused across calls.
thread_local std::vector<float> dzScratch;

/**
 * linearActBackward(x, w, y, g, dx|null, dw|null, db|null, m, k, n, act): dz = act'(y)·g (g itself for
 * act -1, a layer without activation), then dx = dz·w, dw = dzᵀ·x and db = Σ_rows dz, each through
 * the same kernel (and thread split) as the unfused matmul and reduce calls, so with the same bits.
 */
napi_value LinearActBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, "linearActBackward");
  int64_t lx, lw, ly, lg, ldx, ldw, ldb;
  const float* x = a.f32(0, &lx);
  const float* w = a.f32(1, &lw);
  const float* y = a.f32(2, &ly);
  const float* g = a.f32(3, &lg);
  float* dx = a.f32OrNull(4, &ldx);
  float* dw = a.f32OrNull(5, &ldw);
  float* db = a.f32OrNull(6, &ldb);
  const int64_t m = a.integer(7), k = a.integer(8), n = a.integer(9);
  const double actArg = a.number(10);  // a number, not a count: -1 is valid
  if (a.failed) return nullptr;
  const int act = static_cast<int>(actArg);
  if (actArg != act || act < -1 || act > 1) {
    a.fail("is not an activation code (-1 none, 0 relu, 1 tanh)", 10);
    return nullptr;
  }
  if (!a.fits(0, lx, m * k) || !a.fits(1, lw, n * k) || !a.fits(2, ly, m * n) || !a.fits(3, lg, m * n) ||
      (dx != nullptr && !a.fits(4, ldx, m * k)) || (dw != nullptr && !a.fits(5, ldw, n * k)) ||
      (db != nullptr && !a.fits(6, ldb, n)))
    return nullptr;
  const float* dz = g;
  if (act >= 0) {
    dzScratch.resize(static_cast<size_t>(m * n > 0 ? m * n : 1));
    if (m * n > 0) active->binary(FUSED_BACKWARD[act], y, g, dzScratch.data(), 1, m * n, 0, 1, 0, 1);
    dz = dzScratch.data();
  }
  // the unfused matmul returns early on an empty output and the reduce writes zeros for no rows
  if (dx != nullptr && m > 0 && k > 0) runMatmul(dz, w, dx, 1, m, n, k, false, false, 0, 0, false);
  if (dw != nullptr && n > 0 && k > 0) runMatmul(dz, x, dw, 1, n, m, k, true, false, 0, 0, false);
  if (db != nullptr) active->reduce(0, dz, db, 1, m, n);
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

napi_value Attention(napi_env env, napi_callback_info info) {
  Args a(env, info, "attention");
  int64_t lq, lk, lv, lm, lo;
  const float* q = a.f32(0, &lq);
  const float* k = a.f32(1, &lk);
  const float* v = a.f32(2, &lv);
  const float* mask = a.f32OrNull(3, &lm);
  float* out = a.f32(4, &lo);
  const int64_t batch = a.integer(5), heads = a.integer(6), kvHeads = a.integer(7), queries = a.integer(8),
                keys = a.integer(9), hd = a.integer(10), capacity = a.integer(11), causal = a.integer(12);
  if (a.failed) return nullptr;
  if (kvHeads == 0 || heads % kvHeads != 0 || keys > capacity) {
    a.fail("is inconsistent: kvHeads must divide heads and keys must be <= capacity", 7);
    return nullptr;
  }
  const int64_t blocks = batch * heads;
  if (!a.fits(0, lq, blocks * queries * hd) || !a.fits(1, lk, batch * kvHeads * capacity * hd) ||
      !a.fits(2, lv, batch * kvHeads * capacity * hd) || !a.fits(4, lo, blocks * queries * hd) ||
      (mask != nullptr && !a.fits(3, lm, batch * keys)))
    return nullptr;
  // small calls (one decoding step) stay on this thread
  forBlocks(blocks, 2 * blocks * queries * keys * hd, [&](int64_t first, int64_t last) {
    active->attention(q, k, v, mask, out, heads, kvHeads, queries, keys, hd, capacity, causal != 0, first, last);
  });
  return nullptr;
}

/**
 * attentionBackward(q, k, v, mask|null, dOut, dq, dk, dv, batch, heads, kvHeads, queries, keys, hd,
 * causal): the kernel over the batch·kvHeads key/value blocks, split across the pool when large.
 */
napi_value AttentionBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, "attentionBackward");
  int64_t lq, lk, lv, lm, lg, ldq, ldk, ldv;
  const float* q = a.f32(0, &lq);
  const float* k = a.f32(1, &lk);
  const float* v = a.f32(2, &lv);
  const float* mask = a.f32OrNull(3, &lm);
  const float* dout = a.f32(4, &lg);
  float* dq = a.f32(5, &ldq);
  float* dk = a.f32(6, &ldk);
  float* dv = a.f32(7, &ldv);
  const int64_t batch = a.integer(8), heads = a.integer(9), kvHeads = a.integer(10), queries = a.integer(11),
                keys = a.integer(12), hd = a.integer(13), causal = a.integer(14);
  if (a.failed) return nullptr;
  if (kvHeads == 0 || heads % kvHeads != 0) {
    a.fail("is inconsistent: kvHeads must divide heads", 10);
    return nullptr;
  }
  const int64_t qSize = batch * heads * queries * hd, kvSize = batch * kvHeads * keys * hd;
  if (!a.fits(0, lq, qSize) || !a.fits(1, lk, kvSize) || !a.fits(2, lv, kvSize) ||
      (mask != nullptr && !a.fits(3, lm, batch * keys)) || !a.fits(4, lg, qSize) || !a.fits(5, ldq, qSize) ||
      !a.fits(6, ldk, kvSize) || !a.fits(7, ldv, kvSize))
    return nullptr;
  const int64_t blocks = batch * kvHeads;
  if (blocks == 0 || hd == 0) return nullptr;
  forBlocks(blocks, 4 * batch * heads * queries * keys * hd, [&](int64_t first, int64_t last) {
    active->attentionBackward(q, k, v, mask, dout, dq, dk, dv, heads, kvHeads, queries, keys, hd, causal != 0, first,
                              last);
  });
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

/** Adam's hyperparameters from arguments first..first+7 (lr, betas, eps, decay, decoupled, corrections). */
PxAdamArgs adamArgs(Args& a, size_t first) {
  PxAdamArgs args;
  args.lr = static_cast<float>(a.number(first));
  args.beta1 = static_cast<float>(a.number(first + 1));
  args.beta2 = static_cast<float>(a.number(first + 2));
  args.eps = static_cast<float>(a.number(first + 3));
  args.weightDecay = static_cast<float>(a.number(first + 4));
  args.decoupled = a.number(first + 5) != 0;
  args.biasCorrection1 = static_cast<float>(a.number(first + 6));
  args.biasCorrection2Sqrt = static_cast<float>(a.number(first + 7));
  return args;
}

napi_value AdamStep(napi_env env, napi_callback_info info) {
  Args a(env, info, "adamStep");
  int64_t lp, lg, lm, lv;
  float* p = a.f32(0, &lp);
  const float* g = a.f32(1, &lg);
  float* m = a.f32(2, &lm);
  float* v = a.f32(3, &lv);
  const PxAdamArgs args = adamArgs(a, 4);
  if (a.failed || !a.fits(1, lg, lp) || !a.fits(2, lm, lp) || !a.fits(3, lv, lp)) return nullptr;
  active->adamStep(p, g, m, v, lp, &args);
  return nullptr;
}

// Lists of arrays for the multi-tensor kernels, reused across calls (no allocation per step once grown).
thread_local std::vector<float*> listData[4];
thread_local std::vector<int64_t> listLengths[4];

/** adamSteps(ps, gs, ms, vs, ...hyperparameters): adamStep over every quadruple in one call. */
napi_value AdamSteps(napi_env env, napi_callback_info info) {
  Args a(env, info, "adamSteps");
  for (size_t l = 0; l < 4; l++)
    if (!a.f32List(l, listData[l], listLengths[l])) return nullptr;
  const PxAdamArgs args = adamArgs(a, 4);
  if (a.failed) return nullptr;
  const size_t count = listData[0].size();
  for (size_t l = 1; l < 4; l++) {
    if (listData[l].size() != count) {
      a.fail("holds a different number of arrays than the parameters", l);
      return nullptr;
    }
  }
  // check every length before writing anything, so a bad call changes no parameter
  for (size_t t = 0; t < count; t++)
    for (size_t l = 1; l < 4; l++)
      if (!a.fits(l, listLengths[l][t], listLengths[0][t])) return nullptr;
  for (size_t t = 0; t < count; t++)
    active->adamStep(listData[0][t], listData[1][t], listData[2][t], listData[3][t], listLengths[0][t], &args);
  return nullptr;
}

/** polyakUpdate(targets, sources, tau): every target = (1 - tau)·target + tau·source in one call. */
napi_value PolyakUpdate(napi_env env, napi_callback_info info) {
  Args a(env, info, "polyakUpdate");
  if (!a.f32List(0, listData[0], listLengths[0]) || !a.f32List(1, listData[1], listLengths[1])) return nullptr;
  const double tau = a.number(2);
  if (a.failed) return nullptr;
  const size_t count = listData[0].size();
  if (listData[1].size() != count) {
    a.fail("holds a different number of arrays than the targets", 1);
    return nullptr;
  }
  for (size_t t = 0; t < count; t++)
    if (!a.fits(1, listLengths[1][t], listLengths[0][t])) return nullptr;
  for (size_t t = 0; t < count; t++) {
    if (tau == 1.0) memcpy(listData[0][t], listData[1][t], sizeof(float) * listLengths[0][t]);
    else active->polyak(listData[0][t], listData[1][t], listLengths[0][t], tau);
  }
  return nullptr;
}

/** sumOfSquares(arrays): Σ x² over all of them, in double, in order. */
napi_value SumOfSquares(napi_env env, napi_callback_info info) {
  Args a(env, info, "sumOfSquares");
  if (!a.f32List(0, listData[0], listLengths[0])) return nullptr;
  double total = 0.0;
  for (size_t t = 0; t < listData[0].size(); t++) total = active->sumSquares(listData[0][t], listLengths[0][t], total);
  napi_value result;
  napi_create_double(env, total, &result);
  return result;
}

/** scaleInPlace(arrays, s): x *= s for every array. */
napi_value ScaleInPlace(napi_env env, napi_callback_info info) {
  Args a(env, info, "scaleInPlace");
  if (!a.f32List(0, listData[0], listLengths[0])) return nullptr;
  const double s = a.number(1);
  if (a.failed) return nullptr;
  for (size_t t = 0; t < listData[0].size(); t++) active->scale(listData[0][t], listLengths[0][t], s);
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

/** setThreads(n): run large products on n threads (1 = the calling thread only). */
napi_value SetThreads(napi_env env, napi_callback_info info) {
  Args a(env, info, "setThreads");
  const int64_t n = a.integer(0);
  if (a.failed) return nullptr;
  if (n < 1 || n > 256) {
    a.fail("must be between 1 and 256", 0);
    return nullptr;
  }
  setThreadCount(static_cast<int>(n));
  return nullptr;
}

napi_value Threads(napi_env env, napi_callback_info) {
  napi_value result;
  napi_create_int32(env, numThreads, &result);
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
      {"linearAct", LinearAct},
      {"linearActBackward", LinearActBackward},
      {"packedLinearSize", PackedLinearSize},
      {"packLinear", PackLinear},
      {"linearPacked", LinearPacked},
      {"binary", Binary},
      {"unary", Unary},
      {"clamp", Clamp},
      {"reduce", Reduce},
      {"softmaxRows", SoftmaxRows},
      {"logsumexpRows", LogsumexpRows},
      {"layerNormRows", LayerNormRows},
      {"layerNormBackwardRows", LayerNormBackwardRows},
      {"adamStep", AdamStep},
      {"adamSteps", AdamSteps},
      {"polyakUpdate", PolyakUpdate},
      {"sumOfSquares", SumOfSquares},
      {"scaleInPlace", ScaleInPlace},
      {"attention", Attention},
      {"attentionBackward", AttentionBackward},
      {"isa", Isa},
      {"setIsa", SetIsa},
      {"compiledIsas", CompiledIsas},
      {"setThreads", SetThreads},
      {"threads", Threads},
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
