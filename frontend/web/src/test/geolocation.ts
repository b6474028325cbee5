// A stand-in for the browser's Geolocation: a test moves the phone, or
// refuses the permission, and sees what the page asked.
export class FakeGeolocation implements Geolocation {
  watches = new Map<number, { ok: PositionCallback; fail?: PositionErrorCallback | null }>();
  asked = 0; // getCurrentPosition calls
  options: PositionOptions[] = [];
  private position: GeolocationPosition | null = null;
  private next = 1;

  watchPosition(ok: PositionCallback, fail?: PositionErrorCallback | null, options?: PositionOptions): number {
    this.watches.set(this.next, { ok, fail });
    if (options) this.options.push(options);
    return this.next++;
  }

  clearWatch(id: number) {
    this.watches.delete(id);
  }

  getCurrentPosition(ok: PositionCallback, _fail?: PositionErrorCallback | null, options?: PositionOptions) {
    this.asked++;
    if (options) this.options.push(options);
    if (this.position) ok(at(this.position.coords.latitude, this.position.coords.longitude, this.position.coords.accuracy));
  }

  // move puts the phone at (latitude, longitude), known to accuracy metres,
  // now, and tells every watch.
  move(latitude: number, longitude: number, accuracy = 3) {
    this.position = at(latitude, longitude, accuracy);
    for (const w of this.watches.values()) w.ok(this.position);
  }

  // deny refuses the permission, as a user or the browser's settings do.
  deny() {
    const error = { code: 1, message: 'User denied Geolocation', PERMISSION_DENIED: 1, POSITION_UNAVAILABLE: 2, TIMEOUT: 3 } as GeolocationPositionError;
    for (const w of this.watches.values()) w.fail?.(error);
  }
}

function at(latitude: number, longitude: number, accuracy: number): GeolocationPosition {
  const coords = { latitude, longitude, accuracy, altitude: null, altitudeAccuracy: null, heading: null, speed: null };
  return { coords: { ...coords, toJSON: () => coords }, timestamp: Date.now(), toJSON: () => ({ coords, timestamp: Date.now() }) } as GeolocationPosition;
}
