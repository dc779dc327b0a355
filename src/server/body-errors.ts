// What the service answers when the JSON body parser refuses a request body. These are the
// client's mistakes (too large, an encoding or charset it does not speak, a body that does not
// decompress, invalid JSON), so they get a 4xx that says what is wrong and a log line without a
// stack; anything else the parser throws is a bug and stays a 500.
//
// The messages are fixed strings: body-parser's own messages can quote the request (a JSON syntax
// error quotes the body, an encoding error quotes a header), and the body may hold Secret data.

export interface BodyError {
  status: number;
  /** body-parser's error type (e.g. `entity.too.large`), for the log and for tests. */
  reason: string;
  /** What the client is told. */
  message: string;
}

export function bodyError(err: unknown, limit: string): BodyError | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const e = err as { type?: unknown; status?: unknown };
  switch (e.type) {
    case "entity.parse.failed":
      return { status: 400, reason: e.type, message: "invalid JSON body" };
    case "entity.too.large":
      return { status: 413, reason: e.type, message: `request body larger than ${limit}` };
    case "encoding.unsupported":
      return {
        status: 415,
        reason: e.type,
        message: "unsupported Content-Encoding: send identity, gzip, deflate or br",
      };
    case "charset.unsupported":
      return { status: 415, reason: e.type, message: "unsupported charset: send UTF-8" };
    case "request.aborted":
      return { status: 400, reason: e.type, message: "request aborted" };
    case "request.size.invalid":
      return { status: 400, reason: e.type, message: "request body size does not match Content-Length" };
  }
  // A decompression error (zlib's or brotli's) comes without a type, as a 400.
  if (e.type === undefined && e.status === 400) {
    return {
      status: 400,
      reason: "encoding.invalid",
      message: "request body does not decompress as its Content-Encoding says",
    };
  }
  // Any other refusal the parser marks as the client's.
  if (typeof e.status === "number" && e.status >= 400 && e.status < 500) {
    return {
      status: e.status,
      reason: typeof e.type === "string" ? e.type : "bad.request",
      message: "bad request",
    };
  }
  return undefined;
}
