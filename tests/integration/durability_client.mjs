// durability_client.mjs - the load generator and the log checker of the
// durability tests (tests/integration/durability_*_test.sh).
//
// Node builtins only (fetch, crypto): the checks below are written from RFC
// 9162 (Merkle proofs) and C2SP signed-note / tlog-checkpoint, independently
// of vledger's C code, so that a bug there cannot hide itself.
//
//   node durability_client.mjs load --url URL[,URL...] --token-file F --out RECEIPTS.jsonl
//        [--events EVENTS.jsonl] [--kind org|shift] [--concurrency N] [--duration-ms N]
//        [--timeout-ms N] [--client-timeout-ms N] [--prefix P] [--setup SETUP.json]
//        [--max-keys N]
//     Writes until SIGTERM (or --duration-ms). Every write has an idempotency
//     key and is retried with that same key until it succeeds (or the client
//     stops), as a careful client would. Each receipt is appended to --out as
//     soon as it arrives: what the server acknowledged, even if it is killed a
//     moment later. --events gets one line per attempt (key, start, end, ms,
//     outcome) for the tests that judge latency and error codes.
//   node durability_client.mjs setup-shifts --url URL --token-file F --out SETUP.json
//     An organisation tree and one volunteer per load worker for --kind shift.
//   node durability_client.mjs verify --url URL --vkey VKEY RECEIPTS.jsonl...
//     Checks every receipt against the log as it is now (see verify()).
import { createHash, createPublicKey, verify as edVerify } from "node:crypto";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";

const argv = process.argv.slice(2);
const command = argv.shift();
const opts = {};
const rest = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i].startsWith("--")) opts[argv[i].slice(2)] = argv[++i];
  else rest.push(argv[i]);
}
const die = (msg) => {
  console.error(`durability_client: ${msg}`);
  process.exit(1);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------
// Connect unary over JSON. Returns {ok, body} or {ok:false, code, message}.
// A transport failure (refused, reset, client-side timeout) is code
// "network" or "client_timeout": the server never answered.

async function call(url, procedure, body, { token, timeoutMs, clientTimeoutMs } = {}) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (timeoutMs) headers["Connect-Timeout-Ms"] = String(timeoutMs);
  const signal = clientTimeoutMs ? AbortSignal.timeout(clientTimeoutMs) : undefined;
  let res;
  let text;
  try {
    res = await fetch(`${url}/${procedure}`, { method: "POST", headers, body: JSON.stringify(body), signal });
    text = await res.text();
  } catch (e) {
    if (e.name === "TimeoutError" || e.name === "AbortError") return { ok: false, code: "client_timeout", message: String(e) };
    return { ok: false, code: "network", message: String(e.cause ?? e) };
  }
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, code: "bad_response", message: `HTTP ${res.status}: ${text.slice(0, 200)}` };
  }
  if (res.status !== 200) return { ok: false, code: json.code ?? `http_${res.status}`, message: json.message ?? "" };
  return { ok: true, body: json };
}

async function mustCall(url, procedure, body, token) {
  const r = await call(url, procedure, body, { token, clientTimeoutMs: 30000 });
  if (!r.ok) die(`${procedure}: ${r.code}: ${r.message}`);
  return r.body;
}

// ---------------------------------------------------------------------------
// Load.

const HOUR = 3600e3;

function writeRequest(kind, key, setup, worker, seq) {
  if (kind === "org") {
    // The name carries the key so that the tests can count rows per key.
    return ["vledger.v1.AdminService/CreateOrganization", { name: `dur ${key}`, kind: "ORGANIZATION_KIND_EMPLOYER", idempotencyKey: key }];
  }
  // One volunteer per worker and a fresh hour per key, 30 days back: no two
  // keys' shifts overlap, so only a duplicate of one key could collide.
  return ["vledger.v1.RecordsService/RecordShift", shiftBody(setup, worker, setup.base - (seq + 1) * 2 * HOUR, key)];
}

// A one-hour RecordShift from `start` (ms) for volunteer number `volunteer`
// of the setup, named after its key.
function shiftBody(setup, volunteer, start, key) {
  return {
    volunteerId: setup.volunteers[volunteer % setup.volunteers.length],
    organizationId: setup.team,
    category: "SHIFT_CATEGORY_ELDERLY_CARE",
    startTime: new Date(start).toISOString(),
    endTime: new Date(start + HOUR).toISOString(),
    activity: `dur ${key}`,
    place: "durability test",
    idempotencyKey: key,
  };
}

// Codes after which retrying the same key is the right thing to do. Anything
// else on a write the test built to be valid is a bug and stops the run.
const RETRYABLE = new Set(["unavailable", "deadline_exceeded", "aborted", "resource_exhausted", "network", "client_timeout"]);

async function load() {
  const urls = (opts.url ?? die("--url")).split(",");
  const token = readFileSync(opts["token-file"] ?? die("--token-file"), "utf8").trim();
  const out = opts.out ?? die("--out");
  const kind = opts.kind ?? "org";
  const concurrency = Number(opts.concurrency ?? 16);
  // --timeout-ms N, or LO-HI: a random deadline in [LO, HI] per attempt,
  // HI doubling after every 5 attempts of one key so that each key does get
  // through in the end.
  const [lo, hi] = String(opts["timeout-ms"] ?? "0").split("-").map(Number);
  const timeoutFor = (attempt) => {
    if (hi === undefined) return lo;
    const top = hi * 2 ** Math.floor(attempt / 5);
    return Math.round(lo + Math.random() * (top - lo));
  };
  const clientTimeoutMs = Number(opts["client-timeout-ms"] ?? 15000);
  const prefix = opts.prefix ?? `k${process.pid}`;
  const maxKeys = Number(opts["max-keys"] ?? Infinity);
  const setup = kind === "shift" ? JSON.parse(readFileSync(opts.setup ?? die("--setup"), "utf8")) : null;
  const events = [];
  const stats = { acked: 0, attempts: 0, byCode: {} };
  let stopping = false;
  let fatal = null;
  let keysStarted = 0;
  process.on("SIGTERM", () => (stopping = true));
  if (opts["duration-ms"]) setTimeout(() => (stopping = true), Number(opts["duration-ms"]));
  writeFileSync(out, "");

  async function worker(w) {
    for (let seq = 0; !stopping && !fatal && keysStarted < maxKeys; seq++) {
      keysStarted++;
      const key = `${prefix}-${w}-${seq}`;
      const [procedure, body] = writeRequest(kind, key, setup, w, seq);
      for (let attempt = 0; !fatal; attempt++) {
        const url = urls[(w + attempt) % urls.length];
        const t0 = Date.now();
        const r = await call(url, procedure, body, { token, timeoutMs: timeoutFor(attempt), clientTimeoutMs });
        const t1 = Date.now();
        stats.attempts++;
        const outcome = r.ok ? "ok" : r.code;
        stats.byCode[outcome] = (stats.byCode[outcome] ?? 0) + 1;
        events.push({ key, attempt, url, t0, t1, ms: t1 - t0, outcome, message: r.ok ? undefined : r.message });
        if (r.ok) {
          const rc = r.body.receipt;
          if (!rc) {
            fatal = `${key}: answer without a receipt`;
            break;
          }
          appendFileSync(out, JSON.stringify({ key, url, ...rc }) + "\n");
          stats.acked++;
          break;
        }
        if (!RETRYABLE.has(r.code)) {
          fatal = `${key} attempt ${attempt}: ${r.code}: ${r.message}`;
          break;
        }
        // An unacknowledged key is abandoned only when the run ends.
        if (stopping) break;
        await sleep(r.code === "deadline_exceeded" ? 0 : 20 + Math.random() * 60);
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  if (opts.events) writeFileSync(opts.events, events.map((e) => JSON.stringify(e)).join("\n") + "\n");
  console.log(JSON.stringify(stats));
  if (fatal) die(`write failed for good: ${fatal}`);
}

async function setupShifts() {
  const url = opts.url ?? die("--url");
  const token = readFileSync(opts["token-file"] ?? die("--token-file"), "utf8").trim();
  const n = Number(opts.volunteers ?? 32);
  const tag = `${process.pid}-${Date.now()}`;
  const org = async (name, kind, parentId) =>
    (await mustCall(url, "vledger.v1.AdminService/CreateOrganization", { name: `${name} ${tag}`, kind, parentId, idempotencyKey: `setup-${name}-${tag}` }, token)).organization.id;
  const district = await org("district", "ORGANIZATION_KIND_DISTRICT");
  const subdistrict = await org("subdistrict", "ORGANIZATION_KIND_SUBDISTRICT", district);
  const community = await org("community", "ORGANIZATION_KIND_COMMUNITY", subdistrict);
  const team = await org("team", "ORGANIZATION_KIND_TEAM", community);
  const volunteers = [];
  for (let i = 0; i < n; i++) {
    const r = await mustCall(url, "vledger.v1.VolunteerService/RegisterVolunteer",
      { organizationId: team, personalData: { name: `Durability ${i}` }, idempotencyKey: `setup-vol-${i}-${tag}` }, token);
    volunteers.push(r.volunteer.id);
  }
  // Whole hours, well inside --backdate-days for the 30 days of shifts.
  const base = Math.floor(Date.now() / HOUR) * HOUR - HOUR;
  writeFileSync(opts.out ?? die("--out"), JSON.stringify({ team, volunteers, base }));
}

// ---------------------------------------------------------------------------
// RFC 9162 / C2SP checks.

const sha256 = (...parts) => createHash("sha256").update(Buffer.concat(parts)).digest();
const leafHash = (entry) => sha256(Buffer.from([0]), entry);
const nodeHash = (l, r) => sha256(Buffer.from([1]), l, r);
const b64 = (s) => Buffer.from(s, "base64");
const half = (n) => Math.floor(n / 2);
const odd = (n) => n % 2 === 1;

// RFC 9162 2.1.3.2.
function verifyInclusion(index, size, leaf, proof, root) {
  if (index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!odd(fn)) while (!odd(fn) && fn !== 0) { fn = half(fn); sn = half(sn); }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && r.equals(root);
}

// RFC 9162 2.1.4.2.
function verifyConsistency(first, second, firstRoot, secondRoot, proof) {
  if (first > second) return false;
  if (first === second) return proof.length === 0 && firstRoot.equals(secondRoot);
  if (first === 0) return proof.length === 0;
  let path = proof;
  if ((first & (first - 1)) === 0) path = [firstRoot, ...proof];
  if (path.length === 0) return false;
  let fn = first - 1;
  let sn = second - 1;
  while (odd(fn)) { fn = half(fn); sn = half(sn); }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!odd(fn)) while (!odd(fn) && fn !== 0) { fn = half(fn); sn = half(sn); }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return fr.equals(firstRoot) && sr.equals(secondRoot) && sn === 0;
}

// RFC 9162 2.1.1: the roots of every prefix of a list of leaf hashes,
// roots[n] for the first n leaves. The tree of n leaves is its perfect
// subtrees of decreasing size (the binary digits of n) folded from the
// right, so one pass that keeps those subtrees does all n in O(n log n).
function prefixRoots(leaves) {
  const roots = [sha256()];
  const stack = []; // [hash, size], sizes strictly decreasing
  for (const leaf of leaves) {
    let node = [leaf, 1];
    while (stack.length && stack[stack.length - 1][1] === node[1]) {
      const [left, size] = stack.pop();
      node = [nodeHash(left, node[0]), size * 2];
    }
    stack.push(node);
    let root = stack[stack.length - 1][0];
    for (let i = stack.length - 2; i >= 0; i--) root = nodeHash(stack[i][0], root);
    roots.push(root);
  }
  return roots;
}

// C2SP signed-note verifier key "<name>+<hex key id>+<base64(0x01 || Ed25519 public key)>".
function parseVkey(text) {
  // The base64 key may itself contain '+': split at the first two only.
  const m = /^([^+]+)\+([0-9a-f]{8})\+(.+)$/.exec(text.trim());
  if (!m) die("vkey: not <name>+<key id>+<key>");
  const [, name, id, keyB64] = m;
  const raw = b64(keyB64);
  if (raw[0] !== 1 || raw.length !== 33) die("vkey: not an Ed25519 verifier key");
  const expectId = sha256(Buffer.from(`${name}\n`), raw).subarray(0, 4);
  if (expectId.toString("hex") !== id) die("vkey: key id does not match the key");
  const key = createPublicKey({ key: Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), raw.subarray(1)]), format: "der", type: "spki" });
  return { name, id: expectId, key };
}

// A C2SP tlog-checkpoint signed by `vkey`: returns {size, root} or throws.
function openCheckpoint(note, vkey) {
  const sep = note.indexOf("\n\n");
  if (sep < 0) throw new Error("checkpoint: no signature block");
  const body = note.slice(0, sep + 1);
  let signed = false;
  for (const line of note.slice(sep + 2).split("\n")) {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m || m[1] !== vkey.name) continue;
    const sig = b64(m[2]);
    if (sig.length === 68 && sig.subarray(0, 4).equals(vkey.id) && edVerify(null, Buffer.from(body), vkey.key, sig.subarray(4))) signed = true;
  }
  if (!signed) throw new Error("checkpoint: no valid signature by the log's key");
  const lines = body.split("\n");
  if (lines[0] !== vkey.name) throw new Error(`checkpoint: origin ${lines[0]}`);
  return { size: Number(lines[1]), root: b64(lines[2]) };
}

async function pool(items, n, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

async function verify() {
  const url = opts.url ?? die("--url");
  const vkey = parseVkey(readFileSync(opts.vkey ?? die("--vkey"), "utf8"));
  const errors = [];
  const bad = (m) => {
    errors.push(m);
    if (errors.length <= 20) console.error(`  ${m}`);
  };
  const LOG = "vledger.v1.LogService";

  const t0 = Date.now();
  const lap = (what) => process.env.DUR_VERBOSE && console.error(`  verify: ${what} at ${Date.now() - t0} ms`);
  const cp = await mustCall(url, `${LOG}/GetCheckpoint`, {});
  const now = openCheckpoint(cp.checkpoint, vkey);
  if (Number(cp.treeSize) !== now.size) bad("GetCheckpoint: treeSize differs from the signed note");

  // 1. Every receipt on its own, offline: signed checkpoint, leaf hash of
  //    the entry, inclusion under that checkpoint.
  const receipts = rest.flatMap((f) => readFileSync(f, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)));
  const rootAt = new Map(); // tree size -> root, from every checkpoint seen
  const keyAt = new Map(); // leaf index -> key
  const indexOf = new Map(); // key -> leaf index
  const byKey = new Map(); // key -> a receipt
  const noteRoot = (size, root, where) => {
    const seen = rootAt.get(size);
    if (seen && !seen.equals(root)) bad(`fork: two signed roots for tree size ${size} (${where})`);
    rootAt.set(size, root);
  };
  noteRoot(now.size, now.root, "latest checkpoint");
  for (const r of receipts) {
    const idx = Number(r.leafIndex ?? 0);
    let c;
    try {
      c = openCheckpoint(r.checkpoint, vkey);
    } catch (e) {
      bad(`${r.key}: ${e.message}`);
      continue;
    }
    if (c.size !== Number(r.treeSize)) bad(`${r.key}: treeSize ${r.treeSize} but its checkpoint says ${c.size}`);
    noteRoot(c.size, c.root, r.key);
    const lh = leafHash(b64(r.entry));
    if (!lh.equals(b64(r.leafHash))) bad(`${r.key}: leafHash is not the hash of the entry`);
    if (!verifyInclusion(idx, c.size, lh, (r.inclusionProof ?? []).map(b64), c.root)) bad(`${r.key}: inclusion proof fails against its own checkpoint`);
    if (c.size > now.size) bad(`${r.key}: receipt's tree size ${c.size} is beyond the log's ${now.size}: acknowledged entries were lost`);
    // One key, one entry: a retry must get the first receipt back.
    if (indexOf.has(r.key) && indexOf.get(r.key) !== idx) bad(`duplicate: key ${r.key} acknowledged at indexes ${indexOf.get(r.key)} and ${idx}`);
    indexOf.set(r.key, idx);
    byKey.set(r.key, r);
    if (keyAt.has(idx) && keyAt.get(idx) !== r.key) bad(`index ${idx} acknowledged to two keys, ${keyAt.get(idx)} and ${r.key}`);
    keyAt.set(idx, r.key);
  }

  lap("receipts checked offline");
  // 2. The whole log now: entries 0..size-1 all there (no gap), each leaf
  //    hash right, and their tree's root is the signed root.
  const leaves = [];
  const entries = [];
  for (let start = 0; start < now.size; start += 1000) {
    const end = Math.min(start + 1000, now.size);
    const page = await mustCall(url, `${LOG}/GetEntries`, { start: String(start), end: String(end) });
    const got = page.entries ?? [];
    if (got.length !== end - start) bad(`GetEntries [${start}, ${end}): ${got.length} entries: the log has a gap`);
    for (const e of got) {
      const i = Number(e.leafIndex ?? 0);
      if (i !== leaves.length) {
        bad(`GetEntries: index ${i} where ${leaves.length} was expected`);
        break;
      }
      const entry = b64(e.entry);
      const lh = leafHash(entry);
      if (!lh.equals(b64(e.leafHash))) bad(`entry ${i}: stored leaf hash is not the entry's hash`);
      leaves.push(lh);
      entries.push(entry);
    }
  }
  // The latest signed root, and every smaller one a receipt carried, must be
  // the root of that prefix of today's entries: no fork, nothing rewritten.
  const roots = prefixRoots(leaves);
  for (const [size, root] of rootAt) {
    if (size <= leaves.length && !roots[size].equals(root)) bad(`the signed root of size ${size} is not the root of the first ${size} entries`);
  }

  lap("entries fetched and hashed");
  // 3. Each receipt's entry is at its index.
  for (const r of receipts) {
    const idx = Number(r.leafIndex ?? 0);
    if (idx >= entries.length) bad(`${r.key}: acknowledged at index ${idx}, the log has ${entries.length} entries: lost`);
    else if (!entries[idx].equals(b64(r.entry))) bad(`${r.key}: the entry at index ${idx} is not the one acknowledged`);
  }

  // 4. Through the server's proofs: consistency from every receipt's
  //    checkpoint to the latest one, and inclusion in the latest one. Steps
  //    2 and 3 already prove every receipt's entry is in the latest tree at
  //    its index (its root was recomputed from the entries), so inclusion
  //    proofs are asked for a sample only: the newest receipt and 100 at
  //    random.
  // (A size beyond the log's was reported as lost above.)
  const sizes = [...rootAt.keys()].filter((s) => s < now.size);
  await pool(sizes, 16, async (size) => {
    const p = await mustCall(url, `${LOG}/GetConsistencyProof`, { fromSize: String(size), toSize: String(now.size) });
    if (!verifyConsistency(size, now.size, rootAt.get(size), now.root, (p.hashes ?? []).map(b64))) bad(`consistency proof ${size} -> ${now.size} fails`);
  });
  lap("consistency proofs");
  const all = [...keyAt.entries()];
  const sample = new Map(all.sort(() => Math.random() - 0.5).slice(0, 100));
  for (const r of receipts.slice(-1)) sample.set(Number(r.leafIndex ?? 0), r.key);
  await pool([...sample.entries()], 16, async ([idx, key]) => {
    const p = await mustCall(url, `${LOG}/GetInclusionProof`, { leafIndex: String(idx), treeSize: String(now.size) });
    const r = byKey.get(key);
    if (!verifyInclusion(idx, now.size, b64(r.leafHash), (p.hashes ?? []).map(b64), now.root)) bad(`${key}: inclusion proof of index ${idx} in size ${now.size} fails`);
  });

  lap("inclusion proofs");
  console.log(JSON.stringify({ receipts: receipts.length, keys: indexOf.size, treeSize: now.size, checkpoints: rootAt.size, errors: errors.length }));
  if (errors.length) die(`${errors.length} problems in the log`);
}

// ---------------------------------------------------------------------------
// Reports over a load run's --events.

const readEvents = (f) => readFileSync(f, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
const describe = (e) => `${e.key} attempt ${e.attempt}: ${e.outcome} after ${e.ms} ms${e.message ? ` (${e.message})` : ""}`;

// The database was stopped at --stop (ms since the epoch), gone by --down
// and back (accepting connections) at --up. Every call answered within its
// deadline plus --slack-ms; every failure unavailable, none a hang, a
// dropped connection (a crash) or another code; nothing succeeded while the
// database was down; writes succeed again within --recover-ms of --up.
function outageReport() {
  const events = readEvents(opts.events ?? die("--events"));
  const [stop, down, up] = ["stop", "down", "up"].map((k) => Number(opts[k] ?? die(`--${k}`)));
  const limit = Number(opts["timeout-ms"] ?? die("--timeout-ms")) + Number(opts["slack-ms"] ?? 1000);
  const recoverMs = Number(opts["recover-ms"] ?? 5000);
  const problems = [];
  let failedInOutage = 0;
  let okAfter = 0;
  let firstOkAfter = Infinity;
  let slowest = events[0];
  for (const e of events) {
    if (e.ms > slowest.ms) slowest = e;
    if (e.ms > limit) problems.push(`slow (over ${limit} ms): ${describe(e)}`);
    if (e.outcome !== "ok" && e.outcome !== "unavailable") problems.push(`not unavailable: ${describe(e)}`);
    if (e.outcome === "unavailable" && e.t1 < stop) problems.push(`failed before the outage: ${describe(e)}`);
    if (e.t0 >= down && e.t1 <= up) {
      if (e.outcome === "ok") problems.push(`succeeded with the database down: ${describe(e)}`);
      else failedInOutage++;
    }
    if (e.outcome === "ok" && e.t1 >= up) {
      okAfter++;
      firstOkAfter = Math.min(firstOkAfter, e.t1);
    }
  }
  const recovered = firstOkAfter - up;
  if (failedInOutage < 20) problems.push(`only ${failedInOutage} calls failed during the outage: was there load?`);
  if (okAfter < 20) problems.push(`only ${okAfter} calls succeeded after the database came back`);
  else if (recovered > recoverMs) problems.push(`first success ${recovered} ms after the database came back (limit ${recoverMs})`);
  console.log(JSON.stringify({ calls: events.length, failedInOutage, okAfter, recoveredMs: recovered, slowest: describe(slowest), slowestAt: slowest.t0 - down }));
  if (problems.length) {
    for (const p of problems.slice(0, 20)) console.error(`  ${p}`);
    die(`${problems.length} problems`);
  }
}

// How the retries went: keys, attempts that timed out, and keys whose
// acknowledged entry was written before the attempt that got the receipt
// started (a timed-out attempt had committed after all, and the retry got
// its answer back instead of writing again). Fails if nothing timed out:
// then the run did not test retries.
function retryReport() {
  const events = readEvents(opts.events ?? die("--events"));
  const receipts = readEvents(opts.receipts ?? die("--receipts"));
  const lastStart = new Map();
  const timedOut = new Set();
  let deadline = 0;
  for (const e of events) {
    if (e.outcome === "ok") lastStart.set(e.key, e.t0);
    if (e.outcome === "deadline_exceeded") {
      deadline++;
      timedOut.add(e.key);
    }
  }
  let replays = 0;
  for (const r of receipts) {
    const written = Date.parse(JSON.parse(b64(r.entry).toString("utf8")).time);
    // Entry times are whole seconds or finer; 1 s of slack either way.
    if (timedOut.has(r.key) && written < lastStart.get(r.key) - 1000) replays++;
  }
  console.log(JSON.stringify({ keys: lastStart.size, attempts: events.length, deadlineExceeded: deadline, keysRetried: timedOut.size, replaysSeen: replays }));
  if (deadline === 0) die("no attempt timed out: the deadlines were too generous to test retries");
}

// Overload: beyond capacity calls are refused fast with resource_exhausted
// (or unavailable), with a message that says so; the calls let in are
// answered within --max-ok-ms (the queue ahead of them is bounded); no call
// times out, hangs or loses its connection.
function overloadReport() {
  const events = readEvents(opts.events ?? die("--events"));
  const maxRefusalMs = Number(opts["max-refusal-ms"] ?? 1000);
  const maxOkMs = Number(opts["max-ok-ms"] ?? 5000);
  const problems = [];
  const refusals = [];
  const oks = [];
  for (const e of events) {
    if (e.outcome === "ok") oks.push(e.ms);
    else if (e.outcome === "resource_exhausted" || e.outcome === "unavailable") {
      refusals.push(e.ms);
      if (!/overloaded|--max-queued-jobs/.test(e.message ?? "")) problems.push(`refusal without a reason: ${describe(e)}`);
    } else problems.push(`neither served nor refused: ${describe(e)}`);
  }
  const pct = (xs, p) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] : 0);
  const summary = {
    calls: events.length, ok: oks.length, refused: refusals.length,
    refusalMs: { p50: pct(refusals, 0.5), p99: pct(refusals, 0.99), max: pct(refusals, 1) },
    okMs: { p50: pct(oks, 0.5), p99: pct(oks, 0.99), max: pct(oks, 1) },
  };
  console.log(JSON.stringify(summary));
  if (refusals.length < 100) problems.push(`only ${refusals.length} calls refused: the server queued everything`);
  if (oks.length < 50) problems.push(`only ${oks.length} calls served under overload`);
  if (summary.refusalMs.p99 > maxRefusalMs) problems.push(`refusals are slow: p99 ${summary.refusalMs.p99} ms (limit ${maxRefusalMs})`);
  if (summary.okMs.max > maxOkMs) problems.push(`a served call waited ${summary.okMs.max} ms (limit ${maxOkMs}): the queue is not bounded`);
  if (problems.length) {
    for (const p of problems.slice(0, 20)) console.error(`  ${p}`);
    die(`${problems.length} problems`);
  }
}

// same-key: every key's RecordShift sent to every --url at the same moment,
// so that two processes run it at once. Each answer must succeed and all
// must name the same shift at the same leaf index. --conflict: a different
// request per process under the one key.
async function sameKey() {
  const urls = (opts.url ?? die("--url")).split(",");
  const token = readFileSync(opts["token-file"] ?? die("--token-file"), "utf8").trim();
  const setup = JSON.parse(readFileSync(opts.setup ?? die("--setup"), "utf8"));
  const keys = Number(opts.keys ?? 40);
  const prefix = opts.prefix ?? `same${process.pid}`;
  for (let k = 0; k < keys; k++) {
    const key = `${prefix}-${k}`;
    // 40 days back and on (--conflict: 50): clear of the load's shifts and
    // of each other.
    const start = setup.base - (opts.conflict ? 50 : 40) * 24 * HOUR - k * 2 * HOUR;
    const body = shiftBody(setup, k, start, key);
    if (!opts.conflict) {
      const answers = await Promise.all(urls.map((u) => call(u, "vledger.v1.RecordsService/RecordShift", body, { token, clientTimeoutMs: 30000 })));
      for (const a of answers) if (!a.ok) die(`${key}: ${a.code}: ${a.message}`);
      const ids = new Set(answers.map((a) => `${a.body.shift.id}@${a.body.receipt.leafIndex}`));
      if (ids.size !== 1) die(`${key}: the processes answered different shifts: ${[...ids].join(", ")}`);
      continue;
    }
    // --conflict: one key, a different request (another volunteer) per
    // process: exactly one is recorded, every other is already_exists.
    const answers = await Promise.all(urls.map((u, j) => call(u, "vledger.v1.RecordsService/RecordShift",
      shiftBody(setup, k + j, start, key), { token, clientTimeoutMs: 30000 })));
    const ok = answers.filter((a) => a.ok).length;
    const refused = answers.filter((a) => !a.ok && a.code === "already_exists").length;
    if (ok !== 1 || refused !== urls.length - 1)
      die(`${key}: want one recorded and the rest already_exists, got ${answers.map((a) => (a.ok ? "ok" : `${a.code}: ${a.message}`)).join("; ")}`);
  }
  console.log(`same-key: ${keys} keys, each sent to ${urls.length} processes at once${opts.conflict ? " as different requests" : ""}`);
}

const commands = { "overload-report": overloadReport, load, "same-key": sameKey, "setup-shifts": setupShifts, verify, "outage-report": outageReport, "retry-report": retryReport };
if (!commands[command]) die(`unknown command ${command}`);
await commands[command]();
