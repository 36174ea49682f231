import { blockedBy, type BlockedObservation } from "../engine/index.ts";
import type { ReleaseStatus } from "../api/index.ts";
import {
  TargetError,
  apiStatusCode,
  describeApiError,
  describeApiFailure,
  findApiError,
} from "../kube/errors.ts";

// Which failures stop a release until a person acts, and what to tell them. A failed
// read or write is classified into a "blocked" observation (reason + one line); the
// engine records it in the Progressing condition and announces it, the work queue
// backs off as for any failure. Failures that usually pass by themselves (network,
// 5xx, 409, 429) are retried quietly and reported only once they keep coming.

/** Failures in a row after which one that usually passes by itself is reported as a block. */
export const TRANSIENT_FAILURES_BEFORE_BLOCK = 3;

/** Thrown after a block is recorded, so the work queue backs off; its message is the one line logged. */
export class ReleaseBlockedError extends Error {
  readonly block: BlockedObservation;
  constructor(block: BlockedObservation) {
    super(`blocked (${block.reason}): ${block.message}`);
    this.name = "ReleaseBlockedError";
    this.block = block;
  }
}

/** The block this failure amounts to, or undefined for one to retry quietly (for now). */
export function classifyFailure(error: unknown, failuresInARow: number): BlockedObservation | undefined {
  const target = findInChain(error, (candidate) => candidate instanceof TargetError);
  if (target instanceof TargetError) return { reason: target.reason, message: forTheRelease(target.message) };
  const code = apiStatusCode(findApiError(error));
  if (code === 401) return { reason: "Unauthorized", message: describeApiFailure(error) };
  if (code === 403) return { reason: "Forbidden", message: describeApiFailure(error) };
  // The API server refused the request as it is (400 BadRequest, 422 Invalid, …): asking again will not help.
  if (code !== undefined && code >= 400 && code < 500 && ![404, 408, 409, 429].includes(code)) {
    return { reason: "Rejected", message: forTheRelease(describeApiError(error)) };
  }
  if (failuresInARow < TRANSIENT_FAILURES_BEFORE_BLOCK) return undefined;
  return {
    reason: code === undefined ? "ReconcileFailed" : "ApiError",
    message: `${forTheRelease(describeApiError(error))} (${failuresInARow} attempts in a row)`,
  };
}

function findInChain(error: unknown, match: (candidate: unknown) => boolean): unknown {
  let current = error;
  for (let depth = 0; depth < 10 && current && typeof current === "object"; depth++) {
    if (match(current)) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Messages thrown inside say which Release ("Release shop/x: …"); on that Release's own condition it is noise. */
function forTheRelease(message: string): string {
  return message
    .replace(/^Release [^\s:]+: /, "")
    .replace(/\s*\n\s*/g, " ")
    .trim();
}

interface Known {
  /** The block last recorded for the release's actions and reads; undefined once they succeed. */
  block?: BlockedObservation;
  /** The block of its status writes, which no status can carry (an Event says it instead). */
  statusBlock?: BlockedObservation;
  failuresInARow: number;
}

/**
 * What this process knows of each release's blocks. A release it has not tried yet is
 * taken to be blocked as its stored status says, so a restarted controller does not
 * announce a block as gone and then as back; the next success clears it.
 */
export class BlockTracker {
  readonly #known = new Map<string, Known>();

  /** The block to tell decide(): still there until an attempt succeeds. */
  current(key: string, stored: Partial<ReleaseStatus> | undefined): BlockedObservation | undefined {
    let known = this.#known.get(key);
    if (!known) {
      const block = blockedBy(stored as ReleaseStatus | undefined);
      known = { failuresInARow: 0, ...(block ? { block } : {}) };
      this.#known.set(key, known);
    }
    return known.block;
  }

  /** Records a failed read or action; returns the block and whether it is new. */
  failed(key: string, error: unknown): { block?: BlockedObservation; isNew: boolean } {
    const known = this.#entry(key);
    known.failuresInARow++;
    const block = classifyFailure(error, known.failuresInARow);
    if (!block) return { isNew: false };
    const isNew = !sameBlock(known.block, block);
    known.block = block;
    return { block, isNew };
  }

  /** Records a status write the controller may not make; returns the block and whether it is new. */
  statusFailed(key: string, error: unknown): { block?: BlockedObservation; isNew: boolean } {
    const known = this.#entry(key);
    known.failuresInARow++;
    const block = classifyFailure(error, known.failuresInARow);
    if (!block) return { isNew: false };
    const isNew = !sameBlock(known.statusBlock, block);
    known.statusBlock = block;
    return { block, isNew };
  }

  /** A status write succeeded: the status block it ends, if there was one. */
  statusWritten(key: string): BlockedObservation | undefined {
    const known = this.#known.get(key);
    const ended = known?.statusBlock;
    if (known) delete known.statusBlock;
    return ended;
  }

  /** Everything this reconcile tried succeeded: no block any more, no failures in a row. */
  succeeded(key: string): void {
    const known = this.#entry(key);
    delete known.block;
    known.failuresInARow = 0;
  }

  forget(key: string): void {
    this.#known.delete(key);
  }

  #entry(key: string): Known {
    let known = this.#known.get(key);
    if (!known) {
      known = { failuresInARow: 0 };
      this.#known.set(key, known);
    }
    return known;
  }
}

function sameBlock(a: BlockedObservation | undefined, b: BlockedObservation): boolean {
  return a?.reason === b.reason && a.message === b.message;
}
