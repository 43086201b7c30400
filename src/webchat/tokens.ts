import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** 256 random bits, URL-safe: 43 characters of base64url. */
export function newToken(): string {
  return randomBytes(32).toString("base64url");
}

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** Whether `text` can be a token at all (anything else is unknown without asking the database). */
export function looksLikeToken(text: string): boolean {
  return TOKEN_SHAPE.test(text);
}

/** What the database keeps of a token: its SHA-256. */
export function tokenHash(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}

/**
 * The web application's API keys. A presented key is compared with every configured key by the
 * SHA-256 of both, in constant time, so that neither the time nor the key's length tells
 * anything about how much of it was right.
 */
export class ApiKeys {
  readonly #digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.#digests = keys.map((key) => createHash("sha256").update(key).digest());
  }

  matches(presented: string | undefined): boolean {
    const digest = createHash("sha256")
      .update(presented ?? "")
      .digest();
    let found = false;
    for (const key of this.#digests) found = timingSafeEqual(key, digest) || found;
    return found && presented !== undefined && presented !== "";
  }
}

/** The key of an `Authorization: Bearer <key>` header. */
export function bearer(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match?.[1];
}
