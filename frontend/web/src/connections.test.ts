import { daysSpanned, defaultRange, groupConnections } from './connections';
import { frank, otto, pamConnections, pamReports, report, taco } from './test/fixtures';

describe('groupConnections', () => {
  it('groups by person, most meetings first, with first, last and closest', () => {
    const groups = groupConnections(pamConnections);
    expect(groups.map((g) => [g.person.id, g.meetings.length])).toEqual([
      [taco.id, 3],
      [frank.id, 1],
      [otto.id, 1],
    ]);
    const t = groups[0];
    expect(t.first).toBe('2020-07-07T10:36:06Z');
    expect(t.last).toBe('2020-08-15T10:37:06Z');
    expect(t.closest).toBe(0);
    expect(t.meetings.map((m) => m.location.id)).toEqual([66, 57, 31]);
  });

  it('orders equal counts by closest distance, then by name', () => {
    const groups = groupConnections([
      { person: otto, location: report(1, 9, '2020-01-01T00:00:00Z'), distance: 3 },
      { person: frank, location: report(2, 6, '2020-01-01T00:00:00Z'), distance: 3 },
      { person: taco, location: report(3, 5, '2020-01-01T00:00:00Z'), distance: 1 },
    ]);
    expect(groups.map((g) => g.person.first_name)).toEqual(['Taco', 'Frank', 'Otto']);
  });

  it('returns no groups for no connections', () => {
    expect(groupConnections([])).toEqual([]);
  });
});

describe('defaultRange', () => {
  it('covers the first to the last report, in UTC days', () => {
    expect(defaultRange(pamReports)).toEqual({ start: '2020-07-07', end: '2020-08-19', shortened: false });
  });

  it('uses the UTC date of a time given with an offset', () => {
    const r = defaultRange([report(1, 1, '2020-07-07T23:30:00-02:00')]);
    expect(r).toEqual({ start: '2020-07-08', end: '2020-07-08', shortened: false });
  });

  it('keeps the latest 366 days of a longer span', () => {
    const r = defaultRange([report(1, 5, '2019-07-07T10:37:06Z'), report(2, 5, '2020-08-15T10:37:06Z')]);
    expect(r).toEqual({ start: '2019-08-16', end: '2020-08-15', shortened: true });
    expect(daysSpanned(r.start, r.end)).toBe(366);
  });

  it('is today without reports', () => {
    expect(defaultRange([], new Date('2024-03-01T12:00:00Z'))).toEqual({ start: '2024-03-01', end: '2024-03-01', shortened: false });
  });
});
