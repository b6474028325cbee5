import '@testing-library/jest-dom/vitest';
import { afterEach, vi } from 'vitest';

// jsdom has no SVG geometry; Leaflet only checks that createSVGRect exists
// before it draws vector layers as SVG.
if (!('createSVGRect' in SVGSVGElement.prototype)) {
  Object.defineProperty(SVGSVGElement.prototype, 'createSVGRect', { value: () => ({ x: 0, y: 0, width: 0, height: 0 }) });
}

afterEach(() => {
  vi.unstubAllGlobals();
});
