import { useEffect, useState } from 'react';
import { BrowserRouter } from 'react-router';
import { ApiError, getSession, onSignedOut, signIn, signOut, type Session } from './api';
import { Attendee } from './Attendee';
import { errorMessage } from './load';
import { Organizer } from './Organizer';
import { SignIn, signInProblem } from './SignIn';

type Auth = { state: 'checking' } | { state: 'out'; problem?: string } | { state: 'in'; session: Session };

// App signs in with the token of the sign-in link it was opened with, if
// any, or finds the session its cookie holds; then shows the signed-in
// person's view, at the address it was opened with. Any call refused for
// want of a session leads back to the sign-in page.
export function App({ signInToken = '' }: { signInToken?: string }) {
  const [auth, setAuth] = useState<Auth>({ state: 'checking' });
  const [signOutProblem, setSignOutProblem] = useState('');

  useEffect(() => {
    onSignedOut(() => setAuth({ state: 'out', problem: 'Your session has ended. Sign in again.' }));
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
      setAuth({ state: 'out' });
    } catch (err) {
      setSignOutProblem(`Could not sign out. ${errorMessage(err)}`);
    }
  }

  return (
    <BrowserRouter>
      <header className="top">
        <div>
          <h1>UdaConnect</h1>
          <p>Whom you met at the conference: where, when and how close.</p>
        </div>
        {auth.state === 'in' && (
          <div className="account">
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
      {auth.state === 'out' && <SignIn problem={auth.problem} onSignedIn={(session) => setAuth({ state: 'in', session })} />}
      {auth.state === 'in' && (auth.session.role === 'organizer' ? <Organizer /> : <Attendee personID={auth.session.person_id} />)}
    </BrowserRouter>
  );
}
