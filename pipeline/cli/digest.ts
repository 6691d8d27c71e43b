/**
 * `pulso digest`: the daily digests per CSM for a day, read from QuestDB and sent to the
 * CSMs' routes (or printed) — what the worker owning partition 0 does each morning at
 * `delivery.digest.at`, by hand: to see one, or to send one again after an outage.
 */
import type { Command } from 'commander';
import { DateTime } from 'luxon';
import { connectAs } from '../adapters/nats/connect.js';
import { SendMarks } from '../adapters/delivery/email.js';
import {
  digestSenderOf,
  digestsOf,
  digestWindow,
  readDigestRows,
  sendDigestOf,
} from '../adapters/delivery/digest.js';
import { resolveRoutes } from '../adapters/delivery/routes.js';
import { QuestSql } from '../adapters/questdb/sql.js';
import { originOf } from '../config/load.js';
import { loadRules } from '../config/playbooks.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';

export function digestCommand(
  program: Command,
  setup: () => { config: Config; log: Logger },
): void {
  program
    .command('digest')
    .description(
      "send each CSM the digest of a day's runs (clients turned yellow or red, new alerts, open and overdue tasks) to their delivery.notify.routes",
    )
    .option(
      '--day <YYYY-MM-DD>',
      'the day whose morning digest (the runs after the previous midnight, up to its own)',
      '',
    )
    .option('--print', 'print the digests as JSON lines; send nothing')
    .action(async (opts: { day: string; print?: boolean }) => {
      const { config, log } = setup();
      const day = opts.day || DateTime.now().setZone(config.windows.timeZone).toISODate()!;
      const { health } = loadRules(config);
      const sql = new QuestSql(config.questdb);
      try {
        if (opts.print) {
          const { from, to } = digestWindow(day, config.windows.timeZone);
          for (const d of digestsOf(
            await readDigestRows(sql, from, to),
            day,
            to,
            health.thresholds,
          ))
            process.stdout.write(`${JSON.stringify(d)}\n`);
          return;
        }
        const routes = resolveRoutes(
          config,
          process.env,
          originOf(config, '/delivery/notify/routes'),
        );
        const nc = await connectAs(config, 'pipeline', { name: 'pulso-digest' });
        try {
          const marks = await SendMarks.open(
            nc,
            config.nats.state,
            config.nats.outputStream.maxAgeDays,
          );
          const r = await sendDigestOf(
            day,
            config,
            sql,
            health.thresholds,
            digestSenderOf(config, routes, marks, log),
          );
          process.stdout.write(
            `${JSON.stringify({ day, csms: r.digests.length, sent: r.sent, failed: r.failed })}\n`,
          );
          if (r.failed.length > 0) process.exitCode = 1;
        } finally {
          await nc.close();
        }
      } finally {
        await sql.close();
      }
    });
}
