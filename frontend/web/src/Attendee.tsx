import { usePerson } from './Organizer';
import { PersonPage } from './PersonPage';
import { errorMessage } from './load';

// Attendee is an attendee's view: their own page, and nobody else's.
export function Attendee({ personID }: { personID: number }) {
  const person = usePerson(personID);
  return (
    <main className="layout single">
      <div className="panel main" id="connections">
        {person.isPending && (
          <p className="state loading" role="status">
            Loading…
          </p>
        )}
        {person.isError && (
          <div className="state error" role="alert">
            <p>Your details could not be loaded. {errorMessage(person.error)}</p>
            <button type="button" onClick={() => person.refetch()}>
              Try again
            </button>
          </div>
        )}
        {person.data && <PersonPage person={person.data} />}
      </div>
    </main>
  );
}
