// The connection's status in words a user understands (the store's `status` and `problem`).

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

/** Why the broker cannot be reached (the store's `problem.reason`, a ConnectionError's `reason`), in words. */
export function reasonText(reason, url) {
  switch (reason) {
    case 'auth':
      return "it did not accept this client's credentials";
    case 'refused':
      return 'it refused the connection';
    case 'network':
      return `no connection to ${url} (is it running?)`;
    default:
      return 'it does not answer';
  }
}

/**
 * The sentence under the header: what is going on and what happens to changes (none when
 * online). `url`: the broker's.
 */
export function statusSentence(status, problem, url) {
  switch (status) {
    case 'connecting':
      return 'Connecting to the broker…';
    case 'offline':
      return 'Offline (you chose it): changes are kept and sent when you go online again.';
    case 'unreachable':
      return `Cannot reach the broker: ${reasonText(problem?.reason, url)}. Retrying; changes are kept.`;
    case 'no-bridge':
      return 'No server is answering: changes are kept and sent when it is back.';
    case 'resyncing':
      return 'Resynchronising: catching up with the changes made meanwhile, then sending yours.';
    default:
      return '';
  }
}
