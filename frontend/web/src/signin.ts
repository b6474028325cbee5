// Sign-in links carry the token in the fragment (/#token=...), which the
// browser never sends to a server.

// tokenFrom reads the token out of a sign-in link, or takes the text as the
// token itself; empty when there is none.
export function tokenFrom(text: string): string {
  const at = text.indexOf('#token=');
  return (at >= 0 ? text.slice(at + '#token='.length) : text).trim();
}

// takeToken returns the token of the address the app was opened at and
// removes it from the address bar and the history at once.
export function takeToken(): string {
  if (!window.location.hash.startsWith('#token=')) return '';
  const token = tokenFrom(window.location.hash);
  window.history.replaceState(window.history.state, '', window.location.pathname + window.location.search);
  return token;
}

export function signInLink(token: string): string {
  return `${window.location.origin}/#token=${token}`;
}
