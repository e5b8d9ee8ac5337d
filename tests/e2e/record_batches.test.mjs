// RecordShift under group commit (services/transport/rpc_batch.c,
// services/records/record_shift.c): concurrent calls are run in batches of
// one transaction, one log append and one signed checkpoint. These tests fire
// bursts at the daemon and check, from the outside, the promises the batcher
// makes: every call is answered on its own (a refusal sinks nobody else and
// writes nothing), calls for one volunteer or one idempotency key are
// serialised, and every receipt - whose treeSize is now its batch's
// checkpoint, not leafIndex + 1 - verifies offline.
//
// run.sh runs test files one at a time (--test-concurrency=1) against one
// daemon, and node:test runs the tests of a file one after another, so the
// log's growth during a test is this test's alone and is asserted exactly.
import assert from "node:assert/strict";
import { createPublicKey, verify as cryptoVerify } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { before, describe, it } from "node:test";

import {
  Code,
  FORMATS,
  STATE_DIR,
  buildRoleTree,
  expectCode,
  key,
  logTreeSize,
  mustMessage,
  psqlQuery,
  rawGet,
  receiptEntry,
  registry,
  serviceClient,
  timestampFromDate,
  toBinary,
  uid,
} from "./lib.mjs";
import { leafHash, verifyInclusion } from "./rfc9162.mjs";

const records = (secret, format = "binary") => serviceClient("vledger.v1.RecordsService", { token: secret, format });
const Category = Object.fromEntries(registry.getEnum("vledger.v1.ShiftCategory").values.map((v) => [v.name, v.number]));
const RecordShiftResponse = mustMessage("vledger.v1.RecordShiftResponse");
const HOUR = 3600e3;
const ts = (ms) => timestampFromDate(new Date(ms));

// ---------------------------------------------------------------------------
// Offline verification, from the specs: RFC 6962 leaf hash and RFC 9162
// inclusion proof (rfc9162.mjs, shared with receipts.test.mjs), C2SP
// signed-note checkpoint with the log's Ed25519 vkey.

let VKEY; // { name, id, publicKey } from GET /log/vkey: "<name>+<hex key id>+<base64(0x01 || key)>"

/** Checks the checkpoint's signature and returns { size, root }. */
function openCheckpoint(text) {
  const sep = text.lastIndexOf("\n\n");
  assert.ok(sep > 0, `checkpoint has no signature block: ${JSON.stringify(text)}`);
  const body = text.slice(0, sep + 1);
  const signed = text
    .slice(sep + 2)
    .split("\n")
    .some((line) => {
      const m = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$/.exec(line);
      const blob = m ? Buffer.from(m[2], "base64") : Buffer.alloc(0);
      return m && m[1] === VKEY.name && blob.length === 68 && blob.subarray(0, 4).equals(VKEY.id) &&
        cryptoVerify(null, Buffer.from(body), VKEY.publicKey, blob.subarray(4));
    });
  assert.ok(signed, `checkpoint signature does not verify with the log's vkey:\n${text}`);
  const [, size, root] = body.split("\n");
  return { size: Number(size), root: Buffer.from(root, "base64") };
}

/** Asserts a RecordShift response's receipt verifies and is the shift_recorded entry of its shift. */
function checkReceipt(res, volunteerId, actor) {
  const r = res.receipt;
  const index = Number(r.leafIndex);
  const size = Number(r.treeSize);
  const cp = openCheckpoint(r.checkpoint);
  assert.equal(cp.size, size, "receipt treeSize != its checkpoint's size");
  assert.ok(leafHash(r.entry).equals(Buffer.from(r.leafHash)), "leafHash != SHA-256(0x00 || entry)");
  assert.ok(verifyInclusion(index, size, leafHash(r.entry), r.inclusionProof, cp.root), `proof of leaf ${index} in ${size} fails`);
  const { json } = receiptEntry(r);
  assert.equal(json.kind, "shift_recorded");
  assert.equal(json.actor, actor);
  assert.equal(json.shift.id, res.shift.id, "the entry names another shift");
  assert.equal(json.shift.volunteerId, volunteerId, "the entry names another volunteer");
  assert.equal(res.shift.volunteerId, volunteerId);
  return { index, size, checkpoint: r.checkpoint };
}

// ---------------------------------------------------------------------------
// Fixtures.

let tree;
let callers; // recorders a burst rotates through: { secret, id, format }
before(async () => {
  tree = await buildRoleTree("BAT");
  const tok = (role) => tree.tokens[role];
  callers = ["officeCommunity", "leaderTeam", "admin"].flatMap((role) =>
    FORMATS.map((format) => ({ secret: tok(role).secret, id: tok(role).token.id, format })));
  const vkey = await rawGet("/log/vkey", { token: null });
  assert.equal(vkey.status, 200, vkey.text);
  const [, name, idHex, keyB64] = /^([^+]+)\+([0-9a-f]{8})\+(\S+)$/.exec(vkey.text.trim()); // base64 may hold "+"
  const raw = Buffer.from(keyB64, "base64").subarray(1); // after the 0x01 (Ed25519) type byte
  const spki = Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), raw]);
  VKEY = { name, id: Buffer.from(idHex, "hex"), publicKey: createPublicKey({ key: spki, format: "der", type: "spki" }) };
});

const newVolunteers = (n) =>
  Promise.all(Array.from({ length: n }, () =>
    serviceClient("vledger.v1.VolunteerService", { token: tree.tokens.admin.secret })
      .registerVolunteer({ organizationId: tree.orgs.team.id, personalData: { name: `Batch ${uid()}` }, idempotencyKey: key("vol") })
      .then((r) => r.volunteer.id)));

/** A request for an hour of `volunteerId` in the team, starting `startMs` (default 3 hours ago). */
const shiftReq = (volunteerId, { startMs = Date.now() - 3 * HOUR, ...rest } = {}) => ({
  volunteerId,
  organizationId: tree.orgs.team.id,
  category: Category.SHIFT_CATEGORY_ELDERLY_CARE,
  startTime: ts(startMs),
  endTime: ts(startMs + HOUR),
  activity: "batch visit",
  place: "building 9",
  idempotencyKey: key("bat"),
  ...rest,
});

/** One call per request, all at once, each by callers[i % callers.length]; settles all. */
const burst = (reqs, by = (i) => callers[i % callers.length]) =>
  Promise.allSettled(reqs.map((req, i) => records(by(i).secret, by(i).format).recordShift(req)));

/** A settled call as a promise again, for expectCode (which reports a success it did not expect). */
const settled = (r) => (r.status === "rejected" ? Promise.reject(r.reason) : Promise.resolve(r.value));
const fulfilled = (r, what) => {
  assert.equal(r.status, "fulfilled", `${what} failed: ${r.reason && `${Code[r.reason.code]}: ${r.reason.rawMessage}`}`);
  return r.value;
};
const shiftCount = async (vid) => Number(await psqlQuery(`SELECT count(*) FROM shifts WHERE volunteer_id = '${vid}'`));
// A batch that fails as a whole is rerun call by call (rpc_batch.c logs it):
// the answers would look right, but the refusals would not have been
// handled inside their batch. Count those fallbacks in the daemon's log.
const fallbacks = () => (readFileSync(path.join(STATE_DIR, "vledgerd.log"), "utf8").match(/RecordShift: a batch of \d+ calls failed/g) || []).length;

describe("RecordShift in batches", () => {
  it("64 concurrent RecordShifts for 64 volunteers all succeed, in batches", async () => {
    const vids = await newVolunteers(64);
    const sizeBefore = await logTreeSize();
    const results = await burst(vids.map((v) => shiftReq(v)));
    const receipts = results.map((r, i) => checkReceipt(fulfilled(r, `call ${i}`), vids[i], callers[i % callers.length].id));
    assert.equal(await logTreeSize(), sizeBefore + 64);
    const indexes = receipts.map((r) => r.index).sort((a, b) => a - b);
    assert.deepEqual(indexes, Array.from({ length: 64 }, (_, i) => sizeBefore + i), "leaf indexes are not 64 consecutive new leaves");
    // Each batch signs one checkpoint whose size ends at its last leaf; the
    // receipts sharing a checkpoint are one batch, a run of leaves ending
    // there. Only this burst wrote, so every batch is made of these calls.
    const batches = new Map();
    for (const r of receipts) batches.set(r.checkpoint, [...(batches.get(r.checkpoint) ?? []), r]);
    for (const group of batches.values()) {
      const ix = group.map((r) => r.index).sort((a, b) => a - b);
      assert.equal(ix.at(-1), group[0].size - 1, "a checkpoint does not end at its batch's last leaf");
      assert.equal(ix.at(-1) - ix[0], ix.length - 1, "a batch's leaves are not consecutive");
    }
    // With two batches at most running, 64 calls at once cannot all run
    // alone: some receipt's checkpoint covers leaves after its own.
    assert.ok(receipts.some((r) => r.size > r.index + 1), `nothing was batched: ${batches.size} checkpoints for 64 calls`);
  });

  it("one bad request does not sink its batch, and writes nothing", async () => {
    const [orgless, overlapped, keyOwner, keyThief, ...vids] = await newVolunteers(34);
    const caller = callers[0];
    const existing = (await records(caller.secret).recordShift(shiftReq(overlapped))).shift;
    const used = shiftReq(keyOwner);
    const owned = (await records(caller.secret).recordShift(used)).shift;
    const bad = {
      unknownVolunteer: shiftReq(`vol_${uid(12)}`),
      unknownOrganization: shiftReq(orgless, { organizationId: `org_${uid(12)}` }),
      overlap: shiftReq(overlapped, { startMs: Date.now() - 2.5 * HOUR }),
      keyReused: shiftReq(keyThief, { idempotencyKey: used.idempotencyKey }),
    };
    // The refusals in the middle of the burst, all by the one caller.
    const reqs = vids.map((v) => shiftReq(v));
    Object.values(bad).forEach((req, i) => reqs.splice(6 + 7 * i, 0, req));
    const badAt = new Set(Object.values(bad).map((req) => reqs.indexOf(req)));
    const sizeBefore = await logTreeSize();
    const fallbacksBefore = fallbacks();
    const results = await burst(reqs, (i) => (badAt.has(i) ? caller : callers[i % callers.length]));
    const at = (req) => settled(results[reqs.indexOf(req)]);
    await expectCode(at(bad.unknownVolunteer), Code.NotFound, "volunteerId");
    await expectCode(at(bad.unknownOrganization), Code.NotFound, "organizationId");
    const err = await expectCode(at(bad.overlap), Code.FailedPrecondition, "startTime");
    assert.ok(err.rawMessage.includes(existing.id), `the overlap does not name ${existing.id}: ${err.rawMessage}`);
    await expectCode(at(bad.keyReused), Code.AlreadyExists, "idempotencyKey");
    reqs.forEach((req, i) => {
      if (!badAt.has(i)) checkReceipt(fulfilled(results[i], `valid call ${i}`), req.volunteerId, callers[i % callers.length].id);
    });
    // Nothing of the refused ones: no shift, no log entry, no key claimed.
    assert.equal(await logTreeSize(), sizeBefore + 30);
    assert.deepEqual([await shiftCount(orgless), await shiftCount(overlapped), await shiftCount(keyThief)], [0, 1, 0]);
    assert.equal(await shiftCount(bad.unknownVolunteer.volunteerId), 0);
    const claimed = [bad.unknownVolunteer, bad.unknownOrganization, bad.overlap].map((r) => `'${r.idempotencyKey}'`).join(",");
    assert.equal(await psqlQuery(`SELECT count(*) FROM idempotency_keys WHERE key IN (${claimed})`), "0", "a refused call claimed its key");
    assert.equal((await records(caller.secret).recordShift(used)).shift.id, owned.id, "the reused key's stored answer changed");
    assert.equal(fallbacks(), fallbacksBefore, "a refusal failed its whole batch, which was rerun call by call");
  });

  it("concurrent retries with one key in a burst store one shift, answered alike", async () => {
    const [vid, ...others] = await newVolunteers(21);
    const caller = callers[0];
    const retried = shiftReq(vid);
    // 10 copies of one request (half JSON, half binary: the key's request
    // hash must not depend on the wire format) among 20 other requests.
    const reqs = others.map((v) => shiftReq(v));
    for (let i = 0; i < 10; i++) reqs.splice(2 * i + 1, 0, { ...retried });
    const isRetry = (i) => reqs[i].volunteerId === vid;
    const sizeBefore = await logTreeSize();
    const results = await burst(reqs, (i) => (isRetry(i) ? { ...caller, format: FORMATS[i % 2] } : callers[i % callers.length]));
    const answers = results.map((r, i) => fulfilled(r, `call ${i}`));
    const retries = answers.filter((_, i) => isRetry(i));
    assert.equal(retries.length, 10);
    for (const res of retries) {
      const r = checkReceipt(res, vid, caller.id);
      assert.equal(res.shift.id, retries[0].shift.id, "retries answered different shifts");
      assert.equal(r.index, Number(retries[0].receipt.leafIndex), "retries answered different leaves");
    }
    assert.equal(await shiftCount(vid), 1);
    assert.equal(await logTreeSize(), sizeBefore + 21);
  });

  it("overlapping shifts of one volunteer in one burst: exactly one is stored", async () => {
    const [vid, ...others] = await newVolunteers(31);
    const base = Date.now() - 6 * HOUR;
    const reqs = others.map((v) => shiftReq(v));
    for (let i = 0; i < 10; i++) reqs.splice(3 * i + 1, 0, shiftReq(vid, { startMs: base + i * 60e3 }));
    const sizeBefore = await logTreeSize();
    const results = await burst(reqs);
    const mine = results.filter((_, i) => reqs[i].volunteerId === vid);
    const won = mine.filter((r) => r.status === "fulfilled");
    assert.equal(won.length, 1, `successes among the overlapping: ${won.length}`);
    for (const r of mine.filter((x) => x.status === "rejected")) {
      const err = await expectCode(settled(r), Code.FailedPrecondition, "startTime");
      assert.ok(err.rawMessage.includes(won[0].value.shift.id), `does not name the stored shift: ${err.rawMessage}`);
    }
    results.forEach((r, i) => {
      if (reqs[i].volunteerId !== vid) checkReceipt(fulfilled(r, `call ${i}`), reqs[i].volunteerId, callers[i % callers.length].id);
    });
    assert.equal(await shiftCount(vid), 1);
    assert.equal(await logTreeSize(), sizeBefore + 31);
  });

  it("calls with very short deadlines in a burst fail alone; the others stay batched", async () => {
    // A batch runs with its shortest deadline. Calls whose deadline passes
    // fail (before their batch, or with it); the others must go into the
    // next batch, not be rerun one call per transaction.
    const vids = await newVolunteers(36);
    const short = new Map([[3, 2], [9, 5], [15, 10], [21, 2], [27, 5], [33, 10]]); // call index -> Connect-Timeout-Ms
    const reqs = vids.map((v) => shiftReq(v));
    const sizeBefore = await logTreeSize();
    const fallbacksBefore = fallbacks();
    const results = await Promise.allSettled(reqs.map((req, i) =>
      records(callers[i % callers.length].secret, callers[i % callers.length].format)
        .recordShift(req, short.has(i) ? { timeoutMs: short.get(i) } : {})));
    let shortStored = 0;
    for (const [i, r] of results.entries()) {
      if (!short.has(i)) {
        checkReceipt(fulfilled(r, `call ${i}`), reqs[i].volunteerId, callers[i % callers.length].id);
      } else if (r.status === "rejected") {
        assert.equal(r.reason.code, Code.DeadlineExceeded, `short call ${i}: ${Code[r.reason.code]}: ${r.reason.rawMessage}`);
      }
      if (short.has(i)) shortStored += await shiftCount(reqs[i].volunteerId);
    }
    // Nothing is lost or doubled: the log grew by the calls that stored a shift.
    assert.equal(await logTreeSize(), sizeBefore + 30 + shortStored);
    assert.equal(fallbacks(), fallbacksBefore, "a deadline failed a batch that was then rerun call by call");
  });

  it("a replay is answered from the stored response, in either format", async () => {
    const [vid, other] = await newVolunteers(2);
    const caller = callers[0];
    const req = shiftReq(vid);
    const first = await records(caller.secret, "binary").recordShift(req);
    checkReceipt(first, vid, caller.id);
    // Grow the log, so that an answer made afresh would differ in its checkpoint.
    await records(caller.secret).recordShift(shiftReq(other));
    const size = await logTreeSize();
    assert.ok(size > Number(first.receipt.treeSize));
    for (const format of FORMATS) {
      const again = await records(caller.secret, format).recordShift({ ...req });
      assert.ok(
        Buffer.from(toBinary(RecordShiftResponse, again)).equals(Buffer.from(toBinary(RecordShiftResponse, first))),
        `the ${format} replay differs from the first answer`,
      );
    }
    assert.equal(await logTreeSize(), size, "a replay wrote to the log");
    assert.equal(await shiftCount(vid), 1);
  });
});
