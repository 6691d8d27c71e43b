/**
 * A playbook as validated from its file (schemas/playbook.schema.json): when it runs, which
 * clients it looks at, what must hold, and what it does when it fires.
 */
import type { EventKind } from '../../schemas/types.js';

import type { PlaybookFile } from '../../schemas/generated/playbook.js';

/** A playbook as its schema's generated type has it (defaults filled). */
type Generated = PlaybookFile['playbooks'][number];

export type Op = '=' | '!=' | '>' | '>=' | '<' | '<=';

/**
 * When it runs. The schema requires `cooldownDays` for `continuous` (if/then); the type
 * says it as a union, and must stay assignable to the generated one.
 */
export type Schedule =
  | { every: Exclude<Generated['schedule']['every'], 'continuous'> }
  /** Evaluated at every midnight; after firing, silent for `cooldownDays`. */
  | { every: 'continuous'; cooldownDays: number };

/**
 * What a figure counts: one event name, one kind, or all of a client's activity (in the
 * tables, the `subject` column of rolling counts and last-seen rows).
 */
export type Activity = { event: string } | { kind: EventKind } | { all: true };

/** Where the schema says "exactly one of event, kind, all" (the loader checks it), so does the type. */
type WithActivity<S> = S extends { all?: true } ? Omit<S, 'event' | 'kind' | 'all'> & Activity : S;
/** A union of one-key objects (a condition, a component's figure), its subjects refined. */
export type Refined<C> = C extends unknown ? { [K in keyof C]: WithActivity<C[K]> } : never;
type GeneratedCondition = Generated['when'] extends infer W
  ? W extends { all: (infer C)[] }
    ? C
    : W extends { any: (infer C)[] }
      ? C
      : never
  : never;

/** One condition: exactly one kind (see conditions/), its settings generated from the schema. */
export type Condition = Refined<GeneratedCondition>;
export type Filter = Generated['filters'][number];
export type Action = Generated['actions'][number];

export interface Playbook extends Omit<Generated, 'schedule' | 'when' | 'enabled'> {
  schedule: Schedule;
  when: { all: Condition[] } | { any: Condition[] };
  /** Where it was defined, for messages. */
  source?: string;
}

/** The refinements above narrow the generated type, never contradict it. */
type Assignable<A extends B, B> = A;
export type _PlaybookFitsSchema = Assignable<
  Omit<Playbook, 'source'> & { enabled: boolean },
  Generated
>;

export function compare(x: number, op: Op, v: number): boolean {
  switch (op) {
    case '=':
      return x === v;
    case '!=':
      return x !== v;
    case '>':
      return x > v;
    case '>=':
      return x >= v;
    case '<':
      return x < v;
    case '<=':
      return x <= v;
  }
}

export function conditionsOf(p: Playbook): Condition[] {
  return 'all' in p.when ? p.when.all : p.when.any;
}
