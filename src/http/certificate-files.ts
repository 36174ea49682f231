import { readFile, stat } from "node:fs/promises";
import type { Logger } from "pino";

// A serving certificate kept as PEM files (a mounted Secret, cert-manager): read at start
// and read again when either file changes, so a rotated certificate takes effect from the
// next TLS handshake without a restart. Used by the hook server and the admission webhook.

export interface CertificateFiles {
  certFile: string;
  keyFile: string;
}

export interface CertificatePair {
  cert: Buffer | string;
  key: Buffer | string;
}

/** How often the files are looked at by default. */
export const CERTIFICATE_RELOAD_MS = 30_000;

export async function readCertificatePair(files: CertificateFiles): Promise<CertificatePair> {
  const [cert, key] = await Promise.all([readFile(files.certFile), readFile(files.keyFile)]);
  return { cert, key };
}

async function newestChange(files: CertificateFiles): Promise<number> {
  const [cert, key] = await Promise.all([stat(files.certFile), stat(files.keyFile)]);
  return Math.max(cert.mtimeMs, key.mtimeMs);
}

/**
 * Calls `apply` with the pair whenever the files change (by modification time); returns
 * the function that stops looking. A file that cannot be read keeps the pair in use and
 * is said in the log.
 */
export async function reloadOnChange(
  files: CertificateFiles,
  apply: (pair: CertificatePair) => void,
  options: { log: Logger; what: string; everyMs?: number },
): Promise<() => void> {
  let loadedAt = await newestChange(files);
  const timer = setInterval(() => {
    void (async () => {
      const changed = await newestChange(files);
      if (changed === loadedAt) return;
      apply(await readCertificatePair(files));
      loadedAt = changed;
      options.log.info(`reloaded ${options.what}`);
    })().catch((error: unknown) => options.log.warn({ err: error }, `could not reload ${options.what}`));
  }, options.everyMs ?? CERTIFICATE_RELOAD_MS);
  timer.unref();
  return () => clearInterval(timer);
}
