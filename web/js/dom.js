// dom.js - building the page safely, and formatting times.
//
// Every text that came from a user (titles, notes, names) reaches the page through text nodes
// only: h() turns string children into text nodes and never touches innerHTML. URLs from users
// pass through safeUrl() so a "javascript:" link can never be clicked.

// h('button', {class: 'x', 'aria-label': '...', onclick: fn}, 'text', child, [more])
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') {
      el.className = value;
    } else if (key.startsWith('on')) {
      // Handlers are functions, never strings: an inline "onerror=..." attribute is never set.
      if (typeof value === 'function') el.addEventListener(key.slice(2), value);
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (key === 'style' && typeof value === 'object') {
      Object.assign(el.style, value); // CSSOM, so a strict Content-Security-Policy allows it
    } else if (key === 'href' || key === 'src' || key === 'action') {
      const url = safeUrl(value);
      if (url !== null) el.setAttribute(key, url);
    } else if (value === true) {
      el.setAttribute(key, '');
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

// Append children: nodes as they are, strings and numbers as text, arrays flattened, null skipped.
export function append(el, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// Replace everything inside el with children.
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

// Only http(s) URLs, in-app hash routes and same-origin paths are allowed; anything else (such as
// "javascript:alert(1)" or "data:") is refused with null.
export function safeUrl(value) {
  if (typeof value !== 'string') return null;
  const s = value.trim();
  if (s.startsWith('#') || (s.startsWith('/') && !s.startsWith('//'))) return s;
  try {
    const u = new URL(s);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null;
  } catch {
    return null;
  }
}

const pad = (n) => String(n).padStart(2, '0');

// "14:02:11" in the viewer's local time; '' for a missing or unreadable time.
export function hms(iso) {
  const d = iso ? new Date(iso) : null;
  if (!d || Number.isNaN(d.getTime())) return '';
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// "2026-03-10 20:00" in local time.
export function dateTime(iso) {
  const d = iso ? new Date(iso) : null;
  if (!d || Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// "2026-03-10 20:00 – 00:00" (the end's date is shown only when it differs).
export function windowText(win) {
  if (!win || !win.start) return 'no window set';
  const start = dateTime(win.start);
  const end = dateTime(win.end);
  if (!end) return start;
  return start.slice(0, 10) === end.slice(0, 10) ? `${start} – ${end.slice(11)}` : `${start} – ${end}`;
}

// A random UUID for Idempotency-Key. crypto.randomUUID exists only in secure contexts
// (https or localhost); on a plain-http LAN address fall back to getRandomValues.
export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Copy text to the clipboard; the Clipboard API needs a secure context, so fall back to a
// selected textarea and execCommand on plain http.
export async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through to the old way
  }
  const ta = h('textarea', { class: 'offscreen', 'aria-hidden': 'true', readonly: true });
  ta.value = text;
  document.body.append(ta);
  ta.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  ta.remove();
  return ok;
}

// Words people read for roles and statuses.
export const STATUS_WORDS = {
  draft: 'Draft',
  in_flight: 'In flight',
  landed: 'Landed',
  closed: 'Closed',
  aborted: 'Aborted',
  go_around: 'Went around',
  pending: 'Pending',
  done: 'Done',
  skipped: 'Skipped',
  failed: 'Failed',
  active: 'Active',
  awaiting_confirmation: 'Awaiting confirmation',
};

// The first 7 characters of a commit SHA, as GitHub shows it ('' for none).
export function shortSha(sha) {
  return typeof sha === 'string' ? sha.slice(0, 7) : '';
}

export function statusWord(s) {
  return STATUS_WORDS[s] || String(s || '');
}
