import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmailTemplates } from './templates.js';
import { loadConfig } from '../../config/load.js';
import { loadPlaybooks } from '../../config/playbooks.js';
import type { EmailBody } from '../../../schemas/generated/outputs/email.js';
import { ConfigErrors } from '../../errors.js';

const LINK = 'https://grafana.example/d/pulso-client-360?var-client={client}';
const shipped = () =>
  EmailTemplates.load('deploy/templates/email', 'pt', LINK, 'the test configuration');

const body = (over: Partial<EmailBody> = {}): EmailBody => ({
  id: 'email/sem-login-5-dias/acme.com/2026-11-01/1',
  alertId: 'alert/sem-login-5-dias/acme.com/2026-11-01',
  playbook: 'sem-login-5-dias',
  clientId: 'acme.com',
  period: '2026-11-01',
  at: '2026-11-02T00:00:00.000Z',
  to: 'ti@acme.com',
  template: 'sentimos-sua-falta',
  subject: 'Precisa de ajuda com a plataforma?',
  variables: { clientName: 'Acme <Comércio> & Cia', playbook: 'Sem login' },
  ...over,
});

describe('e-mail templates', () => {
  it('renders the shipped template: subject, text as is, HTML escaped with the link as a link', () => {
    const t = shipped();
    const mail = t.render(body(), 'pt');
    if ('code' in mail) throw new Error(mail.message);
    expect(mail.subject).toBe('Precisa de ajuda com a plataforma?');
    expect(mail.text).toContain('Olá, Acme <Comércio> & Cia!');
    const link = 'https://grafana.example/d/pulso-client-360?var-client=acme.com';
    expect(mail.text).toContain(link);
    expect(mail.html).toContain('Olá, Acme &lt;Comércio&gt; &amp; Cia!');
    expect(mail.html).toContain(`<a href="${link}">${link}</a>`);
    expect(mail.html).not.toContain('<Comércio>');
  });

  it("takes the client's language when it has the template, the default otherwise", () => {
    const t = shipped();
    expect(t.languageOf({ language: 'en' })).toBe('en');
    expect(t.languageOf({ language: 'en-GB' })).toBe('en');
    expect(t.languageOf({ language: 'fr' })).toBe('pt');
    expect(t.languageOf({ language: null })).toBe('pt');
    const en = t.render(body(), 'en');
    if ('code' in en) throw new Error(en.message);
    expect(en.subject).toBe('Need a hand with the platform?');
    expect(en.text).toContain('Hello, Acme <Comércio> & Cia!');
  });

  it('the subject is one line, whatever the variables hold', () => {
    const mail = shipped().render(body({ subject: 'Oi\r\nBcc: todos@x.example' }), 'pt');
    if ('code' in mail) throw new Error(mail.message);
    expect(mail.subject).toBe('Oi Bcc: todos@x.example');
  });

  it('the link encodes the client id', () => {
    expect(shipped().linkFor('a b/ç&x')).toBe(
      'https://grafana.example/d/pulso-client-360?var-client=a%20b%2F%C3%A7%26x',
    );
  });

  it('a template that is not loaded is a reason, not an exception', () => {
    const r = shipped().render(body({ template: 'nao-existe' }), 'pt');
    expect(r).toMatchObject({ code: 'email_invalid', path: '/template' });
  });

  it('every shipped playbook e-mail has its template; a missing one is refused with its path', () => {
    const playbooks = loadPlaybooks(['deploy/playbooks'], loadConfig({ env: {} }).windows);
    expect(() => shipped().check(playbooks, 'deploy/templates/email')).not.toThrow();
    const empty = mkdtempSync(join(tmpdir(), 'pulso-templates-'));
    const none = EmailTemplates.load(empty, 'pt', LINK, 'x');
    let error: unknown;
    try {
      none.check(playbooks, empty);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigErrors);
    expect((error as ConfigErrors).message).toMatch(
      /002-tracking\.yaml: \/playbooks\/\d+\/actions\/1\/email\/template: expected a template in .* \(sentimos-sua-falta\.pt\.hbs\), got "sentimos-sua-falta"/,
    );
  });

  it('a malformed template file is refused at load with its name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pulso-templates-'));
    writeFileSync(join(dir, 'a.pt.hbs'), 'no subject line here\n');
    writeFileSync(join(dir, 'b.pt.hbs'), 'Subject: x\n\nHello {{#if}}\n');
    expect(() => EmailTemplates.load(dir, 'pt', LINK, 'x')).toThrow(
      /a\.pt\.hbs: \/: expected a "Subject: …" line[\s\S]*b\.pt\.hbs: \/: expected a Handlebars template/,
    );
  });
});
