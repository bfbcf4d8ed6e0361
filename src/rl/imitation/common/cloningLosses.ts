/**
 * The supervised losses of behaviour cloning, shared by {@link BC} and {@link DAgger} (which is BC
 * on an aggregated dataset). Each takes the policy's outputs for a minibatch of demonstration
 * states and the demonstrated actions.
 */
import * as ops from "../../../tensor/ops.js";
import type { Tensor } from "../../../tensor/tensor.js";

/** How a policy is fitted to demonstrated actions. */
export type CloningLoss = "logLikelihood" | "mse";

/**
 * `L = −(1/N) Σ log π(aᵢ | sᵢ) − c·(1/N) Σ H[π(·|sᵢ)]`: maximum likelihood of the demonstrated
 * actions (Pomerleau 1991; Ross et al. 2011, §2), with an optional entropy bonus `c` as the
 * `imitation` library's BC (`ent_weight`). For a Categorical policy the first term is the
 * cross-entropy of the logits against the expert's actions; for a diagonal Gaussian it is the
 * Gaussian negative log-likelihood, which also fits the log-std.
 *
 * @param logProb - log π(aᵢ | sᵢ), [batch]
 * @param entropy - H[π(·|sᵢ)], [batch]
 */
export function negativeLogLikelihoodLoss(logProb: Tensor, entropy: Tensor, entCoef: number): Tensor {
  const nll = ops.neg(ops.mean(logProb));
  return entCoef === 0 ? nll : ops.sub(nll, ops.mul(ops.mean(entropy), entCoef));
}

/**
 * `L = (1/(N·d)) Σᵢ ‖μ(sᵢ) − aᵢ‖²`: mean squared error between the policy's mean action and the
 * demonstrated one (PyTorch `MSELoss` with mean reduction), for Box actions. It fits only the mean;
 * the log-std keeps its value, so sampled actions keep their initial spread.
 *
 * @param meanActions - μ(sᵢ), [batch, d]
 * @param actions - aᵢ, [batch, d]
 */
export function meanSquaredActionLoss(meanActions: Tensor, actions: Tensor): Tensor {
  return ops.mean(ops.square(ops.sub(meanActions, actions)));
}
