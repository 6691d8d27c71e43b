/** Playbooks and alerts: firings over time, latest alerts with their reasons, clients most flagged. */
import { barPanel, pulsoDashboard, tablePanel, timeSeriesPanel } from './panels.js';
import { series, sql } from './questdb.js';
import { csmVariable, inSegmentAndCsm, segmentVariable } from './variables.js';

const seg = inSegmentAndCsm();

export function playbooks() {
  return pulsoDashboard(
    'pulso-playbooks',
    'Pulso · Playbooks and alerts',
    'What the playbooks did: firings per playbook over time, the latest alerts with the values that made them fire, the clients flagged most, tasks per owner.',
  )
    .withVariable(segmentVariable())
    .withVariable(csmVariable())
    .withPanel(
      timeSeriesPanel(
        'Firings per playbook',
        'Alerts per day for each playbook (at most one per client and period).',
        series(
          `SELECT ts, playbook, count() firings FROM alerts WHERE $__timeFilter(ts) AND ${seg} SAMPLE BY 1d`,
        ),
      ).span(16),
    )
    .withPanel(
      barPanel(
        'Firings by playbook',
        'Alerts in the time range per playbook.',
        sql(
          `SELECT playbook, count() firings FROM alerts WHERE $__timeFilter(ts) AND ${seg} GROUP BY playbook ORDER BY firings DESC`,
        ),
      ).span(8),
    )
    .withPanel(
      tablePanel(
        'Latest alerts',
        'The 100 latest alerts with their reasons: each condition with the observed values, the threshold and the window.',
        sql(
          `SELECT ts, client_id, title, period, conditions FROM alerts WHERE $__timeFilter(ts) AND ${seg} ORDER BY ts DESC LIMIT 100`,
        ),
      ).span(24),
    )
    .withPanel(
      barPanel(
        'Clients most often flagged',
        'Clients with the most alerts in the time range.',
        sql(
          `SELECT client_id, count() alerts FROM alerts WHERE $__timeFilter(ts) AND ${seg} GROUP BY client_id ORDER BY alerts DESC LIMIT 10`,
        ),
      ).span(12),
    )
    .withPanel(
      barPanel(
        'Tasks by owner',
        "Tasks created in the time range per owner (the client's CSM).",
        sql(
          `SELECT owner, count() tasks FROM tasks WHERE $__timeFilter(ts) AND (status IS NULL OR status = 'open') AND ${seg} GROUP BY owner ORDER BY tasks DESC`,
        ),
      ).span(12),
    )
    .withPanel(
      barPanel(
        'Open and overdue tasks by CSM',
        'Tasks Pulso opened that nothing has closed yet (not their twin, nor a recovery), per owner, and how many of them are past their due date now. Whatever the time range.',
        sql(
          `SELECT owner, sum(1 - closed) open, sum(CASE WHEN closed = 0 AND due < now() THEN 1 ELSE 0 END) overdue FROM (SELECT owner, task_id, max(CASE WHEN status = 'closed' THEN 1 ELSE 0 END) closed, min(due_at) due FROM tasks WHERE ${seg} GROUP BY owner, task_id) GROUP BY owner ORDER BY overdue DESC, open DESC`,
        ),
      ).span(24),
    );
}
