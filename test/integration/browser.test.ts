/**
 * Segment's browser library (`@segment/analytics-next`, its UMD build served from
 * localhost) in headless Chromium, pointed at the gateway: page and track calls are stored.
 * Chromium is Debian's, installed by the test itself when missing (the project's promise:
 * nothing installed by hand).
 */
import { createReadStream, existsSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aptInstall, which } from '../../deploy/services/process.js';
import { createKey } from '../../pipeline/adapters/http/write-keys.js';
import { gatewayWorld } from '../support/gateway.js';

const UMD = join(process.cwd(), 'node_modules', '@segment', 'analytics-next', 'dist', 'umd');

/** Debian's Chromium, installed with apt-get the first time. */
function chromiumPath(): string {
  let bin = which('chromium');
  if (!bin) {
    const why = aptInstall(['chromium'], true);
    if (why) throw new Error(`Chromium is needed for the browser test: ${why}`);
    bin = which('chromium');
  }
  if (!bin) throw new Error('chromium still not found after installing it');
  return bin;
}

describe('Segment’s browser library in headless Chromium', () => {
  const keysFile = join(mkdtempSync(join(tmpdir(), 'pulso-browser-')), 'keys.json');
  const g = gatewayWorld(keysFile);
  const world = g.world;
  let site: Server;
  let siteUrl = '';
  let browser: Browser;

  beforeAll(async () => {
    const executablePath = chromiumPath();
    // The page: the library's UMD build and one script that loads it against the gateway.
    site = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      if (path === '/') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(
          '<!doctype html><html><head><script src="/umd/index.js"></script></head><body>shop</body></html>',
        );
        return;
      }
      const file = normalize(join(UMD, path.replace(/^\/umd\//, '')));
      if (!file.startsWith(UMD) || !existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, {
        'content-type': extname(file) === '.js' ? 'text/javascript' : 'application/octet-stream',
      });
      createReadStream(file).pipe(res);
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    siteUrl = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
    browser = await chromium.launch({
      executablePath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 600_000);
  afterAll(async () => {
    await browser?.close();
    site?.close();
  });

  it('page and track calls from the browser are stored, the key limited to the page’s origin', async () => {
    const { key } = createKey(keysFile, 'web', [siteUrl]);
    await new Promise((r) => setTimeout(r, 1100)); // the gateway re-reads its keys file
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on('request', (r) => {
      if (r.url().startsWith(g.gateway.url)) requests.push(new URL(r.url()).pathname);
    });
    await page.goto(siteUrl);
    const apiHost = g.gateway.url.replace(/^http:\/\//, '') + '/v1';
    await page.evaluate(
      async ({ writeKey, apiHost }) => {
        const w = globalThis as unknown as {
          AnalyticsNext: {
            AnalyticsBrowser: {
              load(
                settings: unknown,
                options?: unknown,
              ): Promise<
                [
                  {
                    page(...a: unknown[]): Promise<unknown>;
                    track(...a: unknown[]): Promise<unknown>;
                  },
                ]
              >;
            };
          };
        };
        const [analytics] = await w.AnalyticsNext.AnalyticsBrowser.load({
          writeKey,
          // No CDN here: the settings the CDN would give, pointing at the gateway.
          cdnSettings: {
            integrations: { 'Segment.io': { apiKey: writeKey, apiHost, protocol: 'http' } },
          },
        });
        await analytics.page('Pedidos', { client_id: 'browserco' });
        await analytics.track('Botão Clicado', { client_id: 'browserco' });
        await analytics.track('Signed In', { client_id: 'browserco' });
      },
      { writeKey: key, apiHost },
    );
    await world.caughtUp(60_000, g.pipeline);
    const rows = await world.sql.query<{ kind: string; name: string }>(
      `SELECT kind, name FROM events WHERE client_id = 'browserco' ORDER BY kind, name`,
    );
    expect(rows).toEqual([
      { kind: 'action', name: 'acao:botao_clicado' },
      { kind: 'login', name: 'login' },
      { kind: 'screen', name: 'tela:pedidos' },
    ]);
    // The library's own short paths, found by running it.
    expect(new Set(requests)).toEqual(new Set(['/v1/p', '/v1/t']));
    await page.close();
  });
});
