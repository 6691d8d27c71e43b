/**
 * All of Pulso's dashboards, and their generation to JSON (`pulso dashboards build`). The
 * files in dashboards/generated are committed: a test fails when they drift from this code.
 */
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { client360 } from './client-360.js';
import { health } from './health.js';
import { operations } from './operations.js';
import { playbooks } from './playbooks.js';
import { usageOverview } from './usage-overview.js';

export const DASHBOARDS: Record<string, () => { build(): dashboard.Dashboard }> = {
  'usage-overview': usageOverview,
  'client-360': client360,
  health,
  playbooks,
  operations,
};

/** Each dashboard's JSON text, by file name. */
export function renderDashboards(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, make] of Object.entries(DASHBOARDS))
    out.set(`${name}.json`, `${JSON.stringify(make().build(), null, 2)}\n`);
  return out;
}

export interface PanelQuery {
  dashboard: string;
  panel: string;
  refId: string;
  rawSql: string;
  format: number;
}

/** Every query of every panel and variable, for verification. */
export function panelQueries(): PanelQuery[] {
  const out: PanelQuery[] = [];
  for (const [name, make] of Object.entries(DASHBOARDS)) {
    const d = make().build();
    for (const p of d.panels ?? []) {
      const panel = p as {
        title?: string;
        targets?: { refId: string; rawSql: string; format: number }[];
      };
      for (const t of panel.targets ?? [])
        out.push({
          dashboard: name,
          panel: panel.title ?? '?',
          refId: t.refId,
          rawSql: t.rawSql,
          format: t.format,
        });
    }
    for (const v of d.templating?.list ?? []) {
      const q = v.query as { rawSql?: string } | undefined;
      if (q?.rawSql)
        out.push({
          dashboard: name,
          panel: `variable ${v.name}`,
          refId: v.name,
          rawSql: q.rawSql,
          format: 1,
        });
    }
  }
  return out;
}
