// The consultation journey in a real browser, three ways: JavaScript on at desktop size, at a
// phone's size (390×844), and with JavaScript off (register, comment, reply).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_LINK, DRAFTS, DESKTOP, PHONE, launch, saveState } from './lib/env.mjs';
import {
  newPage, expectText, registerVerifySignIn, adminSetsPassword, signIn, openArticle,
  commentOnProvision, replyTo, endorse, escape,
} from './lib/steps.mjs';
import { screenshot } from './lib/checks.mjs';

let browser;
let admin; // page signed in as the administrator
let member; // page signed in as the working-group member
let neighbour; // page signed in as another participant, whose comment the citizen answers
const MEMBER = { email: 'member@example.org', name: 'Dana Member' };
const NEIGHBOUR = { email: 'neighbour@example.org', name: 'Nurlan Neighbour' };
const title = (variant) => `Law on Drinking Water Quality (${variant})`;
const QUOTE = 'publish the results of their water tests every month';

before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('setup: the admin, a working-group member and another participant', async () => {
  admin = await newPage(browser);
  await adminSetsPassword(admin, ADMIN_LINK);

  member = await newPage(browser);
  await registerVerifySignIn(member, { ...MEMBER, respondent: 'expert' });
  neighbour = await newPage(browser);
  await registerVerifySignIn(neighbour, NEIGHBOUR);

  for (const [variant, id] of Object.entries(DRAFTS)) {
    // The admin puts the member in the draft's working group through the admin pages.
    await admin.goto('/admin/drafts');
    await admin.getByRole('link', { name: title(variant), exact: true }).click();
    await admin.locator(`a[href="/admin/drafts/${id}/group"]`).first().click();
    await admin.locator('#f-email').fill(MEMBER.email);
    await admin.getByRole('button', { name: 'Add to the group' }).click();
    await expectText(admin.locator('#members'), new RegExp(MEMBER.name));

    // The neighbour's comment on Article 1, which the citizens reply to and endorse.
    await openArticle(neighbour, title(variant));
    await commentOnProvision(neighbour, {
      stance: 'support',
      quote: 'quality of drinking water',
      // Worded for each draft: one account may post the same text only three times a day.
      body: `Monthly publication is a good start; weekly would be better in summer (${variant} draft).`,
    });
  }
  saveState({ member: MEMBER, neighbour: NEIGHBOUR });
});

for (const variant of ['desktop', 'mobile', 'nojs']) {
  const js = variant !== 'nojs';
  const viewport = variant === 'mobile' ? PHONE : DESKTOP;
  const full = variant !== 'nojs';
  test(`journey (${variant}${js ? '' : ', JavaScript disabled'}, ${viewport.width}×${viewport.height})`, async (t) => {
    const draftId = DRAFTS[variant];
    const citizen = { email: `citizen-${variant}@example.org`, name: `Citizen ${variant}` };
    const page = await newPage(browser, { js, viewport });
    let comment;

    await t.test('registers and confirms through the emailed link', async () => {
      await registerVerifySignIn(page, citizen);
    });

    await t.test('comments on an article quoting a span of it', async () => {
      await openArticle(page, title(variant));
      comment = await commentOnProvision(page, {
        quote: QUOTE,
        body: `Results should also be posted at the tap (${variant}).`,
        wording: 'The operators shall publish the results of their water tests every week.',
      });
      await page.goto(comment.receiptUrl);
      await expectText(page.locator('dl.receipt'), new RegExp(comment.tracking));
      await screenshot(page, `journey-${variant}-receipt`);
    });

    await t.test('replies to another participant', async () => {
      await openArticle(page, title(variant));
      await replyTo(page, NEIGHBOUR.name, `I agree about summer (${variant}).`);
      await screenshot(page, `journey-${variant}-reply`);
    });

    if (!full) return;

    await t.test('endorses the other comment', async () => {
      await openArticle(page, title(variant));
      await endorse(page, NEIGHBOUR.name);
    });

    await t.test('a working-group member triages and answers', async () => {
      await member.goto(`/drafts/${draftId}`);
      await member.getByRole('link', { name: 'Triage comments' }).click();
      await member.getByRole('link', { name: comment.tracking, exact: true }).click();
      await expectText(member.locator('h1'), new RegExp(comment.tracking));
      await member.locator('#f-decision').selectOption('accepted');
      await member.locator('#f-justification').fill(
        `Accepted: results will be published every week (${variant}).`,
      );
      await member.getByRole('button', { name: 'Publish answer' }).click();
      await expectText(member.locator('#triage-status'), /Decided/i);
    });

    await t.test('the round closes and the member publishes a revision', async () => {
      await admin.goto(`/admin/drafts/${draftId}`);
      await admin.locator('#f-status').selectOption('closed');
      await admin.getByRole('button', { name: 'Change status' }).click();
      await expectText(admin.locator('#draft-history'), /Closed/i);

      await member.goto(`/drafts/${draftId}`);
      await member.getByRole('link', { name: 'Prepare the next version (working group)' }).click();
      await member.getByRole('button', { name: 'Start the revision' }).click();
      await expectText(member.locator('.flash'), /Version 2 is ready/);
      // The paragraph the citizen quoted: Article 1, second paragraph.
      await member.locator('#working-text tr').filter({ hasText: 'every month' }).locator('th a').click();
      await member.locator('#f-body').fill(
        'The operators of public networks shall publish the results of their water tests every week.',
      );
      await member.getByRole('button', { name: 'Save the text' }).click();
      await expectText(member.locator('#provision-change'), /Changed/);
      // The comment was on the article; the member links it to the paragraph it changed.
      await member.locator('#f-comment').fill(comment.tracking);
      await member.getByRole('button', { name: 'Link the comment' }).click();
      await expectText(member.locator('#linked'), new RegExp(comment.tracking));
      await member.getByRole('navigation', { name: 'You are here' }).getByRole('link', { name: 'Back to the revision' }).click();
      await member.locator('#f-change_summary').fill('Water test results are published weekly instead of monthly.');
      await member.getByRole('button', { name: 'Publish the new version' }).click();
      await expectText(member.locator('.flash'), /Version 2 is published/);
      await expectText(member.locator('ol.versions'), /Water test results are published weekly/);
    });

    await t.test('the citizen sees the answer and the comparison table', async () => {
      await page.goto(comment.receiptUrl);
      await page.getByRole('link', { name: 'See the comment' }).click();
      const mine = page.locator(`#c${comment.id}`);
      await expectText(mine.locator('.disposition'), new RegExp(`Accepted[\\s\\S]*${escape(`(${variant})`)}`));
      await screenshot(page, `journey-${variant}-answer`);

      await page.goto(`/drafts/${draftId}`);
      await page.locator('a.compare-link').first().click();
      await expectText(page.locator('h1'), /Changes from version 1 to version 2/);
      const row = page.locator('table tr').filter({ hasText: comment.tracking });
      await expectText(row, /every/);
      await expectText(row.locator('ins'), /week/);
      await expectText(row.locator('del'), /month/);
      await screenshot(page, `journey-${variant}-compare`);
    });

    await t.test('subscribes to the draft and unsubscribes', async () => {
      await page.goto(`/drafts/${draftId}`);
      await page.getByRole('button', { name: 'Follow this draft by email' }).click();
      await expectText(page.locator('h1'), /Follow by email/);
      await page.getByRole('button', { name: 'Subscribe' }).click();
      await expectText(page.locator('.flash'), /You now follow/);
      await page.goto('/account/subscriptions');
      const item = page.locator('ul.subscriptions li').filter({ hasText: title(variant) });
      await expectText(item, new RegExp(escape(title(variant))));
      await item.getByRole('button', { name: /Remove|Stop|Unsubscribe/ }).first().click();
      await page.waitForLoadState('load');
      assert.equal(await page.locator('ul.subscriptions li').filter({ hasText: title(variant) }).count(), 0);
    });

    if (variant === 'desktop') {
      saveState({
        citizen,
        comment,
        draftId,
        commentUrl: `/comments/${comment.id}`,
        provisionPath: `/drafts/${draftId}/provisions/ch1.art1`,
      });
    }
    await page.context().close();
  });
}

export { browser, admin, member, neighbour, MEMBER, NEIGHBOUR, signIn };
