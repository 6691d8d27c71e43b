/**
 * Queries for the QuestDB data source plugin (`questdb-questdb-datasource`): the SDK has no
 * builder for it, so this is one — raw SQL in code mode, as table or time series.
 */
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type * as common from '@grafana/grafana-foundation-sdk/common';

/** Pinned: the provisioning file (deploy/grafana) creates the data source with this uid. */
export const DATASOURCE: common.DataSourceRef = {
  type: 'questdb-questdb-datasource',
  uid: 'pulso-questdb',
};

/** The plugin's `Format`: 0 time series, 1 table. */
export enum Format {
  TimeSeries = 0,
  Table = 1,
}

export interface QuestDbQuery extends cog.Dataquery {
  refId: string;
  datasource: common.DataSourceRef;
  queryType: 'sql';
  rawSql: string;
  format: Format;
  selectedFormat: Format;
}

export class QuestDbQueryBuilder implements cog.Builder<cog.Dataquery> {
  constructor(
    private readonly rawSql: string,
    private readonly format: Format,
    private readonly refId = 'A',
  ) {}

  build(): QuestDbQuery {
    return {
      refId: this.refId,
      datasource: DATASOURCE,
      queryType: 'sql',
      rawSql: this.rawSql.replace(/\s+/g, ' ').trim(),
      format: this.format,
      selectedFormat: this.format,
      _implementsDataqueryVariant() {},
    };
  }
}

export const sql = (rawSql: string, format = Format.Table, refId = 'A') =>
  new QuestDbQueryBuilder(rawSql, format, refId);
export const series = (rawSql: string, refId = 'A') =>
  new QuestDbQueryBuilder(rawSql, Format.TimeSeries, refId);
