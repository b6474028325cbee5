import { nextLink } from './api';
import { applyChange, inRange, toGroups } from './meetings';
import { frank, meeting, otto, pamMeetings, taco } from './test/fixtures';

const anyDay = { startDate: '', endDate: '' };

describe('applyChange', () => {
  it('puts a new meeting in its place, newest first', () => {
    const m = meeting(4, frank, '2020-08-01T09:00:00Z', '2020-08-01T09:20:00Z', 2, { ended: false, version: 10 });
    expect(applyChange(pamMeetings, m, anyDay, 'UTC').map((x) => x.id)).toEqual([3, 4, 2, 1]);
  });

  it('replaces a meeting with a newer version, and only a newer one', () => {
    const ended = { ...pamMeetings[1], last_seen: '2020-07-07T10:50:00Z', version: 7 };
    const updated = applyChange(pamMeetings, ended, anyDay, 'UTC');
    expect(updated.map((x) => [x.id, x.version])).toEqual([
      [3, 3],
      [2, 7],
      [1, 1],
    ]);
    expect(applyChange(updated, pamMeetings[1], anyDay, 'UTC')).toBe(updated);
    expect(applyChange(updated, ended, anyDay, 'UTC')).toBe(updated);
  });

  it('drops a meeting merged into another', () => {
    const merged = { ...pamMeetings[0], merged_into: 1, version: 9 };
    expect(applyChange(pamMeetings, merged, anyDay, 'UTC').map((x) => x.id)).toEqual([2, 1]);
  });

  it('keeps out a meeting outside the days shown', () => {
    const m = meeting(5, frank, '2020-09-01T09:00:00Z', '2020-09-01T09:20:00Z');
    expect(applyChange(pamMeetings, m, { startDate: '2020-08-01', endDate: '2020-08-31' }, 'UTC').map((x) => x.id)).toEqual([3, 2, 1]);
  });
});

describe('inRange', () => {
  const m = meeting(1, taco, '2020-08-15T23:50:00Z', '2020-08-16T00:10:00Z');
  it.each([
    ['', '', true],
    ['2020-08-16', '', true], // it goes on past midnight
    ['2020-08-17', '', false],
    ['', '2020-08-15', true],
    ['', '2020-08-14', false],
    ['2020-08-15', '2020-08-15', true],
  ])('from %j to %j: %s', (startDate, endDate, want) => {
    expect(inRange(m, { startDate, endDate }, 'UTC')).toBe(want);
  });
});

describe('inRange in the venue zone', () => {
  // 23:50 UTC on 15 August is 08:50 on 16 August in Tokyo.
  const m = meeting(1, taco, '2020-08-15T23:50:00Z', '2020-08-15T23:55:00Z');
  it('takes the days of the zone', () => {
    expect(inRange(m, { startDate: '2020-08-16', endDate: '2020-08-16' }, 'Asia/Tokyo')).toBe(true);
    expect(inRange(m, { startDate: '2020-08-16', endDate: '2020-08-16' }, 'UTC')).toBe(false);
  });
});

describe('toGroups', () => {
  it('groups meetings by person, each a point at its centre', () => {
    const groups = toGroups(pamMeetings);
    expect(groups.map((g) => [g.person.id, g.meetings.length])).toEqual([
      [taco.id, 2],
      [otto.id, 1],
    ]);
    expect(groups[0].meetings[0].location).toEqual({ id: 1, person_id: taco.id, latitude: 37.55363, longitude: -122.290883, creation_time: '2020-07-07T10:21:06Z' });
  });
});

describe('nextLink', () => {
  it.each([
    ['</api/persons/1/meetings?limit=2&after=2020-07-07T10%3A00%3A00Z%2C4>; rel="next"', '/api/persons/1/meetings?limit=2&after=2020-07-07T10%3A00%3A00Z%2C4'],
    [null, null],
    ['<https://elsewhere.example/api/x>; rel="next"', null],
    ['</api/persons/1/meetings>; rel="prev"', null],
  ])('%j', (header, want) => {
    expect(nextLink(header)).toBe(want);
  });
});
