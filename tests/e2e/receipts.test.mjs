// The transparent log, checked from the outside: write receipts, signed
// checkpoints, inclusion and consistency proofs, entries and C2SP tiles.
//
// Everything is verified with an implementation written here from the specs
// (RFC 6962 / RFC 9162 Merkle trees, C2SP signed-note, tlog-checkpoint and
// tlog-tiles, RFC 8785 canonical JSON), using only node:crypto, so that a bug
// shared by the daemon's own verifier cannot hide a bug in the daemon.
import assert from "node:assert/strict";
import { createPublicKey, verify as cryptoVerify } from "node:crypto";
import http from "node:http";
import { before, describe, it } from "node:test";

import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";

import {
  Code,
  FORMATS,
  Kind,
  Role,
  URL_BASE,
  admin,
  createOrg,
  createToken,
  expectCode,
  key,
  listAllTokens,
  rawGet,
  registry,
  safeJson,
  timestampFromDate,
  uid,
} from "./lib.mjs";
import { leafHash, nodeHash, sha256, verifyInclusion } from "./rfc9162.mjs";

const LogService = registry.getService("vledger.v1.LogService");
if (!LogService) throw new Error("vledger.v1.LogService is not in the descriptor set");

// ---------------------------------------------------------------------------
// Clients. LogService is public: no Authorization header. The transport's
// HTTP agent records the method of every request it sends, so a test can
// check that the useHttpGet client really used GET (Connect interceptors run
// before the transport turns a unary call into a GET).

const httpMethodsSent = [];

class RecordingAgent extends http.Agent {
  addRequest(req, options) {
    httpMethodsSent.push(`${req.method} ${req.path.split("?")[0]}`);
    return super.addRequest(req, options);
  }
}

function logClient({ format = "binary", useHttpGet = true } = {}) {
  return createClient(
    LogService,
    createConnectTransport({
      baseUrl: URL_BASE,
      httpVersion: "1.1",
      useBinaryFormat: format === "binary",
      useHttpGet,
      nodeOptions: { agent: new RecordingAgent({ keepAlive: true }) },
    }),
  );
}

// ---------------------------------------------------------------------------
// Hashing (RFC 6962 §2.1): leaves are H(0x00 || data), interior nodes
// H(0x01 || left || right), H = SHA-256.


/** MTH over a list of leaf hashes (RFC 6962 §2.1): split at the largest power of two < n. */
function merkleRoot(leaves) {
  const n = leaves.length;
  if (n === 0) return sha256();
  if (n === 1) return Buffer.from(leaves[0]);
  let k = 1;
  while (k * 2 < n) k *= 2;
  return nodeHash(merkleRoot(leaves.slice(0, k)), merkleRoot(leaves.slice(k)));
}

/**
 * RFC 9162 §2.1.4.2: verify a consistency proof between a tree of `first`
 * leaves with root `firstRoot` and a tree of `second` leaves with root
 * `secondRoot`.
 */
function verifyConsistency(first, second, firstRoot, secondRoot, proof) {
  if (first > second) return false;
  if (first === second) return proof.length === 0 && Buffer.from(firstRoot).equals(Buffer.from(secondRoot));
  if (first === 0) return proof.length === 0; // the empty tree is consistent with anything
  if (proof.length === 0) return false;
  let path = proof.map((p) => Buffer.from(p));
  // 2. If first is an exact power of two, the old root is itself a node of
  //    the new tree and is not in the proof: prepend it.
  if ((first & (first - 1)) === 0) path = [Buffer.from(firstRoot), ...path];
  // 3-4. Start from the last leaf of the old tree; skip the levels where it
  //      is a right child.
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  // 5-6. Rebuild both roots at once: fr only from left siblings, sr from all.
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  // 7.
  return fr.equals(Buffer.from(firstRoot)) && sr.equals(Buffer.from(secondRoot)) && sn === 0;
}

// ---------------------------------------------------------------------------
// C2SP signed-note and tlog-checkpoint.

const SPKI_ED25519_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** Parses "<name>+<8 hex key id>+<base64(0x01 || 32-byte Ed25519 key)>". */
function parseVkey(text) {
  const s = text.trim();
  const p1 = s.indexOf("+");
  const p2 = s.indexOf("+", p1 + 1);
  assert.ok(p1 > 0 && p2 > p1, `vkey is not name+hash+key: ${JSON.stringify(s)}`);
  const name = s.slice(0, p1);
  const idHex = s.slice(p1 + 1, p2);
  const keyB64 = s.slice(p2 + 1);
  assert.match(idHex, /^[0-9a-f]{8}$/, "vkey key id");
  assert.match(keyB64, /^[A-Za-z0-9+/]+={0,2}$/, "vkey key is standard base64");
  const keyBytes = Buffer.from(keyB64, "base64");
  assert.equal(keyBytes.length, 33, "vkey key is 1 type byte + 32 key bytes");
  assert.equal(keyBytes[0], 0x01, "vkey key type is Ed25519 (0x01)");
  const raw = keyBytes.subarray(1);
  const publicKey = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: "der", type: "spki" });
  // key id = SHA-256(name || "\n" || 0x01 || key)[:4]
  const computedId = sha256(Buffer.from(name, "utf8"), Buffer.from("\n"), keyBytes).subarray(0, 4);
  return { name, idHex, id: Buffer.from(idHex, "hex"), computedId, raw, publicKey };
}

/**
 * Splits a signed note into its body (through the last text line's "\n")
 * and signature lines "— <name> <base64(key id || signature)>".
 */
function parseNote(text) {
  const sep = text.lastIndexOf("\n\n");
  assert.ok(sep > 0, `note has no blank line before its signatures: ${JSON.stringify(text)}`);
  const body = text.slice(0, sep + 1);
  const sigText = text.slice(sep + 2);
  assert.ok(sigText.endsWith("\n"), "note signature block must end with a newline");
  const sigs = sigText
    .slice(0, -1)
    .split("\n")
    .map((line) => {
      const m = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$/.exec(line);
      assert.ok(m, `bad signature line ${JSON.stringify(line)}`);
      const blob = Buffer.from(m[2], "base64");
      return { name: m[1], keyId: blob.subarray(0, 4), sig: blob.subarray(4) };
    });
  return { body, sigs };
}

/** True if some signature line of `text` is a valid signature by `vkey`. */
function noteVerifies(text, vkey) {
  let note;
  try {
    note = parseNote(text);
  } catch {
    return false;
  }
  return note.sigs.some(
    (s) =>
      s.name === vkey.name &&
      s.keyId.equals(vkey.id) &&
      s.sig.length === 64 &&
      cryptoVerify(null, Buffer.from(note.body, "utf8"), vkey.publicKey, s.sig),
  );
}

/** Verifies a checkpoint note and parses its body "<origin>\n<size>\n<base64 root>\n[ext...]". */
function openCheckpoint(text, vkey) {
  assert.ok(noteVerifies(text, vkey), `checkpoint signature does not verify with the vkey:\n${text}`);
  const { body, sigs } = parseNote(text);
  const lines = body.slice(0, -1).split("\n");
  assert.ok(lines.length >= 3, `checkpoint body has ${lines.length} lines`);
  const [origin, sizeText, rootB64] = lines;
  assert.ok(origin.length > 0, "checkpoint origin is empty");
  assert.match(sizeText, /^(0|[1-9][0-9]*)$/, "checkpoint size is a decimal without leading zeros");
  assert.match(rootB64, /^[A-Za-z0-9+/]+={0,2}$/, "checkpoint root is standard base64");
  const root = Buffer.from(rootB64, "base64");
  assert.equal(root.length, 32, "checkpoint root is 32 bytes");
  return { origin, size: Number(sizeText), root, body, sigs };
}

// ---------------------------------------------------------------------------
// RFC 8785 for what entries may hold (strings, integers, objects, arrays,
// booleans, null): keys sorted by UTF-16 code units, no whitespace; JS's
// JSON.stringify escapes strings exactly as RFC 8785 requires.

function canonicalJson(v) {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(",")}}`;
  }
  if (typeof v === "number") assert.ok(Number.isInteger(v), `entry holds a non-integer number ${v}`);
  return JSON.stringify(v);
}

const RFC3339_UTC_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** Parses an entry's bytes, asserting they are canonical JSON with the header fields. */
function parseEntry(bytes) {
  const buf = Buffer.from(bytes);
  const text = buf.toString("utf8");
  assert.ok(Buffer.from(text, "utf8").equals(buf), "entry is not valid UTF-8");
  const obj = JSON.parse(text);
  assert.equal(canonicalJson(obj), text, "entry is not RFC 8785 canonical JSON");
  assert.equal(typeof obj.kind, "string");
  assert.equal(typeof obj.actor, "string");
  assert.match(obj.time, RFC3339_UTC_SECONDS, "entry time is RFC 3339 UTC with second precision");
  const t = Date.parse(obj.time);
  assert.ok(Math.abs(t - Date.now()) < 10 * 60 * 1000 || obj.kind === "token_created", `entry time ${obj.time} is not near now`);
  return obj;
}

// ---------------------------------------------------------------------------
// Receipts.

let VKEY;
let ADMIN_TOKEN_ID;

async function fetchVkey() {
  const res = await rawGet("/log/vkey", { token: null });
  assert.equal(res.status, 200, `GET /log/vkey: ${res.status} ${res.text.slice(0, 200)}`);
  return { text: res.text, vkey: parseVkey(res.text) };
}

/**
 * Checks a receipt completely and returns {index, size, root, entry, checkpoint}.
 * `kind` is the expected entry kind.
 */
function checkReceipt(receipt, kind) {
  assert.ok(receipt, "the response has no receipt");
  const index = Number(receipt.leafIndex);
  const size = Number(receipt.treeSize);
  const cp = openCheckpoint(receipt.checkpoint, VKEY);
  assert.equal(cp.size, size, "receipt treeSize != checkpoint size");
  assert.ok(index < size, `leafIndex ${index} >= treeSize ${size}`);
  assert.equal(receipt.leafHash.length, 32);
  assert.ok(Buffer.from(receipt.leafHash).equals(leafHash(receipt.entry)), "leafHash != SHA-256(0x00 || entry)");
  for (const h of receipt.inclusionProof) assert.equal(h.length, 32, "proof hashes are 32 bytes");
  assert.ok(
    verifyInclusion(index, size, receipt.leafHash, receipt.inclusionProof, cp.root),
    `inclusion proof does not verify: index ${index} size ${size}`,
  );
  const entry = parseEntry(receipt.entry);
  assert.equal(entry.kind, kind);
  return { index, size, root: cp.root, entry, checkpoint: receipt.checkpoint, origin: cp.origin };
}

async function latest(client = logClient()) {
  const res = await client.getCheckpoint({});
  const cp = openCheckpoint(res.checkpoint, VKEY);
  assert.equal(Number(res.treeSize), cp.size, "GetCheckpoint treeSize != its checkpoint's size");
  assert.ok(Buffer.from(res.rootHash).equals(cp.root), "GetCheckpoint rootHash != its checkpoint's root");
  return { size: cp.size, root: cp.root, text: res.checkpoint };
}

const logSize = async () => (await latest()).size;

before(async () => {
  VKEY = (await fetchVkey()).vkey;
  const boot = (await listAllTokens(admin())).filter((t) => t.description.startsWith("bootstrap"));
  assert.equal(boot.length, 1, `want one bootstrap token, got ${safeJson(boot)}`);
  ADMIN_TOKEN_ID = boot[0].id;
  assert.match(ADMIN_TOKEN_ID, /^tok_[0-9a-f]{24}$/);
});

describe("verifier key", () => {
  it("GET /log/vkey is name+keyid+key with the key id SHA-256(name || \\n || 0x01 || key)[:4]", async () => {
    const { text, vkey } = await fetchVkey();
    assert.equal(vkey.idHex, vkey.computedId.toString("hex"), "vkey key id does not match the computed one");
    assert.equal(text.trim().split("\n").length, 1, "vkey is one line");
    // The checkpoint is signed under the same name with the same key id.
    const cp = await latest();
    const note = parseNote(cp.text);
    assert.equal(note.sigs.length >= 1, true);
    assert.ok(note.sigs.some((s) => s.name === vkey.name && s.keyId.equals(vkey.id)), "no signature by the vkey's name/key id");
  });
});

describe("the self-checks can fail", () => {
  it("the verifiers reject tampered data", async () => {
    // Sanity of the helpers on a tree built here: 7 leaves.
    const leaves = Array.from({ length: 7 }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));
    const root = merkleRoot(leaves);
    // Audit path of leaf 4 in a 7-leaf tree: leaf 5, then MTH(6), then MTH(0..3).
    const path = [leaves[5], leaves[6], merkleRoot(leaves.slice(0, 4))];
    assert.ok(verifyInclusion(4, 7, leaves[4], path, root));
    assert.ok(!verifyInclusion(4, 7, leaves[3], path, root));
    assert.ok(!verifyInclusion(5, 7, leaves[4], path, root));
    assert.ok(!verifyInclusion(4, 6, leaves[4], path, root));
    assert.ok(!verifyInclusion(4, 9, leaves[4], path, root));
    // (Size 8 would verify too: its path has the same shape for leaf 4; the
    // signed checkpoint is what binds a root to its size.)
    // Consistency 3 -> 7, the proof built by RFC 9162's SUBPROOF.
    const proof = subproof(3, leaves, true);
    assert.ok(verifyConsistency(3, 7, merkleRoot(leaves.slice(0, 3)), root, proof));
    assert.ok(!verifyConsistency(3, 7, merkleRoot(leaves.slice(0, 2)), root, proof));
    assert.ok(!verifyConsistency(4, 7, merkleRoot(leaves.slice(0, 3)), root, proof));
  });
});

/** RFC 9162 §2.1.4.1 SUBPROOF, used only to self-test the verifier above. */
function subproof(m, leaves, b) {
  const n = leaves.length;
  if (m === n) return b ? [] : [merkleRoot(leaves)];
  let k = 1;
  while (k * 2 < n) k *= 2;
  if (m <= k) return [...subproof(m, leaves.slice(0, k), b), merkleRoot(leaves.slice(k))];
  return [...subproof(m - k, leaves.slice(k), false), merkleRoot(leaves.slice(0, k))];
}

for (const format of FORMATS) {
  describe(`receipts (${format})`, () => {
    const c = admin({ format });

    it("CreateOrganization returns a receipt that verifies offline", async () => {
      const before = await logSize();
      const name = `Receipt Org ${uid()}`;
      const res = await c.createOrganization({ name, kind: Kind.DISTRICT, idempotencyKey: key("rorg") });
      const r = checkReceipt(res.receipt, "organization_registered");
      assert.equal(r.index, before, "the new entry is not appended at the end of the log");
      assert.equal(r.size, before + 1, "the receipt's checkpoint is not the one its write produced");
      assert.deepEqual(r.entry, {
        actor: ADMIN_TOKEN_ID,
        kind: "organization_registered",
        organization: { id: res.organization.id, kind: "district", name },
        time: r.entry.time,
      });
      assert.match(res.organization.id, /^org_[0-9a-f]{24}$/);
      // The entry's time is when the write was recorded: the organisation's
      // create time, give or take a second boundary (two clock reads).
      const lag = Date.parse(r.entry.time) / 1000 - Number(res.organization.createTime.seconds);
      assert.ok(lag >= 0 && lag <= 2, `entry time ${r.entry.time} vs createTime ${res.organization.createTime.seconds}`);
      assert.equal(await logSize(), before + 1);

      // A child organisation's entry names its parent.
      const child = await c.createOrganization({
        name: `Receipt Sub ${uid()}`,
        kind: Kind.SUBDISTRICT,
        parentId: res.organization.id,
        idempotencyKey: key("rorg"),
      });
      const rc = checkReceipt(child.receipt, "organization_registered");
      assert.equal(rc.index, before + 1);
      assert.deepEqual(rc.entry.organization, {
        id: child.organization.id,
        kind: "subdistrict",
        name: child.organization.name,
        parentId: res.organization.id,
      });
    });

    it("flipping any byte of the proof or the leaf hash, or the checkpoint, breaks verification", async () => {
      // Make enough entries that the proof has several hashes.
      const res = await c.createOrganization({ name: `Flip ${uid()}`, kind: Kind.EMPLOYER, idempotencyKey: key("flip") });
      const r = checkReceipt(res.receipt, "organization_registered");
      const proof = res.receipt.inclusionProof.map((h) => Buffer.from(h));
      const leaf = Buffer.from(res.receipt.leafHash);
      assert.ok(proof.length >= 1, "expected a non-empty inclusion proof");
      for (let i = 0; i < proof.length; i++) {
        for (let j = 0; j < 32; j++) {
          const bad = proof.map((h) => Buffer.from(h));
          bad[i][j] ^= 0x01;
          assert.ok(!verifyInclusion(r.index, r.size, leaf, bad, r.root), `proof[${i}] byte ${j} flipped still verifies`);
        }
      }
      for (let j = 0; j < 32; j++) {
        const bad = Buffer.from(leaf);
        bad[j] ^= 0x80;
        assert.ok(!verifyInclusion(r.index, r.size, bad, proof, r.root), `leaf byte ${j} flipped still verifies`);
      }
      // Dropping or adding a proof hash fails too.
      assert.ok(!verifyInclusion(r.index, r.size, leaf, proof.slice(0, -1), r.root));
      assert.ok(!verifyInclusion(r.index, r.size, leaf, [...proof, proof[0]], r.root));
      // A changed entry byte no longer matches the leaf hash.
      const entry = Buffer.from(res.receipt.entry);
      entry[entry.length - 2] ^= 0x01;
      assert.ok(!leafHash(entry).equals(leaf));
      // A changed checkpoint body (size or root) no longer carries a valid signature.
      const cp = res.receipt.checkpoint;
      const lines = cp.split("\n");
      const biggerSize = [lines[0], String(r.size + 1), ...lines.slice(2)].join("\n");
      assert.ok(!noteVerifies(biggerSize, VKEY), "a checkpoint with another size still verifies");
      const rootBytes = Buffer.from(lines[2], "base64");
      rootBytes[0] ^= 0x01;
      const otherRoot = [lines[0], lines[1], rootBytes.toString("base64"), ...lines.slice(3)].join("\n");
      assert.ok(!noteVerifies(otherRoot, VKEY), "a checkpoint with another root still verifies");
      assert.ok(noteVerifies(cp, VKEY));
    });

    it("CreateToken and RevokeToken receipts; the entry never holds the secret or its hash", async () => {
      const org = await createOrg(c, { name: `Tok Org ${uid()}`, kind: Kind.DISTRICT });
      const expire = new Date(Math.floor(Date.now() / 1000) * 1000 + 30 * 86400 * 1000);
      const before = await logSize();
      const created = await c.createToken({
        organizationId: org.id,
        role: Role.OFFICE,
        description: `receipt tok ${uid()}`,
        expireTime: timestampFromDate(expire),
        idempotencyKey: key("rtok"),
      });
      assert.ok(created.secret.length > 0);
      const r = checkReceipt(created.receipt, "token_created");
      assert.equal(r.index, before);
      assert.equal(r.size, before + 1);
      assert.deepEqual(r.entry, {
        actor: ADMIN_TOKEN_ID,
        kind: "token_created",
        time: r.entry.time,
        token: {
          expireTime: expire.toISOString().replace(/\.\d{3}Z$/, "Z"),
          id: created.token.id,
          organizationId: org.id,
          role: "office",
        },
      });

      const text = Buffer.from(created.receipt.entry).toString("utf8");
      const secrets = [created.secret];
      if (created.secret.startsWith("vlt_")) secrets.push(created.secret.slice(4));
      for (const s of secrets) {
        const digest = sha256(Buffer.from(s, "utf8"));
        const forms = [
          s,
          digest.toString("hex"),
          digest.toString("hex").toUpperCase(),
          digest.toString("base64"),
          digest.toString("base64url"),
          digest.toString("base64").replace(/=+$/, ""),
        ];
        for (const f of forms) assert.ok(!text.includes(f), `token_created entry contains ${JSON.stringify(f)}: ${text}`);
      }
      assert.ok(!/[0-9a-fA-F]{64}/.test(text), `token_created entry holds something like a hex SHA-256: ${text}`);
      assert.deepEqual(Object.keys(r.entry.token).sort(), ["expireTime", "id", "organizationId", "role"]);

      // An admin token without an organisation or expiry: those fields are absent.
      const adminTok = await c.createToken({ role: Role.AUDITOR, description: "receipt auditor", idempotencyKey: key("rtok") });
      const ra = checkReceipt(adminTok.receipt, "token_created");
      assert.deepEqual(ra.entry.token, { id: adminTok.token.id, role: "auditor" });

      // Revoke: a token_revoked entry.
      const beforeRevoke = await logSize();
      const revoked = await c.revokeToken({ id: created.token.id, idempotencyKey: key("rrev") });
      const rr = checkReceipt(revoked.receipt, "token_revoked");
      assert.equal(rr.index, beforeRevoke);
      assert.deepEqual(rr.entry, { actor: ADMIN_TOKEN_ID, kind: "token_revoked", time: rr.entry.time, token: { id: created.token.id } });
      assert.equal(await logSize(), beforeRevoke + 1);

      // Revoking again (a new idempotency key) records nothing and returns no receipt.
      const again = await c.revokeToken({ id: created.token.id, idempotencyKey: key("rrev") });
      assert.equal(again.token.id, created.token.id);
      assert.ok(again.token.revokeTime, "the token is revoked");
      assert.equal(again.receipt, undefined, `a second revoke returned a receipt: ${safeJson(again.receipt)}`);
      assert.equal(await logSize(), beforeRevoke + 1, "a second revoke grew the log");
    });

    it("an idempotent retry returns the identical receipt and does not grow the log", async () => {
      const req = { name: `Idem Receipt ${uid()}`, kind: Kind.DISTRICT, idempotencyKey: key("ridem") };
      const first = await c.createOrganization(req);
      const r1 = checkReceipt(first.receipt, "organization_registered");
      const size = await logSize();
      const second = await c.createOrganization(req);
      assert.equal(second.organization.id, first.organization.id);
      assert.ok(second.receipt, "the retry has no receipt");
      assert.equal(Number(second.receipt.leafIndex), r1.index);
      assert.equal(Number(second.receipt.treeSize), r1.size);
      assert.equal(second.receipt.checkpoint, first.receipt.checkpoint);
      assert.ok(Buffer.from(second.receipt.entry).equals(Buffer.from(first.receipt.entry)));
      assert.ok(Buffer.from(second.receipt.leafHash).equals(Buffer.from(first.receipt.leafHash)));
      assert.deepEqual(
        second.receipt.inclusionProof.map((h) => Buffer.from(h).toString("hex")),
        first.receipt.inclusionProof.map((h) => Buffer.from(h).toString("hex")),
      );
      checkReceipt(second.receipt, "organization_registered");
      assert.equal(await logSize(), size, "an idempotent retry grew the log");

      // The same for CreateToken and RevokeToken.
      const treq = { role: Role.AUDITOR, description: `idem rec ${uid()}`, idempotencyKey: key("ridem") };
      const t1 = await c.createToken(treq);
      const t2 = await c.createToken(treq);
      assert.equal(t2.secret, "");
      assert.equal(t2.receipt.checkpoint, t1.receipt.checkpoint);
      assert.equal(Number(t2.receipt.leafIndex), Number(t1.receipt.leafIndex));
      const rreq = { id: t1.token.id, idempotencyKey: key("ridem") };
      const v1 = await c.revokeToken(rreq);
      const sizeAfterRevoke = await logSize();
      const v2 = await c.revokeToken(rreq);
      assert.ok(v2.receipt, "a retried RevokeToken lost its receipt");
      assert.equal(v2.receipt.checkpoint, v1.receipt.checkpoint);
      assert.equal(Number(v2.receipt.leafIndex), Number(v1.receipt.leafIndex));
      assert.equal(await logSize(), sizeAfterRevoke);
    });

    it("failed writes do not grow the log", async () => {
      const { root, size } = await latest();
      await expectCode(c.createOrganization({ name: "", kind: Kind.DISTRICT, idempotencyKey: key("rbad") }), Code.InvalidArgument, "name");
      await expectCode(
        c.createOrganization({ name: `No parent ${uid()}`, kind: Kind.TEAM, idempotencyKey: key("rbad") }),
        [Code.InvalidArgument, Code.FailedPrecondition],
      );
      await expectCode(c.createToken({ role: Role.UNSPECIFIED, idempotencyKey: key("rbad") }), [Code.InvalidArgument, Code.FailedPrecondition]);
      await expectCode(c.revokeToken({ id: `tok_${"0".repeat(24)}`, idempotencyKey: key("rbad") }), Code.NotFound);
      const auditor = admin({ format, token: (await createToken(c, { role: Role.AUDITOR, description: "receipt ro" })).secret });
      const { size: size2, root: root2 } = await latest();
      assert.equal(size2, size + 1, "creating the auditor token is one entry");
      await expectCode(
        auditor.createOrganization({ name: `Denied ${uid()}`, kind: Kind.DISTRICT, idempotencyKey: key("rbad") }),
        Code.PermissionDenied,
      );
      await expectCode(auditor.createToken({ role: Role.ADMIN, idempotencyKey: key("rbad") }), Code.PermissionDenied);
      const after = await latest();
      assert.equal(after.size, size2, "a failed write grew the log");
      assert.ok(after.root.equals(root2));
      assert.ok(!root.equals(root2));
    });
  });
}

describe("log proofs and entries", () => {
  const c = admin();

  it("consistency from an earlier write's checkpoint, and inclusion at the latest size", async () => {
    const a = await c.createOrganization({ name: `Cons A ${uid()}`, kind: Kind.DISTRICT, idempotencyKey: key("cons") });
    const ra = checkReceipt(a.receipt, "organization_registered");
    for (let i = 0; i < 5; i++) {
      await createOrg(c, { name: `Cons ${i} ${uid()}`, kind: Kind.EMPLOYER });
    }
    for (const format of FORMATS) {
      for (const useHttpGet of [true, false]) {
        const log = logClient({ format, useHttpGet });
        const now = await latest(log);
        assert.ok(now.size >= ra.size + 5);

        const cons = await log.getConsistencyProof({ fromSize: BigInt(ra.size) });
        assert.equal(Number(cons.fromSize), ra.size);
        assert.equal(Number(cons.toSize), now.size, "toSize 0 means the latest size");
        assert.ok(verifyConsistency(ra.size, now.size, ra.root, now.root, cons.hashes), "consistency proof does not verify");
        // Tampering makes it fail.
        for (let i = 0; i < cons.hashes.length; i++) {
          const bad = cons.hashes.map((h) => Buffer.from(h));
          bad[i][7] ^= 0x04;
          assert.ok(!verifyConsistency(ra.size, now.size, ra.root, now.root, bad), `consistency hash ${i} flipped still verifies`);
        }
        const wrongRoot = Buffer.from(ra.root);
        wrongRoot[0] ^= 1;
        assert.ok(!verifyConsistency(ra.size, now.size, wrongRoot, now.root, cons.hashes));

        // Explicit toSize; and every intermediate size from the write's checkpoint.
        const cons2 = await log.getConsistencyProof({ fromSize: BigInt(ra.size), toSize: BigInt(now.size) });
        assert.deepEqual(cons2.hashes.map((h) => Buffer.from(h).toString("hex")), cons.hashes.map((h) => Buffer.from(h).toString("hex")));
        const same = await log.getConsistencyProof({ fromSize: BigInt(now.size), toSize: BigInt(now.size) });
        assert.equal(same.hashes.length, 0, "a proof between equal sizes is empty");

        const inc = await log.getInclusionProof({ leafIndex: BigInt(ra.index) });
        assert.equal(Number(inc.leafIndex), ra.index);
        assert.equal(Number(inc.treeSize), now.size, "treeSize 0 means the latest size");
        assert.ok(verifyInclusion(ra.index, now.size, a.receipt.leafHash, inc.hashes, now.root), "inclusion at the latest size does not verify");
        // At the write's own size it is the receipt's proof.
        const incOwn = await log.getInclusionProof({ leafIndex: BigInt(ra.index), treeSize: BigInt(ra.size) });
        assert.deepEqual(
          incOwn.hashes.map((h) => Buffer.from(h).toString("hex")),
          a.receipt.inclusionProof.map((h) => Buffer.from(h).toString("hex")),
        );
      }
    }
  });

  it("GetCheckpoint over HTTP GET matches GET /log/checkpoint and verifies", async () => {
    const log = logClient({ format: "json", useHttpGet: true });
    const seen = httpMethodsSent.length;
    const cp = await log.getCheckpoint({});
    assert.deepEqual(httpMethodsSent.slice(seen), ["GET /vledger.v1.LogService/GetCheckpoint"], "the useHttpGet client did not use GET");
    // ...and the POST client POSTs.
    const seen2 = httpMethodsSent.length;
    const viaPost = await logClient({ format: "json", useHttpGet: false }).getCheckpoint({});
    assert.deepEqual(httpMethodsSent.slice(seen2), ["POST /vledger.v1.LogService/GetCheckpoint"]);
    assert.equal(viaPost.checkpoint, cp.checkpoint);
    const raw = await rawGet("/log/checkpoint", { token: null });
    assert.equal(raw.status, 200);
    assert.match(raw.contentType, /^text\/plain\b/);
    assert.equal(raw.text, cp.checkpoint, "/log/checkpoint differs from GetCheckpoint");
    const parsed = openCheckpoint(raw.text, VKEY);
    assert.equal(parsed.origin, VKEY.name, "checkpoint origin is the vkey name");
    assert.equal(parsed.size, Number(cp.treeSize));
    assert.ok(parsed.root.equals(Buffer.from(cp.rootHash)));
    // The binary GET client agrees.
    const bin = await logClient({ format: "binary", useHttpGet: true }).getCheckpoint({});
    assert.equal(bin.checkpoint, cp.checkpoint);
    // No token needed, and a raw Connect GET works.
    const g = await rawGet("/vledger.v1.LogService/GetCheckpoint?connect=v1&encoding=json&message=%7B%7D", { token: null });
    assert.equal(g.status, 200, g.text);
    assert.equal(g.json.checkpoint, cp.checkpoint);
  });

  it("GetEntries returns every entry with matching leaf hashes, and they rebuild the root", async () => {
    const log = logClient({ format: "binary" });
    const now = await latest(log);
    const hashes = [];
    for (let start = 0; start < now.size; start += 1000) {
      const end = Math.min(now.size, start + 1000);
      const res = await log.getEntries({ start: BigInt(start), end: BigInt(end) });
      assert.equal(res.entries.length, end - start);
      res.entries.forEach((e, i) => {
        assert.equal(Number(e.leafIndex), start + i);
        assert.ok(Buffer.from(e.leafHash).equals(leafHash(e.entry)), `entry ${start + i}: leafHash != SHA-256(0x00 || entry)`);
        parseEntry(e.entry);
        hashes.push(Buffer.from(e.leafHash));
      });
    }
    assert.ok(merkleRoot(hashes).equals(now.root), "the entries do not rebuild the checkpoint root");

    // Entry 0 is the bootstrap admin token, made by the daemon itself.
    const first = JSON.parse(Buffer.from((await log.getEntries({ start: 0n, end: 1n })).entries[0].entry).toString());
    assert.equal(first.kind, "token_created");
    assert.equal(first.actor, "vledgerd");
    assert.deepEqual(first.token, { id: ADMIN_TOKEN_ID, role: "admin" });

    // A receipt's entry is the one GetEntries serves at its index (JSON too).
    const o = await c.createOrganization({ name: `Entries ${uid()}`, kind: Kind.DISTRICT, idempotencyKey: key("ent") });
    const idx = o.receipt.leafIndex;
    const got = await logClient({ format: "json" }).getEntries({ start: idx, end: idx + 1n });
    assert.equal(got.entries.length, 1);
    assert.ok(Buffer.from(got.entries[0].entry).equals(Buffer.from(o.receipt.entry)));
    assert.ok(Buffer.from(got.entries[0].leafHash).equals(Buffer.from(o.receipt.leafHash)));
  });
});

// ---------------------------------------------------------------------------
// C2SP tlog-tiles.

/** The N path element: 3-digit groups, all but the last prefixed with "x". */
function tileIndexPath(n) {
  const groups = [];
  do {
    groups.unshift(String(n % 1000).padStart(3, "0"));
    n = Math.floor(n / 1000);
  } while (n > 0);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join("/");
}

/** Every level-0 tile / entry bundle path for a tree of `size`: [{n, width, suffix}]. */
function tilesFor(size) {
  const out = [];
  for (let n = 0; n * 256 < size; n++) {
    const width = Math.min(256, size - n * 256);
    out.push({ n, width, suffix: `${tileIndexPath(n)}${width < 256 ? `.p/${width}` : ""}` });
  }
  return out;
}

/** Splits an entry bundle: each entry is a big-endian uint16 length, then the bytes. */
function splitBundle(buf) {
  const out = [];
  let off = 0;
  while (off < buf.length) {
    assert.ok(off + 2 <= buf.length, "truncated entry bundle length");
    const len = buf.readUInt16BE(off);
    off += 2;
    assert.ok(off + len <= buf.length, "truncated entry bundle entry");
    out.push(buf.subarray(off, off + len));
    off += len;
  }
  return out;
}

describe("tiles", () => {
  it("N path elements", () => {
    assert.equal(tileIndexPath(0), "000");
    assert.equal(tileIndexPath(7), "007");
    assert.equal(tileIndexPath(1234067), "x001/x234/067");
    assert.deepEqual(tilesFor(300).map((t) => t.suffix), ["000", "001.p/44"]);
  });

  it("level-0 tiles and entry bundles rebuild the checkpoint root; caching; unknown tiles are 404", async () => {
    const c = admin();
    // Grow the log past one full tile (256 entries) so that a full tile exists.
    let size = await logSize();
    const t0 = Date.now();
    while (size < 300) {
      const batch = Math.min(10, 300 - size);
      await Promise.all(Array.from({ length: batch }, () => createOrg(c, { name: `Tile ${uid()}`, kind: Kind.EMPLOYER })));
      size += batch;
    }
    const growMs = Date.now() - t0;

    const cpRes = await rawGet("/log/checkpoint", { token: null });
    assert.equal(cpRes.status, 200);
    const cp = openCheckpoint(cpRes.text, VKEY);
    assert.ok(cp.size >= 300, `log size ${cp.size}`);
    const tiles = tilesFor(cp.size);
    assert.ok(tiles.length >= 2 && tiles[0].width === 256);

    const allHashes = [];
    for (const t of tiles) {
      const hashRes = await rawGet(`/log/tile/0/${t.suffix}`, { token: null });
      assert.equal(hashRes.status, 200, `GET /log/tile/0/${t.suffix}: ${hashRes.status} ${hashRes.text.slice(0, 200)}`);
      assert.equal(hashRes.bytes.length, 32 * t.width, `tile 0/${t.suffix} length`);
      const bundleRes = await rawGet(`/log/tile/entries/${t.suffix}`, { token: null });
      assert.equal(bundleRes.status, 200, `GET /log/tile/entries/${t.suffix}: ${bundleRes.status}`);
      const entries = splitBundle(bundleRes.bytes);
      assert.equal(entries.length, t.width, `entry bundle ${t.suffix} holds ${entries.length} entries`);
      for (let i = 0; i < t.width; i++) {
        const h = hashRes.bytes.subarray(32 * i, 32 * i + 32);
        assert.ok(leafHash(entries[i]).equals(h), `tile ${t.suffix} leaf ${i}: bundle entry hash != tile hash`);
        allHashes.push(Buffer.from(h));
      }
      for (const res of [hashRes, bundleRes]) {
        const cc = res.headers.get("cache-control") || "";
        if (t.width === 256) assert.match(cc, /\bimmutable\b/, `full tile ${t.suffix} Cache-Control: ${JSON.stringify(cc)}`);
        else assert.doesNotMatch(cc, /\bimmutable\b/, `partial tile ${t.suffix} Cache-Control: ${JSON.stringify(cc)}`);
      }
    }
    assert.equal(allHashes.length, cp.size);
    assert.ok(merkleRoot(allHashes).equals(cp.root), "the level-0 tiles do not rebuild the checkpoint root");

    // Level 1: the hash of each full level-0 tile (the root of its 256 leaves).
    const full = Math.floor(cp.size / 256);
    const l1 = await rawGet(`/log/tile/1/000.p/${full}`, { token: null });
    assert.equal(l1.status, 200, `GET /log/tile/1/000.p/${full}: ${l1.status}`);
    assert.equal(l1.bytes.length, 32 * full);
    for (let i = 0; i < full; i++) {
      assert.ok(l1.bytes.subarray(32 * i, 32 * i + 32).equals(merkleRoot(allHashes.slice(256 * i, 256 * i + 256))), `level-1 hash ${i}`);
    }

    // Tiles that do not exist.
    assert.equal((await rawGet("/log/tile/0/999", { token: null })).status, 404);
    assert.equal((await rawGet("/log/tile/entries/999", { token: null })).status, 404);
    const beyond = tiles[tiles.length - 1];
    assert.equal((await rawGet(`/log/tile/0/${tileIndexPath(beyond.n)}.p/${beyond.width + 1}`, { token: null })).status, 404);
    assert.ok(growMs < 15000, `growing the log to 300 entries took ${growMs} ms`);
  });
});

describe("bad log requests", () => {
  for (const format of FORMATS) {
    for (const useHttpGet of [true, false]) {
      it(`are refused with the field named (${format}, ${useHttpGet ? "GET" : "POST"})`, async () => {
        const log = logClient({ format, useHttpGet });
        const size = BigInt(await logSize());
        await expectCode(log.getInclusionProof({ leafIndex: size, treeSize: size }), Code.OutOfRange, "leafIndex");
        await expectCode(log.getInclusionProof({ leafIndex: size + 5n }), Code.OutOfRange, "leafIndex");
        await expectCode(log.getInclusionProof({ leafIndex: 0n, treeSize: size + 1000n }), Code.OutOfRange, "treeSize");
        await expectCode(log.getConsistencyProof({ fromSize: 3n, toSize: 2n }), Code.InvalidArgument, "fromSize");
        await expectCode(log.getConsistencyProof({ fromSize: 1n, toSize: size + 1000n }), Code.OutOfRange, "toSize");
        await expectCode(log.getEntries({ start: 2n, end: 2n }), Code.InvalidArgument, "end");
        await expectCode(log.getEntries({ start: 3n, end: 1n }), Code.InvalidArgument, "end");
        await expectCode(log.getEntries({ start: 0n, end: 1001n }), Code.InvalidArgument);
        // Exactly 1000 is fine when the log is that long; otherwise beyond the end is out_of_range.
        if (size >= 1000n) assert.equal((await log.getEntries({ start: 0n, end: 1000n })).entries.length, 1000);
        else await expectCode(log.getEntries({ start: 0n, end: size + 1n }), Code.OutOfRange, "end");
      });
    }
  }
});
