// The comment form with the keyboard alone: tab order, a visible focus indicator on every
// stop, and after an empty submission the error summary takes focus and its links move
// focus to the fields.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DRAFTS, loadState } from './lib/env.mjs';
import { newPage, signIn } from './lib/steps.mjs';
import { screenshot } from './lib/checks.mjs';
import * as journey from './journey.mjs';

// What has focus, and whether it shows: an outline or a box-shadow drawn by :focus-visible.
async function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const cs = getComputedStyle(el);
    const outline = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2;
    const shadow = cs.boxShadow && cs.boxShadow !== 'none';
    return {
      id: el.id || el.getAttribute('name') || el.tagName.toLowerCase(),
      tag: el.tagName.toLowerCase(),
      type: el.getAttribute('type') || '',
      inForm: !!el.closest('#comment-form'),
      visible: outline || shadow,
      style: `${cs.outlineStyle} ${cs.outlineWidth} ${cs.outlineColor} / ${cs.boxShadow}`,
    };
  });
}

test('keyboard only: the comment form', async (t) => {
  const s = loadState();
  const page = await newPage(journey.browser);
  await signIn(page, s.citizen.email);
  // A draft still open for comments (the audit closes it later).
  await page.goto(`/drafts/${DRAFTS.audit}/provisions/ch1.art1`);
  await page.locator('body').click({ position: { x: 1, y: 1 } });

  await t.test('tab order through the form, each stop visibly focused', async () => {
    const stops = [];
    for (let i = 0; i < 200; i++) {
      await page.keyboard.press('Tab');
      const f = await focused(page);
      if (f?.inForm) stops.push(f);
      else if (stops.length) break;
    }
    assert.deepEqual(
      stops.map((f) => f.id || f.tag),
      ['f-stance-support', 'f-quote', 'f-body', 'f-proposed_wording', 'f-show_as_participant', 'button'].map((x) => x),
      `tab stops: ${JSON.stringify(stops.map((f) => f.id))}`,
    );
    for (const f of stops) assert.ok(f.visible, `no visible focus on ${f.id}: ${f.style}`);
  });

  await t.test('an empty submission: the error summary takes focus and links to the fields', async () => {
    await page.locator('#comment-form button[type="submit"]').focus();
    await Promise.all([page.waitForLoadState('load'), page.keyboard.press('Enter')]);
    await page.waitForFunction(() => document.activeElement?.matches('[data-error-summary]'));
    const summary = await focused(page);
    assert.ok(summary.visible, `the error summary has focus but shows no focus indicator: ${summary.style}`);
    await screenshot(page, 'keyboard-comment-errors');

    const links = await page.locator('.error-summary a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    assert.ok(links.length >= 1, 'the summary lists the errors');
    for (let i = 0; i < links.length; i++) {
      await page.locator('.error-summary').focus();
      for (let k = 0; k <= i; k++) await page.keyboard.press('Tab');
      const onLink = await page.evaluate(() => document.activeElement.getAttribute('href'));
      assert.equal(onLink, links[i]);
      await page.keyboard.press('Enter');
      await page.waitForFunction(
        (id) => {
          const a = document.activeElement;
          return a && (a.id === id || a.closest(`#${id}`) !== null);
        },
        links[i].slice(1),
        { timeout: 3000 },
      ).catch(() => {});
      const f = await focused(page);
      assert.ok(f && (f.id === links[i].slice(1) || (await page.evaluate((id) => !!document.activeElement.closest(`#${id}`), links[i].slice(1)))),
        `following ${links[i]} put focus on ${f && f.id}`);
      assert.ok(f.visible, `no visible focus on ${f.id} after following the error link: ${f.style}`);
    }
  });
  await page.context().close();
});
