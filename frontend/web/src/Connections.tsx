import { useEffect, useMemo, useRef, useState } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import { listConnections, listLocations, type Connection, type ConnectionParams, type Location, type Person } from './api';
import {
  DefaultDistance,
  DefaultWindow,
  MaxDistance,
  MaxRangeDays,
  daysSpanned,
  defaultRange,
  groupConnections,
  windowOptions,
  type ConnectionGroup,
  type DateRange,
} from './connections';
import { formatDate, formatDistance, formatSpan, formatTime, fullName, plural } from './format';
import { errorMessage, isAbort, useKept, type Load } from './load';
import { isDay } from './Encounters';
import { MeetingMap } from './MeetingMap';
import { useZone } from './zone';

// Controls are the query as the form holds it.
export interface Controls {
  start: string;
  end: string;
  distance: string;
  window: string;
}

type Problems = Partial<Record<keyof Controls, string>>;

const dayFormat = 'Enter a day as YYYY-MM-DD, such as 2020-07-07.';

export function checkControls(c: Controls): Problems {
  const p: Problems = {};
  if (!c.start) p.start = 'Choose the first day.';
  else if (!isDay(c.start)) p.start = dayFormat;
  if (!c.end) p.end = 'Choose the last day.';
  else if (!isDay(c.end)) p.end = dayFormat;
  else if (c.start && c.end < c.start) p.end = 'The last day must not be before the first.';
  else if (c.start && daysSpanned(c.start, c.end) > MaxRangeDays) p.end = `The range can span at most ${MaxRangeDays} days.`;
  const d = Number(c.distance);
  if (c.distance.trim() === '' || !Number.isFinite(d) || d <= 0 || d > MaxDistance) {
    p.distance = `Enter a distance above 0 and at most ${MaxDistance.toLocaleString('en-GB')} m.`;
  }
  return p;
}

function defaults(r: DateRange): Controls {
  return { start: r.start, end: r.end, distance: String(DefaultDistance), window: DefaultWindow };
}

// Changes to the controls are sent after this pause, so typing a distance
// sends one request.
const settle = 250;

export function Connections({ person }: { person: Person }) {
  const name = fullName(person);
  const [reports, setReports] = useState<Load<Location[]>>({ state: 'loading' });
  const [reportsTry, setReportsTry] = useState(0);
  const [range, setRange] = useState<DateRange | null>(null);
  const [controls, setControls] = useState<Controls | null>(null);
  // The answer to the query it is for: one for an older query is not shown.
  const [answer, setAnswer] = useState<{ query: string; result: Load<Connection[]> } | null>(null);
  const [resultTry, setResultTry] = useState(0);
  const [selectedID, setSelectedID] = useState<number | null>(null);
  // A field's problem shows once the user has left it.
  const [left, setLeft] = useState<ReadonlySet<string>>(new Set());
  const leave = (id: string) => () => setLeft((l) => new Set(l).add(id));

  useEffect(() => {
    const abort = new AbortController();
    setReports({ state: 'loading' });
    listLocations(person.id, abort.signal).then(
      (data) => {
        const r = defaultRange(data);
        setReports({ state: 'ready', data });
        setRange(r);
        setControls((c) => c ?? defaults(r));
      },
      (err) => isAbort(err) || setReports({ state: 'error', message: errorMessage(err) }),
    );
    return () => abort.abort();
  }, [person.id, reportsTry]);

  const problems = controls ? checkControls(controls) : {};
  const shown = (id: string, problem?: string) => (left.has(id) ? problem : undefined);
  const params: ConnectionParams | null =
    controls && Object.keys(problems).length === 0
      ? { startDate: controls.start, endDate: controls.end, distance: Number(controls.distance), window: controls.window || undefined }
      : null;
  const hasReports = reports.state === 'ready' && reports.data.length > 0;
  const query = hasReports && params ? JSON.stringify(params) : null;

  useEffect(() => {
    if (!query) return;
    const abort = new AbortController();
    setAnswer(null);
    const timer = setTimeout(() => {
      listConnections(person.id, JSON.parse(query) as ConnectionParams, abort.signal).then(
        (data) => setAnswer({ query, result: { state: 'ready', data } }),
        (err) => isAbort(err) || setAnswer({ query, result: { state: 'error', message: errorMessage(err) } }),
      );
    }, settle);
    return () => {
      clearTimeout(timer);
      abort.abort();
    };
  }, [person.id, query, resultTry]);

  const current: Load<Connection[]> = answer && answer.query === query ? answer.result : { state: 'loading' };
  // While a new answer loads, or after it failed, the last one stays, dimmed.
  const kept = useKept(answer?.result.state === 'ready' ? answer : undefined);
  const stale = current.state !== 'ready' && kept !== undefined;
  const result = stale ? kept.result : current;
  const shownParams: ConnectionParams | null = stale ? (JSON.parse(kept.query) as ConnectionParams) : params;
  const groups = useMemo(() => (result.state === 'ready' ? groupConnections(result.data) : []), [result]);
  const selected = groups.some((g) => g.person.id === selectedID) ? selectedID : null;
  const set = (change: Partial<Controls>) => setControls((c) => (c ? { ...c, ...change } : c));

  return (
    <section className="connections" aria-labelledby="connections-heading">
      <h2 id="connections-heading">Whom {name} met</h2>
      <p className="subtitle">{person.company_name}</p>

      {reports.state === 'loading' && (
        <p className="state loading" role="status">
          Loading {name}'s location reports…
        </p>
      )}
      {reports.state === 'error' && (
        <div className="state error" role="alert">
          <p>{name}'s location reports could not be loaded. {reports.message}</p>
          <button type="button" onClick={() => setReportsTry((n) => n + 1)}>
            Try again
          </button>
        </div>
      )}
      {reports.state === 'ready' && !hasReports && (
        <p className="state empty">{name} has no location reports yet, so there is no one to connect them with.</p>
      )}

      {hasReports && controls && range && (
        <>
          <form className="controls" onSubmit={(e) => e.preventDefault()} aria-label="Connection search">
            <div className="field">
              <label htmlFor="from">From (YYYY-MM-DD, UTC)</label>
              <input id="from" inputMode="numeric" placeholder="YYYY-MM-DD" value={controls.start} required onChange={(e) => set({ start: e.target.value.trim() })} onBlur={leave('from')} {...invalid('from', shown('from', problems.start))} />
              <Problem id="from" text={shown('from', problems.start)} />
            </div>
            <div className="field">
              <label htmlFor="to">To (YYYY-MM-DD, UTC)</label>
              <input id="to" inputMode="numeric" placeholder="YYYY-MM-DD" value={controls.end} required onChange={(e) => set({ end: e.target.value.trim() })} onBlur={leave('to')} {...invalid('to', shown('to', problems.end))} />
              <Problem id="to" text={shown('to', problems.end)} />
            </div>
            <div className="field">
              <label htmlFor="distance">Distance (m)</label>
              <input
                id="distance"
                type="number"
                inputMode="decimal"
                min="0"
                max={MaxDistance}
                step="any"
                value={controls.distance}
                onChange={(e) => set({ distance: e.target.value })}
                onBlur={leave('distance')}
                {...invalid('distance', shown('distance', problems.distance))}
              />
              <Problem id="distance" text={shown('distance', problems.distance)} />
            </div>
            <div className="field">
              <label htmlFor="window">Time apart</label>
              <select id="window" value={controls.window} onChange={(e) => set({ window: e.target.value })}>
                {windowOptions.map((o) => (
                  <option key={o.value} value={o.value}>
                    {o.label}
                  </option>
                ))}
              </select>
            </div>
            <button type="button" className="secondary" onClick={() => setControls(defaults(range))}>
              Reset
            </button>
          </form>
          {range.shortened && (
            <p className="hint">
              {name}'s reports span more than {MaxRangeDays} days; the range starts with the latest {MaxRangeDays}.
            </p>
          )}

          {stale && current.state === 'loading' && params && (
            <p className="state loading" role="status">
              Looking for people near {name}…
            </p>
          )}
          {stale && current.state === 'error' && (
            <div className="state error" role="alert">
              <p>The connections could not be loaded. {current.message}</p>
              <button type="button" onClick={() => setResultTry((n) => n + 1)}>
                Try again
              </button>
            </div>
          )}
          <div className={`results${stale ? ' stale' : ''}`} aria-busy={(stale && current.state === 'loading') || undefined}>
            <div className="result-list">
              {shownParams && (
                <Result name={name} params={shownParams} result={result} groups={groups} selectedID={selected} onSelect={setSelectedID} onRetry={() => setResultTry((n) => n + 1)} />
              )}
              {!params && <p className="state empty">Correct the search above to see connections.</p>}
            </div>
            <MeetingMap ownerName={name} own={reports.data} groups={groups} selectedID={selected} onSelect={setSelectedID} />
          </div>
        </>
      )}
    </section>
  );
}

function invalid(id: string, problem?: string) {
  return problem ? { 'aria-invalid': true, 'aria-describedby': `${id}-problem` } : {};
}

function Problem({ id, text }: { id: string; text?: string }) {
  return text ? (
    <p className="problem" id={`${id}-problem`}>
      {text}
    </p>
  ) : null;
}

interface ResultProps {
  name: string;
  params: ConnectionParams;
  result: Load<Connection[]>;
  groups: ConnectionGroup[];
  selectedID: number | null;
  onSelect: (id: number | null) => void;
  onRetry: () => void;
}

function Result({ name, params, result, groups, selectedID, onSelect, onRetry }: ResultProps) {
  const zone = useZone();
  const scroller = useRef<HTMLDivElement>(null);
  const rows = useVirtualizer({ count: groups.length, getScrollElement: () => scroller.current, estimateSize: () => 96, overscan: 3 });
  if (result.state === 'loading') {
    return (
      <p className="state loading" role="status">
        Looking for people near {name}…
      </p>
    );
  }
  if (result.state === 'error') {
    return (
      <div className="state error" role="alert">
        <p>The connections could not be loaded. {result.message}</p>
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      </div>
    );
  }
  const within = `within ${params.distance.toLocaleString("en-GB")} m${params.window ? ` and ${windowOptions.find((o) => o.value === params.window)?.label ?? params.window}` : ''}`;
  const dates = `${formatDate(params.startDate)} – ${formatDate(params.endDate)} (UTC days)`;
  if (groups.length === 0) {
    return (
      <p className="state empty" role="status">
        No one was {within} of {name} from {dates}. Try a wider distance, a longer time apart or other dates.
      </p>
    );
  }
  return (
    <>
      <p className="summary" role="status">
        Met {plural(groups.length, 'person', 'people')}, {plural(result.data.length, 'time', 'times')} ({within}, {dates})
      </p>
      <div ref={scroller} className="card-scroll">
        <ul className="group-list" aria-label={`People ${name} met`} style={{ height: rows.getTotalSize() }}>
          {rows.getVirtualItems().map((row) => {
            const g = groups[row.index];
            const isSelected = g.person.id === selectedID;
            return (
              <li
                key={g.person.id}
                ref={rows.measureElement}
                data-index={row.index}
                className={isSelected ? 'selected' : undefined}
                style={{ transform: `translateY(${row.start}px)` }}
              >
                <button type="button" className="group" aria-pressed={isSelected} onClick={() => onSelect(isSelected ? null : g.person.id)}>
                  <span className="name">{fullName(g.person)}</span>
                  <span className="company">{g.person.company_name}</span>
                  <span className="count">{plural(g.meetings.length, 'time', 'times')}</span>
                  <span className="when">{formatSpan(g.first, g.last, zone)}</span>
                  <span className="closest">closest {formatDistance(g.closest)}</span>
                </button>
                {isSelected && (
                  <ol className="meetings" aria-label={`Meetings with ${fullName(g.person)}`}>
                    {g.meetings.map((m) => (
                      <li key={m.location.id}>
                        {formatTime(m.location.creation_time, zone)} at {m.location.latitude.toFixed(5)}, {m.location.longitude.toFixed(5)} ({formatDistance(m.distance)} apart)
                      </li>
                    ))}
                  </ol>
                )}
              </li>
            );
          })}
        </ul>
      </div>
    </>
  );
}
