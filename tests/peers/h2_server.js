// An HTTPS server that speaks HTTP/2 only (no HTTP/1.1 fallback), on Node's own http2.
// node tests/peers/h2_server.js ROOT CERT KEY -> prints "READY <port>" once it listens.
// Serves the files under ROOT with ETag and byte ranges; "?early" sends a 103 first;
// "/redirect/<path>" answers 302 to "/<path>".
"use strict";
const fs = require("fs");
const http2 = require("http2");
const path = require("path");

const [root, cert, key] = process.argv.slice(2);
const server = http2.createSecureServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) });

server.on("stream", (stream, headers) => {
  const url = new URL(headers[":path"], "https://peer");
  if (url.pathname.startsWith("/redirect/")) {
    stream.respond({ ":status": 302, location: url.pathname.slice("/redirect".length) });
    stream.end();
    return;
  }
  const file = path.join(root, path.normalize(decodeURIComponent(url.pathname)));
  if (!file.startsWith(root) || !fs.existsSync(file)) {
    stream.respond({ ":status": 404 });
    stream.end();
    return;
  }
  if (url.searchParams.has("early")) {
    stream.additionalHeaders({ ":status": 103, link: "</style.css>; rel=preload" });
  }
  const data = fs.readFileSync(file);
  const common = { "accept-ranges": "bytes", etag: '"v1"' };
  const range = /^bytes=(\d+)-(\d*)$/.exec(headers.range || "");
  if (range && (!headers["if-range"] || headers["if-range"] === '"v1"')) {
    const start = Number(range[1]);
    const end = range[2] ? Number(range[2]) : data.length - 1;
    stream.respond({
      ":status": 206,
      "content-range": `bytes ${start}-${end}/${data.length}`,
      "content-length": end - start + 1,
      ...common,
    });
    stream.end(data.subarray(start, end + 1));
    return;
  }
  stream.respond({ ":status": 200, "content-length": data.length, ...common });
  stream.end(data);
});

server.listen(0, "127.0.0.1", () => console.log(`READY ${server.address().port}`));
