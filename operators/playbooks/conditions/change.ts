/** `change`: a subject's count over the last N days against the N days before, compared. */
import { changePercent, periodChange } from '../../period-change.js';
import { activityLabel } from '../figure-view.js';
import { compare } from '../playbook.js';
import { windowOf, type ConditionJudge, type SpecOf } from './kind.js';

/** A percent change from 0 is undefined: it fires only if the playbook asks (`whenPreviousZero`). */
function changeHolds(
  change: number,
  changePct: number | null,
  current: number,
  c: SpecOf<'change'>,
): boolean {
  if (c.mode === 'absolute') return compare(change, c.op, c.value);
  if (changePct === null) return c.whenPreviousZero === 'fire' && current > 0;
  return compare(changePct, c.op, c.value);
}

export const change: ConditionJudge<'change'> = {
  kind: 'change',
  holds(c, clientId, _m, view) {
    const current = view.count(clientId, c, c.windowDays, 'current');
    const previous = view.count(clientId, c, c.windowDays, 'previous');
    return changeHolds(current - previous, changePercent(current, previous), current, c);
  },
  explain(c, clientId, m, view) {
    const n = c.windowDays;
    const current = view.count(clientId, c, n, 'current');
    const previous = view.count(clientId, c, n, 'previous');
    const { change: delta, changePct } = periodChange(current, previous);
    return {
      met: changeHolds(delta, changePct, current, c),
      type: 'change',
      description: this.describe(c),
      observed: {
        current,
        previous,
        change: delta,
        changePct: c.mode === 'percent' ? changePct : null,
      },
      threshold: { op: c.op, value: c.value },
      window: { from: windowOf(m, n, n).from, to: windowOf(m, n).to },
    };
  },
  describe: (c) =>
    `${activityLabel(c)}: change over the last ${c.windowDays} days vs the ${c.windowDays} before ${c.op} ${c.value}${c.mode === 'percent' ? '%' : ''}`,
};
