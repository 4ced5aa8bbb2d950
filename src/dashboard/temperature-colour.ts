/**
 * Seed 004's temperature scale: blue 40 °C, green 50, yellow 60, orange 70, red 80, clamped outside
 * [40, 80] and interpolated linearly in RGB between neighbouring stops, as its `get_color` does. Two
 * differences from that function, on purpose: orange really sits at 70 (seed 004's code reaches pure
 * red at 70 and never shows orange), and the five colours are slightly softened so white or black text
 * stays readable on them on a dark page. `null` (no sensor) is grey.
 *
 * The page imports this very module (src/dashboard/client/, bundled by esbuild), so the page and the
 * tests colour with the same code; it stays free of Node and DOM types for that reason.
 * Returns `rgb(r, g, b)`, the form `getComputedStyle` reports.
 */
export function temperatureColour(temp: number | null | undefined): string {
  if (temp === null || temp === undefined || !Number.isFinite(temp)) return 'rgb(88, 96, 116)';
  const stops: [number, number, number, number][] = [
    [40, 41, 98, 255],
    [50, 22, 190, 90],
    [60, 245, 205, 20],
    [70, 250, 134, 10],
    [80, 232, 36, 36],
  ];
  const first = stops[0] as [number, number, number, number];
  const last = stops[stops.length - 1] as [number, number, number, number];
  if (temp <= first[0]) return 'rgb(' + first[1] + ', ' + first[2] + ', ' + first[3] + ')';
  if (temp >= last[0]) return 'rgb(' + last[1] + ', ' + last[2] + ', ' + last[3] + ')';
  for (let i = 1; i < stops.length; i++) {
    const b = stops[i] as [number, number, number, number];
    if (temp <= b[0]) {
      const a = stops[i - 1] as [number, number, number, number];
      const f = (temp - a[0]) / (b[0] - a[0]);
      const mix = (x: number, y: number): number => Math.round(x + (y - x) * f);
      return 'rgb(' + mix(a[1], b[1]) + ', ' + mix(a[2], b[2]) + ', ' + mix(a[3], b[3]) + ')';
    }
  }
  return 'rgb(' + last[1] + ', ' + last[2] + ', ' + last[3] + ')';
}

/** The scale's stops, for the legend and the docs. */
export const TEMPERATURE_STOPS = [40, 50, 60, 70, 80] as const;
