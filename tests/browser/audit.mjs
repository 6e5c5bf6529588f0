// Every page type of pages.mjs: axe-core (WCAG 2.2 AA tags, zero violations), html-validate
// on the markup the server sent, and a full-page screenshot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DRAFTS, SHOTS, loadState, saveState } from './lib/env.mjs';
import { nextMail, linkTo } from './lib/mail.mjs';
import { newPage, signIn, expectText } from './lib/steps.mjs';
import { axeViolations, formatViolations, htmlErrors, screenshot, documentAfter } from './lib/checks.mjs';
import { PAGES } from './pages.mjs';
import * as journey from './journey.mjs';

const pages = {};

// Anything the page table needs that the journey did not leave behind.
test('audit setup: links from emails, a revision in progress', async () => {
  const s = loadState();
  const { browser, admin, member } = journey;
  const auditDraftId = DRAFTS.audit;
  const patch = { auditDraftId };

  // The pages are audited in their own contexts, where the app's CSP is bypassed so that
  // axe-core can be injected.
  pages.anon = await newPage(browser, { bypassCSP: true });
  pages.citizen = await newPage(browser, { bypassCSP: true });
  await signIn(pages.citizen, s.citizen.email);
  pages.member = await newPage(browser, { bypassCSP: true });
  await signIn(pages.member, s.member.email);
  pages.admin = await newPage(browser, { bypassCSP: true });
  await signIn(pages.admin, 'admin@example.org');

  // A registration waiting for its confirmation: the verify page.
  const anon = await newPage(browser);
  await anon.goto('/register');
  await anon.locator('#f-email').fill('audit@example.org');
  await anon.locator('#f-display_name').fill('Audit Visitor');
  await anon.locator('#f-password').fill('correct horse battery staple');
  await anon.locator('#f-rt-citizen').check();
  await anon.getByRole('button', { name: 'Create account' }).click();
  patch.verifyUrl = linkTo(await nextMail('audit@example.org', /confirm|verify/i), '/verify');

  // A password reset link.
  await anon.goto('/password/forgot');
  await anon.locator('#f-email').fill('citizen-nojs@example.org');
  await anon.locator('form[action="/password/forgot"] button[type="submit"]').click();
  patch.resetUrl = linkTo(await nextMail('citizen-nojs@example.org', /password/i), '/password/reset');

  // An email subscription: confirmation, management and unsubscribe pages.
  await anon.goto(`/drafts/${auditDraftId}`);
  await anon.getByRole('button', { name: 'Follow this draft by email' }).click();
  await anon.locator('#f-email').fill('follower@example.org');
  await anon.getByRole('button', { name: 'Subscribe' }).click();
  const confirm = await nextMail('follower@example.org', /confirm|subscri/i);
  patch.confirmUrl = linkTo(confirm, '/subscriptions/confirm');
  patch.manageUrl = confirm.links.find((l) => l.includes('/subscriptions/manage')) || null;
  patch.unsubscribeUrl = linkTo(confirm, '/subscriptions/unsubscribe');
  if (!patch.manageUrl) {
    await anon.goto(patch.confirmUrl);
    await anon.locator('main form[method="post"] button[type="submit"]').first().click();
    await anon.waitForLoadState('load');
    patch.manageUrl = anon.url();
  }
  await anon.context().close();

  // Ids the table needs.
  // The journey without JavaScript leaves its draft open for comments.
  patch.openProvisionPath = `/drafts/${DRAFTS.nojs}/provisions/ch1.art1`;
  patch.openDraftId = DRAFTS.nojs;
  await member.goto(patch.openProvisionPath);
  const theirs = member.locator('article.comment').filter({ has: member.locator('.comment-author', { hasText: s.neighbour.name }) }).first();
  patch.openNeighbourCommentId = Number((await theirs.getAttribute('id')).slice(1));
  // A report waiting in that draft's moderation queue.
  await pages.citizen.goto(`/comments/${patch.openNeighbourCommentId}/report`);
  await pages.citizen.locator('#f-reason-off_topic').check();
  await pages.citizen.locator('#f-details').fill('This is about another law.');
  await pages.citizen.getByRole('button', { name: 'Send the report' }).click();
  await pages.citizen.waitForLoadState('load');
  await member.goto(`/drafts/${auditDraftId}/provisions/ch1.art1`);
  const onAudit = member.locator('article.comment').first();
  patch.auditCommentId = Number((await onAudit.getAttribute('id')).slice(1));

  // A representation request for a new organization: the admin's request page, and the
  // organization's public page once the admin has verified it.
  const rep = pages.citizen;
  await rep.goto('/account/organizations');
  await rep.locator('#f-organization_id').selectOption('new');
  await rep.locator('#f-name').fill('Clean Water Association');
  await rep.locator('#f-kind').selectOption('ngo');
  await rep.locator('#f-registration_number').fill('987654-CW');
  await rep.locator('#f-website').fill('https://water.example.org');
  await rep.locator('#f-position').fill('Chair of the board');
  await rep.getByRole('button', { name: 'Send the request' }).click();
  await rep.waitForLoadState('load');
  await admin.goto('/admin/organizations');
  const request = admin.locator('a[href^="/admin/organizations/requests/"]').filter({ hasText: 'Clean Water Association' }).first();
  patch.orgRequestPath = await request.getAttribute('href');
  await admin.goto(patch.orgRequestPath);
  await admin.getByRole('button', { name: 'Verify this representative' }).click();
  await admin.waitForLoadState('load');
  await rep.goto('/organizations');
  patch.organizationPath = await rep.getByRole('link', { name: 'Clean Water Association' }).first().getAttribute('href');

  // An email change waiting for the new mailbox: its confirmation page.
  await rep.goto('/account/email');
  await rep.locator('#f-new_email').fill('citizen-new-address@example.org');
  await rep.locator('#f-current_password').fill('correct horse battery staple');
  await rep.locator('form[action="/account/email"] button[type="submit"]').click();
  await rep.waitForLoadState('load');
  patch.emailConfirmUrl = linkTo(await nextMail('citizen-new-address@example.org', /./), '/account/email/confirm');

  await admin.goto(`/admin/users?q=${encodeURIComponent(s.citizen.email)}`);
  const userLink = admin.getByRole('link', { name: s.citizen.name });
  patch.citizenUserId = Number((await userLink.first().getAttribute('href')).split('/').pop());

  // A revision in progress on the audit draft, for the revision pages.
  await admin.goto(`/admin/drafts/${auditDraftId}`);
  await admin.locator('#f-status').selectOption('closed');
  await admin.getByRole('button', { name: 'Change status' }).click();
  await member.goto(`/drafts/${auditDraftId}/revision`);
  await member.getByRole('button', { name: 'Start the revision' }).click();
  await expectText(member.locator('#working-text'), /every month/);
  patch.auditParagraphKey = await member.locator('#working-text tr').filter({ hasText: 'every month' }).getAttribute('data-key');

  saveState(patch);
});

const failures = [];

for (const row of PAGES) {
  test(`page: ${row.name}`, async () => {
    const s = loadState();
    const page = pages[row.as];
    assert.ok(page, `no page for ${row.as}`);
    const url = await row.path(s);
    assert.ok(url, `${row.name}: no address (state: ${JSON.stringify(Object.keys(s))})`);
    const problems = [];
    const shown = await documentAfter(page, () => page.goto(url));
    assert.equal(shown.status, row.status ?? 200, `${row.name}: ${url} answered ${shown.status}`);
    await audit(page, row.name, shown.html, problems);

    if (row.form) {
      const form = page.locator(row.form).first();
      for (const sel of row.clear || []) await form.locator(sel).fill('');
      const withErrors = await documentAfter(page, () => form.locator('button[type="submit"]').last().click());
      assert.ok([400, 422].includes(withErrors.status), `${row.name}: the empty form answered ${withErrors.status}`);
      await expectText(page.locator('.error-summary'), /./);
      await audit(page, `${row.name}-errors`, withErrors.html, problems);
    }
    if (problems.length) {
      failures.push(row.name);
      assert.fail(problems.join('\n'));
    }
  });
}

async function audit(page, name, html, problems) {
  await screenshot(page, name);
  const violations = await axeViolations(page);
  if (violations.length) problems.push(`${name}: axe-core found ${violations.length} violation(s):\n${formatViolations(violations)}`);
  const invalid = await htmlErrors(html, name);
  if (invalid.length) problems.push(`${name}: html-validate:\n  ${invalid.join('\n  ')}`);
}

test('audit summary', () => {
  console.log(`Screenshots of every page type: ${SHOTS}`);
  assert.deepEqual(failures, [], `pages with problems: ${failures.join(', ')}`);
});

