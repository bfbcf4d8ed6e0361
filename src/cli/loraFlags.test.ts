import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadCheckpoint, withPrefix } from "../io/checkpoint.js";
import { loadLoraAdapter } from "../io/peftAdapter.js";
import { loadPretrained } from "../io/pretrained.js";
import { applyLora, hasLora } from "../nn/lora.js";
import { GPT, type GPTConfig } from "../rlhf/gpt.js";
import { noGrad, type Tensor, tensor } from "../tensor/tensor.js";
import { assertClose } from "../tensor/testing.js";
import { parseLoraFlags } from "./loraFlags.js";

const main = fileURLToPath(new URL("./main.js", import.meta.url));
const fixture = (name: string) =>
  fileURLToPath(new URL(`../../fixtures/torch/lora/${name}`, import.meta.url));

function cli(cwd: string, ...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [main, ...args], { cwd, encoding: "utf8" });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const ids = tensor(Int32Array.from([1, 4, 7, 2, 9, 3]), [2, 3]);
const logits = (model: { forward(ids: Tensor): { logits: Tensor | null } }) =>
  Array.from(noGrad(() => model.forward(ids).logits as Tensor).values);

describe("--lora flags", () => {
  test("parse into a LoraConfig; LoRA options without --lora are refused", () => {
    assert.equal(parseLoraFlags({}), null);
    assert.deepEqual(
      parseLoraFlags({ lora: true, loraRank: "4", loraAlpha: "16", loraTargets: "q_proj, v_proj" }),
      { rank: 4, alpha: 16, dropout: 0, targetModules: ["q_proj", "v_proj"] },
    );
    assert.equal(parseLoraFlags({ lora: true })?.targetModules, "all-linear");
    assert.throws(
      () => parseLoraFlags({ loraRank: "4", merge: true }),
      /--lora-rank, --merge only apply with --lora/,
    );
    assert.throws(() => parseLoraFlags({ lora: true, loraRank: "four" }), /--lora-rank must be a number/);
    assert.throws(() => parseLoraFlags({ lora: true, loraRank: "0" }), /rank must be a positive integer/);
  });

  test("rlhf grpo --lora --merge writes a PEFT adapter and a merged folder equal to the trained policy", async () => {
    const root = await mkdtemp(join(tmpdir(), "proximal-grpo-lora-"));
    const common = ["rlhf", "grpo", "--task", "addition", "--preset", "grpo", "--json"];
    const wrong = cli(root, ...common, "--out", "wrong", "--lora", "--lora-targets", "q_proj");
    assert.equal(wrong.status, 2); // refused before the SFT base trains
    assert.ok(!existsSync(join(root, "wrong")));
    assert.match(
      wrong.stderr,
      /"q_proj" match no linear layer of this GPT\. Its linear layers are named "c_attn", "c_proj", "c_fc"/,
    );
    const r = cli(
      root,
      ...common,
      ...["--samples", "64", "--out", "run", "--lora", "--lora-rank", "4", "--lora-alpha", "8"],
      ...["--lora-targets", "c_attn,c_fc", "--merge", "--set", "learningRate=1e-2"],
    );
    assert.equal(r.status, 0, r.stderr);
    const out = join(root, "run");
    // the trained policy as the run's checkpoint holds it: base + adapters
    const { tensors, json } = await loadCheckpoint(join(out, "checkpoint"));
    const policy = new GPT(json.gptConfig as GPTConfig);
    applyLora(policy, { rank: 4, alpha: 8, targetModules: ["c_attn", "c_fc"] });
    const optimizer = Object.keys(withPrefix(tensors, "optimizer"));
    assert.ok(optimizer.length > 0);
    policy.loadStateDict(
      Object.fromEntries(Object.entries(tensors).filter(([k]) => !k.startsWith("optimizer."))),
    );
    assert.ok(
      !Object.keys(tensors).some((k) => k.startsWith("refModel.")),
      "the reference is the base: no copy saved",
    );
    // the adapter folder puts the same adapters on that base; the merged folder computes the same
    const base = new GPT(json.gptConfig as GPTConfig);
    base.loadStateDict(
      Object.fromEntries(
        Object.entries(tensors).filter(([k]) => !k.startsWith("optimizer.") && !k.includes("lora_")),
      ),
    );
    await loadLoraAdapter(base, join(out, "adapter"));
    assert.deepEqual(logits(base), logits(policy));
    const { model: merged } = await loadPretrained(join(out, "merged"));
    assert.ok(merged instanceof GPT && !hasLora(merged));
    assertClose(logits(merged), logits(policy), { atol: 1e-5 });
  });

  test("lm merge-lora <base> <adapter> --out writes the merged folder; an existing --out is refused", async () => {
    const root = await mkdtemp(join(tmpdir(), "proximal-merge-lora-"));
    const r = cli(root, "lm", "merge-lora", fixture("base"), fixture("adapter"), "--out", "merged");
    assert.equal(r.status, 0, r.stderr);
    const { model: adapted } = await loadPretrained(fixture("base"));
    await loadLoraAdapter(adapted, fixture("adapter"));
    const { model: merged, generationConfig } = await loadPretrained(join(root, "merged"));
    assert.ok(generationConfig !== null);
    assertClose(logits(merged), logits(adapted), { atol: 1e-5 });
    const again = cli(root, "lm", "merge-lora", fixture("base"), fixture("adapter"), "--out", "merged");
    assert.equal(again.status, 2);
    assert.match(again.stderr, /merged already exists/);
    assert.ok(existsSync(join(root, "merged", "model.safetensors")));
  });
});
