/**
 * What the rules stage emits, as messages for downstream systems. Every output has a
 * deterministic id from (kind, playbook or source, client, period): a restart, a redelivery
 * or a replay produces the same id, which JetStream (`Nats-Msg-Id`) and QuestDB (dedup keys)
 * absorb. Subjects are `cs.<kind>.<playbook|source>.<client>`, so a subscriber can take all
 * alerts (`cs.alert.>`), one playbook (`cs.*.<playbook>.>`), one client (`cs.*.*.<client>`)
 * or one kind of action (`cs.task.>`). Client ids are encoded as subject tokens (see `token`).
 */
export type OutputKind = 'alert' | 'health' | 'task' | 'tag' | 'notify' | 'email' | 'webhook';

export interface Output {
  kind: OutputKind;
  subject: string;
  /** Deterministic: the Nats-Msg-Id and the QuestDB dedup key. */
  id: string;
  /** The evaluation time (a local midnight), epoch ms. */
  at: number;
  clientId: string;
  body: Record<string, unknown>;
}

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

export function subjectOf(kind: OutputKind, source: string, clientId: string): string {
  return subjectOfTokens(kind, token(source), token(clientId));
}

/** The same from tokens already encoded (a firing's outputs share its client's token). */
export function subjectOfTokens(kind: OutputKind, source: string, client: string): string {
  return `cs.${kind}.${source}.${client}`;
}
