import type { Info } from "../../envs/env.js";
import type { VectorInfos } from "../../envs/vector/vectorEnv.js";
import { ProximalError } from "../../errors.js";

/**
 * Reading `info.actionMask` (1 = allowed, one entry per action of a `Discrete(n)` space, as
 * {@link ActionMasking} reports it) into the `Uint8Array` a policy's `predict`/`act` takes. Shared by
 * rollout collection ({@link OnPolicyAlgorithm}) and {@link evaluatePolicy}, so training and
 * evaluation read masks the same way.
 */

/** The mask of one env's `info` as `n` bytes (0/1); null when the env reports none. */
export function actionMaskFromInfo(info: Info, n: number): Uint8Array | null {
  const mask = info.actionMask as ArrayLike<number | boolean> | undefined;
  if (mask === undefined) return null;
  const out = new Uint8Array(n);
  writeMask(mask, out, 0, n, "info.actionMask");
  return out;
}

/**
 * Masks `[numEnvs * n]` from vector infos (`infos.actionMask[i]`, present where
 * `infos._actionMask[i]`), written over `base` (copied, never modified). Envs that report no mask
 * keep their row of `base`, or all-allowed when `base` is null. Null when no env reports a mask and
 * `base` is null.
 */
export function actionMasksFromInfos(
  infos: VectorInfos,
  numEnvs: number,
  n: number,
  base: Uint8Array | null,
): Uint8Array | null {
  const perEnv = infos.actionMask as (ArrayLike<number | boolean> | undefined)[] | undefined;
  if (perEnv === undefined) return base;
  const present = infos._actionMask as Uint8Array | undefined;
  const out = base === null ? new Uint8Array(numEnvs * n).fill(1) : base.slice();
  for (let i = 0; i < numEnvs; i++) {
    const mask = perEnv[i];
    if (mask === undefined || (present !== undefined && !present[i])) continue;
    writeMask(mask, out, i * n, n, `infos.actionMask[${i}]`);
  }
  return out;
}

function writeMask(
  mask: ArrayLike<number | boolean>,
  out: Uint8Array,
  offset: number,
  n: number,
  where: string,
): void {
  if (mask.length !== n) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `${where} has ${mask.length} entries, but the action space is Discrete(${n}): report one entry per action (1 = allowed).`,
    );
  }
  for (let a = 0; a < n; a++) out[offset + a] = mask[a] ? 1 : 0;
}
