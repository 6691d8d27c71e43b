/** Client 360: one client's usage, ratios, last login, health with its bands, alerts, tasks, tags. */
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import {
  healthThresholds,
  pulsoDashboard,
  statPanel,
  tablePanel,
  timeSeriesPanel,
} from './panels.js';
import { series, sql } from './questdb.js';
import { clientVariable } from './variables.js';

const C = `client_id = '$client'`;

export function client360() {
  return pulsoDashboard(
    'pulso-client-360',
    'Pulso · Client 360',
    'Everything Pulso knows about one client: usage by feature, configured ratios, last login, health score and its reasons, alerts, tasks and tags.',
  )
    .withVariable(clientVariable())
    .withPanel(
      statPanel(
        'Health score',
        'The score at the last midnight of the range; red below 60, yellow from 60, green from 80.',
        sql(
          `SELECT score FROM health_daily WHERE ${C} AND ts <= $__toTime LATEST ON ts PARTITION BY client_id`,
        ),
      )
        .min(0)
        .max(100)
        .thresholds(healthThresholds())
        .span(6),
    )
    .withPanel(
      statPanel(
        'Days since last login',
        'Time from the last login before the end of the range, in days of 24 h (the inactivity playbooks fire after 5).',
        sql(
          `SELECT datediff('h', last_seen_at, $__toTime) / 24.0 days FROM last_seen WHERE ${C} AND scope = 'kind' AND subject = 'login' AND ts <= $__toTime LATEST ON ts PARTITION BY client_id`,
        ),
      )
        .decimals(1)
        .thresholds(
          new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([
            { value: null, color: 'green' },
            { value: 5, color: 'yellow' },
            { value: 15, color: 'red' },
          ]),
        )
        .span(6),
    )
    .withPanel(
      tablePanel(
        'Tags',
        'Tags the playbooks have set on the client and not removed since.',
        sql(
          `SELECT tag, playbook, ts since FROM (SELECT * FROM client_tags WHERE ${C} AND ts <= $__toTime LATEST ON ts PARTITION BY tag) WHERE op = 'add'`,
        ),
      ).span(12),
    )
    .withPanel(
      timeSeriesPanel(
        'Health score history',
        'The score at every midnight, over the health bands.',
        series(`SELECT ts, score FROM health_daily WHERE ${C} AND $__timeFilter(ts)`),
      )
        .min(0)
        .max(100)
        .thresholds(healthThresholds())
        .thresholdsStyle(
          new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Area),
        )
        .span(12),
    )
    .withPanel(
      timeSeriesPanel(
        'Usage by feature',
        'Events per local day for each event name.',
        series(
          `SELECT ts, name, sum(events) events FROM usage_daily WHERE ${C} AND $__timeFilter(ts) SAMPLE BY 1d`,
        ),
      ).span(12),
    )
    .withPanel(
      tablePanel(
        'Configured ratios',
        'For each pair in windows.ratios (A used N% more than B): the latest counts and the percentage, for the client as a whole.',
        sql(
          `SELECT pair, window_days, a, b, percent_more, state, ts as_of FROM ratios WHERE ${C} AND user_id = '*' AND ts <= $__toTime LATEST ON ts PARTITION BY pair`,
        ),
      ).span(12),
    )
    .withPanel(
      tablePanel(
        'Health changes and their reasons',
        'Every change of the score: by a playbook (its points and the observed values) or by the components at a midnight.',
        sql(
          `SELECT ts, score, band, change, source, reason FROM health_history WHERE ${C} AND $__timeFilter(ts) ORDER BY ts DESC LIMIT 100`,
        ),
      ).span(12),
    )
    .withPanel(
      tablePanel(
        'Why this score: its components',
        'Each health component as it stands at the end of the range: the figure it read, the points it gave and its share of the score (weight × points).',
        sql(
          `SELECT component, value, points, contribution, ts since FROM health_components WHERE ${C} AND ts <= $__toTime LATEST ON ts PARTITION BY component ORDER BY contribution`,
        ),
      ).span(12),
    )
    .withPanel(
      tablePanel(
        'Alerts',
        'Playbook firings for the client, with the conditions that held (observed values, thresholds, windows).',
        sql(
          `SELECT ts, playbook, title, period, conditions FROM alerts WHERE ${C} AND $__timeFilter(ts) ORDER BY ts DESC LIMIT 100`,
        ),
      ).span(12),
    )
    .withPanel(
      tablePanel(
        'Tasks',
        'Tasks created for the client by playbooks, with their due dates and owners.',
        sql(
          `SELECT ts created, title, due_at, owner, playbook FROM tasks WHERE ${C} AND $__timeFilter(ts) ORDER BY ts DESC LIMIT 100`,
        ),
      ).span(12),
    );
}
