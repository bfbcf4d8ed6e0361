import type { Space } from "../../envs/spaces/space.js";
import type { Rng } from "../../random/rng.js";
import { ICM } from "./icm.js";
import type { IntrinsicRewardModule, ResolvedIntrinsicOptions } from "./intrinsicReward.js";
import { RND } from "./rnd.js";

/** The module of a resolved `intrinsicReward` option (see `resolveIntrinsicOptions`). */
export function createIntrinsicReward(
  options: ResolvedIntrinsicOptions,
  observationSpace: Space,
  actionSpace: Space,
  rng: Rng,
): IntrinsicRewardModule {
  switch (options.type) {
    case "icm":
      return new ICM(options, observationSpace, actionSpace, rng);
    case "rnd":
      return new RND(options, observationSpace, actionSpace, rng);
    default:
      options.type satisfies never;
      throw new Error("unreachable");
  }
}
