import type { CloudEvent } from './api';

// A Report is what a location.reported event carries.
export interface Report {
  person_id: number;
  latitude: number;
  longitude: number;
  creation_time: string; // RFC 3339
}

// Queued is a report taken and not yet accepted by the door, kept with its
// event so that it is sent again under the same id.
export interface Queued {
  id: string; // the event's
  person: number;
  taken: number; // ms since the epoch
  event: CloudEvent<Report>;
}

// An Outbox keeps the reports not yet accepted, so that a spell offline or a
// reload loses none.
export interface Outbox {
  add(q: Queued): Promise<void>;
  list(person: number): Promise<Queued[]>; // oldest first
  remove(ids: string[]): Promise<void>;
  clear(person: number): Promise<void>;
}

const store = 'outbox';

function done<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function committed(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

// indexedDBOutbox is the browser's outbox, in the IndexedDB database name.
export function indexedDBOutbox(name = 'udaconnect'): Outbox {
  let db: Promise<IDBDatabase> | null = null;
  const open = () => {
    db ??= new Promise((resolve, reject) => {
      const req = indexedDB.open(name, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(store, { keyPath: 'id' });
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => {
        db = null;
        reject(req.error);
      };
    });
    return db;
  };
  const write = async (change: (s: IDBObjectStore) => void) => {
    const tx = (await open()).transaction(store, 'readwrite');
    change(tx.objectStore(store));
    await committed(tx);
  };
  const outbox: Outbox = {
    add: (q) => write((s) => s.put(q)),
    list: async (person) => {
      const all = await done((await open()).transaction(store).objectStore(store).getAll() as IDBRequest<Queued[]>);
      return all.filter((q) => q.person === person).sort((a, b) => a.taken - b.taken);
    },
    remove: (ids) => write((s) => ids.forEach((id) => s.delete(id))),
    clear: async (person) => outbox.remove((await outbox.list(person)).map((q) => q.id)),
  };
  return outbox;
}

// memoryOutbox keeps the reports in the page only: where the browser has no
// IndexedDB, a reload loses them.
export function memoryOutbox(): Outbox {
  const held = new Map<string, Queued>();
  return {
    add: async (q) => void held.set(q.id, q),
    list: async (person) => [...held.values()].filter((q) => q.person === person).sort((a, b) => a.taken - b.taken),
    remove: async (ids) => ids.forEach((id) => held.delete(id)),
    clear: async (person) => [...held.values()].filter((q) => q.person === person).forEach((q) => held.delete(q.id)),
  };
}

// orMemory is outbox until it fails (IndexedDB refused, as in some private
// windows), then one in memory: reports are still sent, a reload loses them.
export function orMemory(outbox: Outbox): Outbox {
  let use = outbox;
  const memory = memoryOutbox();
  const safe =
    <A extends unknown[], R>(method: (o: Outbox) => (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await method(use)(...args);
      } catch {
        use = memory;
        return method(use)(...args);
      }
    };
  return { add: safe((o) => o.add), list: safe((o) => o.list), remove: safe((o) => o.remove), clear: safe((o) => o.clear) };
}

let shared: Outbox | null = null;

// browserOutbox is the page's outbox: IndexedDB's, else one in memory.
export function browserOutbox(): Outbox {
  shared ??= typeof indexedDB === 'undefined' ? memoryOutbox() : orMemory(indexedDBOutbox());
  return shared;
}
