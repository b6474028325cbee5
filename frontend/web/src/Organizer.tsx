import { lazy, Suspense, useCallback, useEffect, useRef, useState } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useMatch, useNavigate } from 'react-router';
import { getPerson, type Person } from './api';
import { fullName } from './format';
import { errorMessage } from './load';
import { DeletePerson } from './DeletePerson';
import { People } from './People';
import { PersonForm } from './PersonForm';
import { signInLink } from './signin';

// A person's page (the map, Leaflet) and the sign-in link (its QR code) are
// loaded when first shown, so that the people list comes first.
export const PersonPage = lazy(() => import('./PersonPage').then((m) => ({ default: m.PersonPage })));
const SignInLink = lazy(() => import('./SignInLink').then((m) => ({ default: m.SignInLink })));

// Loading is what a view shows while it loads.
export function Loading() {
  return (
    <p className="state loading" role="status">
      Loading…
    </p>
  );
}

// usePerson reads one person, kept for the next time they are shown.
export function usePerson(id: number | null) {
  return useQuery({ queryKey: ['person', id], queryFn: ({ signal }) => getPerson(id!, signal), enabled: id !== null && id > 0 });
}

// Organizer is the organizer's view: the registration form (folded) above
// the people list, and the page of the selected person, whose address is
// /persons/{id}. A person just registered is selected, with their sign-in
// link above their page.
export function Organizer() {
  const [issued, setIssued] = useState<{ id: number; name: string; link: string } | null>(null);
  const [deleted, setDeleted] = useState<{ id: number; name: string } | null>(null);
  const match = useMatch('/persons/:id');
  const selectedID = match && /^\d+$/.test(match.params.id ?? '') ? Number(match.params.id) : null;
  const navigate = useNavigate();
  const queries = useQueryClient();
  const connections = useRef<HTMLDivElement>(null);
  const selected = usePerson(selectedID);

  const select = useCallback(
    (id: number) => {
      setDeleted(null);
      navigate(`/persons/${id}`);
      // On a narrow screen the person's page is below the list: bring it up.
      if (window.matchMedia?.('(max-width: 59.99em)').matches) connections.current?.scrollIntoView({ block: 'start' });
    },
    [navigate],
  );

  const created = useCallback(
    (p: Person, token: string) => {
      queries.setQueryData(['person', p.id], p);
      queries.invalidateQueries({ queryKey: ['persons'] });
      setIssued({ id: p.id, name: fullName(p), link: signInLink(token) });
      select(p.id);
      connections.current?.focus();
    },
    [queries, select],
  );

  const removed = useCallback(
    (p: Person) => {
      setIssued(null);
      setDeleted({ id: p.id, name: fullName(p) });
      queries.invalidateQueries({ queryKey: ['persons'] });
      navigate('/');
      connections.current?.focus();
    },
    [navigate, queries],
  );

  // What was read of a deleted person is forgotten once their page is
  // closed: before, their page would ask for them again.
  useEffect(() => {
    if (!deleted || deleted.id === selectedID) return;
    queries.removeQueries({ queryKey: ['person', deleted.id] });
    queries.removeQueries({ queryKey: ['meetings', deleted.id] });
  }, [deleted, selectedID, queries]);

  return (
    <>
      <a className="skip" href="#connections">
        Skip to the person's page
      </a>
      <main className="layout">
        <div className="panel side">
          <details className="register-box">
            <summary>Register a person</summary>
            <PersonForm onCreated={created} />
          </details>
          <People selectedID={selectedID} onSelect={select} />
        </div>
        <div className="panel main" id="connections" ref={connections} tabIndex={-1}>
          <Suspense fallback={<Loading />}>
            {issued && issued.id === selectedID && <SignInLink name={issued.name} link={issued.link} onDismiss={() => setIssued(null)} />}
            {selected.data && <PersonPage key={selected.data.id} person={selected.data} />}
            {selected.data && <DeletePerson key={`delete-${selected.data.id}`} person={selected.data} onDeleted={removed} />}
          </Suspense>
          {selected.isPending && selectedID !== null && <Loading />}
          {selected.isError && (
            <div className="state error" role="alert">
              <p>
                Person {match?.params.id} could not be shown. {errorMessage(selected.error)}
              </p>
              <button type="button" onClick={() => selected.refetch()}>
                Try again
              </button>
            </div>
          )}
          {match && selectedID === null && <p className="state empty">There is no person {match.params.id}.</p>}
          <p className="done" role="status">
            {!match && deleted && `Deleted ${deleted.name} with their reports and meetings.`}
          </p>
          {!match && <p className="state empty">Select a person to see whom they met, where and when.</p>}
        </div>
      </main>
    </>
  );
}
