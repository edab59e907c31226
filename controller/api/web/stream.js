// The live status: one EventSource on /api/events, reconnected when it drops, with the
// "连接中断" banner while it is down. Each status goes to `live` and a `status` window event.

import { api, live, session } from './api.js';
import { $, setStationZone } from './ui.js';

const BANNER_DELAY_MS = 4000; // longer than the daemon's retry: a planned reconnect stays quiet
const REFUSED_RETRY_MS = 5000; // after a refusal (logged out, too many consoles)

let source = null;
let retryTimer = 0;
let bannerTimer = 0;

export function start() {
  stop();
  connect();
}

export function stop() {
  if (source) source.close();
  source = null;
  clearTimeout(retryTimer);
  clearTimeout(bannerTimer);
  bannerTimer = 0;
  live.status = null;
}

function connect() {
  const stream = new EventSource('/api/events');
  source = stream;
  stream.addEventListener('open', () => connected(stream));
  stream.addEventListener('status', (event) => {
    connected(stream);
    let status;
    try {
      status = JSON.parse(event.data);
    } catch {
      return;
    }
    receive(status);
  });
  stream.addEventListener('error', () => {
    if (source !== stream) return;
    disconnectedSoon();
    if (stream.readyState === EventSource.CLOSED) {
      // The daemon refused the stream (logged out, too many consoles): retry by ourselves.
      stream.close();
      source = null;
      retryTimer = setTimeout(retry, REFUSED_RETRY_MS);
    }
  });
}

async function retry() {
  if (!session.user) return;
  try {
    await api('GET', '/api/me');
  } catch (err) {
    if (err.status === 401) {
      window.dispatchEvent(new CustomEvent('auth-lost'));
      return;
    }
  }
  if (session.user && !source) connect();
}

function connected(stream) {
  if (source !== stream) return;
  clearTimeout(bannerTimer);
  bannerTimer = 0;
  $('banner').hidden = true;
}

function disconnectedSoon() {
  if (bannerTimer) return;
  bannerTimer = setTimeout(() => {
    bannerTimer = 0;
    if (session.user) $('banner').hidden = false;
  }, BANNER_DELAY_MS);
}

function receive(status) {
  if (!live.status || live.status.timezone !== status.timezone) setStationZone(status.timezone);
  live.status = status;
  const now = Date.parse(status.now);
  live.offsetMs = Number.isFinite(now) ? now - Date.now() : 0;
  window.dispatchEvent(new CustomEvent('status', { detail: status }));
}
