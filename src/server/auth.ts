// Optional bearer-token check for the hook routes, matching Metacontroller's webhook
// `authorization` setting (type Bearer, credential from a Secret key: Metacontroller >= 4.16).
import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Returns a checker for `Authorization` header values. Both sides are hashed first so that the
 * constant-time comparison also hides the token's length.
 */
export function bearerChecker(token: string): (header: string | undefined) => boolean {
  const expected = createHash("sha256").update(token).digest();
  return (header) => {
    const match = /^Bearer\s+(.+)$/i.exec(header ?? "");
    const given = createHash("sha256")
      .update(match?.[1]?.trim() ?? "")
      .digest();
    return match !== null && timingSafeEqual(given, expected);
  };
}
