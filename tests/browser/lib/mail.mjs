// Reads the .eml files the file mail transport writes, so a test can follow the links a
// person would follow from their mailbox.
import fs from 'node:fs';
import path from 'node:path';
import { MAIL_DIR } from './env.mjs';

const consumed = new Set();

function splitHead(raw) {
  const i = raw.search(/\r?\n\r?\n/);
  if (i < 0) return [raw, ''];
  const head = raw.slice(0, i).replace(/\r?\n[ \t]+/g, ' ');
  return [head, raw.slice(i).replace(/^\r?\n\r?\n/, '')];
}

function header(head, name) {
  const m = head.match(new RegExp(`^${name}:\\s*(.*)$`, 'im'));
  return m ? decodeWords(m[1].trim()) : '';
}

// RFC 2047 encoded words, as lettre writes non-ASCII subjects.
function decodeWords(s) {
  return s.replace(/=\?([^?]+)\?([bq])\?([^?]*)\?=\s*/gi, (_, _cs, enc, text) =>
    enc.toLowerCase() === 'b'
      ? Buffer.from(text, 'base64').toString('utf8')
      : qp(text.replace(/_/g, ' ')),
  );
}

function qp(s) {
  const bytes = s
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

// Every text part, decoded, walking nested multiparts.
function parts(raw) {
  const [head, body] = splitHead(raw);
  const type = header(head, 'Content-Type');
  const b = type.match(/boundary="?([^";]+)"?/i);
  if (/^multipart\//i.test(type) && b) {
    return body
      .split(`--${b[1]}`)
      .slice(1)
      .filter((p) => !p.startsWith('--'))
      .flatMap((p) => parts(p.replace(/^\r?\n/, '')));
  }
  const cte = header(head, 'Content-Transfer-Encoding').toLowerCase();
  let text = body;
  if (cte === 'base64') text = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  else if (cte === 'quoted-printable') text = qp(body);
  return [{ type, text }];
}

export function readMail(file) {
  const raw = fs.readFileSync(file, 'utf8');
  const [head] = splitHead(raw);
  const all = parts(raw);
  const plain = all.find((p) => /text\/plain/i.test(p.type)) || all[0];
  const text = plain ? plain.text : '';
  // Links in the text, then in headers such as List-Unsubscribe.
  const found = (s) => s.match(/https?:\/\/[^\s<>"')\]]+/g) || [];
  const links = [...new Set([...found(text), ...found(head)])];
  return {
    file,
    to: header(head, 'To'),
    subject: header(head, 'Subject'),
    headers: head,
    text,
    links,
  };
}

/// Waits for a message to `to` not read before, whose subject or text matches `match`.
export async function nextMail(to, match = /./, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const files = fs.existsSync(MAIL_DIR)
      ? fs.readdirSync(MAIL_DIR).filter((f) => f.endsWith('.eml')).sort()
      : [];
    for (const f of files) {
      const file = path.join(MAIL_DIR, f);
      if (consumed.has(file)) continue;
      let mail;
      try {
        mail = readMail(file);
      } catch {
        continue;
      }
      if (mail.to.toLowerCase().includes(to.toLowerCase()) && (match.test(mail.subject) || match.test(mail.text))) {
        consumed.add(file);
        return mail;
      }
    }
    if (Date.now() > deadline) {
      throw new Error(`no email to ${to} matching ${match} within ${timeoutMs} ms (in ${MAIL_DIR})`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function linkTo(mail, pathPrefix) {
  const link = mail.links.find((l) => new URL(l).pathname.startsWith(pathPrefix));
  if (!link) throw new Error(`no ${pathPrefix} link in "${mail.subject}": ${mail.links.join(', ')}`);
  return link;
}
