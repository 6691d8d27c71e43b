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
 * the old or the new checkpoint, never half of one. A checkpoint taken under other window
 * settings is ignored, which means a full replay from the stream.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import type { RulesSnapshot } from '../operators/playbooks/rules.js';
import type { UsageSnapshot } from '../operators/usage-figures.js';
import type { Config } from './config/types.js';
import type { ClientRow } from './contract/client-directory.js';
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
}

interface Stored extends Checkpoint {
  format: number;
  settings: string;
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

export class CheckpointStore {
  readonly file: string;

  constructor(
    dir: string,
    private readonly settings: string,
    /** Where checkpoint.dir was set, for errors (a file, an environment variable, defaults). */
    private readonly source = 'configuration',
  ) {
    this.file = join(dir, 'usage.ckpt');
  }

  /**
   * Refuses a directory Pulso cannot write, naming `checkpoint.dir` and the OS's reason: done
   * first at start, before anything is read, so the run never learns it at its first save.
   */
  async checkWritable(): Promise<void> {
    const dir = join(this.file, '..');
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

  /** Serializes now (synchronously), so later batches cannot leak into the picture. */
  encode(seq: number, state: UsageSnapshot, rules?: RulesSnapshot, clients?: ClientRow[]): Buffer {
    const stored: Stored = {
      format: FORMAT,
      settings: this.settings,
      seq,
      takenAt: Date.now(),
      state,
      rules,
      clients,
    };
    return serialize(stored);
  }

  async save(encoded: Buffer): Promise<void> {
    await mkdir(join(this.file, '..'), { recursive: true });
    const tmp = `${this.file}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(encoded);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.file);
  }

  /** The newest usable checkpoint, or why there is none. */
  async load(): Promise<Checkpoint | { missing: string }> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.file);
    } catch {
      return { missing: `no checkpoint at ${this.file}` };
    }
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
    return {
      seq: stored.seq,
      takenAt: stored.takenAt,
      state: stored.state,
      rules: stored.rules,
      clients: stored.clients,
    };
  }
}
