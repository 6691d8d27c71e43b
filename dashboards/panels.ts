/** Panel shapes the dashboards share: every panel gets a title, a description and its query. */
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import * as piechart from '@grafana/grafana-foundation-sdk/piechart';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { DATASOURCE } from './questdb.js';

type Query = cog.Builder<cog.Dataquery>;

/** The health bands as thresholds: red below 60, yellow from 60, green from 80 (deploy/health.yaml). */
export const healthThresholds = () =>
  new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([
    { value: null, color: 'red' },
    { value: 60, color: 'yellow' },
    { value: 80, color: 'green' },
  ]);

/** Fields named green, yellow and red drawn in their colours. */
export function withBandColors<
  T extends { overrideByName(name: string, p: dashboard.DynamicConfigValue[]): T },
>(panel: T): T {
  let out = panel;
  for (const band of ['green', 'yellow', 'red'])
    out = out.overrideByName(band, [{ id: 'color', value: { mode: 'fixed', fixedColor: band } }]);
  return out;
}

/** One column per band (red, yellow, green), so each can carry its colour. */
export const BAND_COLUMNS = ['red', 'yellow', 'green']
  .map((b) => `sum(CASE WHEN band = '${b}' THEN 1 ELSE 0 END) ${b}`)
  .join(', ');

interface Framed<T> {
  title(title: string): T;
  description(description: string): T;
  datasource(datasource: typeof DATASOURCE): T;
  withTarget(target: Query): T;
}

/** What every panel has: a title, a description, the pinned data source, its query. */
function framed<T extends Framed<T>>(
  panel: T,
  title: string,
  description: string,
  query: Query,
): T {
  return panel.title(title).description(description).datasource(DATASOURCE).withTarget(query);
}

export function timeSeriesPanel(title: string, description: string, query: Query, unit = 'short') {
  return framed(new timeseries.PanelBuilder(), title, description, query)
    .unit(unit)
    .fillOpacity(10)
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.List)
        .placement(common.LegendPlacement.Bottom),
    );
}

export function statPanel(title: string, description: string, query: Query, unit = 'short') {
  return framed(new stat.PanelBuilder(), title, description, query)
    .unit(unit)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .colorMode(common.BigValueColorMode.Value)
    .graphMode(common.BigValueGraphMode.None);
}

export function tablePanel(title: string, description: string, query: Query) {
  return framed(new table.PanelBuilder(), title, description, query);
}

export function barPanel(title: string, description: string, query: Query, unit = 'short') {
  return framed(new bargauge.PanelBuilder(), title, description, query)
    .unit(unit)
    .orientation(common.VizOrientation.Horizontal)
    .displayMode(common.BarGaugeDisplayMode.Basic)
    .reduceOptions(new common.ReduceDataOptionsBuilder().values(true).calcs([]));
}

export function piePanel(title: string, description: string, query: Query) {
  return framed(new piechart.PanelBuilder(), title, description, query)
    .pieType(piechart.PieChartType.Donut)
    .reduceOptions(new common.ReduceDataOptionsBuilder().values(true).calcs([]));
}

/** A dashboard with Pulso's defaults: UTC, last 30 days, tags, the pinned data source. */
export function pulsoDashboard(uid: string, title: string, description: string) {
  return new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['pulso', 'customer-success'])
    .timezone('utc')
    .time({ from: 'now-30d', to: 'now' })
    .refresh('5m')
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .editable();
}
