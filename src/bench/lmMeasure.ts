/**
 * What both `bench lm` workloads (the char GPT, and the Llama family at a real model's size) measure
 * with: tokens per wall and per CPU second, the process's peak resident memory, and the PyTorch
 * reference run as a subprocess of `/usr/bin/python3` on the same thread count.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Tokens per wall second and per CPU second of this process (CPU time is not slowed by other jobs). */
export interface Rate {
  perSecond: number;
  perCpuSecond: number;
}

/** Wall and CPU time of `work`, as tokens per second of each. */
export function rate(tokens: number, work: () => void): Rate {
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  work();
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  return { perSecond: tokens / seconds, perCpuSecond: tokens / ((cpu.user + cpu.system) / 1e6) };
}

/** Peak resident set size of this process so far, in MiB (`getrusage`'s `ru_maxrss`). */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

const PYTHON = "/usr/bin/python3";

/** The script's last stdout line as JSON, or null with a note saying why torch did not run. */
export function runTorchScript(workload: { threads: number }): {
  parsed: Record<string, unknown> | null;
  note: string | null;
} {
  const script = fileURLToPath(new URL("../../scripts/bench/lmTorch.py", import.meta.url));
  if (!existsSync(PYTHON) || !existsSync(script)) {
    return {
      parsed: null,
      note: `torch reference skipped: ${existsSync(PYTHON) ? script : PYTHON} not found.`,
    };
  }
  const probe = spawnSync(PYTHON, ["-c", "import torch"], { encoding: "utf8" });
  if (probe.status !== 0) {
    return { parsed: null, note: `torch reference skipped: ${PYTHON} has no torch.` };
  }
  // the same thread count everywhere: torch's intra-op pool, OpenMP, and the BLAS's own pool
  // (OpenBLAS starts one thread per core unless told otherwise, whatever torch.set_num_threads says)
  const threads = String(workload.threads);
  const result = spawnSync(PYTHON, [script, JSON.stringify(workload)], {
    encoding: "utf8",
    maxBuffer: 1 << 20,
    env: {
      ...process.env,
      OMP_NUM_THREADS: threads,
      OPENBLAS_NUM_THREADS: threads,
      MKL_NUM_THREADS: threads,
      BLIS_NUM_THREADS: threads,
    },
  });
  if (result.status !== 0) {
    return {
      parsed: null,
      note: `torch reference failed (exit ${result.status}): ${result.stderr.trim().slice(-500)}`,
    };
  }
  return { parsed: JSON.parse(result.stdout.trim().split("\n").at(-1) ?? "{}"), note: null };
}

/** One line naming torch's version, threads and BLAS, as the GPT and Llama tables print it. */
export function torchNote(parsed: Record<string, unknown>, script = "scripts/bench/lmTorch.py"): string {
  const blasThreads = parsed.blasThreads === null ? "" : ` with ${parsed.blasThreads} thread(s)`;
  return `torch ${parsed.torch} on ${parsed.threads} thread(s) (CPU/wall ${(parsed.cpuPerWall as number).toFixed(2)}), BLAS: ${parsed.blas}${blasThreads} (${parsed.blasLibrary}); same model and work (${script}).`;
}
