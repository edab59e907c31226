// The fault banner at the top of 总览: how many faults, worst first, in the words the server
// chose (status `faults_summary`, controller/engine/faults.py); each jumps to its device's
// section, the raw error text is folded behind 详情.

import { $, clear, el } from './ui.js';

const SEVERITY = { air: '影响播出', device: '设备', screen: 'LED 屏幕', disk: '磁盘', notice: '已过去' };
const FLASH_MS = 2500;

let shown = '';
const opened = new Set(); // the 详情 a reader opened stay open when the banner is redrawn

export function render(status) {
  const faults = Array.isArray(status.faults_summary) ? status.faults_summary : [];
  const key = JSON.stringify(faults);
  if (key === shown) return;
  shown = key;
  const box = $('fault-banner');
  const current = faults.filter((f) => f.severity !== 'notice');
  const past = faults.length - current.length;
  box.hidden = !faults.length;
  box.dataset.worst = current.length ? current[0].severity : 'notice';
  box.dataset.count = String(current.length);
  clear(box).append(
    el(
      'h2',
      { class: 'fault-count' },
      current.length ? `${current.length} 个故障` : '现在没有故障',
      past ? el('span', { class: 'fault-past', text: `（另有最近 24 小时已过去的异常 ${past} 条）` }) : null,
    ),
    el('ol', { class: 'fault-list' }, faults.map(item)),
  );
}

function item(fault, index) {
  const key = `${fault.severity}|${fault.target || ''}|${index}`;
  const words = fault.target
    ? el('button', { type: 'button', class: 'fault-go', text: fault.text, onclick: () => jump(fault.target) })
    : el('span', { class: 'fault-text', text: fault.text });
  let detail = null;
  if (fault.detail) {
    detail = el('details', { class: 'raw', open: opened.has(key) }, el('summary', { text: '详情' }), el('pre', { text: fault.detail }));
    detail.addEventListener('toggle', () => (detail.open ? opened.add(key) : opened.delete(key)));
  }
  return el(
    'li',
    { class: 'fault', dataset: { severity: fault.severity, target: fault.target || '' } },
    el('span', { class: 'fault-kind', text: SEVERITY[fault.severity] || '' }),
    words,
    detail,
  );
}

/** The section of the page a fault's target names ("device:rack", "record"). */
function section(target) {
  const [kind, ...rest] = String(target).split(':');
  const id = rest.join(':');
  const lists = { zone: ['zones', 'zone'], device: ['devices', 'device'], display: ['screens', 'display'], airing: ['onair-list', 'airing'] };
  if (lists[kind]) {
    const [box, name] = lists[kind];
    const parent = $(box);
    if (!parent) return null;
    // Compared as text, not put into a selector: an id is whatever the config says.
    return [...parent.querySelectorAll(`[data-${name}]`)].find((n) => n.dataset[name] === id) || parent;
  }
  return [...document.querySelectorAll('#devices [data-section]')].find((n) => n.dataset.section === kind) || null;
}

function jump(target) {
  const node = section(target);
  if (!node) return;
  node.scrollIntoView({ block: 'center' });
  node.setAttribute('tabindex', '-1');
  node.focus({ preventScroll: true });
  node.classList.add('flash');
  setTimeout(() => node.classList.remove('flash'), FLASH_MS);
}
