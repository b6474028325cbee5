import { createContext, useContext } from 'react';

// The venue's time zone, in which every time and day is shown and entered.
// It is the browser's setting (localStorage), else VITE_VENUE_TIME_ZONE when
// the app was built, else the browser's own zone.

const key = 'udaconnect.venueTimeZone';

// isTimeZone reports whether the browser knows zone, an IANA name.
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: zone });
    return zone !== '';
  } catch {
    return false;
  }
}

export function defaultTimeZone(env: { VITE_VENUE_TIME_ZONE?: string } = import.meta.env): string {
  const built = env.VITE_VENUE_TIME_ZONE ?? '';
  return isTimeZone(built) ? built : Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

export function venueTimeZone(): string {
  let stored = '';
  try {
    stored = localStorage.getItem(key) ?? '';
  } catch {
    // storage refused: the default
  }
  return isTimeZone(stored) ? stored : defaultTimeZone();
}

// setVenueTimeZone keeps zone for next time; a zone the browser does not
// know is refused.
export function setVenueTimeZone(zone: string): boolean {
  if (!isTimeZone(zone)) return false;
  try {
    localStorage.setItem(key, zone);
  } catch {
    return false;
  }
  return true;
}

// ZoneContext carries the venue's time zone to the views.
export const ZoneContext = createContext<{ zone: string; setZone: (zone: string) => boolean }>({ zone: 'UTC', setZone: () => false });

export function useZone(): string {
  return useContext(ZoneContext).zone;
}
