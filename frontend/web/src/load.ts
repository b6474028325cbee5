import { useRef } from 'react';

// Load is the state of something fetched: loading, failed, or there.
export type Load<T> = { state: 'loading' } | { state: 'error'; message: string } | { state: 'ready'; data: T };

// useKept is the last data that was there: what a view keeps showing,
// dimmed, while new data loads or after it failed to.
export function useKept<T>(data: T | undefined): T | undefined {
  const kept = useRef(data);
  if (data !== undefined) kept.current = data;
  return kept.current;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function isAbort(err: unknown): boolean {
  return err instanceof DOMException && err.name === 'AbortError';
}
