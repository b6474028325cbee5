import { Link, useSearchParams } from 'react-router';
import type { Person } from './api';
import { Connections } from './Connections';
import { Encounters, isDay, type View } from './Encounters';
import { isSort } from './encounters';

function id(v: string | null): number | null {
  return v && /^\d{1,15}$/.test(v) ? Number(v) : null;
}

// readView reads the view from the address; what it does not hold, or holds
// wrong, is the default.
export function readView(p: URLSearchParams): View {
  const sort = p.get('sort');
  const within = p.get('within');
  const min = Number(p.get('min'));
  const together = Number(p.get('together'));
  const day = (v: string | null) => (v && isDay(v) ? v : '');
  return {
    range: { startDate: day(p.get('from')), endDate: day(p.get('to')) },
    sort: isSort(sort) ? sort : 'time',
    filter: {
      query: p.get('find') ?? '',
      minMeetings: Number.isInteger(min) && min > 1 ? min : 1,
      minTogetherS: Number.isInteger(together) && together > 0 ? together * 60 : 0,
      withinM: within && Number(within) >= 0 ? Number(within) : null,
    },
    with: id(p.get('with')),
    meeting: id(p.get('meeting')),
    show: p.get('show') === 'map' ? 'map' : 'list',
  };
}

// writeView puts a view in the address, leaving out its defaults.
export function writeView(p: URLSearchParams, v: View): URLSearchParams {
  const q = new URLSearchParams(p);
  const set = (key: string, value: string) => (value ? q.set(key, value) : q.delete(key));
  set('from', v.range.startDate);
  set('to', v.range.endDate);
  set('sort', v.sort === 'time' ? '' : v.sort);
  set('find', v.filter.query);
  set('min', v.filter.minMeetings > 1 ? String(v.filter.minMeetings) : '');
  set('together', v.filter.minTogetherS > 0 ? String(Math.round(v.filter.minTogetherS / 60)) : '');
  set('within', v.filter.withinM === null ? '' : String(v.filter.withinM));
  set('with', v.with === null ? '' : String(v.with));
  set('meeting', v.meeting === null ? '' : String(v.meeting));
  set('show', v.show === 'map' ? 'map' : '');
  return q;
}

// PersonPage is a person's page: whom they met, or every report near theirs
// as the proof of concept showed them (?view=reports). The whole view is in
// the address, so that a link or a reload opens it again and Back and
// Forward go through it; typing in a field replaces the entry rather than
// adding one per keystroke.
export function PersonPage({ person }: { person: Person }) {
  const [params, setParams] = useSearchParams();
  const reports = params.get('view') === 'reports';
  const view = readView(params);

  function link(reports: boolean): string {
    const p = new URLSearchParams(params);
    if (reports) p.set('view', 'reports');
    else p.delete('view');
    return `?${p}`;
  }

  return (
    <>
      <nav className="views" aria-label="Views">
        <Link to={link(false)} aria-current={reports ? undefined : 'page'}>
          Whom they met
        </Link>
        <Link to={link(true)} aria-current={reports ? 'page' : undefined}>
          Every report
        </Link>
      </nav>
      {reports ? (
        <Connections key={person.id} person={person} />
      ) : (
        <Encounters key={person.id} person={person} view={view} onView={(change, replace) => setParams(writeView(params, { ...view, ...change }), { replace })} />
      )}
    </>
  );
}
