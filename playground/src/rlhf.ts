/**
 * The RLHF page: the sentiment demo at a budget of a minute or two in a worker, with the PPO
 * statistics charted and the actor's samples listed as they arrive.
 */
import "./style.css";
import { TrainingCharts } from "./charts.js";
import type { RlhfPageMessage, RlhfWorkerMessage } from "./rlhfWorker.js";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/**
 * The page's default budget: the CLI's `--quick` sizes (a 1-layer, width-32 GPT; about 15 s in Node
 * on one core), with more PPO updates so the samples have time to change. At this size the reward
 * model's score rises but the judge's barely moves; the full budget below is where PPO raises it.
 */
const QUICK: Record<string, number> = {
  seed: 0,
  nEmbd: 32,
  nLayer: 1,
  nHead: 2,
  corpusSize: 500,
  sftSteps: 400,
  batchSize: 16,
  pairPrompts: 384,
  rewardSteps: 60,
  ppoSteps: 20,
  ppoBatchSize: 16,
  ppoLearningRate: 3e-4,
  ppoMiniBatchSize: 8,
  dpoSteps: 10,
  evalPrompts: 32,
  samplesPerUpdate: 4,
};

/** `proximal rlhf demo sentiment`'s own defaults (6-8 minutes in Node on one core). */
const FULL: Record<string, number> = {
  ...QUICK,
  nEmbd: 64,
  nLayer: 2,
  nHead: 4,
  corpusSize: 4000,
  sftSteps: 600,
  batchSize: 32,
  pairPrompts: 1500,
  rewardSteps: 500,
  ppoSteps: 60,
  ppoBatchSize: 32,
  // DEMO_PPO_CONFIG's
  ppoLearningRate: 1e-4,
  ppoMiniBatchSize: 16,
  dpoSteps: 300,
  evalPrompts: 128,
};

const form = $<HTMLFormElement>("budget");
for (const [key, value] of Object.entries(QUICK)) {
  const row = document.createElement("label");
  row.className = "option";
  row.innerHTML = `<span>${key}</span>`;
  const input = document.createElement("input");
  input.type = "text";
  input.name = key;
  input.value = String(value);
  row.append(input);
  form.append(row);
}

function fillBudget(budget: Record<string, number>): void {
  for (const input of form.querySelectorAll("input")) input.value = String(budget[input.name]);
}
$("quick").addEventListener("click", () => fillBudget(QUICK));
$("full").addEventListener("click", () => fillBudget(FULL));

function readBudget(): RlhfPageMessage["options"] {
  const v: Record<string, number> = {};
  for (const input of form.querySelectorAll("input")) {
    const number = Number(input.value);
    if (input.value.trim() === "" || !(number >= 0)) throw new Error(`${input.name} must be a number ≥ 0.`);
    v[input.name] = number;
  }
  return {
    seed: v.seed,
    model: { nEmbd: v.nEmbd, nLayer: v.nLayer, nHead: v.nHead },
    corpusSize: v.corpusSize,
    sftSteps: v.sftSteps,
    batchSize: v.batchSize,
    pairPrompts: v.pairPrompts,
    rewardSteps: v.rewardSteps,
    ppoSteps: v.ppoSteps,
    ppoBatchSize: v.ppoBatchSize,
    dpoSteps: v.dpoSteps,
    evalPrompts: v.evalPrompts,
    samplesPerUpdate: v.samplesPerUpdate,
    ppo: { learningRate: v.ppoLearningRate, miniBatchSize: v.ppoMiniBatchSize },
  };
}

const worker = new Worker(new URL("./rlhfWorker.ts", import.meta.url), { type: "module" });
let charts = new TrainingCharts(
  $("charts"),
  [
    { title: "Reward-model score", matches: (key) => key === "rollout/score" },
    { title: "KL to the SFT model", matches: (key) => key === "rollout/klToRef" },
    { title: "Losses", matches: (key) => /^train\/.*Loss$/.test(key) },
    { title: "Entropy", matches: (key) => key === "train/entropy" },
    { title: "Clip fraction", matches: (key) => key === "train/clipFraction" },
  ],
  "PPO update",
);

function showError(message: string | null): void {
  $("error").hidden = message === null;
  $("error").textContent = message ?? "";
}

$("start").addEventListener("click", () => {
  showError(null);
  let options: RlhfPageMessage["options"];
  try {
    options = readBudget();
  } catch (error) {
    showError((error as Error).message);
    return;
  }
  charts = new TrainingCharts($("charts"), charts.panelSpecs, charts.xLabel);
  $("samples").replaceChildren();
  $("result").textContent = "–";
  $<HTMLButtonElement>("start").disabled = true;
  worker.postMessage({ type: "start", options } satisfies RlhfPageMessage);
});

const STAGES: Record<string, string> = {
  sft: "1/5 supervised fine-tuning",
  pairs: "2/5 sampling preference pairs",
  reward: "3/5 reward model",
  ppo: "4/5 PPO",
  dpo: "5/5 DPO",
  eval: "evaluation",
};

worker.addEventListener("message", (message: MessageEvent<RlhfWorkerMessage>) => {
  const data = message.data;
  switch (data.type) {
    case "ready":
      $("backend").textContent = `backend: ${data.backend}`;
      break;
    case "progress": {
      const { stage, step, total, metrics, samples } = data.event;
      $("status").textContent = `${STAGES[stage] ?? stage}: ${step} / ${total}`;
      if (stage === "ppo" && metrics !== undefined) charts.add([{ "time/timesteps": step, ...metrics }]);
      if (samples !== undefined) {
        const item = document.createElement("li");
        item.value = step;
        item.textContent = `${step === 0 ? "before PPO" : `after update ${step}`}:\n${samples
          .map((s) => `  ${s.prompt}|${s.response}   (judge ${s.judge >= 0 ? "+" : ""}${s.judge})`)
          .join("\n")}`;
        $("samples").prepend(item);
      }
      break;
    }
    case "result": {
      const { rewardModel, ppo, dpo, seconds } = data.result;
      $("result").textContent = [
        `reward model: ${(100 * rewardModel.heldOutAccuracy).toFixed(0)}% of ${rewardModel.heldOutPairs} held-out pairs ranked as the judge does`,
        `PPO: judge ${ppo.judgeBefore.toFixed(2)} → ${ppo.judgeAfter.toFixed(2)}, reward model ${ppo.rmBefore.toFixed(2)} → ${ppo.rmAfter.toFixed(2)}, KL to SFT ${ppo.klToRef.toFixed(2)}`,
        `DPO: judge ${dpo.judgeAfter.toFixed(2)}, preference accuracy ${(100 * dpo.preferenceAccuracy).toFixed(0)}%`,
        `time: ${Object.entries(seconds)
          .map(([k, s]) => `${k} ${s.toFixed(1)} s`)
          .join(", ")}`,
      ].join("\n");
      $("status").textContent = "Done.";
      charts.finish("the demo");
      $<HTMLButtonElement>("start").disabled = false;
      break;
    }
    case "error":
      showError(data.message);
      $<HTMLButtonElement>("start").disabled = false;
      break;
  }
});
