import { Suspense } from 'react';
import { Loading, PersonPage, usePerson } from './Organizer';
import { errorMessage } from './load';

// Attendee is an attendee's view: their own page, and nobody else's.
export function Attendee({ personID }: { personID: number }) {
  const person = usePerson(personID);
  return (
    <main className="layout single">
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
