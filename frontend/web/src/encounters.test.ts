import { filterEncounters, noFilter, sortEncounters, summarize, toEncounters } from './encounters';
import { fullName } from './format';
import { frank, meeting, otto, taco } from './test/fixtures';

// Taco: two meetings (20 of 30 min together, then 10), the last ending 09:40
// on 8 July, 3 m at closest. Frank: one of 60 min on 7 July, 0.5 m. Otto:
// one of 5 min ending 12:05 on 8 July, 20 m, from a server that does not say
// how long they were together.
const meetings = [
  meeting(1, taco, '2020-07-07T10:00:00Z', '2020-07-07T10:30:00Z', 4, { together_s: 20 * 60 }),
  meeting(2, frank, '2020-07-07T11:00:00Z', '2020-07-07T12:00:00Z', 0.5),
  meeting(3, taco, '2020-07-08T09:30:00Z', '2020-07-08T09:40:00Z', 3),
  meeting(4, otto, '2020-07-08T12:00:00Z', '2020-07-08T12:05:00Z', 20, { together_s: undefined }),
];
const names = (list: ReturnType<typeof toEncounters>) => list.map((e) => fullName(e.person));

describe('encounters', () => {
  const all = toEncounters(meetings);

  it('sums each person’s meetings: count, time together, last meeting, closest', () => {
    const t = all.find((e) => e.person.id === taco.id)!;
    expect(t.meetings.map((m) => m.id)).toEqual([3, 1]); // newest first
    expect(t.togetherS).toBe(30 * 60);
    expect(all.find((e) => e.person.id === otto.id)!.togetherS).toBe(5 * 60); // its span stands in
    expect(t.last).toBe('2020-07-08T09:40:00Z');
    expect(t.closestM).toBe(3);
  });

  it('summarizes people, meetings and time together', () => {
    expect(summarize(all)).toEqual({ people: 3, meetings: 4, togetherS: (20 + 60 + 10 + 5) * 60 });
    expect(summarize([])).toEqual({ people: 0, meetings: 0, togetherS: 0 });
  });

  it.each([
    ['time', ['Frank Shader', 'Taco Fargo', 'Otto Spring']],
    ['recent', ['Otto Spring', 'Taco Fargo', 'Frank Shader']],
    ['closest', ['Frank Shader', 'Taco Fargo', 'Otto Spring']],
    ['name', ['Frank Shader', 'Otto Spring', 'Taco Fargo']],
  ] as const)('sorts by %s', (sort, want) => {
    expect(names(sortEncounters(all, sort))).toEqual(want);
  });

  it('filters by name or company, meetings and distance', () => {
    const none = noFilter;
    expect(names(filterEncounters(all, none))).toHaveLength(3);
    expect(names(filterEncounters(all, { ...none, query: 'usda' }))).toEqual(['Frank Shader']);
    expect(names(filterEncounters(all, { ...none, query: 'chicken otto' }))).toEqual(['Otto Spring']);
    expect(names(filterEncounters(all, { ...none, minMeetings: 2 }))).toEqual(['Taco Fargo']);
    expect(names(sortEncounters(filterEncounters(all, { ...none, minTogetherS: 30 * 60 }), 'name'))).toEqual(['Frank Shader', 'Taco Fargo']);
    expect(names(filterEncounters(all, { ...none, minTogetherS: 30 * 60 + 1 }))).toEqual(['Frank Shader']);
    expect(names(sortEncounters(filterEncounters(all, { ...none, withinM: 3 }), 'name'))).toEqual(['Frank Shader', 'Taco Fargo']);
  });
});
