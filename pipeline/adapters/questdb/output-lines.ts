/**
 * Line protocol for the rules stage's tables: alerts, tasks, health history and tags, one
 * row per output (notifications, e-mails and webhook calls live on NATS only). A task has a
 * row when it opens (status open) and one when it closes (status closed, with the reason).
 */
import type { Output } from '../../../operators/playbooks/outputs.js';
import { float, micros, ns, str, tag } from './figure-lines.js';
import type { DailyScore } from '../../../operators/playbooks/rules.js';
import {
  ALERTS_TABLE,
  HEALTH_COMPONENTS_TABLE,
  HEALTH_DAILY_TABLE,
  HEALTH_TABLE,
  TAGS_TABLE,
  TASKS_TABLE,
} from './tables.js';

const json = (v: unknown) => str(JSON.stringify(v ?? null));
const opt = (name: string, v: unknown) => (typeof v === 'number' ? `,${name}=${float(v)}` : '');

/** The row an output adds to its table; notifications, e-mails and webhook calls: none. */
export function outputLine(o: Output): string | undefined {
  switch (o.kind) {
    case 'alert': {
      const b = o.body;
      return `${ALERTS_TABLE},playbook=${tag(b.playbook.id)},category=${tag(b.playbook.category)},client_id=${tag(o.clientId)} alert_id=${str(o.id)},title=${str(b.playbook.title)},period=${str(b.period)},conditions=${json(b.conditions)},actions=${json(b.actions)} ${ns(o.at)}\n`;
    }
    case 'task': {
      const b = o.body;
      return `${TASKS_TABLE},playbook=${tag(b.playbook)},client_id=${tag(o.clientId)}${b.owner ? `,owner=${tag(b.owner)}` : ''},status=open task_id=${str(o.id)},alert_id=${str(b.alertId)},title=${str(b.title)},due_at=${micros(Date.parse(b.dueAt))} ${ns(o.at)}\n`;
    }
    case 'task-closed': {
      // The task's row again, at its closing, with its new status and why.
      const b = o.body;
      return `${TASKS_TABLE},playbook=${tag(b.playbook)},client_id=${tag(o.clientId)}${b.owner ? `,owner=${tag(b.owner)}` : ''},status=closed task_id=${str(b.taskId)},title=${str(b.title)},due_at=${micros(Date.parse(b.dueAt))},reason=${str(b.reason)},closed_by=${str(b.by)} ${ns(o.at)}\n`;
    }
    case 'health': {
      const b = o.body;
      return `${HEALTH_TABLE},client_id=${tag(o.clientId)},band=${b.bandAfter},source=${tag(o.source)} change_id=${str(o.id)},score=${float(b.after)}${opt('before', b.before)}${opt('change', b.change)},reason=${json(b.reason)} ${ns(o.at)}\n`;
    }
    case 'tag': {
      const b = o.body;
      return `${TAGS_TABLE},client_id=${tag(o.clientId)},tag=${tag(b.tag)},op=${b.op},playbook=${tag(b.playbook)} tag_id=${str(o.id)} ${ns(o.at)}\n`;
    }
    case 'notify':
    case 'email':
    case 'webhook':
      return undefined;
    default:
      // A kind added to Output and not handled here is a type error.
      return ((kind: never) => kind)(o);
  }
}

export function dailyScoreLine(s: DailyScore): string {
  let lines = `${HEALTH_DAILY_TABLE},client_id=${tag(s.clientId)},band=${s.band} score=${float(s.score)} ${ns(s.at)}\n`;
  for (const c of s.parts ?? [])
    lines += `${HEALTH_COMPONENTS_TABLE},client_id=${tag(s.clientId)},component=${tag(c.id)} points=${float(c.points)},contribution=${float(c.contribution)}${opt('value', c.value)} ${ns(s.at)}\n`;
  return lines;
}
