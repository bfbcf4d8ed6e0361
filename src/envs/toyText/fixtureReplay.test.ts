import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { make } from "../make.js";
import type { Discrete } from "../spaces/discrete.js";
import type { TransitionTable, TransitionTableEnv } from "./transitionTableEnv.js";

/** Fixture format: see fixtures/gymnasium-toytext/README.md (recorded from Gymnasium 1.4.0). */
interface Fixture {
  env_id: string;
  kwargs: { is_slippery?: boolean; desc?: string[] };
  max_episode_steps: number | null;
  n_states: number;
  n_actions: number;
  deterministic: boolean;
  P: TransitionTable;
  episodes: {
    reset_seed: number;
    initial_observation: number;
    steps: { action: number; observation: number; reward: number; terminated: boolean; truncated: boolean }[];
  }[];
}

const fixtureDir = new URL("../../../fixtures/gymnasium-toytext/", import.meta.url);

function loadFixture(file: string): Fixture {
  return JSON.parse(readFileSync(new URL(`${file}.json`, fixtureDir), "utf8")) as Fixture;
}

/** Gymnasium's snake_case keyword arguments as proximal's camelCase options. */
function options(fixture: Fixture): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (fixture.kwargs.is_slippery !== undefined) out.isSlippery = fixture.kwargs.is_slippery;
  if (fixture.kwargs.desc !== undefined) out.desc = fixture.kwargs.desc;
  return out;
}

const files = [
  "FrozenLake-v1",
  "FrozenLake-v1_not_slippery",
  "FrozenLake-v1_custom_map",
  "FrozenLake8x8-v1",
  "FrozenLake8x8-v1_not_slippery",
  "CliffWalking-v1",
  "CliffWalkingSlippery-v1",
  "Taxi-v4",
];

for (const file of files) {
  describe(`${file} matches Gymnasium 1.4.0`, () => {
    const fixture = loadFixture(file);

    test("P equals env.unwrapped.P: states, actions, outcomes in order, probabilities within 1e-12", () => {
      const env = make<number, number>(fixture.env_id, options(fixture));
      const P = (env as unknown as { unwrapped: TransitionTableEnv }).unwrapped.P;
      assert.equal(P.length, fixture.n_states);
      assert.equal((env.observationSpace as Discrete).n, fixture.n_states);
      assert.equal((env.actionSpace as Discrete).n, fixture.n_actions);
      assert.equal(env.spec?.maxEpisodeSteps ?? null, fixture.max_episode_steps);
      for (let s = 0; s < fixture.n_states; s++) {
        assert.equal(P[s].length, fixture.n_actions, `state ${s}`);
        for (let a = 0; a < fixture.n_actions; a++) {
          const expected = fixture.P[s][a];
          const actual = P[s][a];
          assert.equal(actual.length, expected.length, `P[${s}][${a}] length`);
          expected.forEach(([prob, next, reward, terminated], k) => {
            const where = `P[${s}][${a}][${k}]`;
            assert.ok(Math.abs(actual[k][0] - prob) <= 1e-12, `${where} prob: ${actual[k][0]} vs ${prob}`);
            assert.equal(actual[k][1], next, `${where} next state`);
            assert.equal(actual[k][2], reward, `${where} reward`);
            assert.equal(actual[k][3], terminated, `${where} terminated`);
          });
        }
      }
    });

    if (fixture.deterministic) {
      test("replays every recorded episode step for step from its initial state", () => {
        assert.ok(fixture.episodes.length > 0);
        const env = make<number, number>(fixture.env_id, options(fixture));
        for (const [e, episode] of fixture.episodes.entries()) {
          const reset = env.reset({ options: { state: episode.initial_observation } });
          assert.equal(reset.observation, episode.initial_observation);
          assert.equal(reset.info.prob, 1);
          for (const [t, step] of episode.steps.entries()) {
            const result = env.step(step.action);
            const where = `episode ${e} step ${t}`;
            assert.equal(result.observation, step.observation, `${where} observation`);
            assert.equal(result.reward, step.reward, `${where} reward`);
            assert.equal(result.terminated, step.terminated, `${where} terminated`);
            assert.equal(result.truncated, step.truncated, `${where} truncated`);
            assert.equal(result.info.prob, 1, `${where} info.prob`);
          }
        }
      });
    }
  });
}
