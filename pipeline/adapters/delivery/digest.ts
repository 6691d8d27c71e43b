/**
 * The daily digest per CSM: what happened to their clients overnight, read from QuestDB —
 * the clients whose health turned yellow or red, the new alerts, and their open and
 * overdue tasks — sent to the CSM's notification routes (notify.ts) in each tool's shape.
 *
 * The digest of day D covers the rules' runs evaluated in (D − 1 day, D], local midnights in
 * `windows.timeZone`: the morning's digest includes that night's run. It is sent once per
 * day, CSM and route (KV marks), at `delivery.digest.at` local time by the worker owning
 * partition 0, or on demand with `pulso digest --day D`.
 */
import { DateTime } from 'luxon';
import type { Dispatcher } from 'undici';
import type { Config } from '../../config/types.js';
import type { Logger } from '../../log.js';
import type { QuestSql } from '../questdb/sql.js';
import {
  ALERTS_TABLE,
  CLIENT_ATTRIBUTES_TABLE,
  HEALTH_TABLE,
  TASKS_TABLE,
} from '../questdb/tables.js';
import { policyAgent } from '../webhook-destination.js';
import type { SendMarks } from './email.js';
import { postToRoute, slackText, teamsCard, type Route, type RouteKind } from './routes.js';
import { clientLink } from './templates.js';

type Band = 'green' | 'yellow' | 'red';
const RANK: Record<Band, number> = { green: 2, yellow: 1, red: 0 };

export interface Digest {
  csm: string;
  day: string;
  /** Clients whose score fell into yellow or red in the period, the worst first. */
  turned: { clientId: string; name: string | null; band: Band; score: number; from: Band | null }[];
  alerts: { clientId: string; playbook: string; title: string; period: string }[];
  tasks: {
    open: number;
    overdue: number;
    /** The overdue ones, oldest due first (at most 20). */
    late: { taskId: string; clientId: string; title: string; dueAt: string }[];
  };
}

export interface DigestRows {
  clients: { client_id: string; csm: string | null; name: string | null }[];
  health: { client_id: string; score: number; band: Band; before: number | null }[];
  alerts: { client_id: string; playbook: string; title: string; period: string }[];
  tasks: {
    task_id: string;
    client_id: string;
    owner: string | null;
    title: string;
    due_at: string | Date;
    closed: boolean;
  }[];
}

/** Per CSM, what the rows say (pure: the rows in, the digests out, those with anything). */
export function digestsOf(
  rows: DigestRows,
  day: string,
  end: number,
  thresholds: { green: number; yellow: number },
): Digest[] {
  const bandOf = (s: number): Band =>
    s >= thresholds.green ? 'green' : s >= thresholds.yellow ? 'yellow' : 'red';
  const client = new Map(rows.clients.map((c) => [c.client_id, c]));
  const byCsm = new Map<string, Digest>();
  const of = (csm: string) => {
    let d = byCsm.get(csm);
    if (!d)
      byCsm.set(
        csm,
        (d = { csm, day, turned: [], alerts: [], tasks: { open: 0, overdue: 0, late: [] } }),
      );
    return d;
  };
  // A client turned when a change of the period brought it into a worse band.
  const turned = new Map<string, Digest['turned'][number]>();
  for (const h of rows.health) {
    const from = h.before === null ? null : bandOf(h.before);
    if (h.band === 'green' || (from !== null && RANK[from] <= RANK[h.band])) continue;
    turned.set(h.client_id, {
      clientId: h.client_id,
      name: client.get(h.client_id)?.name ?? null,
      band: h.band,
      score: h.score,
      from: turned.get(h.client_id)?.from ?? from,
    });
  }
  for (const t of turned.values()) {
    const csm = client.get(t.clientId)?.csm;
    if (csm) of(csm).turned.push(t);
  }
  for (const a of rows.alerts) {
    const csm = client.get(a.client_id)?.csm;
    if (csm)
      of(csm).alerts.push({
        clientId: a.client_id,
        playbook: a.playbook,
        title: a.title,
        period: a.period,
      });
  }
  for (const t of rows.tasks) {
    if (t.closed || !t.owner) continue;
    const d = of(t.owner);
    d.tasks.open++;
    const due = new Date(t.due_at).getTime();
    if (due < end) {
      d.tasks.overdue++;
      d.tasks.late.push({
        taskId: t.task_id,
        clientId: t.client_id,
        title: t.title,
        dueAt: new Date(due).toISOString(),
      });
    }
  }
  for (const d of byCsm.values()) {
    d.turned.sort(
      (a, b) =>
        RANK[a.band] - RANK[b.band] || a.score - b.score || a.clientId.localeCompare(b.clientId),
    );
    d.alerts.sort(
      (a, b) => a.clientId.localeCompare(b.clientId) || a.playbook.localeCompare(b.playbook),
    );
    d.tasks.late.sort((a, b) => a.dueAt.localeCompare(b.dueAt) || a.taskId.localeCompare(b.taskId));
    d.tasks.late = d.tasks.late.slice(0, 20);
  }
  return [...byCsm.values()].sort((a, b) => a.csm.localeCompare(b.csm));
}

/** The period a digest of `day` covers: (day − 1, day] at local midnight. */
export function digestWindow(day: string, timeZone: string): { from: number; to: number } {
  const to = DateTime.fromISO(day, { zone: timeZone }).startOf('day');
  if (!to.isValid) throw new Error(`${day} is not a day (YYYY-MM-DD)`);
  return { from: to.minus({ days: 1 }).toMillis(), to: to.toMillis() };
}

/** Reads what the digests of `day` need from QuestDB. */
export async function readDigestRows(sql: QuestSql, from: number, to: number): Promise<DigestRows> {
  const range = [new Date(from).toISOString(), new Date(to).toISOString()];
  const within = `ts > $1 AND ts <= $2`;
  const [clients, health, alerts, tasks] = await Promise.all([
    sql.query<DigestRows['clients'][number]>(
      `SELECT client_id, csm, name FROM ${CLIENT_ATTRIBUTES_TABLE} LATEST ON ts PARTITION BY client_id`,
    ),
    sql.query<DigestRows['health'][number]>(
      `SELECT client_id, score, band, before FROM ${HEALTH_TABLE} WHERE ${within} ORDER BY ts`,
      range,
    ),
    sql.query<DigestRows['alerts'][number]>(
      `SELECT client_id, playbook, title, period FROM ${ALERTS_TABLE} WHERE ${within} ORDER BY ts`,
      range,
    ),
    sql.query<DigestRows['tasks'][number] & { closed: number | boolean }>(
      `SELECT task_id, client_id, owner, title, min(due_at) due_at, max(CASE WHEN status = 'closed' THEN 1 ELSE 0 END) closed FROM ${TASKS_TABLE} WHERE ts <= $1 GROUP BY task_id, client_id, owner, title`,
      [range[1]],
    ),
  ]);
  return {
    clients,
    health: health.map((h) => ({
      ...h,
      score: Number(h.score),
      before: h.before === null ? null : Number(h.before),
    })),
    alerts,
    tasks: tasks.map((t) => ({ ...t, closed: Number(t.closed) === 1 })),
  };
}

/** The request body a route's kind expects. */
export function digestBody(kind: RouteKind, d: Digest, link: string): unknown {
  const lines = [
    ...d.turned.map(
      (t) =>
        `${t.band === 'red' ? '🔴' : '🟡'} ${t.name ?? t.clientId} (${t.clientId}): ${t.score}${t.from ? `, was ${t.from}` : ''}`,
    ),
    ...d.alerts.map((a) => `• ${a.clientId}: ${a.title} (${a.period})`),
    `Tasks: ${d.tasks.open} open, ${d.tasks.overdue} overdue`,
    ...d.tasks.late.map((t) => `⏰ ${t.clientId}: ${t.title} (due ${t.dueAt.slice(0, 10)})`),
  ];
  const title = `Pulso digest for ${d.csm} — ${d.day}`;
  const summary = `${d.turned.length} turned yellow or red, ${d.alerts.length} new alerts, ${d.tasks.open} open tasks (${d.tasks.overdue} overdue)`;
  switch (kind) {
    case 'slack': {
      return {
        text: slackText(`${title}: ${summary}`),
        blocks: [
          { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150) } },
          { type: 'section', text: { type: 'mrkdwn', text: slackText(summary) } },
          {
            type: 'section',
            text: { type: 'mrkdwn', text: slackText(lines.join('\n')).slice(0, 3000) },
          },
          { type: 'context', elements: [{ type: 'mrkdwn', text: `<${link}|Pulso dashboards>` }] },
        ],
      };
    }
    case 'teams':
      return teamsCard(
        [
          { type: 'TextBlock', size: 'Medium', weight: 'Bolder', text: title, wrap: true },
          { type: 'TextBlock', text: summary, wrap: true },
          ...lines.map((l) => ({ type: 'TextBlock', text: l, wrap: true, spacing: 'Small' })),
        ],
        { title: 'Pulso dashboards', url: link },
      );
    case 'json':
      return { type: 'digest', digest: d, link };
  }
}

export interface DigestSender {
  routes: Route[];
  policy: Config['rules']['webhooks'];
  timeoutMs: number;
  link: string;
  marks: SendMarks;
  log: Logger;
}

/** How the configuration sends digests: the notification routes, their policy and timeout. */
export function digestSenderOf(
  config: Config,
  routes: Route[],
  marks: SendMarks,
  log: Logger,
): DigestSender {
  return {
    routes,
    policy: config.rules.webhooks,
    timeoutMs: config.delivery.notify.timeoutMs,
    link: config.delivery.link,
    marks,
    log,
  };
}

/** Sends each digest to its CSM's routes, once per day, CSM and route; what failed, said. */
export async function sendDigests(
  digests: Digest[],
  s: DigestSender,
): Promise<{ sent: number; failed: string[] }> {
  const agent: Dispatcher = policyAgent(s.policy, s.timeoutMs);
  const failed: string[] = [];
  let sent = 0;
  try {
    for (const d of digests)
      for (const r of s.routes.filter((x) => x.csm === '*' || x.csm === d.csm)) {
        const mark = `digest-${r.index}`;
        const id = `digest/${d.day}/${d.csm}`;
        if ((await s.marks.get(mark, id))?.state === 'sent') continue;
        const out = await postToRoute(
          r,
          id,
          digestBody(r.kind, d, clientLink(s.link, '')),
          agent,
          s.policy,
          s.timeoutMs,
        );
        if (out.outcome === 'delivered') {
          await s.marks.sent(mark, id, `${r.kind}:${out.status}`);
          sent++;
        } else
          failed.push(
            `${id} to route ${r.index} (${r.kind}): ${out.why.replace(r.url, 'its URL')}`,
          );
      }
  } finally {
    await agent.close();
  }
  for (const f of failed) s.log.warn({ err: f }, 'digest not delivered');
  return { sent, failed };
}

/**
 * Every minute, once the local time passes `at` on a day whose digest has not gone out from
 * this process yet, sends it (KV marks keep a restart from sending it again).
 */
export function scheduleDigests(o: {
  at: string;
  timeZone: string;
  run: (day: string) => Promise<void>;
  log: Logger;
  now?: () => number;
}): () => void {
  const [h, m] = o.at.split(':').map(Number) as [number, number];
  let done = '';
  const tick = () => {
    const now = DateTime.fromMillis((o.now ?? Date.now)(), { zone: o.timeZone });
    const day = now.toISODate()!;
    if (day === done || now < now.startOf('day').set({ hour: h, minute: m })) return;
    done = day;
    o.run(day).catch((e: unknown) => {
      done = '';
      o.log.warn({ day, err: (e as Error).message }, 'digest failed; tried again in a minute');
    });
  };
  const timer = setInterval(tick, 60_000);
  timer.unref();
  tick();
  return () => clearInterval(timer);
}

/** The digests of `day`, read from QuestDB and sent; what was sent and what failed. */
export async function sendDigestOf(
  day: string,
  config: Config,
  sql: QuestSql,
  thresholds: { green: number; yellow: number },
  s: DigestSender,
): Promise<{ digests: Digest[]; sent: number; failed: string[] }> {
  const { from, to } = digestWindow(day, config.windows.timeZone);
  const digests = digestsOf(await readDigestRows(sql, from, to), day, to, thresholds);
  const { sent, failed } = await sendDigests(digests, s);
  s.log.info({ day, csms: digests.length, sent, failed: failed.length }, 'daily digests');
  return { digests, sent, failed };
}
