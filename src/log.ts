import { pino, type Logger, type LevelWithSilent, type DestinationStream } from "pino";

export type { Logger };

/** Keys whose values never reach a log line, wherever they appear in a logged object. */
const REDACT = [
  "secret",
  "password",
  "token",
  "*.secret",
  "*.password",
  "*.token",
  "config.component.secret",
];

export function createLogger(level: LevelWithSilent, destination?: DestinationStream): Logger {
  return pino(
    {
      name: "concierge",
      level,
      redact: { paths: REDACT, censor: "[redacted]" },
      serializers: { err: pino.stdSerializers.err },
    },
    destination ?? pino.destination({ sync: false }),
  );
}

/**
 * Masks credentials in raw XML before it is logged at trace level: the component handshake, SASL
 * payloads, MUC passwords and the room-secret form field.
 */
export function redactXml(text: string): string {
  return text
    .replace(/(<handshake\b[^>]*>)[^<]*(<\/handshake>)/g, "$1[redacted]$2")
    .replace(/(<(auth|response|success)\b[^>]*>)[^<]*(<\/\2>)/g, "$1[redacted]$3")
    .replace(/(<password\b[^>]*>)[^<]*(<\/password>)/g, "$1[redacted]$2")
    .replace(
      /(<field\b[^>]*var=["']muc#roomconfig_roomsecret["'][^>]*>(?:\s*<desc>[^<]*<\/desc>)?(?:\s*<required\/>)?\s*<value>)[^<]*(<\/value>)/g,
      "$1[redacted]$2",
    );
}

/** Writes out what the async destination still holds (before process.exit). */
export function flushLogger(log: Logger): Promise<void> {
  return new Promise((resolve) => log.flush(() => resolve()));
}
