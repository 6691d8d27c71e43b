/**
 * E-mail templates: one file per template and language, `<template>.<language>.hbs` in
 * `delivery.email.templates` — a `Subject:` line, a blank line, then the text, both
 * Handlebars. Variables: those the playbook's e-mail carries (`clientName`, `playbook`,
 * `language`), and `clientId`, `subject` (the playbook's), `period` and `link` (the deep link
 * of `delivery.email.link` for the client). The HTML part is the same text, escaped, in
 * paragraphs, with the link made a link.
 *
 * Loaded and compiled at start; a playbook that sends a template missing in the default
 * language is refused then, with its file and path.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import type { EmailBody } from '../../../schemas/generated/outputs/email.js';
import type { Reason } from '../../../schemas/types.js';
import type { Playbook } from '../../../operators/playbooks/playbook.js';
import { ConfigError, ConfigErrors } from '../../errors.js';

export const LANGUAGES = ['pt', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

interface Compiled {
  subject: Handlebars.TemplateDelegate;
  text: Handlebars.TemplateDelegate;
  html: Handlebars.TemplateDelegate;
}

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

/** `delivery.link` for one client: `{client}` is its id, URL-encoded. */
export const clientLink = (pattern: string, clientId: string) =>
  pattern.replace(/\{client\}/g, encodeURIComponent(clientId));

const FILE = /^([a-z0-9][a-z0-9_-]*)\.([a-z]{2})\.hbs$/;
/** Characters Handlebars' escaping leaves as they are, and no text holds. */
const LINK_TOKEN = '\u0000link\u0000';

/** Escaped for an HTML attribute or text, and nothing more (a URL's = and ' stay readable). */
const attribute = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export class EmailTemplates {
  private constructor(
    private readonly byName: Map<string, Compiled>,
    readonly language: Language,
    private readonly link: string,
  ) {}

  /** Every template of `dir`; a file that does not parse is refused with its name. */
  static load(dir: string, language: Language, link: string, source: string): EmailTemplates {
    if (!existsSync(dir))
      throw new ConfigError(
        source,
        '/delivery/email/templates',
        'a folder of e-mail templates',
        dir,
      );
    const byName = new Map<string, Compiled>();
    const errors: ConfigError[] = [];
    for (const f of readdirSync(dir).sort()) {
      const m = FILE.exec(f);
      if (!m) continue;
      const text = readFileSync(join(dir, f), 'utf8').replace(/\r\n/g, '\n');
      const head = /^Subject:[ \t]*(.*)\n\n/.exec(text);
      if (!head) {
        errors.push(
          new ConfigError(
            join(dir, f),
            '/',
            'a "Subject: …" line, a blank line, then the text',
            text.slice(0, 60),
          ),
        );
        continue;
      }
      const body = text.slice(head[0].length);
      try {
        const compiled = {
          subject: Handlebars.compile(head[1]!, { noEscape: true, strict: false }),
          text: Handlebars.compile(body, { noEscape: true }),
          html: Handlebars.compile(body),
        };
        // Compiling is lazy: render once so a syntax error shows now, not at the first send.
        compiled.text({});
        byName.set(`${m[1]}.${m[2]}`, compiled);
      } catch (e) {
        errors.push(
          new ConfigError(join(dir, f), '/', 'a Handlebars template', (e as Error).message),
        );
      }
    }
    if (errors.length > 0) throw new ConfigErrors(errors);
    return new EmailTemplates(byName, language, link);
  }

  has(template: string, language: Language): boolean {
    return this.byName.has(`${template}.${language}`);
  }

  /** Every e-mail action of the playbooks has its template in the default language. */
  check(playbooks: readonly Playbook[], dir: string): void {
    const errors: ConfigError[] = [];
    for (const p of playbooks)
      p.actions.forEach((a, i) => {
        if (!('email' in a) || this.has(a.email.template, this.language)) return;
        const [file, path] = (p.source ?? `playbook ${p.id}#`).split('#');
        errors.push(
          new ConfigError(
            file!,
            `${path}/actions/${i}/email/template`,
            `a template in ${dir} (${a.email.template}.${this.language}.hbs)`,
            a.email.template,
          ),
        );
      });
    if (errors.length > 0) throw new ConfigErrors(errors);
  }

  /** The client's language (its `language` attribute) if a known one, else the default. */
  languageOf(variables: Record<string, unknown>): Language {
    const l = typeof variables.language === 'string' ? variables.language.slice(0, 2) : '';
    return (LANGUAGES as readonly string[]).includes(l) ? (l as Language) : this.language;
  }

  linkFor(clientId: string): string {
    return clientLink(this.link, clientId);
  }

  render(body: EmailBody, language: Language): RenderedEmail | Reason {
    const t =
      this.byName.get(`${body.template}.${language}`) ??
      this.byName.get(`${body.template}.${this.language}`);
    if (!t)
      return {
        code: 'email_invalid',
        message: `no template ${JSON.stringify(body.template)} in ${language} or ${this.language}`,
        path: '/template',
        expected: 'a template the sender has loaded',
      };
    const link = this.linkFor(body.clientId);
    const vars = {
      ...body.variables,
      clientId: body.clientId,
      subject: body.subject,
      period: body.period,
      link,
    };
    try {
      // The HTML gets the link as a token Handlebars leaves alone, then as an anchor.
      const anchor = `<a href="${attribute(link)}">${attribute(link)}</a>`;
      const html = t
        .html({ ...vars, link: LINK_TOKEN })
        .trim()
        .split(/\n{2,}/)
        .map((p) => `<p>${p.replace(/\n/g, '<br>\n')}</p>`)
        .join('\n')
        .split(LINK_TOKEN)
        .join(anchor);
      // A header is one line, whatever a client's name holds.
      const subject = t
        .subject(vars)
        .replace(/[\r\n]+/g, ' ')
        .trim();
      return { subject, text: t.text(vars), html };
    } catch (e) {
      return {
        code: 'email_invalid',
        message: `template ${body.template}.${language} failed to render: ${(e as Error).message}`,
        path: '/variables',
        expected: 'variables the template can render',
      };
    }
  }
}
