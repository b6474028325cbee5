import { useEffect, useState } from 'react';
import { getPerson, type Person } from './api';
import { PersonPage } from './PersonPage';
import { errorMessage, isAbort, type Load } from './load';

// Attendee is an attendee's view: their own page, and nobody else's.
export function Attendee({ personID }: { personID: number }) {
  const [person, setPerson] = useState<Load<Person>>({ state: 'loading' });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const abort = new AbortController();
    setPerson({ state: 'loading' });
    getPerson(personID, abort.signal).then(
      (data) => setPerson({ state: 'ready', data }),
      (err) => isAbort(err) || setPerson({ state: 'error', message: errorMessage(err) }),
    );
    return () => abort.abort();
  }, [personID, attempt]);

  return (
    <main className="layout single">
      <div className="panel main" id="connections">
        {person.state === 'loading' && (
          <p className="state loading" role="status">
            Loading…
          </p>
        )}
        {person.state === 'error' && (
          <div className="state error" role="alert">
            <p>Your details could not be loaded. {person.message}</p>
            <button type="button" onClick={() => setAttempt((n) => n + 1)}>
              Try again
            </button>
          </div>
        )}
        {person.state === 'ready' && <PersonPage person={person.data} />}
      </div>
    </main>
  );
}
