// Compiled by `npm run typecheck` (tsc, no output): the value classes as an application uses them,
// imported by the package's name.
import { connect, Binary, Decimal128, ObjectId, ValidationError, revive, toExtended, type Scalar } from 'vmm-client';

async function values(): Promise<void> {
  const store = await connect({ url: 'ws://127.0.0.1:9001', clientId: 'alice', values: 'extended' });
  const id: ObjectId = ObjectId.generate();
  const same: boolean = new ObjectId(id.toHexString()).equals(id) && id.equals(id.toString());
  const when: Date = id.getTimestamp();
  const fields: Scalar[] = [new Date(), 2n ** 60n, new Uint8Array([1]), new Binary(new Uint8Array(), 4), new Decimal128('1.5')];
  await store.request('tasks', { op: 'insert', id, doc: { when, fields, same } });
  store.get('tasks', id);
  store.meta('tasks', id);
  store.watchObject('tasks', id);
  const ext: unknown = toExtended({ id }, 'doc');
  const back = revive<{ id: ObjectId }>(JSON.parse(JSON.stringify(ext)));
  const hex: string = back.id.hex;
  const subType: number = new Binary(new Uint8Array(), 0x80).subType;
  const text: string = new Decimal128('NaN').value;
  const oid: { $oid: string } = id.toJSON();
  void [hex, subType, text, oid, ValidationError];
  // @ts-expect-error: a Binary takes bytes, not an array of numbers
  new Binary([1, 2]);
  // @ts-expect-error: a Decimal128 takes its text
  new Decimal128(1.5);
}
void values;
// @ts-expect-error: values is 'js' or 'extended'
void connect({ url: 'ws://127.0.0.1:9001', clientId: 'bob', values: 'bson' });
