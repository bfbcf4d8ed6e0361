import { BipedalWalkerEnv } from "./box2d/bipedalWalker.js";
import { LunarLanderEnv } from "./box2d/lunarLander.js";
import { AcrobotEnv, AcrobotKernel } from "./classic/acrobot.js";
import { BatchedClassicEnv } from "./classic/batchedClassicEnv.js";
import { CartPoleEnv, CartPoleKernel } from "./classic/cartPole.js";
import type { ClassicKernel } from "./classic/classicKernel.js";
import { MountainCarEnv, MountainCarKernel } from "./classic/mountainCar.js";
import { MountainCarContinuousEnv, MountainCarContinuousKernel } from "./classic/mountainCarContinuous.js";
import { PendulumEnv, PendulumKernel } from "./classic/pendulum.js";
import type { EnvRegistration } from "./registry.js";
import { BlackjackEnv } from "./toyText/blackjack.js";
import { CliffWalkingEnv } from "./toyText/cliffWalking.js";
import { FrozenLakeEnv } from "./toyText/frozenLake.js";
import { TaxiEnv } from "./toyText/taxi.js";

function batched(
  createKernel: (kwargs: Record<string, unknown>) => ClassicKernel,
): EnvRegistration["vectorEntryPoint"] {
  return (kwargs, options) => new BatchedClassicEnv(createKernel(kwargs), options);
}

/**
 * The built-in envs with Gymnasium 1.x's ids, time limits and reward thresholds
 * (`gymnasium/envs/__init__.py`).
 */
export const builtinEnvs: EnvRegistration[] = [
  {
    id: "CartPole-v1",
    entryPoint: (kw) => new CartPoleEnv(kw),
    vectorEntryPoint: batched((kw) => new CartPoleKernel(kw)),
    maxEpisodeSteps: 500,
    rewardThreshold: 475,
    entry: "envs/classic/cartPole#CartPoleEnv",
  },
  {
    id: "Acrobot-v1",
    entryPoint: (kw) => new AcrobotEnv(kw),
    vectorEntryPoint: batched(() => new AcrobotKernel()),
    maxEpisodeSteps: 500,
    rewardThreshold: -100,
    entry: "envs/classic/acrobot#AcrobotEnv",
  },
  {
    id: "MountainCar-v0",
    entryPoint: (kw) => new MountainCarEnv(kw),
    vectorEntryPoint: batched((kw) => new MountainCarKernel(kw)),
    maxEpisodeSteps: 200,
    rewardThreshold: -110,
    entry: "envs/classic/mountainCar#MountainCarEnv",
  },
  {
    id: "MountainCarContinuous-v0",
    entryPoint: (kw) => new MountainCarContinuousEnv(kw),
    vectorEntryPoint: batched((kw) => new MountainCarContinuousKernel(kw)),
    maxEpisodeSteps: 999,
    rewardThreshold: 90,
    entry: "envs/classic/mountainCarContinuous#MountainCarContinuousEnv",
  },
  {
    id: "Pendulum-v1",
    entryPoint: (kw) => new PendulumEnv(kw),
    vectorEntryPoint: batched((kw) => new PendulumKernel(kw)),
    maxEpisodeSteps: 200,
    entry: "envs/classic/pendulum#PendulumEnv",
  },
  {
    id: "LunarLander-v3",
    entryPoint: (kw) => new LunarLanderEnv(kw),
    maxEpisodeSteps: 1000,
    rewardThreshold: 200,
    entry: "envs/box2d/lunarLander#LunarLanderEnv",
  },
  {
    id: "LunarLanderContinuous-v3",
    entryPoint: (kw) => new LunarLanderEnv(kw),
    kwargs: { continuous: true },
    maxEpisodeSteps: 1000,
    rewardThreshold: 200,
    entry: "envs/box2d/lunarLander#LunarLanderEnv",
  },
  {
    id: "BipedalWalker-v3",
    entryPoint: (kw) => new BipedalWalkerEnv(kw),
    maxEpisodeSteps: 1600,
    rewardThreshold: 300,
    entry: "envs/box2d/bipedalWalker#BipedalWalkerEnv",
  },
  {
    id: "BipedalWalkerHardcore-v3",
    entryPoint: (kw) => new BipedalWalkerEnv(kw),
    kwargs: { hardcore: true },
    maxEpisodeSteps: 2000,
    rewardThreshold: 300,
    entry: "envs/box2d/bipedalWalker#BipedalWalkerEnv",
  },
  {
    id: "FrozenLake-v1",
    entryPoint: (kw) => new FrozenLakeEnv(kw),
    kwargs: { mapName: "4x4" },
    maxEpisodeSteps: 100,
    rewardThreshold: 0.7, // optimum 0.74 (Gymnasium's note)
    entry: "envs/toyText/frozenLake#FrozenLakeEnv",
  },
  {
    id: "FrozenLake8x8-v1",
    entryPoint: (kw) => new FrozenLakeEnv(kw),
    kwargs: { mapName: "8x8" },
    maxEpisodeSteps: 200,
    rewardThreshold: 0.85, // optimum 0.91 (Gymnasium's note)
    entry: "envs/toyText/frozenLake#FrozenLakeEnv",
  },
  {
    id: "CliffWalking-v1",
    entryPoint: (kw) => new CliffWalkingEnv(kw),
    entry: "envs/toyText/cliffWalking#CliffWalkingEnv",
  },
  {
    id: "CliffWalkingSlippery-v1",
    entryPoint: (kw) => new CliffWalkingEnv(kw),
    kwargs: { isSlippery: true },
    entry: "envs/toyText/cliffWalking#CliffWalkingEnv",
  },
  {
    id: "Taxi-v4",
    entryPoint: (kw) => new TaxiEnv(kw),
    maxEpisodeSteps: 200,
    rewardThreshold: 8, // optimum 8.46 (Gymnasium's note)
    entry: "envs/toyText/taxi#TaxiEnv",
  },
  {
    id: "Blackjack-v1",
    entryPoint: (kw) => new BlackjackEnv(kw),
    kwargs: { sab: true, natural: false },
    entry: "envs/toyText/blackjack#BlackjackEnv",
  },
];
