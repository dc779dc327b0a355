// The log of the CLI's local commands: on stderr, so that stdout stays the command's result.
import { pino, type Logger } from "pino";

export function cliLogger(verbose: boolean): Logger {
  return pino({ level: verbose ? "info" : "warn", base: undefined }, pino.destination(2));
}
