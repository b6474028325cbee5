import { Link, useSearchParams } from 'react-router';
import type { Person } from './api';
import { Connections } from './Connections';
import { Meetings } from './Meetings';
import type { MeetingRange } from './meetings';

// date is a YYYY-MM-DD from the address, or empty.
function date(v: string | null): string {
  return v && /^\d{4}-\d{2}-\d{2}$/.test(v) ? v : '';
}

// PersonPage is a person's page: their meetings, or every report near
// theirs as the proof of concept showed them (?view=reports). The view and
// the meetings' days (?from=&to=) are in the address, so that a link opens
// them and Back and Forward go through them.
export function PersonPage({ person }: { person: Person }) {
  const [params, setParams] = useSearchParams();
  const reports = params.get('view') === 'reports';
  const range = { startDate: date(params.get('from')), endDate: date(params.get('to')) };

  function view(reports: boolean): string {
    const p = new URLSearchParams(params);
    if (reports) p.set('view', 'reports');
    else p.delete('view');
    return `?${p}`;
  }

  function setRange(r: MeetingRange) {
    const p = new URLSearchParams(params);
    for (const [key, value] of [['from', r.startDate], ['to', r.endDate]]) {
      if (value) p.set(key, value);
      else p.delete(key);
    }
    setParams(p);
  }

  return (
    <>
      <nav className="views" aria-label="Views">
        <Link to={view(false)} aria-current={reports ? undefined : 'page'}>
          Meetings
        </Link>
        <Link to={view(true)} aria-current={reports ? 'page' : undefined}>
          Show every report
        </Link>
      </nav>
      {reports ? <Connections key={person.id} person={person} /> : <Meetings key={person.id} person={person} range={range} onRange={setRange} />}
    </>
  );
}
