import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CrashJournal } from './crash-journal.js';

const STREAM = '2026-11-01T00:00:00Z';
const fresh = () => mkdtempSync(join(tmpdir(), 'pulso-journal-'));

/** A run that dies (its note left as the process left it) while holding [from, to]. */
function dieIn(dir: string, from: number, to: number, error?: Error, stream = STREAM) {
  const j = new CrashJournal(dir, stream);
  const report = j.open();
  j.begin(from, to);
  if (error) j.dying(error, true);
  return report;
}

describe('CrashJournal', () => {
  it('a death in a batch narrows it; a second death on one message makes it poison', () => {
    const dir = fresh();
    expect(dieIn(dir, 10, 20, new Error('boom'))).toEqual({});
    // Second start: 10–20 is suspect, processed one at a time; it dies again on 14 alone.
    const second = dieIn(dir, 14, 14, new Error('boom'));
    expect(second.diedIn).toEqual({ from: 10, to: 20, error: 'Error: boom' });
    expect(second.suspect).toEqual({ from: 10, to: 20, deaths: 1, pinned: 0 });
    const third = new CrashJournal(dir, STREAM);
    const r = third.open();
    expect(r.poisoned).toMatchObject({ seq: 14, errors: ['Error: boom', 'Error: boom'] });
    expect(third.poisoned(14)).toBeDefined();
    expect(third.poisoned(13)).toBeUndefined();
    expect(third.isSuspect(14)).toBe(false);
    third.close();
    // A replay decides the same: the decision outlives the run and the note.
    const later = new CrashJournal(dir, STREAM);
    expect(later.open()).toEqual({});
    expect(later.poisoned(14)?.errors).toHaveLength(2);
    // A recreated stream (another identity) inherits nothing.
    const other = new CrashJournal(dir, '2026-12-01T00:00:00Z');
    other.open();
    expect(other.poisoned(14)).toBeUndefined();
  });

  it('silent deaths (SIGKILL, out of memory): poison only after two holding the message alone', () => {
    const dir = fresh();
    dieIn(dir, 1, 9); // a kill while a batch was in hand: only narrows
    const r = dieIn(dir, 7, 7);
    expect(r.suspect).toEqual({ from: 1, to: 9, deaths: 1, pinned: 0 });
    const after2 = dieIn(dir, 7, 7);
    expect(after2.poisoned).toBeUndefined();
    expect(after2.suspect).toEqual({ from: 7, to: 7, deaths: 2, pinned: 1 });
    const j = new CrashJournal(dir, STREAM);
    expect(j.open().poisoned).toMatchObject({ seq: 7, errors: [] });
  });

  it('two deaths with different errors are not poison: a bug would say the same twice', () => {
    const dir = fresh();
    dieIn(dir, 3, 8, new Error('one thing'));
    dieIn(dir, 5, 5, new Error('another'));
    const j = new CrashJournal(dir, STREAM);
    const r = j.open();
    expect(r.poisoned).toBeUndefined();
    expect(r.suspect).toEqual({ from: 5, to: 5, deaths: 2, pinned: 1 });
  });

  it('deaths not at the same place, clean stops and lost services never make poison', () => {
    const dir = fresh();
    dieIn(dir, 1, 5, new Error('x'));
    expect(dieIn(dir, 6, 9, new Error('y')).suspect).toEqual({
      from: 1,
      to: 5,
      deaths: 1,
      pinned: 0,
    });
    // The suspect moved to 6–9 (no overlap): one death there, still not poison.
    const j = new CrashJournal(dir, STREAM);
    const r = j.open();
    expect(r.poisoned).toBeUndefined();
    expect(r.suspect).toEqual({ from: 6, to: 9, deaths: 1, pinned: 0 });
    // It passes 6–9 without dying: the suspect is cleared.
    j.begin(6, 9);
    j.end(9);
    j.begin(10, 12);
    j.dying(new Error('NATS lost'), false);
    const k = new CrashJournal(dir, STREAM);
    expect(k.open()).toEqual({});
    k.close();
    expect(JSON.parse(readFileSync(join(dir, 'journal.json'), 'utf8'))).toMatchObject({
      inFlight: null,
      suspect: null,
    });
  });
});
