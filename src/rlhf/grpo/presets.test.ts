import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProximalError } from "../../errors.js";
import { Rng } from "../../random/rng.js";
import { CharTokenizer } from "../charTokenizer.js";
import { GPT } from "../gpt.js";
import { GRPOTrainer } from "./grpoTrainer.js";
import { GRPO_PRESET_NAMES, listGRPOPresets, loadGRPOPreset, parseGRPOPreset } from "./presets.js";

const tokenizer = new CharTokenizer("0123456789+=");
const rows = Array.from({ length: 20 }, (_, i) => ({ prompt: `${i % 10}+${(3 * i) % 10}=` }));

describe("GRPO presets", () => {
  test("every method of issue 7 ships a preset", async () => {
    assert.deepEqual(await listGRPOPresets(), [...GRPO_PRESET_NAMES].sort());
  });

  for (const name of GRPO_PRESET_NAMES) {
    test(`${name}: loads, cites a paper, and its algorithm trains one step at a small budget`, async () => {
      const preset = await loadGRPOPreset(name);
      assert.match(preset.source, /arXiv:\d{4}\.\d{5}/);
      const model = new GPT(
        { vocabSize: tokenizer.vocabSize, nPositions: 12, nEmbd: 16, nLayer: 1, nHead: 2 },
        { rng: new Rng(0) },
      );
      const trainer = new GRPOTrainer({
        model,
        tokenizer,
        trainDataset: rows,
        rewardFunctions: (_p, completion) => completion.length,
        config: {
          ...preset.algorithm,
          numGenerations: 4,
          perDeviceTrainBatchSize: 8,
          maxCompletionLength: 3,
          overlongBuffer: preset.algorithm.overlongBuffer ? 1 : 0,
          maxSteps: 1,
        },
      });
      const stats = trainer.step();
      assert.ok(Number.isFinite(stats["rollout/reward"]));
      assert.equal(trainer.globalStep, 1);
    });
  }

  test("the papers' values are where the files say (spot checks)", async () => {
    const dapo = await loadGRPOPreset("dapo");
    assert.equal(dapo.algorithm.epsilonHigh, 0.28);
    assert.equal(dapo.algorithm.dynamicSampling, true);
    assert.equal(dapo.paperScale.overlongBuffer, 4096);
    const gspo = await loadGRPOPreset("gspo");
    assert.equal(gspo.algorithm.importanceSamplingLevel, "sequence");
    assert.equal(gspo.algorithm.epsilon, 3e-4);
    const grpo = await loadGRPOPreset("grpo");
    assert.equal(grpo.algorithm.beta, 0.04);
    assert.equal(grpo.paperScale.numGenerations, 64);
  });

  test("an unknown preset name suggests the closest", async () => {
    await assert.rejects(loadGRPOPreset("dapp"), (e: unknown) => {
      assert.ok(e instanceof ProximalError && e.code === "UNKNOWN_NAME");
      assert.match(e.message, /Did you mean "dapo"\?/);
      return true;
    });
  });

  test("an unknown option is rejected with the closest valid name", async () => {
    await assert.rejects(
      parseGRPOPreset("source: x arXiv:0000.00000\nalgorithm:\n  epsilonHgh: 0.28\n", "bad"),
      (e: unknown) =>
        e instanceof ProximalError && e.code === "INVALID_OPTION" && /"epsilonHigh"/.test(e.message),
    );
  });

  test("an invalid combination is rejected with the config's message", async () => {
    await assert.rejects(
      parseGRPOPreset("source: x\nalgorithm:\n  advantageEstimator: grpo\n  numGenerations: 1\n", "bad"),
      (e: unknown) =>
        e instanceof ProximalError && e.code === "INVALID_OPTION" && /numGenerations is 1/.test(e.message),
    );
  });
});
