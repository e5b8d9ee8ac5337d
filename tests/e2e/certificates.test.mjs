// CertificateService (issue 5): volunteer service certificates as W3C
// Verifiable Credentials 2.0 with an eddsa-jcs-2022 Data Integrity proof.
//
// Written from the issue and proto/vledger/v1/certificates.proto, not from
// the C code: every credential is checked with eddsa_jcs.mjs (an independent
// implementation of the cryptosuite from the W3C specs), the figures are
// computed here from the shifts the test recorded, and the logged hash is
// recomputed with `canonicalize` (RFC 8785).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createPrivateKey, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import {
  Code,
  STATE_DIR,
  buildRoleTree,
  expectCode,
  idNumber,
  key,
  logTreeSize,
  mustMessage,
  rawGet,
  receiptEntry,
  safeJson,
  toJson,
  tsSeconds,
  uid,
} from "./lib.mjs";
import {
  Category,
  CertStatus,
  DAY,
  HOUR,
  Level,
  MINUTE,
  NUMBER_RE,
  PUBLIC_URL,
  Result,
  ShiftStatus,
  certs,
  commendations,
  credentialDid,
  feedback,
  issue,
  recordShift,
  records,
  registerVolunteer,
  resultName,
  rfc3339,
  sec,
  ts,
  volunteers,
} from "./certificates_lib.mjs";
import {
  alterLeaf,
  didKeyFromPublicKey,
  didKeyPublicKey,
  ed,
  jcsSha256Hex,
  leafPaths,
  signDataIntegrity,
  verifyDataIntegrity,
} from "./eddsa_jcs.mjs";

const HEX64 = /^[0-9a-f]{64}$/;
const RFC3339_UTC_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const IA = Code.InvalidArgument;
const PD = Code.PermissionDenied;

/** Asserts `call()` fails with `code` (naming `field`), and that the log did not grow. */
async function expectRefused(call, code, field) {
  const before = await logTreeSize();
  const err = await expectCode(call(), code, field);
  assert.equal(await logTreeSize(), before, `the refused request (${err.rawMessage}) wrote to the log`);
  return err;
}

/** vledger's credential signing key (STATE_DIR/credential.key, the test daemon's own), as a 32-byte seed. */
function vledgerSecretKey() {
  const keyPath = path.join(STATE_DIR, "credential.key");
  assert.ok(existsSync(keyPath), `${keyPath} missing`);
  const jwk = createPrivateKey(readFileSync(keyPath)).export({ format: "jwk" });
  assert.equal(jwk.crv, "Ed25519");
  const seed = Buffer.from(jwk.d, "base64url");
  assert.deepEqual(ed.getPublicKey(seed), didKeyPublicKey(did), "credential.key is not the key of credential.did");
  return seed;
}

/** VerifyCertificate without a token. */
const verify = (req, format = "binary") => certs(null, format).verifyCertificate(req);

let tree;
let D; // secrets by role
let T; // token ids by role
let did; // vledger's credential key
let vol; // { id, personalData }
let period; // { fromMs, toMs }
let shifts; // by name
let commendation; // the one that counts
let main; // the IssueCertificate response (officeCommunity, the whole period), with doc
let expected; // figures computed here

before(async () => {
  tree = await buildRoleTree("CRT");
  D = Object.fromEntries(Object.entries(tree.tokens).map(([role, t]) => [role, t.secret]));
  T = Object.fromEntries(Object.entries(tree.tokens).map(([role, t]) => [role, t.token.id]));
  did = await credentialDid();

  vol = await registerVolunteer(D.officeCommunity, tree.orgs.team, { name: "陈晓明", phone: "+8613912345678", idNumber: idNumber() });
  const now = sec(Date.now());
  const from = now - 20 * DAY;
  const s = (args) => recordShift(D.officeCommunity, { volunteerId: vol.id, org: tree.orgs.team, ...args });
  const { team, siblingTeam } = tree.orgs;
  shifts = {
    // In the period: 285 minutes, elderly care 120 + testing site 165; team 165 + sibling team 120.
    A: await s({ category: Category.ELDERLY_CARE, startMs: from + 1 * DAY, minutes: 90, activity: "探访独居老人" }),
    B: await s({ org: siblingTeam, category: Category.TESTING_SITE, startMs: from + 5 * DAY, minutes: 120, activity: "核酸检测引导" }),
    C: await s({ category: Category.TESTING_SITE, startMs: from + 10 * DAY, minutes: 45, activity: "核酸检测引导" }),
    D: await s({ category: Category.ELDERLY_CARE, startMs: from + 15 * DAY, minutes: 30, activity: "探访独居老人" }),
    // Approved but outside: starts 30 minutes before `from` (ends inside), and 5 days before.
    straddle: await s({ category: Category.ELDERLY_CARE, startMs: from - 30 * MINUTE, minutes: 60, activity: "outside 1" }),
    before: await s({ org: team, category: Category.TESTING_SITE, startMs: from - 5 * DAY, minutes: 200, activity: "outside 2" }),
  };
  // In the period but not counted: pending, rejected, voided.
  const leader = (args) => recordShift(D.leaderTeam, { volunteerId: vol.id, org: team, category: Category.ELDERLY_CARE, activity: "not counted", ...args });
  shifts.pending = await leader({ startMs: from + 2 * DAY, minutes: 33 });
  assert.equal(shifts.pending.status, ShiftStatus.PENDING);
  shifts.rejected = await leader({ startMs: from + 3 * DAY, minutes: 44 });
  await records(D.officeCommunity).rejectShift({ shiftId: shifts.rejected.id, reason: "not this one", idempotencyKey: key() });
  shifts.voided = await s({ category: Category.OTHER, startMs: from + 4 * DAY, minutes: 55, activity: "not counted" });
  await records(D.officeCommunity).voidEntry({ entryId: shifts.voided.id, reason: "entered twice", idempotencyKey: key() });

  // Feedback: 4 and 5 on B (in the period), 1 on `before` (outside).
  const tickets = await feedback(D.officeCommunity).issueFeedbackTickets({ shiftId: shifts.B.id, count: 2, idempotencyKey: key() });
  await feedback(null).submitFeedback({ ticket: tickets.tickets[0], rating: 4, comment: "很好" });
  await feedback(null).submitFeedback({ ticket: tickets.tickets[1], rating: 5 });
  const outside = await feedback(D.officeCommunity).issueFeedbackTickets({ shiftId: shifts.before.id, count: 1, idempotencyKey: key() });
  await feedback(null).submitFeedback({ ticket: outside.tickets[0], rating: 1 });

  // Commendations: one counts, one voided.
  const award = (title) =>
    commendations(D.officeCommunity).awardCommendation({
      volunteerId: vol.id,
      organizationId: tree.orgs.community.id,
      level: Level.COMMUNITY,
      title,
      idempotencyKey: key(),
    });
  commendation = (await award("优秀志愿者")).commendation;
  const gone = (await award("撤销的表彰")).commendation;
  await records(D.officeCommunity).voidEntry({ entryId: gone.id, reason: "wrong volunteer", idempotencyKey: key() });

  // `to`: the next whole second after the commendation, so it is in [from, to).
  const toMs = sec(tsSeconds(commendation.awardTime) * 1000) + 1000;
  while (Date.now() <= toMs + 50) await new Promise((r) => setTimeout(r, 50));
  period = { fromMs: from, toMs };
  expected = {
    totalMinutes: 285,
    shiftCount: 4,
    minutesByCategory: { elderly_care: 120, testing_site: 165 },
    organizationsServed: { [team.id]: { name: team.name, minutes: 165 }, [siblingTeam.id]: { name: siblingTeam.name, minutes: 120 } },
    activities: ["探访独居老人", "核酸检测引导"],
    feedbackCount: 2,
    averageRating: "4.50",
    lifetimeMinutes: 285 + 60 + 200,
    starLevel: 0,
  };
  main = await issue(D.officeCommunity, { volunteerId: vol.id, from: ts(period.fromMs), to: ts(period.toMs) });
});

/** minutesByCategory as { category: minutes }, whatever of the two natural shapes it has. */
function categoryMap(v) {
  if (Array.isArray(v)) {
    const out = {};
    for (const e of v) {
      assert.equal(typeof e.category, "string", `minutesByCategory entry ${safeJson(e)}`);
      assert.equal(out[e.category], undefined, `category ${e.category} listed twice`);
      out[e.category] = e.minutes;
    }
    return out;
  }
  assert.ok(v && typeof v === "object", `minutesByCategory is ${safeJson(v)}`);
  return v;
}

function organizationMap(v) {
  assert.ok(Array.isArray(v), `organizationsServed is not an array: ${safeJson(v)}`);
  const out = {};
  for (const o of v) {
    assert.equal(out[o.id], undefined, `organisation ${o.id} listed twice`);
    out[o.id] = { name: o.name, minutes: o.minutes };
  }
  return out;
}

describe("IssueCertificate", () => {
  it("returns a numbered certificate whose credential is the documented VC 2.0 document", async () => {
    const c = main.certificate;
    const doc = main.doc;
    assert.match(c.number, NUMBER_RE);
    // The year of issue (UTC, or China Standard Time: they differ 8 hours a year).
    const issued = tsSeconds(c.issueTime) * 1000;
    const years = [new Date(issued).getUTCFullYear(), new Date(issued + 8 * HOUR).getUTCFullYear()].map(String);
    assert.ok(years.includes(c.number.slice(4, 8)), `the number's year ${c.number.slice(4, 8)}, issued ${new Date(issued).toISOString()}`);
    assert.equal(c.volunteerId, vol.id);
    assert.equal(c.organizationId, tree.orgs.community.id, "default issuer: the caller's organisation");
    assert.equal(c.status, CertStatus.VALID);
    assert.equal(c.title, "志愿服务证明 Volunteer Service Certificate");
    assert.equal(c.revokeReason, "");
    assert.equal(c.revokeTime, undefined);
    assert.ok(Math.abs(tsSeconds(c.issueTime) - Date.now() / 1000) < 120, "issueTime is now");

    assert.deepEqual(doc["@context"], ["https://www.w3.org/ns/credentials/v2"]);
    assert.equal(doc.id, `urn:vledger:certificate:${c.number}`);
    assert.deepEqual(doc.type, ["VerifiableCredential", "VolunteerServiceCredential"]);
    assert.equal(doc.name, c.title);
    assert.equal(doc.certificateNumber, c.number);
    assert.equal(doc.issuer.id, did);
    assert.equal(doc.issuer.name, tree.orgs.community.name);
    assert.equal(doc.issuer.organizationId, tree.orgs.community.id);
    assert.equal(doc.issuer.officer.tokenId, T.officeCommunity);
    assert.equal(doc.issuer.officer.name, tree.tokens.officeCommunity.token.description);
    assert.match(doc.validFrom, RFC3339_UTC_SECONDS);
    assert.equal(Date.parse(doc.validFrom) / 1000, Math.floor(tsSeconds(c.issueTime)), "validFrom is the issue time");
    assert.deepEqual(doc.credentialStatus, { id: `${PUBLIC_URL}/certificates/${c.number}/status`, type: "VledgerCertificateStatus" });

    const cs = doc.credentialSubject;
    assert.equal(cs.id, `urn:vledger:volunteer:${vol.id}`);
    assert.equal(cs.volunteerId, vol.id);
    assert.equal(cs.name, "陈晓明");
    assert.equal(cs.maskedIdNumber, "*".repeat(14) + vol.personalData.idNumber.slice(-4));
    assert.deepEqual(cs.period, { from: rfc3339(period.fromMs), to: rfc3339(period.toMs) });
    assert.equal(cs.totalMinutes, expected.totalMinutes);
    assert.equal(cs.shiftCount, expected.shiftCount);
    assert.deepEqual(categoryMap(cs.minutesByCategory), expected.minutesByCategory);
    assert.deepEqual(organizationMap(cs.organizationsServed), expected.organizationsServed);
    assert.deepEqual([...cs.activities].sort(), [...expected.activities].sort());
    assert.equal(cs.feedbackCount, expected.feedbackCount);
    assert.equal(cs.averageRating, expected.averageRating);
    assert.equal(cs.lifetimeMinutes, expected.lifetimeMinutes);
    assert.equal(cs.starLevel, expected.starLevel);
    assert.equal(cs.commendations.length, 1, `commendations: ${safeJson(cs.commendations)}`);
    assert.equal(cs.commendations[0].id, commendation.id);
    assert.equal(cs.commendations[0].title, "优秀志愿者");
    assert.match(cs.commendations[0].level, /community/i);
    // Nothing but what the issue lists: no phone, no full identity number anywhere.
    const text = c.credential;
    assert.ok(!text.includes(vol.personalData.phone.slice(3)), "the credential holds the phone number");
    assert.ok(!text.includes(vol.personalData.idNumber), "the credential holds the full identity number");
    assert.ok(!text.includes(vol.personalData.idNumber.slice(0, 6)), "the credential holds the start of the identity number");
    // JCS documents carry no fractions.
    for (const p of leafPaths(doc)) {
      let v = doc;
      for (const k of p) v = v[k];
      if (typeof v === "number") assert.ok(Number.isSafeInteger(v), `${p.join(".")} = ${v} is not an integer`);
    }
  });

  it("the figures agree with GetVolunteerSummary for the same period", async () => {
    const sum = (await records(D.officeCommunity).getVolunteerSummary({ volunteerId: vol.id, from: ts(period.fromMs), to: ts(period.toMs) })).summary;
    const cs = main.doc.credentialSubject;
    assert.equal(Number(sum.totalMinutes), cs.totalMinutes);
    assert.equal(sum.shiftCount, cs.shiftCount);
    assert.equal(Number(sum.lifetimeMinutes), cs.lifetimeMinutes);
    assert.equal(sum.feedbackCount, cs.feedbackCount);
    assert.equal(sum.averageRating.toFixed(2), cs.averageRating);
  });

  it("the proof verifies with an independent eddsa-jcs-2022 implementation, under vledger's did:key", async () => {
    const doc = main.doc;
    assert.equal(doc.proof.type, "DataIntegrityProof");
    assert.equal(doc.proof.cryptosuite, "eddsa-jcs-2022");
    assert.equal(doc.proof.proofPurpose, "assertionMethod");
    assert.equal(doc.proof.verificationMethod, `${did}#${did.slice("did:key:".length)}`);
    assert.match(doc.proof.created, RFC3339_UTC_SECONDS);
    const r = await verifyDataIntegrity(doc);
    assert.equal(r.ok, true, r.reason);
    assert.deepEqual(r.publicKey, didKeyPublicKey(did));
    // And as the raw text.
    assert.equal((await verifyDataIntegrity(main.certificate.credential)).ok, true);
  });

  it("the receipt is the certificate_issued entry with the number and SHA-256(JCS(credential)); no personal data in it", async () => {
    const c = main.certificate;
    const sha = jcsSha256Hex(main.doc);
    assert.equal(c.credentialSha256, sha);
    assert.ok(main.receipt, "no receipt");
    assert.equal(Number(main.receipt.leafIndex), Number(c.leafIndex));
    const { text, json } = receiptEntry(main.receipt);
    // ENTRIES.md: {"actor","certificate":{"credentialSha256","number","organizationId","period":{"from","to"},"volunteerId"},"kind","time"}
    assert.match(json.time, RFC3339_UTC_SECONDS);
    assert.deepEqual(json, {
      actor: T.officeCommunity,
      certificate: {
        credentialSha256: sha,
        number: c.number,
        organizationId: tree.orgs.community.id,
        period: { from: rfc3339(period.fromMs), to: rfc3339(period.toMs) },
        volunteerId: vol.id,
      },
      kind: "certificate_issued",
      time: json.time,
    });
    assert.ok(Math.abs(Date.parse(json.time) / 1000 - tsSeconds(c.issueTime)) <= 1, "entry time is the issue time");
    for (const secret of [vol.personalData.name, vol.personalData.idNumber, vol.personalData.phone, main.doc.credentialSubject.maskedIdNumber]) {
      assert.ok(!text.includes(secret), `the entry holds personal data ${JSON.stringify(secret)}: ${text}`);
    }
    assert.ok(!text.includes(main.doc.proof.proofValue), "the entry holds the credential itself");
  });

  it("JSON clients get the same kind of credential; a period bounded by shift starts counts [from, to)", async () => {
    // From B's start (included) to C's start (excluded): only B. Issued by a
    // sub-district office naming its own organisation. The commendation was
    // awarded after `to`: not listed.
    const res = await issue(
      D.officeSubdistrict,
      { volunteerId: vol.id, from: shifts.B.startTime, to: shifts.C.startTime, organizationId: tree.orgs.subdistrict.id, title: "证明 B" },
      "json",
    );
    const doc = res.doc;
    assert.equal(res.certificate.organizationId, tree.orgs.subdistrict.id);
    assert.equal(doc.issuer.name, tree.orgs.subdistrict.name);
    assert.equal(doc.issuer.officer.tokenId, T.officeSubdistrict);
    assert.equal(doc.name, "证明 B");
    const cs = doc.credentialSubject;
    assert.equal(cs.totalMinutes, 120);
    assert.equal(cs.shiftCount, 1);
    assert.deepEqual(categoryMap(cs.minutesByCategory), { testing_site: 120 });
    assert.deepEqual(organizationMap(cs.organizationsServed), { [tree.orgs.siblingTeam.id]: { name: tree.orgs.siblingTeam.name, minutes: 120 } });
    assert.deepEqual(cs.activities, ["核酸检测引导"]);
    assert.equal(cs.feedbackCount, 2);
    assert.equal(cs.averageRating, "4.50");
    assert.deepEqual(cs.commendations, []);
    assert.equal(cs.lifetimeMinutes, expected.lifetimeMinutes);
    assert.notEqual(res.certificate.number, main.certificate.number);
    const r = await verifyDataIntegrity(doc);
    assert.equal(r.ok, true, r.reason);
    assert.equal(res.certificate.credentialSha256, jcsSha256Hex(doc));
    assert.equal(receiptEntry(res.receipt).json.kind, "certificate_issued");
  });

  it("an admin may issue; with no shifts in the period every figure is zero", async () => {
    const now = sec(Date.now());
    const res = await issue(D.admin, { volunteerId: vol.id, from: ts(now - 400 * DAY), to: ts(now - 300 * DAY), title: "x".repeat(100) });
    const cs = res.doc.credentialSubject;
    assert.equal(res.certificate.organizationId, tree.orgs.team.id, "admin default: the volunteer's organisation");
    assert.equal(res.doc.name, "x".repeat(100));
    assert.equal(cs.totalMinutes, 0);
    assert.equal(cs.shiftCount, 0);
    assert.deepEqual(categoryMap(cs.minutesByCategory), {});
    assert.deepEqual(cs.organizationsServed, []);
    assert.equal(cs.feedbackCount, 0);
    assert.equal(cs.averageRating, "0.00");
    assert.deepEqual(cs.commendations, []);
    assert.equal(cs.lifetimeMinutes, expected.lifetimeMinutes);
    assert.equal((await verifyDataIntegrity(res.doc)).ok, true);
  });

  it("a volunteer without an identity number gets an empty maskedIdNumber", async () => {
    const v = await registerVolunteer(D.officeCommunity, tree.orgs.siblingTeam, { name: "林" });
    const now = sec(Date.now());
    const res = await issue(D.officeCommunity, { volunteerId: v.id, from: ts(now - DAY), to: ts(now - 1000) });
    assert.equal(res.doc.credentialSubject.name, "林");
    assert.equal(res.doc.credentialSubject.maskedIdNumber, "");
  });
});

describe("tampering", () => {
  it("changing any single leaf of the credential (proof included) fails verification here and at VerifyCertificate", async () => {
    const paths = leafPaths(main.doc);
    assert.ok(paths.length >= 40, `only ${paths.length} leaves: ${safeJson(paths)}`);
    const failures = [];
    for (const p of paths) {
      const altered = alterLeaf(main.doc, p);
      const mine = await verifyDataIntegrity(altered);
      if (mine.ok) failures.push(`${p.join(".")}: verifies with eddsa_jcs.mjs`);
      const res = await verify({ credential: JSON.stringify(altered) });
      if (res.result !== Result.INVALID || res.reason === "") {
        failures.push(`${p.join(".")}: VerifyCertificate ${resultName(res.result)} ${JSON.stringify(res.reason)}`);
      }
    }
    assert.deepEqual(failures, []);
  });

  it("adding or removing a member, or adding a proof set, is INVALID", async () => {
    const variants = {
      added: { ...main.doc, extra: "x" },
      addedInSubject: { ...main.doc, credentialSubject: { ...main.doc.credentialSubject, bonusMinutes: 600 } },
      removed: (() => {
        const d = structuredClone(main.doc);
        delete d.credentialSubject.commendations;
        return d;
      })(),
      noProof: (() => {
        const d = structuredClone(main.doc);
        delete d.proof;
        return d;
      })(),
      proofSet: { ...main.doc, proof: [main.doc.proof] },
    };
    for (const [what, d] of Object.entries(variants)) {
      assert.equal((await verifyDataIntegrity(d)).ok, false, what);
      const res = await verify({ credential: JSON.stringify(d) });
      assert.equal(resultName(res.result), "INVALID", `${what}: ${res.reason}`);
      assert.notEqual(res.reason, "", what);
    }
  });

  it("member order and whitespace are not content: a reformatted credential is VALID", async () => {
    const reversed = (v) =>
      Array.isArray(v) ? v.map(reversed) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reversed(x)])) : v;
    const res = await verify({ credential: JSON.stringify(reversed(main.doc), null, 2) });
    assert.equal(resultName(res.result), "VALID", res.reason);
    assert.equal(res.number, main.certificate.number);
  });

  it("a credential re-signed with another Ed25519 key is INVALID: unknown key", async () => {
    const sk = randomBytes(32);
    const forged = signDataIntegrity({ ...main.doc, credentialSubject: { ...main.doc.credentialSubject, totalMinutes: 99999 } }, sk, {
      created: main.doc.proof.created,
    });
    const mine = await verifyDataIntegrity(forged);
    assert.equal(mine.ok, true, "the forgery must be well-formed: " + mine.reason);
    assert.deepEqual(mine.publicKey, ed.getPublicKey(sk));
    const res = await verify({ credential: JSON.stringify(forged) });
    assert.equal(resultName(res.result), "INVALID");
    assert.match(res.reason, /unknown key/i);
    // Unchanged content, another key: still unknown.
    const resigned = signDataIntegrity(main.doc, sk, { created: main.doc.proof.created });
    const res2 = await verify({ credential: JSON.stringify(resigned) });
    assert.equal(resultName(res2.result), "INVALID");
    assert.match(res2.reason, /unknown key/i);
    // Another key claiming to be vledger's: the signature does not verify.
    const claimed = signDataIntegrity(main.doc, sk, { created: main.doc.proof.created, verificationMethod: main.doc.proof.verificationMethod });
    assert.equal((await verifyDataIntegrity(claimed)).ok, false);
    const res3 = await verify({ credential: JSON.stringify(claimed) });
    assert.equal(resultName(res3.result), "INVALID");
    assert.match(res3.reason, /signature/i);
  });

  it("a credential signed with vledger's own key but never issued is INVALID: not in the log", async () => {
    const seed = vledgerSecretKey();
    const vm = main.doc.proof.verificationMethod;
    // The real number with more minutes.
    const inflated = signDataIntegrity({ ...main.doc, credentialSubject: { ...main.doc.credentialSubject, totalMinutes: 99999 } }, seed, {
      created: main.doc.proof.created,
      verificationMethod: vm,
    });
    assert.equal((await verifyDataIntegrity(inflated)).ok, true);
    const res = await verify({ credential: JSON.stringify(inflated) });
    assert.equal(resultName(res.result), "INVALID", res.reason);
    assert.match(res.reason, /not in the log/i);
    // A number that was never issued.
    const number = "VLC-2026-0000-0000-0000";
    const invented = signDataIntegrity({ ...main.doc, id: `urn:vledger:certificate:${number}`, certificateNumber: number }, seed, { verificationMethod: vm });
    const res2 = await verify({ credential: JSON.stringify(invented) });
    assert.equal(resultName(res2.result), "INVALID", res2.reason);
    assert.match(res2.reason, /not in the log/i);
  });

  it("a proof without a proof @context (Create Proof step 2 is only advised) is verified as the Recommendation says", async () => {
    // Data Integrity EdDSA Cryptosuites v1.0 (REC 2025-05-15) §3.3.2 Verify
    // Proof: the document's @context is substituted only "if
    // proofOptions.@context exists"; §3.3.5 Proof Configuration hashes the
    // proof options as they are. So the same credential re-signed by
    // vledger's own key without a proof @context is a valid proof of an
    // issued credential... whose JCS differs from the logged one (the proof
    // changed), hence "not in the log", but never "signature does not verify".
    const seed = vledgerSecretKey();
    const bare = signDataIntegrity(main.doc, seed, { created: main.doc.proof.created, verificationMethod: main.doc.proof.verificationMethod, context: false });
    assert.equal("@context" in bare.proof, false);
    assert.equal((await verifyDataIntegrity(bare)).ok, true);
    const res = await verify({ credential: JSON.stringify(bare) });
    assert.equal(resultName(res.result), "INVALID");
    assert.match(res.reason, /not in the log/, "vledger does not verify a conformant proof without a proof @context");
    // Another key, no proof @context: the key is unknown (the signature itself is good).
    const other = signDataIntegrity(main.doc, randomBytes(32), { created: main.doc.proof.created, context: false });
    const res2 = await verify({ credential: JSON.stringify(other) });
    assert.equal(resultName(res2.result), "INVALID");
    assert.match(res2.reason, /unknown key/i, "vledger does not verify a conformant proof without a proof @context");
  });

  it("a credential with a NUL byte is not the credential", async () => {
    // Binary protobuf carries the string as is; JSON clients cannot send NUL (refused by the codec).
    for (const text of [main.certificate.credential + "\u0000junk", "\u0000" + main.certificate.credential]) {
      let outcome;
      try {
        const res = await verify({ credential: text });
        outcome = `${resultName(res.result)} ${res.reason}`;
      } catch (e) {
        assert.equal(e.code, IA, e.rawMessage);
        assert.match(e.rawMessage, /credential/);
        continue;
      }
      assert.match(outcome, /^INVALID ./, `${JSON.stringify(text.slice(0, 12))}...${JSON.stringify(text.slice(-8))} -> ${outcome}`);
    }
  });

  it("malformed credentials are an INVALID verdict, not an RPC error", async () => {
    for (const text of ["{", "not json", "[]", "null", "42", '"x"', "{}", '{"proof":1}', '{"proof":{}}', "\ufeff{}"]) {
      const res = await verify({ credential: text });
      assert.equal(resultName(res.result), "INVALID", `${JSON.stringify(text)}: ${res.reason}`);
      assert.notEqual(res.reason, "", JSON.stringify(text));
    }
  });
});

describe("VerifyCertificate and GetCertificate", () => {
  it("by number and by credential: VALID, with the credential and leaf index; public (no token), binary and JSON", async () => {
    for (const format of ["binary", "json"]) {
      for (const req of [{ number: main.certificate.number }, { credential: main.certificate.credential }]) {
        const res = await verify(req, format);
        assert.equal(resultName(res.result), "VALID", `${format} ${Object.keys(req)}: ${res.reason}`);
        assert.equal(res.number, main.certificate.number);
        assert.equal(Number(res.leafIndex), Number(main.certificate.leafIndex));
        assert.deepEqual(JSON.parse(res.credential), main.doc);
        assert.equal(res.revokeReason, "");
        assert.equal(res.revokeTime, undefined);
      }
    }
  });

  it("an unknown number is NOT_FOUND; a malformed one too", async () => {
    for (const number of ["VLC-2026-0000-0000-0000", "VLC-2026-ZZZZ-ZZZZ-ZZZZ", "abc", "VLC-2026-0000-0000-000I"]) {
      const res = await verify({ number });
      assert.equal(resultName(res.result), "NOT_FOUND", `${number}: ${res.reason}`);
      assert.notEqual(res.reason, "");
      assert.equal(res.credential, "");
    }
  });

  it("both a credential and a number, or neither, is invalid_argument", async () => {
    await expectCode(verify({ number: main.certificate.number, credential: main.certificate.credential }), IA, ["credential", "number"]);
    await expectCode(verify({}), IA, ["credential", "number"]);
  });

  it("GetCertificate returns the same certificate and a receipt for the certificate_issued entry; public", async () => {
    const res = await certs(null).getCertificate({ number: main.certificate.number });
    const c = res.certificate;
    assert.equal(c.number, main.certificate.number);
    assert.equal(c.status, CertStatus.VALID);
    assert.equal(c.volunteerId, vol.id);
    assert.equal(c.organizationId, tree.orgs.community.id);
    assert.equal(c.title, main.certificate.title);
    assert.equal(c.credentialSha256, main.certificate.credentialSha256);
    assert.equal(Number(c.leafIndex), Number(main.certificate.leafIndex));
    assert.equal(tsSeconds(c.issueTime), tsSeconds(main.certificate.issueTime));
    assert.deepEqual(JSON.parse(c.credential), main.doc);
    assert.equal(Number(res.receipt.leafIndex), Number(main.certificate.leafIndex));
    assert.deepEqual(receiptEntry(res.receipt).json, receiptEntry(main.receipt).json);
    assert.ok(Number(res.receipt.treeSize) >= Number(main.receipt.treeSize));
  });

  it("GetCertificate of an unknown number is not_found", async () => {
    await expectCode(certs(null).getCertificate({ number: "VLC-2026-0000-0000-0000" }), Code.NotFound, "number");
    await expectCode(certs(null).getCertificate({ number: "nonsense" }), [Code.NotFound, IA], "number");
  });
});

describe("RevokeCertificate", () => {
  let rc; // a certificate to revoke
  before(async () => {
    const now = sec(Date.now());
    rc = await issue(D.officeCommunity, { volunteerId: vol.id, from: ts(now - 30 * DAY), to: ts(now - 1000), title: "将被撤销" });
  });

  it("refusals write nothing", async () => {
    const number = rc.certificate.number;
    const req = (over = {}) => ({ number, reason: "issued in error", idempotencyKey: key("rvk"), ...over });
    await expectRefused(() => certs(null).revokeCertificate(req()), Code.Unauthenticated);
    await expectRefused(() => certs(D.leaderTeam).revokeCertificate(req()), PD);
    await expectRefused(() => certs(D.employer).revokeCertificate(req()), PD);
    await expectRefused(() => certs(D.auditor).revokeCertificate(req()), PD);
    await expectRefused(() => certs(D.officeSiblingCommunity).revokeCertificate(req()), PD);
    await expectRefused(() => certs(D.officeCommunity).revokeCertificate(req({ reason: "" })), IA, "reason");
    await expectRefused(() => certs(D.officeCommunity).revokeCertificate(req({ reason: "因".repeat(501) })), IA, "reason");
    await expectRefused(() => certs(D.officeCommunity).revokeCertificate(req({ idempotencyKey: "" })), IA, "idempotencyKey");
    await expectRefused(() => certs(D.officeCommunity).revokeCertificate(req({ number: "VLC-2026-0000-0000-0000" })), Code.NotFound, "number");
    await expectRefused(() => certs(D.officeCommunity).revokeCertificate(req({ number: "" })), [IA, Code.NotFound], "number");
    assert.equal(resultName((await verify({ number })).result), "VALID");
  });

  it("an office at or above the issuer revokes: certificate_revoked entry; REVOKED by number, by credential and in GetCertificate", async () => {
    const number = rc.certificate.number;
    const reason = "颁发有误 issued in error";
    const sizeBefore = await logTreeSize();
    const t0 = Date.now() / 1000;
    const idem = key("rvk");
    const res = await certs(D.officeSubdistrict).revokeCertificate({ number, reason, idempotencyKey: idem });
    assert.equal(res.certificate.number, number);
    assert.equal(res.certificate.status, CertStatus.REVOKED);
    assert.equal(res.certificate.revokeReason, reason);
    assert.ok(Math.abs(tsSeconds(res.certificate.revokeTime) - t0) < 60, "revokeTime is now");
    assert.equal(Number(res.receipt.leafIndex), sizeBefore);
    const { json, text } = receiptEntry(res.receipt);
    // ENTRIES.md: {"actor","certificate":{"credentialSha256","number","reason"},"kind","time"}
    assert.deepEqual(json, {
      actor: T.officeSubdistrict,
      certificate: { credentialSha256: rc.certificate.credentialSha256, number, reason },
      kind: "certificate_revoked",
      time: json.time,
    });
    assert.match(json.time, RFC3339_UTC_SECONDS);
    assert.ok(!text.includes(vol.personalData.name), "the entry names the volunteer");
    assert.equal(await logTreeSize(), sizeBefore + 1);

    // A retry with the same key: the same answer, nothing written.
    const again = await certs(D.officeSubdistrict).revokeCertificate({ number, reason, idempotencyKey: idem });
    assert.equal(Number(again.receipt.leafIndex), sizeBefore);
    assert.equal(await logTreeSize(), sizeBefore + 1);

    for (const req of [{ number }, { credential: rc.certificate.credential }]) {
      const v = await verify(req);
      assert.equal(resultName(v.result), "REVOKED", `${Object.keys(req)}: ${v.reason}`);
      assert.equal(v.revokeReason, reason);
      assert.equal(v.reason, reason);
      assert.equal(tsSeconds(v.revokeTime), tsSeconds(res.certificate.revokeTime));
      assert.equal(v.number, number);
      assert.deepEqual(JSON.parse(v.credential), rc.doc);
    }
    const got = (await certs(null).getCertificate({ number })).certificate;
    assert.equal(got.status, CertStatus.REVOKED);
    assert.equal(got.revokeReason, reason);
    assert.equal(tsSeconds(got.revokeTime), tsSeconds(res.certificate.revokeTime));
    // The credential's own proof still verifies: revocation lives in vledger, not in the document.
    assert.equal((await verifyDataIntegrity(rc.doc)).ok, true);
    // A tampered copy of a revoked credential is INVALID, not REVOKED.
    const t = await verify({ credential: JSON.stringify(alterLeaf(rc.doc, ["credentialSubject", "totalMinutes"])) });
    assert.equal(resultName(t.result), "INVALID");
  });

  it("revoking a revoked certificate again writes nothing", async () => {
    // Neither the proto nor the README says which: failed_precondition or
    // the first revocation's answer; never a second certificate_revoked entry.
    const number = rc.certificate.number;
    const before = await logTreeSize();
    let outcome;
    try {
      const res = await certs(D.officeCommunity).revokeCertificate({ number, reason: "again", idempotencyKey: key("rvk") });
      outcome = `ok: ${res.certificate.revokeReason}`;
      assert.equal(res.certificate.status, CertStatus.REVOKED);
      assert.equal(res.certificate.revokeReason, "颁发有误 issued in error", "a second revocation changed the reason");
    } catch (e) {
      assert.equal(e.code, Code.FailedPrecondition, `revoking again: ${e.rawMessage}`);
      outcome = `failed_precondition: ${e.rawMessage}`;
    }
    assert.equal(await logTreeSize(), before, `revoking again wrote to the log (${outcome})`);
    console.log(`# revoking again -> ${outcome}`);
  });
});

describe("IssueCertificate refusals and idempotency", () => {
  const base = (over = {}) => ({
    volunteerId: vol.id,
    from: ts(period.fromMs),
    to: ts(period.toMs),
    title: "证明",
    idempotencyKey: key("crt"),
    ...over,
  });

  it("who may not issue: no token, team leader, employer, auditor, an office out of reach", async () => {
    await expectRefused(() => certs(null).issueCertificate(base()), Code.Unauthenticated);
    for (const role of ["leaderTeam", "employer", "auditor", "officeSiblingCommunity"]) {
      await expectRefused(() => certs(D[role]).issueCertificate(base()), PD);
    }
  });

  it("the issuing organisation must be in reach and at or above the volunteer", async () => {
    await expectRefused(() => certs(D.officeCommunity).issueCertificate(base({ organizationId: tree.orgs.district.id })), PD, "organizationId");
    await expectRefused(
      () => certs(D.officeSubdistrict).issueCertificate(base({ organizationId: tree.orgs.siblingCommunity.id })),
      [PD, IA, Code.FailedPrecondition],
      ["organizationId", "volunteerId"],
    );
    await expectRefused(
      () => certs(D.admin).issueCertificate(base({ organizationId: "org_000000000000000000000000" })),
      [Code.NotFound, IA],
      "organizationId",
    );
  });

  it("unknown volunteer: not_found", async () => {
    await expectRefused(() => certs(D.admin).issueCertificate(base({ volunteerId: "vol_000000000000000000000000" })), Code.NotFound, "volunteerId");
  });

  it("missing or broken fields: invalid_argument naming the field", async () => {
    const now = sec(Date.now());
    const cases = [
      ["volunteerId", base({ volunteerId: "" })],
      ["from", base({ from: undefined })],
      ["to", base({ to: undefined })],
      ["title", base({ title: "" })],
      ["idempotencyKey", base({ idempotencyKey: "" })],
      [["to", "from"], base({ from: ts(now - DAY), to: ts(now - 2 * DAY) })],
      [["to", "from"], base({ from: ts(now - DAY), to: ts(now - DAY) })],
      ["to", base({ to: ts(now + 2 * HOUR) })],
      ["title", base({ title: "证".repeat(101) })],
      ["title", base({ title: "line\nbreak" })],
      ["title", base({ title: "bell\u0007" })],
      ["title", base({ title: "tab\there" })],
    ];
    for (const [field, req] of cases) {
      if (req.from === undefined) delete req.from;
      if (req.to === undefined) delete req.to;
      await expectRefused(() => certs(D.officeCommunity).issueCertificate(req), IA, field);
    }
  });

  it("DEL (U+007F) is a control character in a title too, as CommendationService's title rule has it", async () => {
    await expectRefused(() => certs(D.officeCommunity).issueCertificate(base({ title: "del\u007f" })), IA, "title");
  });

  it("a volunteer whose personal data was erased cannot get a certificate", async () => {
    const v = await registerVolunteer(D.officeCommunity, tree.orgs.team, { name: "王芳", idNumber: idNumber() });
    await volunteers(D.officeCommunity).eraseVolunteerPersonalData({ volunteerId: v.id, reason: "asked to", idempotencyKey: key() });
    await expectRefused(() => certs(D.officeCommunity).issueCertificate(base({ volunteerId: v.id })), [Code.FailedPrecondition, IA], "volunteerId");
  });

  it("the same key and request returns the first certificate; the same key with another request is already_exists", async () => {
    const req = base({ title: "幂等 " + uid(3) });
    const first = await issue(D.officeCommunity, req);
    const size = await logTreeSize();
    const second = await issue(D.officeCommunity, req);
    assert.equal(second.certificate.number, first.certificate.number);
    assert.equal(second.certificate.credentialSha256, first.certificate.credentialSha256);
    assert.deepEqual(second.doc, first.doc);
    assert.equal(Number(second.receipt.leafIndex), Number(first.receipt.leafIndex));
    assert.equal(await logTreeSize(), size, "the retry wrote to the log");
    await expectRefused(() => certs(D.officeCommunity).issueCertificate({ ...req, title: "another title" }), Code.AlreadyExists, "idempotencyKey");
  });
});

// ---------------------------------------------------------------------------
// The CLI: vledger verify-certificate.

const VLEDGER = path.join(process.env.VLEDGER_BIN || "", "vledger");

function run(args, { timeoutMs = 20000 } = {}) {
  return new Promise((resolve, reject) => {
    execFile(VLEDGER, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err && typeof err.code !== "number") return reject(err);
      resolve({ code: err ? err.code : 0, stdout, stderr });
    });
  });
}

describe("vledger verify-certificate", () => {
  let dir;
  let vkey; // the log's verifier key file
  const receiptJson = (receipt) => JSON.stringify(toJson(mustMessage("vledger.v1.Receipt"), receipt));
  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "vledger-cert-cli-"));
    const res = await rawGet("/log/vkey", { token: null });
    assert.equal(res.status, 200, "GET /log/vkey");
    vkey = path.join(dir, "log.vkey");
    writeFileSync(vkey, res.text);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("documents --key, --receipt and --vkey", async () => {
    assert.ok(existsSync(VLEDGER), `${VLEDGER} missing`);
    const help = await run(["verify-certificate", "--help"]);
    const text = help.stdout + help.stderr;
    assert.match(text, /verify-certificate --key KEY/);
    assert.match(text, /--receipt/);
    assert.match(text, /--vkey/);
  });

  it("exit 0 for the issued credential (alone, and with its receipt), non-zero when tampered, for another key or another entry's receipt", async () => {
    const good = path.join(dir, "good.json");
    writeFileSync(good, main.certificate.credential);
    const didFile = path.join(STATE_DIR, "credential.did");
    const receiptFile = path.join(dir, "receipt.json");
    writeFileSync(receiptFile, receiptJson(main.receipt));
    const tampered = path.join(dir, "tampered.json");
    writeFileSync(tampered, JSON.stringify(alterLeaf(main.doc, ["credentialSubject", "totalMinutes"])));
    const expectRun = async (args, want, what) => {
      const r = await run(["verify-certificate", ...args]);
      if (want === 0) assert.equal(r.code, 0, `${what}: exit ${r.code}: ${r.stdout}${r.stderr}`);
      else assert.notEqual(r.code, 0, `${what}: exit 0: ${r.stdout}${r.stderr}`);
      return r;
    };
    await expectRun(["--key", did, good], 0, "good, key inline");
    await expectRun(["--key", didFile, good], 0, "good, key file");
    await expectRun(["--key", did, good, "--receipt", receiptFile, "--vkey", vkey], 0, "good with its receipt");
    // The whole IssueCertificate JSON response as both (README: "an IssueCertificate or GetCertificate JSON response").
    const { doc: _doc, ...response } = main;
    const responseFile = path.join(dir, "issue-response.json");
    writeFileSync(responseFile, JSON.stringify(toJson(mustMessage("vledger.v1.IssueCertificateResponse"), response)));
    await expectRun(["--key", did, responseFile, "--receipt", responseFile, "--vkey", vkey], 0, "the IssueCertificate response");
    await expectRun(["--key", did, good, "--receipt", receiptFile], 1, "--receipt without --vkey");
    await expectRun(["--key", did, tampered], 1, "tampered");
    await expectRun(["--key", did, tampered, "--receipt", receiptFile, "--vkey", vkey], 1, "tampered with the good receipt");
    await expectRun(["--key", didKeyFromPublicKey(ed.getPublicKey(randomBytes(32))), good], 1, "another key");
    // A credential re-signed by another key, checked against that key, is
    // fine offline; with the receipt it is not the logged credential.
    const sk = randomBytes(32);
    const forged = path.join(dir, "forged.json");
    writeFileSync(forged, JSON.stringify(signDataIntegrity(main.doc, sk)));
    await expectRun(["--key", didKeyFromPublicKey(ed.getPublicKey(sk)), forged, "--receipt", receiptFile, "--vkey", vkey], 1, "re-signed, with the receipt");
    // The receipt of another entry does not vouch for this credential.
    const shiftReceipt = (
      await records(D.officeCommunity).recordShift({
        volunteerId: vol.id,
        organizationId: tree.orgs.team.id,
        category: Category.OTHER,
        startTime: ts(sec(Date.now()) - 3 * HOUR),
        endTime: ts(sec(Date.now()) - 2 * HOUR),
        activity: "cli",
        place: "cli",
        idempotencyKey: key(),
      })
    ).receipt;
    const otherReceipt = path.join(dir, "other-receipt.json");
    writeFileSync(otherReceipt, receiptJson(shiftReceipt));
    await expectRun(["--key", did, good, "--receipt", otherReceipt, "--vkey", vkey], 1, "another entry's receipt");
  });
});
