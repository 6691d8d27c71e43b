/**
 * A playbook as validated from its file (schemas/playbook.schema.json): when it runs, which
 * clients it looks at, what must hold, and what it does when it fires.
 */
import type { EventKind } from '../../schemas/types.js';

export type Op = '=' | '!=' | '>' | '>=' | '<' | '<=';

export type Schedule =
  | { every: 'daily' | 'weekly' | 'monthly' }
  /** Evaluated at every midnight; after firing, silent for `cooldownDays`. */
  | { every: 'continuous'; cooldownDays: number };

/** What a figure is counted over: one event name, one kind, or all activity. */
export type Subject = { event: string } | { kind: EventKind } | { all: true };

export interface Filter {
  /** status, plan, segment, csm, mrr, name, or a custom attribute. */
  attribute: string;
  op: Op | 'in' | 'not in' | 'exists' | 'missing';
  value?: string | number | boolean | (string | number)[];
}

export type Condition =
  | { count: Subject & { windowDays: number; op: Op; value: number } }
  | { activeUsers: { windowDays: number; op: Op; value: number } }
  | {
      change: Subject & {
        windowDays: number;
        mode: 'absolute' | 'percent';
        op: Op;
        value: number;
        /** A percent change from a previous count of 0 is undefined: fire only if asked. */
        whenPreviousZero?: 'skip' | 'fire';
      };
    }
  | {
      ratio: {
        a: string;
        b: string;
        windowDays: number;
        /** "A is used `value`% more than B": (A − B) / B × 100 `op` value. */
        op: Op;
        value: number;
        scope?: 'client' | 'anyUser' | 'shareOfUsers';
        /** For shareOfUsers: the share (%) of users whose ratio must hold. */
        share?: number;
        /** Counts below this (A + B per client or per user) are noise: not evaluated. */
        minVolume?: number;
        /** For per-user scopes: the pair id in windows.ratios (default "<a>_vs_<b>"). */
        pair?: string;
      };
    }
  | { inactivity: Subject & { moreThanDays: number } }
  | {
      metric: {
        name: string;
        aggregate: 'sum' | 'avg' | 'last' | 'count';
        windowDays: number;
        op: Op;
        value: number;
      };
    }
  | {
      health:
        | { score: { op: Op; value: number } }
        | { band: 'green' | 'yellow' | 'red' }
        | { drop: { points: number; withinDays: number } };
    };

export type Action =
  | { health: number }
  | { task: { title: string; dueInDays: number; description?: string } }
  | { tag: { add: string } | { remove: string } }
  | { notifyCsm: { message: string } }
  | { email: { template: string; subject: string } }
  | { webhook: { url: string; secretEnv?: string } };

export interface Playbook {
  id: string;
  title: string;
  category: string;
  description: string;
  schedule: Schedule;
  filters: Filter[];
  when: { all: Condition[] } | { any: Condition[] };
  actions: Action[];
  /** Where it was defined, for messages. */
  source?: string;
}

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
