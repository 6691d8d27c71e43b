/**
 * Dry run: which clients a playbook would have fired for over a past time range, and why,
 * judged from what QuestDB stored — the same conditions code as the live stage, over the
 * `StoredFigures` view. Emits nothing. Continuous playbooks are judged at every midnight,
 * without their cooldown: the run shows where the conditions held.
 */
import { Calendar } from '../operators/calendar.js';
import type { Verdict } from '../operators/playbooks/conditions.js';
import type { HealthConfig } from '../operators/playbooks/health.js';
import type { Playbook } from '../operators/playbooks/playbook.js';
import { compileConditions } from '../operators/playbooks/conditions/index.js';
import { verdictsOf } from '../operators/playbooks/conditions.js';
import { admitted } from '../operators/playbooks/filters.js';
import { isDue, periodOf } from '../operators/playbooks/schedule.js';
import { StoredFigures } from './adapters/questdb/stored-figures.js';
import type { QuestSql } from './adapters/questdb/sql.js';

export interface DryRunFiring {
  at: string;
  period: string;
  clientId: string;
  conditions: Verdict[];
}

export interface DryRunResult {
  playbook: string;
  evaluations: { at: string; period: string; clients: number }[];
  firings: DryRunFiring[];
}

export async function dryRun(
  sql: QuestSql,
  p: Playbook,
  health: HealthConfig,
  zone: string,
  from: number,
  to: number,
  onlyClient?: string,
): Promise<DryRunResult> {
  const calendar = new Calendar(zone);
  let healthDays = 0;
  for (const c of compileConditions(p))
    if (c.kind === 'health' && 'drop' in c.spec)
      healthDays = Math.max(healthDays, c.spec.drop.withinDays);
    else if (c.kind === 'health' && 'trend' in c.spec)
      healthDays = Math.max(healthDays, c.spec.trend.days);
  const result: DryRunResult = { playbook: p.id, evaluations: [], firings: [] };
  for (let day = calendar.dayOf(from); calendar.dayStart(day) < to; day++) {
    const at = calendar.dayStart(day);
    if (at < from || !isDue(p.schedule, day)) continue;
    const view = await StoredFigures.load(sql, at, healthDays);
    const period = periodOf(p.schedule, day);
    const m = { day, at, calendar };
    const clients = view.clients().filter((c) => onlyClient === undefined || c === onlyClient);
    result.evaluations.push({ at: new Date(at).toISOString(), period, clients: clients.length });
    for (const clientId of clients) {
      if (!admitted(p, clientId, view)) continue;
      const verdicts = verdictsOf(p, clientId, m, view, view.health(clientId, health));
      if (verdicts)
        result.firings.push({
          at: new Date(at).toISOString(),
          period,
          clientId,
          conditions: verdicts,
        });
    }
  }
  return result;
}
