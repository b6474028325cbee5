import '@testing-library/jest-dom/vitest';
import { configure } from '@testing-library/react';
import { afterEach, beforeEach, vi } from 'vitest';
import { FakeEventSource } from './api';

// jsdom has no SVG geometry; Leaflet only checks that createSVGRect exists
// before it draws vector layers as SVG.
if (!('createSVGRect' in SVGSVGElement.prototype)) {
  Object.defineProperty(SVGSVGElement.prototype, 'createSVGRect', { value: () => ({ x: 0, y: 0, width: 0, height: 0 }) });
}

// The machine running the tests may be busy: wait longer than 1 s for
// what a test awaits.
configure({ asyncUtilTimeout: 4000 });

// jsdom lays nothing out: every box is 800 px square, so that the virtual
// lists draw the rows of that height.
for (const side of ['offsetHeight', 'offsetWidth', 'clientHeight', 'clientWidth'] as const) {
  Object.defineProperty(HTMLElement.prototype, side, { configurable: true, get: () => 800 });
}

// jsdom has no EventSource either: live streams are fakes the tests drive.
// It stays when a test's globals are restored: a view may still open a
// stream as the test ends.
Object.defineProperty(globalThis, 'EventSource', { value: FakeEventSource, configurable: true, writable: true });
beforeEach(() => {
  FakeEventSource.opened = [];
});

afterEach(() => {
  vi.unstubAllGlobals();
  window.history.replaceState(null, '', '/'); // each test opens the app at its root
});
