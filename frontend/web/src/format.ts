import type { Person } from './api';

export function fullName(p: Person): string {
  return `${p.first_name} ${p.last_name}`;
}

const timeFormat = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'UTC',
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});

const dateFormat = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric' });

// formatTime shows an RFC 3339 time in UTC, the zone the date controls use.
export function formatTime(iso: string): string {
  return `${timeFormat.format(new Date(iso))} UTC`;
}

// formatSpan shows the times from first to last, naming the zone once.
export function formatSpan(first: string, last: string): string {
  return first === last ? formatTime(first) : `${timeFormat.format(new Date(first))} – ${formatTime(last)}`;
}

// formatDate shows a YYYY-MM-DD date.
export function formatDate(date: string): string {
  return dateFormat.format(new Date(`${date}T00:00:00Z`));
}

export function formatDistance(metres: number): string {
  if (metres < 10) return `${metres.toFixed(1)} m`;
  if (metres < 1000) return `${Math.round(metres)} m`;
  return `${(metres / 1000).toFixed(1)} km`;
}

export function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

// formatDuration shows seconds as minutes, or hours and minutes.
export function formatDuration(seconds: number): string {
  const minutes = Math.round(seconds / 60);
  if (minutes < 1) return 'a moment';
  if (minutes < 60) return plural(minutes, 'minute', 'minutes');
  const h = Math.floor(minutes / 60);
  return minutes % 60 ? `${plural(h, 'hour', 'hours')} ${plural(minutes % 60, 'minute', 'minutes')}` : plural(h, 'hour', 'hours');
}
