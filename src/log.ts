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

/** The asynchronous standard-output streams of the loggers made here, to drain before exit. */
type Output = ReturnType<typeof pino.destination>;
const outputs = new WeakMap<Logger, Output>();

export function createLogger(level: LevelWithSilent, destination?: DestinationStream): Logger {
  const output = destination ? undefined : pino.destination({ sync: false });
  const log = pino(
    {
      name: "concierge",
      level,
      redact: { paths: REDACT, censor: "[redacted]" },
      serializers: { err: pino.stdSerializers.err },
    },
    destination ?? output,
  );
  if (output) outputs.set(log, output);
  return log;
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

const DRAIN_BOUND_MS = 2_000;

/**
 * Writes out what the async destination still holds (before process.exit). sonic-boom's own
 * flush() calls back at once when it buffers nothing, even while a write is still in flight:
 * the last lines ("stopped") were then lost to process.exit. So wait for the write to drain.
 */
export async function flushLogger(log: Logger): Promise<void> {
  await new Promise<void>((resolve) => log.flush(() => resolve()));
  const output = outputs.get(log);
  if (!output || !(output as unknown as { _writing: boolean })._writing) return;
  await new Promise<void>((resolve) => {
    const bound = setTimeout(resolve, DRAIN_BOUND_MS);
    output.once("drain", () => {
      clearTimeout(bound);
      resolve();
    });
  });
}
