/* Generated from the JSON Schemas by schemas/generate.ts (`npm run schemas`). Do not edit. */

/**
 * A task for the client's CSM.
 */
export interface TaskBody {
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
  title: string;
  description: string;
  dueAt: string;
  /**
   * The client's CSM
   */
  owner: string | null;
}
