/** `pulso playbooks …`: validate, list, and dry-run playbooks. */
import type { Command } from 'commander';
import { Calendar } from '../../operators/calendar.js';
import { conditionsOf } from '../../operators/playbooks/playbook.js';
import { QuestSql } from '../adapters/questdb/sql.js';
import type { Config } from '../config/load.js';
import {
  installedPath,
  loadHealth,
  loadPlaybooks,
  loadRules,
  playbookFiles,
} from '../config/playbooks.js';
import { dryRun } from '../dry-run.js';
import { rescoreHealth } from '../health-rescore.js';
import { PulsoError } from '../errors.js';

export function playbookCommands(program: Command, setup: () => { config: Config }): void {
  const pb = program.command('playbooks').description('validate, list and dry-run playbooks');

  pb.command('validate')
    .description('check playbook files (default: rules.playbooks) and the health model')
    .argument('[paths...]', 'playbook files or directories')
    .option('--health <file>', 'health model file (default: rules.health)')
    .action((paths: string[], opts: { health?: string }) => {
      const { config } = setup();
      const files = paths.length > 0 ? paths : config.rules.playbooks.map(installedPath);
      const playbooks = loadPlaybooks(files, config.windows);
      const health = loadHealth(opts.health ?? installedPath(config.rules.health), config.windows);
      console.log(
        `${playbooks.length} playbooks in ${playbookFiles(files).length} files and the health model ${health.source} are valid`,
      );
    });

  pb.command('list')
    .description('the playbooks in force: id, schedule, filters, conditions, actions')
    .option('--json', 'as JSON')
    .action((opts: { json?: boolean }) => {
      const { playbooks } = loadRules(setup().config);
      if (opts.json) return console.log(JSON.stringify(playbooks, null, 2));
      for (const p of playbooks) {
        const every =
          p.schedule.every === 'continuous'
            ? `continuous/${p.schedule.cooldownDays}d`
            : p.schedule.every;
        console.log(`${p.id}  [${every}]  ${p.title} (${p.category})`);
        for (const f of p.filters)
          console.log(`    filter  ${f.attribute} ${f.op} ${JSON.stringify(f.value ?? '')}`);
        for (const c of conditionsOf(p))
          console.log(`    ${'all' in p.when ? 'all' : 'any'}     ${JSON.stringify(c)}`);
        for (const a of p.actions) console.log(`    action  ${JSON.stringify(a)}`);
      }
    });

  pb.command('dry-run')
    .description(
      'which clients a playbook would have fired for, and why, from stored figures; emits nothing',
    )
    .argument('<id>', 'playbook id')
    .requiredOption('--from <date>', 'first evaluation day, YYYY-MM-DD (windows.timeZone)')
    .requiredOption('--to <date>', 'end (exclusive), YYYY-MM-DD')
    .option('--client <id>', 'only this client')
    .option('--json', 'as JSON')
    .action(
      async (id: string, opts: { from: string; to: string; client?: string; json?: boolean }) => {
        const { config } = setup();
        const { playbooks, health } = loadRules(config);
        const p = playbooks.find((x) => x.id === id);
        if (!p)
          throw new PulsoError(
            `no playbook ${id}; known: ${playbooks.map((x) => x.id).join(', ')}`,
          );
        const cal = new Calendar(config.windows.timeZone);
        const day = (s: string, flag: string) => {
          if (!/^\d{4}-\d{2}-\d{2}$/.test(s))
            throw new PulsoError(`${flag}: expected YYYY-MM-DD, got ${s}`);
          return cal.dayStart(Calendar.fromIsoDate(s));
        };
        const sql = new QuestSql(config.questdb);
        try {
          const r = await dryRun(
            sql,
            p,
            health,
            config.windows.timeZone,
            day(opts.from, '--from'),
            day(opts.to, '--to'),
            opts.client,
          );
          if (opts.json) return console.log(JSON.stringify(r, null, 2));
          for (const e of r.evaluations) {
            const fired = r.firings.filter((f) => f.at === e.at);
            console.log(
              `${e.at}  period ${e.period}: ${fired.length} of ${e.clients} clients would fire`,
            );
            for (const f of fired)
              console.log(
                `    ${f.clientId}: ${f.conditions
                  .map(
                    (c) =>
                      `${c.description} (${Object.entries(c.observed)
                        .map(([k, v]) => `${k}=${v}`)
                        .join(', ')})`,
                  )
                  .join('; ')}`,
              );
          }
          if (r.evaluations.length === 0)
            console.log(`${p.id} is not due between ${opts.from} and ${opts.to}`);
        } finally {
          await sql.close();
        }
      },
    );

  program
    .command('health')
    .description('the health model: re-score history under another model')
    .command('rescore')
    .description(
      'what another health model (weights, bands, thresholds) would have said of the clients, day by day, beside the one in use; from stored figures, emits nothing',
    )
    .requiredOption('--model <file>', 'the health model to try (schemas/health.schema.json)')
    .requiredOption('--from <date>', 'first midnight, YYYY-MM-DD (windows.timeZone)')
    .requiredOption('--to <date>', 'end (exclusive), YYYY-MM-DD')
    .option('--clients <ids>', 'only these clients, comma-separated (e.g. the churners)')
    .option('--json', 'one JSON object per day')
    .action(
      async (opts: {
        model: string;
        from: string;
        to: string;
        clients?: string;
        json?: boolean;
      }) => {
        const { config } = setup();
        const { health } = loadRules(config);
        const after = loadHealth(installedPath(opts.model), config.windows);
        const cal = new Calendar(config.windows.timeZone);
        const day = (s: string, flag: string) => {
          if (!/^\d{4}-\d{2}-\d{2}$/.test(s))
            throw new PulsoError(`${flag}: expected YYYY-MM-DD, got ${s}`);
          return cal.dayStart(Calendar.fromIsoDate(s));
        };
        const only = opts.clients ? new Set(opts.clients.split(',')) : undefined;
        const sql = new QuestSql(config.questdb);
        try {
          const days = await rescoreHealth(
            sql,
            { before: health, after },
            config.windows.timeZone,
            day(opts.from, '--from'),
            day(opts.to, '--to'),
            only && ((c) => only.has(c)),
          );
          for (const d of days) {
            if (opts.json) {
              console.log(JSON.stringify(d));
              continue;
            }
            const b = (x: Record<string, number>) =>
              `${x.green} green, ${x.yellow} yellow, ${x.red} red`;
            console.log(`${d.at}  now: ${b(d.bands.before)}  →  ${b(d.bands.after)}`);
            for (const c of d.clients.filter((x) => x.before.band !== x.after.band))
              console.log(
                `    ${c.clientId}: ${c.before.band} (${c.before.base}) → ${c.after.band} (${c.after.base})`,
              );
          }
        } finally {
          await sql.close();
        }
      },
    );
}
