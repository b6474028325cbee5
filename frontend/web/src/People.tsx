import { useEffect, useMemo, useRef, useState } from 'react';
import { keepPreviousData, useInfiniteQuery } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { personsPage, personsPath, type Person } from './api';
import { fullName, plural } from './format';
import { errorMessage, useKept } from './load';

interface Props {
  selectedID: number | null;
  onSelect: (id: number) => void;
}

// RowHeight is the height of a row of the list, in pixels, as drawn: the
// button (61.5 px) and the gap below it.
const RowHeight = 68;

// usePeople reads the people a search finds, a page at a time, from the
// server; the pages read are kept for the next time the same search is made.
export function usePeople(query: string) {
  return useInfiniteQuery({
    queryKey: ['persons', query.trim()],
    queryFn: ({ pageParam, signal }) => personsPage(pageParam, signal),
    initialPageParam: personsPath(query),
    getNextPageParam: (last) => last.next,
    placeholderData: keepPreviousData,
  });
}

// People is the list of people, searched on the server. Only the rows in
// view are drawn, and the next page is read as the end comes into view;
// while a new search loads, or when it failed, the last list stays, dimmed.
// The search is its own state: a keystroke draws the list again, not the
// view around it.
export function People({ selectedID, onSelect }: Props) {
  const [query, setQuery] = useState('');
  const people = usePeople(query);
  // The list shown is the last answer, with the search it answers: while
  // another loads, the count still speaks of the list on screen.
  const shown = useKept(people.isPlaceholderData ? undefined : people.data && { data: people.data, query: query.trim() });
  const data = shown?.data;
  const all: Person[] = useMemo(() => data?.pages.flatMap((p) => p.items) ?? [], [data]);
  const scroller = useRef<HTMLDivElement>(null);
  const rows = useVirtualizer({ count: all.length, getScrollElement: () => scroller.current, estimateSize: () => RowHeight, overscan: 4 });
  const items = rows.getVirtualItems();
  const lastShown = items.length ? items[items.length - 1].index : -1;
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = people;

  useEffect(() => {
    if (hasNextPage && !isFetchingNextPage && lastShown >= all.length - 10) fetchNextPage();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage, lastShown, all.length]);

  const stale = data !== undefined && (people.isPlaceholderData || people.isError || people.data === undefined);
  const count = `${plural(all.length, 'person', 'people')}${hasNextPage ? ' and more' : ''}`;

  return (
    <section className="people" aria-labelledby="people-heading">
      <h2 id="people-heading">People</h2>
      <div className="field">
        <label htmlFor="people-search">Search by name or company</label>
        <input id="people-search" type="search" value={query} onChange={(e) => setQuery(e.target.value)} autoComplete="off" />
      </div>
      {people.isPending && (
        <p className="state loading" role="status">
          Loading people…
        </p>
      )}
      {people.isError && (
        <div className="state error" role="alert">
          <p>
            The list of people could not be {all.length ? 'brought up to date' : 'loaded'}. {errorMessage(people.error)}
          </p>
          <button type="button" onClick={() => people.refetch()}>
            Try again
          </button>
        </div>
      )}
      {shown && (
        <>
          <p className="count" role="status">
            {shown.query ? `${count} found` : count}
          </p>
          {all.length === 0 && !shown.query && <p className="state empty">No one is registered yet.</p>}
          {all.length === 0 && shown.query && <p className="state empty">No one matches “{shown.query}”.</p>}
          <div ref={scroller} className={`person-scroll${stale ? ' stale' : ''}`} aria-busy={people.isFetching || undefined}>
            <ul className="person-list" style={{ height: rows.getTotalSize() }} aria-label="People">
              {items.map((row) => {
                const p = all[row.index];
                return (
                  <li key={p.id} style={{ transform: `translateY(${row.start}px)`, height: RowHeight }} aria-setsize={hasNextPage ? -1 : all.length} aria-posinset={row.index + 1}>
                    <button type="button" className="person" aria-pressed={p.id === selectedID} onClick={() => onSelect(p.id)} title={`${fullName(p)}, ${p.company_name}`}>
                      <span className="name">{fullName(p)}</span>
                      <span className="company">{p.company_name}</span>
                    </button>
                  </li>
                );
              })}
            </ul>
          </div>
        </>
      )}
    </section>
  );
}
