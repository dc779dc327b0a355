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

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "bib-hooks" },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: "[REDACTED]" },
    },
    destination,
  );
}

export type { Logger };
