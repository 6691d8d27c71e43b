/** Usage overview: what is used, by how many users and clients, and how widely. */
import { barPanel, pulsoDashboard, statPanel, timeSeriesPanel } from './panels.js';
import { series, sql } from './questdb.js';
import { csmVariable, inSegmentAndCsm, segmentVariable } from './variables.js';

const seg = inSegmentAndCsm();
const FEATURES = `kind IN ('screen', 'action')`;

export function usageOverview() {
  return pulsoDashboard(
    'pulso-usage',
    'Pulso · Usage overview',
    'Events by kind, most and least used features, logged-in and active users, active clients and feature adoption, from the daily usage tables.',
  )
    .withVariable(segmentVariable())
    .withVariable(csmVariable())
    .withPanel(
      timeSeriesPanel(
        'Events per day by kind',
        'Tracking events per local day (windows.timeZone), by kind: login, screen, action, metric.',
        series(
          `SELECT ts, kind, sum(events) events FROM usage_daily WHERE $__timeFilter(ts) AND ${seg} SAMPLE BY 1d`,
        ),
      ).span(16),
    )
    .withPanel(
      statPanel(
        'Active clients',
        'Clients with at least one event in the time range.',
        sql(
          `SELECT count_distinct(client_id) active_clients FROM usage_daily WHERE $__timeFilter(ts) AND ${seg}`,
        ),
      ).span(8),
    )
    .withPanel(
      barPanel(
        'Most used features',
        'Screens and actions with the most events in the time range.',
        sql(
          `SELECT name, sum(events) events FROM usage_daily WHERE $__timeFilter(ts) AND ${FEATURES} AND ${seg} GROUP BY name ORDER BY events DESC LIMIT 10`,
        ),
      ).span(12),
    )
    .withPanel(
      barPanel(
        'Least used features',
        'Screens and actions with the fewest events in the time range (features never used do not appear).',
        sql(
          `SELECT name, sum(events) events FROM usage_daily WHERE $__timeFilter(ts) AND ${FEATURES} AND ${seg} GROUP BY name ORDER BY events ASC LIMIT 10`,
        ),
      ).span(12),
    )
    .withPanel(
      timeSeriesPanel(
        'Logged-in users per day',
        'Distinct (client, user) pairs with a login event on each local day.',
        series(
          `SELECT ts, count() logged_in FROM user_usage_daily WHERE kind = 'login' AND $__timeFilter(ts) AND ${seg} SAMPLE BY 1d`,
        ),
      ).span(12),
    )
    .withPanel(
      timeSeriesPanel(
        'Active users per day, week and month',
        'Distinct (client, user) pairs with any event per local day, per week and per calendar month.',
        series(
          `SELECT ts, count_distinct(concat(client_id, '/', user_id)) daily FROM user_usage_daily WHERE $__timeFilter(ts) AND ${seg} SAMPLE BY 1d`,
          'A',
        ),
      )
        .withTarget(
          series(
            `SELECT ts, count_distinct(concat(client_id, '/', user_id)) weekly FROM user_usage_daily WHERE $__timeFilter(ts) AND ${seg} SAMPLE BY 7d`,
            'B',
          ),
        )
        .withTarget(
          series(
            `SELECT ts, count_distinct(concat(client_id, '/', user_id)) monthly FROM user_usage_daily WHERE $__timeFilter(ts) AND ${seg} SAMPLE BY 1M`,
            'C',
          ),
        )
        .span(12),
    )
    .withPanel(
      barPanel(
        'Active users now: DAU, WAU, MAU',
        'Distinct active users over the last 1, 7 and 30 days as of the end of the range, summed over clients (rolling_figures, figure = users).',
        sql(
          `SELECT window_days, sum(value) users FROM (SELECT * FROM rolling_figures WHERE figure = 'users' AND ts <= $__toTime LATEST ON ts PARTITION BY client_id, figure, subject, window_days) WHERE ${seg} GROUP BY window_days ORDER BY window_days`,
        ),
      ).span(8),
    )
    .withPanel(
      timeSeriesPanel(
        'Active clients per day',
        'Clients with at least one event on each local day.',
        series(
          `SELECT ts, count_distinct(client_id) clients FROM usage_daily WHERE $__timeFilter(ts) AND ${seg} SAMPLE BY 1d`,
        ),
      ).span(8),
    )
    .withPanel(
      barPanel(
        'Feature adoption',
        'Share of the active clients that used each screen or action in the time range.',
        sql(
          `WITH total AS (SELECT count_distinct(client_id) n FROM usage_daily WHERE $__timeFilter(ts) AND ${seg}), used AS (SELECT name, count_distinct(client_id) c FROM usage_daily WHERE $__timeFilter(ts) AND ${FEATURES} AND ${seg} GROUP BY name) SELECT name, 100.0 * c / n adoption FROM used CROSS JOIN total ORDER BY adoption DESC`,
        ),
        'percent',
      )
        .min(0)
        .max(100)
        .span(8),
    );
}
