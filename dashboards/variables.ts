/**
 * The dashboards' variables — client, segment, CSM — read from the current client
 * attributes, and the SQL that applies them. "All" is the value `__all`, so a filter reads
 * `(${segment:singlequote} = '__all' OR segment = ${segment:singlequote})`.
 */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { DATASOURCE, Format } from './questdb.js';

export const ALL = '__all';
const CURRENT = 'client_attributes LATEST ON ts PARTITION BY client_id';

function attributeVariable(name: string, label: string, column: string, all: boolean) {
  const rawSql = `SELECT DISTINCT ${column} FROM (SELECT ${column} FROM ${CURRENT}) WHERE ${column} IS NOT NULL ORDER BY ${column}`;
  const v = new dashboard.QueryVariableBuilder(name)
    .label(label)
    .datasource(DATASOURCE)
    .query({
      refId: name,
      queryType: 'sql',
      rawSql,
      format: Format.Table,
      selectedFormat: Format.Table,
    })
    .definition(rawSql)
    .refresh(dashboard.VariableRefresh.OnDashboardLoad)
    .sort(dashboard.VariableSort.AlphabeticalAsc);
  return all ? v.includeAll(true).allValue(ALL) : v;
}

export const clientVariable = () => attributeVariable('client', 'Client', 'client_id', false);
export const segmentVariable = () => attributeVariable('segment', 'Segment', 'segment', true);
export const csmVariable = () => attributeVariable('csm', 'CSM', 'csm', true);

/** `client_id IN (…)`: the clients of the chosen segment and CSM. */
export const inSegmentAndCsm = (column = 'client_id') =>
  `${column} IN (SELECT client_id FROM (SELECT client_id, segment, csm FROM ${CURRENT}) WHERE (\${segment:singlequote} = '${ALL}' OR segment = \${segment:singlequote}) AND (\${csm:singlequote} = '${ALL}' OR csm = \${csm:singlequote}))`;
