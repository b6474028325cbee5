import type { Connection, Location, Meeting, Person } from '../api';

export const pam: Person = { id: 1, first_name: 'Pam', last_name: 'Trexler', company_name: 'Hampton, Hampton and McQuill' };
export const taco: Person = { id: 5, first_name: 'Taco', last_name: 'Fargo', company_name: 'Alpha Omega Upholstery' };
export const frank: Person = { id: 6, first_name: 'Frank', last_name: 'Shader', company_name: 'USDA' };
export const paul: Person = { id: 8, first_name: 'Paul', last_name: 'Badman', company_name: 'Paul Badman & Associates' };
export const otto: Person = { id: 9, first_name: 'Otto', last_name: 'Spring', company_name: 'The Chicken Sisters Restaurant' };
export const people = [pam, taco, frank, paul, otto];

export function report(id: number, personID: number, time: string, latitude = 37.55363, longitude = -122.290883): Location {
  return { id, person_id: personID, latitude, longitude, creation_time: time };
}

export const pamReports: Location[] = [
  report(36, 1, '2020-07-07T10:37:06Z'),
  report(32, 1, '2020-08-15T10:37:06Z', 37.553441, -122.290521),
  report(29, 1, '2020-08-18T10:37:06Z', 37.553441, -122.290524),
  report(33, 1, '2020-08-19T10:37:06Z', 37.553451, -122.290521),
];

export function met(person: Person, location: Location, distance: number): Connection {
  return { person, location, distance };
}

export const pamConnections: Connection[] = [
  met(taco, report(57, 5, '2020-07-07T10:37:06Z'), 0),
  met(frank, report(34, 6, '2020-07-07T10:37:06Z'), 0),
  met(taco, report(31, 5, '2020-08-15T10:37:06Z', 37.553441, -122.290524), 0.26),
  met(otto, report(65, 9, '2020-07-07T10:37:06Z'), 0),
  met(taco, report(66, 5, '2020-07-07T10:36:06Z'), 1.5),
];

// meeting is a meeting from started to lastSeen, together all that time
// unless changes say otherwise.
export function meeting(id: number, person: Person, started: string, lastSeen: string, closest = 1, changes: Partial<Meeting> = {}): Meeting {
  const span = (Date.parse(lastSeen) - Date.parse(started)) / 1000;
  return {
    id,
    person,
    started,
    last_seen: lastSeen,
    duration_s: span,
    together_s: span,
    closest_m: closest,
    latitude: 37.55363,
    longitude: -122.290883,
    ended: true,
    version: id,
    ...changes,
  };
}

// Pam's meetings, newest first, as the server answers them: the first with
// Taco, 31 minutes long, holds 21 of them together.
export const pamMeetings: Meeting[] = [
  meeting(3, taco, '2020-08-15T10:30:00Z', '2020-08-15T10:45:00Z', 0.26),
  meeting(2, otto, '2020-07-07T10:37:06Z', '2020-07-07T10:37:06Z', 0),
  meeting(1, taco, '2020-07-07T10:21:06Z', '2020-07-07T10:52:06Z', 0, { together_s: 21 * 60 }),
];
