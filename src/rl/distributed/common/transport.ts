/**
 * What a distributed learner and its actors need from a messaging engine, and nothing more: a
 * persistent queue of trajectories with explicit acknowledgement, and one versioned set of weights.
 * {@link RedisTransport} implements it on Redis Streams (the measurement that chose Redis over
 * NATS JetStream is in README "Across machines" and BENCHMARKS.md); another engine would implement
 * this interface and nothing else would change.
 *
 * The transport moves bytes. What the bytes mean (run id, schema, sizes) is checked one level up by
 * `decodeTrajectory`, the same way for every engine.
 */

/** One delivered message; `ack` it once it is used (or rejected), or it is delivered again after a restart. */
export interface DeliveredMessage {
  id: string;
  data: Uint8Array;
}

/** Weights as published by the learner: a version (updates applied) and the safetensors bytes. */
export interface PublishedWeights {
  version: number;
  data: Uint8Array;
}

/** The messaging engine as the learner and actors see it (see this file's header). */
export interface Transport {
  /**
   * Append one message to the run's queue; resolves with the id the engine gave it once the engine
   * has accepted it (with persistence on, accepted means it survives a broker restart).
   */
  publish(message: Uint8Array): Promise<string>;
  /**
   * Up to `maxMessages` messages not yet delivered to this learner, waiting at most `blockMs` for the
   * first one; an empty list after the wait.
   */
  consume(maxMessages: number, blockMs: number): Promise<DeliveredMessage[]>;
  /** Acknowledge delivered messages: the engine forgets them. */
  ack(ids: string[]): Promise<void>;
  /** Messages published but not yet delivered to the learner. */
  queueDepth(): Promise<number>;
  /** Replace the run's weights atomically (version and bytes together). */
  putWeights(weights: PublishedWeights): Promise<void>;
  /** The version of the current weights, or null before the learner published any (cheap: actors poll it). */
  weightsVersion(): Promise<number | null>;
  /** The current weights, or null before the learner published any. */
  getWeights(): Promise<PublishedWeights | null>;
  /**
   * Forget every queued trajectory of the run (a new learner of a reused run id must not train on
   * its predecessor's leftovers); keeps the queue usable.
   */
  discardQueue(): Promise<void>;
  /** Store the run's description (JSON: env, sizes, network) that actors build themselves from. */
  putRunSpec(spec: string): Promise<void>;
  /** The run's description, or null before a learner stored one. */
  getRunSpec(): Promise<string | null>;
  /** Close the connection; pending commands finish first. */
  close(): Promise<void>;
}
