import { useCallback, useEffect, useRef, useState } from 'react';
import { useMatch, useNavigate } from 'react-router';
import { listPersons, type Person } from './api';
import { fullName } from './format';
import { errorMessage, isAbort, type Load } from './load';
import { People } from './People';
import { PersonForm } from './PersonForm';
import { PersonPage } from './PersonPage';

function byName(a: Person, b: Person): number {
  return fullName(a).localeCompare(fullName(b)) || a.id - b.id;
}

// Organizer is the organizer's view: everyone, the registration form, and
// the page of the selected person, whose address is /persons/{id}.
export function Organizer() {
  const [people, setPeople] = useState<Load<Person[]>>({ state: 'loading' });
  const [attempt, setAttempt] = useState(0);
  const [query, setQuery] = useState('');
  const match = useMatch('/persons/:id');
  const selectedID = match ? Number(match.params.id) : null;
  const navigate = useNavigate();
  const connections = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const abort = new AbortController();
    setPeople({ state: 'loading' });
    listPersons(abort.signal).then(
      (data) => setPeople({ state: 'ready', data: [...data].sort(byName) }),
      (err) => isAbort(err) || setPeople({ state: 'error', message: errorMessage(err) }),
    );
    return () => abort.abort();
  }, [attempt]);

  const select = useCallback((id: number) => {
    navigate(`/persons/${id}`);
    // On a narrow screen the connections are below the list: bring them up.
    if (window.matchMedia?.('(max-width: 59.99em)').matches) connections.current?.scrollIntoView({ block: 'start' });
  }, [navigate]);

  // A new person is shown in the whole list, whatever the search was.
  const created = useCallback((p: Person) => {
    setQuery('');
    setPeople((s) => (s.state === 'ready' ? { state: 'ready', data: [...s.data, p].sort(byName) } : s));
  }, []);

  const selected = people.state === 'ready' ? people.data.find((p) => p.id === selectedID) : undefined;

  return (
    <>
      <a className="skip" href="#connections">
        Skip to connections
      </a>
      <main className="layout">
        <div className="panel side">
          <People people={people} query={query} onQuery={setQuery} selectedID={selectedID} onSelect={select} onRetry={() => setAttempt((n) => n + 1)} />
          <PersonForm onCreated={created} />
        </div>
        <div className="panel main" id="connections" ref={connections} tabIndex={-1}>
          {selected && <PersonPage key={selected.id} person={selected} />}
          {!selected && people.state === 'ready' && selectedID !== null && <p className="state empty">There is no person {match?.params.id}.</p>}
          {selectedID === null && <p className="state empty">Select a person to see whom they met, where and when.</p>}
        </div>
      </main>
    </>
  );
}
