/** `health`: the client's health score compared, its band, a drop within N days, or its trend. */
import { compare } from '../playbook.js';
import { windowOf, type ConditionJudge, type SpecOf, type Verdict } from './kind.js';

const describe = (h: SpecOf<'health'>): string =>
  'score' in h
    ? `health score ${h.score.op} ${h.score.value}`
    : 'band' in h
      ? `health band is ${h.band}`
      : 'drop' in h
        ? `health score dropped ${h.drop.points}+ points within ${h.drop.withinDays} days`
        : `health score change over ${h.trend.days} days ${h.trend.op} ${h.trend.value}`;

export const health: ConditionJudge<'health'> = {
  kind: 'health',
  holds(h, clientId, m, view, reading) {
    return this.explain(h, clientId, m, view, reading).met;
  },
  explain(h, _clientId, m, _view, reading): Verdict {
    const description = describe(h);
    if (!reading) return { met: false, type: 'health', description, observed: { score: null } };
    if ('score' in h)
      return {
        met: compare(reading.score, h.score.op, h.score.value),
        type: 'health',
        description,
        observed: { score: reading.score },
        threshold: { op: h.score.op, value: h.score.value },
      };
    if ('band' in h)
      return {
        met: reading.band === h.band,
        type: 'health',
        description,
        observed: { band: reading.band, score: reading.score },
        threshold: { op: '=', value: h.band },
      };
    if ('trend' in h) {
      const then = reading.scoreDaysAgo(h.trend.days);
      const change = then === undefined ? null : Math.round((reading.score - then) * 100) / 100;
      return {
        met: change !== null && compare(change, h.trend.op, h.trend.value),
        type: 'health',
        description,
        observed: { score: reading.score, then: then ?? null, change },
        threshold: { op: h.trend.op, value: h.trend.value },
        window: windowOf(m, h.trend.days),
      };
    }
    const highest = reading.highestWithin(h.drop.withinDays);
    const drop = highest === undefined ? 0 : highest - reading.score;
    return {
      met: drop >= h.drop.points,
      type: 'health',
      description,
      observed: { score: reading.score, highest: highest ?? null, drop },
      threshold: { op: '>=', value: h.drop.points },
      window: windowOf(m, h.drop.withinDays),
    };
  },
  describe,
};
