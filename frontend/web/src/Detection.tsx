import { useQuery } from '@tanstack/react-query';
import { getDetection } from './api';
import { dayIn, formatDuration, formatTime } from './format';
import { useZone } from './zone';

// How often the page asks how current the meetings are, while it is in view.
const pollMS = 15_000;

// Detection behind by at most this many seconds is current.
const currentS = 5;

// DetectionLag says how current the meetings are when detection is behind
// by more than a few seconds, asking every 15 s while the page is in view
// (TanStack Query pauses the interval while the tab is hidden). Nothing
// when they are current, or when the answer does not come.
export function DetectionLag() {
  const zone = useZone();
  const detection = useQuery({ queryKey: ['detection'], queryFn: ({ signal }) => getDetection(signal), refetchInterval: pollMS, retry: false });
  const d = detection.data;
  if (!d || detection.isError || !(d.lag_seconds > currentS) || Number.isNaN(Date.parse(d.current_to))) return null;
  const time = formatTime(d.current_to, zone);
  const to = dayIn(d.current_to, zone) === dayIn(new Date().toISOString(), zone) ? time.slice(11) : time;
  const behind = d.lag_seconds < 60 ? `${Math.round(d.lag_seconds)} s` : formatDuration(d.lag_seconds);
  return (
    <p className="hint detection" role="status">
      Meetings are up to date to {to} ({behind} behind).
    </p>
  );
}
