import { TimeoutError } from 'p-timeout';
import { describe, expect, it } from 'vitest';
import { pollUntil, retry, withTimeout } from './retry.js';

describe('retry', () => {
  it('retries until it succeeds, backing off, and tells of each failure', async () => {
    const failures: number[] = [];
    let calls = 0;
    const v = await retry(
      async () => {
        if (++calls < 3) throw new Error(`no ${calls}`);
        return 'ok';
      },
      { what: 'x', attempts: 5, minDelayMs: 1, maxDelayMs: 4, failed: (_e, a) => failures.push(a) },
    );
    expect(v).toBe('ok');
    expect(failures).toEqual([1, 2]);
  });

  it('gives up after its attempts with the last error, and at once on a fatal one', async () => {
    let calls = 0;
    await expect(
      retry(
        async () => {
          throw new Error(`no ${++calls}`);
        },
        { what: 'x', attempts: 3, minDelayMs: 1, maxDelayMs: 1 },
      ),
    ).rejects.toThrow('no 3');
    calls = 0;
    await expect(
      retry(
        async () => {
          throw new Error(`fatal ${++calls}`);
        },
        { what: 'x', attempts: 9, minDelayMs: 1, maxDelayMs: 1, fatal: () => true },
      ),
    ).rejects.toThrow('fatal 1');
  });

  it('stops retrying once told to', async () => {
    let calls = 0;
    await expect(
      retry(
        async () => {
          throw new Error(`no ${++calls}`);
        },
        { what: 'x', attempts: Infinity, minDelayMs: 1, maxDelayMs: 1, stopped: () => calls >= 2 },
      ),
    ).rejects.toThrow('no 2');
  });
});

describe('withTimeout', () => {
  it('passes a value through in time, and times out late', async () => {
    await expect(withTimeout(Promise.resolve(1), 50, 'late')).resolves.toBe(1);
    await expect(withTimeout(new Promise(() => undefined), 5, 'late')).rejects.toBeInstanceOf(
      TimeoutError,
    );
  });

  it('a deadline already passed (0 or less) times out at once instead of throwing', async () => {
    for (const ms of [0, -5, NaN])
      await expect(withTimeout(new Promise(() => undefined), ms, 'late')).rejects.toBeInstanceOf(
        TimeoutError,
      );
  });
});

describe('pollUntil', () => {
  it('waits for the condition, and fails naming what it waited for', async () => {
    let n = 0;
    await pollUntil('ready', () => ++n >= 3, 1000, 1);
    expect(n).toBe(3);
    await expect(pollUntil('never', () => false, 20, 5)).rejects.toThrow(/never/);
  });
});
