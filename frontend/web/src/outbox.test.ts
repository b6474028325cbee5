import { memoryOutbox, orMemory, type Outbox, type Queued } from './outbox';

function queued(id: string, person: number, taken: number): Queued {
  const time = new Date(taken).toISOString();
  const data = { person_id: person, latitude: 1, longitude: 2, creation_time: time };
  return { id, person, taken, event: { specversion: '1.0', id, source: 's', type: 't', time, datacontenttype: 'application/json', data } };
}

describe('outbox', () => {
  it('lists a person’s reports oldest first, and removes and clears them', async () => {
    const o = memoryOutbox();
    await o.add(queued('b', 1, 2000));
    await o.add(queued('a', 1, 1000));
    await o.add(queued('x', 2, 500));
    expect((await o.list(1)).map((q) => q.id)).toEqual(['a', 'b']);
    await o.remove(['a']);
    expect((await o.list(1)).map((q) => q.id)).toEqual(['b']);
    await o.clear(1);
    expect(await o.list(1)).toEqual([]);
    expect((await o.list(2)).map((q) => q.id)).toEqual(['x']);
  });

  it('keeps the reports in memory when the browser’s store fails', async () => {
    const refused = () => Promise.reject(new DOMException('refused', 'InvalidStateError'));
    const broken: Outbox = { add: refused, list: refused, remove: refused, clear: refused };
    const o = orMemory(broken);
    await o.add(queued('a', 1, 1000));
    expect((await o.list(1)).map((q) => q.id)).toEqual(['a']);
  });
});
