import type { ZodError } from "zod";
import { StorageUnavailableError } from "../db/errors.js";
import { IqTimeoutError } from "../xmpp/iq-caller.js";
import { NotConnectedError } from "../xmpp/link.js";

/**
 * Every error an HTTP endpoint answers, by code (the README lists them). The body is always
 * `{statusCode, code, error, message}` plus `field` when one input is at fault, as fastify's own
 * errors are shaped.
 */
export const HTTP_ERRORS = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  ORIGIN_NOT_ALLOWED: 403,
  CONTACT_NOT_ALLOWED: 403,
  NOT_FOUND: 404,
  TOKEN_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  ROOM_NOT_CLAIMED: 409,
  ROOM_CLOSED: 409,
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  TOO_MANY_STREAMS: 429,
  INTERNAL: 500,
  NO_ROOM_AVAILABLE: 503,
  STORAGE_UNAVAILABLE: 503,
  XMPP_UNAVAILABLE: 503,
  SHUTTING_DOWN: 503,
  STANDBY: 503,
} as const;

export type HttpErrorCode = keyof typeof HTTP_ERRORS;

const REASONS: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** A refusal with its code; thrown by handlers, answered by the server's one error handler. */
export class HttpError extends Error {
  readonly statusCode: number;

  constructor(
    readonly code: HttpErrorCode,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
    this.statusCode = HTTP_ERRORS[code];
  }

  body(): HttpErrorBody {
    return {
      statusCode: this.statusCode,
      code: this.code,
      error: REASONS[this.statusCode] ?? "Error",
      message: this.message,
      ...(this.field === undefined ? {} : { field: this.field }),
    };
  }
}

export interface HttpErrorBody {
  statusCode: number;
  code: HttpErrorCode;
  error: string;
  message: string;
  field?: string;
}

/** The first problem of a failed zod parse, naming the field (`text`, `person.id`). */
export function validationError(error: ZodError, where = "body"): HttpError {
  const issue = error.issues[0];
  const field = issue?.path.map(String).join(".") || undefined;
  const message = issue ? `${field ?? where}: ${issue.message}` : `${where} is not valid`;
  return new HttpError("BAD_REQUEST", message, field);
}

/** fastify's own errors (body parsing, limits) under our codes; anything else is internal. */
const FASTIFY_CODES: Record<string, HttpErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: "BODY_TOO_LARGE",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "UNSUPPORTED_MEDIA_TYPE",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "BAD_REQUEST",
  FST_ERR_CTP_EMPTY_JSON_BODY: "BAD_REQUEST",
  FST_ERR_CTP_INVALID_JSON_BODY: "BAD_REQUEST",
};

/** The answer to a failure: known failures get their code, the rest INTERNAL (and are logged). */
export function toHttpError(error: unknown): { error: HttpError; internal: boolean } {
  if (error instanceof HttpError) return { error, internal: false };
  if (error instanceof StorageUnavailableError) {
    return {
      error: new HttpError(
        "STORAGE_UNAVAILABLE",
        "the database is unavailable; try again in a few seconds",
        undefined,
        { "Retry-After": "5" },
      ),
      internal: false,
    };
  }
  if (error instanceof NotConnectedError || error instanceof IqTimeoutError) {
    return {
      error: new HttpError(
        "XMPP_UNAVAILABLE",
        "the XMPP server is not reachable; try again in a few seconds",
        undefined,
        { "Retry-After": "5" },
      ),
      internal: false,
    };
  }
  const code = (error as { code?: unknown } | undefined)?.code;
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  if (typeof code === "string" && code in FASTIFY_CODES) {
    const mapped = FASTIFY_CODES[code]!;
    const message =
      mapped === "BODY_TOO_LARGE"
        ? "the request body is larger than allowed"
        : mapped === "UNSUPPORTED_MEDIA_TYPE"
          ? "send application/json or application/x-www-form-urlencoded"
          : (error as Error).message;
    return { error: new HttpError(mapped, message, "body"), internal: false };
  }
  if (error instanceof SyntaxError || (typeof status === "number" && status === 400)) {
    return {
      error: new HttpError("BAD_REQUEST", "the body is not valid JSON", "body"),
      internal: false,
    };
  }
  return { error: new HttpError("INTERNAL", "internal error"), internal: true };
}

/** A request to an instance that does not lead (active/standby): the leader serves it. */
export function standingBy(leader = "another instance"): HttpError {
  return new HttpError(
    "STANDBY",
    `this instance is standing by: ${leader} serves; try again`,
    undefined,
    { "retry-after": "2" },
  );
}
