"""PyTorch reference for `proximal bench lm`: the same GPT, the same work, on this CPU.

Run by src/bench/lmBench.ts as a subprocess:
    /usr/bin/python3 scripts/bench/lmTorch.py '{"vocabSize": 4096, ...}'
and prints one JSON object {"trainTokensPerSecond", "generateTokensPerSecond", "threads", "torch",
"blas", "blasLibrary", "blasThreads", "trainTokensPerCpuSecond", "generateTokensPerCpuSecond",
"cpuPerWall"}.

Debian's torch is built with BLAS_INFO=generic: its matmuls call whichever libblas.so.3 the
`libblas.so.3-x86_64-linux-gnu` alternative points to (Netlib's reference BLAS from libblas3, or
OpenBLAS, ...), and that choice changes the figures several-fold. So the script names the BLAS
library actually mapped into this process after the run (from /proc/self/maps), with OpenBLAS's
own config string and thread count when it is OpenBLAS. `cpuPerWall` (process CPU time / wall time
over the timed work) above 1 means more than one core was used; well below 1, that the process
waited for a core on a loaded machine. Tokens per CPU second are then the fairer comparison.

The model is GPT-2's layout (token + learned position embeddings, pre-LN blocks, fused qkv,
causal attention, GELU tanh MLP 4x, final LayerNorm, LM head tied to the embedding), written out
here because `transformers` is not installed; attention is the explicit softmax(q kᵀ/√d + mask) v
(torch 1.13 has no fused scaled_dot_product_attention). Training: forward, next-token cross-entropy,
backward, AdamW step. Generation: sampling at temperature 1 with a KV cache, one token per step for
the whole batch, no stop token. Threads default to 1 to match proximal's single-threaded engine.
"""

import ctypes
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F


class Block(torch.nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.h = h
        self.ln_1 = torch.nn.LayerNorm(d)
        self.c_attn = torch.nn.Linear(d, 3 * d)
        self.c_proj = torch.nn.Linear(d, d)
        self.ln_2 = torch.nn.LayerNorm(d)
        self.c_fc = torch.nn.Linear(d, 4 * d)
        self.mlp_proj = torch.nn.Linear(4 * d, d)

    def forward(self, x, past):
        b, t, d = x.shape
        hd = d // self.h
        q, k, v = self.c_attn(self.ln_1(x)).view(b, t, 3, self.h, hd).permute(2, 0, 3, 1, 4)
        if past is not None:
            k = torch.cat([past[0], k], 2)
            v = torch.cat([past[1], v], 2)
        s = k.shape[2]
        scores = q @ k.transpose(-1, -2) / math.sqrt(hd)
        causal = torch.ones(t, s, dtype=torch.bool).tril(s - t)
        scores = scores.masked_fill(~causal, float("-inf"))
        a = (scores.softmax(-1) @ v).permute(0, 2, 1, 3).reshape(b, t, d)
        x = x + self.c_proj(a)
        x = x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))
        return x, (k, v)


class GPT(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.wte = torch.nn.Embedding(c["vocabSize"], c["nEmbd"])
        self.wpe = torch.nn.Embedding(c["nPositions"], c["nEmbd"])
        self.h = torch.nn.ModuleList(Block(c["nEmbd"], c["nHead"]) for _ in range(c["nLayer"]))
        self.ln_f = torch.nn.LayerNorm(c["nEmbd"])

    def forward(self, ids, cache=None):
        past_len = 0 if cache is None else cache[0][0].shape[2]
        pos = torch.arange(past_len, past_len + ids.shape[1])
        x = self.wte(ids) + self.wpe(pos)
        new_cache = []
        for i, block in enumerate(self.h):
            x, kv = block(x, None if cache is None else cache[i])
            new_cache.append(kv)
        return self.ln_f(x) @ self.wte.weight.t(), new_cache


class _DlInfo(ctypes.Structure):
    _fields_ = [
        ("dli_fname", ctypes.c_char_p),
        ("dli_fbase", ctypes.c_void_p),
        ("dli_sname", ctypes.c_char_p),
        ("dli_saddr", ctypes.c_void_p),
    ]


def blas_in_use():
    """The library whose sgemm_ libtorch_cpu calls: (description, resolved path, threads or None).

    Looked up as the dynamic linker binds libtorch_cpu's own symbols (dlsym on its handle searches
    it and its dependencies in load order), then dladdr names the library that defines it. Both
    libblas.so.3 and OpenBLAS (through liblapack.so.3) can be mapped at once, so /proc/self/maps
    alone does not say which one runs the matmuls.
    """
    with open("/proc/self/maps") as maps:
        mapped = {line.split()[-1] for line in maps if "libtorch_cpu.so" in line}
    if not mapped:
        return "unknown (libtorch_cpu.so not mapped)", None, None
    sgemm = ctypes.cast(ctypes.CDLL(mapped.pop()).sgemm_, ctypes.c_void_p)
    info = _DlInfo()
    if ctypes.CDLL(None).dladdr(sgemm, ctypes.byref(info)) == 0:
        return "unknown (dladdr failed)", None, None
    path = os.path.realpath(info.dli_fname.decode())
    if "openblas" in path:
        lib = ctypes.CDLL(path)
        lib.openblas_get_config.restype = ctypes.c_char_p
        return lib.openblas_get_config().decode(), path, lib.openblas_get_num_threads()
    if "/blas/libblas.so.3" in path:
        return "reference BLAS (Netlib, Debian libblas3)", path, None
    return os.path.basename(path), path, None


def main():
    c = json.loads(sys.argv[1])
    torch.set_num_threads(c.get("threads", 1))
    torch.manual_seed(0)
    model = GPT(c)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    ids = torch.randint(0, c["vocabSize"], (c["trainBatch"], c["nPositions"]))

    def train_step():
        logits, _ = model(ids)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, c["vocabSize"]), ids[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()

    train_step()  # warm-up
    train_cpu_start = time.process_time()
    start = time.perf_counter()
    for _ in range(c["trainSteps"]):
        train_step()
    train_seconds = time.perf_counter() - start
    train_cpu = time.process_time() - train_cpu_start
    train_tps = c["trainSteps"] * c["trainBatch"] * c["nPositions"] / train_seconds

    prompt = torch.randint(0, c["vocabSize"], (c["genBatch"], c["promptLength"]))
    new_tokens = c["nPositions"] - c["promptLength"]

    def generate():
        with torch.no_grad():
            logits, cache = model(prompt)
            for step in range(new_tokens):
                probs = logits[:, -1].softmax(-1)
                token = torch.multinomial(probs, 1)
                if step == new_tokens - 1:
                    break
                logits, cache = model(token, cache)

    generate()  # warm-up
    gen_cpu_start = time.process_time()
    start = time.perf_counter()
    for _ in range(c["genRepeats"]):
        generate()
    gen_seconds = time.perf_counter() - start
    gen_cpu = time.process_time() - gen_cpu_start
    blas, blas_path, blas_threads = blas_in_use()
    gen_tps = c["genRepeats"] * c["genBatch"] * new_tokens / gen_seconds
    print(
        json.dumps(
            {
                "trainTokensPerSecond": train_tps,
                "generateTokensPerSecond": gen_tps,
                "threads": torch.get_num_threads(),
                "torch": torch.__version__,
                "blas": blas,
                "blasLibrary": blas_path,
                "blasThreads": blas_threads,
                "trainTokensPerCpuSecond": c["trainSteps"] * c["trainBatch"] * c["nPositions"] / train_cpu,
                "generateTokensPerCpuSecond": c["genRepeats"] * c["genBatch"] * new_tokens / gen_cpu,
                "cpuPerWall": (train_cpu + gen_cpu) / (train_seconds + gen_seconds),
            }
        )
    )


if __name__ == "__main__":
    main()
