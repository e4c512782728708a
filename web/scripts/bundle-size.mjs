// After `vite build`: every file of web/dist with its raw and gzip size, and the totals — per
// page (what a browser downloads for /app/ and for GraphiQL) and for the whole build.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";

const dist = new URL("../dist/", import.meta.url).pathname;

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

const kb = (n) => `${(n / 1024).toFixed(1).padStart(9)} kB`;
const rows = files(dist)
  .filter((p) => !p.endsWith(".map"))
  .map((path) => {
    const body = readFileSync(path);
    return { name: relative(dist, path), raw: body.length, gzip: gzipSync(body, { level: 9 }).length };
  })
  .sort((a, b) => a.name.localeCompare(b.name));

/** The files a page pulls in: its HTML, then every asset it names, transitively (imports, CSS, workers). */
function closure(page) {
  const byName = new Map(rows.map((r) => [r.name, r]));
  const seen = new Set([page]);
  const queue = [page];
  while (queue.length) {
    const name = queue.pop();
    const text = readFileSync(join(dist, name), "utf8");
    for (const match of text.matchAll(/assets\/[A-Za-z0-9_.\-]+/g)) {
      const asset = match[0];
      if (byName.has(asset) && !seen.has(asset)) {
        seen.add(asset);
        if (/\.(js|css|html)$/.test(asset)) queue.push(asset);
      }
    }
  }
  return [...seen].map((n) => byName.get(n)).filter(Boolean);
}

const sum = (list) => list.reduce((acc, r) => ({ raw: acc.raw + r.raw, gzip: acc.gzip + r.gzip }), { raw: 0, gzip: 0 });
const width = Math.max(...rows.map((r) => r.name.length), 28);
const line = (name, t) => `${name.padEnd(width)} ${kb(t.raw)} │ gzip ${kb(t.gzip)}`;

console.log("\nProduction bundle (web/dist):");
for (const r of rows) console.log(line(r.name, r));
console.log("─".repeat(width + 34));
const app = sum(closure("index.html"));
const ide = sum(closure("graphiql.html"));
console.log(line("buyer app (/app/) total", app));
console.log(line("GraphiQL (/graphql) total", ide));
console.log(line("whole build total", sum(rows)));
