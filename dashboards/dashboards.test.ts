/** The generated dashboards: in step with the code, and built the way analysts need them. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { expand, sampleByInterval } from './expand.js';
import { panelQueries, renderDashboards } from './index.js';
import { DATASOURCE } from './questdb.js';

const DAY = 86_400_000;

describe('dashboards', () => {
  const rendered = renderDashboards();

  it('the committed JSON in dashboards/generated is what the code generates (run `pulso dashboards build`)', () => {
    for (const [file, text] of rendered)
      expect(readFileSync(`dashboards/generated/${file}`, 'utf8'), file).toBe(text);
  });

  it('every panel has a description and a query on the pinned data source, provisioned with that uid', () => {
    const ds = parse(
      readFileSync('deploy/grafana/provisioning/datasources/pulso-questdb.yaml', 'utf8'),
    ) as {
      datasources: {
        uid: string;
        type: string;
        jsonData: { username: string };
        secureJsonData: { password: string };
      }[];
    };
    expect(ds.datasources[0]).toMatchObject(DATASOURCE);
    // As the read-only user, never QuestDB's default admin/quest.
    expect(ds.datasources[0]!.jsonData.username).toContain('PULSO_QUESTDB_READONLY_USER');
    expect(ds.datasources[0]!.secureJsonData.password).toBe('${PULSO_QUESTDB_READONLY_PASSWORD}');
    for (const [file, text] of rendered) {
      const d = JSON.parse(text) as {
        uid: string;
        panels: { title: string; description?: string; targets?: { datasource: unknown }[] }[];
      };
      expect(d.uid).toMatch(/^pulso-/);
      for (const p of d.panels) {
        expect(p.description, `${file}: ${p.title}`).toBeTruthy();
        expect(p.targets?.length, `${file}: ${p.title}`).toBeGreaterThan(0);
        for (const t of p.targets!) expect(t.datasource).toEqual(DATASOURCE);
      }
    }
  });

  it("score panels carry the shipped health model's bands (deploy/health.yaml) as thresholds", () => {
    const model = parse(readFileSync('deploy/health.yaml', 'utf8')) as {
      thresholds: { green: number; yellow: number };
    };
    const health = JSON.parse(rendered.get('client-360.json')!) as {
      panels: { title: string; fieldConfig: { defaults: { thresholds?: { steps: unknown[] } } } }[];
    };
    const score = health.panels.find((p) => p.title === 'Health score history')!;
    expect(score.fieldConfig.defaults.thresholds!.steps).toEqual([
      { value: null, color: 'red' },
      { value: model.thresholds.yellow, color: 'yellow' },
      { value: model.thresholds.green, color: 'green' },
    ]);
  });

  it('covers the five dashboards with their variables', () => {
    expect([...rendered.keys()].sort()).toEqual([
      'client-360.json',
      'health.json',
      'operations.json',
      'playbooks.json',
      'usage-overview.json',
    ]);
    const vars = (f: string) =>
      (
        JSON.parse(rendered.get(f)!) as { templating: { list: { name: string }[] } }
      ).templating.list.map((v) => v.name);
    expect(vars('client-360.json')).toEqual(['client']);
    expect(vars('health.json')).toEqual(['segment', 'csm']);
    expect(panelQueries().length).toBeGreaterThan(40);
  });
});

describe('macro expansion, as the QuestDB plugin and Grafana do it', () => {
  it('$__timeFilter, $__fromTime, $__toTime in microseconds; $__sampleByInterval in d, h, s or T', () => {
    const e = {
      from: 1_000,
      to: 2_000,
      intervalMs: DAY,
      variables: { client: "o'neil", segment: 'smb' },
    };
    expect(
      expand(
        'WHERE $__timeFilter(ts) AND x < $__toTime AND y > $__fromTime SAMPLE BY $__sampleByInterval',
        e,
      ),
    ).toBe(
      'WHERE ts >= cast(1000000 as timestamp) AND ts <= cast(2000000 as timestamp) AND x < cast(2000000 as timestamp) AND y > cast(1000000 as timestamp) SAMPLE BY 1d',
    );
    expect(expand(`c = '$client' AND s = \${segment:singlequote}`, e)).toBe(
      `c = 'o'neil' AND s = 'smb'`,
    );
    expect(expand('${client:singlequote}', e)).toBe(`'o\\'neil'`);
    expect(
      [DAY, 2 * DAY, 36 * 3_600_000, 3_600_000, 600_000, 1_500, 20].map(sampleByInterval),
    ).toEqual(['1d', '2d', '1d', '1h', '600s', '1s', '20T']); // 36 h → 1d: the plugin divides hours by 24 as integers;
  });
});
