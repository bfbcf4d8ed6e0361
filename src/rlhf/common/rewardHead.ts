import { ProximalError } from "../../errors.js";
import { normal_ } from "../../nn/init.js";
import { Module } from "../../nn/module.js";
import type { Rng } from "../../random/rng.js";
import { linear, reshape, takeAlongLastAxis } from "../../tensor/ops.js";
import { Tensor, zeros } from "../../tensor/tensor.js";
import { GPT, type GPTConfig } from "../gpt.js";

/**
 * A scalar reward read at the last real token of each sequence, as Hugging Face's
 * `GPT2ForSequenceClassification` with one label: `score` is a bias-free [1, nEmbd] weight, so a
 * reward model's state dict reads `score.weight`. The last real token is the last position whose
 * attention mask is 1, which handles left and right padding alike (HF assumes right padding and
 * looks for the first pad id).
 */
export class RewardHead extends Module {
  /** [1, nEmbd] */
  readonly weight: Tensor;

  constructor(nEmbd: number, options: { rng: Rng; initializerRange?: number }) {
    super();
    this.weight = this.registerParameter("weight", zeros([1, nEmbd]));
    normal_(this.weight, 0, options.initializerRange ?? 0.02, options.rng);
  }

  /** hidden [batch, time, nEmbd], mask [batch, time] (1 = real) → rewards [batch] */
  forward(hidden: Tensor, attentionMask: Tensor | null = null): Tensor {
    const [batch, time] = hidden.shape;
    const scores = reshape(linear(hidden, this.weight), [batch, time]);
    return takeAlongLastAxis(scores, lastRealIndex(batch, time, attentionMask));
  }
}

/** int32 [batch]: the last column whose mask is nonzero (time - 1 without a mask). */
export function lastRealIndex(batch: number, time: number, attentionMask: Tensor | null): Tensor {
  const out = new Int32Array(batch).fill(time - 1);
  if (attentionMask !== null) {
    for (let b = 0; b < batch; b++) {
      let last = -1;
      for (let t = 0; t < time; t++) if (attentionMask.data[b * time + t] !== 0) last = t;
      if (last < 0) {
        throw new ProximalError(
          "INVALID_ARGUMENT",
          `Row ${b} of the attention mask has no real token, so it has no reward. Drop empty sequences.`,
        );
      }
      out[b] = last;
    }
  }
  return new Tensor(out, [batch]);
}

/**
 * A reward model: a GPT trunk with a {@link RewardHead} (`transformer.*`, `score.weight`), trained on
 * preference pairs with the Bradley-Terry loss (Ouyang et al. 2022, arXiv:2203.02155, eq. 1).
 */
export class GPTRewardModel extends Module {
  readonly transformer: GPT;
  readonly score: RewardHead;

  constructor(gptOrConfig: GPT | GPTConfig, options: { rng: Rng }) {
    super();
    const gpt = gptOrConfig instanceof GPT ? gptOrConfig : new GPT(gptOrConfig, options);
    this.transformer = this.registerModule("transformer", gpt);
    this.score = this.registerModule(
      "score",
      new RewardHead(gpt.config.nEmbd, { rng: options.rng, initializerRange: gpt.config.initializerRange }),
    );
  }

  /** ids int32 [batch, time] → rewards [batch] */
  forward(ids: Tensor, options: { attentionMask?: Tensor | null } = {}): Tensor {
    const mask = options.attentionMask ?? null;
    const { hidden } = this.transformer.forward(ids, { attentionMask: mask, computeLogits: false });
    return this.score.forward(hidden, mask);
  }
}
