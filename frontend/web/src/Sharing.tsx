import { useEffect, useRef, useState } from 'react';
import { browserOutbox, type Outbox } from './outbox';
import { plural } from './format';
import { browserSource, initialState, meetingDistanceM, minGapMS, Reporter, stillMS, type SharingState } from './reporter';
import { useZone } from './zone';

// The attendee's choice to share again after a reload, when they asked.
const rememberKey = (personID: number) => `udaconnect.sharing.${personID}`;

function remembered(personID: number): boolean {
  try {
    return localStorage.getItem(rememberKey(personID)) === 'on';
  } catch {
    return false;
  }
}

function setRemembered(personID: number, on: boolean) {
  try {
    if (on) localStorage.setItem(rememberKey(personID), 'on');
    else localStorage.removeItem(rememberKey(personID));
  } catch {
    // storage refused: the choice lasts this visit
  }
}

// forgetSharing leaves nothing of a person's sharing in this browser, as
// they sign out: the reports not yet sent, and the choice to share again
// after a reload.
export async function forgetSharing(personID: number, outbox = browserOutbox()) {
  setRemembered(personID, false);
  await outbox.clear(personID);
}

// clock shows a time of day in zone, to the second.
function clock(ms: number, zone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(ms);
}

// formatRetention says RETENTION (such as 30d or 720h) in words.
export function formatRetention(retention: string): string {
  const m = /^(\d+)(d|h)$/.exec(retention);
  if (!m) return retention;
  const n = Number(m[1]);
  if (m[2] === 'd' || n % 24 === 0) return plural(m[2] === 'd' ? n : n / 24, 'day', 'days');
  return plural(n, 'hour', 'hours');
}

interface Props {
  personID: number;
  maxAgeS?: number; // the oldest report the door takes from an attendee
  retention?: string; // how long reports are kept; absent: until deleted
  geolocation?: Geolocation; // absent where the browser cannot tell
  outbox?: Outbox;
}

// Sharing is the attendee's "Share my location": what sharing sends, to
// whom, how long it is kept and how to stop, before anything is sent; then,
// while on, that it is on, how precise the last position was and what became
// of the reports. Stop sharing ends it at once. The choice lasts past a
// reload only when the attendee asks for it.
export function Sharing({ personID, maxAgeS = 600, retention, geolocation = secureGeolocation(), outbox = browserOutbox() }: Props) {
  const zone = useZone();
  const [state, setState] = useState<SharingState>(initialState);
  const [remember, setRemember] = useState(() => remembered(personID));
  const reporter = useRef<Reporter | null>(null);

  useEffect(() => {
    if (!geolocation) return;
    const r = new Reporter({ personID, source: browserSource(), maxAgeS, outbox, geolocation, onChange: setState });
    reporter.current = r;
    r.resume();
    if (remembered(personID)) r.start();
    return () => {
      r.close();
      reporter.current = null;
    };
  }, [personID, maxAgeS, outbox, geolocation]);

  const keep = (on: boolean) => {
    setRemember(on);
    setRemembered(personID, on && state.sharing !== 'off');
  };
  const start = () => {
    setRemembered(personID, remember);
    reporter.current?.start();
  };
  const stop = () => {
    setRemembered(personID, false);
    void reporter.current?.stop();
  };
  const on = state.sharing !== 'off';
  const minutes = Math.round(maxAgeS / 60);
  const precision = state.last && `${state.last.accuracy < 10 ? state.last.accuracy.toFixed(1) : Math.round(state.last.accuracy)} m`;

  return (
    <section className={`sharing${on ? ' on' : ''}`} aria-labelledby="sharing-heading">
      <h2 id="sharing-heading">Your location</h2>
      {!geolocation && (
        <p className="problem" role="alert">
          This browser cannot tell the page where you are: location needs the app opened over https (or on localhost) in a browser that has it.
        </p>
      )}
      {geolocation && !on && (
        <div className="consent">
          <p>Share your location while this page is open, and UdaConnect tells you whom you met.</p>
          <ul>
            <li>
              <strong>What is sent:</strong> your position and its time, every {minGapMS / 1000} s as you move, every {stillMS / 1000} s when still; only
              positions precise to {meetingDistanceM} m, the distance of a meeting.
            </li>
            <li>
              <strong>To whom:</strong> the organizer’s UdaConnect. The people you meet see when and where you met, never your trail.
            </li>
            <li>
              <strong>How long:</strong> {retention ? `kept for ${formatRetention(retention)}, then deleted.` : 'kept until the organizer deletes them, or you ask them to.'}
            </li>
            <li>
              <strong>How to stop:</strong> press Stop sharing, or close this page.
            </li>
          </ul>
        </div>
      )}
      {on && (
        <p className="sharing-state" role="status">
          <strong>Sharing your location.</strong>{' '}
          {state.last
            ? `Last position precise to ${precision}, at ${clock(state.last.time, zone)}.`
            : 'Waiting for your position…'}
          {state.sentAt !== null && ` Last report sent at ${clock(state.sentAt, zone)}.`}
        </p>
      )}
      {state.problem && (
        <p className="problem" role="alert">
          {state.problem}
        </p>
      )}
      {on && state.imprecise !== null && (
        <p className="warning">
          Your position is known to {Math.round(state.imprecise)} m only, so it is not sent: a meeting is people within {meetingDistanceM} m of each other,
          which a position this coarse cannot tell. Outdoors, or with Wi-Fi on, the phone knows better.
        </p>
      )}
      {state.waiting > 0 && (
        <p className="hint" role="status">
          {plural(state.waiting, 'report', 'reports')} waiting to be sent
          {state.offline
            ? ': the server cannot be reached; they go as soon as it can.'
            : state.retryAt !== null
              ? `: the server is busy; sending again at ${clock(state.retryAt, zone)}.`
              : '.'}
        </p>
      )}
      {state.dropped > 0 && (
        <p className="hint">
          {plural(state.dropped, 'report was', 'reports were')} not sent: taken more than {plural(minutes, 'minute', 'minutes')} ago, older than the server
          takes.
        </p>
      )}
      {state.refused > 0 && (
        <p className="hint">
          The server refused {plural(state.refused, 'report', 'reports')}
          {state.refusal ? `: ${state.refusal}` : '.'}
        </p>
      )}
      {geolocation && (
        <div className="sharing-actions">
          {on ? (
            <button type="button" onClick={stop}>
              Stop sharing
            </button>
          ) : (
            <button type="button" onClick={start}>
              Share my location
            </button>
          )}
          <label className="check">
            <input type="checkbox" checked={remember} onChange={(e) => keep(e.target.checked)} /> Keep sharing after a reload
          </label>
        </div>
      )}
      {on && (
        // Wherever the page is scrolled, it says that it is sharing (the
        // section above says it to screen readers).
        <p className="sharing-badge" aria-hidden="true">
          Sharing your location{precision && ` · precise to ${precision}`}
        </p>
      )}
    </section>
  );
}

// secureGeolocation is the browser's geolocation where the page may use it.
function secureGeolocation(): Geolocation | undefined {
  return typeof window !== 'undefined' && window.isSecureContext && 'geolocation' in navigator ? navigator.geolocation : undefined;
}
