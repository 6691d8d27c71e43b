/* Generated from the JSON Schemas by schemas/generate.ts (`npm run schemas`). Do not edit. */

/**
 * A tag added to or removed from a client.
 */
export interface TagBody {
  /**
   * Deterministic: kind/playbook/client/period[/action]. Also the Nats-Msg-Id.
   */
  id: string;
  /**
   * The alert whose playbook firing made this.
   */
  alertId: string;
  playbook: string;
  clientId: string;
  /**
   * The period the run covered: 2026-11-22, 2026-W47, 2026-10.
   */
  period: string;
  /**
   * Evaluation time: the local midnight the windows end at.
   */
  at: string;
  op: 'add' | 'remove';
  tag: string;
  /**
   * false when the client already had (or lacked) the tag
   */
  changed: boolean;
  /**
   * The client's tags after the change
   */
  tags: string[];
}
