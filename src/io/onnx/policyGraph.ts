/**
 * The ONNX graphs of proximal's RL policies. Each mirrors what the algorithm's deterministic
 * `predict` computes, layer for layer, reading the weights from the policy's state dict under the
 * names its class documents (the same names saved models use):
 * - {@link ActorCriticPolicy} (PPO, A2C, A3C, TRPO, REINFORCE): `actor.layers.i`/`critic.layers.i`,
 *   or `trunk.layers.i` + `actionHead` + `valueHead`, and `logStd`;
 * - {@link QCriticPolicy} (ActorCritic): the actor and `qCritic.layers.i`, `V(s) = Σ_a π(a|s) Q(s, a)`;
 * - {@link QPolicy} (DQN, Rainbow, QR-DQN): `qNet.mlp.layers.i`, or `qNet.trunk.layers.i` +
 *   `qNet.valueHead` + `qNet.advantageHead`; NoisyLinear layers by their mean weights `weightMu`,
 *   `biasMu` (what a deterministic `predict` uses);
 * - {@link TD3Policy} (DDPG, TD3) and {@link DistributionalActorCriticPolicy} (D4PG): `actor.mu.layers.i`;
 * - {@link SACPolicy}: `actor.latent.layers.i`, `actor.mu`, `actor.logStd`.
 */
import { MASKED_LOGIT } from "../../distributions/categorical.js";
import { Box } from "../../envs/spaces/box.js";
import { Discrete } from "../../envs/spaces/discrete.js";
import type { Space } from "../../envs/spaces/space.js";
import { ProximalError } from "../../errors.js";
import type { Activation } from "../../nn/mlp.js";
import { QCriticPolicy } from "../../rl/actorCritic.js";
import { LOG_STD_MAX, LOG_STD_MIN } from "../../rl/common/continuousLosses.js";
import { TD3Policy } from "../../rl/common/deterministicActorCritic.js";
import { DistributionalActorCriticPolicy } from "../../rl/common/distributionalActorCritic.js";
import { ActorCriticPolicy } from "../../rl/common/policies.js";
import { QPolicy } from "../../rl/common/qPolicy.js";
import { SACPolicy } from "../../rl/sac.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { AffineWeights, GraphBuilder } from "./graphBuilder.js";
import { ONNX_DATA_TYPE } from "./onnxModel.js";

type StateDict = Record<string, Tensor>;

/** Observation statistics to bake into a graph: `clip((obs − mean) / √(var + epsilon), ±clip)`. */
export interface OnnxObservationNormalization {
  mean: ArrayLike<number>;
  var: ArrayLike<number>;
  epsilon: number;
  /** Clip bound of the normalised observations; null or Infinity: none. */
  clip: number | null;
}

/**
 * The affine layer stored at `prefix` (`weight`/`bias`, or a NoisyLinear's mean weights
 * `weightMu`/`biasMu`), or null when there is none.
 */
function affineAt(dict: StateDict, prefix: string): AffineWeights | null {
  const weight = dict[`${prefix}.weight`] ?? dict[`${prefix}.weightMu`];
  if (weight === undefined) return null;
  const bias = dict[`${prefix}.bias`] ?? dict[`${prefix}.biasMu`] ?? null;
  const [outFeatures, inFeatures] = weight.shape;
  return { weight: weight.values, bias: bias === null ? null : bias.values, inFeatures, outFeatures };
}

function requiredAffine(dict: StateDict, prefix: string): AffineWeights {
  const layer = affineAt(dict, prefix);
  if (layer === null) {
    throw new ProximalError(
      "INTERNAL",
      `ONNX export: the policy has no layer "${prefix}" in its state dict. Please report this bug.`,
    );
  }
  return layer;
}

/** The layers `prefix.layers.0`, `prefix.layers.1`, ... of an MLP (or NoisyMLP) in the state dict. */
function stackAt(dict: StateDict, prefix: string): AffineWeights[] {
  const layers: AffineWeights[] = [];
  for (let i = 0; ; i++) {
    const layer = affineAt(dict, `${prefix}.layers.${i}`);
    if (layer === null) break;
    layers.push(layer);
  }
  if (layers.length === 0) {
    throw new ProximalError(
      "INTERNAL",
      `ONNX export: the policy has no layers under "${prefix}" in its state dict. Please report this bug.`,
    );
  }
  return layers;
}

/**
 * `clip((obs − mean) / √(var + ε), −clip, clip)` per component, as VectorNormalizeObservation and
 * the CLI's `normalization.json` apply it before `predict`.
 */
export function normalizeObservationNode(
  g: GraphBuilder,
  obs: string,
  norm: OnnxObservationNormalization,
  size: number,
): string {
  if (norm.mean.length !== size || norm.var.length !== size) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `ONNX export: the observation statistics have ${norm.mean.length} means and ${norm.var.length} variances, but the policy takes ${size} observation values. Pass the statistics the model was trained with.`,
    );
  }
  const std = Array.from(norm.var, (v) => Math.sqrt(v + norm.epsilon));
  const centered = g.op("Sub", [obs, g.constant(norm.mean, [size], "obs_mean")]);
  const scaled = g.op("Div", [centered, g.constant(std, [size], "obs_std")]);
  const clip = norm.clip ?? Number.POSITIVE_INFINITY;
  if (!Number.isFinite(clip)) return scaled;
  return g.op("Clip", [scaled, g.constant([-clip], [], "clip_min"), g.constant([clip], [], "clip_max")]);
}

/** `[batch, 1]` → `[batch]`. */
function flattenColumn(g: GraphBuilder, x: string): string {
  return g.op("Reshape", [x, g.int64Constant([-1])]);
}

/** Row-wise argmax as int64 [batch] (ties to the lowest index, as `predict`). */
function argmaxRows(g: GraphBuilder, x: string): string {
  return g.op("ArgMax", [x], { axis: { int: 1 }, keepdims: { int: 0 }, select_last_index: { int: 0 } });
}

/** `low + ½ (a + 1)(high − low)`: [−1, 1] → the env's bounds ({@link unscaleAction}). */
function unscaleNode(g: GraphBuilder, scaled: string, space: Box): string {
  const half = Array.from(space.high, (h, k) => 0.5 * (h - space.low[k]));
  const shifted = g.op("Add", [scaled, g.constant([1], [], "one")]);
  return g.op("Add", [
    g.op("Mul", [shifted, g.constant(half, [space.size], "half_range")]),
    g.constant(space.low, [space.size], "low"),
  ]);
}

/** What a policy graph adds to the graph's outputs, with their ONNX types and shapes. */
interface PolicyOutputs {
  action: { value: string; dataType: "int64" | "float32"; shape: (number | string)[] };
  extra: { name: string; value: string; shape: (number | string)[] }[];
}

/**
 * `x` where `mask` allows (true), `fill` elsewhere: a masked action's logit or Q-value, so that argmax
 * and softmax never pick it.
 */
function maskedScores(g: GraphBuilder, x: string, mask: string, fill: number): string {
  return g.op("Where", [mask, x, g.constant([fill], [], "masked_fill")]);
}

/**
 * The on-policy actor-critic: logits (or mean and logStd), value, and the deterministic action. With
 * `mask` (Discrete only), disallowed logits are set to −1e8 as {@link Categorical} does.
 */
function actorCriticGraph(
  g: GraphBuilder,
  policy: ActorCriticPolicy,
  input: string,
  mask: string | null,
): PolicyOutputs {
  const obs = networkInputGraph(g, input, policy.observationSpace);
  const dict = policy.stateDict();
  const act: Activation = policy.options.activation;
  const extra: PolicyOutputs["extra"] = [];
  const features = policy.options.shareTrunk ? g.mlp(obs, stackAt(dict, "trunk"), act, act) : null;
  const actionOut =
    features === null
      ? g.mlp(obs, stackAt(dict, "actor"), act)
      : g.affine(features, requiredAffine(dict, "actionHead"));
  const kind = policy.action;
  let action: PolicyOutputs["action"];
  switch (kind.kind) {
    case "discrete": {
      const logits = mask === null ? actionOut : maskedScores(g, actionOut, mask, MASKED_LOGIT);
      extra.push({ name: "logits", value: logits, shape: ["batch", kind.n] });
      action = { value: argmaxRows(g, logits), dataType: "int64", shape: ["batch"] };
      break;
    }
    case "box": {
      // predict clips the Gaussian's mode into the bounds (SB3 clips actions before env.step)
      const low = g.constant(kind.low, [kind.dim], "low");
      const high = g.constant(kind.high, [kind.dim], "high");
      const clipped = g.op("Min", [g.op("Max", [actionOut, low]), high]);
      const logStd = g.op("Expand", [
        g.constant(policy.logStd!.values, [kind.dim], "log_std"),
        g.op("Shape", [actionOut]),
      ]);
      extra.push({ name: "mean", value: actionOut, shape: ["batch", kind.dim] });
      extra.push({ name: "logStd", value: logStd, shape: ["batch", kind.dim] });
      action = { value: clipped, dataType: "float32", shape: ["batch", kind.dim] };
      break;
    }
    case "multiDiscrete": {
      const total = kind.nvec.reduce((a, b) => a + b, 0);
      const parts: string[] = [];
      let offset = 0;
      for (const n of kind.nvec) {
        const slice = g.op("Slice", [
          actionOut,
          g.int64Constant([offset]),
          g.int64Constant([offset + n]),
          g.int64Constant([1]),
        ]);
        parts.push(g.op("ArgMax", [slice], { axis: { int: 1 }, keepdims: { int: 1 } }));
        offset += n;
      }
      extra.push({ name: "logits", value: actionOut, shape: ["batch", total] });
      action = {
        value: g.op("Concat", parts, { axis: { int: 1 } }),
        dataType: "int64",
        shape: ["batch", kind.nvec.length],
      };
      break;
    }
    default:
      kind satisfies never;
      throw new ProximalError("INTERNAL", "unreachable action kind");
  }
  let value: string;
  if (policy instanceof QCriticPolicy) {
    // ActorCritic's V(s) = Σ_a π(a|s) Q(s, a) (QCriticPolicy.predictValues); its `critic.*` is unused
    const q = g.mlp(obs, stackAt(dict, "qCritic"), act);
    const probs = g.op("Softmax", [actionOut], { axis: { int: -1 } });
    value = g.op("ReduceSum", [g.op("Mul", [probs, q]), g.int64Constant([-1])], { keepdims: { int: 0 } });
    extra.push({ name: "q", value: q, shape: ["batch", policy.numActions] });
  } else if (features !== null) {
    value = flattenColumn(g, g.affine(features, requiredAffine(dict, "valueHead")));
  } else {
    value = flattenColumn(g, g.mlp(obs, stackAt(dict, "critic"), act));
  }
  extra.push({ name: "value", value, shape: ["batch"] });
  return { action, extra };
}

/**
 * The stored observation `obs` as the network reads it (`rl/common/observationEncoding.ts`): unchanged,
 * or for a Discrete space its index `[batch, 1]` (float) as a one-hot row: Cast to int64, minus the
 * space's `start`, OneHot of depth n (opset 11), `[batch, 1, n]` reshaped to `[batch, n]`. Out of range,
 * ONNX's OneHot gives a zero row where the library throws.
 */
function networkInputGraph(g: GraphBuilder, obs: string, space: Space): string {
  if (!(space instanceof Discrete)) return obs;
  const index = g.op("Sub", [
    g.op("Cast", [obs], { to: { int: ONNX_DATA_TYPE.int64 } }),
    g.int64Constant([space.start], []),
  ]);
  const rows = g.op("OneHot", [index, g.int64Constant([space.n], []), g.constant([0, 1], [2])], {
    axis: { int: -1 },
  });
  return g.op("Reshape", [rows, g.int64Constant([-1, space.n])]);
}

/**
 * The Q-network family: `q` [batch, nActions] and the greedy action, over the allowed actions when
 * `mask` is given (`q` itself stays unmasked).
 */
function qNetworkGraph(g: GraphBuilder, policy: QPolicy, input: string, mask: string | null): PolicyOutputs {
  let obs = input;
  obs = networkInputGraph(g, obs, policy.observationSpace);
  const dict = policy.stateDict();
  const { activation: act, dueling, atoms, quantiles } = policy.options;
  const nActions = policy.nActions;
  const distributional = atoms > 1 || quantiles > 0;
  const perAction = atoms > 1 ? atoms : quantiles > 0 ? quantiles : 1;
  const shape = distributional ? [-1, nActions, perAction] : [-1, nActions];
  let out: string;
  if (dueling) {
    // Q = V + A − mean_a A (Wang et al. 2016, eq. 9), per atom or quantile
    const features = g.mlp(obs, stackAt(dict, "qNet.trunk"), act, act);
    const valueShape = distributional ? [-1, 1, perAction] : [-1, 1];
    const v = g.op("Reshape", [
      g.affine(features, requiredAffine(dict, "qNet.valueHead")),
      g.int64Constant(valueShape),
    ]);
    const a = g.op("Reshape", [
      g.affine(features, requiredAffine(dict, "qNet.advantageHead")),
      g.int64Constant(shape),
    ]);
    const meanA = g.op("ReduceMean", [a], { axes: { ints: [1] }, keepdims: { int: 1 } });
    out = g.op("Add", [v, g.op("Sub", [a, meanA])]);
  } else {
    out = g.op("Reshape", [g.mlp(obs, stackAt(dict, "qNet.mlp"), act), g.int64Constant(shape)]);
  }
  let q = out;
  if (quantiles > 0) {
    q = g.op("ReduceMean", [out], { axes: { ints: [-1] }, keepdims: { int: 0 } }); // QR-DQN: mean of N quantiles
  } else if (atoms > 1) {
    // C51: Q(s, a) = Σ_i z_i softmax_i
    const probs = g.op("Softmax", [out], { axis: { int: -1 } });
    const support = g.constant(policy.qNet.support!, [atoms], "support");
    q = g.op("ReduceSum", [g.op("Mul", [probs, support]), g.int64Constant([-1])], { keepdims: { int: 0 } });
  }
  const scores = mask === null ? q : maskedScores(g, q, mask, Number.NEGATIVE_INFINITY);
  return {
    action: { value: argmaxRows(g, scores), dataType: "int64", shape: ["batch"] },
    extra: [{ name: "q", value: q, shape: ["batch", nActions] }],
  };
}

/** DDPG, TD3, D4PG: `μ(s) = tanh(MLP(s))`, rescaled to the bounds. */
function deterministicActorGraph(
  g: GraphBuilder,
  policy: TD3Policy | DistributionalActorCriticPolicy,
  obs: string,
  space: Box,
): PolicyOutputs {
  const scaled = g.mlp(obs, stackAt(policy.stateDict(), "actor.mu"), policy.options.activation, "tanh");
  return {
    action: { value: unscaleNode(g, scaled, space), dataType: "float32", shape: ["batch", space.size] },
    extra: [],
  };
}

/** SAC: mean, clamped logStd, and the deterministic action `tanh(mean)` rescaled to the bounds. */
function sacGraph(g: GraphBuilder, policy: SACPolicy, obs: string, space: Box): PolicyOutputs {
  const dict = policy.stateDict();
  const act = policy.options.activation;
  const h = policy.options.netArch.length === 0 ? obs : g.mlp(obs, stackAt(dict, "actor.latent"), act, act);
  const mean = g.affine(h, requiredAffine(dict, "actor.mu"));
  const logStd = g.op("Clip", [
    g.affine(h, requiredAffine(dict, "actor.logStd")),
    g.constant([LOG_STD_MIN], [], "log_std_min"),
    g.constant([LOG_STD_MAX], [], "log_std_max"),
  ]);
  const d = space.size;
  return {
    action: { value: unscaleNode(g, g.op("Tanh", [mean]), space), dataType: "float32", shape: ["batch", d] },
    extra: [
      { name: "mean", value: mean, shape: ["batch", d] },
      { name: "logStd", value: logStd, shape: ["batch", d] },
    ],
  };
}

/** A model with a policy network and a vector env: an on-policy or off-policy algorithm. */
export interface PolicyModel {
  readonly algorithmName: string;
  readonly policy: unknown;
  readonly env: { readonly singleActionSpace: unknown };
}

/** The input size of the policy's network (its flattened observation size). */
export function policyObservationSize(model: PolicyModel): number {
  const policy = model.policy as { observationSize?: unknown };
  if (typeof policy.observationSize !== "number") unsupportedPolicy(model);
  return policy.observationSize as number;
}

function boxSpaceOf(model: PolicyModel): Box {
  const space = model.env.singleActionSpace;
  if (!(space instanceof Box)) {
    throw new ProximalError(
      "INTERNAL",
      `${model.algorithmName}'s continuous actor has a non-Box action space. Please report this bug.`,
    );
  }
  return space;
}

function unsupportedPolicy(model: PolicyModel): never {
  const name = (model.policy as object | null)?.constructor?.name ?? String(model.policy);
  throw new ProximalError(
    "UNSUPPORTED_MODEL",
    `ONNX export does not support ${model.algorithmName}'s policy ${name}. Exportable: the MLP policies of PPO, A2C, A3C, TRPO, REINFORCE, ActorCritic, DQN, Rainbow, DDPG, TD3, SAC and D4PG, and the GPT of proximal's RLHF stack.`,
  );
}

/** Actions of a Discrete-action policy that can take a mask (on-policy actor-critics, Q-networks), else null. */
function maskableActions(policy: unknown): number | null {
  if (policy instanceof ActorCriticPolicy && policy.action.kind === "discrete") return policy.action.n;
  if (policy instanceof QPolicy) return policy.nActions;
  return null;
}

/**
 * Add the policy's graph on `obs` (already normalised) and declare its outputs; with `actionMask`, a
 * second input `actionMask` bool [batch, nActions] (true = allowed) restricts the action as
 * `predict(obs, { actionMask })` does.
 */
export function addPolicyGraph(g: GraphBuilder, model: PolicyModel, obs: string, actionMask = false): void {
  const policy = model.policy;
  let mask: string | null = null;
  if (actionMask) {
    const n = maskableActions(policy);
    if (n === null) {
      throw new ProximalError(
        "UNSUPPORTED_MODEL",
        `ONNX export: action masks are exported for Discrete actions only (PPO, A2C, A3C, TRPO, REINFORCE, ActorCritic, DQN, Rainbow); ${model.algorithmName}'s actions are ${JSON.stringify((model.env.singleActionSpace as { toJSON?: () => unknown }).toJSON?.() ?? null)}. Drop actionMask.`,
      );
    }
    mask = g.input("actionMask", "bool", ["batch", n]);
  }
  let outputs: PolicyOutputs;
  if (policy instanceof ActorCriticPolicy) outputs = actorCriticGraph(g, policy, obs, mask);
  else if (policy instanceof QPolicy) outputs = qNetworkGraph(g, policy, obs, mask);
  else if (policy instanceof TD3Policy || policy instanceof DistributionalActorCriticPolicy) {
    outputs = deterministicActorGraph(g, policy, obs, boxSpaceOf(model));
  } else if (policy instanceof SACPolicy) outputs = sacGraph(g, policy, obs, boxSpaceOf(model));
  else unsupportedPolicy(model);
  g.output("action", outputs.action.value, outputs.action.dataType, outputs.action.shape);
  for (const { name, value, shape } of outputs.extra) g.output(name, value, "float32", shape);
}
