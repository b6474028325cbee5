// The HTTP API of UdaConnect (same origin, under /api), as the door serves it.
// Every call carries the session cookie that signIn obtained, and the header
// X-Requested-With, without which the door refuses a write with the cookie
// (a page of another site cannot send it).

// Session is who is signed in: an organizer, or an attendee who is one
// person; with how old a report may be when it arrives (seconds) and how
// long reports are kept (such as 30d; absent: until deleted).
export type Session = ({ role: 'organizer' } | { role: 'attendee'; person_id: number }) & { report_max_age_s?: number; retention?: string };

export interface Person {
  id: number;
  first_name: string;
  last_name: string;
  company_name: string;
}

export type NewPerson = Omit<Person, 'id'>;

// A Registered person comes with their sign-in token, given only this once.
export type Registered = Person & { token: string };

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

// A Meeting is the person and another near each other for a while: from
// started to last_seen (duration_s apart), together_s seconds of it within
// the meeting distance at the same moment, at closest closest_m metres,
// around (latitude, longitude). A change on the live stream with merged_into
// set is a meeting that became part of that one: it is gone.
export interface Meeting {
  id: number;
  person: Person; // the other person
  started: string; // RFC 3339
  last_seen: string;
  duration_s: number;
  together_s?: number; // absent from a server that predates it: duration_s stands in
  closest_m: number;
  latitude: number;
  longitude: number;
  ended: boolean;
  version: number; // raised when it starts, ends or merges, not as it grows
  merged_into?: number;
}

// A Page is part of a list, with the address of the next part, if any.
export interface Page<T> {
  items: T[];
  next: string | null;
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

// signedOut is told when a call is refused for want of a valid session.
let signedOut = () => {};

export function onSignedOut(listener: () => void) {
  signedOut = listener;
}

const json = { 'Content-Type': 'application/json' };

async function request<T>(path: string, init: RequestInit = {}): Promise<T> {
  return (await answer<T>(path, init)).data;
}

// call sends a request to the door with the session cookie; a 401 (but
// from /api/session, which answers whether one is signed in) means the
// session has ended.
async function call(path: string, init: RequestInit = {}): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path, { ...init, credentials: 'same-origin', headers: { Accept: 'application/json', 'X-Requested-With': 'udaconnect', ...init.headers } });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'The server could not be reached. Check the connection and try again.');
  }
  if (res.status === 401 && !path.startsWith('/api/session')) signedOut();
  return res;
}

// answer is request with the headers of the answer.
async function answer<T>(path: string, init: RequestInit = {}): Promise<{ data: T; headers: Headers }> {
  const res = await call(path, init);
  if (!res.ok) {
    const body = await res.json().catch(() => null);
    const message = typeof body?.error === 'string' && body.error ? body.error : `The server answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''}.`;
    const field = typeof body?.field === 'string' ? body.field : undefined;
    throw new ApiError(res.status, message, field);
  }
  if (res.status === 204) return { data: undefined as T, headers: res.headers };
  try {
    return { data: (await res.json()) as T, headers: res.headers };
  } catch {
    throw new ApiError(res.status, 'The server sent an answer that is not JSON.');
  }
}

// signIn exchanges a sign-in token for a session cookie.
export function signIn(token: string, signal?: AbortSignal): Promise<Session> {
  return request('/api/session', { method: 'POST', headers: { ...json, Authorization: `Bearer ${token}` }, body: '{}', signal });
}

export function getSession(signal?: AbortSignal): Promise<Session> {
  return request('/api/session', { signal });
}

export function signOut(): Promise<void> {
  return request('/api/session', { method: 'DELETE', headers: json });
}

// PersonsPageSize is how many people a page of the list holds.
export const PersonsPageSize = 100;

// personsPath is the address of the first page of the people a search finds
// (every word in the names or company, case aside), in name order.
export function personsPath(query: string, limit = PersonsPageSize): string {
  const q = new URLSearchParams({ limit: String(limit) });
  if (query.trim()) q.set('q', query.trim());
  return `/api/persons?${q}`;
}

// personsPage asks for the page of people at path: the first, or one that
// a page named as its next.
export async function personsPage(path: string, signal?: AbortSignal): Promise<Page<Person>> {
  const { data, headers } = await answer<Person[]>(path, { signal });
  return { items: data, next: nextLink(headers.get('Link')) };
}

export function getPerson(id: number, signal?: AbortSignal): Promise<Person> {
  return request(`/api/persons/${id}`, { signal });
}

export function createPerson(person: NewPerson): Promise<Registered> {
  return request('/api/persons', { method: 'POST', headers: json, body: JSON.stringify(person) });
}

// deletePerson deletes a person with their reports and meetings.
export function deletePerson(id: number): Promise<void> {
  return request(`/api/persons/${id}`, { method: 'DELETE' });
}

export function listLocations(personID: number, signal?: AbortSignal): Promise<Location[]> {
  return request(`/api/persons/${personID}/locations`, { signal });
}

export function listConnections(personID: number, p: ConnectionParams, signal?: AbortSignal): Promise<Connection[]> {
  const q = new URLSearchParams({ start_date: p.startDate, end_date: p.endDate, distance: String(p.distance) });
  if (p.window) q.set('window', p.window);
  return request(`/api/persons/${personID}/connection?${q}`, { signal });
}

// listMeetings asks for the first page of a person's meetings, newest first,
// that overlap the days from startDate to endDate (either may be empty).
export function listMeetings(personID: number, range: { startDate: string; endDate: string }, signal?: AbortSignal, limit?: number): Promise<Page<Meeting>> {
  const q = new URLSearchParams();
  if (limit) q.set('limit', String(limit));
  if (range.startDate) q.set('start_date', range.startDate);
  if (range.endDate) q.set('end_date', range.endDate);
  return meetingsPage(`/api/persons/${personID}/meetings?${q}`, signal);
}

// allMeetings reads every page of a person's meetings in the range.
export async function allMeetings(personID: number, range: { startDate: string; endDate: string }, signal?: AbortSignal): Promise<Meeting[]> {
  let page = await listMeetings(personID, range, signal, MaxPageSize);
  const all = [...page.items];
  while (page.next) {
    page = await meetingsPage(page.next, signal);
    all.push(...page.items);
  }
  return all;
}

// MaxPageSize is the most a page of meetings holds.
const MaxPageSize = 1000;

// meetingsPage asks for the page of meetings at path: the first, or one
// that a page named as its next.
export async function meetingsPage(path: string, signal?: AbortSignal): Promise<Page<Meeting>> {
  const { data, headers } = await answer<Meeting[]>(path, { signal });
  return { items: data, next: nextLink(headers.get('Link')) };
}

// nextLink is the same-origin address of rel="next" in a Link header.
export function nextLink(header: string | null): string | null {
  const m = /<(\/api\/[^>]*)>\s*;\s*rel="next"/.exec(header ?? '');
  return m ? m[1] : null;
}

// liveMeetings follows the changes of a person's meetings as they happen,
// until the returned function is called; onOpen is told each time the stream
// opens (it resumes by itself after a break, from the last change it got).
export function liveMeetings(personID: number, onChange: (m: Meeting) => void, onOpen: (open: boolean) => void): () => void {
  const source = new EventSource(`/api/persons/${personID}/meetings/live`);
  source.addEventListener('meeting', (e) => onChange(JSON.parse((e as MessageEvent<string>).data) as Meeting));
  source.addEventListener('open', () => onOpen(true));
  source.addEventListener('error', () => onOpen(false));
  return () => source.close();
}

// Detection is how far the meetings are up to date: detection has taken
// every report up to current_to, lag_seconds behind the reports received,
// with backlog_reports still to take.
export interface Detection {
  current_to: string; // RFC 3339
  lag_seconds: number;
  backlog_reports: number;
}

export function getDetection(signal?: AbortSignal): Promise<Detection> {
  return request('/api/detection', { signal });
}

// A CloudEvent as sent to /events (structured mode).
export interface CloudEvent<T> {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  time: string; // RFC 3339
  datacontenttype: 'application/json';
  data: T;
}

// A Result is the door's answer for one event: 202 accepted, else the
// status it would have had alone.
export interface Result {
  id: string;
  status: number;
  error?: string;
}

// Sent is the door's answer to events sent at once: a result per event and,
// when some may be sent again, the seconds its Retry-After asks to wait.
export interface Sent {
  results: Result[];
  retryAfterS: number | null;
}

// sendEvents posts events to /events: one alone, more as a batch, which
// the door answers with a result per event when it did not accept them
// all. It throws an ApiError with status 0 when the door was not reached.
export async function sendEvents(events: CloudEvent<unknown>[], signal?: AbortSignal): Promise<Sent> {
  const one = events.length === 1;
  const res = await call('/events', {
    method: 'POST',
    headers: { 'Content-Type': one ? 'application/cloudevents+json' : 'application/cloudevents-batch+json' },
    body: JSON.stringify(one ? events[0] : events),
    signal,
  });
  const body = res.ok ? null : await res.json().catch(() => null);
  const results: Result[] | undefined = Array.isArray(body?.results) ? body.results : undefined;
  const error = typeof body?.error === 'string' && body.error ? body.error : `The server answered ${res.status}.`;
  return {
    results: events.map((e, i) => (res.ok ? { id: e.id, status: res.status } : results?.[i]?.id === e.id ? results[i] : { id: e.id, status: res.status, error })),
    retryAfterS: retryAfter(res.headers.get('Retry-After')),
  };
}

// retryAfter reads a Retry-After header (seconds or an HTTP date) as
// seconds from now.
export function retryAfter(header: string | null): number | null {
  if (!header) return null;
  if (/^\d+$/.test(header.trim())) return Number(header);
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, (at - Date.now()) / 1000);
}
