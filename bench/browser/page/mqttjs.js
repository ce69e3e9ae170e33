// The baseline: what an app without vmm does at the least. mqtt.js (its browser bundle, loaded
// by index.html as window.mqtt) subscribes to the same event topics over the same WebSocket
// listener at the same QoS (1) and `JSON.parse`s each message into a Map by object id. Done when
// the Map holds N entries. Nothing is rendered.

const now = () => performance.timeOrigin + performance.now();

/**
 * Connects (MQTT 3.1.1, clean session, as the store does), holds the subscription (SUBACK), and
 * sets `window.done` (settles with `{ doneMs, shown }`) and `window.progress`.
 * @param {{ url: string, prefix: string, clientId: string, collection: string, n: number,
 *           readyTimeoutMs: number }} o
 */
export async function prepare(o) {
  const client = window.mqtt.connect(o.url, {
    clientId: o.clientId,
    protocolVersion: 4,
    clean: true,
    keepalive: 30,
    reconnectPeriod: 0,
    connectTimeout: o.readyTimeoutMs,
  });
  await new Promise((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  const filter = `${o.prefix}/v1/evt/${o.collection}/+`;
  await new Promise((resolve, reject) =>
    client.subscribe(filter, { qos: 1 }, (err, granted) =>
      err || granted?.[0]?.qos !== 1 ? reject(err ?? new Error(`SUBACK ${JSON.stringify(granted)}`)) : resolve(),
    ),
  );

  const docs = new Map();
  let finish;
  window.done = new Promise((resolve) => {
    finish = resolve;
  });
  window.progress = () => docs.size;
  client.on('message', (_topic, payload) => {
    const event = JSON.parse(payload.toString());
    docs.set(typeof event.id === 'string' ? event.id : JSON.stringify(event.id), event.doc);
    if (docs.size >= o.n && finish) {
      finish({ doneMs: now(), shown: docs.size });
      finish = null;
    }
  });
  return { status: 'online' };
}
