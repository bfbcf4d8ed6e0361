/**
 * `exportOnnx(model)`: a trained policy or a {@link GPT} as the bytes of an ONNX file, for
 * deployment with any ONNX runtime (onnxruntime-web in a page, onnxruntime-node, Python's
 * onnxruntime). Browser-safe: it only builds bytes; `proximal export onnx` writes them to a file.
 */
import { ProximalError } from "../../errors.js";
import type { Algorithm } from "../../rl/common/algorithm.js";
import { TabularAlgorithm } from "../../rl/tabular/tabularAlgorithm.js";
import { GPT } from "../../rlhf/gpt.js";
import { VERSION } from "../../version.js";
import { addGptGraph } from "./gptGraph.js";
import { GraphBuilder } from "./graphBuilder.js";
import { encodeOnnxModel } from "./onnxModel.js";
import type { OnnxObservationNormalization, PolicyModel } from "./policyGraph.js";
import { addPolicyGraph, normalizeObservationNode, policyObservationSize } from "./policyGraph.js";

/** Options of {@link exportOnnx}. */
export interface ExportOnnxOptions {
  /**
   * Observation statistics to bake into the graph, so that it takes raw observations. Pass null to
   * leave normalisation out (the graph then expects observations normalised as in training).
   * Ignored for a GPT.
   * @defaultValue the model's own `observationNormalizer` (the VectorNormalizeObservation it was
   * trained behind, restored by `load`), none when it has none
   */
  observationNormalization?: OnnxObservationNormalization | null;
  /**
   * Add a second input, `actionMask` bool [batch, nActions] (true = allowed), and pick `action` among
   * the allowed actions as `predict(obs, { actionMask })` does: masked `logits` are −1e8 (as the
   * `Categorical` distribution sets them), the greedy action of Q-networks skips masked actions (`q` stays unmasked).
   * For models of envs that report `info.actionMask`; Discrete actions only.
   * @defaultValue false
   */
  actionMask?: boolean;
}

/**
 * What {@link exportOnnx} takes: an RL algorithm with a policy network, or a {@link GPT}. Any
 * {@link Algorithm} type-checks; those without an exportable network are refused at run time.
 */
export type OnnxExportable = GPT | Algorithm | (PolicyModel & { readonly observationNormalizer?: unknown });

/** The statistics of a VectorNormalizeObservation-like normaliser, or null when there is none. */
function normalizerStatistics(normalizer: unknown): OnnxObservationNormalization | null {
  if (normalizer === null || normalizer === undefined) return null;
  const n = normalizer as {
    statistics?: { mean: ArrayLike<number>; var: ArrayLike<number> };
    epsilon?: number;
    clip?: number;
  };
  if (n.statistics === undefined || typeof n.epsilon !== "number") {
    throw new ProximalError(
      "INTERNAL",
      "ONNX export: the model's observationNormalizer has no statistics. Please report this bug.",
    );
  }
  return { mean: n.statistics.mean, var: n.statistics.var, epsilon: n.epsilon, clip: n.clip ?? null };
}

/**
 * The model as ONNX bytes (IR 8, opset 17; loads in onnxruntime 1.13+).
 *
 * Graph contract of a policy: input `obs` float32 [batch, obsDim] (raw observations, flattened as
 * `predict` takes them; the model's observation normalisation is inside the graph); output
 * `action`, the deterministic action in the env's units, as `predict(obs, { deterministic: true })`
 * returns it: int64 [batch] for Discrete, int64 [batch, k] for MultiDiscrete, float32 [batch, dim]
 * for Box. Further outputs where the model has them:
 * - PPO, A2C, A3C, TRPO, REINFORCE: `logits` [batch, n] (Discrete, MultiDiscrete: the components'
 *   logits side by side) or `mean` and `logStd` [batch, dim] of the Gaussian (Box); `value` [batch].
 * - ActorCritic: `logits`, `q` [batch, n] and `value` = Σ_a π(a|s) Q(s, a).
 * - DQN, Rainbow (dueling, noisy layers by their mean weights, C51, QR-DQN): `q` [batch, n], the
 *   expected returns the greedy action maximises.
 * - SAC: `mean` and `logStd` (clamped to [−20, 2]) of the Gaussian before tanh.
 * - DDPG, TD3, D4PG: `action` only.
 *
 * A {@link GPT}: input `input_ids` int64 [batch, sequence] (no padding, at most `nPositions`),
 * output `logits` float32 [batch, sequence, vocabSize].
 *
 * Action masks are left out unless `actionMask: true` adds them as a second input (Discrete actions).
 *
 * @throws ProximalError `UNSUPPORTED_MODEL` for models without an exportable network (tabular
 * algorithms, custom policies).
 * @example
 * const model = new PPO("CartPole-v1", { seed: 0 });
 * await model.learn({ totalTimesteps: 50_000 });
 * const bytes = exportOnnx(model); // Uint8Array, save as policy.onnx
 * // onnxruntime-web: (await session.run({ obs: new ort.Tensor("float32", obs, [1, 4]) })).action
 */
export function exportOnnx(model: OnnxExportable, options: ExportOnnxOptions = {}): Uint8Array {
  const g = new GraphBuilder();
  if (model instanceof GPT) {
    addGptGraph(g, model, g.input("input_ids", "int64", ["batch", "sequence"]));
    return encodeOnnxModel(
      g.build({
        graphName: "gpt",
        producerVersion: VERSION,
        docString:
          "proximal GPT: input_ids int64 [batch, sequence] -> logits float32 [batch, sequence, vocabSize]",
        metadata: { model: "GPT", config: JSON.stringify(model.config) },
      }),
    );
  }
  const candidate = model as Partial<PolicyModel & { observationNormalizer: unknown }> | null;
  if (
    candidate === null ||
    typeof candidate !== "object" ||
    candidate.policy == null ||
    candidate.env == null
  ) {
    const name =
      (candidate as { algorithmName?: string } | null)?.algorithmName ?? candidate?.constructor?.name;
    throw new ProximalError(
      "UNSUPPORTED_MODEL",
      `ONNX export needs a model with a policy network (PPO, A2C, A3C, TRPO, REINFORCE, ActorCritic, DQN, Rainbow, DDPG, TD3, SAC, D4PG) or a GPT; got ${String(name)}${model instanceof TabularAlgorithm ? ", a tabular algorithm without a network: read its Q-table instead" : ""}.`,
    );
  }
  const policyModel = candidate as PolicyModel & { observationNormalizer?: unknown };
  const obsSize = policyObservationSize(policyModel);
  const norm =
    options.observationNormalization === undefined
      ? normalizerStatistics(policyModel.observationNormalizer)
      : options.observationNormalization;
  let obs = g.input("obs", "float32", ["batch", obsSize]);
  if (norm !== null) obs = normalizeObservationNode(g, obs, norm, obsSize);
  addPolicyGraph(g, policyModel, obs, options.actionMask ?? false);
  const space = policyModel.env.singleActionSpace as { toJSON?: () => unknown };
  return encodeOnnxModel(
    g.build({
      graphName: policyModel.algorithmName,
      producerVersion: VERSION,
      docString: `proximal ${policyModel.algorithmName} policy: obs float32 [batch, ${obsSize}] -> action (deterministic, env units)`,
      metadata: {
        algorithm: policyModel.algorithmName,
        actionSpace: JSON.stringify(space.toJSON?.() ?? null),
        observationNormalization: norm === null ? "none" : "in graph",
      },
    }),
  );
}
