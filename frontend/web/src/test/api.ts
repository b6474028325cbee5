// A stand-in for the server at the network boundary: fetch is replaced by a
// router of canned answers, and every request is recorded.
import { vi } from 'vitest';
import type { Session } from '../api';

export interface Call {
  method: string;
  url: URL;
  headers: Headers;
  body: unknown;
}

type Handler = (url: URL, body: unknown) => Response | Promise<Response>;

export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

// never is an answer that does not come, to look at loading states.
export function never(): Promise<Response> {
  return new Promise(() => {});
}

// signedIn answers GET /api/session as signed in with the given session.
export function signedIn(session: Session = { role: 'organizer' }): Record<string, Handler> {
  return { 'GET /api/session': () => json(200, session) };
}

// serve routes "METHOD /path" to handlers; other requests get a 404.
export function serve(routes: Record<string, Handler>): Call[] {
  const calls: Call[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
      const url = new URL(String(input), 'http://localhost');
      const method = init.method ?? 'GET';
      const body = typeof init.body === 'string' ? JSON.parse(init.body) : undefined;
      calls.push({ method, url, headers: new Headers(init.headers), body });
      const handler = routes[`${method} ${url.pathname}`];
      if (handler) return handler(url, body);
      // One person is found in the list of everyone, as the server would.
      const one = /^\/api\/persons\/(\d+)$/.exec(url.pathname);
      const everyone = routes['GET /api/persons'];
      if (method === 'GET' && one && everyone) {
        const list = await (await everyone(new URL('/api/persons', url), undefined)).json();
        const p = Array.isArray(list) ? list.find((x: { id: number }) => x.id === Number(one[1])) : undefined;
        return p ? json(200, p) : json(404, { error: `person ${one[1]} not found` });
      }
      return json(404, { error: `no route ${method} ${url.pathname}` });
    }),
  );
  return calls;
}

// FakeEventSource stands in for the browser's EventSource: a test opens
// it, sends events through it and sees it closed.
export class FakeEventSource {
  static opened: FakeEventSource[] = [];
  closed = false;
  private listeners = new Map<string, ((e: Event) => void)[]>();

  constructor(readonly url: string) {
    FakeEventSource.opened.push(this);
  }

  addEventListener(type: string, listener: (e: Event) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  close() {
    this.closed = true;
  }

  // open tells the page that the stream is open.
  open() {
    for (const l of this.listeners.get('open') ?? []) l(new Event('open'));
  }

  // send delivers an event named type with data as its JSON.
  send(type: string, data: unknown, id = '') {
    for (const l of this.listeners.get(type) ?? []) l(new MessageEvent(type, { data: JSON.stringify(data), lastEventId: id }));
  }
}

// liveStream is the stream the page holds open at url, the latest opened.
export function liveStream(url: string): FakeEventSource | undefined {
  return FakeEventSource.opened.filter((s) => s.url === url && !s.closed).at(-1);
}
