import type { Person } from './api';

export function fullName(p: Person): string {
  return `${p.first_name} ${p.last_name}`;
}

// parts are a time's fields in zone.
function parts(iso: string, zone: string): Record<string, string> {
  const f = new Intl.DateTimeFormat('en-GB', {
    timeZone: zone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  return Object.fromEntries(f.formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
}

// dayIn is the day (YYYY-MM-DD) of a time in zone: the format of the date
// fields too.
export function dayIn(iso: string, zone: string): string {
  const p = parts(iso, zone);
  return `${p.year}-${p.month}-${p.day}`;
}

// formatTime shows an RFC 3339 time in zone as YYYY-MM-DD HH:MM, the format
// the date fields take.
export function formatTime(iso: string, zone: string): string {
  const p = parts(iso, zone);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

// formatSpan shows the times from first to last, the day once if both fall
// on it.
export function formatSpan(first: string, last: string, zone: string): string {
  const a = formatTime(first, zone);
  const b = formatTime(last, zone);
  if (a === b) return a;
  return a.slice(0, 10) === b.slice(0, 10) ? `${a}–${b.slice(11)}` : `${a} – ${b}`;
}

// formatDate shows a YYYY-MM-DD date as it is.
export function formatDate(date: string): string {
  return date;
}

export function formatDistance(metres: number): string {
  if (metres < 10) return `${metres.toFixed(1)} m`;
  if (metres < 1000) return `${Math.round(metres)} m`;
  return `${(metres / 1000).toFixed(1)} km`;
}

export function plural(n: number, one: string, many: string): string {
  return `${n.toLocaleString('en-GB')} ${n === 1 ? one : many}`;
}

// formatDuration shows seconds as minutes, or hours and minutes.
export function formatDuration(seconds: number): string {
  const minutes = Math.round(seconds / 60);
  if (minutes < 1) return 'a moment';
  if (minutes < 60) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  return minutes % 60 ? `${h} h ${minutes % 60} min` : `${h} h`;
}

// fold lowercases and strips accents so that "jose" finds "José".
function fold(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

// matches reports whether every word of query is in p's names or company.
export function matches(p: Person, query: string): boolean {
  const hay = fold(`${p.first_name} ${p.last_name} ${p.company_name}`);
  return fold(query).split(/\s+/).filter(Boolean).every((word) => hay.includes(word));
}
