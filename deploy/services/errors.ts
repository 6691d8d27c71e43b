/**
 * The one error the service scripts throw. `deploy/` depends on nothing of `pipeline/`
 * (the pipeline imports it, never the reverse), so the class lives here and
 * `pipeline/errors.ts` re-exports it beside the pipeline's own errors.
 */
export class ServiceError extends Error {
  constructor(
    readonly service: 'nats' | 'questdb' | 'mail' | 'receiver',
    message: string,
    readonly details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(`${service}: ${message}`, options);
    this.name = new.target.name;
  }
}
