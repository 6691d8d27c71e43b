/**
 * The condition kinds, one file each, and how a condition finds its kind: once, when its
 * playbook is loaded (`compileConditions`), never by probing keys on the hot path.
 */
import type { Condition, Playbook } from '../playbook.js';
import { activeUsers } from './active-users.js';
import { change } from './change.js';
import { count } from './count.js';
import { health } from './health-score.js';
import { inactivity } from './inactivity.js';
import type { FigureView } from '../figure-view.js';
import type {
  ConditionJudge,
  ConditionKind,
  HealthReading,
  Moment,
  SpecOf,
  Verdict,
} from './kind.js';
import { metric } from './metric.js';
import { ratio } from './ratio.js';

export type {
  ConditionJudge,
  ConditionKind,
  HealthReading,
  Moment,
  SpecOf,
  Verdict,
} from './kind.js';
export { isoOf } from './kind.js';

export const CONDITION_KINDS: { readonly [K in ConditionKind]: ConditionJudge<K> } = {
  count,
  activeUsers,
  change,
  ratio,
  inactivity,
  metric,
  health,
};

/** A judge with its settings' type forgotten: what the hot loop calls, monomorphically. */
export interface AnyJudge {
  holds(
    spec: unknown,
    clientId: string,
    m: Moment,
    view: FigureView,
    health: HealthReading | undefined,
  ): boolean;
  explain(
    spec: unknown,
    clientId: string,
    m: Moment,
    view: FigureView,
    health: HealthReading | undefined,
  ): Verdict;
}

/** A condition with its kind resolved: its settings and its judge. */
export interface Compiled<K extends ConditionKind = ConditionKind> {
  kind: K;
  spec: SpecOf<K>;
  judge: AnyJudge;
}

/** Any compiled condition: `switch (c.kind)` narrows its `spec`. */
export type AnyCompiled = { [K in ConditionKind]: Compiled<K> }[ConditionKind];

/** The kind of a condition: its one key (the schema allows exactly one). */
export function kindOf(c: Condition): ConditionKind {
  const [key] = Object.keys(c);
  if (key === undefined || !(key in CONDITION_KINDS))
    throw new Error(`unknown condition kind: ${JSON.stringify(c)}`);
  return key as ConditionKind;
}

export function compile(c: Condition): AnyCompiled {
  const kind = kindOf(c);
  return {
    kind,
    spec: (c as Record<ConditionKind, unknown>)[kind],
    judge: CONDITION_KINDS[kind] as unknown as AnyJudge,
  } as AnyCompiled;
}

const compiled = new WeakMap<Playbook, AnyCompiled[]>();

/** A playbook's conditions with their kinds, resolved once per playbook (at load). */
export function compileConditions(p: Playbook): AnyCompiled[] {
  let list = compiled.get(p);
  if (!list) {
    list = ('all' in p.when ? p.when.all : p.when.any).map(compile);
    compiled.set(p, list);
  }
  return list;
}
