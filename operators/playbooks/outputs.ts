/**
 * What the rules stage emits, as messages for downstream systems. Every output has a
 * deterministic id from (kind, playbook or source, client, period): a restart, a redelivery
 * or a replay produces the same id, which JetStream (`Nats-Msg-Id`) and QuestDB (dedup keys)
 * absorb. Subjects are `cs.<kind>.<playbook|source>.<client>`, so a subscriber can take all
 * alerts (`cs.alert.>`), one playbook (`cs.*.<playbook>.>`), one client (`cs.*.*.<client>`)
 * or one kind of action (`cs.task.>`). Client ids are encoded as subject tokens (see `token`).
 */
import type { AlertBody } from '../../schemas/generated/outputs/alert.js';
import type { EmailBody } from '../../schemas/generated/outputs/email.js';
import type { HealthBody } from '../../schemas/generated/outputs/health.js';
import type { NotifyBody } from '../../schemas/generated/outputs/notify.js';
import type { TagBody } from '../../schemas/generated/outputs/tag.js';
import type { TaskBody } from '../../schemas/generated/outputs/task.js';
import type { WebhookBody } from '../../schemas/generated/outputs/webhook.js';
import type { TaskClosedBody } from '../../schemas/generated/outputs/task-closed.js';
import { isoOf } from './conditions/kind.js';

/** Each kind's body, as its schema in schemas/outputs generates it. */
export interface OutputBodies {
  alert: AlertBody;
  health: HealthBody;
  task: TaskBody;
  tag: TagBody;
  notify: NotifyBody;
  email: EmailBody;
  webhook: WebhookBody;
  'task-closed': TaskClosedBody;
}

export type OutputKind = keyof OutputBodies;

export interface OutputOf<K extends OutputKind> {
  kind: K;
  subject: string;
  /** Deterministic: the Nats-Msg-Id and the QuestDB dedup key. */
  id: string;
  /** The evaluation time (a local midnight), epoch ms. */
  at: number;
  clientId: string;
  /** The playbook that fired, or SCORE_SOURCE for the components' own health changes. */
  source: string;
  body: OutputBodies[K];
}

/** What the rules stage emits: `switch (o.kind)` narrows the body. */
export type Output = { [K in OutputKind]: OutputOf<K> }[OutputKind];

/** The source token of health changes made by the components rather than a playbook. */
export const SCORE_SOURCE = '_score';

/**
 * `kind/playbook/client/period[/action]`, e.g. `task/criar-produto-sem-uso/acme/2026-W09/1`:
 * readable in a log or a table, and unambiguous (only the client part is free text, and
 * it sits at a fixed position).
 */
export function outputId(...parts: string[]): string {
  return parts.join('/');
}

/**
 * A NATS subject token for any string: letters, digits, `_` and `-` stay; every other byte
 * of its UTF-8 becomes `~` and two hex digits (`acme.com` → `acme~2ecom`). Tokens never hold
 * `.`, `*`, `>` or spaces, and the mapping is one-to-one.
 */
const utf8 = new TextEncoder();

export function token(s: string): string {
  if (/^[A-Za-z0-9_-]+$/.test(s)) return s;
  let out = '';
  for (const b of utf8.encode(s)) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9_-]/.test(c) ? c : `~${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

export function outputSubject(kind: OutputKind, source: string, clientId: string): string {
  return outputSubjectOfTokens(kind, token(source), token(clientId));
}

/**
 * The same from tokens already encoded (a firing's outputs share its client's token). A
 * closed task is `cs.task.closed.<playbook>.<client>`: under `cs.task.>` with the tasks,
 * told apart by its five tokens.
 */
export function outputSubjectOfTokens(kind: OutputKind, source: string, client: string): string {
  return kind === 'task-closed'
    ? `cs.task.closed.${source}.${client}`
    : `cs.${kind}.${source}.${client}`;
}

/** The kind of an output by its subject (`cs.<kind>.…`, or `cs.task.closed.…`). */
export function outputKindOf(subject: string): string | undefined {
  const t = subject.split('.');
  if (t[0] !== 'cs') return undefined;
  return t[1] === 'task' && t[2] === 'closed' && t.length === 5 ? 'task-closed' : t[1];
}

/** A firing: the playbook, client and period every output it makes refers to. */
export interface Firing {
  playbook: string;
  clientId: string;
  /** The client id as a subject token (computed once per firing). */
  client: string;
  period: string;
  at: number;
  alertId: string;
}

export function firingOf(playbook: string, clientId: string, period: string, at: number): Firing {
  return {
    playbook,
    clientId,
    client: token(clientId),
    period,
    at,
    alertId: outputId('alert', playbook, clientId, period),
  };
}

export function alertOutput(
  f: Firing,
  body: Omit<AlertBody, 'id' | 'clientId' | 'period' | 'at'>,
): OutputOf<'alert'> {
  return {
    kind: 'alert',
    subject: outputSubjectOfTokens('alert', f.playbook, f.client),
    id: f.alertId,
    at: f.at,
    clientId: f.clientId,
    source: f.playbook,
    body: { id: f.alertId, clientId: f.clientId, period: f.period, at: isoOf(f.at), ...body },
  };
}

/** The fields an action's output shares with the alert that made it. */
type ActionFields = 'id' | 'alertId' | 'playbook' | 'clientId' | 'period' | 'at';

/** The output of action `i` of a firing. */
function actionOutput<K extends Exclude<OutputKind, 'alert' | 'health' | 'task-closed'>>(
  kind: K,
  f: Firing,
  i: number,
  body: Omit<OutputBodies[K], ActionFields>,
): OutputOf<K> {
  const id = outputId(kind, f.playbook, f.clientId, f.period, String(i));
  return {
    kind,
    subject: outputSubjectOfTokens(kind, f.playbook, f.client),
    id,
    at: f.at,
    clientId: f.clientId,
    source: f.playbook,
    body: {
      id,
      alertId: f.alertId,
      playbook: f.playbook,
      clientId: f.clientId,
      period: f.period,
      at: isoOf(f.at),
      ...body,
    } as OutputBodies[K],
  };
}

export const taskOutput = (f: Firing, i: number, b: Omit<TaskBody, ActionFields>) =>
  actionOutput('task', f, i, b);
export const tagOutput = (f: Firing, i: number, b: Omit<TagBody, ActionFields>) =>
  actionOutput('tag', f, i, b);
export const notifyOutput = (f: Firing, i: number, b: Omit<NotifyBody, ActionFields>) =>
  actionOutput('notify', f, i, b);
export const emailOutput = (f: Firing, i: number, b: Omit<EmailBody, ActionFields>) =>
  actionOutput('email', f, i, b);
export const webhookOutput = (f: Firing, i: number, b: Omit<WebhookBody, ActionFields>) =>
  actionOutput('webhook', f, i, b);

/**
 * A change of a client's health score, made by a playbook (`source` its id, `part` the
 * action's index) or by the components (`SCORE_SOURCE`).
 */
export function healthOutput(
  source: string,
  clientId: string,
  period: string,
  at: number,
  body: Omit<HealthBody, 'id' | 'clientId' | 'at' | 'period'>,
  part?: string,
): OutputOf<'health'> {
  const id = outputId('health', source, clientId, period, ...(part === undefined ? [] : [part]));
  return {
    kind: 'health',
    subject: outputSubject('health', source, clientId),
    id,
    at,
    clientId,
    source,
    body: { id, clientId, at: isoOf(at), period, ...body },
  };
}

/** A task Pulso opened, while it is open (kept in the rules state). */
export interface OpenTask {
  id: string;
  playbook: string;
  period: string;
  title: string;
  dueAt: string;
  owner: string | null;
}

/** The closing of `task` at `at`: once per task, whatever closed it. */
export function taskClosedOutput(
  task: OpenTask,
  clientId: string,
  at: number,
  reason: TaskClosedBody['reason'],
  by: string,
): OutputOf<'task-closed'> {
  const id = outputId('closed', task.id);
  return {
    kind: 'task-closed',
    subject: outputSubject('task-closed', task.playbook, clientId),
    id,
    at,
    clientId,
    source: task.playbook,
    body: {
      id,
      taskId: task.id,
      playbook: task.playbook,
      clientId,
      period: task.period,
      at: isoOf(at),
      reason,
      by,
      title: task.title,
      dueAt: task.dueAt,
      owner: task.owner,
    },
  };
}
