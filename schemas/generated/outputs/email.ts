/* Generated from the JSON Schemas by schemas/generate.ts (`npm run schemas`). Do not edit. */

/**
 * An outbox message for a mail sender.
 */
export interface EmailBody {
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
  /**
   * The client's email attribute
   */
  to: string | null;
  template: string;
  subject: string;
  variables: {
    [k: string]: unknown | undefined;
  };
}
