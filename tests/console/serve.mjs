// Serves host/console/ at /console/ the way the binary should, and proxies
// every other path to a running Tollgate. Used by the tests when the binary
// does not embed the console (yet), and by hand:
//   node tests/console/serve.mjs http://127.0.0.1:8080 [port]
import { createServer, request } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CONSOLE_DIR = fileURLToPath(new URL('../../host/console/', import.meta.url));

/** The content types the binary must send (see notes/console.md). */
export const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The headers the binary should send with console files. */
export const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

async function serveConsole(path, res) {
  if (path === '/console') {
    res.writeHead(308, { location: '/console/' }).end();
    return;
  }
  const relative = path === '/console/' ? 'index.html' : decodeURIComponent(path.slice('/console/'.length));
  const file = normalize(join(CONSOLE_DIR, relative));
  const type = CONTENT_TYPES[extname(file)];
  if (!file.startsWith(CONSOLE_DIR) || file.includes(`${sep}..${sep}`) || !type) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    return;
  }
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': type, ...SECURITY_HEADERS }).end(body);
  } catch {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  }
}

/** Start on 127.0.0.1:port (0: any free port); resolves to {url, close}. */
export function startConsoleServer(upstream, port = 0) {
  const target = new URL(upstream);
  const server = createServer((req, res) => {
    const path = req.url.split('?')[0];
    if (path === '/console' || path.startsWith('/console/')) {
      serveConsole(path, res);
      return;
    }
    const proxied = request({
      host: target.hostname, port: target.port, method: req.method, path: req.url,
      headers: { ...req.headers, host: target.host },
    }, (up) => {
      res.writeHead(up.statusCode, up.headers);
      up.pipe(res);
    });
    proxied.on('error', (e) => res.writeHead(502, { 'content-type': 'text/plain' }).end(`proxy: ${e.message}`));
    req.pipe(proxied);
  });
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => {
      resolve({ url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [upstream = 'http://127.0.0.1:8080', port = '8090'] = process.argv.slice(2);
  const { url } = await startConsoleServer(upstream, Number(port));
  console.log(`console at ${url}/console/ (API proxied to ${upstream})`);
}
