import { useEffect, useMemo, useState } from 'react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { BrowserRouter } from 'react-router';
import { ApiError, getSession, onSignedOut, signIn, signOut, type Session } from './api';
import { Attendee } from './Attendee';
import { errorMessage } from './load';
import { Organizer } from './Organizer';
import { forgetSharing } from './Sharing';
import { SignIn, signInProblem } from './SignIn';
import { setVenueTimeZone, venueTimeZone, ZoneContext } from './zone';

// newQueryClient keeps what was fetched for the session: a view opened again
// shows it at once and brings it up to date.
export function newQueryClient(): QueryClient {
  return new QueryClient({ defaultOptions: { queries: { retry: 1, staleTime: 30_000, refetchOnWindowFocus: false } } });
}

// ZonePicker shows the venue's time zone and changes it.
function ZonePicker({ zone, onZone }: { zone: string; onZone: (zone: string) => void }) {
  const zones = useMemo(() => {
    const all = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
    return all.includes(zone) ? all : [zone, ...all];
  }, [zone]);
  return (
    <div className="zone field">
      <label htmlFor="venue-zone">Times in</label>
      <select id="venue-zone" value={zone} onChange={(e) => onZone(e.target.value)}>
        {zones.map((z) => (
          <option key={z} value={z}>
            {z}
          </option>
        ))}
      </select>
    </div>
  );
}

// left: out after being in, so that the focus, lost with the page, goes to the sign-in page.
type Auth = { state: 'checking' } | { state: 'out'; problem?: string; left?: boolean } | { state: 'in'; session: Session };

// App signs in with the token of the sign-in link it was opened with, if
// any, or finds the session its cookie holds; then shows the signed-in
// person's view, at the address it was opened with. Any call refused for
// want of a session leads back to the sign-in page.
export function App({ signInToken = '' }: { signInToken?: string }) {
  const [auth, setAuth] = useState<Auth>({ state: 'checking' });
  const [signOutProblem, setSignOutProblem] = useState('');
  const [queries] = useState(newQueryClient);
  const [zone, setZone] = useState(venueTimeZone);
  const zoneContext = useMemo(
    () => ({
      zone,
      setZone: (z: string) => {
        if (!setVenueTimeZone(z)) return false;
        setZone(z);
        return true;
      },
    }),
    [zone],
  );

  useEffect(() => {
    onSignedOut(() => setAuth({ state: 'out', problem: 'Your session has ended. Sign in again.', left: true }));
    return () => onSignedOut(() => {});
  }, []);

  useEffect(() => {
    const abort = new AbortController();
    (signInToken ? signIn(signInToken, abort.signal) : getSession(abort.signal)).then(
      (session) => setAuth({ state: 'in', session }),
      (err) => {
        if (abort.signal.aborted) return;
        const signedOut = !signInToken && err instanceof ApiError && err.status === 401;
        setAuth({ state: 'out', problem: signedOut ? undefined : signInProblem(err) });
      },
    );
    return () => abort.abort();
  }, [signInToken]);

  async function leave() {
    setSignOutProblem('');
    try {
      await signOut();
      queries.clear(); // nothing read for one person is shown to the next
      if (auth.state === 'in' && auth.session.role === 'attendee') await forgetSharing(auth.session.person_id);
      setAuth({ state: 'out', left: true });
    } catch (err) {
      setSignOutProblem(`Could not sign out. ${errorMessage(err)}`);
    }
  }

  return (
    <QueryClientProvider client={queries}>
    <ZoneContext.Provider value={zoneContext}>
    <BrowserRouter>
      <header className="top">
        <div>
          <h1>UdaConnect</h1>
          <p>Whom you met at the conference: where, when and how close.</p>
        </div>
        {auth.state === 'in' && (
          <div className="account">
            <ZonePicker zone={zone} onZone={zoneContext.setZone} />
            <span>Signed in as {auth.session.role}</span>
            <button type="button" className="secondary" onClick={leave}>
              Sign out
            </button>
            {signOutProblem && (
              <p className="problem" role="alert">
                {signOutProblem}
              </p>
            )}
          </div>
        )}
      </header>
      {auth.state === 'checking' && (
        <p className="state loading" role="status">
          Signing in…
        </p>
      )}
      {auth.state === 'out' && <SignIn problem={auth.problem} focus={auth.left} onSignedIn={(session) => setAuth({ state: 'in', session })} />}
      {auth.state === 'in' && (auth.session.role === 'organizer' ? <Organizer /> : <Attendee personID={auth.session.person_id} maxAgeS={auth.session.report_max_age_s} retention={auth.session.retention} />)}
    </BrowserRouter>
    </ZoneContext.Provider>
    </QueryClientProvider>
  );
}
