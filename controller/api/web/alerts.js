// 告警 (operators and admins): where alerts go, the recent alerts with how each was delivered
// on every channel, refreshed while the page is open; admins send a test alert and read, per
// channel, whether it arrived (alert_words.js: the wording).

import { api, can, session } from './api.js';
import {
  channelLabel,
  channelScope,
  chinese,
  deliveryWords,
  plainReason,
  rawReason,
  severityBadge,
  undeliveredWords,
} from './alert_words.js';
import { $, badge, clear, confirmWithReason, el, table, toast, wallStamp } from './ui.js';

const REFRESH_MS = 15000; // deliveries retry in the engine; the page shows the latest
const DELIVERY_BADGE = { sent: 'ok', queued: 'pending', retrying: 'warn', given_up: 'danger', failed: 'danger' };

let channels = [];
let loading = false;
const opened = new Set(); // the 详情 a reader opened stay open when the list is redrawn

export function show() {
  $('alert-test-card').hidden = !can('alerts_test');
  load();
}

function visible() {
  return Boolean(session.user) && !$('page-alerts').hidden && !document.hidden;
}

async function load() {
  if (loading) return;
  loading = true;
  try {
    const answer = await api('GET', '/api/alerts?limit=100');
    channels = Array.isArray(answer.channels) ? answer.channels : [];
    renderChannels();
    renderAlerts(Array.isArray(answer.alerts) ? answer.alerts : []);
    $('alert-updated').textContent = `已更新（每 ${REFRESH_MS / 1000} 秒自动刷新）`;
  } catch (err) {
    $('alert-updated').textContent = '';
    clear($('alert-list')).append(el('p', { class: 'error', text: `无法获取告警：${err.message}` }));
  } finally {
    loading = false;
  }
}

function renderChannels() {
  const box = clear($('alert-channels'));
  if (!channels.length) {
    box.append(
      el('p', {
        class: 'notice-none',
        id: 'alert-no-channel',
        text: '未配置告警渠道：告警只记录在本机，不会发到任何人的手机、群或邮箱。请管理员在 config.yaml 的 alerts: 中添加渠道。',
      }),
    );
    return;
  }
  box.append(
    el('p', { class: 'muted', text: `告警发往 ${channels.length} 个渠道：` }),
    el(
      'ul',
      { class: 'alert-channels' },
      channels.map((c) => el('li', { dataset: { channel: c.name } }, el('strong', { text: channelLabel(c) }), ` · ${channelScope(c)}`)),
    ),
  );
}

function reasonNode(key, raw) {
  const details = rawReason(raw);
  if (!details) return null;
  details.open = opened.has(key);
  details.addEventListener('toggle', () => (details.open ? opened.add(key) : opened.delete(key)));
  return details;
}

function deliveries(alert) {
  const list = alert.deliveries || [];
  if (!list.length) return el('span', { class: 'muted', text: undeliveredWords(alert, channels) });
  const byName = new Map(channels.map((c) => [c.name, c]));
  return el(
    'ul',
    { class: 'deliveries' },
    list.map((d) => {
      const { state, words } = deliveryWords(d, alert);
      const channel = byName.get(d.channel);
      return el(
        'li',
        { class: 'delivery', dataset: { channel: d.channel, state } },
        el('strong', { text: channel ? channelLabel(channel) : `${d.channel}（已不在配置中）` }),
        ' ',
        badge(words, DELIVERY_BADGE[state]),
        d.error && state !== 'sent' ? el('div', { class: 'delivery-why', text: plainReason(d.error) }) : null,
        d.state !== 'sent' ? reasonNode(`${alert.id}|${d.channel}`, d.error) : null,
      );
    }),
  );
}

function renderAlerts(alerts) {
  const box = clear($('alert-list'));
  if (!alerts.length) {
    box.append(el('p', { class: 'muted', id: 'alert-empty', text: '还没有告警' }));
    return;
  }
  box.append(
    table(
      ['时间', '级别', '内容', '送达情况'],
      alerts.map((a) => [
        wallStamp(a.at),
        severityBadge(a.severity),
        el('span', { class: 'alert-text', title: a.text, text: chinese(a.text) }),
        deliveries(a),
      ]),
      (i) => ({ class: 'alert-row', dataset: { alert: String(alerts[i].id), kind: alerts[i].kind } }),
    ),
  );
}

// -- the test (admin) ----------------------------------------------------------------------

async function sendTest() {
  const button = $('alert-test');
  const lines = channels.length
    ? channels.map((c) => `发往 ${channelLabel(c)}`)
    : ['未配置告警渠道：这次测试不会发给任何人'];
  const go = await confirmWithReason({
    title: '发送一条测试告警？',
    lines: [...lines, '收到的人会看到“测试告警”字样，这次测试会记入审计日志。'],
    ok: '发送测试告警',
    danger: false,
    reason: 'none',
  });
  if (go === null) return;
  button.disabled = true;
  const result = clear($('alert-test-result'));
  result.append(el('p', { class: 'muted', text: '正在发送，每个渠道最多等它的超时时间…' }));
  try {
    showResult(await api('POST', '/api/alerts/test'));
  } catch (err) {
    clear(result).append(el('p', { class: 'error', text: `测试没有发出：${err.message}` }));
    toast(`测试告警失败：${err.message}`, 'error');
  } finally {
    button.disabled = false;
    load();
  }
}

function showResult(answer) {
  const said = Array.isArray(answer && answer.channels) ? answer.channels : [];
  const box = clear($('alert-test-result'));
  if (!said.length) {
    box.append(el('p', { class: 'notice-none', text: chinese(answer && answer.message) || '未配置告警渠道，测试没有发给任何人' }));
    return;
  }
  const delivered = said.filter((c) => c.ok).length;
  box.append(
    el('h3', { text: delivered === said.length ? `测试结果：${said.length} 个渠道全部送达` : `测试结果：${said.length} 个渠道中 ${delivered} 个送达` }),
    el(
      'ul',
      { class: 'deliveries' },
      said.map((c) =>
        el(
          'li',
          { class: 'test-answer', dataset: { channel: c.name, ok: String(Boolean(c.ok)) } },
          el('strong', { text: channelLabel(c) }),
          ' ',
          c.ok ? badge('已送达', 'ok') : badge('未送达', 'danger'),
          c.ok ? null : el('div', { class: 'delivery-why', text: plainReason(c.detail) }),
          c.ok ? null : rawReason(c.detail),
        ),
      ),
    ),
  );
  toast(delivered === said.length ? '测试告警已送达' : '测试告警有渠道未送达，请看测试结果', delivered === said.length ? 'ok' : 'error');
}

export function wire() {
  $('alert-test').addEventListener('click', sendTest);
  $('alert-reload').addEventListener('click', load);
  setInterval(() => {
    if (visible()) load();
  }, REFRESH_MS);
  window.addEventListener('login', () => {
    clear($('alert-test-result'));
    opened.clear();
  });
}
