/** `inactivity`: no event of a subject for more than N days (since the client is known). */
import { DAY_MS } from '../../calendar.js';
import { activityLabel } from '../figure-view.js';
import type { ConditionJudge } from './kind.js';

export const inactivity: ConditionJudge<'inactivity'> = {
  kind: 'inactivity',
  holds(c, clientId, m, view) {
    const since = view.lastSeen(clientId, c) ?? view.knownSince(clientId);
    return since !== undefined && m.at - since > c.moreThanDays * DAY_MS;
  },
  explain(c, clientId, m, view) {
    const n = c.moreThanDays;
    const last = view.lastSeen(clientId, c);
    const since = last ?? view.knownSince(clientId);
    const idleMs = since === undefined ? null : m.at - since;
    return {
      // "More than N days": exactly N × 24 h does not fire.
      met: idleMs !== null && idleMs > n * DAY_MS,
      type: 'inactivity',
      description: this.describe(c),
      observed: {
        lastSeenAt: last === undefined ? null : new Date(last).toISOString(),
        idleDays: idleMs === null ? null : Math.round((idleMs / DAY_MS) * 100) / 100,
      },
      threshold: { op: '>', value: n },
    };
  },
  describe: (c) => `no ${activityLabel(c)} for more than ${c.moreThanDays} days`,
};
