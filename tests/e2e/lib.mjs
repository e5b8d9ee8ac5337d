// Shared helpers for the vledgerd end-to-end tests: the registry built from
// the build's FileDescriptorSet, Connect clients over HTTP/1.1 (binary and
// JSON), raw HTTP helpers for what a well-behaved client never sends, and a
// `buf curl` runner.
//
// Environment (set by run.sh): VLEDGER_URL, VLEDGER_ADMIN_TOKEN,
// VLEDGER_STATE_DIR, VLEDGER_DESCRIPTOR_SET.

import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { createFileRegistry, fromBinary, toBinary, toJson, create } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema, timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";

export { Code, ConnectError, create, toBinary, toJson, timestampDate, timestampFromDate };

const here = path.dirname(fileURLToPath(import.meta.url));

function requireEnv(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run the tests through tests/e2e/run.sh)`);
  return v;
}

export const URL_BASE = requireEnv("VLEDGER_URL").replace(/\/+$/, "");
export const ADMIN_TOKEN = requireEnv("VLEDGER_ADMIN_TOKEN").trim();
export const STATE_DIR = requireEnv("VLEDGER_STATE_DIR");
export const DESCRIPTOR_SET = requireEnv("VLEDGER_DESCRIPTOR_SET");

// ---------------------------------------------------------------------------
// Schema: everything comes from the descriptor set the build wrote.

export const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(DESCRIPTOR_SET)));

function mustService(name) {
  const s = registry.getService(name);
  if (!s) throw new Error(`service ${name} not in ${DESCRIPTOR_SET}`);
  return s;
}
export function mustMessage(name) {
  const m = registry.getMessage(name);
  if (!m) throw new Error(`message ${name} not in ${DESCRIPTOR_SET}`);
  return m;
}
function enumValues(name) {
  const e = registry.getEnum(name);
  if (!e) throw new Error(`enum ${name} not in ${DESCRIPTOR_SET}`);
  const out = {};
  for (const v of e.values) out[v.name] = v.number;
  return out;
}

export const AdminService = mustService("vledger.v1.AdminService");
export const HealthService = mustService("grpc.health.v1.Health");

const kinds = enumValues("vledger.v1.OrganizationKind");
export const Kind = {
  UNSPECIFIED: kinds.ORGANIZATION_KIND_UNSPECIFIED,
  DISTRICT: kinds.ORGANIZATION_KIND_DISTRICT,
  SUBDISTRICT: kinds.ORGANIZATION_KIND_SUBDISTRICT,
  COMMUNITY: kinds.ORGANIZATION_KIND_COMMUNITY,
  TEAM: kinds.ORGANIZATION_KIND_TEAM,
  EMPLOYER: kinds.ORGANIZATION_KIND_EMPLOYER,
};
const roles = enumValues("vledger.v1.Role");
export const Role = {
  UNSPECIFIED: roles.ROLE_UNSPECIFIED,
  ADMIN: roles.ROLE_ADMIN,
  OFFICE: roles.ROLE_OFFICE,
  TEAM_LEADER: roles.ROLE_TEAM_LEADER,
  EMPLOYER: roles.ROLE_EMPLOYER,
  AUDITOR: roles.ROLE_AUDITOR,
};
export const ServingStatus = enumValues("grpc.health.v1.HealthCheckResponse.ServingStatus");

// ---------------------------------------------------------------------------
// Clients.

export const FORMATS = ["binary", "json"];

export function transport({ format = "binary", token, useHttpGet = true } = {}) {
  const interceptors = [];
  if (token !== undefined && token !== null) {
    interceptors.push((next) => async (req) => {
      req.header.set("Authorization", `Bearer ${token}`);
      return next(req);
    });
  }
  return createConnectTransport({
    baseUrl: URL_BASE,
    httpVersion: "1.1",
    useBinaryFormat: format === "binary",
    useHttpGet,
    interceptors,
  });
}

/** An AdminService client; token null/undefined sends no Authorization header. */
export function admin({ format = "binary", token = ADMIN_TOKEN, useHttpGet = true } = {}) {
  return createClient(AdminService, transport({ format, token, useHttpGet }));
}

export function health({ format = "binary", token = null } = {}) {
  return createClient(HealthService, transport({ format, token }));
}

// ---------------------------------------------------------------------------
// Small utilities.

export function uid(n = 6) {
  return randomBytes(n).toString("hex");
}

export function key(prefix = "k") {
  return `${prefix}-${uid(8)}`;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Asserts `promise` rejects with a ConnectError of `code`. When `fields` is
 * given (a JSON field name or a list of acceptable ones), the raw message must
 * name one of them as a whole word. `code` may be a list of acceptable codes.
 * Returns the error.
 */
export async function expectCode(promise, code, fields) {
  const codes = Array.isArray(code) ? code : [code];
  let err;
  let res;
  let ok = false;
  try {
    res = await promise;
    ok = true;
  } catch (e) {
    err = e;
  }
  if (ok) {
    assert.fail(`expected ConnectError ${codes.map((c) => Code[c]).join("|")}, got success: ${safeJson(res)}`);
  }
  assert.ok(err instanceof ConnectError, `expected a ConnectError, got ${err && err.stack}`);
  assert.ok(
    codes.includes(err.code),
    `expected code ${codes.map((c) => Code[c]).join("|")}, got ${Code[err.code]}: ${err.rawMessage}`,
  );
  if (fields !== undefined) {
    const list = Array.isArray(fields) ? fields : [fields];
    const ok = list.some((f) => new RegExp(`(^|[^A-Za-z0-9_])${f}([^A-Za-z0-9_]|$)`).test(err.rawMessage));
    assert.ok(ok, `expected the message to name ${list.join(" or ")}, got: ${JSON.stringify(err.rawMessage)}`);
  }
  return err;
}

export function safeJson(v) {
  try {
    return JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x));
  } catch {
    return String(v);
  }
}

/** Creates an organisation as `client` with a fresh idempotency key. */
export async function createOrg(client, { name, kind, parentId = "" }) {
  const res = await client.createOrganization({
    name: name ?? `org-${uid()}`,
    kind,
    parentId,
    idempotencyKey: key("org"),
  });
  assert.ok(res.organization, "response has no organization");
  return res.organization;
}

/** Creates a token as `client`; returns { token, secret }. */
export async function createToken(client, { organizationId = "", role, description = "", expireTime } = {}) {
  const req = { organizationId, role, description, idempotencyKey: key("tok") };
  if (expireTime) req.expireTime = expireTime;
  const res = await client.createToken(req);
  assert.ok(res.token, "response has no token");
  return { token: res.token, secret: res.secret };
}

/** Every organisation visible to `client` (walking all pages), optional parentId. */
export async function listAllOrgs(client, { parentId = "", pageSize = 500 } = {}) {
  const out = [];
  let pageToken = "";
  for (let i = 0; i < 10000; i++) {
    const res = await client.listOrganizations({ parentId, pageSize, pageToken });
    out.push(...res.organizations);
    if (!res.nextPageToken) return out;
    pageToken = res.nextPageToken;
  }
  throw new Error("ListOrganizations never ended");
}

export async function listAllTokens(client, { organizationId = "", pageSize = 500 } = {}) {
  const out = [];
  let pageToken = "";
  for (let i = 0; i < 10000; i++) {
    const res = await client.listTokens({ organizationId, pageSize, pageToken });
    out.push(...res.tokens);
    if (!res.nextPageToken) return out;
    pageToken = res.nextPageToken;
  }
  throw new Error("ListTokens never ended");
}

/** The number of organisations the bootstrap admin sees. */
export async function orgCount() {
  return (await listAllOrgs(admin())).length;
}

/** Asserts no organisation named `name` exists (as the bootstrap admin). */
export async function assertNoOrgNamed(name) {
  const all = await listAllOrgs(admin());
  const hits = all.filter((o) => o.name === name);
  assert.equal(hits.length, 0, `organisation ${JSON.stringify(name)} exists but must not: ${safeJson(hits)}`);
}

export function tsSeconds(ts) {
  return ts ? Number(ts.seconds) + ts.nanos / 1e9 : NaN;
}

// ---------------------------------------------------------------------------
// Raw HTTP (fetch; http.request for bodies the server may refuse half-way).

export const ADMIN_PATH = "/vledger.v1.AdminService";

/** POST with fetch. body: string | Buffer | Uint8Array. Returns {status, headers, text, json, bytes}. */
export async function rawPost(pathname, body, { contentType = "application/json", token = ADMIN_TOKEN, headers = {} } = {}) {
  const h = { "Content-Type": contentType, "Connect-Protocol-Version": "1", ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  const res = await fetch(URL_BASE + pathname, { method: "POST", headers: h, body });
  return readResponse(res);
}

export async function rawGet(pathAndQuery, { token = ADMIN_TOKEN, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  const res = await fetch(URL_BASE + pathAndQuery, { method: "GET", headers: h });
  return readResponse(res);
}

async function readResponse(res) {
  const bytes = Buffer.from(await res.arrayBuffer());
  const text = bytes.toString("utf8");
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, contentType: res.headers.get("content-type") || "", text, json, bytes };
}

/** Asserts a raw response is a Connect error with `code` and HTTP `status`. */
export function assertConnectErrorBody(res, code, status, field) {
  assert.equal(res.status, status, `HTTP status: body ${res.text.slice(0, 300)}`);
  assert.match(res.contentType, /^application\/json\b/, "error content-type");
  assert.ok(res.json && typeof res.json === "object", `error body is not JSON: ${res.text.slice(0, 300)}`);
  assert.equal(res.json.code, code, `error code in ${res.text.slice(0, 300)}`);
  if (field !== undefined) {
    assert.equal(typeof res.json.message, "string");
    assert.match(res.json.message, new RegExp(`(^|[^A-Za-z0-9_])${field}([^A-Za-z0-9_]|$)`));
  }
}

/**
 * POST a large body with node:http, writing it in chunks and stopping as soon
 * as a response arrives (the server may answer and close before reading it
 * all). chunked: no Content-Length. Returns {status, text, json} or throws if
 * no response came at all.
 */
export function postLarge(pathname, totalBytes, { contentType = "application/proto", token = ADMIN_TOKEN, chunked = false } = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(URL_BASE + pathname);
    const headers = { "Content-Type": contentType, "Connect-Protocol-Version": "1" };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (!chunked) headers["Content-Length"] = String(totalBytes);
    const agent = new http.Agent({ keepAlive: false });
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: "POST", headers, agent });
    let responded = false;
    let writeError = null;
    const timer = setTimeout(() => {
      req.destroy(new Error("no response within 15 s"));
    }, 15000);
    req.on("response", (res) => {
      responded = true;
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      const finish = () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString("utf8");
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode, contentType: res.headers["content-type"] || "", text, json });
      };
      res.on("end", finish);
      res.on("error", finish); // connection closed after the answer: keep what arrived
      res.on("aborted", finish);
    });
    req.on("error", (err) => {
      if (responded) return;
      writeError = err;
      // The connection may die while we are still writing but after the
      // answer is on its way; give the parser a moment to see it.
      setTimeout(() => {
        if (!responded) {
          clearTimeout(timer);
          reject(new Error(`no HTTP response to a ${totalBytes}-byte body: ${writeError.message}`));
        }
      }, 200);
    });
    req.flushHeaders();
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    let sent = 0;
    const pump = () => {
      while (!responded && !writeError && sent < totalBytes) {
        const n = Math.min(chunk.length, totalBytes - sent);
        sent += n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          req.once("drain", pump);
          return;
        }
      }
      if (!responded && !writeError && sent >= totalBytes) req.end();
    };
    // Let the server see the headers first (a server may refuse on Content-Length).
    setTimeout(pump, 50);
  });
}

// ---------------------------------------------------------------------------
// Manual protobuf encoding, for bytes a real encoder would never produce.

export function varint(n) {
  const out = [];
  let v = BigInt(n);
  if (v < 0n) v = (1n << 64n) + v;
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return Buffer.from(out);
}

export function fieldBytes(num, bytes) {
  const b = Buffer.from(bytes);
  return Buffer.concat([varint((num << 3) | 2), varint(b.length), b]);
}

export function fieldVarint(num, n) {
  return Buffer.concat([varint(num << 3), varint(n)]);
}

/** base64url without padding, as the Connect GET `message` parameter uses. */
export function b64url(buf) {
  return Buffer.from(buf).toString("base64").replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// ---------------------------------------------------------------------------
// buf curl.

export const BUF = path.join(here, "node_modules", ".bin", "buf");

/** Runs `buf curl ARGS`; resolves {code, stdout, stderr} (never rejects on exit status). */
export function bufCurl(args, { timeoutMs = 30000 } = {}) {
  return new Promise((resolve, reject) => {
    execFile(BUF, ["curl", ...args], { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== "number") return reject(err);
      resolve({ code: err ? err.code : 0, stdout, stderr });
    });
  });
}

// ---------------------------------------------------------------------------
// psql against the embedded PostgreSQL (Unix socket in STATE_DIR/pg/run).

export const PSQL = process.env.VLEDGER_PSQL || "/usr/bin/psql";
export const PG_CONNINFO = `host=${path.join(STATE_DIR, "pg", "run")} dbname=vledger user=vledger`;

/**
 * Starts `psql -c SQL` in the background. Resolves `locked` once psql has
 * printed `marker` (the lock is then held); `done` when psql exits.
 */
export function psqlBackground(sql, marker) {
  const child = spawn(PSQL, ["-X", "-v", "ON_ERROR_STOP=1", "-At", PG_CONNINFO], { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  let lockedResolve, lockedReject;
  const locked = new Promise((res, rej) => {
    lockedResolve = res;
    lockedReject = rej;
  });
  child.stdout.on("data", (d) => {
    out += d;
    if (out.includes(marker)) lockedResolve();
  });
  locked.catch(() => {}); // awaited by the caller; never an unhandled rejection
  child.stderr.on("data", (d) => (err += d));
  const done = new Promise((resolve) => {
    child.on("exit", (code) => {
      lockedReject(new Error(`psql exited (${code}) before the lock was held: ${err}`));
      resolve({ code, out, err });
    });
  });
  child.stdin.end(sql);
  return { child, locked, done };
}

// ---------------------------------------------------------------------------
// Any service's client, the log's size, one-shot psql queries, receipt
// entries, and an organisation tree with a token for every role.

/** A client of `serviceName` (e.g. "vledger.v1.RecordsService"); token null sends none. */
export function serviceClient(serviceName, { format = "binary", token = ADMIN_TOKEN, useHttpGet = true } = {}) {
  return createClient(mustService(serviceName), transport({ format, token, useHttpGet }));
}

/** The log's tree size from LogService/GetCheckpoint (public, no token). */
export async function logTreeSize() {
  const res = await serviceClient("vledger.v1.LogService", { token: null }).getCheckpoint({});
  return Number(res.treeSize);
}

/** Runs one SQL statement with psql against the embedded database; resolves its trimmed -At output. */
export function psqlQuery(sql, { timeoutMs = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    execFile(PSQL, ["-X", "-At", "-v", "ON_ERROR_STOP=1", PG_CONNINFO, "-c", sql], { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`psql: ${err.message} ${stderr}`));
      else resolve(stdout.trim());
    });
  });
}

/** A receipt's entry: { text, json }. */
export function receiptEntry(receipt) {
  assert.ok(receipt && receipt.entry && receipt.entry.length > 0, "no receipt entry");
  const text = Buffer.from(receipt.entry).toString("utf8");
  return { text, json: JSON.parse(text) };
}

/**
 * district > subdistrict > community > {team, siblingTeam}, and
 * subdistrict > siblingCommunity > siblingCommunityTeam, plus an employer;
 * tokens (each { token, secret }) for: admin, officeDistrict,
 * officeSubdistrict, officeCommunity, officeSiblingCommunity, leaderTeam,
 * leaderSiblingTeam, employer, auditor.
 */
export async function buildRoleTree(label = "RT") {
  const root = admin();
  const n = (what) => `${label} ${what} ${uid()}`;
  const district = await createOrg(root, { name: n("district"), kind: Kind.DISTRICT });
  const subdistrict = await createOrg(root, { name: n("subdistrict"), kind: Kind.SUBDISTRICT, parentId: district.id });
  const community = await createOrg(root, { name: n("community"), kind: Kind.COMMUNITY, parentId: subdistrict.id });
  const siblingCommunity = await createOrg(root, { name: n("sibling community"), kind: Kind.COMMUNITY, parentId: subdistrict.id });
  const team = await createOrg(root, { name: n("team"), kind: Kind.TEAM, parentId: community.id });
  const siblingTeam = await createOrg(root, { name: n("sibling team"), kind: Kind.TEAM, parentId: community.id });
  const siblingCommunityTeam = await createOrg(root, { name: n("sibling community team"), kind: Kind.TEAM, parentId: siblingCommunity.id });
  const employer = await createOrg(root, { name: n("employer"), kind: Kind.EMPLOYER });
  const orgs = { district, subdistrict, community, siblingCommunity, team, siblingTeam, siblingCommunityTeam, employer };
  const tok = (role, org) => createToken(root, { role, organizationId: org ? org.id : "", description: `${label} ${uid(3)}` });
  const tokens = {
    admin: await tok(Role.ADMIN),
    officeDistrict: await tok(Role.OFFICE, district),
    officeSubdistrict: await tok(Role.OFFICE, subdistrict),
    officeCommunity: await tok(Role.OFFICE, community),
    officeSiblingCommunity: await tok(Role.OFFICE, siblingCommunity),
    leaderTeam: await tok(Role.TEAM_LEADER, team),
    leaderSiblingTeam: await tok(Role.TEAM_LEADER, siblingTeam),
    employer: await tok(Role.EMPLOYER, employer),
    auditor: await tok(Role.AUDITOR),
  };
  return { orgs, tokens };
}

/** A valid 18-character resident identity number (GB 11643) from 17 random digits. */
export function idNumber() {
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const digits = Array.from(randomBytes(17), (b) => String(b % 10)).join("");
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(digits[i]) * weights[i];
  return digits + "10X98765432"[sum % 11];
}
