/**
 * /register and /demote outcomes in plain words, once for every transport (the bot escapes and
 * styles them, a CLI would print them).
 */
import type { StrategyOutcome } from '../engine/index.js';
import { notAllowedText } from './not-allowed.text.js';

/** "Strategy orb demoted to SHADOW by @alice: new intents are recorded only. 2 open card(s) cancelled." */
export function strategyText(o: StrategyOutcome): string {
  switch (o.code) {
    case 'REGISTERED':
      return `Strategy ${o.strategy.name} registered in SHADOW: its intents are recorded, never carded or sent.${o.cancelled ? ` ${o.cancelled} open card(s) withdrawn.` : ''}`;
    case 'ALREADY_REGISTERED':
      return `Strategy ${o.strategy.name} is already registered (${o.strategy.stage}); nothing changed.`;
    case 'DEMOTED':
      return `Strategy ${o.strategy.name} demoted to SHADOW by ${o.by}: new intents are recorded only.${o.cancelled ? ` ${o.cancelled} open card(s) cancelled.` : ''}`;
    case 'ALREADY_SHADOW':
      return `Strategy ${o.strategy.name} is already SHADOW; nothing else changed.${o.withdrawn ? ' Pending promotion withdrawn.' : ''}`;
    case 'BAD_NAME':
      return `Strategy name must be 1–${o.maxLength} printable characters.`;
    case 'NOT_ALLOWED':
      return notAllowedText(o);
  }
}
