/**
 * CSM notifications of the shipped playbooks, delivered by the real pipeline to a local HTTP
 * receiver standing in for Slack, Microsoft Teams and a JSON webhook: each notification
 * reaches the routes of its client's CSM, in the shape each tool takes; a route that fails
 * is retried without repeating the others; a route the policy refuses stops the start.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createServer, type Server } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PipelineProcess, testEnv, World } from '../support/world.js';
import {
  clients,
  CSMS,
  publishQuietClients,
  settledOutputs,
  until,
} from '../fixtures/quiet-clients.js';

const run = promisify(execFile);
const SECRET = `whsec_${Buffer.from('the notify test receiver secret!').toString('base64')}`;

interface Call {
  path: string;
  body: Record<string, unknown>;
  headers: Record<string, string>;
  status: number;
}

describe('CSM notifications to chat tools', () => {
  const world = new World();
  let server: Server;
  let port = 0;
  const calls: Call[] = [];
  /** Answers of the Teams route, in turn: its first call fails. */
  let teamsFailures = 1;
  let pipeline: PipelineProcess | undefined;

  const routes = () => [
    { csm: CSMS[0], kind: 'slack', urlEnv: 'TEST_SLACK_URL' },
    { csm: '*', kind: 'teams', url: `http://127.0.0.1:${port}/teams` },
    {
      csm: CSMS[1],
      kind: 'json',
      url: `http://127.0.0.1:${port}/json`,
      secretEnv: 'TEST_NOTIFY_SECRET',
    },
  ];
  const env = (r: unknown = routes()) => ({
    PULSO_INGEST__FLUSH_INTERVAL_MS: '50',
    PULSO_DELIVERY__NOTIFY__ENABLED: 'true',
    PULSO_DELIVERY__NOTIFY__ROUTES: JSON.stringify(r),
    PULSO_DELIVERY__NOTIFY__BACKOFF_SECONDS: '[0.2]',
    PULSO_DELIVERY__LINK: 'https://grafana.example/d/pulso-client-360?var-client={client}',
    PULSO_RULES__WEBHOOKS__ALLOW_HOSTS: '["127.0.0.1"]',
    PULSO_RULES__WEBHOOKS__ALLOW_HTTP: 'true',
    TEST_SLACK_URL: `http://127.0.0.1:${port}/slack`,
    TEST_NOTIFY_SECRET: SECRET,
  });

  beforeAll(async () => {
    server = createServer((req, res) => {
      // A sender killed mid-request resets its connection: nothing to answer, nothing to crash.
      req.on('error', () => undefined);
      let text = '';
      req.on('data', (d: Buffer) => (text += d.toString()));
      req.on('end', () => {
        const path = req.url ?? '';
        const status = path === '/teams' && teamsFailures-- > 0 ? 503 : 200;
        const headers = req.headers as Record<string, string>;
        if (path === '/json') new Webhook(SECRET).verify(text, headers); // throws if forged
        calls.push({ path, body: JSON.parse(text) as Record<string, unknown>, headers, status });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
    await world.open();
  });
  afterEach(async () => {
    await pipeline?.kill('SIGKILL');
  });
  afterAll(async () => {
    server.close();
    await world.close();
  });

  it("each notification reaches its CSM's routes as Slack, Teams and signed JSON; a failed route alone is retried", async () => {
    await publishQuietClients(world);
    pipeline = new PipelineProcess().start(env());
    await world.caughtUp(120_000, pipeline);
    const { notifications, alerts } = await settledOutputs(world);
    expect(alerts.length).toBeGreaterThanOrEqual(clients.length);
    // Every sem-login-5-dias alert notified its CSM (other playbooks notify too).
    const notified = new Set(notifications.map((n) => n.body.alertId));
    expect(alerts.filter((a) => !notified.has(a.id))).toEqual([]);
    const ofCsm = (csm: string) => notifications.filter((n) => n.body.csm === csm);
    expect(ofCsm(CSMS[0]!).length).toBeGreaterThan(0);
    expect(ofCsm(CSMS[1]!).length).toBeGreaterThan(0);
    const delivered = (path: string) => calls.filter((c) => c.path === path && c.status === 200);
    // Every notification to Teams, Carla's to Slack, Bruno's to the JSON receiver.
    await until(
      pipeline,
      'every notification',
      async () =>
        delivered('/teams').length >= notifications.length &&
        delivered('/slack').length >= ofCsm(CSMS[0]!).length &&
        delivered('/json').length >= ofCsm(CSMS[1]!).length,
    );
    await new Promise((r) => setTimeout(r, 1000));

    // Slack: text, a header, the summary in mrkdwn, the Client 360 link.
    const slack = delivered('/slack');
    expect(slack).toHaveLength(ofCsm(CSMS[0]!).length);
    for (const c of slack) {
      const blocks = c.body.blocks as {
        type: string;
        text?: { text: string };
        elements?: { text: string }[];
      }[];
      expect(blocks.map((b) => b.type)).toEqual(['header', 'section', 'context']);
      expect(String(c.body.text)).toMatch(/^.+ — cliente-\d*[02468]: .+/);
      expect(blocks[1]!.text!.text).toMatch(/^\*cliente-\d+\* — .+\n• /);
      expect(blocks[2]!.elements![0]!.text).toMatch(
        /^<https:\/\/grafana\.example\/d\/pulso-client-360\?var-client=cliente-\d*[02468]\|Client 360> · [a-z0-9-]+ · /,
      );
    }
    // Teams: an Adaptive Card; its first call failed and was retried once, for that one only.
    const teams = delivered('/teams');
    expect(teams).toHaveLength(notifications.length);
    expect(calls.filter((c) => c.path === '/teams' && c.status === 503)).toHaveLength(1);
    for (const c of teams) {
      const [card] = c.body.attachments as {
        contentType: string;
        content: Record<string, unknown>;
      }[];
      expect(card!.contentType).toBe('application/vnd.microsoft.card.adaptive');
      expect(card!.content.type).toBe('AdaptiveCard');
      expect((card!.content.actions as { url: string }[])[0]!.url).toMatch(
        /var-client=cliente-\d+$/,
      );
    }
    // JSON: the notification itself, signed (verified by the receiver with the spec's library).
    const json = delivered('/json');
    expect(json.map((c) => (c.body.notification as { id: string }).id).sort()).toEqual(
      ofCsm(CSMS[1]!)
        .map((n) => n.id)
        .sort(),
    );
    expect(new Set(json.map((c) => c.headers['webhook-id'])).size).toBe(json.length);
    // Nothing twice anywhere.
    for (const path of ['/slack', '/teams', '/json']) {
      const ids = delivered(path).map((c) => JSON.stringify(c.body));
      expect(new Set(ids).size).toBe(ids.length);
    }
  });

  it('the daily digest per CSM, from QuestDB, reaches their routes once: the alerts and tasks NATS carried', async () => {
    await publishQuietClients(world);
    pipeline = new PipelineProcess().start(env());
    await world.caughtUp(120_000, pipeline);
    const outputs = await world.outputs();
    await world.sql.walApplied();
    calls.length = 0;
    teamsFailures = 0;
    const day = '2026-10-08';
    const [from, to] = [Date.parse('2026-10-07T00:00:00Z'), Date.parse('2026-10-08T00:00:00Z')];
    // Not spawnSync: the receiver answers from this process's event loop.
    const digest = () =>
      run(process.execPath, ['dist/pipeline/cli/main.js', 'digest', '--day', day], {
        env: { ...process.env, ...testEnv(), ...env() },
        encoding: 'utf8',
      });
    // Its answer: the one line of stdout that is not a log line.
    const answer = (out: { stdout: string }) =>
      JSON.parse(out.stdout.split('\n').find((l) => l.startsWith('{"day"'))!) as unknown;
    expect(answer(await digest())).toMatchObject({
      day,
      csms: 2,
      sent: 4,
      failed: [],
    });
    // Carla's to Slack and Teams, Bruno's to Teams and the JSON receiver: once, even when asked again.
    expect(JSON.parse((await digest()).stdout.trim().split('\n').pop()!)).toMatchObject({
      sent: 0,
    });
    // The digests only: the pipeline's notifications go on arriving beside them.
    const isDigest = (c: Call) =>
      c.body.type === 'digest' ||
      String(c.body.text ?? '').startsWith('Pulso digest') ||
      JSON.stringify(c.body.attachments ?? '').includes('Pulso digest');
    const by = (path: string) =>
      calls.filter((c) => c.path === path && c.status === 200 && isDigest(c));
    expect(by('/slack')).toHaveLength(1);
    expect(by('/teams')).toHaveLength(2);
    expect(by('/json')).toHaveLength(1);
    expect(String(by('/slack')[0]!.body.text)).toMatch(
      /^Pulso digest for carla@pulso\.example — 2026-10-08: /,
    );
    // What the JSON digest says, against the outputs NATS carried for Bruno's clients.
    const d = by('/json')[0]!.body.digest as {
      csm: string;
      alerts: { clientId: string }[];
      tasks: { open: number; overdue: number };
      turned: { clientId: string }[];
    };
    const brunos = new Set(clients.filter((c) => c.csm === CSMS[1]).map((c) => c.client_id));
    const inWindow = (o: { body: Record<string, unknown> }) => {
      const at = Date.parse(String(o.body.at));
      return at > from && at <= to && brunos.has(String(o.body.clientId));
    };
    expect(d.csm).toBe(CSMS[1]);
    const alerts = outputs.filter((o) => o.subject.startsWith('cs.alert.') && inWindow(o));
    expect(alerts.length).toBeGreaterThan(0);
    expect(d.alerts).toHaveLength(alerts.length);
    const opened = outputs.filter(
      (o) =>
        o.subject.startsWith('cs.task.') &&
        !o.subject.startsWith('cs.task.closed.') &&
        o.body.owner === CSMS[1] &&
        Date.parse(String(o.body.at)) <= to,
    );
    const closed = new Set(
      outputs.filter((o) => o.subject.startsWith('cs.task.closed.')).map((o) => o.body.taskId),
    );
    const open = opened.filter((o) => !closed.has(o.id));
    expect(open.length).toBeGreaterThan(0);
    expect(d.tasks.open).toBe(open.length);
    expect(d.tasks.overdue).toBe(open.filter((o) => Date.parse(String(o.body.dueAt)) < to).length);
    for (const t of d.turned) expect(brunos.has(t.clientId)).toBe(true);
  });

  it('a route to a refused destination, or naming an unset variable, stops the start with its path', async () => {
    const refused = new PipelineProcess().start({
      ...env([{ csm: '*', kind: 'slack', url: 'http://169.254.169.254/latest' }]),
      PULSO_RULES__WEBHOOKS__ALLOW_HOSTS: '[]',
      PULSO_RULES__WEBHOOKS__ALLOW_HTTP: 'false',
    });
    pipeline = refused;
    await until(undefined, 'the refusal', async () => refused.child.exitCode !== null, 30_000);
    expect(refused.child.exitCode).toBe(78);
    expect(refused.logs).toContain(
      '/delivery/notify/routes/0/url: expected an allowed destination',
    );
    const unset = new PipelineProcess().start(
      env([{ csm: '*', kind: 'slack', urlEnv: 'NOT_SET_ANYWHERE' }]),
    );
    pipeline = unset;
    await until(undefined, 'the refusal', async () => unset.child.exitCode !== null, 30_000);
    expect(unset.child.exitCode).toBe(78);
    expect(unset.logs).toContain(
      '/delivery/notify/routes/0/urlEnv: expected the variable NOT_SET_ANYWHERE to hold the URL, got "not set"',
    );
  });
});
