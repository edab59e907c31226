// 告警 in plain Chinese: an alert's severity, a channel's kind, how a delivery went on each
// channel, and why a delivery failed (the raw reason stays behind 详情).

import { badge, el, wallDateTime, wallStamp } from './ui.js';

export const SEVERITY = { info: '通知', warning: '警告', critical: '严重' };
const SEVERITY_BADGE = { info: 'info', warning: 'warn', critical: 'danger' };

const CHANNEL_TYPE = {
  webhook: '通用 Webhook',
  wecom: '企业微信群机器人',
  dingtalk: '钉钉机器人',
  email: '电子邮件',
};

/** The Chinese half of the daemon's "中文 / English" text (some write "…）/ English"). */
export function chinese(text) {
  const s = String(text || '');
  const cut = s.search(/\s?\/ (?=[A-Za-z])/);
  return (cut > 0 ? s.slice(0, cut) : s).trim();
}

export function severityBadge(severity) {
  const node = badge(SEVERITY[severity] || severity, SEVERITY_BADGE[severity]);
  node.dataset.severity = severity;
  return node;
}

/** "值班群（企业微信群机器人）". */
export function channelLabel(channel) {
  const kind = CHANNEL_TYPE[channel.type];
  return kind ? `${channel.name}（${kind}）` : channel.name;
}

/** "只发警告及以上" for a channel that leaves out the milder alerts. */
export function channelScope(channel) {
  if (!channel.min_severity || channel.min_severity === 'info') return '所有告警都发';
  return `只发${SEVERITY[channel.min_severity] || channel.min_severity}及以上的告警`;
}

// Known causes, matched in the raw reason, said the way a person on duty understands them.
const CAUSES = [
  [/refused|拒绝连接|连接被拒绝|Errno 111/i, '连不上对方：那个地址上没有程序在接收（连接被拒绝），请检查地址和端口'],
  [/超时|timed out|timeout/i, '对方没有及时应答（超时）'],
  [/Name or service not known|name resolution|nodename nor servname|getaddrinfo/i, '找不到这个地址（域名无法解析），请检查网址和本机的网络'],
  [/unreachable|No route to host/i, '网络不通：本机连不到对方'],
  [/CERTIFICATE_VERIFY|SSLError|\[SSL/, '对方的 HTTPS 证书无法验证'],
  [/机器人拒收：errcode (\S+)/, (m) => `机器人拒收了消息（错误码 ${m[1]}），请检查机器人的地址、加签密钥或关键词`],
  [/HTTP (\d{3})/, (m) => `对方回复了错误（HTTP ${m[1]}）`],
  [/拒绝登录/, '邮件服务器拒绝登录（请检查用户名和密码）'],
  [/^环境变量/, null], // the daemon's own words are already plain
];

/** Why a delivery failed, in plain words; the daemon's own Chinese when no cause is known. */
export function plainReason(raw) {
  const text = String(raw || '');
  for (const [pattern, said] of CAUSES) {
    const m = pattern.exec(text);
    if (!m) continue;
    if (said === null) break;
    return typeof said === 'function' ? said(m) : said;
  }
  return chinese(text) || '原因不明';
}

/** The raw reason, folded away behind 详情. */
export function rawReason(raw) {
  if (!raw) return null;
  return el('details', { class: 'raw' }, el('summary', { text: '详情' }), el('pre', { text: String(raw) }));
}

/** How one delivery went: {state: 'sent'|'queued'|'retrying'|'given_up'|'failed', words}. */
export function deliveryWords(delivery, alert) {
  if (delivery.state === 'sent') {
    return { state: 'sent', words: `已送达${delivery.sent_at ? `（${wallStamp(delivery.sent_at)}）` : ''}` };
  }
  if (delivery.state === 'pending') {
    if (!delivery.attempts) return { state: 'queued', words: '排队等待发送' };
    const next = delivery.next_at ? `，下次在 ${wallDateTime(delivery.next_at)} 重试` : '';
    return { state: 'retrying', words: `还没送达，正在重试（已试 ${delivery.attempts} 次${next}）` };
  }
  if (alert && alert.kind === 'test') return { state: 'failed', words: '未送达（测试告警只发一次，不重试）' };
  return { state: 'given_up', words: `已放弃：试了 ${delivery.attempts} 次仍未送达，不再重试` };
}

/** What became of an alert that has no delivery rows. */
export function undeliveredWords(alert, channels) {
  if (alert.state === 'queued') return '等待发出';
  if (alert.state === 'deduplicated') return '同一故障前面已经告警过，这条没有重复发送';
  return channels.length ? '没有渠道接收这一级别的告警，只记录在本机' : '只记录在本机（未配置告警渠道）';
}
