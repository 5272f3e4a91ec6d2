/**
 * The first five minutes (SPEC 2, 12; issue 8), end to end: the REAL service started exactly as
 * `npm start` runs it (empty environment except PATH, HOME, the demo constitution and two free
 * ports), the phone console opened in Debian's Chromium (playwright-core), intents POSTed to
 * intake like the README's curl, and every step checked in the page: the card appears with
 * APPROVE/PASS and DEMO; the approver's tap turns it into approved → filled in place; a
 * stranger's tap is refused with a toast and changes nothing; the composer talks to the bot.
 * Takes the README screenshot (phone viewport, the filled card): written to docs/console.png
 * when PHOENIX_UPDATE_SCREENSHOT=1, otherwise to a temp file so `npm test` leaves the tree clean.
 */
import { existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buttonTexts, chatMessages, freePort, readmeIntent, repoRoot, startService, submitIntent, until, type RunningService } from './service.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`console.e2e.test: skipped because ${CHROMIUM} does not exist (apt-get install -y chromium; .ci/run installs it)`);

const SCREENSHOT = process.env.PHOENIX_UPDATE_SCREENSHOT === '1' ? join(repoRoot, 'docs', 'console.png') : join(tmpdir(), `phoenix-console-${process.pid}.png`);
const WAIT = { timeout: 8_000 };

/** A second instrument: the position limit is per instrument and MES is held after the first fill. */
const MNQ = {
  instrument: { symbol: 'MNQ', secType: 'FUT', exchange: 'CME', currency: 'USD', contractMonth: '202612', multiplier: 2 },
  entryPrice: 21010.25,
  stopLoss: 21005.0,
  takeProfit: 21020.75,
};

describe.skipIf(!hasChromium)(`phone console against the real service (needs ${CHROMIUM})`, () => {
  let svc: RunningService | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    const [intakePort, sandboxPort] = await Promise.all([freePort(), freePort()]);
    [svc, browser] = await Promise.all([
      startService({
        CONSTITUTION_PATH: 'config/constitution.demo.yaml',
        INTAKE_PORT: String(intakePort),
        SANDBOX_PORT: String(sandboxPort === intakePort ? sandboxPort + 1 : sandboxPort),
      }),
      chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
      }),
    ]);
    // a fresh, isolated profile: a new context has its own storage and cache
    context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'en-US', timezoneId: 'UTC' });
    page = await context.newPage();
  }, 25_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await svc?.stop();
  }, 15_000);

  const messages = (): Locator => page.getByTestId('message');
  const cardFor = (symbol: string): Locator => messages().filter({ hasText: `BUY 1 ${symbol} Dec26` });
  const toastText = async (): Promise<string> => ((await page.getByTestId('toast').getAttribute('class')) ?? '').includes('on') ? ((await page.getByTestId('toast').textContent()) ?? '') : '';

  it('prints the banner with the DEMO constitution and the console address; the console opens as an empty phone chat', async () => {
    expect(svc!.stdout()).toMatch(/Phoenix is running \(PAPER mode, sim broker, DEMO constitution\)/);
    expect(svc!.stdout()).toMatch(/  broker:  sim READY, account DU\d+ \(simulated: no real orders\)/);
    // SAFE-14: once the banner is printed the bot, the alert sender and the jobs run: ready, ok
    const health = await fetch(`${svc!.intakeUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', broker: 'READY', parts: { bot: 'running', alerts: 'running', jobs: 'running' } });
    expect(svc!.consoleUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    await page.goto(svc!.consoleUrl);
    await expect(page.title()).resolves.toContain('Phoenix sandbox');
    expect(await page.getByTestId('user-select').locator('option').allTextContents()).toEqual(['approver (1001)', 'admin (1002)', 'stranger (666)']);
    await page.getByText('No messages yet').waitFor(WAIT);
  });

  it('README intent → the evidence card appears in the page with APPROVE/PASS and DEMO; approver taps APPROVE → the same card shows approved → filled', async () => {
    const { status, body } = await submitIntent(svc!.intakeUrl, readmeIntent());
    expect(status).toBe(202);
    expect(body).toMatchObject({ state: 'PROPOSED', denials: [] });

    const card = cardFor('MES');
    await card.waitFor(WAIT);
    const text = (await card.textContent()) ?? '';
    for (const s of ['PAPER', 'DEMO', 'BUY 1 MES Dec26', 'BRACKET', 'mes-orb', 'Entry 6010.25', 'Stop 6008.00', 'Target 6015.00', 'Risk $11.25', 'Valid for', body.intentId]) expect(text).toContain(s);
    expect(await card.getByTestId('button').allTextContents()).toEqual(['✅ APPROVE', '❌ PASS']);
    const messageId = await card.getAttribute('data-message-id');

    await page.getByTestId('user-select').selectOption({ label: 'approver (1001)' });
    await card.getByTestId('button').filter({ hasText: 'APPROVE' }).click();
    await expect.poll(toastText, WAIT).toBe('Approved ✅ Order sent to the broker.');

    const filled = page.locator(`[data-testid="message"][data-message-id="${messageId}"]`).filter({ hasText: 'FILLED 1/1 @ 6010.25' });
    await filled.waitFor(WAIT);
    const done = (await filled.textContent()) ?? '';
    expect(done).toMatch(/APPROVED by Approver at \d{2}:\d{2} E[SD]T/); // New York time, though the phone is on UTC
    expect(done).toContain('Submitted at');
    expect(done).toContain('Stop 6008.00 and target 6015.00 working at the broker.');
    expect(done).toContain('DEMO');
    expect(done).toContain('edited');
    expect(await filled.getByTestId('button').count()).toBe(0); // decided: no buttons
    expect(await messages().count()).toBe(1); // edited in place, never re-sent

    // the phone screenshot for the README: the filled card (toast faded out)
    await expect.poll(() => page.getByTestId('toast').evaluate((el) => getComputedStyle(el).opacity), WAIT).toBe('0');
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(statSync(SCREENSHOT).size).toBeLessThan(300 * 1024);
  });

  it('a stranger taps APPROVE on a second card → refusal toast, the card is unchanged and keeps its buttons', async () => {
    const { status, body } = await submitIntent(svc!.intakeUrl, readmeIntent(MNQ));
    expect(status).toBe(202);
    expect(body).toMatchObject({ state: 'PROPOSED', denials: [] });
    const card = cardFor('MNQ');
    await card.waitFor(WAIT);
    expect(await card.getByTestId('button').allTextContents()).toEqual(['✅ APPROVE', '❌ PASS']);
    const messageId = Number(await card.getAttribute('data-message-id'));
    const before = (await chatMessages(svc!.consoleUrl)).find((m) => m.message_id === messageId)!;
    const beforeText = await card.textContent();

    await page.getByTestId('user-select').selectOption({ label: 'stranger (666)' });
    await card.getByTestId('button').filter({ hasText: 'APPROVE' }).click();
    await expect.poll(toastText, WAIT).toBe('Not allowed.');

    const after = (await chatMessages(svc!.consoleUrl)).find((m) => m.message_id === messageId)!;
    expect(after.edits).toBe(before.edits);
    expect(after.text).toBe(before.text);
    expect(buttonTexts(after)).toEqual(['✅ APPROVE', '❌ PASS']);
    expect(await card.textContent()).toBe(beforeText);
    expect(await card.getByTestId('button').allTextContents()).toEqual(['✅ APPROVE', '❌ PASS']);
    expect(await card.getByTestId('button').filter({ hasText: 'APPROVE' }).isEnabled()).toBe(true);
  });

  it('the composer talks to the real bot: the approver sends /status and the answer says DEMO', async () => {
    await page.getByTestId('user-select').selectOption({ label: 'approver (1001)' });
    const count = await messages().count();
    await page.getByTestId('composer-input').fill('/status');
    await page.getByTestId('composer-send').click();
    // the command shows as the approver's message, then the bot's answer below it
    const mine = messages().nth(count);
    await mine.waitFor(WAIT);
    expect(await mine.textContent()).toContain('/status');
    const mineId = Number(await mine.getAttribute('data-message-id'));
    const reply = await until(
      async () => (await chatMessages(svc!.consoleUrl)).find((m) => m.from_bot && m.message_id > mineId),
      { timeoutMs: 8_000, label: 'the /status answer' },
    );
    expect(reply.text).toContain('DEMO');
    await messages().filter({ hasText: reply.text.split('\n')[0]! }).last().waitFor(WAIT);
  });
});
