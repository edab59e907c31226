// The console's entry: login and logout, which tabs a role sees, hash routing between pages.

import { api, can, session } from './api.js';
import * as alerts from './alerts.js';
import * as audit from './audit.js';
import * as blackouts from './blackouts.js';
import * as media from './media.js';
import * as overview from './overview.js';
import * as records from './records.js';
import * as stream from './stream.js';
import { $, ROLE, toast } from './ui.js';

const PAGES = {
  overview: { show: overview.show, allowed: () => true },
  media: { show: media.show, allowed: () => true },
  blackouts: { show: blackouts.show, allowed: () => true },
  records: { show: records.show, allowed: () => can('airings') },
  alerts: { show: alerts.show, allowed: () => can('alerts') },
  audit: { show: audit.show, allowed: () => can('audit') },
};

function showOnly(page) {
  for (const section of document.querySelectorAll('main > .page')) {
    section.hidden = section.id !== `page-${page}`;
  }
}

function showLogin(message) {
  session.user = null;
  session.role = null;
  session.may = [];
  stream.stop();
  $('tabs').hidden = true;
  $('who').hidden = true;
  $('banner').hidden = true;
  $('login-error').textContent = message || '';
  showOnly('login');
  $('login-user').focus();
}

function enter(me) {
  session.user = me.user;
  session.role = me.role;
  session.may = Array.isArray(me.may) ? me.may : [];
  $('who-name').textContent = `${me.user}（${ROLE[me.role] || me.role}）`;
  $('who').hidden = false;
  for (const link of document.querySelectorAll('#tabs a')) {
    link.hidden = !PAGES[link.dataset.tab].allowed();
  }
  $('tabs').hidden = false;
  window.dispatchEvent(new CustomEvent('login'));
  stream.start();
  route();
}

function route() {
  if (!session.user) {
    showLogin();
    return;
  }
  const wanted = location.hash.replace(/^#\/?/, '') || 'overview';
  const page = PAGES[wanted] && PAGES[wanted].allowed() ? wanted : 'overview';
  for (const link of document.querySelectorAll('#tabs a')) {
    if (link.dataset.tab === page) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  showOnly(page);
  PAGES[page].show();
}

async function login(body, button) {
  button.disabled = true;
  $('login-error').textContent = '';
  try {
    const me = await api('POST', '/api/login', body);
    $('login-password').value = '';
    $('login-token').value = '';
    enter(me);
  } catch (err) {
    $('login-error').textContent =
      err.status === 401 ? '用户名或密码（令牌）不对，请再试一次' : err.message;
  } finally {
    button.disabled = false;
  }
}

async function logout() {
  try {
    await api('POST', '/api/logout');
  } catch {
    // The session ends on the server at its expiry anyway; the page forgets it now.
  }
  location.hash = '';
  showLogin();
}

function wire() {
  $('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const user = $('login-user').value.trim();
    const password = $('login-password').value;
    if (!user || !password) {
      $('login-error').textContent = '请填写用户名和密码';
      return;
    }
    login({ user, password }, event.submitter || $('login-form').querySelector('button'));
  });
  $('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = $('login-token').value.trim();
    if (!token) {
      $('login-error').textContent = '请填写令牌';
      return;
    }
    login({ token }, event.submitter || $('token-form').querySelector('button'));
  });
  $('logout').addEventListener('click', logout);
  window.addEventListener('hashchange', route);
  window.addEventListener('auth-lost', () => {
    if (session.user) showLogin('登录已失效，请重新登录');
  });
  window.addEventListener('status', (event) => {
    const name = event.detail && event.detail.station;
    if (name) {
      $('station-name').textContent = `${name} · 广播控制台`;
      document.title = `${name} · 广播控制台`;
    }
  });
}

async function boot() {
  wire();
  overview.wire();
  media.wire();
  blackouts.wire();
  records.wire();
  alerts.wire();
  audit.wire();
  try {
    enter(await api('GET', '/api/me'));
  } catch (err) {
    showLogin(err.status === 401 ? '' : err.message);
    if (err.status !== 401) toast(err.message, 'error');
  }
}

boot();
