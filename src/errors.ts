/**
 * What went wrong, as a {@link ProximalError} reports it; the CLI maps each code to an exit status
 * (2 for input the user can fix).
 */
export type ErrorCode =
  | "INVALID_OPTION"
  | "INVALID_ARGUMENT"
  | "UNSUPPORTED_SPACE"
  | "UNSUPPORTED_MODEL"
  | "RESET_NEEDED"
  | "INVALID_ACTION"
  | "SHAPE_MISMATCH"
  | "DTYPE_MISMATCH"
  | "BACKEND_UNAVAILABLE"
  | "UNKNOWN_ENV"
  | "UNKNOWN_NAME"
  | "MALFORMED_FILE"
  | "NUMERICAL_ERROR"
  | "FILE_EXISTS"
  | "WORKER_FAILED"
  | "UNSUPPORTED_RUNTIME"
  | "MALFORMED_MESSAGE"
  | "TRANSPORT_UNAVAILABLE"
  | "TRANSPORT_AUTH"
  | "INTERNAL";

/**
 * The one error class of proximal. Tests and the CLI branch on `code`, never on the message; the
 * message says what happened, shows the values, and names the fix.
 */
export class ProximalError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ProximalError";
    this.code = code;
  }
}

/** Levenshtein distance, for "Did you mean ...?" suggestions. */
export function editDistance(a: string, b: string): number {
  const row = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) row[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      const substitution = diagonal + (a[i - 1] === b[j - 1] ? 0 : 1);
      row[j] = Math.min(above + 1, row[j - 1] + 1, substitution);
      diagonal = above;
    }
  }
  return row[b.length];
}

/** The closest name in `candidates` (case-insensitive), or undefined when nothing is close. */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  const lowered = name.toLowerCase();
  for (const candidate of candidates) {
    const d = editDistance(lowered, candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  if (best === undefined) return undefined;
  return bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

/** ` Did you mean "x"?` or an empty string. */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  const best = closestName(name, candidates);
  return best === undefined ? "" : ` Did you mean "${best}"?`;
}
