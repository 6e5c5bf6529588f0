// What run.sh hands the tests, and the browser they drive.
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the tests through run.sh`);
  return v;
}

export const BASE = need('TALQY_URL');
export const MAIL_DIR = need('TALQY_MAIL_DIR');
export const ADMIN_LINK = need('TALQY_ADMIN_LINK');
export const DRAFTS = JSON.parse(need('TALQY_DRAFTS'));
export const STATE_FILE = need('TALQY_STATE');
export const SHOTS = need('TALQY_SCREENSHOTS');
export const PASSWORD = 'correct horse battery staple';
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 900 };

// The flags the machine notes ask for: no background connections (the network is closed),
// no GPU, no sandbox (root in CI). playwright-core gives each launch a fresh user-data-dir.
export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

// State the journey leaves for the page audit (ids, receipt numbers, accounts).
export function saveState(patch) {
  const now = loadState();
  fs.writeFileSync(STATE_FILE, JSON.stringify({ ...now, ...patch }, null, 2));
}
export function loadState() {
  try {
    return JSON.parse(fs.readFileSync(STATE_FILE, 'utf8'));
  } catch {
    return {};
  }
}

export function shotPath(name) {
  return path.join(SHOTS, `${name.replace(/[^a-z0-9_-]+/gi, '-')}.png`);
}
