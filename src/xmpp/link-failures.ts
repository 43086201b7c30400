// How a connection's end is told in words: the causes both transports share.

/** How one connection ended: whether it had been online, and the error that best explains it. */
export interface ConnectionOutcome {
  wasOnline: boolean;
  cause: unknown;
}

/**
 * A failure whose words are already the diagnosis (e.g. "this is a client port"): it explains
 * more than anything the library reports around it, so it wins over every other cause.
 */
export class Diagnosis extends Error {
  constructor(message: string) {
    super(message);
    this.name = "Diagnosis";
  }
}

export class LoginTimeoutError extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = "LoginTimeoutError";
  }
}

/** Which of two errors explains a connection's end better: a diagnosis, then a stream error. */
export function betterCause(current: unknown, next: unknown): unknown {
  const rank = (error: unknown) =>
    error instanceof Diagnosis ? 3 : isStreamError(error) ? 2 : error === undefined ? 0 : 1;
  return rank(next) > rank(current) ? next : current;
}

export function isStreamError(error: unknown): error is Error & { condition: string } {
  return error instanceof Error && error.name === "StreamError" && "condition" in error;
}

/** The parts of a failure line both transports share: unreachable, silent, lost. */
export function describeCommon(
  { wasOnline, cause }: ConnectionOutcome,
  server: string,
): string | undefined {
  if (cause instanceof Diagnosis) return cause.message;
  const code = (cause as { code?: unknown } | undefined)?.code;
  if (typeof code === "string" && !wasOnline) {
    return `cannot reach the XMPP server at ${server} (${code}${SOCKET_CODES[code] ? `: ${SOCKET_CODES[code]}` : ""})`;
  }
  if (
    cause instanceof LoginTimeoutError ||
    (cause instanceof Error && cause.name === "TimeoutError")
  ) {
    const after = cause instanceof LoginTimeoutError ? ` within ${cause.ms / 1000} s` : "";
    return `the XMPP server at ${server} accepted the connection but did not complete the login${after} (is it an XMPP server, and not overloaded?)`;
  }
  if (wasOnline && !isStreamError(cause)) return `connection to the XMPP server lost (${server})`;
  return undefined;
}

const SOCKET_CODES: Record<string, string> = {
  ECONNREFUSED: "nothing listens there",
  ENOTFOUND: "no such host",
  EAI_AGAIN: "the host name could not be resolved",
  ETIMEDOUT: "no answer from the host",
  EHOSTUNREACH: "the host is unreachable",
  ENETUNREACH: "the network is unreachable",
  ECONNRESET: "the connection was reset",
  EPIPE: "the server closed the connection",
};

/** A stream error in words: its condition and the server's own text, if any. */
export function streamErrorText(error: Error & { condition: string }): string {
  const text = (error as { text?: unknown }).text;
  return typeof text === "string" && text ? `${error.condition}: ${text}` : error.condition;
}
