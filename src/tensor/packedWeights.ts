/**
 * Prepacked linear weights for inference loops that apply the same weights many times at few rows.
 *
 * The native linear kernel copies its weight W [n, k] into the GEMM's column panels on every call.
 * At the 8 rows of batched cached generation that copy costs more than the product itself (measured
 * on this repository's 2-core AVX-512 machine: a GPT's 17 MB of weights took 2.0-2.5 ms per step at 8
 * rows and about as long at 16, where one row, which reads W in place, took 0.84 ms). Inside
 * {@link withPackedWeights} each listed weight is packed once, on its first use at enough rows, and
 * every later product reads the pack: the same operations in the same order, so the same bits.
 *
 * The listed weights must not change inside the scope (generation, evaluation): a pack is a copy. The
 * packs' memory returns to the storage pool (tensor/storage.ts, up to its size limit) when the scope
 * ends, so the next scope refills it instead of faulting in fresh pages. Backends without the
 * optional packing methods (cpu, wasm) run as they always do.
 */
import { ProximalError } from "../errors.js";
import type { Backend, PackedWeight } from "./backend.js";
import { releaseFloat32 } from "./storage.js";
import type { Tensor } from "./tensor.js";

/** Memory the packs of one scope may take before further weights run unpacked (1 GiB). */
export const DEFAULT_PACK_BUDGET_BYTES = 2 ** 30;

interface Scope {
  allowed: Set<Tensor>;
  packs: Map<Tensor, PackedWeight>;
  /** Weights whose pack did not fit the budget: not packed again in this scope. */
  overBudget: Set<Tensor>;
  bytes: number;
  budgetBytes: number;
}

let scope: Scope | null = null;

/**
 * Run `fn` with `weights` (e.g. `model.parameters()`) packed for the backend's linear kernel on first
 * use; the packs are dropped when `fn` returns. Scopes nest (the inner one's weights apply inside it).
 * `budgetBytes` caps the packs' memory: past it, the remaining weights run unpacked, as outside.
 */
export function withPackedWeights<T>(
  weights: Iterable<Tensor>,
  fn: () => T,
  options: { budgetBytes?: number } = {},
): T {
  const budgetBytes = options.budgetBytes ?? DEFAULT_PACK_BUDGET_BYTES;
  checkPackBudget(budgetBytes, "withPackedWeights: budgetBytes");
  if (budgetBytes === 0) return fn();
  const previous = scope;
  scope = { allowed: new Set(weights), packs: new Map(), overBudget: new Set(), bytes: 0, budgetBytes };
  const mine = scope;
  try {
    return fn();
  } finally {
    scope = previous;
    // the packs' memory goes back to the storage pool for the next scope (or any tensor)
    for (const pack of mine.packs.values()) releaseFloat32(pack.data);
  }
}

/** INVALID_OPTION, naming `what`, unless `budgetBytes` is a finite number >= 0. */
export function checkPackBudget(budgetBytes: number, what: string): void {
  if (!(budgetBytes >= 0) || !Number.isFinite(budgetBytes)) {
    throw new ProximalError(
      "INVALID_OPTION",
      `${what} must be a finite number >= 0 (0 packs nothing), got ${budgetBytes}.`,
    );
  }
}

/**
 * The pack of `weight` [n, k] for a product of `rows` rows on `backend`, made on first use; null
 * (run unpacked) outside a scope, for weights the scope does not list, where the backend does not
 * pack or would not pack at this many rows, and past the budget.
 */
export function packedWeightFor(weight: Tensor, rows: number, backend: Backend): PackedWeight | null {
  if (
    scope === null ||
    backend.packLinearWeight === undefined ||
    backend.packedLinearLayout === undefined ||
    backend.linearPacked === undefined
  ) {
    return null;
  }
  if (rows < (backend.packedLinearMinRows ?? 1) || !scope.allowed.has(weight)) return null;
  const layout = backend.packedLinearLayout();
  let pack = scope.packs.get(weight);
  if (pack !== undefined) {
    if (pack.layout === layout) return pack;
    scope.packs.delete(weight); // packed for another instruction-set path: pack again
    scope.bytes -= pack.data.byteLength;
    releaseFloat32(pack.data);
  }
  if (weight.dtype !== "float32" || weight.rank !== 2 || scope.overBudget.has(weight)) return null;
  // the weight's own bytes are a lower bound of its pack's (panels pad the columns): no copy past that
  if (scope.bytes + weight.size * 4 > scope.budgetBytes) {
    scope.overBudget.add(weight);
    return null;
  }
  const [n, k] = weight.shape;
  pack = backend.packLinearWeight(weight.values, k, n);
  if (scope.bytes + pack.data.byteLength > scope.budgetBytes) {
    scope.overBudget.add(weight);
    releaseFloat32(pack.data);
    return null;
  }
  scope.packs.set(weight, pack);
  scope.bytes += pack.data.byteLength;
  return pack;
}

/** How many weights the innermost scope has packed and their bytes (null outside a scope). */
export function packedWeightStats(): { weights: number; bytes: number } | null {
  return scope === null ? null : { weights: scope.packs.size, bytes: scope.bytes };
}
