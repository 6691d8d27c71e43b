/**
 * Named errors. Each carries the context a person needs to act on it and, when it wraps
 * another failure, that failure as `cause`.
 */
export class PulsoError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A configuration value is missing, malformed or contradictory. Refused at start. */
export class ConfigError extends PulsoError {
  constructor(
    /** Where the value came from: a file path, an environment variable, or "defaults". */
    readonly source: string,
    /** JSON Pointer inside the configuration. */
    readonly path: string,
    readonly expected: string,
    readonly actual?: unknown,
  ) {
    super(
      `${source}: ${path || '(root)'}: expected ${expected}` +
        (actual === undefined || expected.includes(', got ')
          ? ''
          : `, got ${JSON.stringify(actual)}`),
    );
  }
}

/** Several configuration problems at once, so they can all be fixed in one go. */
export class ConfigErrors extends PulsoError {
  constructor(readonly errors: ConfigError[]) {
    super(`invalid configuration:\n${errors.map((e) => `  - ${e.message}`).join('\n')}`);
  }
}

/** A service Pulso starts or relies on could not be started or reached (deploy/services). */
export { ServiceError } from '../deploy/services/errors.js';

/** A JetStream stream or consumer exists with a configuration other than the one asked for. */
export class StreamMismatchError extends PulsoError {
  constructor(
    readonly entity: string,
    readonly differences: { key: string; expected: unknown; actual: unknown }[],
  ) {
    super(
      `${entity} exists with a different configuration:\n` +
        differences
          .map(
            (d) =>
              `  - ${d.key}: expected ${JSON.stringify(d.expected)}, found ${JSON.stringify(d.actual)}`,
          )
          .join('\n') +
        `\nRun \`pulso streams --apply\` to update it, or change the configuration to match.`,
    );
  }
}

/** QuestDB refused or failed a write; the batch is kept and retried. */
export class QuestDbWriteError extends PulsoError {
  constructor(
    readonly rows: number,
    readonly attempt: number,
    options: { cause: unknown },
  ) {
    super(
      `QuestDB did not accept ${rows} rows (attempt ${attempt}): ${String((options.cause as Error)?.message ?? options.cause)}`,
      options,
    );
  }
}
