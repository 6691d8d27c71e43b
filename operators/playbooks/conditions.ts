/**
 * Each condition's verdict for one client at one evaluation time, with everything that
 * explains it: the observed values, the threshold, and the window bounds. An alert carries
 * these verbatim, so "why did this fire?" is answered by the alert itself. Each kind lives
 * in conditions/ with its `holds`, `explain` and description; this file combines them over
 * a playbook's conditions.
 */
import type { FigureView } from './figure-view.js';
import type { Condition, Playbook } from './playbook.js';
import {
  compile,
  compileConditions,
  type AnyCompiled,
  type HealthReading,
  type Moment,
  type Verdict,
} from './conditions/index.js';

export type { HealthReading, Moment, Verdict } from './conditions/index.js';
export { isoOf } from './conditions/index.js';

/** A condition judged and explained. The hot path asks `holds` first; this runs for what fires. */
export function judge(
  c: Condition,
  clientId: string,
  m: Moment,
  view: FigureView,
  health: HealthReading | undefined,
): Verdict {
  const k = compile(c);
  return k.judge.explain(k.spec, clientId, m, view, health);
}

/** `judge(...).met` without building anything (for most kinds): the hot path. */
export function holds(
  c: Condition,
  clientId: string,
  m: Moment,
  view: FigureView,
  health: HealthReading | undefined,
): boolean {
  const k = compile(c);
  return k.judge.holds(k.spec, clientId, m, view, health);
}

/** Whether a playbook's conditions hold for a client (all or any), stopping early. */
export function playbookHolds(
  p: Playbook,
  clientId: string,
  m: Moment,
  view: FigureView,
  health: HealthReading | undefined,
): boolean {
  return conditionsHold(compileConditions(p), 'all' in p.when, clientId, m, view, health);
}

/**
 * The hot loop: compiled conditions, all of them (`every`) or any. One call per condition,
 * on judges of one shape, and nothing allocated.
 */
export function conditionsHold(
  conditions: readonly AnyCompiled[],
  every: boolean,
  clientId: string,
  m: Moment,
  view: FigureView,
  health: HealthReading | undefined,
): boolean {
  for (let i = 0; i < conditions.length; i++) {
    const c = conditions[i]!;
    const v = c.judge.holds(c.spec, clientId, m, view, health);
    if (every ? !v : v) return !every;
  }
  return every;
}

/** Every condition of a playbook judged and explained: what an alert carries. */
export function explain(
  p: Playbook,
  clientId: string,
  m: Moment,
  view: FigureView,
  health: HealthReading | undefined,
): Verdict[] {
  return compileConditions(p).map((c) => c.judge.explain(c.spec, clientId, m, view, health));
}

/** The explained verdicts if the playbook's conditions hold; undefined if not. */
export function verdictsOf(
  p: Playbook,
  clientId: string,
  m: Moment,
  view: FigureView,
  health: HealthReading | undefined,
): Verdict[] | undefined {
  return playbookHolds(p, clientId, m, view, health)
    ? explain(p, clientId, m, view, health)
    : undefined;
}
