/**
 * Replaces the global WebSocket with one that never opens (a store then stays `connecting`; the
 * tests need no broker) and records every socket made. Returns the record.
 * @returns {{ url: string, protocol: string }[]}
 */
export function silentSockets() {
  const sockets = [];
  globalThis.WebSocket = class SilentSocket {
    constructor(url, protocol) {
      Object.assign(this, { url, protocol, readyState: 0, binaryType: 'blob' });
      sockets.push(this);
    }
    send() {}
    close() {
      this.readyState = 3;
    }
  };
  return sockets;
}
