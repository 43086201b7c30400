import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from "fastify";
import type { z } from "zod";
import { sleep } from "../backoff.js";
import type { WebchatOptions } from "../config.js";
import { HttpError, validationError } from "../http/errors.js";
import { RateLimit } from "../http/rate-limit.js";
import type { RoutePlugin } from "../http/server.js";
import type { Bridge } from "./bridge.js";
import { mint } from "./mint.js";
import {
  cursorSchema,
  messageSchema,
  presenceSchema,
  timestamp,
  tokenRequestSchema,
} from "./protocol.js";
import type { Session, StoredEvent, WebchatStore } from "./store.js";
import { PollWaiter, SseStream } from "./streams.js";
import { ApiKeys, bearer, looksLikeToken, tokenHash } from "./tokens.js";

const PAGE = 500;
const MINUTE = 60_000;
const ALL_METHODS: HTTPMethods[] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

interface Authorized {
  session: Session;
  expiresAt: Date;
  /** The token's hash in hex: what caps and rate limits count by, never the token itself. */
  tokenKey: string;
}

type TokenParams = { Params: { token: string } };

function parse<T extends z.ZodType>(schema: T, value: unknown, where: string): z.output<T> {
  const result = schema.safeParse(value ?? {});
  if (!result.success) throw validationError(result.error, where);
  return result.data;
}

/**
 * The Nereid endpoints (README, "Browser chat bridge"): the web application's token endpoint,
 * and the stream, poll, message and presence endpoints a browser reaches with its token.
 */
export function webchatRoutes(
  bridge: Bridge,
  store: WebchatStore,
  settings: WebchatOptions,
): RoutePlugin {
  const keys = new ApiKeys(settings.apiKeys);
  const tokenRequest = tokenRequestSchema(settings.tokenLifetimeS);
  const outgoing = messageSchema(settings.maxTextChars);
  const cursor = cursorSchema(settings.pollMaxWaitS);

  const authorize = async (token: string): Promise<Authorized> => {
    const found = looksLikeToken(token) ? await store.sessionByToken(tokenHash(token)) : undefined;
    if (!found) throw new HttpError("TOKEN_NOT_FOUND", "unknown or expired token");
    return { ...found, tokenKey: tokenHash(token).toString("hex") };
  };

  const requireApiKey = (request: FastifyRequest) => {
    if (!keys.matches(bearer(request.headers.authorization))) {
      throw new HttpError(
        "UNAUTHORIZED",
        "a valid API key is required (Authorization: Bearer …)",
        "authorization",
        {
          "WWW-Authenticate": "Bearer",
        },
      );
    }
  };

  /** Where the stream or poll starts: Last-Event-ID (the browser's own reconnect) or ?after=N. */
  const startAfter = (request: FastifyRequest) => {
    const query = parse(cursor, request.query, "query");
    const header = request.headers["last-event-id"];
    if (typeof header === "string" && header !== "") {
      const last = parse(cursor, { after: header }, "Last-Event-ID").after;
      return { after: last ?? 0, wait: query.wait };
    }
    return { after: query.after ?? 0, wait: query.wait };
  };

  // eslint-disable-next-line @typescript-eslint/require-await -- fastify plugins are async
  return async (scope: FastifyInstance) => {
    const hashed = (text: string | undefined) => tokenHash(text ?? "").toString("hex");
    const perAddress = new RateLimit(
      settings.requestsPerMinute,
      MINUTE,
      "too many requests from this address",
    ).hook((request) => request.ip);
    const perApiKey = new RateLimit(
      settings.tokenRequestsPerMinute,
      MINUTE,
      "too many token requests with this API key",
    ).hook((request) => hashed(request.headers.authorization));
    const perToken = new RateLimit(
      settings.messagesPerMinute,
      MINUTE,
      "too many requests with this token",
    ).hook((request) => hashed((request.params as { token?: string }).token));

    const refuseOthers = (url: string, allowed: HTTPMethods[]) => {
      scope.route({
        method: ALL_METHODS.filter((method) => !allowed.includes(method)),
        url,
        onRequest: [perAddress],
        handler: async (_request, reply) => {
          void reply.header("Allow", allowed.join(", "));
          throw new HttpError("METHOD_NOT_ALLOWED", `use ${allowed.join(" or ")}`, undefined, {
            Allow: allowed.join(", "),
          });
        },
      });
    };

    scope.post("/nereid-chat/token", { onRequest: [perAddress, perApiKey] }, async (request) => {
      requireApiKey(request);
      const body = parse(tokenRequest, request.body, "body");
      const { token, session, expiresAt } = await mint(
        store,
        body,
        body.lifetime ?? settings.tokenLifetimeS,
      );
      await bridge.enter(session);
      return {
        token,
        thread: session.thread,
        room: session.room,
        session: session.id,
        expires_at: timestamp(expiresAt),
      };
    });
    refuseOthers("/nereid-chat/token", ["POST"]);

    scope.delete<TokenParams>(
      "/nereid-chat/token/:token",
      { onRequest: [perAddress, perApiKey] },
      async (request, reply) => {
        requireApiKey(request);
        const { token } = request.params;
        const revoked = looksLikeToken(token)
          ? await store.revokeToken(tokenHash(token))
          : undefined;
        if (revoked === undefined)
          throw new HttpError("TOKEN_NOT_FOUND", "unknown or expired token");
        bridge.closeToken(tokenHash(token).toString("hex"));
        return reply.code(204).send();
      },
    );
    refuseOthers("/nereid-chat/token/:token", ["DELETE"]);

    scope.get<TokenParams>(
      "/nereid-chat/stream/:token",
      { onRequest: [perAddress, perToken] },
      async (request, reply) => {
        const { session, expiresAt, tokenKey } = await authorize(request.params.token);
        const { after } = startAfter(request);
        bridge.readers.admit(tokenKey, request.ip);
        await stream(request, reply, { session, expiresAt, tokenKey }, after);
      },
    );
    refuseOthers("/nereid-chat/stream/:token", ["GET"]);

    scope.get<TokenParams>(
      "/nereid-chat/poll/:token",
      { onRequest: [perAddress, perToken] },
      async (request, reply) => {
        const auth = await authorize(request.params.token);
        const { after, wait } = startAfter(request);
        bridge.readers.admit(auth.tokenKey, request.ip);
        const waiter = new PollWaiter(
          auth.session.id,
          auth.tokenKey,
          request.ip,
          auth.expiresAt,
          after,
        );
        bridge.readers.add(waiter);
        let events: StoredEvent[];
        try {
          void bridge.enter(auth.session).catch(() => undefined);
          events = await store.eventsAfter(auth.session.id, after, PAGE);
          if (events.length === 0 && (wait ?? 0) > 0) {
            const gone = new Promise<void>((resolve) => reply.raw.once("close", resolve));
            await Promise.race([waiter.done, gone, sleep(wait! * 1000)]);
            events = await store.eventsAfter(auth.session.id, after, PAGE);
          }
        } finally {
          bridge.readers.remove(waiter);
        }
        return {
          timestamp: timestamp(new Date()),
          stanzas: events.map((event) => ({
            ...(JSON.parse(event.json) as object),
            seq: event.seq,
          })),
          next: events.at(-1)?.seq ?? after,
        };
      },
    );
    refuseOthers("/nereid-chat/poll/:token", ["GET"]);

    scope.post<TokenParams>(
      "/nereid-chat/message/:token",
      { onRequest: [perAddress, perToken] },
      async (request, reply) => {
        const { session } = await authorize(request.params.token);
        const message = parse(outgoing, request.body, "body");
        const { thread, duplicate } = await bridge.send(session, message);
        return reply.code(duplicate ? 200 : 202).send({ id: message.id, thread, duplicate });
      },
    );
    refuseOthers("/nereid-chat/message/:token", ["POST"]);

    scope.post<TokenParams>(
      "/nereid-chat/presence/:token",
      { onRequest: [perAddress, perToken] },
      async (request) => {
        const { session } = await authorize(request.params.token);
        const presence = parse(presenceSchema, request.body, "body");
        return bridge.presence(session, presence);
      },
    );
    refuseOthers("/nereid-chat/presence/:token", ["POST"]);
  };

  /** Opens the SSE response: registered first, then the backlog from Postgres, then live. */
  async function stream(
    request: FastifyRequest,
    reply: FastifyReply,
    { session, expiresAt, tokenKey }: Authorized,
    after: number,
  ): Promise<void> {
    const headers = reply.getHeaders() as Record<string, string | number | string[]>;
    reply.hijack();
    const sse: SseStream = new SseStream(reply.raw, {
      sessionId: session.id,
      tokenKey,
      address: request.ip,
      expiresAt,
      after,
      retryMs: settings.retryMs,
      maxBacklogBytes: settings.maxBacklogBytes,
      headers,
      onClose: () => bridge.readers.remove(sse),
    });
    sse.open();
    bridge.readers.add(sse);
    void bridge.enter(session).catch(() => undefined);
    try {
      for (;;) {
        const events = await store.eventsAfter(session.id, sse.last, PAGE);
        await sse.replay(events);
        if (events.length < PAGE || sse.closed) break;
      }
      sse.live();
    } catch {
      // The database went away while replaying: the browser reconnects from its last id.
      sse.close();
    }
  }
}
