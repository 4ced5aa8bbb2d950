/**
 * Building the page: elements are made with `h` (HTML) and `sv` (SVG), and every text from the network
 * goes in through `textContent` or a text node, never as markup (no innerHTML anywhere).
 */

const SVGNS = 'http://www.w3.org/2000/svg';

export type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;
export type Kid = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, kids?: Kid | Kid[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  if (kids !== undefined && kids !== null) add(el, kids);
  return el;
}

export function sv<K extends keyof SVGElementTagNameMap>(tag: K, attrs?: Attrs | null, kids?: Kid | Kid[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVGNS, tag);
  setAttrs(el, attrs);
  if (kids !== undefined && kids !== null) add(el, kids);
  return el;
}

function setAttrs(el: Element, attrs: Attrs | null | undefined): void {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') el.textContent = String(v);
    else if (typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

export function add(el: Node, kids: Kid | Kid[]): void {
  for (const c of Array.isArray(kids) ? kids : [kids]) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

export function clear(el: Node): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

/** Sets the text only when it changed (no layout work for an unchanged number). */
export function setText(el: Node | null, t: unknown): void {
  if (!el) return;
  const s = t === null || t === undefined ? '' : String(t);
  if (el.textContent !== s) el.textContent = s;
}

/** The element with this id, which the page's HTML always has. */
export function byId(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el;
}

export function badge(state: string): HTMLElement {
  return h('span', { class: 'badge st-' + state, text: state });
}

/** Runs fn at most once per ms; a call inside the window runs once at its end. */
export function throttle(fn: () => void, ms: number): () => void {
  let last = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  return () => {
    const wait = last + ms - Date.now();
    if (wait <= 0) {
      last = Date.now();
      fn();
    } else if (!timer) {
      timer = setTimeout(() => {
        timer = null;
        last = Date.now();
        fn();
      }, wait);
    }
  };
}

/** An object with one value per key. */
export function record<K extends string, V>(keys: readonly K[], make: (k: K) => V): Record<K, V> {
  const out = {} as Record<K, V>;
  for (const k of keys) out[k] = make(k);
  return out;
}
