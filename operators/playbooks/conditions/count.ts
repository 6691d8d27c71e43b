/** `count`: events of a subject (an event, a kind, or all) in the last N days, compared. */
import { activityLabel } from '../figure-view.js';
import { compare } from '../playbook.js';
import { windowOf, type ConditionJudge } from './kind.js';

export const count: ConditionJudge<'count'> = {
  kind: 'count',
  holds: (c, clientId, _m, view) =>
    compare(view.count(clientId, c, c.windowDays, 'current'), c.op, c.value),
  explain(c, clientId, m, view) {
    const x = view.count(clientId, c, c.windowDays, 'current');
    return {
      met: compare(x, c.op, c.value),
      type: 'count',
      description: this.describe(c),
      observed: { count: x },
      threshold: { op: c.op, value: c.value },
      window: windowOf(m, c.windowDays),
    };
  },
  describe: (c) => `${activityLabel(c)} in the last ${c.windowDays} days ${c.op} ${c.value}`,
};
