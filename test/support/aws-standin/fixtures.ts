// Credentials files for the stand-in's account, as the build's Secret projects them.
import { STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY } from "./server.js";

export function standinCredentialFiles(accessKeyId = STANDIN_ACCESS_KEY): Record<string, string> {
  return { "aws.AWS_ACCESS_KEY_ID": `${accessKeyId}\n`, "aws.AWS_SECRET_ACCESS_KEY": STANDIN_SECRET_KEY };
}
