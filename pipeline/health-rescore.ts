/**
 * Health re-score: what another health model (new weights, bands or thresholds) would have
 * said of the clients over a past time range, beside the model in use — judged from what
 * QuestDB stored, with the same scoring code as the live stage (`componentScores` over the
 * `StoredFigures` view). Emits nothing: it is how a model is tuned before it is deployed
 * (seed 004: "30 % of the churners had been yellow, not red — raise the NPS weight and
 * re-score the history").
 *
 * Both models score the computed part of the score (Σ weight × points); the playbooks'
 * point changes are the same under either, so they are left out of the comparison.
 */
import { Calendar } from '../operators/calendar.js';
import {
  bandOf,
  componentScores,
  type Band,
  type HealthConfig,
} from '../operators/playbooks/health.js';
import { StoredFigures } from './adapters/questdb/stored-figures.js';
import type { QuestSql } from './adapters/questdb/sql.js';

export interface RescoredClient {
  clientId: string;
  before: { base: number; band: Band };
  after: { base: number; band: Band };
}

export interface Rescore {
  at: string;
  clients: RescoredClient[];
  /** Clients per band under each model. */
  bands: { before: Record<Band, number>; after: Record<Band, number> };
}

const none = (): Record<Band, number> => ({ green: 0, yellow: 0, red: 0 });

export async function rescoreHealth(
  sql: QuestSql,
  models: { before: HealthConfig; after: HealthConfig },
  zone: string,
  from: number,
  to: number,
  only?: (clientId: string) => boolean,
): Promise<Rescore[]> {
  const calendar = new Calendar(zone);
  const out: Rescore[] = [];
  for (let day = calendar.dayOf(from); calendar.dayStart(day) < to; day++) {
    const at = calendar.dayStart(day);
    if (at < from) continue;
    const view = await StoredFigures.load(sql, at, 0);
    const r: Rescore = {
      at: new Date(at).toISOString(),
      clients: [],
      bands: { before: none(), after: none() },
    };
    for (const clientId of view.clients()) {
      if (only && !only(clientId)) continue;
      const score = (h: HealthConfig) => {
        const base = componentScores(h, clientId, view).base;
        return { base, band: bandOf(base, h.thresholds) };
      };
      const c = { clientId, before: score(models.before), after: score(models.after) };
      r.bands.before[c.before.band]++;
      r.bands.after[c.after.band]++;
      r.clients.push(c);
    }
    out.push(r);
  }
  return out;
}
