// The files and secrets the process is given: configuration, strategy file, Secrets
// mounted as files or passed as environment variables.
export { loadControllerConfig, loadStrategyFile } from "./files.ts";
export { createSecretReader, describeSecretSource } from "./secret-source.ts";
export type { SecretReader } from "./secret-source.ts";
