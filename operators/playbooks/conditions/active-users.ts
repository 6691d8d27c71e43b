/** `activeUsers`: distinct users active in the last N days, compared. */
import { compare } from '../playbook.js';
import { windowOf, type ConditionJudge } from './kind.js';

export const activeUsers: ConditionJudge<'activeUsers'> = {
  kind: 'activeUsers',
  holds: (c, clientId, _m, view) =>
    compare(view.activeUsers(clientId, c.windowDays, 'current'), c.op, c.value),
  explain(c, clientId, m, view) {
    const x = view.activeUsers(clientId, c.windowDays, 'current');
    return {
      met: compare(x, c.op, c.value),
      type: 'activeUsers',
      description: this.describe(c),
      observed: { activeUsers: x },
      threshold: { op: c.op, value: c.value },
      window: windowOf(m, c.windowDays),
    };
  },
  describe: (c) => `active users in the last ${c.windowDays} days ${c.op} ${c.value}`,
};
