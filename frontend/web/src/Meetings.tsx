import { useEffect, useMemo, useRef, useState } from 'react';
import { liveMeetings, listMeetings, meetingsPage, type Meeting, type Person } from './api';
import { formatDistance, formatDuration, formatSpan, fullName, plural } from './format';
import { errorMessage, isAbort, type Load } from './load';
import { MeetingMap } from './MeetingMap';
import { applyChange, toGroups, type MeetingRange } from './meetings';

// A meeting that changed while the page is open is highlighted this long.
const highlight = 4000; // ms

interface Props {
  person: Person;
  range: MeetingRange;
  onRange: (r: MeetingRange) => void;
}

// Meetings shows whom a person met, one row per meeting, newest first, and
// keeps the list live: the stream of changes is opened first and the list
// read each time it opens, so that no change falls between the two; each
// change is applied by version, so none counts twice.
export function Meetings({ person, range, onRange }: Props) {
  const name = fullName(person);
  const [list, setList] = useState<Load<Meeting[]>>({ state: 'loading' });
  const [next, setNext] = useState<string | null>(null);
  const [more, setMore] = useState<Load<null> | null>(null);
  const [live, setLive] = useState(false);
  const [fresh, setFresh] = useState<number[]>([]);
  const [selectedID, setSelectedID] = useState<number | null>(null);
  const [attempt, setAttempt] = useState(0);
  const timers = useRef<ReturnType<typeof setTimeout>[]>([]);
  const { startDate, endDate } = range;

  useEffect(() => {
    const abort = new AbortController();
    const r = { startDate, endDate };
    let loaded = false;
    let pending: Meeting[] = []; // changes that came before the list
    setList({ state: 'loading' });
    setNext(null);
    const load = () =>
      listMeetings(person.id, r, abort.signal).then(
        (page) => {
          const changes = [...page.items, ...pending];
          pending = [];
          setList((s) => ({ state: 'ready', data: changes.reduce((l, m) => applyChange(l, m, r), s.state === 'ready' ? s.data : []) }));
          if (!loaded) setNext(page.next);
          loaded = true;
        },
        (err) => isAbort(err) || loaded || setList({ state: 'error', message: errorMessage(err) }),
      );
    load();
    const stop = liveMeetings(
      person.id,
      (m) => {
        if (!loaded) {
          pending.push(m);
          return;
        }
        setList((s) => (s.state === 'ready' ? { state: 'ready', data: applyChange(s.data, m, r) } : s));
        setFresh((ids) => [...ids, m.id]);
        timers.current.push(setTimeout(() => setFresh((ids) => ids.filter((id) => id !== m.id)), highlight));
      },
      (open) => {
        setLive(open);
        if (open) load();
      },
    );
    return () => {
      abort.abort();
      stop();
      timers.current.forEach(clearTimeout);
      timers.current = [];
    };
  }, [person.id, startDate, endDate, attempt]);

  async function showMore() {
    if (!next) return;
    setMore({ state: 'loading' });
    try {
      const page = await meetingsPage(next);
      setList((s) => (s.state === 'ready' ? { state: 'ready', data: page.items.reduce((l, m) => applyChange(l, m, range), s.data) } : s));
      setNext(page.next);
      setMore(null);
    } catch (err) {
      setMore({ state: 'error', message: errorMessage(err) });
    }
  }

  const meetings = list.state === 'ready' ? list.data : [];
  const groups = useMemo(() => toGroups(meetings), [meetings]);
  const selected = groups.some((g) => g.person.id === selectedID) ? selectedID : null;

  return (
    <section className="connections" aria-labelledby="connections-heading">
      <h2 id="connections-heading">Whom {name} met</h2>
      <p className="subtitle">{person.company_name}</p>
      <form className="controls" onSubmit={(e) => e.preventDefault()} aria-label="Meeting dates">
        <div className="field">
          <label htmlFor="from">From</label>
          <input id="from" type="date" value={startDate} max={endDate || undefined} onChange={(e) => onRange({ startDate: e.target.value, endDate })} />
        </div>
        <div className="field">
          <label htmlFor="to">To</label>
          <input id="to" type="date" value={endDate} min={startDate || undefined} onChange={(e) => onRange({ startDate, endDate: e.target.value })} />
        </div>
        <button type="button" className="secondary" onClick={() => onRange({ startDate: '', endDate: '' })}>
          Any day
        </button>
      </form>
      <p className="hint live-state" role="status">
        {live ? 'Live: new meetings appear as they happen.' : 'Connecting to live updates…'}
      </p>

      {list.state === 'loading' && (
        <p className="state loading" role="status">
          Loading {name}'s meetings…
        </p>
      )}
      {list.state === 'error' && (
        <div className="state error" role="alert">
          <p>{name}'s meetings could not be loaded. {list.message}</p>
          <button type="button" onClick={() => setAttempt((n) => n + 1)}>
            Try again
          </button>
        </div>
      )}
      {list.state === 'ready' && (
        <div className="results">
          <div className="result-list">
            {meetings.length === 0 ? (
              <p className="state empty">No meetings of {name} yet{startDate || endDate ? ' in these days' : ''}.</p>
            ) : (
              <p className="summary">
                {plural(meetings.length, 'meeting', 'meetings')} with {plural(groups.length, 'person', 'people')}
                {next ? ', more below' : ''}
              </p>
            )}
            <ol className="group-list" aria-label={`Meetings of ${name}`}>
              {meetings.map((m) => {
                const isSelected = m.person.id === selected;
                const classes = [isSelected && 'selected', fresh.includes(m.id) && 'fresh'].filter(Boolean).join(' ');
                return (
                  <li key={m.id} className={classes || undefined} data-meeting={m.id}>
                    <button type="button" className="group" aria-pressed={isSelected} onClick={() => setSelectedID(isSelected ? null : m.person.id)}>
                      <span className="name">{fullName(m.person)}</span>
                      <span className="count">{m.ended ? 'ended' : 'ongoing'}</span>
                      <span className="company">{m.person.company_name}</span>
                      <span className="when">
                        {formatSpan(m.started, m.last_seen)}, for {formatDuration(m.duration_s)}
                      </span>
                      <span className="closest">
                        closest {formatDistance(m.closest_m)}, at {m.latitude.toFixed(5)}, {m.longitude.toFixed(5)}
                      </span>
                    </button>
                  </li>
                );
              })}
            </ol>
            {next && (
              <button type="button" className="secondary" onClick={showMore} disabled={more?.state === 'loading'}>
                Show more
              </button>
            )}
            {more?.state === 'error' && (
              <p className="problem" role="alert">
                More meetings could not be loaded. {more.message}
              </p>
            )}
          </div>
          <MeetingMap ownerName={name} own={[]} groups={groups} selectedID={selected} onSelect={setSelectedID} />
        </div>
      )}
    </section>
  );
}
