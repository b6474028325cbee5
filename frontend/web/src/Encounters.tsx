import { useEffect, useMemo, useRef, useState } from 'react';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { allMeetings, liveMeetings, type Location, type Meeting, type Person } from './api';
import { DetectionLag } from './Detection';
import { filterEncounters, noFilter, sortEncounters, sorts, summarize, togetherS, toEncounters, type Encounter, type Filter, type Sort } from './encounters';
import { formatDistance, formatDuration, formatSpan, formatTime, fullName, plural } from './format';
import { errorMessage, useKept } from './load';
import { MeetingMap } from './MeetingMap';
import { applyChange, inRange, serverRange, toGroups, type MeetingRange } from './meetings';
import { useZone } from './zone';

// The view's state, which the address holds (see PersonPage).
export interface View {
  range: MeetingRange;
  sort: Sort;
  filter: Filter;
  with: number | null; // the person whose card is open
  meeting: number | null; // the meeting centred on the map
  show: 'list' | 'map'; // on a phone
}

// The meetings' map draws no reports of the person's own: one list for
// every render, so that the map is not drawn again when nothing changed.
const noReports: Location[] = [];

interface Props {
  person: Person;
  view: View;
  onView: (change: Partial<View>, replace?: boolean) => void;
}

// How long a card whose meeting just started or ended is highlighted.
const freshMS = 4000;

// How long the filters stay the same before the map follows them.
const settleMS = 200;

// useSettled is value once it has stayed the same for ms, and at first.
function useSettled<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

// useMeetings reads all of a person's meetings in the range's days (in the
// venue's zone) and keeps them live: each change from the stream is applied
// by version, and the list read again whenever the stream (re)opens, so that
// no change falls between the two. fresh holds the people whose meeting the
// stream just brought, for a moment.
function useMeetings(personID: number, range: MeetingRange, zone: string) {
  const queries = useQueryClient();
  const [live, setLive] = useState(false);
  const [fresh, setFresh] = useState<ReadonlySet<number>>(new Set());
  const timers = useRef(new Set<ReturnType<typeof setTimeout>>());
  useEffect(() => () => timers.current.forEach(clearTimeout), []);
  const refresh = (id: number, on: boolean) =>
    setFresh((was) => {
      const next = new Set(was);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  const key = useMemo(() => ['meetings', personID, range.startDate, range.endDate, zone], [personID, range.startDate, range.endDate, zone]);
  const meetings = useQuery({
    queryKey: key,
    queryFn: async ({ signal }) => (await allMeetings(personID, serverRange(range), signal)).filter((m) => inRange(m, range, zone)),
    placeholderData: keepPreviousData,
  });
  useEffect(
    () =>
      liveMeetings(
        personID,
        (m: Meeting) => {
          queries.setQueryData<Meeting[]>(key, (list) => (list ? applyChange(list, m, range, zone) : list));
          refresh(m.person.id, true);
          const timer = setTimeout(() => {
            timers.current.delete(timer);
            refresh(m.person.id, false);
          }, freshMS);
          timers.current.add(timer);
        },
        (open) => {
          setLive(open);
          if (open) queries.invalidateQueries({ queryKey: key, exact: true });
        },
      ),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [queries, key],
  );
  return { meetings, live, fresh };
}

// Encounters is a person's view about whom they met: a summary, a card per
// person (meetings, time together, last meeting, closest), searched, sorted
// and filtered, beside a map that stays in view. Only the cards in view are
// drawn. While new results load, or after a reload failed, the last ones
// stay, dimmed.
export function Encounters({ person, view, onView }: Props) {
  const zone = useZone();
  const name = fullName(person);
  const { meetings, live, fresh } = useMeetings(person.id, view.range, zone);
  const list = useKept(meetings.data);
  const all = useMemo(() => toEncounters(list ?? []), [list]);
  // The address makes a new filter at each render: this one changes only with its values.
  const { query, minMeetings, minTogetherS, withinM } = view.filter;
  const filter = useMemo(() => ({ query, minMeetings, minTogetherS, withinM }), [query, minMeetings, minTogetherS, withinM]);
  const shown = useMemo(() => sortEncounters(filterEncounters(all, filter), view.sort), [all, filter, view.sort]);
  // The map shows what the list shows, the meetings of the people the filters
  // keep, once the filters have settled: drawing it again at each keystroke
  // took 0.1 to 0.4 s on a CPU 4x slower.
  const mapFilter = useSettled(filter, settleMS);
  const groups = useMemo(() => toGroups(filterEncounters(all, mapFilter).flatMap((e) => e.meetings)), [all, mapFilter]);
  const total = summarize(all);
  const stale = list !== undefined && (meetings.isPlaceholderData || meetings.isError || meetings.data === undefined);
  const scroller = useRef<HTMLDivElement>(null);
  const cards = useVirtualizer({ count: shown.length, getScrollElement: () => scroller.current, estimateSize: () => 128, overscan: 3 });
  const selectedIndex = shown.findIndex((e) => e.person.id === view.with);

  // A person selected on the map, or from the address, is brought into view.
  const lastScrolled = useRef<number | null>(null);
  useEffect(() => {
    if (selectedIndex >= 0 && lastScrolled.current !== view.with) {
      lastScrolled.current = view.with;
      cards.scrollToIndex(selectedIndex, { align: 'start' });
    }
  }, [selectedIndex, view.with, cards]);

  const setFilter = (f: Partial<Filter>) => onView({ filter: { ...view.filter, ...f } }, true);
  const [unfolded, setUnfolded] = useState(false);
  const on = [
    view.range.startDate,
    view.range.endDate,
    view.filter.query,
    view.sort !== 'time',
    view.filter.minMeetings > 1,
    view.filter.minTogetherS > 0,
    view.filter.withinM !== null,
  ].filter(Boolean).length;

  return (
    <section className="connections" aria-labelledby="connections-heading">
      <h2 id="connections-heading">Whom {name} met</h2>
      <p className="subtitle">{person.company_name}</p>
      <button type="button" className="secondary filters-toggle" aria-expanded={unfolded} aria-controls="which-meetings" onClick={() => setUnfolded(!unfolded)}>
        Filters{on > 0 && ` (${on} on)`}
      </button>
      <form id="which-meetings" className={`controls${unfolded ? '' : ' folded'}`} onSubmit={(e) => e.preventDefault()} aria-label="Which meetings">
        <DateField id="from" label="From" value={view.range.startDate} onDate={(d) => onView({ range: { ...view.range, startDate: d } })} />
        <DateField id="to" label="To" value={view.range.endDate} onDate={(d) => onView({ range: { ...view.range, endDate: d } })} />
        <div className="field">
          <label htmlFor="find">Find a person</label>
          <input id="find" type="search" value={view.filter.query} autoComplete="off" onChange={(e) => setFilter({ query: e.target.value })} />
        </div>
        <div className="field">
          <label htmlFor="sort">Sort by</label>
          <select id="sort" value={view.sort} onChange={(e) => onView({ sort: e.target.value as Sort })}>
            {sorts.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="within">Closest within (m)</label>
          <input
            id="within"
            type="number"
            inputMode="decimal"
            min="0"
            step="any"
            value={view.filter.withinM ?? ''}
            onChange={(e) => setFilter({ withinM: e.target.value === '' || !(Number(e.target.value) >= 0) ? null : Number(e.target.value) })}
          />
        </div>
        <div className="field">
          <label htmlFor="min">At least (meetings)</label>
          <input id="min" type="number" inputMode="numeric" min="1" step="1" value={view.filter.minMeetings} onChange={(e) => setFilter({ minMeetings: Math.max(1, Math.floor(Number(e.target.value)) || 1) })} />
        </div>
        <div className="field">
          <label htmlFor="together">At least (minutes together)</label>
          <input
            id="together"
            type="number"
            inputMode="numeric"
            min="0"
            step="1"
            value={view.filter.minTogetherS / 60 || ''}
            onChange={(e) => setFilter({ minTogetherS: Math.max(0, Math.floor(Number(e.target.value)) || 0) * 60 })}
          />
        </div>
        <button type="button" className="secondary" onClick={() => onView({ range: { startDate: '', endDate: '' }, filter: noFilter })}>
          Clear
        </button>
      </form>

      <p className="hint live-state" role="status">
        {live ? 'Live: new meetings appear as they happen.' : 'Connecting to live updates…'}
      </p>
      <DetectionLag />
      {meetings.isPending && (
        <p className="state loading" role="status">
          Loading {name}'s meetings…
        </p>
      )}
      {meetings.isError && (
        <div className="state error" role="alert">
          <p>
            {name}'s meetings could not be {list ? 'brought up to date; these are the last ones read' : 'loaded'}. {errorMessage(meetings.error)}
          </p>
          <button type="button" onClick={() => meetings.refetch()}>
            Try again
          </button>
        </div>
      )}
      {list && (
        <>
          <p className="summary" role="status" aria-live="polite">
            {total.people === 0
              ? `No meetings of ${name} yet${view.range.startDate || view.range.endDate ? ' in these days' : ''}.`
              : `Met ${plural(total.people, 'person', 'people')} in ${plural(total.meetings, 'meeting', 'meetings')}, ${formatDuration(total.togetherS)} together`}
            {shown.length !== all.length && `; showing ${plural(shown.length, 'person', 'people')}`}
          </p>
          <div className="switch" role="group" aria-label="Show">
            <button type="button" aria-pressed={view.show === 'list'} onClick={() => onView({ show: 'list' }, true)}>
              List
            </button>
            <button type="button" aria-pressed={view.show === 'map'} onClick={() => onView({ show: 'map' }, true)}>
              Map
            </button>
          </div>
          <div className={`results show-${view.show}${stale ? ' stale' : ''}`} aria-busy={meetings.isFetching || undefined}>
            <div className="result-list">
              <div ref={scroller} className="card-scroll">
                <ol className="group-list" aria-label={`People ${name} met`} style={{ height: cards.getTotalSize() }}>
                  {cards.getVirtualItems().map((row) => {
                    const e = shown[row.index];
                    return (
                      <li
                        key={e.person.id}
                        ref={cards.measureElement}
                        data-index={row.index}
                        data-person={e.person.id}
                        className={[e.person.id === view.with && 'selected', fresh.has(e.person.id) && 'fresh'].filter(Boolean).join(' ') || undefined}
                        style={{ transform: `translateY(${row.start}px)` }}
                      >
                        <Card
                          e={e}
                          selected={e.person.id === view.with}
                          meeting={view.meeting}
                          onSelect={(open) => onView({ with: open ? e.person.id : null, meeting: null })}
                          onMeeting={(id) => onView({ with: e.person.id, meeting: id }, true)}
                        />
                      </li>
                    );
                  })}
                </ol>
              </div>
            </div>
            <MeetingMap
              ownerName={name}
              own={noReports}
              groups={groups}
              selectedID={view.with}
              selectedMeeting={view.meeting}
              onSelect={(id) => onView({ with: id, meeting: null, show: 'list' })}
            />
          </div>
        </>
      )}
    </section>
  );
}

interface CardProps {
  e: Encounter;
  selected: boolean;
  meeting: number | null;
  onSelect: (open: boolean) => void;
  onMeeting: (id: number) => void;
}

function Card({ e, selected, meeting, onSelect, onMeeting }: CardProps) {
  const zone = useZone();
  const name = fullName(e.person);
  return (
    <>
      <button type="button" className="group" aria-expanded={selected} onClick={() => onSelect(!selected)}>
        <span className="name">{name}</span>
        <span className="company">{e.person.company_name}</span>
        <span className="facts">
          {plural(e.meetings.length, 'meeting', 'meetings')} · {formatDuration(e.togetherS)} together · closest {formatDistance(e.closestM)}
        </span>
        <span className="when">last {formatTime(e.last, zone)}</span>
      </button>
      {selected && (
        <ol className="meetings" aria-label={`Meetings with ${name}`}>
          {e.meetings.map((m) => (
            <li key={m.id}>
              <button type="button" className="meeting" aria-pressed={m.id === meeting} onClick={() => onMeeting(m.id)}>
                {formatSpan(m.started, m.last_seen, zone)}, {formatDuration(togetherS(m))} together, closest {formatDistance(m.closest_m)}
                {m.ended ? '' : ' (ongoing)'}
              </button>
            </li>
          ))}
        </ol>
      )}
    </>
  );
}

// DateField takes a day as YYYY-MM-DD, the format the times are shown in; a
// day is applied once it is whole, and a problem shown once the field is
// left.
function DateField({ id, label, value, onDate }: { id: string; label: string; value: string; onDate: (d: string) => void }) {
  const ref = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (ref.current && document.activeElement !== ref.current) ref.current.value = value;
  }, [value]);
  const problemID = `${id}-problem`;
  const check = (v: string, leaving: boolean) => {
    const ok = v === '' || isDay(v);
    if (ok && v !== value) onDate(v);
    const input = ref.current!;
    if (leaving || ok) {
      input.setAttribute('aria-invalid', String(!ok));
      document.getElementById(problemID)!.textContent = ok ? '' : 'Enter a day as YYYY-MM-DD, such as 2020-07-07.';
    }
  };
  return (
    <div className="field">
      <label htmlFor={id}>{label} (YYYY-MM-DD)</label>
      <input
        ref={ref}
        id={id}
        defaultValue={value}
        inputMode="numeric"
        placeholder="YYYY-MM-DD"
        aria-describedby={problemID}
        onChange={(e) => isDay(e.target.value) && check(e.target.value, false)}
        onBlur={(e) => check(e.target.value, true)}
      />
      <p className="problem" id={problemID} aria-live="polite" />
    </div>
  );
}

export function isDay(v: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(`${v}T00:00:00Z`)) && new Date(`${v}T00:00:00Z`).toISOString().startsWith(v);
}
