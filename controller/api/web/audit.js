// 审计日志 (admin): who changed what, when, from where and why, newest first, with a text
// filter over every column.

import { api } from './api.js';
import { $, ROLE, clear, el, table, wallStamp } from './ui.js';

const ACTION = {
  login: '登录',
  logout: '退出登录',
  login_failed: '登录失败',
  'media.upload': '上传音频',
  'media.upload_existing': '上传音频（库里已有）',
  'media.upload_refused': '上传被拒',
  'media.add': '命令行入库',
  'media.add_existing': '命令行入库（库里已有）',
  'media.approve': '批准音频',
  'media.reject': '驳回音频',
  'media.retire': '停用音频',
  'media.edit': '修改音频信息',
  'led.message': '推送屏幕消息',
  'blackout.create': '新建静默期',
  'blackout.update': '修改静默期',
  'blackout.delete': '删除静默期',
  'airing.create': '手动插播',
  'airing.stop': '停止插播',
  stop: '停播',
  'emergency.alert': '紧急插播',
  'emergency.update': '更新紧急插播',
  'emergency.cancel': '解除警报',
  'user.add': '添加用户',
  'user.passwd': '设置密码',
  'user.revoke': '停用用户',
  'user.token': '重发令牌',
  'alerts.test': '发送测试告警',
};

let entries = [];

export function show() {
  load();
}

async function load() {
  const limit = $('audit-limit').value || '200';
  try {
    entries = await api('GET', `/api/audit?${new URLSearchParams({ limit })}`);
    render();
  } catch (err) {
    entries = [];
    $('audit-count').textContent = '';
    clear($('audit-table')).append(el('p', { class: 'error', text: `无法获取审计日志：${err.message}` }));
  }
}

function sourceText(source) {
  const s = String(source || '');
  return s.startsWith('cli:') ? `本机命令行（${s.slice(4)}）` : s;
}

function detailText(detail) {
  return detail && typeof detail === 'object' && Object.keys(detail).length
    ? JSON.stringify(detail, null, 2)
    : '';
}

function haystack(e) {
  return [
    wallStamp(e.at),
    e.user,
    ROLE[e.role] || '',
    e.role,
    sourceText(e.source),
    e.action,
    ACTION[e.action] || '',
    e.target,
    e.reason,
    detailText(e.detail),
  ]
    .join('\n')
    .toLowerCase();
}

function render() {
  const words = $('audit-filter').value.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const shown = [...entries]
    .sort((a, b) => b.id - a.id)
    .filter((e) => words.every((w) => haystack(e).includes(w)));
  $('audit-count').textContent = words.length
    ? `最近 ${entries.length} 条中有 ${shown.length} 条符合`
    : `最近 ${entries.length} 条，最新的在最上面`;
  const box = clear($('audit-table'));
  if (!shown.length) {
    box.append(el('p', { class: 'muted', text: entries.length ? '没有符合条件的记录' : '还没有审计记录' }));
    return;
  }
  box.append(
    table(
      ['时间', '用户', '角色', '来源地址', '操作', '对象', '原因', '详情'],
      shown.map((e) => {
        const detail = detailText(e.detail);
        return [
          wallStamp(e.at),
          e.user,
          ROLE[e.role] || e.role,
          sourceText(e.source),
          el(
            'span',
            {},
            ACTION[e.action] ? [el('span', { text: ACTION[e.action] }), ' '] : null,
            el('code', { class: 'action-code', text: e.action }),
          ),
          e.target,
          e.reason || null,
          detail
            ? el('details', { class: 'audit-detail' }, el('summary', { text: '查看' }), el('pre', { text: detail }))
            : null,
        ];
      }),
      (i) => ({ class: 'audit-row', dataset: { action: shown[i].action, entry: String(shown[i].id) } }),
    ),
  );
}

export function wire() {
  $('audit-filter').addEventListener('input', render);
  $('audit-limit').addEventListener('change', load);
  $('audit-reload').addEventListener('click', load);
}
