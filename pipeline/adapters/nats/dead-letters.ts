/** Publishes dead letters into their stream and waits until JetStream holds every one. */
import { headers as natsHeaders, type JetStreamClient } from 'nats';
import { deadLetterMessage, type DeadLetterCaps } from '../../contract/dead-letter.js';
import type { DeadLetter } from '../../../schemas/types.js';

export async function publishDeadLetters(
  js: JetStreamClient,
  deadLetters: DeadLetter[],
  caps?: DeadLetterCaps,
): Promise<void> {
  await Promise.all(
    deadLetters.map((dl) => {
      const m = deadLetterMessage(dl, caps);
      const h = natsHeaders();
      h.set('Pulso-Reason', dl.reason.code);
      h.set('Content-Type', 'application/json');
      // The id makes a redelivered input yield its dead letter only once.
      return js.publish(m.subject, m.body, { msgID: m.msgId, headers: h });
    }),
  );
}
