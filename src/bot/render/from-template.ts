/**
 * The evidence card's "from template" line (TradingView intake): which numbers an alert
 * template filled in because the signal did not carry them. Pure.
 */
import { TEMPLATE_FIELDS, type TemplateField } from '../../engine/index.js';
import { b, line, type Line } from '../html.js';

/** How the card names fields an alert template filled in (TradingView intake). */
const TEMPLATE_LABEL: Record<TemplateField, string> = {
  quantity: 'size',
  stopLoss: 'stop',
  takeProfit: 'target',
  setupScore: 'setup score',
  breakdown: 'breakdown',
  alignment: 'alignment',
  redChecks: 'red checks',
  dvs: 'dvs',
  eqs: 'eqs',
};

/** "from template: stop, target, dvs": numbers the signal did not send (never dropped for space). */
export function templateLine(fields: readonly TemplateField[] | undefined): Line | null {
  if (!fields?.length) return null;
  const names = TEMPLATE_FIELDS.filter((f) => fields.includes(f)).map((f) => TEMPLATE_LABEL[f]);
  return line('🧩 ', b('from template'), `: ${names.join(', ')} (not in the signal)`);
}
