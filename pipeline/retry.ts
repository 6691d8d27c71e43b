/**
 * The one way Pulso retries, polls and times out, over p-retry and p-timeout: every
 * adapter that waits for a service goes through here, so backoff, give-up and logging
 * behave the same everywhere.
 */
import pRetry, { AbortError } from 'p-retry';
import pTimeout, { TimeoutError } from 'p-timeout';
import type { Logger } from './log.js';

export interface RetryPolicy {
  /** What is being tried, for the logs ("publish dead letters"). */
  what: string;
  /** Attempts in all (Infinity: until it succeeds or `stopped()`). */
  attempts: number;
  /** The first pause, doubled at every failure up to `maxDelayMs`. */
  minDelayMs: number;
  maxDelayMs: number;
  /** A failure that retrying cannot fix (a refused login): thrown at once. */
  fatal?: (error: Error) => boolean;
  /** Checked before each retry: true ends the retries with the last error. */
  stopped?: () => boolean;
  /** Told of every failure before the pause (the default logs some of them). */
  failed?: (error: Error, attempt: number, delayMs: number) => void;
  log?: Logger;
}

/**
 * Runs `fn` until it resolves, with exponential backoff. Failures are logged for the first
 * five attempts, then one in ten, so a long outage stays readable.
 */
export function retry<T>(fn: (attempt: number) => Promise<T>, p: RetryPolicy): Promise<T> {
  return pRetry(
    async (attempt) => {
      try {
        return await fn(attempt);
      } catch (e) {
        const error = e instanceof Error ? e : new Error(String(e));
        if (p.fatal?.(error)) throw new AbortError(error);
        throw error;
      }
    },
    {
      retries: p.attempts - 1,
      factor: 2,
      minTimeout: p.minDelayMs,
      maxTimeout: p.maxDelayMs,
      randomize: false,
      onFailedAttempt: ({ error, attemptNumber, retryDelay }) => {
        p.failed?.(error, attemptNumber, retryDelay);
        if (p.log && (attemptNumber <= 5 || attemptNumber % 10 === 0))
          p.log.warn(
            { attempt: attemptNumber, retryInMs: retryDelay, err: error.message },
            `${p.what} failed; retrying`,
          );
      },
      shouldRetry: () => !(p.stopped?.() ?? false),
    },
  ).catch((e: unknown) => {
    // An AbortError carries the original failure: that is what callers name and match.
    throw e instanceof AbortError ? e.originalError : e;
  });
}

/** Polls `ready` every `everyMs` until it is true; fails with `what` after `timeoutMs`. */
export async function pollUntil(
  what: string,
  ready: () => Promise<boolean> | boolean,
  timeoutMs: number,
  everyMs = 100,
): Promise<void> {
  const attempts = Math.max(1, Math.ceil(timeoutMs / everyMs));
  await retry(
    async () => {
      if (!(await ready())) throw new Error(`${what}: not done within ${timeoutMs} ms`);
    },
    { what, attempts, minDelayMs: everyMs, maxDelayMs: everyMs },
  );
}

/** `p`, or a rejection with `message` once `ms` have passed (the late outcome is ignored). */
export function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  p.catch(() => undefined);
  // A deadline already passed (the event loop was busy): timed out, without asking p-timeout,
  // which refuses a zero or negative delay.
  if (!(ms > 0)) return Promise.reject(new TimeoutError(message));
  return pTimeout(p, { milliseconds: ms, message });
}
