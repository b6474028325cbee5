import { ApiError, type CloudEvent, type Sent } from './api';
import { memoryOutbox, type Outbox, type Report } from './outbox';
import { initialState, Reporter, reportType, type SharingState } from './reporter';
import { FakeGeolocation } from './test/geolocation';

type Events = CloudEvent<Report>[];

// accept is the door accepting every event.
const accept = async (events: Events): Promise<Sent> => ({ results: events.map((e) => ({ id: e.id, status: 202 })), retryAfterS: null });

function setup({ maxAgeS = 600, send = accept, outbox = memoryOutbox() }: { maxAgeS?: number; send?: (e: Events) => Promise<Sent>; outbox?: Outbox } = {}) {
  const geo = new FakeGeolocation();
  const sent = vi.fn(send);
  let state: SharingState = initialState;
  const reporter = new Reporter({
    personID: 7,
    source: 'web/test-browser',
    maxAgeS,
    outbox,
    geolocation: geo,
    send: sent as never,
    onChange: (s) => (state = s),
  });
  const events = () => sent.mock.calls.flatMap(([e]) => e as Events);
  return { geo, sent, events, reporter, outbox, state: () => state };
}

const tick = (ms: number) => vi.advanceTimersByTimeAsync(ms);

describe('reporter', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.parse('2026-05-05T10:00:00Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends a report where the phone is, from a stable source, each under its own id, with high accuracy', async () => {
    const { geo, reporter, events, state } = setup();
    reporter.start();
    expect(geo.options[0]).toMatchObject({ enableHighAccuracy: true });
    geo.move(37.5, -122.3);
    await tick(0);
    expect(events()).toEqual([
      expect.objectContaining({
        specversion: '1.0',
        type: reportType,
        source: 'web/test-browser',
        data: { person_id: 7, latitude: 37.5, longitude: -122.3, creation_time: '2026-05-05T10:00:00.000Z' },
      }),
    ]);
    await tick(6_000);
    geo.move(37.50001, -122.3);
    await tick(0);
    expect(events()).toHaveLength(2);
    expect(new Set(events().map((e) => e.source))).toEqual(new Set(['web/test-browser']));
    expect(events()[1].id).not.toBe(events()[0].id);
    expect(state()).toMatchObject({ sharing: 'on', last: { accuracy: 3 }, waiting: 0, sentAt: Date.parse('2026-05-05T10:00:06Z') });
  });

  it('sends at most one report every 5 s while moving: the latest position', async () => {
    const { geo, reporter, events } = setup();
    reporter.start();
    geo.move(37.5, -122.3);
    await tick(1_000);
    geo.move(37.50001, -122.3);
    await tick(1_000);
    geo.move(37.50002, -122.3);
    await tick(2_900);
    expect(events()).toHaveLength(1);
    await tick(200);
    expect(events().map((e) => e.data.latitude)).toEqual([37.5, 37.50002]);
    expect(events()[1].data.creation_time).toBe('2026-05-05T10:00:02.000Z');
  });

  it('sends at least one report every 30 s while still', async () => {
    const { geo, reporter, events } = setup();
    reporter.start();
    geo.move(37.5, -122.3);
    await tick(29_000);
    expect(events()).toHaveLength(1);
    await tick(1_000);
    expect(geo.asked).toBe(1);
    expect(events().map((e) => e.data.creation_time)).toEqual(['2026-05-05T10:00:00.000Z', '2026-05-05T10:00:30.000Z']);
    await tick(30_000);
    expect(events()).toHaveLength(3);
  });

  it('does not send a position less precise than the meeting distance, and says so', async () => {
    const { geo, reporter, events, state } = setup();
    reporter.start();
    geo.move(37.5, -122.3, 25);
    await tick(10_000);
    expect(events()).toEqual([]);
    expect(state()).toMatchObject({ sharing: 'on', imprecise: 25, last: { accuracy: 25 } });
    geo.move(37.5, -122.3, 4);
    await tick(0);
    expect(events()).toHaveLength(1);
    expect(state().imprecise).toBeNull();
  });

  it('keeps the reports taken offline and sends them when back, as one batch, oldest first, under the same ids', async () => {
    let offline = true;
    const { geo, reporter, sent, events, outbox, state } = setup({
      send: async (e) => {
        if (offline) throw new ApiError(0, 'The server could not be reached.');
        return accept(e);
      },
    });
    reporter.start();
    for (const lat of [37.5, 37.50001, 37.50002]) {
      geo.move(lat, -122.3);
      await tick(6_000);
    }
    expect(state()).toMatchObject({ offline: true, waiting: 3 });
    const tried = new Map(events().map((e) => [e.data.latitude, e.id]));
    expect(tried.size).toBe(3);
    offline = false;
    sent.mockClear();
    window.dispatchEvent(new Event('online'));
    await tick(0);
    expect(sent).toHaveBeenCalledTimes(1);
    expect(events().map((e) => [e.data.latitude, e.id])).toEqual([...tried.entries()]);
    expect(await outbox.list(7)).toEqual([]);
    expect(state()).toMatchObject({ offline: false, waiting: 0 });
  });

  it('drops what is older than the door takes, and counts it', async () => {
    const outbox = memoryOutbox();
    const old = (id: string, agoS: number) => {
      const time = new Date(Date.now() - agoS * 1000).toISOString();
      const event = { specversion: '1.0', id, source: 's', type: reportType, time, datacontenttype: 'application/json', data: { person_id: 7, latitude: 1, longitude: 2, creation_time: time } } as const;
      return outbox.add({ id, person: 7, taken: Date.now() - agoS * 1000, event });
    };
    await old('stale', 700);
    await old('fresh', 100);
    const { reporter, events, state } = setup({ outbox, maxAgeS: 600 });
    reporter.resume(); // what an earlier visit left
    await tick(0);
    expect(events().map((e) => e.id)).toEqual(['fresh']);
    expect(state()).toMatchObject({ dropped: 1, waiting: 0 });
  });

  it('waits as long as Retry-After says on 429, backs off on 5xx, and sends the same id again', async () => {
    const answers = [429, 503, 202];
    const { geo, reporter, sent, events, state } = setup({
      send: async (e) => ({ results: e.map((x) => ({ id: x.id, status: answers[0] })), retryAfterS: answers.shift() === 429 ? 7 : null }),
    });
    reporter.start();
    geo.move(37.5, -122.3);
    await tick(0);
    expect(state()).toMatchObject({ waiting: 1, retryAt: Date.now() + 7_000 });
    await tick(6_900);
    expect(sent).toHaveBeenCalledTimes(1);
    await tick(100); // Retry-After: 503, then a backoff of 2 s
    expect(sent).toHaveBeenCalledTimes(2);
    await tick(1_900);
    expect(sent).toHaveBeenCalledTimes(2);
    await tick(100);
    expect(sent).toHaveBeenCalledTimes(3);
    expect(new Set(events().map((e) => e.id)).size).toBe(1);
    expect(state()).toMatchObject({ waiting: 0, retryAt: null });
  });

  it('takes a 422 as final: the report is dropped and the reason shown', async () => {
    const { geo, reporter, sent, outbox, state } = setup({
      send: async (e) => ({ results: e.map((x) => ({ id: x.id, status: 422, error: 'moved faster than 10 m/s since the last report' })), retryAfterS: null }),
    });
    reporter.start();
    geo.move(37.5, -122.3);
    await tick(0);
    await tick(60_000 - 1); // no report more: still none to send again
    expect(sent.mock.calls.every(([e]) => (e as Events).length === 1)).toBe(true);
    expect(await outbox.list(7)).toEqual([]);
    expect(state()).toMatchObject({ refused: 2, refusal: 'moved faster than 10 m/s since the last report', waiting: 0, retryAt: null });
  });

  it('stops at once: no position asked, nothing more sent, what waited discarded', async () => {
    let offline = false;
    const { geo, reporter, sent, outbox, state } = setup({
      send: async (e) => {
        if (offline) throw new ApiError(0, 'The server could not be reached.');
        return accept(e);
      },
    });
    reporter.start();
    geo.move(37.5, -122.3);
    await tick(6_000);
    offline = true;
    geo.move(37.50001, -122.3);
    await tick(0);
    expect(await outbox.list(7)).toHaveLength(1);
    await reporter.stop();
    expect(geo.watches.size).toBe(0);
    expect(state()).toMatchObject({ sharing: 'off', waiting: 0 });
    offline = false;
    const calls = sent.mock.calls.length;
    window.dispatchEvent(new Event('online'));
    await tick(120_000);
    expect(sent.mock.calls.length).toBe(calls);
    expect(geo.asked).toBe(0);
    expect(await outbox.list(7)).toEqual([]);
  });

  it('says how to allow the location when the permission is refused', async () => {
    const { geo, reporter, state } = setup();
    reporter.start();
    geo.deny();
    expect(state().sharing).toBe('off');
    expect(state().problem).toMatch(/Allow location for this site/);
    expect(geo.watches.size).toBe(0);
  });
});
