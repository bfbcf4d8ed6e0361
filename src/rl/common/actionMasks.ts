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

/**
 * The masks of the states a vector step's transitions led to, for replay ({@link ReplayBuffer}'s
 * `nextActionMasks`): `masks [numEnvs * n]` and `present[i]` = 1 where env i reported one. For an
 * env whose episode ended in a same-step autoreset (`sameStep`), `infos.actionMask[i]` is the mask
 * of the new episode's first state; the final state's mask is in `infos.finalInfo[i].actionMask`,
 * as its observation is in `finalObservations`. Otherwise `infos.actionMask[i]` belongs to the
 * observation the step returned, which is the transition's next state. Rows without a mask are all
 * ones. Null when no env reported a mask.
 */
export function transitionActionMasks(
  infos: VectorInfos,
  dones: Uint8Array,
  sameStep: boolean,
  n: number,
): { masks: Uint8Array; present: Uint8Array } | null {
  const numEnvs = dones.length;
  const masks = new Uint8Array(numEnvs * n).fill(1);
  const present = new Uint8Array(numEnvs);
  const reported = (key: string, i: number): boolean => {
    const flags = infos[`_${key}`] as Uint8Array | undefined;
    return flags === undefined || flags[i] !== 0;
  };
  let any = false;
  for (let i = 0; i < numEnvs; i++) {
    let mask: ArrayLike<number | boolean> | undefined;
    if (sameStep && dones[i] !== 0) {
      const finalInfo = (infos.finalInfo as (Info | undefined)[] | undefined)?.[i];
      if (finalInfo !== undefined && reported("finalInfo", i)) {
        mask = finalInfo.actionMask as ArrayLike<number | boolean> | undefined;
      }
    } else {
      const perEnv = infos.actionMask as (ArrayLike<number | boolean> | undefined)[] | undefined;
      if (perEnv !== undefined && reported("actionMask", i)) mask = perEnv[i];
    }
    if (mask === undefined) continue;
    writeMask(
      mask,
      masks,
      i * n,
      n,
      sameStep && dones[i] !== 0 ? `infos.finalInfo[${i}].actionMask` : `infos.actionMask[${i}]`,
    );
    present[i] = 1;
    any = true;
  }
  return any ? { masks, present } : null;
}
