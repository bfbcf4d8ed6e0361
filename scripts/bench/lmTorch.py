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

With `"arch": "llama"` in the workload (`bench lm --arch llama --size 135m`), the model is a
Llama-family decoder in the workload's `config` (written out from the published architecture:
RMSNorm, RoPE, grouped-query attention, SwiGLU, tied embeddings), and the script prints generation
tokens/s at each of `generationBatches`, full-parameter and LoRA training tokens/s and peak RSS
(VmHWM) instead.
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


class LlamaLayer(torch.nn.Module):
    """One Llama decoder layer as the Llama papers describe it (arXiv:2302.13971 §2.2; GQA from
    arXiv:2305.13245): pre-norm RMSNorm, rotary positions on q and k, grouped-query attention,
    RMSNorm, SwiGLU MLP, residuals around both."""

    def __init__(self, c):
        super().__init__()
        d, f = c["hiddenSize"], c["intermediateSize"]
        self.h, self.kv, self.hd = c["numAttentionHeads"], c["numKeyValueHeads"], c["headDim"]
        self.eps = c["rmsNormEps"]
        self.input_layernorm = torch.nn.Parameter(torch.ones(d))
        self.post_attention_layernorm = torch.nn.Parameter(torch.ones(d))
        self.q_proj = torch.nn.Linear(d, self.h * self.hd, bias=False)
        self.k_proj = torch.nn.Linear(d, self.kv * self.hd, bias=False)
        self.v_proj = torch.nn.Linear(d, self.kv * self.hd, bias=False)
        self.o_proj = torch.nn.Linear(self.h * self.hd, d, bias=False)
        self.gate_proj = torch.nn.Linear(d, f, bias=False)
        self.up_proj = torch.nn.Linear(d, f, bias=False)
        self.down_proj = torch.nn.Linear(f, d, bias=False)

    def rms(self, x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * w

    def forward(self, x, cos, sin, past):
        b, t, _ = x.shape
        y = self.rms(x, self.input_layernorm)
        q = self.q_proj(y).view(b, t, self.h, self.hd).transpose(1, 2)
        k = self.k_proj(y).view(b, t, self.kv, self.hd).transpose(1, 2)
        v = self.v_proj(y).view(b, t, self.kv, self.hd).transpose(1, 2)
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        if past is not None:
            k = torch.cat([past[0], k], 2)
            v = torch.cat([past[1], v], 2)
        s = k.shape[2]
        groups = self.h // self.kv
        kr, vr = k.repeat_interleave(groups, 1), v.repeat_interleave(groups, 1)
        scores = q @ kr.transpose(-1, -2) / math.sqrt(self.hd)
        causal = torch.ones(t, s, dtype=torch.bool).tril(s - t)
        scores = scores.masked_fill(~causal, float("-inf"))
        a = (scores.softmax(-1) @ vr).transpose(1, 2).reshape(b, t, self.h * self.hd)
        x = x + self.o_proj(a)
        y = self.rms(x, self.post_attention_layernorm)
        x = x + self.down_proj(F.silu(self.gate_proj(y)) * self.up_proj(y))
        return x, (k, v)


def rotate(x, cos, sin):
    """RoPE in the half-split layout Hugging Face's Llama uses (rotate_half)."""
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], -1)
    return x * cos + rotated * sin


class Llama(torch.nn.Module):
    """A Llama-family causal LM with tied embeddings (SmolLM2's layout), random N(0, 0.02) weights."""

    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed_tokens = torch.nn.Embedding(c["vocabSize"], c["hiddenSize"])
        self.layers = torch.nn.ModuleList(LlamaLayer(c) for _ in range(c["numHiddenLayers"]))
        self.norm = torch.nn.Parameter(torch.ones(c["hiddenSize"]))
        hd = c["headDim"]
        self.inv_freq = 1.0 / (c["ropeTheta"] ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))

    def forward(self, ids, cache=None):
        past_len = 0 if cache is None else cache[0][0].shape[2]
        pos = torch.arange(past_len, past_len + ids.shape[1], dtype=torch.float32)
        freqs = torch.outer(pos, self.inv_freq)
        emb = torch.cat([freqs, freqs], -1)
        cos, sin = emb.cos(), emb.sin()
        x = self.embed_tokens(ids)
        new_cache = []
        for i, layer in enumerate(self.layers):
            x, kv = layer(x, cos, sin, None if cache is None else cache[i])
            new_cache.append(kv)
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.c["rmsNormEps"]) * self.norm
        return x @ self.embed_tokens.weight.t(), new_cache


class LoraLinear(torch.nn.Module):
    """A frozen Linear plus a trainable low-rank update (Hu et al. 2021, arXiv:2106.09685, eq. 3):
    h = W0 x + (alpha / r) B A x, A Kaiming-uniform and B zero at the start."""

    def __init__(self, base, rank, alpha):
        super().__init__()
        self.base = base
        self.scaling = alpha / rank
        self.lora_A = torch.nn.Parameter(torch.empty(rank, base.in_features))
        self.lora_B = torch.nn.Parameter(torch.zeros(base.out_features, rank))
        torch.nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))

    def forward(self, x):
        return self.base(x) + (x @ self.lora_A.t() @ self.lora_B.t()) * self.scaling


def add_lora(model, rank, alpha):
    """LoRA on every Linear of the decoder layers (PEFT's "all-linear"; the head is the tied
    embedding), the rest frozen; returns the adapter parameters."""
    for p in model.parameters():
        p.requires_grad_(False)
    for layer in model.layers:
        for name in ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]:
            setattr(layer, name, LoraLinear(getattr(layer, name), rank, alpha))
    return [p for p in model.parameters() if p.requires_grad]


def peak_rss_mb():
    """This process's peak RSS in MiB: VmHWM, which exec resets. (getrusage's ru_maxrss survives
    exec, so in a child of Node it would report the Node process's size when it forked.)"""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def llama_main(w):
    """`bench lm --arch llama`: cached generation at each batch size, then full-parameter training."""
    c = w["config"]
    torch.manual_seed(0)
    model = Llama(c)
    vocab = c["vocabSize"]
    out = {}
    cpu_total = wall_total = 0.0
    for batch in w["generationBatches"]:
        prompt = torch.randint(0, vocab, (batch, w["promptLength"]))

        def generate(new_tokens):
            with torch.no_grad():
                logits, cache = model(prompt)
                for step in range(new_tokens):
                    token = torch.multinomial(logits[:, -1].softmax(-1), 1)
                    if step == new_tokens - 1:
                        break
                    logits, cache = model(token, cache)

        generate(2)  # warm-up
        cpu0, wall0 = time.process_time(), time.perf_counter()
        generate(w["newTokens"])
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        cpu_total, wall_total = cpu_total + cpu, wall_total + wall
        out[f"generateBatch{batch}TokensPerSecond"] = batch * w["newTokens"] / wall
        out[f"generateBatch{batch}TokensPerCpuSecond"] = batch * w["newTokens"] / cpu
    out["peakRssMbAfterGenerate"] = peak_rss_mb()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
    ids = torch.randint(0, vocab, (w["trainBatch"], w["trainLength"]))

    def train_step():
        logits, _ = model(ids)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, vocab), ids[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()

    tokens = w["trainSteps"] * w["trainBatch"] * w["trainLength"]

    def timed_training(key):
        nonlocal cpu_total, wall_total
        train_step()  # warm-up
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for _ in range(w["trainSteps"]):
            train_step()
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        cpu_total, wall_total = cpu_total + cpu, wall_total + wall
        out[f"{key}TokensPerSecond"] = tokens / wall
        out[f"{key}TokensPerCpuSecond"] = tokens / cpu

    timed_training("train")
    lora = w["lora"]
    opt = torch.optim.AdamW(add_lora(model, lora["rank"], lora["alpha"]), lr=1e-4)
    timed_training("loraTrain")
    out["peakRssMb"] = peak_rss_mb()
    blas, blas_path, blas_threads = blas_in_use()
    out.update(
        {
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "blas": blas,
            "blasLibrary": blas_path,
            "blasThreads": blas_threads,
            "cpuPerWall": cpu_total / wall_total,
        }
    )
    print(json.dumps(out))


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
    if c.get("arch", "gpt") == "llama":
        llama_main(c)
        return
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

    for _ in range(c.get("warmup", 1)):
        train_step()
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

    for _ in range(c.get("warmup", 1)):
        generate()
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
