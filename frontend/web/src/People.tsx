import { useMemo } from 'react';
import type { Person } from './api';
import { fullName, plural } from './format';
import type { Load } from './load';

interface Props {
  people: Load<Person[]>;
  query: string;
  onQuery: (query: string) => void;
  selectedID: number | null;
  onSelect: (id: number) => void;
  onRetry: () => void;
}

// fold lowercases and strips accents so that "jose" finds "José".
function fold(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

export function matches(p: Person, query: string): boolean {
  const hay = fold(`${p.first_name} ${p.last_name} ${p.company_name}`);
  return fold(query).split(/\s+/).filter(Boolean).every((word) => hay.includes(word));
}

export function People({ people, query, onQuery, selectedID, onSelect, onRetry }: Props) {
  const all = people.state === 'ready' ? people.data : [];
  const shown = useMemo(() => all.filter((p) => matches(p, query)), [all, query]);

  return (
    <section className="people" aria-labelledby="people-heading">
      <h2 id="people-heading">People</h2>
      <div className="field">
        <label htmlFor="people-search">Search by name or company</label>
        <input id="people-search" type="search" value={query} onChange={(e) => onQuery(e.target.value)} autoComplete="off" />
      </div>
      {people.state === 'loading' && (
        <p className="state loading" role="status">
          Loading people…
        </p>
      )}
      {people.state === 'error' && (
        <div className="state error" role="alert">
          <p>The list of people could not be loaded. {people.message}</p>
          <button type="button" onClick={onRetry}>
            Try again
          </button>
        </div>
      )}
      {people.state === 'ready' && (
        <>
          <p className="count" role="status">
            {query.trim() ? `${shown.length} of ${plural(all.length, 'person', 'people')}` : plural(all.length, 'person', 'people')}
          </p>
          {all.length === 0 && <p className="state empty">No one is registered yet. Register the first person below.</p>}
          {all.length > 0 && shown.length === 0 && <p className="state empty">No one matches “{query.trim()}”.</p>}
          {shown.length > 0 && (
            <ul className="person-list">
              {shown.map((p) => (
                <li key={p.id}>
                  <button type="button" className="person" aria-pressed={p.id === selectedID} onClick={() => onSelect(p.id)}>
                    <span className="name">{fullName(p)}</span>
                    <span className="company">{p.company_name}</span>
                  </button>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}
