import { Suspense } from 'react';
import { Loading, PersonPage, usePerson } from './Organizer';
import { errorMessage } from './load';
import { Sharing } from './Sharing';

// Attendee is an attendee's view: sharing their location, and their own
// page, nobody else's. On a phone it opens on both.
export function Attendee({ personID, maxAgeS, retention }: { personID: number; maxAgeS?: number; retention?: string }) {
  const person = usePerson(personID);
  return (
    <main className="layout single">
      <div className="panel">
        <Sharing personID={personID} maxAgeS={maxAgeS} retention={retention} />
      </div>
      <div className="panel main" id="connections">
        {person.isPending && <Loading />}
        {person.isError && (
          <div className="state error" role="alert">
            <p>Your details could not be loaded. {errorMessage(person.error)}</p>
            <button type="button" onClick={() => person.refetch()}>
              Try again
            </button>
          </div>
        )}
        {person.data && (
          <Suspense fallback={<Loading />}>
            <PersonPage person={person.data} />
          </Suspense>
        )}
      </div>
    </main>
  );
}
