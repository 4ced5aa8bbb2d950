/** One page, many views: the URL's path picks the view; links inside the app navigate without a reload. */
import { add, clear, h } from './dom.js';
import type { Change, View } from './model.js';
import { S } from './state.js';

type ViewFn = (root: HTMLElement, arg: string) => View | null;

const routes: [RegExp, string, ViewFn][] = [];
let view: View | null = null;

/** Adds a route: `nav` is the header link it lights up. */
export function route(path: RegExp, nav: string, fn: ViewFn): void {
  routes.push([path, nav, fn]);
}

export function navigate(path: string): void {
  if (path === location.pathname + location.search) return;
  history.pushState(null, '', path);
  render();
}

export function render(): void {
  view?.destroy?.();
  view = null;
  const main = document.getElementById('view') as HTMLElement;
  clear(main);
  main.className = '';
  const path = location.pathname;
  for (const [re, nav, fn] of routes) {
    const m = re.exec(path);
    if (!m) continue;
    document.querySelectorAll('.nav a').forEach((a) => a.classList.toggle('active', a.getAttribute('data-nav') === nav));
    view = fn(main, m[1] === undefined ? '' : decodeURIComponent(m[1]));
    if (S.ready) view?.update?.({ full: true, nodes: [], jobs: [], events: [] });
    window.scrollTo(0, 0);
    return;
  }
  add(main, h('div', { class: 'empty', text: 'No such page.' }));
}

/** Passes a change to the view on screen. */
export function updateView(c: Change): void {
  view?.update?.(c);
}

/** Links to the app's own pages change the view in place; the API, assets and downloads load normally. */
export function interceptLinks(): void {
  document.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = e.target instanceof Element ? e.target.closest('a') : null;
    if (!a || a.target || a.hasAttribute('download') || a.origin !== location.origin) return;
    if (/^\/(api|metrics|assets|login)/.test(a.pathname)) return;
    e.preventDefault();
    navigate(a.pathname);
  });
  window.addEventListener('popstate', render);
}
