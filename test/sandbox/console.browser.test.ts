/** The web console in a real (headless) Chromium, driven with playwright-core. */
import { existsSync } from 'node:fs';
import { Bot, InlineKeyboard } from 'grammy';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.js';
import { TOKEN } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`console.browser.test: skipped because ${CHROMIUM} does not exist (apt-get install -y chromium)`);

describe.skipIf(!hasChromium)(`web console in Chromium (needs ${CHROMIUM})`, () => {
  let browser: Browser;
  let sandbox: Sandbox;
  let page: Page;
  let api: Bot['api'];

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
        '--no-first-run', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    sandbox = await startSandbox();
    api = new Bot(TOKEN, { client: { apiRoot: sandbox.apiRoot } }).api;
    page = await browser.newPage({ viewport: { width: 380, height: 720 } });
    await page.goto(sandbox.url);
  });
  afterEach(async () => {
    await page?.close();
    await sandbox?.close();
  });

  it('shows bot messages, taps buttons, sends commands and switches users', async () => {
    const card = await api.sendMessage(
      1001,
      '<b>Card T-7</b>: buy <code>10 AAPL</code>\n<i>reason</i> &lt;script&gt;alert(1)&lt;/script&gt;',
      { parse_mode: 'HTML', reply_markup: new InlineKeyboard().text('✅ APPROVE', 'v1:a:T7').text('❌ PASS', 'v1:p:T7') },
    );
    const bubble = page.getByTestId('message').first();
    await expect.poll(() => bubble.textContent()).toContain('Card T-7');
    expect(await bubble.locator('b').textContent()).toBe('Card T-7');
    expect(await bubble.locator('code').textContent()).toBe('10 AAPL');
    expect(await bubble.locator('script').count()).toBe(0); // escaped text stays text
    expect(await bubble.textContent()).toContain('<script>alert(1)</script>');

    // tap → callback_query update with the approver's id; the answer shows as a toast
    await page.getByTestId('button').filter({ hasText: 'APPROVE' }).click();
    const [tapUpdate] = await api.getUpdates({ timeout: 5 });
    expect(tapUpdate?.callback_query).toMatchObject({
      from: { id: 1001 },
      data: 'v1:a:T7',
      message: { message_id: card.message_id, chat: { id: 1001 } },
    });
    await api.answerCallbackQuery(tapUpdate!.callback_query!.id, { text: 'Approved ✅' });
    await expect.poll(() => page.getByTestId('toast').textContent()).toBe('Approved ✅');

    // the edit appears in place
    await api.editMessageText(1001, card.message_id, 'Card T-7: <b>APPROVED</b>', { parse_mode: 'HTML' });
    await expect.poll(() => bubble.textContent()).toContain('APPROVED');
    expect(await page.getByTestId('message').count()).toBe(1);
    expect(await page.getByTestId('button').count()).toBe(0);

    // composer → message update with a bot_command entity
    await page.getByTestId('composer-input').fill('/status');
    await page.getByTestId('composer-send').click();
    const [cmd] = await api.getUpdates({ offset: tapUpdate!.update_id + 1, timeout: 5 });
    expect(cmd?.message).toMatchObject({ text: '/status', from: { id: 1001 }, entities: [{ type: 'bot_command', offset: 0, length: 7 }] });

    // switching user changes from.id
    await page.getByTestId('user-select').selectOption({ label: 'stranger (666)' });
    await page.getByTestId('composer-input').fill('let me in');
    await page.getByTestId('composer-input').press('Enter');
    const [stranger] = await api.getUpdates({ offset: cmd!.update_id + 1, timeout: 5 });
    expect(stranger?.message).toMatchObject({ text: 'let me in', from: { id: 666, first_name: 'Stranger' } });
    await expect.poll(() => page.getByTestId('message').count()).toBe(3);
    expect(await page.getByTestId('message').last().textContent()).toContain('Stranger (666)');
  });
});
