/**
 * The binary layout every actor-to-learner message shares: four magic bytes naming the kind, a
 * little-endian u32 header length, a JSON header, zero padding to a multiple of 4, then typed arrays
 * back to back. Binary arrays, not JSON numbers: float32 values arrive bit-exact and a message is a
 * quarter of the size. Each message kind (trajectories, transitions) defines its header and its
 * arrays; this file writes and opens the envelope and holds the checks both kinds make.
 */
import { ProximalError } from "../../../errors.js";

/** Headers are small (ids, sizes, a few episode returns); anything larger is not ours. */
const MAX_HEADER_BYTES = 64 * 1024;

/** `n` rounded up to a multiple of 4 (typed arrays after the header stay aligned). */
export function align4(n: number): number {
  return n + ((4 - (n % 4)) % 4);
}

/** The `MALFORMED_MESSAGE` error of a `kind` ("trajectory", "transition") message. */
export function malformed(kind: string, message: string): ProximalError {
  return new ProximalError("MALFORMED_MESSAGE", `${kind} message rejected: ${message}`);
}

/** Serialise `header` and `arrays` behind `magic` (the arrays in the order the reader takes them). */
export function writeMessage(
  magic: readonly number[],
  header: object,
  arrays: ArrayBufferView[],
): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerEnd = align4(8 + json.length);
  let total = headerEnd;
  for (const a of arrays) total += a.byteLength;
  const out = new Uint8Array(total);
  out.set(magic, 0);
  new DataView(out.buffer).setUint32(4, json.length, true);
  out.set(json, 8);
  let offset = headerEnd;
  for (const a of arrays) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), offset);
    offset += a.byteLength;
  }
  return out;
}

/**
 * Open a message written by {@link writeMessage}: check the magic, copy the bytes once (so every typed
 * array read from `data` is aligned and owns its memory; the transport's buffer may be pooled) and
 * parse the JSON header.
 * @throws {@link ProximalError} `MALFORMED_MESSAGE` for another magic, a header that does not fit or is not a JSON object.
 */
export function readMessage(
  bytes: Uint8Array,
  magic: readonly number[],
  kind: string,
): { data: Uint8Array<ArrayBuffer>; header: Record<string, unknown>; headerEnd: number } {
  if (bytes.length < 8 || magic.some((b, i) => bytes[i] !== b)) {
    const name = String.fromCharCode(...magic);
    throw malformed(
      kind,
      `it does not start with the "${name}" magic (${bytes.length} bytes): not a proximal ${kind}.`,
    );
  }
  const data = bytes.slice();
  const headerBytes = new DataView(data.buffer).getUint32(4, true);
  if (headerBytes > MAX_HEADER_BYTES || 8 + headerBytes > data.length) {
    throw malformed(kind, `header length ${headerBytes} does not fit the ${data.length}-byte message.`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(data.subarray(8, 8 + headerBytes)));
  } catch (error) {
    throw malformed(kind, `the header is not JSON (${(error as Error).message}).`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw malformed(kind, "the header is not an object.");
  return { data, header: raw as Record<string, unknown>, headerEnd: align4(8 + headerBytes) };
}

/**
 * The checks every kind makes on its header before sizing an array: the schema, the run id and the
 * actor id. The caller passes its own schema version.
 */
export function checkIdentity(
  kind: string,
  header: Record<string, unknown>,
  schema: number,
  runId: string,
): string {
  if (header.schema !== schema) {
    throw malformed(
      kind,
      `schema ${JSON.stringify(header.schema)}, this learner reads schema ${schema}. Run actors and learner from the same proximal version.`,
    );
  }
  if (header.runId !== runId) {
    throw malformed(
      kind,
      `run id ${JSON.stringify(header.runId)} is not this learner's run ${JSON.stringify(runId)} (an actor started with another --run).`,
    );
  }
  if (typeof header.actorId !== "string" || header.actorId.length === 0 || header.actorId.length > 200) {
    throw malformed(kind, `actorId ${JSON.stringify(header.actorId)} is not a non-empty string.`);
  }
  return header.actorId;
}

/** An integer header field in `min … 1e8`. */
export function checkCount(kind: string, header: Record<string, unknown>, name: string, min: number): number {
  const value = header[name];
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > 1e8) {
    throw malformed(kind, `header field ${name} is ${JSON.stringify(value)}, expected an integer >= ${min}.`);
  }
  return value;
}

/** Every value of `values` is finite. */
export function checkFinite(kind: string, name: string, values: Float32Array): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]))
      throw malformed(kind, `${name}[${i}] is ${values[i]}, not a finite number.`);
  }
}

/** The header's episode returns and lengths: equal-length lists of finite numbers and positive integers. */
export function checkEpisodes(
  kind: string,
  header: Record<string, unknown>,
): { episodeReturns: number[]; episodeLengths: number[] } {
  const episodeReturns = header.episodeReturns;
  const episodeLengths = header.episodeLengths;
  if (
    !Array.isArray(episodeReturns) ||
    !Array.isArray(episodeLengths) ||
    episodeReturns.length !== episodeLengths.length ||
    !episodeReturns.every((r) => typeof r === "number" && Number.isFinite(r)) ||
    !episodeLengths.every((n) => Number.isInteger(n) && n >= 1)
  ) {
    throw malformed(
      kind,
      "episodeReturns and episodeLengths must be lists of equal length of finite numbers and positive integers.",
    );
  }
  return { episodeReturns: episodeReturns as number[], episodeLengths: episodeLengths as number[] };
}

/** Discrete actions inside `0 … n−1`. */
export function checkDiscreteActions(kind: string, actions: Int32Array, n: number): void {
  for (let i = 0; i < actions.length; i++) {
    if (actions[i] < 0 || actions[i] >= n)
      throw malformed(kind, `actions[${i}] is ${actions[i]}, outside Discrete(${n}).`);
  }
}
