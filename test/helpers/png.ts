import { deflateSync, inflateSync } from 'node:zlib';

/**
 * Makes a screenshot small enough to keep in the repository: decodes Chromium's 8-bit RGB(A) PNG,
 * reduces it to a 256-colour palette (popularity of 5-5-5 bit colour bins, each entry the mean of
 * its bin; flat UI colours survive exactly enough) and writes an indexed PNG at zlib level 9.
 */
export function smallPng(png: Buffer): Buffer {
  const { width, height, rgb } = decodePng(png);
  const n = width * height;
  const bins = new Map<number, { count: number; r: number; g: number; b: number }>();
  for (let i = 0; i < n; i++) {
    const r = rgb[i * 3] as number;
    const g = rgb[i * 3 + 1] as number;
    const b = rgb[i * 3 + 2] as number;
    const key = ((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3);
    const e = bins.get(key);
    if (e) {
      e.count++;
      e.r += r;
      e.g += g;
      e.b += b;
    } else bins.set(key, { count: 1, r, g, b });
  }
  const top = [...bins.entries()].sort((a, b) => b[1].count - a[1].count).slice(0, 256);
  const palette = top.map(([, e]) => [Math.round(e.r / e.count), Math.round(e.g / e.count), Math.round(e.b / e.count)] as [number, number, number]);
  const index = new Map<number, number>();
  const nearest = (key: number): number => {
    const hit = index.get(key);
    if (hit !== undefined) return hit;
    const e = bins.get(key) as { count: number; r: number; g: number; b: number };
    const r = e.r / e.count;
    const g = e.g / e.count;
    const b = e.b / e.count;
    let best = 0;
    let bestD = Infinity;
    palette.forEach(([pr, pg, pb], k) => {
      const d = 2 * (pr - r) ** 2 + 4 * (pg - g) ** 2 + 3 * (pb - b) ** 2;
      if (d < bestD) {
        bestD = d;
        best = k;
      }
    });
    index.set(key, best);
    return best;
  };
  const raw = Buffer.alloc((width + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width + 1)] = 0; // filter: none
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const key = (((rgb[i * 3] as number) >> 3) << 10) | (((rgb[i * 3 + 1] as number) >> 3) << 5) | ((rgb[i * 3 + 2] as number) >> 3);
      raw[y * (width + 1) + 1 + x] = nearest(key);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 3; // indexed colour
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('PLTE', Buffer.from(palette.flat())),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function decodePng(png: Buffer): { width: number; height: number; rgb: Uint8Array } {
  let p = 8;
  let width = 0;
  let height = 0;
  let type = 0;
  const idat: Buffer[] = [];
  while (p < png.length) {
    const len = png.readUInt32BE(p);
    const kind = png.toString('latin1', p + 4, p + 8);
    const data = png.subarray(p + 8, p + 8 + len);
    if (kind === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      type = data[9] as number;
      if (data[8] !== 8 || (type !== 2 && type !== 6) || data[12] !== 0) throw new Error('smallPng reads only 8-bit, non-interlaced RGB or RGBA PNGs');
    } else if (kind === 'IDAT') idat.push(data);
    p += 12 + len;
  }
  const bpp = type === 6 ? 4 : 3;
  const stride = width * bpp;
  const data = inflateSync(Buffer.concat(idat));
  const px = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const f = data[y * (stride + 1)] as number;
    const row = y * stride;
    const src = y * (stride + 1) + 1;
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? (px[row + x - bpp] as number) : 0;
      const b = y > 0 ? (px[row - stride + x] as number) : 0;
      const c = x >= bpp && y > 0 ? (px[row - stride + x - bpp] as number) : 0;
      const v = data[src + x] as number;
      let out: number;
      switch (f) {
        case 0:
          out = v;
          break;
        case 1:
          out = v + a;
          break;
        case 2:
          out = v + b;
          break;
        case 3:
          out = v + ((a + b) >> 1);
          break;
        case 4: {
          const q = a + b - c;
          const pa = Math.abs(q - a);
          const pb = Math.abs(q - b);
          const pc = Math.abs(q - c);
          out = v + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
          break;
        }
        default:
          throw new Error(`bad PNG filter ${f}`);
      }
      px[row + x] = out & 0xff;
    }
  }
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    rgb[i * 3] = px[i * bpp] as number;
    rgb[i * 3 + 1] = px[i * bpp + 1] as number;
    rgb[i * 3 + 2] = px[i * bpp + 2] as number;
  }
  return { width, height, rgb };
}

const CRC = new Int32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

function crc32(buf: Buffer): number {
  let c = -1;
  for (const byte of buf) c = (CRC[(c ^ byte) & 0xff] as number) ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

function chunk(kind: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(kind, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
