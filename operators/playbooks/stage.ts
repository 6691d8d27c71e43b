/**
 * `RulesStage` — the rules stage as a `StepListener` of the usage figures: it follows the
 * accepted events (to know the clients) and, at each boundary, evaluates the health score
 * and the due playbooks over the live figures, collecting the outputs. `take()` hands them
 * over in order, ready to publish.
 *
 * `evaluatePlaybooks` is its RxJS operator, after `usageFigures(usage, stage)`: it adds to
 * each batch the outputs of the boundaries that batch crossed.
 */
import { map, type OperatorFunction } from 'rxjs';
import type { TrackingEvent } from '../../schemas/types.js';
import type { Boundary, StepListener, UsageState } from '../usage-figures.js';
import type { AttributeValue } from './figure-view.js';
import type { HealthConfig } from './health.js';
import { LiveFigures } from './live-figures.js';
import type { Output } from './outputs.js';
import type { Playbook } from './playbook.js';
import { Rules, type DailyScore, type RulesSnapshot } from './rules.js';

export class RulesStage implements StepListener {
  /** The clients' rule state (health, tags, firings) and the evaluation at a midnight. */
  readonly state: Rules;
  private readonly view: LiveFigures;
  private outputs: Output[] = [];
  /** The last midnight evaluated: what it judged and how long it took. */
  last?: {
    at: string;
    clients: number;
    evaluations: number;
    fired: number;
    outputs: number;
    /** Spent in playbooks (judging and firing); the rest of `ms` scored health. */
    playbooksMs: number;
    /** Of which explaining what fired and building the outputs. */
    firingMs: number;
    ms: number;
  };

  constructor(
    usage: UsageState,
    playbooks: Playbook[],
    health: HealthConfig,
    attribute: (clientId: string, name: string) => AttributeValue | undefined,
    snapshot?: RulesSnapshot,
    /** A stopwatch (ms) for the timings in `last` and the stats, given by the pipeline. */
    private readonly now: () => number = () => 0,
  ) {
    this.state = new Rules(playbooks, health, usage.watermark.calendar, snapshot, now);
    this.view = new LiveFigures(usage, attribute, (c) => this.state.knownSince(c));
  }

  /** Time spent judging midnights so far (ms, by the stopwatch given). */
  boundaryMs = 0;

  observe(events: readonly TrackingEvent[]): void {
    this.state.observe(events);
  }

  boundary(b: Boundary): void {
    const t0 = this.now();
    const before = { ...this.state.stats };
    this.view.reset(b.day);
    const out = this.state.evaluate(b, this.view);
    for (const o of out) this.outputs.push(o);
    this.last = {
      at: new Date(b.at).toISOString(),
      clients: this.state.stats.clients,
      evaluations: this.state.stats.evaluations - before.evaluations,
      fired: this.state.stats.fired - before.fired,
      outputs: out.length,
      playbooksMs: Math.round(this.state.stats.playbooksMs * 10) / 10,
      firingMs: Math.round(this.state.stats.firingMs * 10) / 10,
      ms: Math.round((this.now() - t0) * 10) / 10,
    };
    this.boundaryMs += this.now() - t0;
  }

  /** The outputs collected since the last call, in the order they were produced. */
  take(): Output[] {
    const o = this.outputs;
    this.outputs = [];
    return o;
  }

  /** Every client's score at the midnights evaluated since the last call. */
  takeScores(): DailyScore[] {
    const s = this.state.scores;
    this.state.scores = [];
    return s;
  }
}

/** What the rules produced while a batch was folded. */
export interface Judged {
  outputs: Output[];
  scores: DailyScore[];
}

/**
 * Follows `usageFigures(usage, stage)`: emits each item with the outputs and daily scores
 * the rules stage produced while it was folded (the midnights it crossed), in order.
 */
export function evaluatePlaybooks<T extends object>(
  stage: RulesStage,
): OperatorFunction<T, T & Judged> {
  return map((x) => ({ ...x, outputs: stage.take(), scores: stage.takeScores() }));
}
