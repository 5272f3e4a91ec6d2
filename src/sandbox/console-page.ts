/**
 * The web console: one self-contained page (inline CSS and JS, no external resources) that
 * shows one sandbox chat like a phone. Bot formatting is rendered from the message's
 * entities with DOM nodes (text is never parsed as HTML), so nothing the bot sends can
 * inject markup. When /sandbox/api/events reports a change the page fetches only what changed
 * since the version it shows (`chat?since=`) and replaces, inserts or removes just those bubbles,
 * so a long chat stays fast. Like Telegram: an expandable quote starts folded (tap to open), a
 * link to a message of this chat (t.me/c/…) scrolls to it, toasts show at the top where they
 * cover no buttons, and bubble times are in the configured time zone with its abbreviation.
 */
import type { ConsoleUser } from './core.js';

export interface ConsolePageConfig {
  chatId: number;
  users: ConsoleUser[];
  /** IANA zone of the bubble times (Phoenix: the constitution's) */
  timeZone: string;
}

/** JSON that is safe inside a <script> element. */
const scriptJson = (v: unknown): string =>
  JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

const CSS = `
*{box-sizing:border-box}
html,body{margin:0;height:100%;background:#dfe5ea;font:15px/1.35 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif,"Apple Color Emoji","Segoe UI Emoji","Noto Color Emoji";color:#111}
#app{max-width:420px;height:100%;margin:0 auto;display:flex;flex-direction:column;background:#eef3f6;border-left:1px solid #cfd8de;border-right:1px solid #cfd8de}
header{display:flex;align-items:center;gap:8px;padding:8px 10px;background:#517da2;color:#fff}
header .title{flex:1;min-width:0}
header .title b{display:block;font-size:15px}
header .title small{display:block;opacity:.85;font-size:12px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
header label{font-size:12px}
header select{font:inherit;font-size:13px;padding:2px 4px;border-radius:6px;border:0;max-width:150px}
#log{flex:1;overflow-y:auto;padding:10px 8px 4px;display:flex;flex-direction:column;gap:6px}
.empty{margin:auto;color:#6b7b88;font-size:13px}
.msg{max-width:88%;padding:6px 9px 4px;border-radius:12px;background:#fff;box-shadow:0 1px 1px rgba(0,0,0,.12);white-space:pre-wrap;word-wrap:break-word;overflow-wrap:anywhere}
.msg.bot{align-self:flex-start;border-bottom-left-radius:4px;max-width:94%}
.msg.user{align-self:flex-end;background:#dcf8c6;border-bottom-right-radius:4px}
.msg .who{font-size:12px;font-weight:600;color:#3a6d99;white-space:normal}
.msg .meta{font-size:11px;color:#7d8b96;text-align:right;white-space:normal;margin-top:2px}
.msg code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px;background:#f1f3f4;border-radius:3px;padding:0 2px}
.msg pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px;background:#f1f3f4;border-radius:6px;padding:6px;margin:4px 0;overflow-x:auto;white-space:pre}
.msg blockquote{margin:4px 0;padding:2px 8px;border-left:3px solid #517da2;background:#f2f6f9;border-radius:4px}
.msg blockquote.exp{position:relative;cursor:pointer;padding-right:22px}
.msg blockquote.exp.folded{max-height:calc(3 * 1.35em + 4px);overflow:hidden}
.msg blockquote.exp::after{content:'▴';position:absolute;right:6px;bottom:2px;color:#517da2;font-size:13px}
.msg blockquote.exp.folded::after{content:'▾'}
.msg.jumped{outline:2px solid #f0b429;outline-offset:1px}
.msg .spoiler{background:#9aa5ad;color:transparent;border-radius:3px;cursor:pointer}
.msg .spoiler.shown{background:none;color:inherit}
.msg a{color:#2a6fb0}
.msg .cmd{color:#2a6fb0}
.kb{display:flex;flex-direction:column;gap:4px;margin-top:6px;white-space:normal}
.kb .row{display:flex;gap:4px}
.kb button{flex:1;min-width:0;font:inherit;font-size:14px;padding:7px 4px;border:0;border-radius:8px;background:#e4edf4;color:#1f5a8a;cursor:pointer;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.kb button:hover{background:#d4e2ee}
.kb button:disabled{opacity:.6;cursor:default}
form{display:flex;gap:6px;padding:8px;background:#fff;border-top:1px solid #d5dde3}
form input{flex:1;min-width:0;font:inherit;padding:8px 10px;border:1px solid #c8d2da;border-radius:18px;outline:none}
form input:focus{border-color:#517da2}
form button{font:inherit;padding:8px 14px;border:0;border-radius:18px;background:#517da2;color:#fff;cursor:pointer}
#toast{position:fixed;left:50%;top:58px;transform:translateX(-50%);max-width:340px;padding:8px 14px;border-radius:10px;background:rgba(30,40,50,.88);color:#fff;font-size:14px;text-align:center;white-space:pre-wrap;pointer-events:none;opacity:0;transition:opacity .15s}
#toast.on{opacity:1}
#toast.alert{background:#fff;color:#111;border:1px solid #c8d2da;box-shadow:0 4px 14px rgba(0,0,0,.2)}
#toast.error{background:#b3261e}
`;

/* The script is plain ES2020 served as-is; keep it small and free of innerHTML. */
const SCRIPT = `
'use strict';
const CFG = JSON.parse(document.getElementById('cfg').textContent);
const $ = (id) => document.getElementById(id);
const log = $('log'), select = $('user'), input = $('text'), toastEl = $('toast');
let version = -1, toastTimer = 0;

for (const u of CFG.users) {
  const o = document.createElement('option');
  o.value = String(u.id);
  o.textContent = u.label + ' (' + u.id + ')';
  select.append(o);
}
const userId = () => Number(select.value);

function toast(text, kind) {
  toastEl.textContent = text;
  toastEl.className = 'on' + (kind ? ' ' + kind : '');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { toastEl.className = ''; }, kind === 'alert' ? 4000 : 2500);
}

const TAGS = { bold: 'b', italic: 'i', underline: 'u', strikethrough: 's', code: 'code', pre: 'pre',
  blockquote: 'blockquote', expandable_blockquote: 'blockquote', text_link: 'a', url: 'a' };
const SAFE_URL = /^(https?:|tg:|mailto:)/i;
/* a link to a message of this chat: https://t.me/c/<chat without -100>/<message id> */
const OWN_LINK = /^https:\\/\\/t\\.me\\/c\\/(\\d+)\\/(\\d+)$/;
const TIME = new Intl.DateTimeFormat('en-US', { timeZone: CFG.timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short' });
/* expandable quotes the reader opened, by message id (kept when the message is redrawn) */
const opened = new Set();
const bubbles = new Map();

function jumpTo(messageId) {
  const el = bubbles.get(messageId);
  if (!el) { toast('That message is no longer in this chat.'); return; }
  el.scrollIntoView({ block: 'center' });
  el.classList.add('jumped');
  setTimeout(() => el.classList.remove('jumped'), 1500);
}

function elementFor(e, text, m) {
  const tag = TAGS[e.type] || 'span';
  const el = document.createElement(tag);
  if (e.type === 'spoiler') { el.className = 'spoiler'; el.addEventListener('click', () => el.classList.add('shown')); }
  if (e.type === 'bot_command') el.className = 'cmd';
  if (e.type === 'expandable_blockquote') {
    const key = m.message_id;
    el.className = opened.has(key) ? 'exp' : 'exp folded';
    el.dataset.testid = 'details';
    el.addEventListener('click', () => {
      el.classList.toggle('folded');
      if (el.classList.contains('folded')) opened.delete(key); else opened.add(key);
    });
  }
  if (tag === 'a') {
    const href = e.type === 'url' ? text.slice(e.offset, e.offset + e.length) : e.url;
    const own = href ? OWN_LINK.exec(href) : null;
    if (own && '-100' + own[1] === String(CFG.chatId)) {
      el.href = href;
      el.dataset.jump = own[2];
      el.addEventListener('click', (ev) => { ev.preventDefault(); jumpTo(Number(own[2])); });
    } else if (href && SAFE_URL.test(href)) { el.href = href; el.target = '_blank'; el.rel = 'noopener noreferrer'; }
  }
  return el;
}

/* Build DOM for text[start,end) from entities sorted by offset asc, length desc. */
function build(text, ents, start, end, m) {
  const frag = document.createDocumentFragment();
  let pos = start, i = 0;
  while (i < ents.length) {
    const e = ents[i];
    const eEnd = e.offset + e.length;
    if (e.offset < pos || eEnd > end) { i++; continue; }
    if (e.offset > pos) frag.append(document.createTextNode(text.slice(pos, e.offset)));
    let j = i + 1;
    while (j < ents.length && ents[j].offset < eEnd) j++;
    const el = elementFor(e, text, m);
    el.append(build(text, ents.slice(i + 1, j), e.offset, eEnd, m));
    frag.append(el);
    pos = eEnd;
    i = j;
  }
  if (pos < end) frag.append(document.createTextNode(text.slice(pos, end)));
  return frag;
}

function renderText(m) {
  const ents = (m.entities || []).slice().sort((a, b) => a.offset - b.offset || b.length - a.length);
  return build(m.text, ents, 0, m.text.length, m);
}

function renderKeyboard(m) {
  const kb = document.createElement('div');
  kb.className = 'kb';
  for (const row of m.reply_markup.inline_keyboard) {
    const r = document.createElement('div');
    r.className = 'row';
    for (const b of row) {
      const btn = document.createElement('button');
      btn.type = 'button';
      btn.dataset.testid = 'button';
      btn.textContent = b.text;
      if (typeof b.callback_data === 'string') {
        btn.dataset.data = b.callback_data;
        btn.addEventListener('click', () => tap(m.message_id, b.callback_data, btn));
      } else if (typeof b.url === 'string' && SAFE_URL.test(b.url)) {
        btn.title = b.url;
        btn.addEventListener('click', () => window.open(b.url, '_blank', 'noopener'));
      } else {
        btn.disabled = true;
      }
      r.append(btn);
    }
    kb.append(r);
  }
  return kb;
}

function bubble(m) {
  const div = document.createElement('div');
  div.className = 'msg ' + (m.from_bot ? 'bot' : 'user');
  div.dataset.testid = 'message';
  div.dataset.messageId = String(m.message_id);
  div.dataset.fromBot = String(m.from_bot);
  if (!m.from_bot) {
    const who = document.createElement('div');
    who.className = 'who';
    who.textContent = m.from.first_name + ' (' + m.from.id + ')';
    div.append(who);
  }
  const body = document.createElement('div');
  body.className = 'text';
  body.append(renderText(m));
  div.append(body);
  if (m.reply_markup) div.append(renderKeyboard(m));
  const meta = document.createElement('div');
  meta.className = 'meta';
  meta.dataset.testid = 'time';
  meta.textContent = (m.edits > 0 ? 'edited · ' : '') + TIME.format(m.date * 1000);
  div.append(meta);
  return div;
}

function showEmpty() {
  if (bubbles.size === 0 && !log.querySelector('.empty')) {
    const p = document.createElement('div');
    p.className = 'empty';
    p.textContent = 'No messages yet. Send /start below.';
    log.append(p);
  } else if (bubbles.size > 0) log.querySelector('.empty')?.remove();
}

/* Apply what changed: redraw only the bubbles that changed, in message order. */
function apply(j) {
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  if (j.full) {
    for (const el of bubbles.values()) el.remove();
    bubbles.clear();
  }
  for (const id of j.removed || []) {
    bubbles.get(id)?.remove();
    bubbles.delete(id);
  }
  for (const m of j.messages) {
    const el = bubble(m);
    const old = bubbles.get(m.message_id);
    if (old) old.replaceWith(el);
    else {
      let next = null;
      for (const [id, b] of bubbles) if (id > m.message_id && (next === null || id < Number(next.dataset.messageId))) next = b;
      log.insertBefore(el, next);
    }
    bubbles.set(m.message_id, el);
  }
  showEmpty();
  if (atBottom) log.scrollTop = log.scrollHeight;
}

async function api(path, body) {
  const r = await fetch('/sandbox/api/' + path, body === undefined ? {} :
    { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const j = await r.json();
  if (!r.ok) throw new Error(j.error || ('HTTP ' + r.status));
  return j;
}

async function refresh() {
  const j = await api('chat?chatId=' + CFG.chatId + (version > 0 ? '&since=' + version : ''));
  version = j.version;
  apply(j);
}

async function tap(messageId, data, btn) {
  btn.disabled = true;
  try {
    const { callbackQueryId } = await api('tap', { userId: userId(), chatId: CFG.chatId, messageId, data });
    const a = await api('answer?id=' + encodeURIComponent(callbackQueryId) + '&waitMs=15000');
    if (a.answered && a.answer.text) toast(a.answer.text, a.answer.show_alert ? 'alert' : '');
  } catch (e) {
    toast(String(e.message || e), 'error');
  } finally {
    btn.disabled = false;
  }
}

$('composer').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const text = input.value;
  if (text.trim() === '') return;
  input.value = '';
  try {
    await api('send', { userId: userId(), chatId: CFG.chatId, text });
  } catch (e) {
    input.value = text;
    toast(String(e.message || e), 'error');
  }
});

async function watch() {
  for (;;) {
    try {
      const j = await api('events?since=' + Math.max(0, version) + '&timeout=25');
      if (j.version !== version) await refresh();
    } catch {
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

refresh().catch(() => {}).finally(watch);
`;

export function renderConsolePage(config: ConsolePageConfig): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>Phoenix sandbox · chat ${config.chatId}</title>
<style>${CSS}</style>
</head>
<body>
<div id="app">
  <header>
    <div class="title"><b>Phoenix Sandbox</b><small>chat ${config.chatId} · @phoenix_sandbox_bot</small></div>
    <label for="user">You are</label>
    <select id="user" data-testid="user-select"></select>
  </header>
  <main id="log" aria-live="polite"></main>
  <form id="composer" autocomplete="off">
    <input id="text" data-testid="composer-input" placeholder="Message or /command" maxlength="4096">
    <button type="submit" data-testid="composer-send">Send</button>
  </form>
</div>
<div id="toast" data-testid="toast" role="status"></div>
<script id="cfg" type="application/json">${scriptJson(config)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
