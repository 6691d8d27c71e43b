/** Health: clients per band over time, distribution, by segment and CSM, lowest, biggest drops. */
import * as common from '@grafana/grafana-foundation-sdk/common';
import {
  BAND_COLUMNS,
  barPanel,
  healthThresholds,
  piePanel,
  pulsoDashboard,
  statPanel,
  tablePanel,
  timeSeriesPanel,
  withBandColors,
} from './panels.js';
import { series, sql } from './questdb.js';
import { csmVariable, inSegmentAndCsm, segmentVariable } from './variables.js';

const seg = inSegmentAndCsm();
/** Each client's score at the last midnight of the range. */
const NOW = `(SELECT * FROM health_daily WHERE ts <= $__toTime LATEST ON ts PARTITION BY client_id)`;
const ATTRS = `(SELECT client_id, segment, csm, name FROM client_attributes LATEST ON ts PARTITION BY client_id)`;

function byAttribute(column: 'segment' | 'csm', title: string) {
  return tablePanel(
    title,
    `Clients, average score and clients per band at the end of the range, by ${column}.`,
    sql(
      `WITH h AS ${NOW}, a AS ${ATTRS} SELECT a.${column} ${column}, count() clients, avg(h.score) avg_score, sum(CASE WHEN h.band = 'red' THEN 1 ELSE 0 END) red, sum(CASE WHEN h.band = 'yellow' THEN 1 ELSE 0 END) yellow, sum(CASE WHEN h.band = 'green' THEN 1 ELSE 0 END) green FROM h JOIN a ON (client_id) WHERE ${inSegmentAndCsm('h.client_id')} GROUP BY a.${column} ORDER BY avg_score`,
    ),
  ).span(12);
}

export function health() {
  return pulsoDashboard(
    'pulso-health',
    'Pulso · Health',
    'The health score across the portfolio: clients per band over time, distribution, by segment and CSM, the lowest scores and the biggest drops. Bands: red below 60, yellow from 60, green from 80.',
  )
    .withVariable(segmentVariable())
    .withVariable(csmVariable())
    .withPanel(
      statPanel(
        'Red clients',
        'Clients whose score is below 60 at the end of the range.',
        sql(`SELECT count() red FROM ${NOW} WHERE band = 'red' AND ${seg}`),
      ).span(6),
    )
    .withPanel(
      statPanel(
        'Average score',
        'Mean score of the clients at the end of the range.',
        sql(`SELECT avg(score) avg_score FROM ${NOW} WHERE ${seg}`),
      )
        .decimals(1)
        .min(0)
        .max(100)
        .thresholds(healthThresholds())
        .span(6),
    )
    .withPanel(
      withBandColors(
        piePanel(
          'Clients per band now',
          'Distribution of the clients over the bands at the end of the range.',
          sql(`SELECT ${BAND_COLUMNS} FROM ${NOW} WHERE ${seg}`),
        ),
      ).span(12),
    )
    .withPanel(
      withBandColors(
        timeSeriesPanel(
          'Clients per band over time',
          'Clients in each band at every midnight (health_daily).',
          series(
            `SELECT ts, ${BAND_COLUMNS} FROM health_daily WHERE $__timeFilter(ts) AND ${seg} SAMPLE BY 1d`,
          ),
        ),
      )
        .stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal))
        .span(12),
    )
    .withPanel(
      barPanel(
        'Score distribution',
        'Clients per 10-point bucket of score at the end of the range.',
        sql(
          `SELECT cast(floor(score / 10) * 10 AS int) bucket, count() clients FROM ${NOW} WHERE ${seg} GROUP BY bucket ORDER BY bucket`,
        ),
      ).span(12),
    )
    .withPanel(byAttribute('segment', 'By segment'))
    .withPanel(byAttribute('csm', 'By CSM'))
    .withPanel(
      tablePanel(
        'Lowest scores',
        'The 15 clients with the lowest score at the end of the range, with segment and CSM.',
        sql(
          `WITH h AS ${NOW}, a AS ${ATTRS} SELECT h.client_id client_id, a.name name, h.score score, h.band band, a.segment segment, a.csm csm FROM h JOIN a ON (client_id) WHERE ${inSegmentAndCsm('h.client_id')} ORDER BY score LIMIT 15`,
        ),
      ).span(12),
    )
    .withPanel(
      tablePanel(
        'Biggest drops in the last 7 days',
        'Clients whose score fell the most between 7 days before the end of the range and its end.',
        sql(
          `WITH now AS (SELECT client_id, score FROM health_daily WHERE ts <= $__toTime LATEST ON ts PARTITION BY client_id), week AS (SELECT client_id, score FROM health_daily WHERE ts <= dateadd('d', -7, $__toTime) LATEST ON ts PARTITION BY client_id) SELECT now.client_id client_id, week.score week_ago, now.score now, week.score - now.score fall FROM now JOIN week ON (client_id) WHERE week.score > now.score AND ${inSegmentAndCsm('now.client_id')} ORDER BY fall DESC LIMIT 15`,
        ),
      ).span(12),
    )
    .withPanel(
      barPanel(
        'Points by component',
        "The clients' average points per health component at the end of the range (usage, support, financial, sentiment…): which dimension pulls the scores down.",
        sql(
          `SELECT component, avg(points) points FROM (SELECT client_id, component, points FROM health_components WHERE ts <= $__toTime LATEST ON ts PARTITION BY client_id, component) WHERE ${inSegmentAndCsm()} GROUP BY component ORDER BY points`,
        ),
      ).span(24),
    );
}
