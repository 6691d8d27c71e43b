/** The ordering operator under virtual time: one write in flight, commits after writes. */
import { takeUntil } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { writeInOrder, type OrderedSink } from './write-in-order.js';

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

/** A sink whose writes and commits take the given marbles, recording when each ran. */
function sink(
  t: TestScheduler,
  writes: Record<string, string>,
  commits: Record<string, string> = {},
): OrderedSink<string, string> & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    accepted: (c) => log.push(`${t.now()} accepted ${c}`),
    write: (c) => {
      log.push(`${t.now()} write ${c}`);
      return t.createColdObservable(writes[c] ?? '|');
    },
    commit: (c) => {
      log.push(`${t.now()} commit ${c}`);
      return t.createColdObservable(commits[c] ?? '(r|)', { r: c.toUpperCase() });
    },
  };
}

describe('writeInOrder', () => {
  it('writes one cut at a time, in order, each committed only after its write', () => {
    const t = scheduler();
    t.run(({ cold, expectObservable, flush }) => {
      const s = sink(t, { a: '---|', b: '-|', c: '--|' });
      // b and c arrive while a is being written: they wait, in order.
      expectObservable(cold('ab-c|').pipe(writeInOrder(s))).toBe('---AB-(C|)');
      flush();
      expect(s.log).toEqual([
        '0 accepted a',
        '0 write a',
        '3 commit a',
        '3 accepted b',
        '3 write b',
        '4 commit b',
        '4 accepted c',
        '4 write c',
        '6 commit c',
      ]);
    });
  });

  it('a slow sink holds the cuts behind it: nothing overtakes, nothing is dropped', () => {
    const t = scheduler();
    t.run(({ cold, expectObservable }) => {
      const s = sink(t, { a: '----------|', b: '|', c: '|' });
      expectObservable(cold('abc|').pipe(writeInOrder(s))).toBe('----------(ABC|)');
    });
  });

  it('a slow commit (a large checkpoint) delays the next write, never runs beside it', () => {
    const t = scheduler();
    t.run(({ cold, expectObservable, flush }) => {
      const s = sink(t, { a: '-|', b: '-|' }, { a: '---(r|)' });
      expectObservable(cold('ab|').pipe(writeInOrder(s))).toBe('----A(B|)');
      flush();
      expect(s.log.indexOf('4 write b')).toBeGreaterThan(s.log.indexOf('1 commit a'));
    });
  });

  it('a failed write is fatal: no commit for it, nothing after it written, the source let go', () => {
    const t = scheduler();
    t.run(({ cold, expectObservable, expectSubscriptions, flush }) => {
      const s = sink(t, { a: '-|', b: '--#', c: '|' });
      const source = cold('abc---|');
      expectObservable(source.pipe(writeInOrder(s))).toBe('-A-#', { A: 'A' }, 'error');
      expectSubscriptions(source.subscriptions).toBe('^--!');
      flush();
      expect(s.log).not.toContain('3 commit b');
      expect(s.log.some((l) => l.endsWith('write c'))).toBe(false);
    });
  });

  it('a failed commit is fatal too', () => {
    const t = scheduler();
    t.run(({ cold, expectObservable }) => {
      const s = sink(t, { a: '-|', b: '-|' }, { a: '-#' });
      expectObservable(cold('ab|').pipe(writeInOrder(s))).toBe('--#', undefined, 'error');
    });
  });

  it('completes only once the cuts received are written and committed', () => {
    const t = scheduler();
    t.run(({ cold, expectObservable }) => {
      const s = sink(t, { a: '-----|', b: '--|' });
      expectObservable(cold('ab|').pipe(writeInOrder(s))).toBe('-----A-(B|)');
    });
  });

  it('a stop mid-write drains: the write in flight and the cut after it finish, then it ends', () => {
    const t = scheduler();
    t.run(({ cold, hot, expectObservable, flush }) => {
      const s = sink(t, { a: '----|', f: '-|' });
      // Stopped at frame 3, while a is being written: f (the final cut, already received)
      // still goes out after a, and nothing of what would have followed.
      const cuts = cold('a-f-x-y').pipe(takeUntil(hot('---s', { s: undefined })));
      expectObservable(cuts.pipe(writeInOrder(s))).toBe('----A(F|)');
      flush();
      expect(s.log.filter((l) => l.includes('write')).map((l) => l.split(' ')[2])).toEqual([
        'a',
        'f',
      ]);
    });
  });

  it('a unit with nothing to write still commits in its turn (a checkpoint-only cut)', () => {
    const t = scheduler();
    t.run(({ cold, expectObservable }) => {
      const s = sink(t, { a: '--|', k: '|' });
      expectObservable(cold('ak|').pipe(writeInOrder(s))).toBe('--(AK|)');
    });
  });
});
