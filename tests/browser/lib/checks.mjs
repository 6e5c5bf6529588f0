// Accessibility (axe-core), HTML validity (html-validate) and screenshots for one page.
import { createRequire } from 'node:module';
import { HtmlValidate, StaticConfigLoader } from 'html-validate';
import htmlValidateConfig from '../htmlvalidate.config.mjs';
import { shotPath } from './env.mjs';

const require = createRequire(import.meta.url);
const AXE = require.resolve('axe-core/axe.min.js');
export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

const validator = new HtmlValidate(new StaticConfigLoader(htmlValidateConfig));

// The page needs a context with bypassCSP: the app's CSP (rightly) refuses injected scripts.
export async function axeViolations(page) {
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) {
    await page.addScriptTag({ path: AXE });
  }
  const result = await page.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] }),
    WCAG_TAGS,
  );
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary.replace(/\s+/g, ' ')}`).slice(0, 5),
  }));
}

export function formatViolations(list) {
  return list.map((v) => `  [${v.impact}] ${v.id}: ${v.help}\n    ${v.nodes.join('\n    ')}`).join('\n');
}

export async function htmlErrors(html, name) {
  const report = await validator.validateString(html, `${name}.html`);
  if (report.valid) return [];
  return report.results.flatMap((r) =>
    r.messages.map((m) => `${m.line}:${m.column} ${m.ruleId}: ${m.message} [${(m.selector || '').slice(0, 80)}]`),
  );
}

export async function screenshot(page, name) {
  const file = shotPath(name);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/// Runs `action` and returns the HTML the server sent for the document it ended on (the
/// markup as written, not the DOM as the browser rebuilt it).
export async function documentAfter(page, action) {
  let last = null;
  const onResponse = (r) => {
    if (r.request().resourceType() === 'document' && r.frame() === page.mainFrame() && !(r.status() >= 300 && r.status() < 400)) {
      last = r;
    }
  };
  page.on('response', onResponse);
  try {
    await action();
    await page.waitForLoadState('load');
  } finally {
    page.off('response', onResponse);
  }
  if (!last) throw new Error('no document response');
  return { status: last.status(), html: await last.text(), url: last.url() };
}
