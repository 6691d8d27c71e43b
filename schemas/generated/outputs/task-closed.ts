/* Generated from the JSON Schemas by schemas/generate.ts (`npm run schemas`). Do not edit. */

/**
 * A task Pulso opened is closed: by Pulso (its playbook's twin fired, or its condition no longer holds) or by a CS tool (done, cancelled).
 */
export interface TaskClosedBody {
  /**
   * Deterministic: closed/<the task's id>. Also the Nats-Msg-Id: a task closes once.
   */
  id: string;
  taskId: string;
  /**
   * The playbook that opened the task.
   */
  playbook: string;
  clientId: string;
  /**
   * The period of the run that opened the task.
   */
  period: string;
  /**
   * When it closed: the evaluation time (a local midnight) of the run that closed it, or that took the CS tool's word.
   */
  at: string;
  /**
   * twin: the playbook's positive twin fired for the client; recovered: at the playbook's next run its conditions no longer held; done, cancelled: a CS tool said so (tracking.tasks).
   */
  reason: 'twin' | 'recovered' | 'done' | 'cancelled';
  /**
   * What closed it: the twin's alert id, the run's period for recovered, or who the CS tool named ("a CS tool" when none).
   */
  by: string;
  title: string;
  dueAt: string;
  /**
   * The client's CSM when the task was opened
   */
  owner: string | null;
}
