// The connection's status in words a user understands (the store's `status` and `problem`).
import { reasonText } from './notices.js';

/** A short label for the badge. */
export function statusLabel(status) {
  return (
    {
      connecting: 'Connecting…',
      online: 'Online',
      offline: 'Offline (you chose it)',
      unreachable: 'Cannot reach the broker',
      'no-bridge': 'No server answering',
      resyncing: 'Resynchronising…',
    }[status] ?? status
  );
}

/** The sentence under the header: what is going on and what happens to changes (none when online). */
export function statusSentence(status, problem) {
  switch (status) {
    case 'connecting':
      return 'Connecting to the broker…';
    case 'offline':
      return 'Offline (you chose it): changes are kept and sent when you go online again.';
    case 'unreachable':
      return `Cannot reach the broker: ${reasonText(problem?.reason, problem?.message)}. Retrying; changes are kept.`;
    case 'no-bridge':
      return 'No server is answering: changes are kept and sent when it is back.';
    case 'resyncing':
      return 'Resynchronising: catching up with the changes made meanwhile, then sending yours.';
    default:
      return '';
  }
}
