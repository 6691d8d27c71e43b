/**
 * Checkpoints: the operators' state together with the stream sequence it reflects.
 *
 * Figures are a deterministic fold over the tracking stream, so (state after sequence S)
 * plus the messages after S is all a restart needs: it loads the newest checkpoint and
 * reads the stream from S + 1, instead of replaying history event by event. A checkpoint
 * is written only after QuestDB has accepted every row it covers, so the restarted run
 * re-writes (idempotently) at most what came after it.
 *
 * The file is the v8 serialization of the state (typed arrays are copied as they are),
 * written to a temporary name, synced and renamed over the old one: a crash leaves either
 * the old or the new checkpoint, never half of one. The picture is handed to a worker thread
 * at the cut and serialized there; the file is written asynchronously once the write it
 * covers is accepted, so the event loop (NATS reads, /metrics) never waits for either.
 * A checkpoint taken under other window
 * settings is ignored, which means a full replay from the stream.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { deserialize } from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { RulesSnapshot } from '../operators/playbooks/rules.js';
import type { UsageSnapshot } from '../operators/usage-figures.js';
import type { Config } from './config/types.js';
import type { ClientRow, UserRow } from './contract/client-directory.js';
import { ConfigError } from './errors.js';

const FORMAT = 4;

export interface Checkpoint {
  /** Last stream sequence whose effects the state holds. */
  seq: number;
  takenAt: number;
  state: UsageSnapshot;
  /** The rules stage's state (health scores, tags, cooldowns) at the same position. */
  rules?: RulesSnapshot;
  /** Client attributes at the same position, so re-derived midnights see them as they were. */
  clients?: ClientRow[];
  /** The users (their client, their traits) at the same position. */
  users?: UserRow[];
}

/**
 * The checkpoint writer thread: v8-serializes the picture it is handed and sends the bytes
 * back. Inline (`eval`) so it runs the same from the TypeScript sources and the build.
 */
const WRITER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { serialize } = require('node:v8');
parentPort.on('message', ({ id, stored }) => {
  try {
    const b = serialize(stored);
    const bytes = new Uint8Array(b.buffer, b.byteOffset, b.length);
    parentPort.postMessage({ id, bytes }, b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? [b.buffer] : []);
  } catch (e) {
    parentPort.postMessage({ id, error: String(e && e.message ? e.message : e) });
  }
});
`;

/** Every distinct ArrayBuffer under a value (the snapshots' typed arrays), to move them. */
function transferables(value: unknown): ArrayBuffer[] {
  const found = new Set<ArrayBuffer>();
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (ArrayBuffer.isView(v)) {
      if (v.buffer instanceof ArrayBuffer) found.add(v.buffer);
    } else if (Array.isArray(v)) {
      // Arrays of strings or numbers (names, ids) hold no buffers: skip walking them.
      if (v.length > 0 && typeof v[0] === 'object') for (const x of v) stack.push(x);
    } else if (v !== null && typeof v === 'object') for (const x of Object.values(v)) stack.push(x);
  }
  return [...found];
}

export interface Stored extends Checkpoint {
  format: number;
  settings: string;
  /** The tracking stream it follows: its name and creation time (older checkpoints: none). */
  stream?: string;
}

/** What the state's meaning depends on: a change makes an old checkpoint unusable. */
export function settingsFingerprint(c: Config): string {
  const { timeZone, days, allowedLatenessSeconds, ratios } = c.windows;
  return createHash('sha256')
    .update(
      JSON.stringify({
        stream: c.nats.trackingStream.name,
        timeZone,
        days,
        allowedLatenessSeconds,
        ratios,
      }),
    )
    .digest('hex')
    .slice(0, 16);
}

/** Where a checkpoint is where it is when it is saved: the info a backend may record. */
export interface SavedAt {
  seq: number;
  watermark: number | null;
  costMs: number;
}

/** Where checkpoint bytes are kept: a file here, or NATS's Object Store (partition-store.ts). */
export interface CheckpointBackend {
  /** For logs and errors: the file, or the bucket and object. */
  readonly where: string;
  /** Refuses, at start, a place Pulso could not write. */
  checkWritable(): Promise<void>;
  read(): Promise<Uint8Array | undefined>;
  write(bytes: Uint8Array, at: SavedAt): Promise<void>;
}

/** A checkpoint file: temporary file, fsync, rename — a crash leaves the old or the new. */
export class FileCheckpoints implements CheckpointBackend {
  constructor(
    readonly where: string,
    /** Where checkpoint.dir was set, for errors (a file, an environment variable, defaults). */
    private readonly source = 'configuration',
  ) {}

  /**
   * Refuses a directory Pulso cannot write, naming `checkpoint.dir` and the OS's reason: done
   * first at start, before anything is read, so the run never learns it at its first save.
   */
  async checkWritable(): Promise<void> {
    const dir = join(this.where, '..');
    const probe = join(dir, `.pulso-write-check-${process.pid}`);
    try {
      await mkdir(dir, { recursive: true });
      const fh = await open(probe, 'w');
      try {
        await fh.writeFile('ok');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rm(probe, { force: true });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new ConfigError(
        this.source,
        '/checkpoint/dir',
        `a directory Pulso can create and write (${dir}: ${err.code ?? 'error'} ${err.syscall ?? ''} ${err.message.replace(/^\w+: /, '')})`.replace(
          /\s+\)/,
          ')',
        ),
        dir,
      );
    }
  }

  async read(): Promise<Uint8Array | undefined> {
    try {
      return await readFile(this.where);
    } catch {
      return undefined;
    }
  }

  async write(bytes: Uint8Array): Promise<void> {
    await mkdir(join(this.where, '..'), { recursive: true });
    const tmp = `${this.where}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.where);
  }
}

export class CheckpointStore {
  private readonly backend: CheckpointBackend;

  constructor(
    /** A checkpoint directory (the file usage.ckpt in it), or a backend. */
    at: string | CheckpointBackend,
    private readonly settings: string,
    /** Where checkpoint.dir was set, for errors (a file, an environment variable, defaults). */
    source = 'configuration',
    /**
     * The tracking stream's identity (name and creation time). A checkpoint of a stream since
     * deleted and created anew would wait for sequences the new one may never reach.
     */
    private readonly stream?: string,
  ) {
    this.backend =
      typeof at === 'string' ? new FileCheckpoints(join(at, 'usage.ckpt'), source) : at;
  }

  /** The file, or the bucket and object. */
  get file(): string {
    return this.backend.where;
  }

  checkWritable(): Promise<void> {
    return this.backend.checkWritable();
  }

  private writer: Worker | undefined;
  private nextId = 0;
  private readonly waiting = new Map<
    number,
    { resolve(bytes: Uint8Array): void; reject(e: Error): void }
  >();

  /**
   * The picture to save: the parts given were taken at the cut (the operators' snapshots are
   * copies), so later batches cannot leak into it.
   */
  prepare(
    seq: number,
    state: UsageSnapshot,
    rules?: RulesSnapshot,
    clients?: ClientRow[],
    users?: UserRow[],
  ): Stored {
    return {
      format: FORMAT,
      settings: this.settings,
      ...(this.stream === undefined ? {} : { stream: this.stream }),
      seq,
      takenAt: Date.now(),
      state,
      rules,
      clients,
      users,
    };
  }

  /**
   * Hands the picture to the writer thread now — the copy is made here, at the cut, so later
   * batches cannot leak into it — and resolves with its serialization, made there. Its typed
   * arrays (most of its bytes) are moved, not copied: `prepare`'s parts must not be used
   * afterwards.
   */
  stage(stored: Stored): Promise<Uint8Array> {
    const writer = (this.writer ??= this.startWriter());
    const id = this.nextId++;
    const staged = new Promise<Uint8Array>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      try {
        writer.postMessage({ id, stored }, transferables(stored));
      } catch (e) {
        this.waiting.delete(id);
        reject(e as Error);
      }
    });
    staged.catch(() => undefined); // reported by save
    return staged;
  }

  /** Writes a staged checkpoint where the backend keeps it, without blocking; its size. */
  async save(
    staged: Promise<Uint8Array> | Uint8Array,
    at: SavedAt = { seq: 0, watermark: null, costMs: 0 },
  ): Promise<number> {
    const bytes = await staged;
    await this.backend.write(bytes, at);
    return bytes.length;
  }

  /** Ends the writer thread (after the last save has settled). */
  async close(): Promise<void> {
    await this.writer?.terminate();
    this.writer = undefined;
  }

  private startWriter(): Worker {
    const w = new Worker(WRITER_SOURCE, { eval: true });
    w.unref();
    w.on('message', (m: { id: number; bytes?: Uint8Array; error?: string }) => {
      const p = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (m.error !== undefined || !m.bytes) p?.reject(new Error(m.error ?? 'no bytes'));
      else p?.resolve(m.bytes);
    });
    // A thread that fails or ends fails what it held (the save is then retried next time),
    // so a write never waits on it forever.
    const lost = (e: Error) => {
      for (const p of this.waiting.values()) p.reject(e);
      this.waiting.clear();
      if (this.writer === w) this.writer = undefined;
    };
    w.on('error', lost);
    w.on('exit', (code) => lost(new Error(`the checkpoint writer thread ended (exit ${code})`)));
    return w;
  }

  /** The newest usable checkpoint, or why there is none. */
  async load(): Promise<Checkpoint | { missing: string }> {
    const bytes = await this.backend.read();
    if (!bytes) return { missing: `no checkpoint at ${this.file}` };
    let stored: Stored;
    try {
      stored = deserialize(bytes) as Stored;
    } catch (e) {
      return { missing: `checkpoint ${this.file} is unreadable (${(e as Error).message})` };
    }
    if (stored.format !== FORMAT)
      return { missing: `checkpoint format ${stored.format} is not ${FORMAT}` };
    if (stored.settings !== this.settings)
      return { missing: 'the window settings changed since the checkpoint was taken' };
    if (this.stream !== undefined && stored.stream !== undefined && stored.stream !== this.stream)
      return { missing: 'the tracking stream was created anew since the checkpoint was taken' };
    return {
      seq: stored.seq,
      takenAt: stored.takenAt,
      state: stored.state,
      rules: stored.rules,
      clients: stored.clients,
      users: stored.users,
    };
  }
}
