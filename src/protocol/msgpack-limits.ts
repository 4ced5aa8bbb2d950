import { ErrorCode, ProtocolError } from './errors.js';

/** Bounds on the shape of one MessagePack body, checked before anything is decoded. */
export interface DecodeLimits {
  /** Values in the body, containers and their members, map keys included. */
  maxElements: number;
  /** Containers nested in containers. */
  maxDepth: number;
}

/** After authentication: an assign of MAX_WINDOW chunks or a result with a long summary fits well inside. */
export const DEFAULT_DECODE_LIMITS: DecodeLimits = { maxElements: 1 << 20, maxDepth: 32 };
/** Before authentication only a `challenge` or a `hello` is legal: a hello has a few hundred values. */
export const PRE_AUTH_DECODE_LIMITS: DecodeLimits = { maxElements: 1024, maxDepth: 8 };
/** A hello at its schema's limits is about 10 KB. */
export const PRE_AUTH_MAX_FRAME_BYTES = 64 * 1024;

function bad(msg: string): ProtocolError {
  return new ProtocolError(ErrorCode.BadFrame, `frame refused before decoding: ${msg}`);
}

/**
 * Walks the MessagePack structure of `body` without building it: O(values) time, O(depth) memory.
 * A body of 16 MiB of empty arrays is refused after `maxElements` steps instead of becoming
 * sixteen million JavaScript arrays. Throws a BAD_FRAME ProtocolError naming the bound.
 */
export function checkMsgpack(body: Uint8Array, limits: DecodeLimits): void {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const end = body.length;
  let pos = 0;
  let elements = 0;
  let remaining = 1;
  const stack: number[] = [];
  const need = (n: number): void => {
    if (pos + n > end) throw bad('truncated');
  };
  const u8 = (): number => {
    need(1);
    return body[pos++] as number;
  };
  const u16 = (): number => {
    need(2);
    const v = view.getUint16(pos);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = view.getUint32(pos);
    pos += 4;
    return v;
  };
  const skip = (n: number): void => {
    need(n);
    pos += n;
  };
  for (;;) {
    if (remaining === 0) {
      if (stack.length === 0) break;
      remaining = stack.pop() as number;
      continue;
    }
    remaining--;
    if (++elements > limits.maxElements) throw bad(`more than ${limits.maxElements} values`);
    const b = u8();
    let children = 0;
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) continue;
    if (b >= 0x80 && b <= 0x8f) children = 2 * (b & 0x0f);
    else if (b >= 0x90 && b <= 0x9f) children = b & 0x0f;
    else if (b >= 0xa0 && b <= 0xbf) skip(b & 0x1f);
    else
      switch (b) {
        case 0xc4: case 0xd9: skip(u8()); break; // bin8, str8
        case 0xc5: case 0xda: skip(u16()); break;
        case 0xc6: case 0xdb: skip(u32()); break;
        case 0xc7: { const n = u8(); skip(1 + n); break; } // ext8
        case 0xc8: { const n = u16(); skip(1 + n); break; }
        case 0xc9: { const n = u32(); skip(1 + n); break; }
        case 0xca: case 0xce: case 0xd2: skip(4); break;
        case 0xcb: case 0xcf: case 0xd3: skip(8); break;
        case 0xcc: case 0xd0: skip(1); break;
        case 0xcd: case 0xd1: skip(2); break;
        case 0xd4: skip(2); break; // fixext 1..16: type byte + data
        case 0xd5: skip(3); break;
        case 0xd6: skip(5); break;
        case 0xd7: skip(9); break;
        case 0xd8: skip(17); break;
        case 0xdc: children = u16(); break;
        case 0xdd: children = u32(); break;
        case 0xde: children = 2 * u16(); break;
        case 0xdf: children = 2 * u32(); break;
        default: throw bad(`byte 0x${b.toString(16)} is not MessagePack`);
      }
    if (children === 0) continue;
    // every member takes at least one byte: a count larger than the bytes left is a lie
    if (children > end - pos) throw bad('truncated');
    if (stack.length + 1 > limits.maxDepth) throw bad(`nested deeper than ${limits.maxDepth}`);
    stack.push(remaining);
    remaining = children;
  }
  if (pos !== end) throw bad(`${end - pos} bytes after the message`);
}
