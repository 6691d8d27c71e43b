/**
 * The QuestDB adapter's encoder: typed rows into line protocol bodies of a bounded size,
 * raw events and client attributes first, figures and the rules' rows next, and the
 * progress row last (once it is visible, everything before it was accepted).
 */
import type { DailyUsageRow, UserDailyUsageRow } from '../../../operators/daily-usage.js';
import type { LastSeenRow } from '../../../operators/last-seen.js';
import type { MetricRow } from '../../../operators/metric-aggregates.js';
import type { Output } from '../../../operators/playbooks/outputs.js';
import type { DailyScore } from '../../../operators/playbooks/rules.js';
import type { RatioRow } from '../../../operators/ratios.js';
import type { RollingRow } from '../../../operators/rolling-counts.js';
import type { TrackingEvent } from '../../../schemas/types.js';
import type { ClientRow, UserRow } from '../../contract/client-directory.js';
import {
  lastSeenLine,
  metricLine,
  progressLine,
  ratioLine,
  rollingLine,
  usageLine,
  userUsageLine,
  type Progress,
} from './figure-lines.js';
import { dailyScoreLine, outputLine } from './output-lines.js';
import { clientLine, eventLine, userLine } from './row-lines.js';
import type { SinkBatch } from './sink.js';

/** ILP/HTTP bodies are cut at about this size. */
const BODY_BYTES = 8 * 1024 * 1024;
const FIRST_BYTES = 64 * 1024;

/**
 * Lines written straight into UTF-8 bodies: no joined string, and no conversion of one by
 * the HTTP client (which also scanned it for lone surrogates). A body grows by doubling up
 * to about BODY_BYTES, then the next one starts.
 */
class Bodies {
  readonly done: Buffer[] = [];
  private buf = Buffer.allocUnsafe(FIRST_BYTES);
  private at = 0;

  /** Lines not yet in the buffer: written some 16k characters at a time (fewer calls). */
  private pending = '';

  put(line: string): void {
    this.pending += line;
    if (this.pending.length >= 16_384) this.flush();
  }

  private flush(): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    const most = this.pending.length * 3;
    if (this.at + most > this.buf.length) this.room(most);
    this.at += this.buf.write(this.pending, this.at);
    this.pending = '';
  }

  private room(most: number): void {
    if (this.at > 0 && this.at + most > BODY_BYTES) this.cut();
    const need = this.at + most;
    if (need <= this.buf.length) return;
    let size = this.buf.length;
    while (size < need) size *= 2;
    const bigger = Buffer.allocUnsafe(size);
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }

  /** Everything put so far in bodies, and an empty one after them. */
  end(): void {
    if (this.pending.length > 0) this.flush();
    this.cut();
  }

  private cut(): void {
    if (this.at === 0) return;
    this.done.push(this.buf.subarray(0, this.at));
    this.buf = Buffer.allocUnsafe(FIRST_BYTES);
    this.at = 0;
  }
}

/** Everything one write carries to QuestDB, as typed rows. */
export interface QuestDbRows {
  events: readonly TrackingEvent[];
  clients: readonly ClientRow[];
  users: readonly UserRow[];
  /** Live day cells: encoded now, with their totals as of this moment. */
  usage: Iterable<DailyUsageRow>;
  userUsage: Iterable<UserDailyUsageRow>;
  rolling: readonly (readonly RollingRow[])[];
  ratios: readonly (readonly RatioRow[])[];
  lastSeen: readonly (readonly LastSeenRow[])[];
  metrics: readonly (readonly MetricRow[])[];
  outputs: readonly Output[];
  scores: readonly DailyScore[];
  progress: Omit<Progress, 'figureRows'>;
}

export function encodeRows(held: QuestDbRows): SinkBatch {
  const bodies = new Bodies();
  let rows = 0;
  const put = (line: string) => {
    bodies.put(line);
    rows++;
  };
  // Raw events and client attributes first: the figures' last line records progress.
  for (const e of held.events) put(eventLine(e));
  for (const c of held.clients) put(clientLine(c));
  for (const u of held.users) put(userLine(u));
  const otherRows = rows;
  for (const r of held.usage) put(usageLine(r));
  for (const r of held.userUsage) put(userUsageLine(r));
  for (const list of held.rolling) for (const r of list) put(rollingLine(r));
  for (const list of held.ratios) for (const r of list) put(ratioLine(r));
  for (const list of held.lastSeen) for (const r of list) put(lastSeenLine(r));
  for (const list of held.metrics) for (const r of list) put(metricLine(r));
  for (const o of held.outputs) {
    const line = outputLine(o);
    if (line) put(line);
  }
  for (const d of held.scores) put(dailyScoreLine(d));
  // Progress goes last: once it is visible, everything before it was accepted.
  put(progressLine({ ...held.progress, figureRows: rows - otherRows }));
  bodies.end();
  return { bodies: bodies.done, rows, figureRows: rows - otherRows };
}
