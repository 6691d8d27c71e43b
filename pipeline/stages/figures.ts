/**
 * `foldFigures` — slices through the windowed operators and the rules stage.
 *
 * Emits, per slice, the slice `Folded`: the figures its events produced (the operators'
 * `usageFigures`), the rules' outputs and daily scores for the midnights it crossed
 * (`evaluatePlaybooks`), the client attribute rows its updates wrote, and dead letters for
 * what the state refused or the watermark found too late. Synchronous: per-event work
 * happens in plain loops inside the operators. The crash journal's note of what is in
 * hand is closed once the slice is folded.
 */
import { map, pipe, tap, type OperatorFunction } from 'rxjs';
import { evaluatePlaybooks } from '../../operators/playbooks/stage.js';
import type { RulesStage } from '../../operators/playbooks/stage.js';
import { usageFigures, type UsageState } from '../../operators/usage-figures.js';
import type { ClientDirectory } from '../contract/client-directory.js';
import {
  clientLimitDeadLetter,
  eventDeadLetter,
  tooLateDeadLetter,
} from '../contract/dead-letter.js';
import { UNRESOLVED_CLIENT } from '../contract/decode.js';
import type { CrashJournal } from '../crash-journal.js';
import type { Logger } from '../log.js';
import type { IngestMetrics } from '../metrics.js';
import type { Folded, Slice } from './units.js';

export interface FiguresOptions {
  usage: UsageState;
  rules: RulesStage;
  directory: ClientDirectory;
  allowedLatenessMs: number;
  /** limits.maxClients, for the dead letter of an update beyond it. */
  maxClients: number;
  journal?: CrashJournal;
  metrics: IngestMetrics;
  log: Logger;
  /** Whether this partition writes a user's rows (every partition keeps every user). */
  ownsUser?: (userId: string) => boolean;
  /** Test-only fault injection (PULSO_TEST_FAULT_CLIENT / PULSO_TEST_FAULT_MODE). */
  testFault?: TestFault;
}

export interface TestFault {
  clientId: string;
  mode: 'throw' | 'kill';
}

export function foldFigures(o: FiguresOptions): OperatorFunction<Slice, Folded> {
  let stats = { ...o.rules.state.stats };
  let t0 = 0;
  let judged = 0;
  return pipe(
    tap((s: Slice) => {
      if (o.testFault && s.messages > 0) testFault(s, o.testFault);
      stats = { ...o.rules.state.stats };
      resolveClients(s, o.directory);
    }),
    // Timed as figures and rules (the midnights judged inside the figures count as rules).
    tap(() => {
      t0 = performance.now();
      judged = o.rules.boundaryMs;
    }),
    usageFigures(o.usage, o.rules),
    tap(() => {
      const midnights = o.rules.boundaryMs - judged;
      o.metrics.stageSeconds.inc({ stage: 'figures' }, (performance.now() - t0 - midnights) / 1000);
      o.metrics.stageSeconds.inc({ stage: 'rules' }, midnights / 1000);
      t0 = performance.now();
    }),
    evaluatePlaybooks(o.rules),
    tap(() => o.metrics.stageSeconds.inc({ stage: 'rules' }, (performance.now() - t0) / 1000)),
    map(({ batch: s, figures, outputs, scores }): Folded => {
      if (s.messages === 0) {
        o.journal?.end(o.usage.seq);
        s.folded?.();
        return { slice: s, clients: [], users: [], outputs, scores };
      }
      for (const e of figures.tooLate)
        s.deadLetters.push(tooLateDeadLetter(e, figures.watermark, o.allowedLatenessMs));
      for (const r of figures.refused)
        s.deadLetters.push(
          eventDeadLetter(r.event, {
            code: r.code,
            message: r.message,
            expected: 'room in the state',
          }),
        );
      if (figures.refused.length > 0)
        o.log.warn(
          { refused: figures.refused.length, first: figures.refused[0]!.message },
          'events beyond the state bounds (limits.*) dead-lettered',
        );
      const clients = s.updates.flatMap((u) => {
        if (!o.usage.admission.admitsClient(u.clientId)) {
          s.deadLetters.push(clientLimitDeadLetter(u, o.maxClients));
          return [];
        }
        o.rules.state.know(u.clientId, u.ts);
        return o.directory.apply(u);
      });
      for (const u of s.taskUpdates) o.rules.state.queueTaskUpdate(u);
      // After the slice's events: a user update ends its slice, so it governs what follows.
      const users = s.userUpdates.flatMap((u) => {
        const rows = o.directory.users.apply(u);
        return o.ownsUser && !o.ownsUser(u.userId) ? [] : rows;
      });
      o.usage.seq = s.lastSeq;
      o.journal?.end(s.lastSeq);
      s.folded?.();
      count(o, s, figures, stats);
      return { slice: s, figures, clients, users, outputs, scores };
    }),
  );
}

function count(
  o: FiguresOptions,
  s: Slice,
  figures: NonNullable<Folded['figures']>,
  stats: RulesStage['state']['stats'],
): void {
  const m = o.metrics;
  const byKind: Record<string, number> = {};
  for (const e of figures.counted) byKind[e.kind] = (byKind[e.kind] ?? 0) + 1;
  if (s.primary !== false) {
    m.consumerLag.set(s.pending);
    m.messages.inc(s.messages);
    m.batches.inc();
  }
  for (const [kind, n] of Object.entries(byKind)) m.accepted.inc({ kind }, n);
  for (const dl of s.deadLetters) m.invalid.inc({ reason: dl.reason.code });
  m.tooLate.inc(figures.tooLate.length);
  m.duplicates.inc(figures.duplicates);
  m.clients.set(o.usage.admission.clientCount);
  m.idHorizon.set(o.usage.ids.effectiveHorizonMs / 1000);
  m.clientUpdates.inc(s.updates.length);
  m.watermark.set(Number.isFinite(figures.watermark) ? figures.watermark / 1000 : 0);
  m.evaluations.inc(figures.boundaries);
  if (o.rules.last && figures.boundaries > 0) o.log.debug(o.rules.last, 'midnight evaluated');
  m.playbookEvaluations.inc(o.rules.state.stats.evaluations - stats.evaluations);
  m.playbookFirings.inc(o.rules.state.stats.fired - stats.fired);
}

/**
 * Events that name their user but no client count for the user's client, as the user
 * updates before them in the stream say; with none, they are dead-lettered (unknown_client).
 */
function resolveClients(s: Slice, directory: ClientDirectory): void {
  if (!s.events.some((e) => e.clientId === UNRESOLVED_CLIENT)) return;
  s.events = s.events.filter((e) => {
    if (e.clientId !== UNRESOLVED_CLIENT) return true;
    const client = e.userId === null ? undefined : directory.users.clientOf(e.userId);
    if (client !== undefined) {
      e.clientId = client;
      return true;
    }
    s.deadLetters.push(
      eventDeadLetter(e, {
        code: 'unknown_client',
        message: `user ${JSON.stringify(e.userId)} belongs to no client that Pulso knows of`,
        path: '/client_id',
        expected:
          "client_id, or a user update (tracking.users; a Segment group call) naming the user's client before it",
      }),
    );
    return false;
  });
}

/**
 * Test-only: an event of this client makes the fold fail, as a bug would — by throwing, or
 * by the process dying on the spot (SIGKILL: no handler runs, no last word is written).
 */
function testFault(s: Slice, fault: TestFault): void {
  if (!s.events.some((e) => e.clientId === fault.clientId)) return;
  if (fault.mode === 'kill') process.kill(process.pid, 'SIGKILL');
  throw new Error(`test fault: an event of client ${fault.clientId}`);
}
