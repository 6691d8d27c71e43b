/**
 * `ratio`: "A is used `value`% more than B" over the last N days, per client, or for any
 * user / a share of users (from the per-user pairs of windows.ratios).
 */
import { pctMore, percentMore } from '../../ratios.js';
import { compare } from '../playbook.js';
import { windowOf, type ConditionJudge, type SpecOf, type Verdict } from './kind.js';

function ratioHolds(a: number, b: number, r: SpecOf<'ratio'>): boolean {
  if (a + b < (r.minVolume ?? 0)) return false;
  const p = pctMore(a, b);
  if (p === null) return false;
  // B = 0 < A: infinitely more, above any finite threshold.
  if (p === Infinity) return r.op === '>' || r.op === '>=' || r.op === '!=';
  return compare(p, r.op, r.value);
}

export const ratio: ConditionJudge<'ratio'> = {
  kind: 'ratio',
  holds(r, clientId, m, view, health) {
    if ((r.scope ?? 'client') !== 'client') return this.explain(r, clientId, m, view, health).met;
    const a = view.count(clientId, { event: r.a }, r.windowDays, 'current');
    const b = view.count(clientId, { event: r.b }, r.windowDays, 'current');
    return ratioHolds(a, b, r);
  },
  explain(r, clientId, m, view): Verdict {
    const scope = r.scope ?? 'client';
    const window = windowOf(m, r.windowDays);
    const description = this.describe(r);
    if (scope === 'client') {
      const a = view.count(clientId, { event: r.a }, r.windowDays, 'current');
      const b = view.count(clientId, { event: r.b }, r.windowDays, 'current');
      const p = percentMore(a, b);
      return {
        met: ratioHolds(a, b, r),
        type: 'ratio',
        description,
        observed: { a, b, pctMore: p.state === 'infinite' ? 'infinite' : p.percentMore },
        threshold: { op: r.op, value: r.value },
        window,
      };
    }
    const min = r.minVolume ?? 0;
    const users = view.users(clientId, r.pair ?? `${r.a}_vs_${r.b}`, r.windowDays);
    const considered = users.filter((u) => u.a + u.b >= min);
    const holding = considered.filter((u) => ratioHolds(u.a, u.b, r));
    const share = considered.length === 0 ? 0 : (holding.length / considered.length) * 100;
    return {
      met:
        scope === 'anyUser'
          ? holding.length > 0
          : considered.length > 0 && share >= (r.share ?? 50),
      type: 'ratio',
      description,
      observed: {
        users: considered.length,
        usersHolding: holding.length,
        sharePct: Math.round(share * 100) / 100,
        example: holding[0] ? `${holding[0].userId}: ${holding[0].a} vs ${holding[0].b}` : null,
      },
      threshold: { op: r.op, value: r.value },
      window,
    };
  },
  describe(r) {
    const scope = r.scope ?? 'client';
    return `${r.a} used more than ${r.b} by ${r.op} ${r.value}% over the last ${r.windowDays} days${scope === 'client' ? '' : ` (${scope === 'anyUser' ? 'any user' : `${r.share ?? 50}% of users`})`}`;
  },
};
