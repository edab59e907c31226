// DOM helpers, Chinese labels and formats, the confirmation dialog and the toast.
// Every string from the server goes into the page as text (textContent), never as markup.

/** el('p', {class: 'x', onclick: fn}, 'text', child, ...) */
export function el(tag, props, ...children) {
  return fill(document.createElement(tag), props, children);
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function svg(tag, props, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), props, children);
}

function fill(node, props, children) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') node.setAttribute('class', value);
    else if (key === 'text') node.textContent = String(value);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') {
      node.addEventListener(key.slice(2), value);
    } else if (value === true) node.setAttribute(key, '');
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

export function $(id) {
  return document.getElementById(id);
}

// -- times ---------------------------------------------------------------------------------
// Shown in station time (the status's `timezone`), whatever zone this browser is in. Until the
// first status arrives, the wall-clock part of the daemon's own ISO text is shown.

let stationFormat = null;

export function setStationZone(zone) {
  try {
    stationFormat = new Intl.DateTimeFormat('en-CA', {
      timeZone: zone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
  } catch {
    stationFormat = null; // an unknown zone: keep the daemon's wall clock
  }
}

function stationParts(iso) {
  if (!iso) return null;
  const moment = Date.parse(iso);
  if (stationFormat && Number.isFinite(moment) && /(?:[zZ]|[+-]\d\d:\d\d)$/.test(iso)) {
    const p = {};
    for (const part of stationFormat.formatToParts(new Date(moment))) p[part.type] = part.value;
    return { date: `${p.year}-${p.month}-${p.day}`, time: `${p.hour}:${p.minute}`, second: p.second };
  }
  return { date: iso.slice(0, 10), time: iso.slice(11, 16), second: iso.slice(17, 19) || '00' };
}

export function wallDate(iso) {
  const p = stationParts(iso);
  return p ? p.date : '';
}

export function wallTime(iso) {
  const p = stationParts(iso);
  return p ? p.time : '';
}

export function wallDateTime(iso) {
  const p = stationParts(iso);
  return p ? `${p.date} ${p.time}` : '';
}

/** "2027-06-07 09:30:05": a moment to the second (the audit log). */
export function wallStamp(iso) {
  const p = stationParts(iso);
  return p ? `${p.date} ${p.time}:${p.second}` : '';
}

const WEEKDAYS = ['周日', '周一', '周二', '周三', '周四', '周五', '周六'];

/** "6月7日 周一" for "2027-06-07". */
export function dayLabel(day) {
  const [y, m, d] = day.split('-').map(Number);
  const weekday = new Date(Date.UTC(y, m - 1, d)).getUTCDay();
  return `${m}月${d}日 ${WEEKDAYS[weekday]}`;
}

/** "YYYY-MM-DD" `days` after the given one. */
export function addDays(day, days) {
  const [y, m, d] = day.split('-').map(Number);
  const t = new Date(Date.UTC(y, m - 1, d + days));
  return t.toISOString().slice(0, 10);
}

/** "1分05秒", "32秒", "1小时02分". */
export function duration(seconds) {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h) return `${h}小时${String(m).padStart(2, '0')}分`;
  if (m) return `${m}分${String(r).padStart(2, '0')}秒`;
  return `${r}秒`;
}

/** "05:07" or "1:02:03", for a countdown. */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export function number(value, digits = 1) {
  return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) : '—';
}

// -- labels --------------------------------------------------------------------------------

export const ROLE = { admin: '管理员', operator: '值班员', police: '派出所民警' };

export const PHASE = {
  waking: '准备中',
  power_on: '正在打开功放',
  zones_on: '正在打开喇叭',
  on_air: '播出中',
  closing: '正在结束',
  done: '已结束',
};

export const SOURCE = { schedule: '定时播出', manual: '手动插播', emergency: '紧急插播' };

/** An override's state (GET /api/airings). */
export const OVERRIDE_STATE = {
  scheduled: '即将开始',
  waiting: '等待播出',
  on_air: '正在播出',
  aired: '已播出',
  aired_partly: '部分区域未播出',
  cut: '被静默期截断',
  preempted: '被打断，未恢复',
  never_aired: '未能播出（时段已过）',
  missed: '错过',
  failed: '播出失败',
  stopped: '已停止',
  cancelled: '已取消',
};

const PRIORITY = { 100: '紧急插播', 80: '警方警示', 70: '手动插播', 50: '定时播出' };

/** "优先级 80（警方警示）". */
export function priorityLabel(priority) {
  const name = PRIORITY[priority];
  return `优先级 ${priority}${name ? `（${name}）` : ''}`;
}

export const CLIP_STATUS = {
  pending: '待审核',
  approved: '已批准',
  rejected: '已驳回',
  retired: '已停用',
};

export const OUTCOME = {
  aired: '已播出',
  joined: '中途接入',
  resumed: '恢复播出',
  cut: '中途静默',
  preempted: '被插播打断',
  stopped: '人工停播',
  blacked_out: '静默期未播',
  missed: '错过',
  failed: '设备故障',
};

export const SCREEN_MODE = {
  starting: '启动中',
  rotation: '轮播标语',
  message: '临时消息',
  off: '已关屏',
  error: '故障',
};

export function relayLabel(state, confirmed) {
  if (state === 'on') return confirmed ? '开（设备已确认）' : '开（未确认）';
  if (state === 'off') return '关';
  return '未知';
}

// -- toast ---------------------------------------------------------------------------------

let toastTimer = 0;

export function toast(message, kind = 'ok') {
  const node = $('toast');
  node.textContent = message;
  node.className = `toast ${kind}`;
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    node.hidden = true;
  }, kind === 'error' ? 10000 : 5000);
}

// -- the confirmation dialog ---------------------------------------------------------------

/**
 * Ask before anything that changes the air. Resolves the reason typed (trimmed), or null if
 * cancelled. opts: {title, lines: [text], ok, danger, reason: 'required'|'optional'|'none',
 * initial}.
 */
export function confirmWithReason(opts) {
  const dialog = $('confirm-dialog');
  const reason = $('confirm-reason');
  const error = $('confirm-error');
  const ok = $('confirm-ok');
  const mode = opts.reason || 'required';
  $('confirm-title').textContent = opts.title;
  clear($('confirm-lines')).append(...(opts.lines || []).map((line) => el('li', { text: line })));
  $('confirm-reason-label').hidden = mode === 'none';
  $('confirm-reason-label').firstChild.textContent =
    mode === 'required' ? '原因（必填）' : '原因（可不填）';
  reason.value = opts.initial || '';
  error.textContent = '';
  ok.textContent = opts.ok || '确认';
  ok.className = `big ${opts.danger === false ? 'primary' : 'danger'}`;

  return new Promise((resolve) => {
    const finish = (value) => {
      form.removeEventListener('submit', onSubmit);
      $('confirm-cancel').removeEventListener('click', onCancel);
      dialog.removeEventListener('cancel', onCancel);
      if (dialog.open) dialog.close();
      resolve(value);
    };
    const onSubmit = (event) => {
      event.preventDefault();
      const text = reason.value.trim();
      if (mode === 'required' && !text) {
        error.textContent = '请填写原因';
        reason.focus();
        return;
      }
      finish(text);
    };
    const onCancel = (event) => {
      event.preventDefault();
      finish(null);
    };
    const form = $('confirm-form');
    form.addEventListener('submit', onSubmit);
    $('confirm-cancel').addEventListener('click', onCancel);
    dialog.addEventListener('cancel', onCancel);
    dialog.showModal();
    (mode === 'none' ? ok : reason).focus();
  });
}

/** A table from rows of cells; a cell is text or a node. */
export function table(headers, rows, rowProps) {
  return el(
    'table',
    { class: 'data' },
    el('thead', {}, el('tr', {}, headers.map((h) => el('th', { text: h })))),
    el(
      'tbody',
      {},
      rows.map((cells, i) =>
        el(
          'tr',
          rowProps ? rowProps(i) : {},
          cells.map((c, j) => el('td', { 'data-label': headers[j] }, c)),
        ),
      ),
    ),
  );
}

export function badge(text, kind) {
  return el('span', { class: `badge ${kind || ''}`, text });
}
