import { useEffect, useRef, useState, type FormEvent } from 'react';
import { ApiError, signIn, type Session } from './api';
import { errorMessage } from './load';
import { tokenFrom } from './signin';

// signInProblem says why a sign-in failed, in words for the person signing in.
export function signInProblem(err: unknown): string {
  if (err instanceof ApiError && err.status === 401) return 'This sign-in link is not valid or has expired. Ask the organizer for a new one.';
  return `Could not sign in. ${errorMessage(err)}`;
}

interface Props {
  problem?: string;
  focus?: boolean; // take the focus: the page before it, and its focus, are gone
  onSignedIn: (s: Session) => void;
}

// SignIn is the page for whoever is not signed in: open your sign-in link,
// or paste it (or the token alone) here.
export function SignIn({ problem, focus, onSignedIn }: Props) {
  const [text, setText] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (focus) heading.current?.focus();
  }, [focus]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const token = tokenFrom(text);
    if (!token) {
      setError('Paste your sign-in link or token.');
      return;
    }
    setBusy(true);
    setError('');
    try {
      onSignedIn(await signIn(token));
    } catch (err) {
      setError(signInProblem(err));
      setBusy(false);
    }
  }

  const shown = error || problem;
  return (
    <main className="signin panel">
      <h2 ref={heading} tabIndex={-1}>
        Sign in
      </h2>
      <p>Open the sign-in link you were given at registration: it signs you in on this device.</p>
      <form onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor="signin-token">Or paste the link or token here</label>
          <input
            id="signin-token"
            type="password"
            value={text}
            autoComplete="off"
            aria-invalid={error ? true : undefined}
            aria-describedby={shown ? 'signin-problem' : undefined}
            onChange={(e) => setText(e.target.value)}
          />
        </div>
        {shown && (
          <p className="state error" id="signin-problem" role="alert">
            {shown}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
