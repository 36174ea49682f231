// The exit codes of the glidepath CLI, documented in docs/cli.md. Scripts and CI
// gates depend on them: change them only with the docs and a release note.

export const EXIT = {
  /** Done; for `status --watch`, the release Succeeded; for `rollback --wait`, verified. */
  ok: 0,
  /**
   * The operation failed: the API refused it, the release being waited for ended
   * RolledBack or Failed, or the rollback's verification (pods Ready, metrics under
   * their thresholds) did not pass.
   */
  failed: 1,
  /** Bad usage: an unknown command or option, a missing or malformed argument. */
  usage: 2,
  /** The Release, the target Deployment or the requested version does not exist. */
  notFound: 3,
  /** The request does not fit the Release's state: it has finished, a rollback is already under way… */
  conflict: 4,
  /** --wait or --watch reached its --timeout before the release finished. */
  timeout: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure the CLI reports as one message on stderr and an exit code; never a stack trace. */
export class CliError extends Error {
  readonly exitCode: ExitCode;

  constructor(exitCode: ExitCode, message: string) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}
