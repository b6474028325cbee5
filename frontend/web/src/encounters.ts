import type { Meeting, Person } from './api';
import { fullName, matches } from './format';

// An Encounter is everything a person had with one other: their meetings,
// newest first, how long they were together, when they last met and how
// close they came.
export interface Encounter {
  person: Person;
  meetings: Meeting[];
  togetherS: number;
  last: string; // RFC 3339: the end of the latest meeting
  closestM: number;
}

export type Sort = 'time' | 'recent' | 'closest' | 'name';

export const sorts: { value: Sort; label: string }[] = [
  { value: 'time', label: 'Most time together' },
  { value: 'recent', label: 'Most recent' },
  { value: 'closest', label: 'Closest' },
  { value: 'name', label: 'Name' },
];

export function isSort(s: string | null): s is Sort {
  return sorts.some((x) => x.value === s);
}

// togetherS is how long a meeting's two people were together: its
// together_s, or its whole span from a server that does not say.
export function togetherS(m: Meeting): number {
  return m.together_s ?? m.duration_s;
}

// toEncounters groups meetings by the other person.
export function toEncounters(meetings: Meeting[]): Encounter[] {
  const byPerson = new Map<number, Encounter>();
  for (const m of meetings) {
    let e = byPerson.get(m.person.id);
    if (!e) {
      e = { person: m.person, meetings: [], togetherS: 0, last: m.last_seen, closestM: m.closest_m };
      byPerson.set(m.person.id, e);
    }
    e.meetings.push(m);
    e.togetherS += togetherS(m);
    if (Date.parse(m.last_seen) > Date.parse(e.last)) e.last = m.last_seen;
    e.closestM = Math.min(e.closestM, m.closest_m);
  }
  for (const e of byPerson.values()) e.meetings.sort((a, b) => Date.parse(b.started) - Date.parse(a.started) || b.id - a.id);
  return [...byPerson.values()];
}

// Summary is "met people in meetings, together" over encounters.
export interface Summary {
  people: number;
  meetings: number;
  togetherS: number;
}

export function summarize(encounters: Encounter[]): Summary {
  return encounters.reduce((s, e) => ({ people: s.people + 1, meetings: s.meetings + e.meetings.length, togetherS: s.togetherS + e.togetherS }), {
    people: 0,
    meetings: 0,
    togetherS: 0,
  });
}

const order: Record<Sort, (a: Encounter, b: Encounter) => number> = {
  time: (a, b) => b.togetherS - a.togetherS,
  recent: (a, b) => Date.parse(b.last) - Date.parse(a.last),
  closest: (a, b) => a.closestM - b.closestM,
  name: () => 0,
};

// sortEncounters orders encounters by sort, then by name and id.
export function sortEncounters(encounters: Encounter[], sort: Sort): Encounter[] {
  return [...encounters].sort((a, b) => order[sort](a, b) || fullName(a.person).localeCompare(fullName(b.person)) || a.person.id - b.person.id);
}

// Filter keeps the encounters whose person matches query (every word in
// the names or company) and who met at least minMeetings times, at least
// minTogetherS seconds in all, at most withinM metres apart when set.
export interface Filter {
  query: string;
  minMeetings: number;
  minTogetherS: number;
  withinM: number | null;
}

export const noFilter: Filter = { query: '', minMeetings: 1, minTogetherS: 0, withinM: null };

export function filterEncounters(encounters: Encounter[], f: Filter): Encounter[] {
  return encounters.filter(
    (e) => e.meetings.length >= f.minMeetings && e.togetherS >= f.minTogetherS && (f.withinM === null || e.closestM <= f.withinM) && matches(e.person, f.query),
  );
}
