import { ApiError, sendEvents, type CloudEvent } from './api';
import { isAbort } from './load';
import type { Outbox, Queued, Report } from './outbox';

// How a phone reports (docs/design.md, "The web app"): at most one report
// every minGapMS while it moves, at least one every stillMS while it stands
// still, and only positions precise to the meeting distance.
export const minGapMS = 5_000;
export const stillMS = 30_000;
export const meetingDistanceM = 5;

// A report is sent until it is this close to the oldest age the door takes.
const ageMarginMS = 5_000;
// The most events the door takes in one batch.
const maxBatch = 1000;
// Backoff after a failed send: doubling from 1 s to at most a minute.
const firstRetryMS = 1_000;
const lastRetryMS = 60_000;

export const reportType = 'io.udaconnect.location.reported';

// SharingState is what the page shows of the sharing.
export interface SharingState {
  sharing: 'off' | 'starting' | 'on';
  problem: string; // why there is no position
  last: { accuracy: number; time: number } | null; // the last position
  imprecise: number | null; // the accuracy of the last position, when too coarse to send
  sentAt: number | null; // when the door last accepted a report
  waiting: number; // reports taken, not yet accepted
  offline: boolean; // the door could not be reached
  retryAt: number | null; // when the waiting reports are sent again
  dropped: number; // reports too old to send
  refused: number; // reports the door refused for good
  refusal: string; // why, as the door said
}

export const initialState: SharingState = {
  sharing: 'off',
  problem: '',
  last: null,
  imprecise: null,
  sentAt: null,
  waiting: 0,
  offline: false,
  retryAt: null,
  dropped: 0,
  refused: 0,
  refusal: '',
};

export interface ReporterOptions {
  personID: number;
  source: string; // this browser's, the same every time
  maxAgeS: number; // the oldest report the door takes from an attendee
  outbox: Outbox;
  geolocation: Geolocation;
  send?: typeof sendEvents;
  onChange: (s: SharingState) => void;
}

// retryable reports whether the door may take an event sent again later
// (docs/design.md, "Status rules"). A 401 is neither: the session ended,
// and the report waits for the next.
function retryable(status: number): boolean {
  return status === 404 || status === 408 || status === 409 || status === 429 || status >= 500;
}

// A Reporter follows the browser's position while sharing is on and sends
// the person's reports to /events, through an outbox: each report is kept
// until the door accepted it, sent again under the same id after a failure
// (so it is stored once), and sent oldest first, many at once as a batch
// after a spell offline; reports older than the door takes are dropped.
export class Reporter {
  private state = initialState;
  private watch: number | null = null;
  private takenAt = 0; // when the last report was taken
  private lastTime = 0; // the time of the last position taken
  private pending: GeolocationPosition | null = null; // the latest position, waiting for minGapMS
  private gapTimer: ReturnType<typeof setTimeout> | undefined;
  private stillTimer: ReturnType<typeof setTimeout> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private failures = 0;
  private run = 0; // raised when the sharing stops: work begun before then ends
  private flushing = false;
  private closed = false;
  private sending: AbortController | null = null;
  private readonly send: typeof sendEvents;

  constructor(private readonly o: ReporterOptions) {
    this.send = o.send ?? sendEvents;
    window.addEventListener('online', this.backOnline);
  }

  // start asks for the position and reports it until stop.
  start() {
    if (this.watch !== null || this.closed) return;
    this.set({ sharing: 'starting', problem: '' });
    this.watch = this.o.geolocation.watchPosition(
      (p) => this.fix(p),
      (e) => this.failed(e),
      { enableHighAccuracy: true, maximumAge: 0 },
    );
    this.waitStill();
    void this.flush();
  }

  // stop ends the sharing at once: no position is asked, nothing more is
  // sent, and the reports not yet sent are discarded.
  async stop() {
    this.pause();
    this.failures = 0;
    this.set({ sharing: 'off', problem: '', imprecise: null, waiting: 0, offline: false, retryAt: null });
    await this.o.outbox.clear(this.o.personID);
    this.set({ waiting: 0 });
  }

  // close stops following the position and sending, keeping the reports not
  // yet sent for the next time the page opens.
  close() {
    this.closed = true;
    this.pause();
    window.removeEventListener('online', this.backOnline);
  }

  // resume sends what an earlier visit left unsent.
  resume() {
    void this.flush();
  }

  private pause() {
    this.run++;
    if (this.watch !== null) this.o.geolocation.clearWatch(this.watch);
    this.watch = null;
    this.pending = null;
    for (const t of [this.gapTimer, this.stillTimer, this.retryTimer]) clearTimeout(t);
    this.gapTimer = this.stillTimer = this.retryTimer = undefined;
    this.sending?.abort();
  }

  private set(change: Partial<SharingState>) {
    if (Object.entries(change).every(([k, v]) => this.state[k as keyof SharingState] === v)) return;
    this.state = { ...this.state, ...change };
    this.o.onChange(this.state);
  }

  private readonly backOnline = () => {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.failures = 0;
    void this.flush();
  };

  // waitStill asks for the position once stillMS pass without a report.
  private waitStill() {
    clearTimeout(this.stillTimer);
    this.stillTimer = setTimeout(() => {
      this.o.geolocation.getCurrentPosition(
        (p) => this.fix(p),
        (e) => this.failed(e),
        { enableHighAccuracy: true, maximumAge: 0, timeout: stillMS },
      );
      this.waitStill();
    }, stillMS);
  }

  private fix(p: GeolocationPosition) {
    if (this.watch === null) return; // stopped
    const accuracy = p.coords.accuracy;
    const precise = accuracy <= meetingDistanceM;
    this.set({ sharing: 'on', problem: '', last: { accuracy, time: p.timestamp }, imprecise: precise ? null : accuracy });
    if (!precise || p.timestamp <= this.lastTime) return;
    const wait = this.takenAt + minGapMS - Date.now();
    if (wait <= 0) {
      void this.take(p);
      return;
    }
    this.pending = p;
    this.gapTimer ??= setTimeout(() => {
      this.gapTimer = undefined;
      if (this.pending) void this.take(this.pending);
    }, wait);
  }

  private failed(e: GeolocationPositionError) {
    if (this.watch === null) return;
    if (e.code === e.PERMISSION_DENIED) {
      this.pause();
      this.set({
        sharing: 'off',
        problem:
          'This browser does not let the page know your location, so nothing can be shared. Allow location for this site in the browser’s site settings (and the phone’s location services), then press Share my location again.',
      });
      return;
    }
    this.set({ problem: 'Your position is not known right now (no GPS or network position). Still trying.' });
  }

  private async take(p: GeolocationPosition) {
    this.takenAt = Date.now();
    this.lastTime = p.timestamp;
    this.pending = null;
    this.waitStill();
    const time = new Date(p.timestamp).toISOString();
    const event: CloudEvent<Report> = {
      specversion: '1.0',
      id: crypto.randomUUID(),
      source: this.o.source,
      type: reportType,
      time,
      datacontenttype: 'application/json',
      data: { person_id: this.o.personID, latitude: p.coords.latitude, longitude: p.coords.longitude, creation_time: time },
    };
    const run = this.run;
    await this.o.outbox.add({ id: event.id, person: this.o.personID, taken: p.timestamp, event });
    if (run !== this.run) await this.o.outbox.remove([event.id]); // stopped meanwhile
    else await this.flush();
  }

  // flush sends the waiting reports, oldest first, until none is left or a
  // send fails; then a timer (or the network coming back) sends again.
  private async flush() {
    if (this.flushing || this.retryTimer !== undefined || this.closed) return;
    this.flushing = true;
    const run = this.run;
    try {
      for (;;) {
        const all = await this.o.outbox.list(this.o.personID);
        const oldest = Date.now() - this.o.maxAgeS * 1000 + ageMarginMS;
        const old = all.filter((q) => q.taken < oldest);
        if (old.length > 0) {
          await this.o.outbox.remove(old.map((q) => q.id));
          this.set({ dropped: this.state.dropped + old.length });
        }
        const due = all.filter((q) => q.taken >= oldest);
        this.set({ waiting: due.length });
        if (due.length === 0 || run !== this.run || !(await this.sendSome(due.slice(0, maxBatch)))) return;
      }
    } finally {
      this.flushing = false;
    }
  }

  // sendSome sends reports and reports whether the rest may follow now.
  private async sendSome(due: Queued[]): Promise<boolean> {
    this.sending = new AbortController();
    let sent;
    try {
      sent = await this.send(
        due.map((q) => q.event),
        this.sending.signal,
      );
    } catch (err) {
      if (isAbort(err) || this.closed) return false;
      if (!(err instanceof ApiError && err.status === 0)) throw err;
      this.set({ offline: true });
      this.retryLater(null);
      return false;
    } finally {
      this.sending = null;
    }
    if (this.closed) return false;
    const accepted = sent.results.filter((r) => r.status >= 200 && r.status < 300);
    const refused = sent.results.filter((r) => r.status !== 401 && !retryable(r.status) && !(r.status >= 200 && r.status < 300));
    await this.o.outbox.remove([...accepted, ...refused].map((r) => r.id));
    this.set({ offline: false, waiting: due.length - accepted.length - refused.length });
    if (accepted.length > 0) this.set({ sentAt: Date.now() });
    if (refused.length > 0) this.set({ refused: this.state.refused + refused.length, refusal: refused.at(-1)!.error ?? '' });
    if (sent.results.some((r) => r.status === 401)) return false;
    if (sent.results.some((r) => retryable(r.status))) {
      this.retryLater(sent.retryAfterS);
      return false;
    }
    this.failures = 0;
    this.set({ retryAt: null });
    return true;
  }

  // retryLater sends again after the backoff, or Retry-After when longer.
  private retryLater(afterS: number | null) {
    const backoff = Math.min(lastRetryMS, firstRetryMS * 2 ** this.failures);
    const delay = Math.max(backoff, (afterS ?? 0) * 1000);
    this.failures++;
    this.set({ retryAt: Date.now() + delay });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.flush();
    }, delay);
  }
}

// browserSource is this browser's source of reports, made once and kept.
export function browserSource(): string {
  const key = 'udaconnect.source';
  let source = localStorage.getItem(key);
  if (!source) {
    source = `web/${crypto.randomUUID()}`;
    localStorage.setItem(key, source);
  }
  return source;
}
