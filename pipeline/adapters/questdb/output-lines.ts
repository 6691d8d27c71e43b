/**
 * Line protocol for the rules stage's tables: alerts, tasks, health history and tags, one
 * row per output (notifications, e-mails and webhook calls live on NATS only).
 */
import type { Output } from '../../../operators/playbooks/outputs.js';
import { float, micros, ns, str, tag } from './figure-lines.js';
import type { DailyScore } from '../../../operators/playbooks/rules.js';
import {
  ALERTS_TABLE,
  HEALTH_DAILY_TABLE,
  HEALTH_TABLE,
  TAGS_TABLE,
  TASKS_TABLE,
} from './tables.js';

/** A string field of any value (absent: empty). */
const text = (s: unknown) => str(String(s ?? ''));
const json = (v: unknown) => str(JSON.stringify(v ?? null));
const opt = (name: string, v: unknown) => (typeof v === 'number' ? `,${name}=${float(v)}` : '');

export function outputLine(o: Output): string | undefined {
  const b = o.body as Record<string, unknown>;
  switch (o.kind) {
    case 'alert': {
      const p = b.playbook as { id: string; title: string; category: string };
      return `${ALERTS_TABLE},playbook=${tag(p.id)},category=${tag(p.category)},client_id=${tag(o.clientId)} alert_id=${text(o.id)},title=${text(p.title)},period=${text(b.period)},conditions=${json(b.conditions)},actions=${json(b.actions)} ${ns(o.at)}\n`;
    }
    case 'task':
      return `${TASKS_TABLE},playbook=${tag(String(b.playbook))},client_id=${tag(o.clientId)}${b.owner ? `,owner=${tag(String(b.owner))}` : ''} task_id=${text(o.id)},alert_id=${text(b.alertId)},title=${text(b.title)},due_at=${micros(Date.parse(String(b.dueAt)))} ${ns(o.at)}\n`;
    case 'health':
      return `${HEALTH_TABLE},client_id=${tag(o.clientId)},band=${String(b.bandAfter)},source=${tag(o.subject.split('.')[2]!)} change_id=${text(o.id)},score=${float(b.after as number)}${opt('before', b.before)}${opt('change', b.change)},reason=${json(b.reason)} ${ns(o.at)}\n`;
    case 'tag':
      return `${TAGS_TABLE},client_id=${tag(o.clientId)},tag=${tag(String(b.tag))},op=${String(b.op)},playbook=${tag(String(b.playbook))} tag_id=${text(o.id)} ${ns(o.at)}\n`;
    default:
      return undefined;
  }
}

export function dailyScoreLine(s: DailyScore): string {
  return `${HEALTH_DAILY_TABLE},client_id=${tag(s.clientId)},band=${s.band} score=${float(s.score)} ${ns(s.at)}\n`;
}
