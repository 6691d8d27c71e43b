/**
 * When a checkpoint is due, and the record of the last one saved. A large state takes a
 * while to picture and write: checkpoints are spaced so that they take at most about a
 * tenth of the time, up to six intervals apart (a crash then replays more).
 */
import type { ClientDirectory } from '../contract/client-directory.js';
import type { CheckpointStore } from '../checkpoint.js';
import type { RulesStage } from '../../operators/playbooks/stage.js';
import type { UsageState } from '../../operators/usage-figures.js';

/** Checkpoints are spaced at least this many times their own duration… */
const CHECKPOINT_DUTY = 10;
/** …but at most this many checkpoint intervals apart, so that a recovery stays short. */
const CHECKPOINT_MAX_SPACING = 6;

const nextTurn = () => new Promise<void>((r) => setImmediate(r));

export class CheckpointPolicy {
  private lastAt = Date.now();
  private spacingMs: number;
  /** The stream sequence of the last checkpoint saved. */
  savedSeq: number;

  constructor(
    private readonly store: CheckpointStore,
    private readonly intervalMs: number,
    afterSeq: number,
  ) {
    this.spacingMs = intervalMs;
    this.savedSeq = afterSeq;
  }

  /** Whether the state at `seq` should be checkpointed now (always at the last cut). */
  due(seq: number, final: boolean, now: number): boolean {
    return seq > this.savedSeq && (final || now - this.lastAt >= this.spacingMs);
  }

  /**
   * The state's picture at `seq`, taken in steps (nothing may be folded meanwhile) and
   * handed to the writer thread; it is saved only once the write it covers is accepted.
   */
  async cut(
    seq: number,
    usage: UsageState,
    rules: RulesStage,
    directory: ClientDirectory,
    now: number,
  ): Promise<{ staged: Promise<Uint8Array>; watermark: number | null; busyMs: number }> {
    // The picture's own time: its steps, not the pauses between them (others run then).
    let busyMs = 0;
    let from = performance.now();
    const pause = async () => {
      busyMs += performance.now() - from;
      await nextTurn();
      from = performance.now();
    };
    const picture = await usage.snapshotInSteps(pause);
    const t = performance.now();
    const stored = this.store.prepare(
      seq,
      picture,
      rules.state.snapshot(),
      directory.snapshot(),
      directory.users.snapshot(),
    );
    this.lastAt = now;
    const w = usage.watermark.value;
    const staged = this.store.stage(stored);
    busyMs += performance.now() - t + (t - from);
    return { staged, watermark: Number.isFinite(w) ? w : null, busyMs };
  }

  /** Saves a staged checkpoint; its cost (ms, picture and file) spaces the next ones. */
  async save(
    checkpoint: { staged: Promise<Uint8Array>; watermark: number | null },
    seq: number,
    costMs: () => number,
  ): Promise<void> {
    await this.store.save(checkpoint.staged, {
      seq,
      watermark: checkpoint.watermark,
      get costMs() {
        return costMs();
      },
    });
    this.savedSeq = seq;
    this.spacingMs = Math.min(
      CHECKPOINT_MAX_SPACING * this.intervalMs,
      Math.max(this.intervalMs, CHECKPOINT_DUTY * costMs()),
    );
  }

  get file(): string {
    return this.store.file;
  }
}
