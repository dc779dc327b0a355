// One pino logger for the service, built in main and injected. Request and response bodies are only
// logged at debug level, and even then secret material is redacted: the data of Secret children and
// related Secrets, the last-applied annotation Metacontroller's client-side apply copies Secret data
// into (Metacontroller docs, "Apply Semantics"), the projected Secret in our own response, and the
// Authorization header that carries the webhook token.
import { pino, type DestinationStream, type Logger } from "pino";

const SECRET_GROUP = '"Secret.v1"';
const LAST_APPLIED = [
  '"metacontroller.k8s.io/last-applied-configuration"',
  '"kubectl.kubernetes.io/last-applied-configuration"',
];

function secretGroupPaths(prefix: string): string[] {
  const base = `${prefix}[${SECRET_GROUP}].*`;
  return [
    `${base}.data`,
    `${base}.stringData`,
    ...LAST_APPLIED.map((a) => `${base}.metadata.annotations[${a}]`),
  ];
}

export const REDACT_PATHS: string[] = [
  "req.headers.authorization",
  "headers.authorization",
  ...secretGroupPaths("request.children"),
  ...secretGroupPaths("request.related"),
  // The response is an array of children; ConfigMap data is redacted too, which is only noise lost.
  "response.children[*].data",
  "response.children[*].stringData",
  ...LAST_APPLIED.map((a) => `response.children[*].metadata.annotations[${a}]`),
];

/**
 * `err` in a log line: the error's own name as `type`, its message and stack, nothing else. Pino's
 * default serializer copies every enumerable property too (body-parser's errors carry the raw
 * request `body`, which can hold Secret data) and names a plain object's type "Object".
 */
export function serializeError(err: unknown): { type: string; message: string; stack?: string } {
  if (err instanceof Error) {
    return {
      type: err.name || err.constructor.name,
      message: err.message.slice(0, 500),
      ...(err.stack ? { stack: err.stack } : {}),
    };
  }
  return { type: typeof err, message: String(err).slice(0, 500) };
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "bib-hooks" },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: "[REDACTED]" },
      serializers: { err: serializeError },
    },
    destination,
  );
}

export type { Logger };
