/** `pulso dashboards build`: the dashboards' JSON, written where Grafana's provider reads it. */
import type { Command } from 'commander';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderDashboards } from '../../dashboards/index.js';
import { installedPath } from '../config/playbooks.js';
import { PulsoError } from '../errors.js';

export const GENERATED_DIR = 'dashboards/generated';

export function dashboardCommands(program: Command): void {
  program
    .command('dashboards')
    .description('Grafana dashboards as code')
    .command('build')
    .description(
      `write the dashboards' JSON (default: ${GENERATED_DIR}, which deploy/grafana provisions)`,
    )
    .option('--out <dir>', 'output directory')
    .option('--check', 'write nothing; exit 1 if the files differ from the code')
    .action((opts: { out?: string; check?: boolean }) => {
      const dir = opts.out ?? installedPath(GENERATED_DIR);
      const stale: string[] = [];
      if (!opts.check) mkdirSync(dir, { recursive: true });
      for (const [file, text] of renderDashboards()) {
        const path = join(dir, file);
        if (opts.check) {
          let have = '';
          try {
            have = readFileSync(path, 'utf8');
          } catch {
            /* missing counts as stale */
          }
          if (have !== text) stale.push(path);
        } else writeFileSync(path, text);
      }
      if (stale.length > 0)
        throw new PulsoError(
          `dashboards out of date: ${stale.join(', ')}; run \`pulso dashboards build\``,
        );
      console.log(
        opts.check ? `dashboards in ${dir} match the code` : `dashboards written to ${dir}`,
      );
    });
}
