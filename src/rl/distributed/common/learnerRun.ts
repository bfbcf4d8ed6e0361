import { RedisTransport } from "./redisTransport.js";
import type { RunSpec } from "./remoteActor.js";

/**
 * The learner's side of a distributed run (IMPALA, Ape-X): connect to the server as the run's
 * learner, forget what an earlier learner of the same run id left queued when this one is `fresh`
 * (nothing learned yet: not a resume), and store the run's description that actors build from.
 */
export async function openLearnerRun(
  url: string,
  runId: string,
  spec: RunSpec,
  fresh: boolean,
): Promise<RedisTransport> {
  const transport = await RedisTransport.connect(url, { runId, role: "learner" });
  try {
    if (fresh) await transport.discardQueue();
    await transport.putRunSpec(JSON.stringify(spec));
  } catch (error) {
    await transport.close();
    throw error;
  }
  return transport;
}
