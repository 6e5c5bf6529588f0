// What people do in the UI, step by step: each step clicks and types as a person would and
// checks what they see afterwards.
import assert from 'node:assert/strict';
import { BASE, PASSWORD, DESKTOP } from './env.mjs';
import { nextMail, linkTo } from './mail.mjs';

export async function newPage(browser, { js = true, viewport = DESKTOP, bypassCSP = false } = {}) {
  const context = await browser.newContext({
    baseURL: BASE,
    javaScriptEnabled: js,
    viewport,
    bypassCSP,
    locale: 'en-GB',
    deviceScaleFactor: 1,
  });
  context.setDefaultTimeout(15000);
  const page = await context.newPage();
  return page;
}

export async function expectText(locator, pattern) {
  await locator.first().waitFor({ state: 'visible' });
  const text = (await locator.first().innerText()).replace(/\s+/g, ' ');
  assert.match(text, pattern);
  return text;
}

async function flash(page) {
  return (await page.locator('.flash').allInnerTexts()).join(' ');
}

/// Register through the form, confirm through the emailed link, and sign in.
export async function registerVerifySignIn(page, { email, name, respondent = 'citizen' }) {
  await page.goto('/');
  await page.getByRole('link', { name: 'Create an account' }).click();
  await expectText(page.locator('h1'), /Create an account|Register/i);
  await page.getByLabel('Email address', { exact: false }).first().fill(email);
  await page.locator('#f-display_name').fill(name);
  await page.locator('#f-password').fill(PASSWORD);
  await page.locator(`#f-rt-${respondent}`).check();
  await page.getByRole('button', { name: 'Create account' }).click();
  await expectText(page.locator('main'), /email/i);

  const mail = await nextMail(email, /confirm|verify/i);
  await page.goto(linkTo(mail, '/verify'));
  await page.getByRole('button', { name: 'Confirm my email address' }).click();
  assert.match(await flash(page), /Your email address is confirmed/);
  await signIn(page, email);
  await expectText(page.getByRole('navigation', { name: 'Account' }), new RegExp(name));
}

export async function signIn(page, email) {
  if (!new URL(page.url()).pathname.startsWith('/login')) await page.goto('/login');
  await page.locator('#f-email').fill(email);
  await page.locator('#f-password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForLoadState('load');
  assert.ok(!new URL(page.url()).pathname.startsWith('/login'), `sign-in as ${email} failed`);
}

/// The administrator's first visit: choose the password from the link create-admin printed.
export async function adminSetsPassword(page, link) {
  await page.goto(link);
  await page.locator('#f-password').fill(PASSWORD);
  const confirm = page.locator('#f-password_confirm, #f-confirm');
  if (await confirm.count()) await confirm.first().fill(PASSWORD);
  await page.getByRole('button', { name: 'Save the new password' }).click();
  await page.waitForLoadState('load');
  if (new URL(page.url()).pathname.startsWith('/login')) await signIn(page, 'admin@example.org');
  await expectText(page.getByRole('navigation', { name: 'Account' }), /Administration|Admin/);
}

/// From the list of drafts to the page of Article 1.
export async function openArticle(page, draftTitle, article = 'ch1.art1') {
  await page.goto('/');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Drafts' }).click();
  await page.getByRole('link', { name: draftTitle, exact: true }).first().click();
  await expectText(page.locator('h1'), new RegExp(escape(draftTitle)));
  await page.locator(`[id="${article}"] a.discuss`).click();
  await expectText(page.locator('h1'), /Article 1/);
}

/// A comment on the current provision page quoting a span of its text; returns the receipt.
export async function commentOnProvision(page, { quote, body, stance = 'propose_change', wording }) {
  const form = page.locator('#comment-form');
  await form.locator(`#f-stance-${stance}`).check();
  await form.locator('#f-quote').fill(quote);
  await form.locator('#f-body').fill(body);
  if (wording) await form.locator('#f-proposed_wording').fill(wording);
  await form.getByRole('button', { name: 'Publish comment' }).click();
  const tracking = await expectText(page.locator('h1 .tracking'), /^TLQ-\d{4}-\d{8}$/);
  await expectText(page.locator('.flash'), /Your comment is published/);
  const receiptUrl = new URL(page.url()).pathname;
  await page.getByRole('link', { name: 'See the comment' }).click();
  const article = page.locator('article.comment').filter({ hasText: body.slice(0, 40) });
  await expectText(article.locator('blockquote.quote'), new RegExp(escape(quote)));
  const id = Number((await article.first().getAttribute('id')).slice(1));
  return { tracking, receiptUrl, id };
}

/// Replies to the comment by `author` with the given text, from the provision page.
export async function replyTo(page, author, body) {
  const target = page.locator('article.comment').filter({ has: page.locator('.comment-author', { hasText: author }) }).first();
  await target.getByRole('link', { name: 'Reply', exact: true }).click();
  const form = page.locator('#comment-form');
  await form.locator('#f-body').fill(body);
  await form.getByRole('button', { name: 'Publish reply' }).click();
  // A reply gets a receipt too.
  await expectText(page.locator('h1 .tracking'), /^TLQ-\d{4}-\d{8}$/);
  await page.getByRole('link', { name: 'See the comment' }).click();
  const reply = page.locator('article.comment').filter({ hasText: body });
  await expectText(reply.locator('.comment-meta'), new RegExp(`In reply to ${escape(author)}`));
}

export async function endorse(page, author) {
  const target = () => page.locator('article.comment').filter({ has: page.locator('.comment-author', { hasText: author }) }).first();
  await target().getByRole('button', { name: 'Endorse' }).click();
  await page.waitForLoadState('load');
  await expectText(target().getByRole('button', { name: 'Endorsed' }), /Endorsed/);
  await expectText(target().locator('.endorsements'), /1/);
}

export function escape(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
