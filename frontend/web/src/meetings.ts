import type { Connection, Meeting } from './api';
import { groupConnections, type ConnectionGroup } from './connections';
import { dayIn } from './format';

// A MeetingRange is the days whose meetings are shown (YYYY-MM-DD, in the
// venue's time zone, both included); an empty bound is open.
export interface MeetingRange {
  startDate: string;
  endDate: string;
}

// newestFirst orders meetings as the server does: by start, newest first.
function newestFirst(a: Meeting, b: Meeting): number {
  return Date.parse(b.started) - Date.parse(a.started) || b.id - a.id;
}

// inRange reports whether a meeting overlaps the range's days in zone.
export function inRange(m: Meeting, r: MeetingRange, zone: string): boolean {
  if (r.startDate && dayIn(m.last_seen, zone) < r.startDate) return false;
  if (r.endDate && dayIn(m.started, zone) > r.endDate) return false;
  return true;
}

// serverRange is the range in UTC days that holds r's days in any zone:
// a day more on each side.
export function serverRange(r: MeetingRange): MeetingRange {
  const shift = (d: string, days: number) => (d ? new Date(Date.parse(`${d}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10) : '');
  return { startDate: shift(r.startDate, -1), endDate: shift(r.endDate, 1) };
}

// applyChange brings a list up to date with one change of a meeting: a
// newer version replaces the one held, a merged meeting is dropped, a new
// meeting in the range joins, in order. An older version changes nothing,
// so the same change twice, from a page and the stream, counts once.
export function applyChange(list: Meeting[], m: Meeting, r: MeetingRange, zone: string): Meeting[] {
  const held = list.find((x) => x.id === m.id);
  if (held && held.version >= m.version) return list;
  const rest = list.filter((x) => x.id !== m.id);
  if (m.merged_into || !inRange(m, r, zone)) return rest;
  return [...rest, m].sort(newestFirst);
}

// toGroups groups meetings by the other person for the map: each meeting a
// point at its centre, with its start and closest distance.
export function toGroups(meetings: Meeting[]): ConnectionGroup[] {
  return groupConnections(
    meetings.map(
      (m): Connection => ({
        person: m.person,
        location: { id: m.id, person_id: m.person.id, latitude: m.latitude, longitude: m.longitude, creation_time: m.started },
        distance: m.closest_m,
      }),
    ),
  );
}
