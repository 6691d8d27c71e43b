/* Generated from the JSON Schemas by schemas/generate.ts (`npm run schemas`). Do not edit. */

/**
 * Delivered by Pulso itself: POSTed to url, signed, retried.
 */
export interface WebhookBody {
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
  url: string;
  secretEnv: string | null;
  alert: {
    [k: string]: unknown | undefined;
  };
}
