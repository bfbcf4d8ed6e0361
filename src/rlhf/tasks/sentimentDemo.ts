/**
 * The RLHF pipeline end to end on the "positive review" task ({@link ./sentiment.ts}), small enough
 * for a laptop CPU (Ouyang et al. 2022, arXiv:2203.02155, Figure 2):
 * 1. SFT: a character-level GPT learns to continue review prompts (loss on the response only);
 * 2. preferences: pairs of SFT samples per prompt, labelled chosen/rejected by the fixed judge
 *    (ties dropped); a reward model (initialised from the SFT model, as Ouyang et al. 2022, §3.5) learns them
 *    with the Bradley-Terry loss `-log σ(r_chosen - r_rejected)`; held-out pairs give its accuracy.
 *    Held-out means other sampled pairs over the same 40 prompts (10 subjects × 4 verbs) that
 *    share no comparison with the training pairs (`splitByComparison`); the judge defines
 *    the preference, so the accuracy measures agreement with the judge;
 * 3. PPO with the four models ({@link PPOTrainer}) steers the actor toward what the reward model
 *    likes, with the KL penalty to the SFT reference;
 * 4. DPO ({@link DPOTrainer}) on the same training pairs.
 * The judge scores samples of the SFT model, the PPO actor and the DPO policy on fixed prompts.
 */
import { ProximalError } from "../../errors.js";
import { Adam } from "../../optim/adam.js";
import { clipGradNorm } from "../../optim/clipGradNorm.js";
import { Rng } from "../../random/rng.js";
// the event-loop turn between steps that works in Node and in browsers (no setImmediate there)
import { yieldToEventLoop } from "../../rl/common/onPolicyAlgorithm.js";
import { crossEntropy, mean, narrow, neg, softplus, sub } from "../../tensor/ops.js";
import { noGrad, Tensor } from "../../tensor/tensor.js";
import type { CharTokenizer } from "../charTokenizer.js";
import { comparisonKey, splitByKey } from "../common/heldOut.js";
import { responseLogProbs } from "../common/logProbs.js";
import { GPTRewardModel } from "../common/rewardHead.js";
import type { SequenceBatch } from "../common/sequenceBatch.js";
import type { DPOConfig } from "../dpo/dpoConfig.js";
import { DPOTrainer } from "../dpo/dpoTrainer.js";
import { cloneGPT, GPT, type GPTConfig } from "../gpt.js";
import type { PPOConfig } from "../ppo/ppoConfig.js";
import { type PPOStepStats, PPOTrainer } from "../ppo/ppoTrainer.js";
import { judgeSentiment, samplePrompt, sentimentCorpus, sentimentTokenizer } from "./sentiment.js";

/** Options of {@link runSentimentDemo}; the defaults take about 8 minutes on one busy core of a 2-core machine (BENCHMARKS.md "rlhf demo"). */
export interface SentimentDemoOptions {
  /** Seed of the corpus, the models and every sample. @defaultValue 0 */
  seed?: number;
  /** GPT sizes (vocabulary from the tokenizer). @defaultValue 2 layers, width 64, 4 heads, 64 positions */
  model?: Partial<Omit<GPTConfig, "vocabSize">>;
  /** Reviews in the SFT corpus. @defaultValue 4000 */
  corpusSize?: number;
  /** SFT steps (AdamW, lr 3e-3). @defaultValue 600 */
  sftSteps?: number;
  /** Sequences per SFT / reward-model step. @defaultValue 32 */
  batchSize?: number;
  /**
   * Prompts sampled twice for preference pairs (ties are dropped; about a fifth of the pairs are held
   * out, whole comparisons at a time: `splitByComparison`). @defaultValue 1500
   */
  pairPrompts?: number;
  /** Reward-model steps (Adam, lr 1e-3). @defaultValue 500 */
  rewardSteps?: number;
  /** PPO updates. @defaultValue 60 */
  ppoSteps?: number;
  /** Prompts per PPO update. @defaultValue 32 */
  ppoBatchSize?: number;
  /** PPO options; the demo's defaults are below in `DEMO_PPO_CONFIG`. */
  ppo?: PPOConfig;
  /** DPO steps on the training preference pairs. @defaultValue 300 */
  dpoSteps?: number;
  /** Fixed prompts the judge evaluates on. @defaultValue 128 */
  evalPrompts?: number;
  /** Called with each stage's progress. */
  onProgress?: (event: DemoProgress) => void;
  /**
   * Responses of the PPO actor to show in each "ppo" progress event (`samples`), to this many fixed
   * eval prompts; also once before the first update (step 0). They are drawn with a generator of
   * their own, so training is the same with or without them. @defaultValue 0 (none)
   */
  samplesPerUpdate?: number;
}

/** One response of the actor, as the judge scores it. */
export interface DemoSample {
  prompt: string;
  response: string;
  /** {@link judgeSentiment} of the response. */
  judge: number;
}

/** Progress of {@link runSentimentDemo}. */
export interface DemoProgress {
  stage: "sft" | "pairs" | "reward" | "ppo" | "dpo" | "eval";
  step: number;
  total: number;
  /** Latest metrics of the stage. */
  metrics?: Record<string, number>;
  /** The actor's responses to fixed prompts ("ppo" events, when `samplesPerUpdate` asks for them). */
  samples?: DemoSample[];
}

/** What {@link runSentimentDemo} returns (the `--json` output of `proximal rlhf demo sentiment`). */
export interface SentimentDemoResult {
  sft: { loss: number };
  /**
   * `heldOutAccuracy`: fraction of held-out pairs the reward model ranks as the judge does. Held-out
   * pairs are new samples over the same prompts that repeat no training comparison.
   */
  rewardModel: { heldOutAccuracy: number; trainPairs: number; heldOutPairs: number };
  ppo: {
    /** Mean judge score of the SFT model's samples on the eval prompts. */
    judgeBefore: number;
    judgeAfter: number;
    /** Mean reward-model score of the same samples. */
    rmBefore: number;
    rmAfter: number;
    /** KL(actor ‖ reference) per response, Σ_t (log π - log π_ref) on actor samples, mean over prompts. */
    klToRef: number;
    /** Metrics of every update ({@link PPOStepStats}). */
    history: PPOStepStats[];
  };
  dpo: { judgeAfter: number; preferenceAccuracy: number };
  /** A few samples before and after, for the eye. */
  samples: { prompt: string; sft: string; ppo: string; dpo: string }[];
  seconds: Record<string, number>;
}

/**
 * PPO settings of the demo: DeepSpeed-Chat's reward formula and GAE defaults (klCoef 0.1,
 * clipRewardValue 5, gamma 1, lam 0.95, cliprange 0.2, cliprangeValue 0.2), with learning rates
 * and epochs for a tiny model trained from scratch.
 */
export const DEMO_PPO_CONFIG: PPOConfig = {
  maxNewTokens: 40,
  learningRate: 1e-4,
  criticLearningRate: 3e-4,
  ppoEpochs: 2,
  miniBatchSize: 16,
};

/**
 * A budget of a few seconds (a 1-layer, width-32 GPT) for smoke tests and `--quick`: the reward model
 * beats chance and PPO raises its score, but the figures mean little.
 */
export const QUICK_DEMO_OPTIONS: SentimentDemoOptions = {
  model: { nEmbd: 32, nLayer: 1, nHead: 2 },
  corpusSize: 500,
  sftSteps: 400,
  batchSize: 16,
  pairPrompts: 384,
  rewardSteps: 60,
  ppoSteps: 6,
  ppoBatchSize: 16,
  dpoSteps: 10,
  evalPrompts: 32,
  ppo: { learningRate: 3e-4, miniBatchSize: 8 },
};

/**
 * DPO settings of the demo: TRL's `beta` 0.1 and sigmoid loss, with a learning rate for a tiny
 * model trained from scratch (TRL's 1e-6 is for pretrained LLMs).
 */
export const DEMO_DPO_CONFIG: DPOConfig = { beta: 0.1, learningRate: 3e-4, loggingSteps: 10 };

/** A preference pair as token ids (the prompt starts with bos; the responses end with eos when generated). */
export interface EncodedPair {
  prompt: number[];
  chosen: number[];
  rejected: number[];
}

/** Fraction of the preference pairs held out for the reward model's accuracy. */
const HELD_OUT_FRACTION = 0.2;

/**
 * Split preference pairs into training and held-out sets that share no comparison
 * ({@link comparisonKey}, in either order of the responses): {@link splitByKey} over the sampled
 * order, so the held-out side is the first `heldOutFraction` of it, decided per comparison. Throws
 * INVALID_ARGUMENT when a side comes out empty (too few distinct comparisons).
 */
export function splitByComparison(
  pairs: readonly EncodedPair[],
  heldOutFraction: number,
  rng: Rng,
): { train: EncodedPair[]; heldOut: EncodedPair[] } {
  const { train, heldOut, distinctKeys } = splitByKey(pairs, comparisonKey, heldOutFraction, rng);
  if (train.length === 0 || heldOut.length === 0) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `splitByComparison: ${pairs.length} pairs make ${distinctKeys} distinct comparison(s), and holding out ${heldOutFraction} of them left ${train.length} to train on and ${heldOut.length} held out. Sample more pairs (pairPrompts) or from a more varied model (more sftSteps).`,
    );
  }
  return { train, heldOut };
}

/** Run the whole pipeline; see the file header. */
export async function runSentimentDemo(options: SentimentDemoOptions = {}): Promise<SentimentDemoResult> {
  const seed = options.seed ?? 0;
  const batchSize = options.batchSize ?? 32;
  const progress = options.onProgress ?? (() => {});
  const tokenizer = sentimentTokenizer();
  const config: GPTConfig = {
    nPositions: 64,
    nEmbd: 64,
    nLayer: 2,
    nHead: 4,
    ...options.model,
    vocabSize: tokenizer.vocabSize,
  };
  const seconds: Record<string, number> = {};
  const timed = async <T>(name: string, fn: () => T | Promise<T>): Promise<T> => {
    const start = performance.now();
    const out = await fn();
    seconds[name] = (performance.now() - start) / 1000;
    return out;
  };
  const rng = new Rng(seed);
  const encodePrompt = (prompt: string): number[] => [tokenizer.bosTokenId, ...tokenizer.encode(prompt)];
  const evalRng = new Rng(seed + 1_000_003);
  const evalPrompts = Array.from({ length: options.evalPrompts ?? 128 }, () => samplePrompt(evalRng));
  const ppoConfig: PPOConfig = { ...DEMO_PPO_CONFIG, seed, ...options.ppo };
  const maxNewTokens = ppoConfig.maxNewTokens ?? 40;

  // 1. SFT ------------------------------------------------------------------------------------
  const sft = new GPT(config, { rng: rng.spawn() });
  const sftLoss = await timed("sft", () =>
    trainSft(sft, tokenizer, sentimentCorpus(options.corpusSize ?? 4000, rng.spawn()), {
      steps: options.sftSteps ?? 600,
      batchSize,
      rng: rng.spawn(),
      progress,
    }),
  );

  // 2. preference pairs from the SFT model, labelled by the judge; the reward model ------------
  const pairs = await timed("pairs", () =>
    samplePairs(sft, tokenizer, options.pairPrompts ?? 1500, maxNewTokens, rng.spawn(), progress),
  );
  if (pairs.length < 10) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `runSentimentDemo: only ${pairs.length} of ${options.pairPrompts ?? 1500} prompt pairs differ in judge score, too few for a reward model. Raise sftSteps (the SFT model does not write lexicon words yet) or pairPrompts.`,
    );
  }
  // a generator of its own, so the split leaves every other draw of the demo as it was
  const split = splitByComparison(pairs, HELD_OUT_FRACTION, new Rng(seed + 2_000_003));
  const trainPairs = split.train;
  const testPairs = split.heldOut;
  const rewardModel = new GPTRewardModel(cloneGPT(sft), { rng: rng.spawn() });
  const heldOutAccuracy = await timed("reward", () =>
    trainRewardModel(rewardModel, trainPairs, testPairs, {
      steps: options.rewardSteps ?? 500,
      batchSize,
      rng: rng.spawn(),
      padTokenId: tokenizer.padTokenId,
      progress,
    }),
  );

  // 3. PPO with actor, critic, reward and reference models --------------------------------------
  const evaluator = new PPOTrainer({ actor: cloneGPT(sft), rewardModel }, ppoConfig, tokenizer);
  const before = evaluate(evaluator, sft, evalPrompts.map(encodePrompt), tokenizer, seed);
  const trainer = new PPOTrainer({ actor: cloneGPT(sft), reference: sft, rewardModel }, ppoConfig, tokenizer);
  const ppoSteps = options.ppoSteps ?? 60;
  const ppoBatchSize = options.ppoBatchSize ?? 32;
  const promptRng = rng.spawn();
  const history: PPOStepStats[] = [];
  const shownPrompts = evalPrompts.slice(0, options.samplesPerUpdate ?? 0);
  // not spawned from `rng`: showing samples must leave every training draw as it was
  const showRng = new Rng(seed + 3_000_003);
  const show = (): DemoSample[] | undefined => {
    if (shownPrompts.length === 0) return undefined;
    const batch = trainer.sample(shownPrompts.map(encodePrompt), trainer.actor, showRng);
    const texts = responses(batch).map((ids) => tokenizer.decode(ids, { skipSpecialTokens: true }));
    return shownPrompts.map((prompt, i) => ({ prompt, response: texts[i], judge: judgeSentiment(texts[i]) }));
  };
  await timed("ppo", async () => {
    if (shownPrompts.length > 0) progress({ stage: "ppo", step: 0, total: ppoSteps, samples: show() });
    for (let step = 0; step < ppoSteps; step++) {
      const prompts = Array.from({ length: ppoBatchSize }, () => encodePrompt(samplePrompt(promptRng)));
      const stats = trainer.step(prompts);
      history.push(stats);
      progress({ stage: "ppo", step: step + 1, total: ppoSteps, metrics: { ...stats }, samples: show() });
      await yieldToEventLoop();
    }
  });
  const after = evaluate(trainer, trainer.actor, evalPrompts.map(encodePrompt), tokenizer, seed);

  // 4. DPO on the same training pairs -------------------------------------------------------------
  const dpo = await timed("dpo", () =>
    runDpo(sft, trainPairs, testPairs, options.dpoSteps ?? 300, batchSize, seed, tokenizer, progress),
  );
  const afterDpo = evaluate(evaluator, dpo.policy, evalPrompts.map(encodePrompt), tokenizer, seed);

  return {
    sft: { loss: sftLoss },
    rewardModel: { heldOutAccuracy, trainPairs: trainPairs.length, heldOutPairs: testPairs.length },
    ppo: {
      judgeBefore: before.judge,
      judgeAfter: after.judge,
      rmBefore: before.rm,
      rmAfter: after.rm,
      klToRef: after.kl,
      history,
    },
    dpo: { judgeAfter: afterDpo.judge, preferenceAccuracy: dpo.preferenceAccuracy },
    samples: evalPrompts.slice(0, 6).map((prompt, i) => ({
      prompt,
      sft: before.texts[i],
      ppo: after.texts[i],
      dpo: afterDpo.texts[i],
    })),
    seconds,
  };
}

// ============================================================================================
// stages

/** Right-padded ids, attention mask and the mask of target positions that belong to the response. */
function rightPadded(
  rows: { prefix: number[]; response: number[] }[],
  padTokenId: number,
): { ids: Tensor; attentionMask: Tensor; targets: Tensor; targetMask: Tensor } {
  const length = Math.max(...rows.map((r) => r.prefix.length + r.response.length));
  const batch = rows.length;
  const ids = new Int32Array(batch * length).fill(padTokenId);
  const mask = new Int32Array(batch * length);
  const targets = new Int32Array(batch * (length - 1)).fill(padTokenId);
  const targetMask = new Float32Array(batch * (length - 1));
  rows.forEach((row, b) => {
    const seq = [...row.prefix, ...row.response];
    ids.set(seq, b * length);
    mask.fill(1, b * length, b * length + seq.length);
    for (let t = 0; t < seq.length - 1; t++) {
      targets[b * (length - 1) + t] = seq[t + 1];
      // position t predicts token t + 1; count it when that token is part of the response
      if (t + 1 >= row.prefix.length) targetMask[b * (length - 1) + t] = 1;
    }
  });
  return {
    ids: new Tensor(ids, [batch, length]),
    attentionMask: new Tensor(mask, [batch, length]),
    targets: new Tensor(targets, [batch, length - 1]),
    targetMask: new Tensor(targetMask, [batch, length - 1]),
  };
}

/** Masked next-token loss on the responses only; returns the mean loss of the last 10% of steps. */
async function trainSft(
  model: GPT,
  tokenizer: CharTokenizer,
  corpus: { prompt: string; response: string }[],
  o: { steps: number; batchSize: number; rng: Rng; progress: (e: DemoProgress) => void },
): Promise<number> {
  const rows = corpus.map((r) => ({
    prefix: [tokenizer.bosTokenId, ...tokenizer.encode(r.prompt)],
    response: [...tokenizer.encode(r.response), tokenizer.eosTokenId],
  }));
  const optimizer = new Adam(model.parameters(), { lr: 3e-3 });
  const tail = Math.max(1, Math.floor(o.steps / 10));
  let tailLoss = 0;
  for (let step = 0; step < o.steps; step++) {
    const batch = Array.from({ length: o.batchSize }, () => rows[o.rng.integer(rows.length)]);
    const { ids, attentionMask, targets, targetMask } = rightPadded(batch, tokenizer.padTokenId);
    const { logits } = model.forward(ids, { attentionMask });
    const loss = crossEntropy(narrow(logits as Tensor, 1, 0, ids.shape[1] - 1), targets, {
      mask: targetMask,
    });
    optimizer.zeroGrad();
    loss.backward();
    clipGradNorm(model.parameters(), 1);
    optimizer.step();
    const value = loss.item();
    if (step >= o.steps - tail) tailLoss += value / tail;
    if (step % 10 === 9 || step === o.steps - 1) {
      o.progress({ stage: "sft", step: step + 1, total: o.steps, metrics: { loss: value } });
      await yieldToEventLoop();
    }
  }
  return tailLoss;
}

/** Two SFT samples per prompt; the judge picks the chosen one; ties are dropped. */
async function samplePairs(
  model: GPT,
  tokenizer: CharTokenizer,
  promptCount: number,
  maxNewTokens: number,
  rng: Rng,
  progress: (e: DemoProgress) => void,
): Promise<EncodedPair[]> {
  const sampler = new PPOTrainer(
    { actor: model, reference: model, rewardModel: new GPTRewardModel(model, { rng: new Rng(0) }) },
    { maxNewTokens },
    tokenizer,
  );
  const pairs: EncodedPair[] = [];
  const chunk = 64;
  for (let start = 0; start < promptCount; start += chunk) {
    const prompts = Array.from({ length: Math.min(chunk, promptCount - start) }, () => [
      tokenizer.bosTokenId,
      ...tokenizer.encode(samplePrompt(rng)),
    ]);
    const a = responses(sampler.sample(prompts, model, rng));
    const b = responses(sampler.sample(prompts, model, rng));
    prompts.forEach((prompt, i) => {
      const scoreA = judgeSentiment(tokenizer.decode(a[i], { skipSpecialTokens: true }));
      const scoreB = judgeSentiment(tokenizer.decode(b[i], { skipSpecialTokens: true }));
      if (scoreA === scoreB) return;
      pairs.push(
        scoreA > scoreB ? { prompt, chosen: a[i], rejected: b[i] } : { prompt, chosen: b[i], rejected: a[i] },
      );
    });
    progress({
      stage: "pairs",
      step: Math.min(start + chunk, promptCount),
      total: promptCount,
      metrics: { pairs: pairs.length },
    });
    await yieldToEventLoop();
  }
  return pairs;
}

/** The response tokens of each row (EOS included when generated). */
function responses(batch: SequenceBatch): number[][] {
  const [rows, R] = batch.responseIds.shape;
  return Array.from({ length: rows }, (_, b) => {
    const out: number[] = [];
    for (let t = 0; t < R; t++)
      if (batch.responseMask.values[b * R + t] !== 0) out.push(batch.responseIds.data[b * R + t]);
    return out;
  });
}

/** Bradley-Terry training (Ouyang et al. 2022, eq. 1); returns the held-out accuracy `P(r_chosen > r_rejected)`. */
async function trainRewardModel(
  model: GPTRewardModel,
  trainPairs: EncodedPair[],
  testPairs: EncodedPair[],
  o: { steps: number; batchSize: number; rng: Rng; padTokenId: number; progress: (e: DemoProgress) => void },
): Promise<number> {
  const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
  const score = (pairs: EncodedPair[], side: "chosen" | "rejected"): Tensor => {
    const { ids, attentionMask } = rightPadded(
      pairs.map((p) => ({ prefix: p.prompt, response: p[side] })),
      o.padTokenId,
    );
    return model.forward(ids, { attentionMask });
  };
  const accuracy = (): number =>
    noGrad(() => {
      let correct = 0;
      for (let start = 0; start < testPairs.length; start += 128) {
        const chunk = testPairs.slice(start, start + 128);
        const chosen = score(chunk, "chosen").values;
        const rejected = score(chunk, "rejected").values;
        for (let i = 0; i < chunk.length; i++) if (chosen[i] > rejected[i]) correct++;
      }
      return correct / Math.max(testPairs.length, 1);
    });
  for (let step = 0; step < o.steps; step++) {
    const batch = Array.from({ length: o.batchSize }, () => trainPairs[o.rng.integer(trainPairs.length)]);
    // -log σ(r_c - r_r) = softplus(-(r_c - r_r))
    const loss = mean(softplus(neg(sub(score(batch, "chosen"), score(batch, "rejected")))));
    optimizer.zeroGrad();
    loss.backward();
    clipGradNorm(model.parameters(), 1);
    optimizer.step();
    if (step % 10 === 9 || step === o.steps - 1) {
      o.progress({ stage: "reward", step: step + 1, total: o.steps, metrics: { loss: loss.item() } });
      await yieldToEventLoop();
    }
  }
  const result = accuracy();
  o.progress({ stage: "reward", step: o.steps, total: o.steps, metrics: { heldOutAccuracy: result } });
  return result;
}

/** Judge and reward-model scores and KL to the reference of `policy`'s samples on fixed prompts. */
function evaluate(
  trainer: PPOTrainer,
  policy: GPT,
  prompts: number[][],
  tokenizer: CharTokenizer,
  seed: number,
): { judge: number; rm: number; kl: number; texts: string[] } {
  const rng = new Rng(seed + 7919); // the same draws for every policy
  const batch = trainer.sample(prompts, policy, rng);
  const texts = responses(batch).map((ids) => tokenizer.decode(ids, { skipSpecialTokens: true }));
  return noGrad(() => {
    const rm = trainer.rewardModel.forward(batch.sequences, { attentionMask: batch.attentionMask }).values;
    const logp = responseLogProbs(policy, batch).logProbs.values;
    const refLogp = responseLogProbs(trainer.reference, batch).logProbs.values;
    let kl = 0;
    for (let i = 0; i < logp.length; i++) if (batch.responseMask.values[i] !== 0) kl += logp[i] - refLogp[i];
    return {
      judge: average(texts.map(judgeSentiment)),
      rm: average(rm),
      kl: kl / prompts.length,
      texts,
    };
  });
}

/**
 * DPO (Rafailov et al. 2023, arXiv:2305.18290, eq. 7) on the training preference pairs
 * with {@link DPOTrainer}. The policy starts from a copy of the SFT model, the reference is the SFT
 * model; `preferenceAccuracy` is the held-out fraction of pairs whose implicit reward
 * `β (log π - log π_ref)` ranks the chosen response first (TRL `rewards/accuracies`).
 */
function runDpo(
  sft: GPT,
  trainPairs: EncodedPair[],
  testPairs: EncodedPair[],
  steps: number,
  batchSize: number,
  seed: number,
  tokenizer: CharTokenizer,
  progress: (e: DemoProgress) => void,
): { policy: GPT; preferenceAccuracy: number } {
  // DPOTrainer reads text rows: the prompt without bos, the responses without eos (it adds both back)
  const text = (ids: number[]) => tokenizer.decode(ids, { skipSpecialTokens: true });
  const rows = (pairs: EncodedPair[]) =>
    pairs.map((p) => ({ prompt: text(p.prompt), chosen: text(p.chosen), rejected: text(p.rejected) }));
  const policy = cloneGPT(sft);
  const trainer = new DPOTrainer({
    model: policy,
    refModel: sft,
    tokenizer,
    trainDataset: rows(trainPairs),
    config: { ...DEMO_DPO_CONFIG, maxSteps: steps, perDeviceTrainBatchSize: batchSize, seed },
    onStep: (log) => {
      progress({
        stage: "dpo",
        step: log.step,
        total: log.totalSteps,
        metrics: { loss: log.metrics["train/loss"] },
      });
      return undefined;
    },
  });
  trainer.train();
  const preferenceAccuracy = trainer.evaluate(rows(testPairs))["rewards/accuracy"];
  return { policy, preferenceAccuracy };
}

function average(values: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i];
  return total / Math.max(values.length, 1);
}
