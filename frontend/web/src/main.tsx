import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { takeToken } from './signin';
import './styles.css';

// A sign-in link opened where the app is already open changes only the
// fragment: start again, which signs in with it.
window.addEventListener('hashchange', () => {
  if (window.location.hash.startsWith('#token=')) window.location.reload();
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App signInToken={takeToken()} />
  </StrictMode>,
);
