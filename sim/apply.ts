/**
 * Doing an act in the world: strategies post through the engine's intake path, people act through
 * Telegram updates handed to the bot's real handlers, the market and the broker's faults act on
 * the SimBroker, Telegram's on the in-process Bot API, kills on the running process. Nothing here
 * waits for Phoenix: acts of one step run concurrently, like in reality.
 */
import type { Instrument } from '../src/engine/index.js';
import { encodeCallback, type CallbackAction } from '../src/bot/callback-data.js';
import type { Act, TapTarget } from './actions.js';
import { frontMonth } from './calendar.js';
import { CHAT_ID, productOf, USERS } from './desk.js';
import type { ChatMessage } from './telegram.js';
import type { World } from './world.js';

const FOREIGN_ACCOUNT = 'DU7654321';

function instrumentFor(w: World, symbol: string): Instrument {
  const p = productOf(symbol);
  const day = w.local().day;
  return { symbol: p.symbol, secType: p.secType, exchange: p.secType === 'FUT' ? 'CME' : 'SMART', currency: 'USD', multiplier: p.multiplier, ...(p.secType === 'FUT' ? { contractMonth: frontMonth(day) } : {}) };
}

/** The callback data and message a person's tap would carry, or null when there is nothing to tap. */
function resolveTap(w: World, action: CallbackAction, target: TapTarget): { data: string; msg: ChatMessage | null } | null {
  const r = w.reader!;
  const messageOf = (id: number | null) => (id === null ? null : (w.telegram.message(CHAT_ID, id) ?? null));
  switch (target.card) {
    case 'trade': {
      const intent = r.intentBySignal(target.signal);
      const card = intent ? r.card(intent.id, 'TRADE') : null;
      if (!card || card.messageId === null) return null; // never shown: nobody can tap it
      return { data: encodeCallback(action, card.id), msg: messageOf(card.messageId) };
    }
    case 'confirm': {
      const card = r.newestCard(target.kind, `${target.kind}:${USERS[target.asker].id}:`);
      if (!card || card.messageId === null) return null;
      return { data: encodeCallback(action, card.id), msg: messageOf(card.messageId) };
    }
    case 'newest-button': {
      for (const m of w.telegram.messages().reverse()) {
        const b = m.markup?.inline_keyboard.flat().find((x) => 'callback_data' in x && String(x.callback_data).startsWith(`v1:${target.code}:`));
        if (b && 'callback_data' in b) return { data: String(b.callback_data), msg: m };
      }
      return null;
    }
    case 'forged':
      return { data: target.data, msg: target.onMessage ? (w.telegram.messages().at(-1) ?? null) : null };
  }
}

export function applyAct(w: World, a: Act, spoofs: Map<string, number>, spoofLog: { symbol: string; from: number; to: number | null }[]): void {
  const proc = w.proc?.alive ? w.proc : null;
  const faults = w.broker.faults;
  switch (a.k) {
    case 'intent':
      proc?.run(() => proc.app.engine.submitIntent(a.body, 'http'));
      return;
    case 'say':
      proc?.handle(w.telegram.command(USERS[a.user], a.text, a.dm ? USERS[a.user].id : CHAT_ID));
      return;
    case 'tap': {
      const tap = resolveTap(w, a.action, a.target);
      if (tap) proc?.handle(w.telegram.tap(USERS[a.user], tap.data, tap.msg));
      return;
    }
    case 'price':
      w.broker.simulatePrice(a.symbol, a.price);
      return;
    case 'telegram':
      w.telegram.inject(a.fault);
      return;
    case 'telegram-delete': {
      const card = w.telegram.messages().reverse().find((m) => m.markup?.inline_keyboard.flat().some((b) => 'callback_data' in b && String(b.callback_data).startsWith('v1:a:')));
      if (card) w.telegram.deleteMessage(CHAT_ID, card.messageId);
      return;
    }
    case 'telegram-redeliver': {
      const u = w.telegram.redeliver();
      if (u) proc?.handle(u);
      return;
    }
    case 'kill':
      w.armKill(a.on, a.n, a.phase, a.downMs);
      return;
    case 'wait':
      return;
    case 'broker':
      break;
  }
  const refOf = (signal: string) => w.reader!.intentBySignal(signal)?.id ?? null;
  switch (a.op) {
    case 'timeoutNext':
      return w.armEntryFault(() => faults.timeoutNext(1));
    case 'releaseTimeouts':
      faults.releaseTimeouts();
      return;
    case 'disconnect':
      return faults.disconnect();
    case 'reconnect':
      return faults.reconnect();
    case 'failConnect':
      return faults.failConnects(1);
    case 'fillNextCancel':
      return faults.fillNextCancel(1, a.when);
    // the outcome of the next ENTRY (the approval it goes with): armed on the broker just before a
    // bracket is placed, so an approval that never placed cannot reject a flatten's exit later
    case 'rejectNext':
      return w.armEntryFault(() => faults.rejectNext());
    case 'partialNext':
      return w.armEntryFault(() => faults.partialNext(a.ratio));
    case 'delayNext':
      return w.armEntryFault(() => faults.delayNext(a.ms));
    case 'slowNext':
      w.slowNextBracket(a.ms);
      return;
    case 'lateFill': {
      const ref = refOf(a.signal);
      if (ref) {
        try {
          faults.lateFill(ref);
        } catch {
          /* nothing held for it: the fault simply does not apply */
        }
      }
      return;
    }
    case 'deadStop': {
      const ref = refOf(a.signal);
      const stop = ref ? w.broker.truth().orders.find((o) => o.orderRef === ref && o.role === 'STOP' && o.status === 'WORKING') : undefined;
      if (stop) faults.cancelByBroker(stop.brokerOrderId);
      return;
    }
    case 'fillRest': {
      const ref = refOf(a.signal);
      if (ref) faults.fillRemainder(ref);
      return;
    }
    case 'spoof': {
      const instrument = instrumentFor(w, a.symbol);
      faults.spoofPosition(instrument, a.qty);
      if (a.qty === null) {
        spoofs.delete(a.symbol);
        for (const x of spoofLog) if (x.symbol === a.symbol && x.to === null) x.to = w.now();
      } else if (!spoofs.has(a.symbol)) {
        spoofs.set(a.symbol, w.now());
        spoofLog.push({ symbol: a.symbol, from: w.now(), to: null });
      }
      return;
    }
    case 'foreign':
      return faults.foreignPosition(FOREIGN_ACCOUNT, instrumentFor(w, a.symbol), a.qty);
  }
}
