import type { Connection, Location, Person } from './api';

// MaxRangeDays is the longest date range the connection API answers for.
export const MaxRangeDays = 366;
export const MaxDistance = 1_000; // metres
export const DefaultDistance = 5; // metres
export const DefaultWindow = '15m';

export const windowOptions: { value: string; label: string }[] = [
  { value: '', label: 'Any time' },
  { value: '1m', label: '1 minute' },
  { value: '5m', label: '5 minutes' },
  { value: '15m', label: '15 minutes' },
  { value: '30m', label: '30 minutes' },
  { value: '1h', label: '1 hour' },
  { value: '6h', label: '6 hours' },
  { value: '24h', label: '1 day' },
];

// A ConnectionGroup is everyone's meetings with one other person.
export interface ConnectionGroup {
  person: Person;
  meetings: Connection[]; // oldest first
  first: string; // RFC 3339
  last: string;
  closest: number; // metres
}

// groupConnections groups connections by the person met, most meetings first.
export function groupConnections(connections: Connection[]): ConnectionGroup[] {
  const byPerson = new Map<number, Connection[]>();
  for (const c of connections) {
    const list = byPerson.get(c.person.id);
    if (list) list.push(c);
    else byPerson.set(c.person.id, [c]);
  }
  const groups = [...byPerson.values()].map((meetings): ConnectionGroup => {
    meetings.sort((a, b) => time(a.location) - time(b.location));
    return {
      person: meetings[0].person,
      meetings,
      first: meetings[0].location.creation_time,
      last: meetings[meetings.length - 1].location.creation_time,
      closest: meetings.reduce((min, m) => Math.min(min, m.distance), Infinity),
    };
  });
  return groups.sort(
    (a, b) =>
      b.meetings.length - a.meetings.length ||
      a.closest - b.closest ||
      `${a.person.first_name} ${a.person.last_name}`.localeCompare(`${b.person.first_name} ${b.person.last_name}`),
  );
}

function time(l: Location): number {
  return Date.parse(l.creation_time);
}

// utcDate is the YYYY-MM-DD (UTC) of an RFC 3339 time.
export function utcDate(iso: string): string {
  return new Date(iso).toISOString().slice(0, 10);
}

function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

// daysSpanned counts the days from start to end, both included.
export function daysSpanned(start: string, end: string): number {
  return Math.round((Date.parse(`${end}T00:00:00Z`) - Date.parse(`${start}T00:00:00Z`)) / 86_400_000) + 1;
}

export interface DateRange {
  start: string;
  end: string;
  shortened: boolean; // the person's data spans more than MaxRangeDays; start was moved up
}

// defaultRange is the range of dates a person's reports cover, cut to the
// last MaxRangeDays days when longer. Without reports it is today.
export function defaultRange(locations: Location[], today = new Date()): DateRange {
  if (locations.length === 0) {
    const d = today.toISOString().slice(0, 10);
    return { start: d, end: d, shortened: false };
  }
  let first = Infinity;
  let last = -Infinity;
  for (const l of locations) {
    first = Math.min(first, time(l));
    last = Math.max(last, time(l));
  }
  const start = utcDate(new Date(first).toISOString());
  const end = utcDate(new Date(last).toISOString());
  if (daysSpanned(start, end) <= MaxRangeDays) return { start, end, shortened: false };
  return { start: addDays(end, -(MaxRangeDays - 1)), end, shortened: true };
}
