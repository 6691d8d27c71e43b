/* Generated from the JSON Schemas by schemas/generate.ts (`npm run schemas`). Do not edit. */

/**
 * A notification for the client's CSM, with the comparative summary of the conditions.
 */
export interface NotifyBody {
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
  csm: string | null;
  title: string;
  message: string;
  summary: unknown[];
}
