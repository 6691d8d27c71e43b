/**
 * No crash loop, ever: where the pipeline was when it died, and what to do about it.
 *
 * While it folds messages, the pipeline notes the stream sequences in hand in a small file
 * beside the checkpoint (`journal.json`, rewritten in place, no fsync: a process death —
 * SIGKILL, an abort, running out of heap — leaves the page cache intact) and clears the note
 * between batches. A clean stop, or an exit for a lost service (NATS, QuestDB), clears it too.
 * So a note found at start means: the last run died while processing those messages.
 *
 * The next run then processes that range one message at a time, noting each, which narrows
 * the suspect to one message if it dies again there. A message is poison after two deaths
 * on it with the same error (the first may have held a whole batch), or two deaths holding
 * it alone (a silent death — SIGKILL, out of memory — says nothing else): the next start
 * dead-letters it (`poison`, with the errors of the crashes) instead of processing it, and
 * continues after it. Poison decisions
 * are kept in `poison.json`, beside the checkpoint but apart from it, so a replay without
 * checkpoint makes the same decision at the same place.
 */
import {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

export interface Poisoned {
  seq: number;
  /** The errors the crashes left (empty when the process died without a word, e.g. SIGKILL). */
  errors: string[];
  decidedAt: string;
}

interface Note {
  /** Sequences in hand when the note was written; null between batches. */
  inFlight: { from: number; to: number } | null;
  /**
   * The range still suspected after a death there: how many deaths it saw, how many of them
   * held one message alone, and each death's error (null when the process died silently).
   */
  suspect: {
    from: number;
    to: number;
    deaths: number;
    pinned: number;
    errors: (string | null)[];
  } | null;
  /** The error of the last death, when the process could still say it. */
  lastError: string | null;
}

interface PoisonFile {
  /** Identity of the tracking stream the sequences belong to (its creation time). */
  stream: string;
  poisoned: Poisoned[];
}

const EMPTY: Note = { inFlight: null, suspect: null, lastError: null };

export interface StartReport {
  /** The range the last run died in, if it did. */
  diedIn?: { from: number; to: number; error: string | null };
  /** A message decided poison at this start. */
  poisoned?: Poisoned;
  /** A range to process one message at a time. */
  suspect?: { from: number; to: number; deaths: number; pinned: number };
}

export class CrashJournal {
  /** The journal of the running pipeline, for the process's last words (see cli/main.ts). */
  static active: CrashJournal | undefined;

  private note: Note = { ...EMPTY };
  private fd: number | undefined;
  private readonly poisonFile: string;
  private readonly noteFile: string;
  private poison = new Map<number, Poisoned>();

  constructor(
    dir: string,
    /** Identity of the tracking stream: a recreated stream does not inherit decisions. */
    private readonly stream: string,
  ) {
    this.noteFile = join(dir, 'journal.json');
    this.poisonFile = join(dir, 'poison.json');
  }

  /** Reads what the last run left, decides what a second death means, and opens the note. */
  open(): StartReport {
    mkdirSync(join(this.noteFile, '..'), { recursive: true });
    const report: StartReport = {};
    let last: Note = { ...EMPTY };
    try {
      last = { ...EMPTY, ...(JSON.parse(readFileSync(this.noteFile, 'utf8')) as Partial<Note>) };
    } catch {
      // No note (first start) or a torn one: nothing was in hand that we know of.
    }
    if (existsSync(this.poisonFile)) {
      try {
        const p = JSON.parse(readFileSync(this.poisonFile, 'utf8')) as PoisonFile;
        if (p.stream === this.stream) for (const x of p.poisoned) this.poison.set(x.seq, x);
      } catch {
        // Unreadable: rewritten below with what is known.
      }
    }
    let suspect = last.suspect;
    if (last.inFlight) {
      const died = last.inFlight;
      const alone = died.from === died.to ? 1 : 0;
      report.diedIn = { ...died, error: last.lastError };
      if (suspect && suspect.from <= died.to && died.from <= suspect.to)
        suspect = {
          from: Math.max(suspect.from, died.from),
          to: Math.min(suspect.to, died.to),
          deaths: suspect.deaths + 1,
          pinned: (suspect.pinned ?? 0) + alone,
          errors: [...suspect.errors, last.lastError].slice(-5),
        };
      else suspect = { ...died, deaths: 1, pinned: alone, errors: [last.lastError] };
      if (suspect.from === suspect.to && isPoison(suspect)) {
        const poisoned: Poisoned = {
          seq: suspect.from,
          errors: suspect.errors.filter((e): e is string => e !== null),
          decidedAt: new Date().toISOString(),
        };
        this.poison.set(poisoned.seq, poisoned);
        this.savePoison();
        report.poisoned = poisoned;
        suspect = null;
      }
    }
    this.note = { inFlight: null, suspect, lastError: null };
    if (suspect)
      report.suspect = {
        from: suspect.from,
        to: suspect.to,
        deaths: suspect.deaths,
        pinned: suspect.pinned,
      };
    this.fd = openSync(this.noteFile, 'w');
    this.write();
    CrashJournal.active = this;
    return report;
  }

  /** The poison decision for a sequence, if any. */
  poisoned(seq: number): Poisoned | undefined {
    return this.poison.size === 0 ? undefined : this.poison.get(seq);
  }

  /** Whether a sequence is to be processed alone, noted by itself. */
  isSuspect(seq: number): boolean {
    const s = this.note.suspect;
    return s !== null && seq >= s.from && seq <= s.to;
  }

  /** Notes the sequences now in hand. */
  begin(from: number, to: number): void {
    this.note.inFlight = { from, to };
    this.write();
  }

  /** Nothing in hand any more; a suspect range passed without a death is cleared. */
  end(processedSeq: number): void {
    this.note.inFlight = null;
    if (this.note.suspect && processedSeq >= this.note.suspect.to) this.note.suspect = null;
    this.write();
  }

  /**
   * The process is ending. An error that is not the messages' fault (a lost service, a
   * stop) clears the note; any other keeps it, with the error, for the next start to weigh.
   */
  dying(error: unknown, messagesFault: boolean): void {
    if (!messagesFault) this.note.inFlight = null;
    else this.note.lastError = errorText(error);
    this.write();
  }

  close(): void {
    this.note.inFlight = null;
    this.write();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    if (CrashJournal.active === this) CrashJournal.active = undefined;
  }

  private write(): void {
    if (this.fd === undefined) return;
    const bytes = Buffer.from(JSON.stringify(this.note));
    writeSync(this.fd, bytes, 0, bytes.length, 0);
    ftruncateSync(this.fd, bytes.length);
  }

  private savePoison(): void {
    const body: PoisonFile = { stream: this.stream, poisoned: [...this.poison.values()] };
    const tmp = `${this.poisonFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(body, null, 2));
    renameSync(tmp, this.poisonFile);
  }
}

/**
 * Two deaths on one message, told apart from chance: both with the same error (a bug that
 * throws, the first death perhaps in a larger batch), or both holding that message alone. A
 * silent death (SIGKILL, out of memory) in a batch only narrows the suspect: a kill from
 * outside lands on a random message, and must not make it poison.
 */
function isPoison(s: NonNullable<Note['suspect']>): boolean {
  if (s.pinned >= 2) return true;
  const [a, b] = s.errors.slice(-2);
  return s.deaths >= 2 && a !== null && a !== undefined && a === b;
}

function errorText(e: unknown): string {
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}
