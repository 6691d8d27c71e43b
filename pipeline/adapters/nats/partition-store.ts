/**
 * Partition state in NATS's own replicated storage, readable by every worker:
 *
 *   KV `<bucket>_partitions`   `count`          the partition count, fixed at creation
 *                              `owner.<p>`      who owns partition p, and its position
 *                              `tail.<p>`       the last outputs p published (outputs.ts)
 *   Object Store `<bucket>_checkpoints`   `partition-<p>`   p's checkpoint
 *
 * Ownership: a worker claims a partition by writing `owner.<p>` with the revision it read
 * (compare-and-set). Every checkpoint it saves moves that entry on with the revision its
 * last write returned; once someone else has claimed the partition, that update fails,
 * the old owner learns it lost the partition (`PartitionLostError`) and stops its chain
 * there. A claim never takes a partition from a worker that started later and still holds
 * it: mid-rollout, workers of two worker counts would otherwise take it to and fro. Two owners can overlap only until the old one's next checkpoint; meanwhile both
 * fold the same partition stream into the same rows (QuestDB de-duplicates them) and the
 * same output ids (JetStream de-duplicates them), and the checkpoint object the old one
 * may still write is a true picture of the partition at its position — so nothing is
 * lost or counted twice, only some work is done twice.
 */
import { createHash } from 'node:crypto';
import {
  headers,
  KvWatchInclude,
  nuid,
  StorageType,
  type KV,
  type NatsConnection,
  type ObjectStore,
} from 'nats';
import type { CheckpointBackend, SavedAt } from '../../checkpoint.js';
import { ConfigError, PulsoError } from '../../errors.js';
import { withTimeout } from '../../retry.js';

export interface StateBucket {
  bucket: string;
  replicas: number;
}

/** What `owner.<p>` holds: the owner, and where the partition stood at its last checkpoint. */
export interface PartitionRecord {
  partition: number;
  worker: string;
  claimedAt: number;
  /** When the claiming worker's process started (epoch ms; absent in older records: 0). */
  startedAt?: number;
  /** Tracking-stream sequence of the last checkpoint (0: none yet). */
  seq: number;
  /** Event-time watermark at that checkpoint (epoch ms; null before any event). */
  watermark: number | null;
  checkpointAt: number | null;
  checkpointBytes: number;
  checkpointMs: number;
}

/** Where a partition's outputs stopped: evaluation time and how many at that time. */
export interface OutputTail {
  at: number;
  count: number;
  /** The output stream it was kept for: its name and creation time. */
  stream?: string;
  /**
   * Set while a publish is under way: the stream's last sequence before it. A start that
   * finds it reads which of those outputs the stream holds.
   */
  pending?: { fromSeq: number };
}

/** The partition was claimed by another worker since this one claimed it. */
export class PartitionLostError extends PulsoError {
  constructor(
    readonly partition: number,
    readonly by: string | undefined,
  ) {
    super(
      `partition ${partition} was claimed by ${by ?? 'another worker'}; this worker stops its chain there`,
    );
  }
}

/** A checkpoint (a few MB) reads in well under a second; past this, the read is stuck. */
const LOAD_TIMEOUT_MS = 20_000;
/** Object Store chunks: nats.js's default size. */
const CHUNK_BYTES = 128 * 1024;

const enc = new TextEncoder();
const dec = new TextDecoder();
const json = (v: unknown) => enc.encode(JSON.stringify(v));
const parse = <T>(b: Uint8Array): T => JSON.parse(dec.decode(b)) as T;

export class PartitionStore {
  private constructor(
    private readonly nc: NatsConnection,
    readonly kv: KV,
    readonly objects: ObjectStore,
    readonly names: { kv: string; objects: string },
  ) {}

  static async open(nc: NatsConnection, s: StateBucket): Promise<PartitionStore> {
    const js = nc.jetstream();
    const names = { kv: `${s.bucket}_partitions`, objects: `${s.bucket}_checkpoints` };
    const kv = await js.views.kv(names.kv, {
      replicas: s.replicas,
      history: 1,
      storage: StorageType.File,
      // Reads go through the stream's leader. A direct get may be answered by any replica,
      // and a follower that lags answers with an older owner or tail: an old owner then
      // never sees the claim that took its partition, a restart reads a stale tail.
      allow_direct: false,
    });
    const objects = await js.views.os(names.objects, {
      replicas: s.replicas,
      storage: StorageType.File,
    });
    return new PartitionStore(nc, kv, objects, names);
  }

  /**
   * The partition count is fixed by the first start: a later start with another count
   * would route clients elsewhere than their state, so it is refused.
   */
  async fixCount(count: number, source: string): Promise<void> {
    const have = await this.kv.get('count');
    if (!have || have.operation !== 'PUT') {
      await this.kv.create('count', json(count)).catch(() => undefined);
      return this.fixCount(count, source);
    }
    const fixed = parse<number>(have.value);
    if (fixed !== count)
      throw new ConfigError(
        source,
        '/partitions/count',
        `${fixed}, the count the partition state in ${this.names.kv} was created with (change it only with new streams and buckets)`,
        count,
      );
  }

  async record(p: number): Promise<{ record: PartitionRecord; revision: number } | undefined> {
    const e = await this.kv.get(`owner.${p}`);
    if (!e || e.operation !== 'PUT') return undefined;
    return { record: parse<PartitionRecord>(e.value), revision: e.revision };
  }

  /** Every partition's record, for `pulso status`. */
  async records(count: number): Promise<(PartitionRecord | undefined)[]> {
    return Promise.all(
      Array.from({ length: count }, (_, p) => this.record(p).then((r) => r?.record)),
    );
  }

  /**
   * Claims partition p for `worker` (whose process started at `startedAt`): the claim its
   * checkpoints then carry on. Undefined when p is held by another worker that started
   * later and has not let it go: that one took it from this one's configuration or is its
   * replacement, so taking it back would move the partition to and fro (workers of two
   * worker counts, mid-rollout). The later start wins; a restart makes a worker the later.
   */
  async claim(
    p: number,
    worker: string,
    startedAt: number,
    now = Date.now(),
  ): Promise<PartitionClaim | undefined> {
    for (let attempt = 0; ; attempt++) {
      const had = await this.record(p);
      if (
        had &&
        had.record.worker !== worker &&
        (had.record.startedAt ?? 0) > startedAt &&
        !(await this.isReleased(p, had.record))
      )
        return undefined;
      const record: PartitionRecord = {
        ...(had?.record ?? {
          partition: p,
          seq: 0,
          watermark: null,
          checkpointAt: null,
          checkpointBytes: 0,
          checkpointMs: 0,
        }),
        worker,
        claimedAt: now,
        startedAt,
      };
      try {
        const revision = had
          ? await this.kv.update(`owner.${p}`, json(record), had.revision)
          : await this.kv.create(`owner.${p}`, json(record));
        return new PartitionClaim(this, p, record, revision, had?.record);
      } catch (e) {
        // Someone claimed it between our read and write: read again (a few times).
        if (attempt >= 5) throw e;
      }
    }
  }

  /**
   * An owner's word that its claim of `p` (who, since when) is over: its chain for `p` has
   * ended, so no write of its can land after the next owner's (`released.<p>`).
   */
  async markReleased(
    p: number,
    claim: Pick<PartitionRecord, 'worker' | 'claimedAt'>,
  ): Promise<void> {
    await this.kv.put(`released.${p}`, json({ worker: claim.worker, claimedAt: claim.claimedAt }));
  }

  /**
   * Waits until the claim `previous` of `p` is over (its owner said so), or until
   * `deadline` (epoch ms; the owner may be dead); true when it said so.
   */
  async waitReleased(
    p: number,
    previous: Pick<PartitionRecord, 'worker' | 'claimedAt'>,
    deadline: number,
  ): Promise<boolean> {
    for (;;) {
      if (await this.isReleased(p, previous).catch(() => false)) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Whether the owner of the claim `c` of `p` said it let p go. */
  async isReleased(p: number, c: Pick<PartitionRecord, 'worker' | 'claimedAt'>): Promise<boolean> {
    const e = await this.kv.get(`released.${p}`);
    if (!e || e.operation !== 'PUT') return false;
    const r = parse<Pick<PartitionRecord, 'worker' | 'claimedAt'>>(e.value);
    return r.worker === c.worker && r.claimedAt === c.claimedAt;
  }

  /**
   * Calls `onClaim` for every later change of an `owner.<p>` entry (its own saves too):
   * how a worker learns at once that another has claimed one of its partitions.
   */
  async watchOwners(onClaim: (p: number, record: PartitionRecord) => void): Promise<() => void> {
    const iter = await this.kv.watch({ key: 'owner.*', include: KvWatchInclude.UpdatesOnly });
    void (async () => {
      for await (const e of iter) {
        if (e.operation !== 'PUT') continue;
        onClaim(Number(e.key.slice('owner.'.length)), parse<PartitionRecord>(e.value));
      }
    })().catch(() => undefined);
    return () => iter.stop();
  }

  async loadCheckpoint(p: number): Promise<Uint8Array | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        // A newer version can replace the object (and purge its chunks) while it is read:
        // the client then waits forever for chunks that are gone, so the read has a deadline.
        const read = this.objects.getBlob(`partition-${p}`);
        return (await withTimeout(read, LOAD_TIMEOUT_MS, `partition-${p}: read`)) ?? undefined;
      } catch (e) {
        if (attempt >= 3) throw e;
      }
    }
  }

  /**
   * Puts a checkpoint as nats.js's `putBlob` does — chunks under a new id, then the meta
   * message rolling up the old one, then the old chunks purged — but hashed by node:crypto:
   * the client's own SHA-256 is plain JavaScript and cost more than the checkpoint's picture.
   * `getBlob` reads it (and checks the digest) as any object.
   */
  async saveCheckpoint(p: number, bytes: Uint8Array): Promise<void> {
    const name = `partition-${p}`;
    const bucket = this.names.objects;
    const old = await this.objects.info(name);
    const id = nuid.next();
    const chunkSubject = `$O.${bucket}.C.${id}`;
    const maxChunk = Math.min(CHUNK_BYTES, this.nc.info?.max_payload ?? CHUNK_BYTES);
    const sent: Promise<unknown>[] = [];
    let chunks = 0;
    for (let at = 0; at < bytes.length; at += maxChunk) {
      sent.push(this.nc.jetstream().publish(chunkSubject, bytes.subarray(at, at + maxChunk)));
      chunks++;
    }
    try {
      await Promise.all(sent);
    } catch (e) {
      await this.purge(chunkSubject);
      throw e;
    }
    const digest = createHash('sha256').update(bytes).digest('base64');
    const info = {
      name,
      description: '',
      options: { max_chunk_size: maxChunk },
      bucket,
      nuid: id,
      size: bytes.length,
      chunks,
      mtime: new Date().toISOString(),
      digest: `SHA-256=${digest.replace(/\+/g, '-').replace(/\//g, '_')}`,
      deleted: false,
    };
    const h = headers();
    h.set('Nats-Rollup', 'sub');
    const metaName = Buffer.from(name).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
    await this.nc.jetstream().publish(`$O.${bucket}.M.${metaName}`, json(info), { headers: h });
    if (old) await this.purge(`$O.${bucket}.C.${old.nuid}`);
  }

  /** Old chunks left behind cost space, not correctness: a failed purge is not an error. */
  private async purge(subject: string): Promise<void> {
    const jsm = await this.nc.jetstreamManager();
    await jsm.streams
      .purge(`OBJ_${this.names.objects}`, { filter: subject })
      .catch(() => undefined);
  }

  async tail(p: number): Promise<OutputTail | undefined> {
    const e = await this.kv.get(`tail.${p}`);
    return e && e.operation === 'PUT' ? parse<OutputTail>(e.value) : undefined;
  }

  async setTail(p: number, tail: OutputTail): Promise<void> {
    await this.kv.put(`tail.${p}`, json(tail));
  }
}

/** One worker's hold on one partition: checkpoints are saved through it. */
export class PartitionClaim {
  constructor(
    private readonly store: PartitionStore,
    readonly partition: number,
    private record: PartitionRecord,
    private revision: number,
    /** The claim before this one (another worker's: the partition moved here). */
    readonly previous: PartitionRecord | undefined,
  ) {}

  /** Who held it before. */
  get previousOwner(): string | undefined {
    return this.previous?.worker;
  }

  get current(): Readonly<PartitionRecord> {
    return this.record;
  }

  /**
   * Saves a checkpoint: first the claim moves on (compare-and-set — a lost claim stops
   * here, before anything is written), then the object is put.
   */
  async save(bytes: Uint8Array, at: SavedAt): Promise<void> {
    const next: PartitionRecord = {
      ...this.record,
      seq: at.seq,
      watermark: at.watermark,
      checkpointAt: Date.now(),
      checkpointBytes: bytes.length,
      checkpointMs: Math.round(at.costMs),
    };
    try {
      this.revision = await this.store.kv.update(
        `owner.${this.partition}`,
        json(next),
        this.revision,
      );
    } catch (e) {
      // Lost only if the entry now names another claim; anything else (a NATS hiccup, a
      // leader election) fails this save, and the next checkpoint tries again.
      const now = await this.store.record(this.partition).catch(() => undefined);
      const ours =
        !now ||
        (now.record.worker === this.record.worker &&
          now.record.claimedAt === this.record.claimedAt);
      if (ours) throw e;
      throw new PartitionLostError(this.partition, now.record.worker);
    }
    this.record = next;
    await this.store.saveCheckpoint(this.partition, bytes);
  }
}

/** A partition's checkpoints in the Object Store, saved through its claim. */
export class NatsCheckpoints implements CheckpointBackend {
  constructor(
    private readonly store: PartitionStore,
    private readonly claim: PartitionClaim,
  ) {}

  get where(): string {
    return `${this.store.names.objects}/partition-${this.claim.partition}`;
  }

  /** The bucket was opened (and the claim written) already: NATS accepts writes. */
  async checkWritable(): Promise<void> {}

  read(): Promise<Uint8Array | undefined> {
    return this.store.loadCheckpoint(this.claim.partition);
  }

  write(bytes: Uint8Array, at: SavedAt): Promise<void> {
    return this.claim.save(bytes, at);
  }
}
