/**
 * 🔕 "Snooze 1 h" on a repeating WARNING alert digest (SPEC 9). The button names the outbox
 * message (`v1:n:<am_…>`); the types it snoozes are the ones stored with that message when it
 * was composed, never anything the tap carries. Refused (and audited): an unknown message, a
 * message of another chat, one that offered no snooze or holds a CRITICAL alert, and anyone
 * below approver (the engine checks the role and writes the bead). Strangers never get here
 * (the access gate answers "Not allowed." and writes ACCESS_DENIED).
 */
import type { Filter } from 'grammy';
import { snoozeText } from '../present/snooze.text.js';
import { describeData, type ParsedCallback } from './callback-data.js';
import { answerOnce, type BotContext, type BotServices } from './context.js';
import { clean, line, renderFitted, toast } from './html.js';

type CallbackCtx = Filter<BotContext, 'callback_query:data'>;

export async function snoozeTap(ctx: CallbackCtx, s: BotServices, p: ParsedCallback): Promise<void> {
  const m = await s.engine.alertSnoozeOffer(p.id);
  const chat = ctx.callbackQuery.message?.chat;
  const refusal = !m ? 'unknown alert message' : !chat || String(chat.id) !== m.chatId ? 'button does not belong to this chat' : m.severity === 'CRITICAL' ? 'CRITICAL alerts are never snoozed' : !m.snoozeTypes.length ? 'this message offered no snooze' : null;
  if (!m || refusal) {
    await s.auditDenied(ctx, `callback ${describeData(ctx.callbackQuery.data)}`, refusal ?? 'unknown alert message');
    return answerOnce(ctx, 'This button is not valid.', s.logger);
  }
  const actor = ctx.phoenix!.actor;
  const r = await s.engine.snoozeAlerts(m.snoozeTypes, actor, p.id);
  const text = snoozeText(r, s.engine.info.timeZone);
  await answerOnce(ctx, toast(text), s.logger, !r.ok);
  if (r.ok) s.reply(ctx, renderFitted([line(clean(text))]));
}
