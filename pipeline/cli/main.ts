#!/usr/bin/env node
/**
 * pulso — the command line. Every command takes --config FILE (or PULSO_CONFIG) and reads
 * PULSO_* environment variables; a bad configuration is refused before anything starts.
 */
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { servicesDown, servicesStatus, servicesUp } from '../../deploy/services/index.js';
import { startMailCatcher } from '../../deploy/services/mail.js';
import { startReceiver } from '../../deploy/services/receiver.js';
import { join, resolve } from 'node:path';
import { connectAs } from '../adapters/nats/connect.js';
import {
  passwordAuthorizationBlock,
  ROLES,
  streamNamesOf,
} from '../../deploy/services/nats-roles.js';
import { credentialsOf } from './credentials.js';
import { ensureStreams } from '../adapters/nats/streams.js';
import { loadConfig, originOf, type Config } from '../config/load.js';
import { decodeMessage, CONTENT_TYPE_NDJSON } from '../contract/decode.js';
import { runDemo } from '../demo/publish.js';
import {
  ConfigError,
  ConfigErrors,
  PulsoError,
  ServiceError,
  StreamMismatchError,
} from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { isMessagesFault, limitsOf, startPipeline } from '../run.js';
import { CrashJournal } from '../crash-journal.js';
import { EXIT_CONFIG, Supervisor } from '../supervisor.js';
import { dashboardCommands } from './dashboards.js';
import { gatewayCommands } from './gateway.js';
import { keysFileOf } from '../adapters/http/write-keys.js';
import { startGateway } from '../adapters/http/gateway.js';
import { playbookCommands } from './playbooks.js';
import { statusCommand } from './status.js';
import { digestCommand } from './digest.js';

const program = new Command()
  .name('pulso')
  .description(
    'Customer Success stream processing: NATS JetStream → windowed figures → QuestDB → playbooks',
  )
  .addOption(
    new Option('-c, --config <file>', 'configuration file (YAML or JSON)').env('PULSO_CONFIG'),
  )
  .showHelpAfterError();

function setup(overrides: Record<string, unknown> = {}): { config: Config; log: Logger } {
  const opts = program.opts<{ config?: string }>();
  const config = loadConfig({ ...(opts.config ? { file: opts.config } : {}), overrides });
  return { config, log: createLogger(config.log.level) };
}

/** Runs until SIGINT/SIGTERM; `onStop` then gets to finish cleanly. */
function untilSignal(onStop: () => Promise<void>): AbortSignal {
  const ac = new AbortController();
  let stopping = false;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (stopping) process.exit(130);
      stopping = true;
      ac.abort();
      void onStop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
  return ac.signal;
}

program
  .command('up')
  .description(
    'the main job: start NATS and QuestDB (unless external), the pipeline (supervised), and the demo stream',
  )
  .option('--no-demo', 'do not publish the demo stream')
  .option('--keep-services', 'leave NATS and QuestDB running on exit')
  .action(async (opts: { demo: boolean; keepServices?: boolean }) => {
    const { log, config: before } = setup();
    const reports = await servicesUp(before);
    for (const r of reports) log.info(r, `${r.service}: ${r.action}`);
    // Read again: the first start of the services generated their credentials.
    const { config } = setup();
    // The streams exist before the pipeline and the demo start, whichever comes first.
    const nc = await connectAs(config, 'admin', { name: 'pulso-up' });
    await ensureStreams(await nc.jetstreamManager(), config.nats);
    await nc.close();
    const gateway = config.gateway.enabled
      ? // Its access log (a line per request) only from `pulso gateway`, not beside the demo.
        await startGateway(
          config,
          keysFileOf(config),
          log.child({ stage: 'gateway' }, { level: 'warn' }),
        )
      : undefined;
    // The demo's e-mails go to a catch-all server here, kept as files a newcomer can open.
    const smtp = config.delivery.email.smtp;
    const mail =
      opts.demo && config.demo.mailCatcher && !config.delivery.email.enabled
        ? await startMailCatcher({
            host: smtp.host,
            port: smtp.port,
            dir: resolve(join(config.services.dataDir, 'mail')),
            onMessage: (file, envelope) =>
              log.info({ to: envelope.to, file }, 'demo e-mail received by the catch-all server'),
          })
        : undefined;
    if (mail)
      log.info(
        { smtp: `${smtp.host}:${mail.port}`, dir: resolve(join(config.services.dataDir, 'mail')) },
        'catch-all SMTP server for the demo: e-mails the playbooks send are kept as .eml files',
      );
    // …and its CSM notifications to a receiver here, kept as JSON files.
    const receiver =
      opts.demo && config.demo.receiverPort > 0 && !config.delivery.notify.enabled
        ? await startReceiver({
            host: '127.0.0.1',
            port: config.demo.receiverPort,
            dir: resolve(join(config.services.dataDir, 'notifications')),
          })
        : undefined;
    if (receiver)
      log.info(
        { url: receiver.url, dir: resolve(join(config.services.dataDir, 'notifications')) },
        "HTTP receiver for the demo: the CSMs' notifications are kept as .json files",
      );
    const demoEnv: Record<string, string> = {
      // The demo's clients are scored on the four dimensions, unless a model was chosen.
      ...(opts.demo && originOf(config, '/rules/health') === 'defaults'
        ? { PULSO_RULES__HEALTH: 'deploy/health-4d.yaml' }
        : {}),
      ...(mail ? { PULSO_DELIVERY__EMAIL__ENABLED: 'true' } : {}),
      ...(receiver
        ? {
            PULSO_DELIVERY__NOTIFY__ENABLED: 'true',
            PULSO_DELIVERY__NOTIFY__ROUTES: JSON.stringify([
              { csm: '*', kind: 'json', url: `${receiver.url}/notify` },
            ]),
            // The receiver is on this machine: allowed explicitly, as a deployment would.
            PULSO_RULES__WEBHOOKS__ALLOW_HOSTS: JSON.stringify([
              ...config.rules.webhooks.allowHosts,
              '127.0.0.1',
            ]),
            PULSO_RULES__WEBHOOKS__ALLOW_HTTP: 'true',
          }
        : {}),
    };
    const configFile = program.opts<{ config?: string }>().config;
    const supervisor = new Supervisor({
      command: process.execPath,
      args: [
        fileURLToPath(import.meta.url),
        'run',
        ...(configFile ? ['--config', configFile] : []),
      ],
      env: { ...process.env, ...demoEnv },
      log: log.child({ stage: 'supervisor' }),
      onRefused: () => {
        (async () => {
          if (!opts.keepServices) for (const line of await servicesDown(config)) log.info(line);
          process.exit(EXIT_CONFIG);
        })().catch(fail);
      },
    });
    supervisor.start();
    let stopped!: () => void;
    const finished = new Promise<void>((r) => (stopped = r));
    const signal = untilSignal(async () => {
      await gateway?.close();
      await supervisor.stop();
      await mail?.stop();
      await receiver?.stop();
      if (!opts.keepServices) for (const line of await servicesDown(config)) log.info(line);
      stopped();
    });
    log.info(
      {
        sql: `psql -h ${config.questdb.host} -p ${config.questdb.pgPort} -U ${config.questdb.readOnlyUser ?? config.questdb.user} qdb`,
        credentials: 'pulso services credentials analyst',
        console: `http://${config.questdb.host}:${config.questdb.httpPort}`,
      },
      'QuestDB is ready: try SELECT kind, count() FROM events; or SELECT * FROM client_attributes LATEST ON ts PARTITION BY client_id;',
    );
    if (opts.demo) await runDemo({ config, log: log.child({ stage: 'demo' }), signal });
    await finished;
  });

program
  .command('run')
  .description('run the pipeline against the configured NATS and QuestDB (they must be running)')
  .option(
    '--worker <ordinal>',
    "this worker's ordinal: a number, or a name ending in one (a StatefulSet pod's, pulso-worker-2)",
  )
  .option('--workers <n>', 'how many workers share the partitions', Number)
  .option('--partitions <list>', 'the partitions to own, comma-separated (instead of --worker)')
  .action(async (opts: { worker?: string; workers?: number; partitions?: string }) => {
    running = true;
    const { config, log } = setup(workerOverrides(opts));
    const pipeline = await startPipeline(config, log);
    untilSignal(() => pipeline.stop());
    await pipeline.done;
  });

/** `--worker`, `--workers`, `--partitions` as configuration (worker.*), refused if malformed. */
function workerOverrides(o: {
  worker?: string;
  workers?: number;
  partitions?: string;
}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (o.worker !== undefined) {
    const m = /(\d+)$/.exec(o.worker);
    if (!m)
      throw new ConfigError(
        'the command line',
        '/worker/ordinal',
        'a number, or a name ending in one (pulso-worker-2)',
        o.worker,
      );
    out['/worker/ordinal'] = Number(m[1]);
  }
  if (o.workers !== undefined) out['/worker/count'] = o.workers;
  if (o.partitions !== undefined)
    out['/worker/partitions'] = o.partitions.split(',').map((p) => Number(p.trim()));
  return out;
}

statusCommand(program, setup);
digestCommand(program, setup);

const services = program
  .command('services')
  .description('the local NATS and QuestDB that Pulso manages');
services
  .command('up')
  .description('start them (reuses what already runs)')
  .action(async () => {
    const { config } = setup();
    for (const r of await servicesUp(config)) console.log(JSON.stringify(r));
  });
services
  .command('down')
  .description('stop the ones Pulso started')
  .action(async () => {
    const { config } = setup();
    for (const line of await servicesDown(config)) console.log(line);
  });
services
  .command('status')
  .description('are they reachable?')
  .action(async () => {
    const { config } = setup();
    for (const [k, v] of Object.entries(await servicesStatus(config))) console.log(`${k}: ${v}`);
  });

services
  .command('nats-auth')
  .description(
    "print the roles as a nats-server authorization block with passwords from the server's environment (deploy/compose/nats-auth.conf)",
  )
  .action(() => {
    const { config } = setup();
    process.stdout.write(passwordAuthorizationBlock(streamNamesOf(config.nats)));
  });

services
  .command('credentials')
  .description(
    'print what a client of ROLE needs: NATS roles pipeline, publisher, reader, admin; QuestDB questdb (writes) or analyst (read-only)',
  )
  .argument('<role>', [...ROLES, 'questdb', 'analyst'].join(' | '))
  .action((role: string) => {
    const { config } = setup();
    console.log(JSON.stringify(credentialsOf(config, role), null, 2));
  });

program
  .command('demo')
  .description('publish the demo stream: client attributes, past days, then live events')
  .option('--clients <n>', 'number of clients', Number)
  .option('--rate <n>', 'live events per second', Number)
  .option('--history-days <n>', 'days of history published first', Number)
  .option('--duration <seconds>', 'stop the live stream after this long', Number)
  .action(
    async (opts: { clients?: number; rate?: number; historyDays?: number; duration?: number }) => {
      const { config, log } = setup({
        '/demo/clients': opts.clients,
        '/demo/ratePerSecond': opts.rate,
        '/demo/historyDays': opts.historyDays,
      });
      const signal = untilSignal(async () => undefined);
      await runDemo({
        config,
        log,
        signal,
        ...(opts.duration === undefined ? {} : { durationSeconds: opts.duration }),
      });
    },
  );

program
  .command('validate')
  .description(
    'check an event file (one JSON object, a JSON array, or NDJSON) against the contract',
  )
  .argument('<file>', 'the file to check')
  .option('--subject <subject>', 'subject it would be published on', 'tracking.events')
  .option('--ndjson', 'read the file as NDJSON (default: by its .ndjson/.jsonl extension)')
  .action((file: string, opts: { subject: string; ndjson?: boolean }) => {
    const { config } = setup();
    const ndjson = opts.ndjson ?? /\.(ndjson|jsonl)$/.test(file);
    const out = decodeMessage(
      {
        subject: opts.subject,
        data: readFileSync(file),
        streamSeq: 0,
        storedAt: Date.now(),
        ...(ndjson ? { headers: { 'Content-Type': CONTENT_TYPE_NDJSON } } : {}),
      },
      limitsOf(config),
    );
    for (const dl of out.deadLetters) {
      const where = dl.index === undefined ? file : `${file} item ${dl.index}`;
      console.log(
        `INVALID ${where}: ${dl.reason.code}${dl.reason.path ? ` at ${dl.reason.path}` : ''}: ${dl.reason.message}`,
      );
    }
    console.log(
      `${out.events.length + out.clientUpdates.length} valid, ${out.deadLetters.length} invalid`,
    );
    process.exitCode = out.deadLetters.length > 0 ? 1 : 0;
  });

program
  .command('streams')
  .description('create or verify the JetStream streams')
  .option('--apply', 'update them when they differ from the configuration')
  .action(async (opts: { apply?: boolean }) => {
    const { config } = setup();
    const nc = await connectAs(config, 'admin', { name: 'pulso-streams' });
    try {
      console.log(
        JSON.stringify(
          await ensureStreams(await nc.jetstreamManager(), config.nats, opts.apply ?? false),
        ),
      );
    } finally {
      await nc.close();
    }
  });

program
  .command('config')
  .description(
    'print the effective configuration (file, environment and defaults; secrets shown as "(set)")',
  )
  .action(() =>
    console.log(
      JSON.stringify(
        setup().config,
        (key, value: unknown) =>
          SECRET_KEYS.has(key) && typeof value === 'string' ? '(set)' : value,
        2,
      ),
    ),
  );

/** Configuration keys whose values are never printed. */
const SECRET_KEYS = new Set(['password', 'readOnlyPassword', 'token']);

playbookCommands(program, () => setup());
dashboardCommands(program);
gatewayCommands(program, () => setup(), untilSignal);

/**
 * Every failure ends as one clear line and a non-zero exit, never a raw stack (PULSO_DEBUG=1
 * adds it): at start, and for anything that escapes at run time.
 */
function fail(e: unknown): never {
  // The journal keeps the error if the messages in hand may be its cause (crash-journal.ts).
  CrashJournal.active?.dying(e, isMessagesFault(e));
  if (e instanceof PulsoError || e instanceof ServiceError) {
    console.error(`pulso: ${e.message}`);
    const cause = (e.cause as Error | undefined)?.message;
    if (cause && !e.message.includes(cause)) console.error(`  caused by: ${cause}`);
  } else {
    const err = e as Error;
    console.error(`pulso: unexpected ${err?.name ?? 'error'}: ${err?.message ?? String(e)}`);
  }
  if (process.env.PULSO_DEBUG) console.error((e as Error)?.stack);
  // A running pipeline refused its configuration (or stream settings): restarting will not
  // help, and its supervisor must know (see supervisor.ts). Other commands exit 1.
  const refused =
    e instanceof ConfigError || e instanceof ConfigErrors || e instanceof StreamMismatchError;
  process.exit(refused && running ? EXIT_CONFIG : 1);
}
/** Set by `pulso run`: its refusals exit with EXIT_CONFIG. */
let running = false;
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

program.parseAsync().catch(fail);
