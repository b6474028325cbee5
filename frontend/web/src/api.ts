// The HTTP API of UdaConnect (same origin, under /api), as the door serves it.

export interface Person {
  id: number;
  first_name: string;
  last_name: string;
  company_name: string;
}

export type NewPerson = Omit<Person, 'id'>;

export interface Location {
  id: number;
  person_id: number;
  latitude: number;
  longitude: number;
  creation_time: string; // RFC 3339
}

// A report of another person near one of the queried person's reports.
export interface Connection {
  person: Person;
  location: Location;
  distance: number; // metres
}

export interface ConnectionParams {
  startDate: string; // YYYY-MM-DD
  endDate: string; // YYYY-MM-DD
  distance: number; // metres
  window?: string; // a duration such as 15m; absent means any time
}

// ApiError is a failed request: status is 0 when the server was not reached;
// field names the input at fault when the server said which one.
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

async function request<T>(path: string, init: RequestInit = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers: { Accept: 'application/json', ...init.headers } });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'The server could not be reached. Check the connection and try again.');
  }
  if (!res.ok) {
    const body = await res.json().catch(() => null);
    const message = typeof body?.error === 'string' && body.error ? body.error : `The server answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''}.`;
    const field = typeof body?.field === 'string' ? body.field : undefined;
    throw new ApiError(res.status, message, field);
  }
  try {
    return (await res.json()) as T;
  } catch {
    throw new ApiError(res.status, 'The server sent an answer that is not JSON.');
  }
}

export function listPersons(signal?: AbortSignal): Promise<Person[]> {
  return request('/api/persons', { signal });
}

export function createPerson(person: NewPerson): Promise<Person> {
  return request('/api/persons', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(person),
  });
}

export function listLocations(personID: number, signal?: AbortSignal): Promise<Location[]> {
  return request(`/api/persons/${personID}/locations`, { signal });
}

export function listConnections(personID: number, p: ConnectionParams, signal?: AbortSignal): Promise<Connection[]> {
  const q = new URLSearchParams({ start_date: p.startDate, end_date: p.endDate, distance: String(p.distance) });
  if (p.window) q.set('window', p.window);
  return request(`/api/persons/${personID}/connection?${q}`, { signal });
}
