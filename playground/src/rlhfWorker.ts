/**
 * Runs `runSentimentDemo` in a worker and forwards its progress, with the actor's samples after
 * every PPO update, to the RLHF page.
 */
import { backendInfo, type DemoProgress, runSentimentDemo, type SentimentDemoOptions } from "proximal";

export type RlhfPageMessage = { type: "start"; options: SentimentDemoOptions };
export type RlhfWorkerMessage =
  | { type: "ready"; backend: string }
  | { type: "progress"; event: DemoProgress }
  | { type: "result"; result: Awaited<ReturnType<typeof runSentimentDemo>> }
  | { type: "error"; message: string };

const scope = self as unknown as {
  postMessage(message: RlhfWorkerMessage): void;
  onmessage: ((event: MessageEvent<RlhfPageMessage>) => void) | null;
};

scope.onmessage = (event) => {
  runSentimentDemo({
    ...event.data.options,
    onProgress: (progress) => scope.postMessage({ type: "progress", event: progress }),
  })
    .then((result) => scope.postMessage({ type: "result", result }))
    .catch((error: unknown) =>
      scope.postMessage({ type: "error", message: error instanceof Error ? error.message : String(error) }),
    );
};
scope.postMessage({ type: "ready", backend: backendInfo().name });
