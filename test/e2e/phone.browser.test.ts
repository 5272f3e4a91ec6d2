/**
 * Issue 16 "done when", on a phone-sized console (390×844) in Debian's Chromium: the real grammY
 * bot over HTTP to the sandbox Bot API, the real engine (SQLite file, FakeClock at Tue 10:00 EST,
 * sim broker), the console page as a phone shows it.
 *   - a typical card: the decision line and both buttons visible without scrolling; its details
 *     folded into a quote that opens with a tap;
 *   - a drift message with at most three buttons, their labels whole;
 *   - every time visible in ET (EST/EDT), even on a phone set to UTC;
 *   - the refusal toast does not cover the card's buttons; /pending's link jumps to the card;
 *   - the console updates only the bubbles that changed.
 * Prints the measured card height and load/update times (speed targets live in `npm run bench`).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcileNow } from '../../src/engine/reconcile.usecase.js';
import { CHAT, makeRig, type Rig } from '../bot/helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`phone.browser.test: skipped because ${CHROMIUM} does not exist (apt-get install -y chromium)`);

const WAIT = { timeout: 8_000 };
const MES = { symbol: 'MES', secType: 'FUT', exchange: 'CME', currency: 'USD', contractMonth: '202612', multiplier: 5 } as const;

interface Box { top: number; bottom: number; left: number; right: number; height: number }
const boxOf = (l: Locator): Promise<Box> => l.evaluate((el) => { const r = el.getBoundingClientRect(); return { top: r.top, bottom: r.bottom, left: r.left, right: r.right, height: r.height }; });
const inside = (inner: Box, outer: Box): boolean => inner.top >= outer.top - 0.5 && inner.bottom <= outer.bottom + 0.5;
const overlaps = (a: Box, b: Box): boolean => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;

describe.skipIf(!hasChromium)(`the trader's phone: console at 390×844 (needs ${CHROMIUM})`, () => {
  let rig: Rig;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const chatRequests: string[] = [];

  beforeAll(async () => {
    [rig, browser] = await Promise.all([
      makeRig({
        sandbox: { console: { chatId: CHAT, timeZone: 'America/New_York', users: [{ label: 'approver', id: 1001 }, { label: 'admin', id: 1002 }, { label: 'stranger', id: 666 }] } },
      }),
      chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'] }),
    ]);
    // the phone's own clock is UTC on purpose: the chat still shows New York time
    context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'en-US', timezoneId: 'UTC' });
    page = await context.newPage();
    page.on('request', (r) => {
      if (r.url().includes('/sandbox/api/chat')) chatRequests.push(r.url());
    });
    await page.goto(rig.sandbox.url);
    await page.getByText('No messages yet').waitFor(WAIT);
  }, 30_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await rig?.close();
  }, 15_000);

  const messages = (): Locator => page.getByTestId('message');
  const bubble = (id: number): Locator => page.locator(`[data-testid="message"][data-message-id="${id}"]`);
  const logBox = (): Promise<Box> => boxOf(page.locator('#log'));
  const send = async (who: string, text: string): Promise<void> => {
    await page.getByTestId('user-select').selectOption({ label: who });
    await page.getByTestId('composer-input').fill(text);
    await page.getByTestId('composer-send').click();
  };
  const toastOn = async (): Promise<string> => (((await page.getByTestId('toast').getAttribute('class')) ?? '').includes('on') ? ((await page.getByTestId('toast').textContent()) ?? '') : '');

  let card: { intentId: string; cardId: string; messageId: number };

  it('SPEC-12 phone: a typical card shows its decision line and both buttons without scrolling; the details are folded and open with a tap', async () => {
    const r = await rig.proposeAndWaitCard();
    card = { intentId: r.intentId, cardId: r.cardId, messageId: r.message.message_id };
    const b = bubble(card.messageId);
    await b.waitFor(WAIT);
    const text = (await b.locator('.text').textContent()) ?? '';
    expect(text.split('\n')[0]).toBe('🟢 BUY 1 MES Dec26 · risk $11.25 · 2.1R · PAPER · 5:00 left');
    const log = await logBox();
    const cardBox = await boxOf(b);
    const decision = await boxOf(b.locator('.text b').first());
    const buttons = b.getByTestId('button');
    expect(await buttons.allTextContents()).toEqual(['✅ APPROVE', '❌ PASS']);
    const [approve, pass] = [await boxOf(buttons.nth(0)), await boxOf(buttons.nth(1))];
    // nothing to scroll: the whole card, its decision line and both buttons are on the first screen
    expect(await page.locator('#log').evaluate((el) => el.scrollHeight <= el.clientHeight + 1)).toBe(true);
    for (const x of [decision, approve, pass]) expect(inside(x, log), JSON.stringify({ x, log })).toBe(true);
    expect(cardBox.height).toBeLessThanOrEqual(log.height);
    console.log(`phone.browser: typical card ${Math.round(cardBox.height)} px high of ${Math.round(log.height)} px chat area (390×844 viewport); buttons end at ${Math.round(pass.bottom)} px`);

    // the details: one folded quote; a tap opens it, another folds it again
    const details = b.getByTestId('details');
    expect(await details.count()).toBe(1);
    expect(await details.getAttribute('class')).toContain('folded');
    const folded = (await boxOf(details)).height;
    await details.click();
    expect(await details.getAttribute('class')).not.toContain('folded');
    const open = (await boxOf(details)).height;
    expect(open).toBeGreaterThan(folded * 2);
    expect(await details.textContent()).toContain('Sizing: |6010.25 − 6008.00| × 1 × 5 = $11.25');
    await details.click();
    expect(await details.getAttribute('class')).toContain('folded');
  });

  it('the refusal toast shows where it covers none of the card\'s buttons', async () => {
    await page.getByTestId('user-select').selectOption({ label: 'stranger (666)' });
    const b = bubble(card.messageId);
    await b.getByTestId('button').filter({ hasText: 'APPROVE' }).click();
    await expect.poll(toastOn, WAIT).toBe('Not allowed.');
    const toast = await boxOf(page.getByTestId('toast'));
    for (const k of [0, 1]) expect(overlaps(toast, await boxOf(b.getByTestId('button').nth(k)))).toBe(false);
  });

  it('SPEC-12 phone: a drift message says it in words and carries at most three buttons, each label whole', async () => {
    rig.h.sim!.faults.spoofPosition(MES, 1); // the broker reports a position Phoenix does not have
    await rig.h.engine.reconcileNow('phone test');
    const [drift] = await rig.h.app.store.tx((tx) => tx.drifts.unresolved());
    await send('approver (1001)', `/drift ${drift!.id}`);
    const msg = messages().filter({ hasText: 'CRITICAL drift' }).last();
    await msg.waitFor(WAIT);
    const text = (await msg.locator('.text').textContent()) ?? '';
    expect(text).toContain('MES Dec26 · position count');
    expect(text).toContain('Phoenix says flat, broker says long 1.');
    expect(text).toMatch(/Since 10:00 E[SD]T/);
    expect(text).not.toMatch(/[{}"]/);
    const buttons = msg.getByTestId('button');
    expect(await buttons.count()).toBeLessThanOrEqual(3);
    expect(await buttons.allTextContents()).toEqual(['👍 Acknowledge: known, leave it', '🛠 Corrected in Phoenix', '🏦 Corrected at the broker']);
    for (let k = 0; k < (await buttons.count()); k++) expect(await buttons.nth(k).evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
    // the list: words and one button
    await send('approver (1001)', '/drift');
    const list = messages().filter({ hasText: 'Unresolved drifts: 1' }).last();
    await list.waitFor(WAIT);
    expect(await list.getByTestId('button').allTextContents()).toEqual(['🔄 Check now']);
  });

  it('/pending lists the card by expiry with a link; tapping it brings the card into view', async () => {
    for (let k = 0; k < 4; k++) await send('approver (1001)', '/help');
    await expect.poll(() => messages().filter({ hasText: 'Commands' }).count(), WAIT).toBe(4);
    const log = await logBox();
    expect(inside(await boxOf(bubble(card.messageId).locator('.text b').first()), log)).toBe(false); // scrolled away
    await send('approver (1001)', '/pending');
    const pending = messages().filter({ hasText: 'Pending cards: 1' }).last();
    await pending.waitFor(WAIT);
    const link = pending.getByRole('link', { name: '→ open card' });
    expect(await link.getAttribute('href')).toBe(`https://t.me/c/1001/${card.messageId}`);
    await link.click();
    await expect.poll(async () => inside(await boxOf(bubble(card.messageId).getByTestId('button').first()), await logBox()), WAIT).toBe(true);
    expect(await bubble(card.messageId).getAttribute('class')).toContain('jumped');
  });

  it('SPEC-12 phone: every time the page shows is New York time with its abbreviation (the phone itself is on UTC)', async () => {
    const times = await page.getByTestId('time').allTextContents();
    expect(times.length).toBeGreaterThan(8);
    for (const t of times) expect(t).toMatch(/^(edited · )?\d\d:\d\d E[SD]T$/);
    const all = (await page.locator('#log').textContent()) ?? '';
    expect(all).not.toMatch(/UTC|\d\d:\d\d:\d\dZ/);
    expect(all).toMatch(/until 10:05 E[SD]T/); // the card's own times
  });

  it('the console redraws only what changed: an edited card is replaced, every other bubble stays the same DOM node, and the page fetches only the changes', async () => {
    await page.evaluate(() => document.querySelectorAll('[data-testid="message"]').forEach((el) => ((el as HTMLElement & { keep?: boolean }).keep = true)));
    const before = await messages().count();
    const fetchedBefore = chatRequests.length;
    await page.getByTestId('user-select').selectOption({ label: 'approver (1001)' });
    await bubble(card.messageId).getByTestId('button').filter({ hasText: 'APPROVE' }).click();
    await bubble(card.messageId).filter({ hasText: 'APPROVED by @alice' }).waitFor(WAIT);
    const kept = await page.evaluate((id) => Array.from(document.querySelectorAll('[data-testid="message"]')).map((el) => [el.getAttribute('data-message-id'), (el as HTMLElement & { keep?: boolean }).keep === true] as const).filter(([m]) => m !== String(id)), card.messageId);
    expect(kept.length).toBe(before - 1);
    expect(kept.every(([, k]) => k)).toBe(true);
    expect(await bubble(card.messageId).evaluate((el) => (el as HTMLElement & { keep?: boolean }).keep === true)).toBe(false);
    const later = chatRequests.slice(fetchedBefore);
    expect(later.length).toBeGreaterThan(0);
    expect(later.every((u) => /[?&]since=\d+/.test(u))).toBe(true);
  });

  it('measures a long chat: first load and one update with ~380 messages (printed, not asserted: speed targets live in npm run bench)', async () => {
    const api = rig.phoenix.bot.api;
    for (let k = 0; k < 380; k++) await api.sendMessage(CHAT, `<b>filler ${k}</b> ${'x'.repeat(80)}`, { parse_mode: 'HTML' });
    const fresh = await context.newPage();
    const t0 = Date.now();
    await fresh.goto(rig.sandbox.url);
    await expect.poll(() => fresh.getByTestId('message').count(), { timeout: 20_000 }).toBeGreaterThan(380);
    const firstLoad = Date.now() - t0;
    const n = await fresh.getByTestId('message').count();
    const t1 = Date.now();
    const last = await api.sendMessage(CHAT, 'one more');
    await fresh.locator(`[data-testid="message"][data-message-id="${last.message_id}"]`).waitFor({ timeout: 10_000 });
    const update = Date.now() - t1;
    console.log(`phone.browser: ${n} messages — first load ${firstLoad} ms, one new message shown after ${update} ms (incremental)`);
    expect(await fresh.getByTestId('message').count()).toBe(n + 1);
    await fresh.close();
  }, 60_000);
});
