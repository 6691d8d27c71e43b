/**
 * `metric`: an aggregate of a metric over the last N days, compared: sum, avg, last, count,
 * or for survey answers nps (−100..100) and csat (% of 4–5 on 1–5).
 */
import type { FigureView } from '../figure-view.js';
import { compare } from '../playbook.js';
import { windowOf, type ConditionJudge, type SpecOf } from './kind.js';

/** The aggregate asked of a metric's window; null when there is nothing to average or last. */
export function metricValue(
  view: FigureView,
  clientId: string,
  c: Pick<SpecOf<'metric'>, 'name' | 'aggregate' | 'windowDays'>,
): { value: number | null; count: number } {
  const a = view.metric(clientId, c.name, c.windowDays);
  switch (c.aggregate) {
    case 'sum':
      return { value: a.sum, count: a.count };
    case 'count':
      return { value: a.count, count: a.count };
    case 'avg':
      return { value: a.count === 0 ? null : a.sum / a.count, count: a.count };
    case 'last':
      return { value: a.last, count: a.count };
    case 'nps':
      return { value: a.nps, count: a.count };
    case 'csat':
      return { value: a.csat, count: a.count };
  }
}

export const metric: ConditionJudge<'metric'> = {
  kind: 'metric',
  holds(c, clientId, _m, view) {
    const x = metricValue(view, clientId, c).value;
    return x !== null && compare(x, c.op, c.value);
  },
  explain(c, clientId, m, view) {
    const { value: x, count } = metricValue(view, clientId, c);
    return {
      met: x !== null && compare(x, c.op, c.value),
      type: 'metric',
      description: this.describe(c),
      observed: { [c.aggregate]: x, count },
      threshold: { op: c.op, value: c.value },
      window: windowOf(m, c.windowDays),
    };
  },
  describe: (c) =>
    `${c.aggregate} of ${c.name} over the last ${c.windowDays} days ${c.op} ${c.value}`,
};
