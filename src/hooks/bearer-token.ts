import { createHash, timingSafeEqual } from "node:crypto";

// The webhook's bearer token check. Both sides are hashed to 32 bytes first, so
// timingSafeEqual never sees different lengths (it would throw) and the time taken
// says nothing about the token's length or how much of it matched.

/** The token in an `Authorization: Bearer <token>` header, or undefined. */
export function bearerTokenOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}

export function bearerTokenMatches(header: string | undefined, expected: string): boolean {
  const presented = bearerTokenOf(header) ?? "";
  const same = timingSafeEqual(digest(presented), digest(expected));
  // An empty expected token is a configuration error, never "anything goes".
  return same && expected.length > 0 && presented.length > 0;
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}
