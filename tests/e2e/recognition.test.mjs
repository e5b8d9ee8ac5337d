// The volunteer role and RecognitionService: volunteer tokens and what they
// may read; share grants (a volunteer's consent) and their refusals, which
// write nothing; employers' lookups, whose attestations hold only what the
// grant includes for its period and carry a Data Integrity proof checked
// here by an independent implementation (eddsa_jcs.mjs); the one answer for
// every code that opens nothing; the access list; batches.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { before, describe, it } from "node:test";

import {
  Code,
  buildRoleTree,
  createOrg,
  createToken,
  expectCode,
  key,
  Kind,
  logTreeSize,
  psqlQuery,
  receiptEntry,
  registry,
  Role,
  serviceClient,
  sleep,
  STATE_DIR,
  timestampFromDate,
  tsSeconds,
  uid,
} from "./lib.mjs";

const ADMIN = "vledger.v1.AdminService";
const RECORDS = "vledger.v1.RecordsService";
const VOLUNTEERS = "vledger.v1.VolunteerService";
const FEEDBACK = "vledger.v1.FeedbackService";
const COMMENDATIONS = "vledger.v1.CommendationService";
const POINTS = "vledger.v1.PointsService";
const RECOGNITION = "vledger.v1.RecognitionService";

function enumOf(name, prefix) {
  const e = registry.getEnum(name);
  if (!e) throw new Error(`enum ${name} not in the descriptor set`);
  return Object.fromEntries(e.values.map((v) => [v.name.slice(prefix.length), v.number]));
}
const Roles = enumOf("vledger.v1.Role", "ROLE_");
const Category = enumOf("vledger.v1.ShiftCategory", "SHIFT_CATEGORY_");
const Status = enumOf("vledger.v1.ShiftStatus", "SHIFT_STATUS_");
const Level = enumOf("vledger.v1.CommendationLevel", "COMMENDATION_LEVEL_");
const Scope = enumOf("vledger.v1.ShareScope", "SHARE_SCOPE_");

const MINUTE = 60e3;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const ts = (ms) => timestampFromDate(new Date(ms));
const SHARE_CODE = /^VLS(-[0-9A-HJKMNP-TV-Z]{4}){5}$/;
const GRANT_ID = /^shg_[0-9a-f]{24}$/;
const sha256hex = (s) => createHash("sha256").update(s).digest("hex");
const sql = (s) => `'${String(s).replace(/'/g, "''")}'`;

// The independent verifier of eddsa-jcs-2022 proofs (written apart from
// services/crypto/vc.c, on @noble/ed25519 and canonicalize).
// Proofs must verify under the daemon's credential key (its did:key is in
// STATE_DIR/credential.did), not merely under whatever key they name.
let verifyDataIntegrity, jcsSha256Hex, serverKey;
const serverDid = () => readFileSync(path.join(STATE_DIR, "credential.did"), "utf8").trim();
async function verifier() {
  if (!verifyDataIntegrity) {
    const file = new URL("./eddsa_jcs.mjs", import.meta.url);
    assert.ok(existsSync(file), "tests/e2e/eddsa_jcs.mjs (the independent proof verifier) is missing");
    const mod = await import(file.href);
    jcsSha256Hex = mod.jcsSha256Hex;
    serverKey = mod.didKeyPublicKey(serverDid());
    verifyDataIntegrity = (doc) => mod.verifyDataIntegrity(doc, { publicKey: serverKey });
  }
  return verifyDataIntegrity;
}

let tree;
let O; // organisations
let D; // secrets by role name
let T; // token ids by role name
let employer2; // { org, secret, id }: a second employer
before(async () => {
  tree = await buildRoleTree("REC");
  O = tree.orgs;
  D = Object.fromEntries(Object.entries(tree.tokens).map(([role, t]) => [role, t.secret]));
  T = Object.fromEntries(Object.entries(tree.tokens).map(([role, t]) => [role, t.token.id]));
  const org = await createOrg(serviceClient(ADMIN), { name: `REC employer 2 ${uid()}`, kind: Kind.EMPLOYER });
  const t = await createToken(serviceClient(ADMIN), { role: Role.EMPLOYER, organizationId: org.id });
  employer2 = { org, secret: t.secret, id: t.token.id };
});

const as = (service, secret) => serviceClient(service, { token: secret });
const recognition = (secret) => as(RECOGNITION, secret);

async function newVolunteer(org = O.team) {
  const res = await as(VOLUNTEERS, D.admin).registerVolunteer({
    organizationId: org.id,
    personalData: { name: `Recognition volunteer ${uid()}` },
    idempotencyKey: key("vol"),
  });
  return res.volunteer.id;
}

/** A volunteer token made by `secret` (default admin); returns { token, secret, receipt }. */
async function volunteerToken(volunteerId, secret = D.admin, extra = {}) {
  const res = await as(ADMIN, secret).createToken({
    role: Roles.VOLUNTEER,
    volunteerId,
    description: `volunteer ${uid(3)}`,
    idempotencyKey: key("vtok"),
    ...extra,
  });
  return { token: res.token, secret: res.secret, receipt: res.receipt };
}

/** An approved shift (recorded by the community office) starting at startMs. */
async function shift(volunteerId, startMs, minutes, { category = Category.ELDERLY_CARE, org = O.team, by = D.officeCommunity } = {}) {
  const res = await as(RECORDS, by).recordShift({
    volunteerId,
    organizationId: org.id,
    category,
    startTime: ts(startMs),
    endTime: ts(startMs + minutes * MINUTE),
    activity: "service",
    place: "building 3",
    idempotencyKey: key("shf"),
  });
  return res.shift;
}

async function feedback(shiftId, ratings) {
  const issued = await as(FEEDBACK, D.admin).issueFeedbackTickets({ shiftId, count: ratings.length, idempotencyKey: key("tkt") });
  for (let i = 0; i < ratings.length; i++) {
    await serviceClient(FEEDBACK, { token: null }).submitFeedback({ ticket: issued.tickets[i], rating: ratings[i] });
  }
}

/** A CreateShareGrant request for `volunteerId`; `over` replaces fields. */
function grantReq(volunteerId, over = {}) {
  const now = Date.now();
  return {
    volunteerId,
    from: ts(now - 30 * DAY),
    to: ts(now - 10 * DAY),
    expireTime: ts(now + 30 * DAY),
    include: [Scope.HOURS],
    idempotencyKey: key("shg"),
    ...over,
  };
}

async function grant(secret, volunteerId, over = {}) {
  const res = await recognition(secret).createShareGrant(grantReq(volunteerId, over));
  assert.match(res.shareCode, SHARE_CODE);
  return res;
}

const grantCount = async (vid) => Number(await psqlQuery(`SELECT count(*) FROM share_grants WHERE volunteer_id = ${sql(vid)}`));
const accessCount = async (vid) => Number(await psqlQuery(`SELECT count(*) FROM share_accesses WHERE volunteer_id = ${sql(vid)}`));

/** Asserts the call fails with `code` naming `field`, and wrote nothing to the log. */
async function expectRefused(call, code, field) {
  const size = await logTreeSize();
  const err = await expectCode(call(), code, field);
  assert.equal(await logTreeSize(), size, `the refused request (${err.rawMessage}) wrote to the log`);
  return err;
}

// ---------------------------------------------------------------------------

describe("volunteer tokens", () => {
  let vid;
  before(async () => {
    vid = await newVolunteer();
  });

  it("an office at or above the volunteer makes one; it is bound to the volunteer and their organisation", async () => {
    for (const role of ["officeCommunity", "officeDistrict", "admin"]) {
      const size = await logTreeSize();
      const { token, secret, receipt } = await volunteerToken(vid, D[role]);
      assert.equal(token.role, Roles.VOLUNTEER);
      assert.equal(token.volunteerId, vid);
      assert.equal(token.organizationId, O.team.id, "a volunteer token takes its volunteer's organisation");
      assert.equal(token.createdBy, T[role]);
      assert.match(secret, /^vlt_/);
      assert.equal(Number(receipt.leafIndex), size);
      const { json, text } = receiptEntry(receipt);
      assert.equal(json.kind, "token_created");
      assert.equal(json.actor, T[role]);
      assert.deepEqual(json.token, { id: token.id, organizationId: O.team.id, role: "volunteer", volunteerId: vid });
      assert.ok(!text.includes(secret));
    }
    // The volunteer's organisation may be named explicitly.
    const { token } = await volunteerToken(vid, D.admin, { organizationId: O.team.id });
    assert.equal(token.organizationId, O.team.id);
  });

  it("is refused, writing nothing: team leader, office out of reach, unknown volunteer, missing or misplaced volunteerId", async () => {
    const before = Number(await psqlQuery("SELECT count(*) FROM tokens"));
    await expectRefused(() => volunteerToken(vid, D.leaderTeam), Code.PermissionDenied);
    await expectRefused(() => volunteerToken(vid, D.officeSiblingCommunity), Code.PermissionDenied, "volunteerId");
    await expectRefused(() => volunteerToken(vid, D.employer), Code.PermissionDenied);
    await expectRefused(() => volunteerToken(vid, D.auditor), Code.PermissionDenied);
    await expectRefused(() => volunteerToken("vol_000000000000000000000000", D.admin), Code.NotFound, "volunteerId");
    await expectRefused(() => volunteerToken("vol_000000000000000000000000", D.officeCommunity), Code.NotFound, "volunteerId");
    await expectRefused(() => volunteerToken("", D.admin), Code.InvalidArgument, "volunteerId");
    await expectRefused(() => volunteerToken("", D.officeCommunity, { organizationId: O.team.id }), Code.InvalidArgument, "volunteerId");
    await expectRefused(
      () => as(ADMIN, D.admin).createToken({ role: Roles.TEAM_LEADER, organizationId: O.team.id, volunteerId: vid, idempotencyKey: key() }),
      Code.InvalidArgument,
      "volunteerId",
    );
    await expectRefused(
      () => as(ADMIN, D.officeCommunity).createToken({ role: Roles.OFFICE, organizationId: O.community.id, volunteerId: vid, idempotencyKey: key() }),
      Code.InvalidArgument,
      "volunteerId",
    );
    await expectRefused(() => volunteerToken(vid, D.admin, { organizationId: O.community.id }), Code.InvalidArgument, "organizationId");
    assert.equal(Number(await psqlQuery("SELECT count(*) FROM tokens")), before, "a refused CreateToken stored a token");
  });

  it("reads its own volunteer's summary and entries, and nobody else's", async () => {
    const other = await newVolunteer();
    const { secret } = await volunteerToken(vid);
    await shift(vid, Date.now() - 3 * DAY, 75);
    const sum = await as(RECORDS, secret).getVolunteerSummary({ volunteerId: vid });
    assert.equal(sum.summary.volunteerId, vid);
    assert.equal(Number(sum.summary.totalMinutes), 75);
    const entries = await as(RECORDS, secret).listEntries({ volunteerId: vid });
    const kinds = entries.entries.map((e) => e.kind);
    assert.ok(kinds.includes("shift_recorded") && kinds.includes("volunteer_registered"), kinds.join(","));

    await expectCode(as(RECORDS, secret).getVolunteerSummary({ volunteerId: other }), Code.PermissionDenied, "volunteerId");
    await expectCode(as(RECORDS, secret).listEntries({ volunteerId: other }), Code.PermissionDenied, "volunteerId");
    // An unknown id gets the same answer: the token cannot probe for volunteers.
    await expectCode(as(RECORDS, secret).getVolunteerSummary({ volunteerId: "vol_000000000000000000000000" }), Code.PermissionDenied, "volunteerId");
    await expectCode(as(RECORDS, secret).listEntries({ organizationId: O.team.id }), Code.PermissionDenied, "organizationId");
  });

  it("can do nothing else: record shifts, make tokens, register volunteers, read points or commendations", async () => {
    const { secret } = await volunteerToken(vid);
    const now = Date.now();
    const size = await logTreeSize();
    const shifts = Number(await psqlQuery(`SELECT count(*) FROM shifts WHERE volunteer_id = ${sql(vid)}`));
    await expectCode(
      as(RECORDS, secret).recordShift({
        volunteerId: vid,
        organizationId: O.team.id,
        category: Category.OTHER,
        startTime: ts(now - 2 * HOUR),
        endTime: ts(now - HOUR),
        activity: "self-recorded",
        place: "home",
        idempotencyKey: key(),
      }),
      Code.PermissionDenied,
    );
    await expectCode(as(ADMIN, secret).createToken({ role: Roles.VOLUNTEER, volunteerId: vid, idempotencyKey: key() }), Code.PermissionDenied);
    await expectCode(as(ADMIN, secret).listTokens({}), Code.PermissionDenied);
    await expectCode(
      as(VOLUNTEERS, secret).registerVolunteer({ organizationId: O.team.id, personalData: { name: "x" }, idempotencyKey: key() }),
      Code.PermissionDenied,
    );
    await expectCode(as(VOLUNTEERS, secret).getVolunteer({ volunteerId: vid }), Code.PermissionDenied);
    await expectCode(as(POINTS, secret).getPointsBalance({ volunteerId: vid }), Code.PermissionDenied);
    await expectCode(as(COMMENDATIONS, secret).listCommendations({ volunteerId: vid }), Code.PermissionDenied);
    await expectCode(recognition(secret).verifyVolunteerHours({ shareCode: "VLS-0000-0000-0000-0000-0000" }), Code.PermissionDenied);
    assert.equal(await logTreeSize(), size);
    assert.equal(Number(await psqlQuery(`SELECT count(*) FROM shifts WHERE volunteer_id = ${sql(vid)}`)), shifts);
  });

  it("stops working when revoked", async () => {
    const { token, secret } = await volunteerToken(vid);
    await as(ADMIN, D.officeCommunity).revokeToken({ id: token.id, idempotencyKey: key() });
    await expectCode(as(RECORDS, secret).getVolunteerSummary({ volunteerId: vid }), Code.Unauthenticated);
  });
});

// ---------------------------------------------------------------------------

describe("CreateShareGrant", () => {
  let vid, vsecret, vtoken;
  before(async () => {
    vid = await newVolunteer();
    ({ secret: vsecret, token: vtoken } = await volunteerToken(vid, D.officeCommunity));
  });

  it("by the volunteer: a share code shown once, only its hash stored, a share_granted entry without it", async () => {
    const now = Date.now();
    const req = grantReq(vid, {
      employerOrganizationId: O.employer.id,
      include: [Scope.FEEDBACK, Scope.HOURS],
      from: ts(now - 40 * DAY),
      to: ts(now - DAY),
    });
    const size = await logTreeSize();
    const res = await recognition(vsecret).createShareGrant(req);
    const g = res.grant;
    assert.match(res.shareCode, SHARE_CODE);
    assert.match(g.id, GRANT_ID);
    assert.equal(g.volunteerId, vid);
    assert.equal(g.employerOrganizationId, O.employer.id);
    assert.deepEqual(g.include, [Scope.FEEDBACK, Scope.HOURS]);
    assert.equal(tsSeconds(g.from), tsSeconds(req.from));
    assert.equal(tsSeconds(g.to), tsSeconds(req.to));
    assert.equal(tsSeconds(g.expireTime), tsSeconds(req.expireTime));
    assert.equal(g.revokeTime, undefined);
    assert.equal(g.createdBy, vtoken.id);

    assert.equal(Number(res.receipt.leafIndex), size);
    const { json, text } = receiptEntry(res.receipt);
    assert.equal(json.kind, "share_granted");
    assert.equal(json.actor, vtoken.id);
    assert.equal(json.grant.id, g.id);
    assert.equal(json.grant.volunteerId, vid);
    assert.equal(json.grant.employerOrganizationId, O.employer.id);
    assert.deepEqual(json.grant.include, ["feedback", "hours"]);
    assert.equal(Date.parse(json.grant.from), now - 40 * DAY);
    assert.equal(Date.parse(json.grant.to), now - DAY);
    assert.equal(Date.parse(json.grant.expireTime), tsSeconds(req.expireTime) * 1000);
    assert.ok(!text.includes(res.shareCode), "the entry holds the share code");
    assert.ok(!text.includes(sha256hex(res.shareCode)), "the entry holds the share code's hash");

    // Stored: the SHA-256 of the code, never the code.
    assert.equal(await psqlQuery(`SELECT encode(code_hash, 'hex') FROM share_grants WHERE id = ${sql(g.id)}`), sha256hex(res.shareCode));
    const row = await psqlQuery(`SELECT row_to_json(g)::text FROM share_grants g WHERE id = ${sql(g.id)}`);
    assert.ok(!row.includes(res.shareCode.slice(4)), "the row holds the share code");

    // The volunteer's entries list it.
    const listed = await as(RECORDS, vsecret).listEntries({ volunteerId: vid, kinds: ["share_granted"] });
    assert.ok(listed.entries.some((e) => Number(e.leafIndex) === size));
  });

  it("by an office (and admin) on the volunteer's behalf; codes differ every time", async () => {
    const codes = new Set();
    for (const role of ["officeCommunity", "officeSubdistrict", "officeDistrict", "admin"]) {
      const res = await grant(D[role], vid);
      assert.equal(res.grant.createdBy, T[role]);
      assert.equal(res.grant.employerOrganizationId, "");
      assert.equal(receiptEntry(res.receipt).json.actor, T[role]);
      assert.equal(receiptEntry(res.receipt).json.grant.employerOrganizationId, undefined);
      assert.ok(!codes.has(res.shareCode));
      codes.add(res.shareCode);
    }
  });

  it("a retry with the same key returns the grant without the code and writes nothing", async () => {
    const req = grantReq(vid);
    const first = await recognition(vsecret).createShareGrant(req);
    const size = await logTreeSize();
    const again = await recognition(vsecret).createShareGrant(req);
    assert.equal(again.grant.id, first.grant.id);
    assert.equal(again.shareCode, "", "a replay must not return the code (it is not stored)");
    assert.equal(Number(again.receipt.leafIndex), Number(first.receipt.leafIndex));
    assert.equal(await logTreeSize(), size);
  });

  it("refuses bad input and the wrong caller, each naming the field and writing nothing", async () => {
    const other = await newVolunteer();
    const far = await newVolunteer(O.siblingCommunityTeam);
    const now = Date.now();
    const cases = [
      // [caller secret, request, code, field]
      [vsecret, grantReq(other), Code.PermissionDenied, "volunteerId"],
      [vsecret, grantReq("vol_000000000000000000000000"), Code.PermissionDenied, "volunteerId"],
      [D.leaderTeam, grantReq(vid), Code.PermissionDenied],
      [D.employer, grantReq(vid), Code.PermissionDenied],
      [D.auditor, grantReq(vid), Code.PermissionDenied],
      [D.officeCommunity, grantReq(far), Code.PermissionDenied, "volunteerId"],
      [D.officeSiblingCommunity, grantReq(vid), Code.PermissionDenied, "volunteerId"],
      [D.admin, grantReq(""), Code.InvalidArgument, "volunteerId"],
      [D.admin, grantReq("vol_000000000000000000000000"), Code.NotFound, "volunteerId"],
      [vsecret, grantReq(vid, { idempotencyKey: "" }), Code.InvalidArgument, "idempotencyKey"],
      [vsecret, grantReq(vid, { from: undefined }), Code.InvalidArgument, "from"],
      [vsecret, grantReq(vid, { to: undefined }), Code.InvalidArgument, "to"],
      [vsecret, grantReq(vid, { from: ts(now - 10 * DAY), to: ts(now - 10 * DAY) }), Code.InvalidArgument, "to"],
      [vsecret, grantReq(vid, { from: ts(now - 10 * DAY), to: ts(now - 20 * DAY) }), Code.InvalidArgument, "to"],
      [vsecret, grantReq(vid, { from: ts(Date.UTC(1990, 0, 1)) }), Code.InvalidArgument, "from"],
      [vsecret, grantReq(vid, { expireTime: undefined }), Code.InvalidArgument, "expireTime"],
      [vsecret, grantReq(vid, { expireTime: ts(now - MINUTE) }), Code.InvalidArgument, "expireTime"],
      [vsecret, grantReq(vid, { expireTime: ts(now + 400 * DAY) }), Code.InvalidArgument, "expireTime"],
      [vsecret, grantReq(vid, { include: [] }), Code.InvalidArgument, "include"],
      [vsecret, grantReq(vid, { include: [Scope.HOURS, Scope.FEEDBACK, Scope.HOURS] }), Code.InvalidArgument, "include\\[2\\]"],
      [vsecret, grantReq(vid, { include: [Scope.UNSPECIFIED] }), Code.InvalidArgument, "include\\[0\\]"],
      [vsecret, grantReq(vid, { include: [Scope.HOURS, 9] }), Code.InvalidArgument, "include\\[1\\]"],
      [vsecret, grantReq(vid, { employerOrganizationId: O.community.id }), Code.InvalidArgument, "employerOrganizationId"],
      [vsecret, grantReq(vid, { employerOrganizationId: O.team.id }), Code.InvalidArgument, "employerOrganizationId"],
      [vsecret, grantReq(vid, { employerOrganizationId: "org_000000000000000000000000" }), Code.NotFound, "employerOrganizationId"],
    ];
    const grants = await grantCount(vid);
    for (const [secret, req, code, field] of cases) {
      await expectRefused(() => recognition(secret).createShareGrant(req), code, field);
    }
    assert.equal(await grantCount(vid), grants, "a refused CreateShareGrant stored a grant");
    assert.equal(await grantCount(other), 0);
    assert.equal(await grantCount(far), 0);
  });
});

// ---------------------------------------------------------------------------

describe("VerifyVolunteerHours", () => {
  // One volunteer with service inside and outside the period
  // [now - 30 days, now - 10 days) and feedback on both sides of it.
  let vid, vsecret, t0;
  let period; // { from, to } in ms
  let hoursGrant, feedbackGrant, allGrant, employer2Grant;
  let accessLeaves = []; // leaf indices of successful lookups of vid's grants
  let commendationTitle;

  before(async () => {
    vid = await newVolunteer();
    ({ secret: vsecret } = await volunteerToken(vid));
    t0 = Date.now();
    period = { from: t0 - 30 * DAY, to: t0 - 10 * DAY };
    const a = await shift(vid, t0 - 20 * DAY, 60, { category: Category.ELDERLY_CARE });
    await shift(vid, t0 - 15 * DAY, 90, { category: Category.TESTING_SITE, org: O.siblingTeam });
    const c = await shift(vid, t0 - 40 * DAY, 120, { category: Category.ELDERLY_CARE }); // before the period
    await shift(vid, t0 - 5 * DAY, 30, { category: Category.PUBLICITY }); // after it
    // A pending shift inside the period counts nowhere.
    const pending = await shift(vid, t0 - 12 * DAY, 45, { by: D.leaderTeam });
    assert.equal(pending.status, Status.PENDING);
    await feedback(a.id, [5, 4]);
    await feedback(c.id, [1]);
    commendationTitle = `Recognition ${uid()}`;
    await as(COMMENDATIONS, D.officeCommunity).awardCommendation({
      volunteerId: vid,
      organizationId: O.community.id,
      level: Level.COMMUNITY,
      title: commendationTitle,
      idempotencyKey: key("cmd"),
    });
    const p = { from: ts(period.from), to: ts(period.to) };
    hoursGrant = await grant(vsecret, vid, { ...p, include: [Scope.HOURS] });
    feedbackGrant = await grant(vsecret, vid, { ...p, include: [Scope.FEEDBACK, Scope.COMMENDATIONS] });
    // Everything, up to now, for the first employer only.
    allGrant = await grant(D.officeCommunity, vid, {
      from: ts(t0 - 60 * DAY),
      to: ts(t0 + HOUR),
      include: [Scope.COMMENDATIONS, Scope.FEEDBACK, Scope.HOURS],
      employerOrganizationId: O.employer.id,
    });
    employer2Grant = await grant(vsecret, vid, { ...p, employerOrganizationId: employer2.org.id });
  });

  /** Verifies `code` as the first employer; checks the response's proof and entry; returns the credential. */
  async function lookup(code, secret = D.employer, employerOrgId = O.employer.id, tokenId = T.employer) {
    const size = await logTreeSize();
    const res = await recognition(secret).verifyVolunteerHours({ shareCode: code });
    await verifier();
    assert.equal(Number(res.receipt.leafIndex), size);
    assert.equal(await logTreeSize(), size + 1);
    const { json, text } = receiptEntry(res.receipt);
    assert.equal(json.kind, "share_accessed");
    assert.equal(json.actor, tokenId);
    assert.equal(json.employerOrganizationId, employerOrgId);
    assert.match(json.grant.id, GRANT_ID);
    assert.ok(!text.includes(code.slice(4)), "the entry holds the share code");
    const cred = JSON.parse(res.attestation);
    assert.equal(json.attestationSha256, jcsSha256Hex(cred), "the entry's hash is not the attestation's");
    const verify = await verifier();
    const result = await verify(cred);
    assert.equal(result.ok, true, `the attestation's proof does not verify: ${result.reason}`);
    accessLeaves.push(Number(res.receipt.leafIndex));
    return { cred, entry: json };
  }

  function checkEnvelope(cred) {
    assert.deepEqual(cred["@context"], ["https://www.w3.org/ns/credentials/v2"]);
    assert.deepEqual(cred.type, ["VerifiableCredential", "VolunteerHoursAttestation"]);
    const issuer = typeof cred.issuer === "string" ? cred.issuer : cred.issuer.id;
    assert.equal(issuer, serverDid(), "the issuer is the daemon's credential key");
    const from = Date.parse(cred.validFrom);
    const until = Date.parse(cred.validUntil);
    assert.ok(Math.abs(from - Date.now()) < 120e3, `validFrom ${cred.validFrom} is not now`);
    assert.equal(until - from, DAY, "validUntil is 24 hours after validFrom");
    assert.equal(cred.proof.type, "DataIntegrityProof");
    assert.equal(cred.proof.cryptosuite, "eddsa-jcs-2022");
    assert.equal(cred.proof.proofPurpose, "assertionMethod");
    assert.ok(cred.proof.verificationMethod.startsWith(issuer + "#"));
    assert.equal(cred.credentialSubject.id, `urn:vledger:volunteer:${vid}`);
    assert.equal(cred.credentialSubject.volunteerId, vid);
  }

  it("HOURS only: the period's approved service and nothing else, signed", async () => {
    const { cred, entry } = await lookup(hoursGrant.shareCode);
    checkEnvelope(cred);
    assert.equal(entry.grant.id, hoursGrant.grant.id);
    const s = cred.credentialSubject;
    assert.deepEqual(Object.keys(s).sort(), ["hours", "id", "period", "volunteerId"]);
    assert.equal(Date.parse(s.period.from), Math.floor(period.from));
    assert.equal(Date.parse(s.period.to), Math.floor(period.to));
    // 60 + 90 inside; 120 before, 30 after and the pending 45 do not count.
    assert.equal(s.hours.totalMinutes, 150);
    assert.equal(s.hours.shiftCount, 2);
    assert.equal(s.hours.enteredMinutes, 150);
    assert.equal(s.hours.measuredMinutes, 0);
    assert.deepEqual(s.hours.byCategory, [
      { category: "elderly_care", minutes: 60 },
      { category: "testing_site", minutes: 90 },
    ]);
    const byOrg = Object.fromEntries(s.hours.byOrganization.map((o) => [o.organizationId, o]));
    assert.deepEqual(Object.keys(byOrg).sort(), [O.team.id, O.siblingTeam.id].sort());
    assert.equal(byOrg[O.team.id].minutes, 60);
    assert.equal(byOrg[O.team.id].name, O.team.name);
    assert.equal(byOrg[O.siblingTeam.id].minutes, 90);
    // The same figures GetVolunteerSummary gives for the period.
    const sum = (await as(RECORDS, vsecret).getVolunteerSummary({ volunteerId: vid, from: ts(period.from), to: ts(period.to) })).summary;
    assert.equal(Number(sum.totalMinutes), s.hours.totalMinutes);
    assert.equal(sum.shiftCount, s.hours.shiftCount);
  });

  it("FEEDBACK and COMMENDATIONS: the period's feedback; a commendation awarded today is outside it", async () => {
    const { cred } = await lookup(feedbackGrant.shareCode);
    checkEnvelope(cred);
    const s = cred.credentialSubject;
    assert.deepEqual(Object.keys(s).sort(), ["commendations", "feedback", "id", "period", "volunteerId"]);
    assert.deepEqual(s.feedback, { count: 2, averageRating: "4.50" });
    assert.deepEqual(s.commendations, []);
  });

  it("everything, for a period up to now: all approved service, all feedback, the commendation", async () => {
    const { cred } = await lookup(allGrant.shareCode);
    checkEnvelope(cred);
    const s = cred.credentialSubject;
    assert.deepEqual(Object.keys(s).sort(), ["commendations", "feedback", "hours", "id", "period", "volunteerId"]);
    assert.equal(s.hours.totalMinutes, 60 + 90 + 120 + 30);
    assert.equal(s.hours.shiftCount, 4);
    assert.deepEqual(s.feedback, { count: 3, averageRating: "3.33" });
    assert.equal(s.commendations.length, 1);
    assert.equal(s.commendations[0].title, commendationTitle);
    assert.equal(s.commendations[0].level, "community");
    assert.equal(s.commendations[0].organizationId, O.community.id);
    assert.match(s.commendations[0].id, /^cmd_/);
  });

  it("the proof fails when the credential is altered", async () => {
    const { cred } = await lookup(hoursGrant.shareCode);
    const verify = await verifier();
    const forged = structuredClone(cred);
    forged.credentialSubject.hours.totalMinutes += 600;
    assert.equal((await verify(forged)).ok, false, "a credential with altered hours still verifies");
    const extended = structuredClone(cred);
    extended.validUntil = "2099-01-01T00:00:00Z";
    assert.equal((await verify(extended)).ok, false, "a credential with an altered validUntil still verifies");
  });

  it("reads codes leniently: lower case, without hyphens", async () => {
    const loose = hoursGrant.shareCode.toLowerCase().replace(/-/g, "");
    const { cred } = await lookup(loose);
    assert.equal(cred.credentialSubject.hours.totalMinutes, 150);
  });

  it("unknown, revoked, expired and another employer's codes get one identical answer, and write nothing", async () => {
    const answers = []; // [what, employer secret, code]
    // Unknown: well-formed, never issued (hex digits are Crockford symbols).
    const unknown = "VLS-" + Array.from({ length: 5 }, () => uid(2).toUpperCase()).join("-");
    answers.push(["unknown", D.employer, unknown]);
    // Revoked by the volunteer, after one good lookup.
    const revoked = await grant(vsecret, vid);
    await lookup(revoked.shareCode);
    const size = await logTreeSize();
    const rv = await recognition(vsecret).revokeShareGrant({ grantId: revoked.grant.id, idempotencyKey: key() });
    assert.ok(rv.grant.revokeTime, "no revokeTime");
    assert.equal(Number(rv.receipt.leafIndex), size);
    const rvEntry = receiptEntry(rv.receipt).json;
    assert.equal(rvEntry.kind, "share_revoked");
    assert.deepEqual(rvEntry.grant, { id: revoked.grant.id });
    // Revoking again records nothing.
    const again = await recognition(D.officeCommunity).revokeShareGrant({ grantId: revoked.grant.id, idempotencyKey: key() });
    assert.equal(again.receipt, undefined);
    assert.equal(tsSeconds(again.grant.revokeTime), tsSeconds(rv.grant.revokeTime));
    assert.equal(await logTreeSize(), size + 1);
    answers.push(["revoked", D.employer, revoked.shareCode]);
    // Expired: good for a few seconds.
    const expiring = await grant(vsecret, vid, { expireTime: ts(Date.now() + 3000) });
    await lookup(expiring.shareCode);
    await sleep(Math.max(0, tsSeconds(expiring.grant.expireTime) * 1000 - Date.now()) + 1500);
    answers.push(["expired", D.employer, expiring.shareCode]);
    // Another employer's, both ways round.
    answers.push(["employer 2's grant, looked up by employer 1", D.employer, employer2Grant.shareCode]);
    answers.push(["employer 1's grant, looked up by employer 2", employer2.secret, allGrant.shareCode]);

    const errors = [];
    for (const [what, secret, code] of answers) {
      const accesses = await accessCount(vid);
      const err = await expectRefused(() => recognition(secret).verifyVolunteerHours({ shareCode: code }), Code.PermissionDenied, "shareCode");
      assert.equal(await accessCount(vid), accesses, `${what}: a refused lookup was recorded`);
      errors.push([what, err]);
    }
    const first = errors[0][1];
    for (const [what, err] of errors) {
      assert.equal(err.code, first.code, `${what}: a different code`);
      assert.equal(err.rawMessage, first.rawMessage, `${what}: a different message reveals which case it is`);
    }
    // Employer 2 may use its own grant and any-employer grants.
    await lookup(employer2Grant.shareCode, employer2.secret, employer2.org.id, employer2.id);
    await lookup(hoursGrant.shareCode, employer2.secret, employer2.org.id, employer2.id);
  });

  it("only employer tokens may look codes up", async () => {
    const { secret: own } = await volunteerToken(vid);
    for (const secret of [D.admin, D.officeDistrict, D.officeCommunity, D.leaderTeam, D.auditor, own]) {
      await expectRefused(() => recognition(secret).verifyVolunteerHours({ shareCode: hoursGrant.shareCode }), Code.PermissionDenied);
      await expectRefused(() => recognition(secret).verifyVolunteerHoursBatch({ shareCodes: [hoursGrant.shareCode] }), Code.PermissionDenied);
    }
  });

  it("malformed and missing codes are invalid_argument naming shareCode", async () => {
    for (const code of ["", "VLS-1234", "ABC-DEFG-HJKM-NPQR-STVW-XYZ0", "VLS-UUUU-UUUU-UUUU-UUUU-UUUU", `${hoursGrant.shareCode}-0000`]) {
      await expectRefused(() => recognition(D.employer).verifyVolunteerHours({ shareCode: code }), Code.InvalidArgument, "shareCode");
    }
  });

  it("ListAccesses shows each lookup: which grant, which employer, which token, when; newest first", async () => {
    const res = await recognition(vsecret).listAccesses({ volunteerId: vid, pageSize: 500 });
    const got = res.accesses;
    assert.equal(got.length, accessLeaves.length, "one access per successful lookup");
    assert.deepEqual(
      got.map((a) => Number(a.leafIndex)),
      [...accessLeaves].sort((x, y) => y - x),
      "the accesses are the lookups' entries, newest first",
    );
    const grantIds = new Set([hoursGrant, feedbackGrant, allGrant, employer2Grant].map((g) => g.grant.id));
    for (const a of got) {
      assert.match(a.grantId, GRANT_ID);
      assert.ok([O.employer.id, employer2.org.id].includes(a.employerOrganizationId));
      assert.equal(a.employerName, a.employerOrganizationId === O.employer.id ? O.employer.name : employer2.org.name);
      assert.equal(a.tokenId, a.employerOrganizationId === O.employer.id ? T.employer : employer2.id);
      const when = tsSeconds(a.accessTime) * 1000;
      assert.ok(when >= t0 - 1000 && when <= Date.now() + 1000, `accessTime ${when}`);
    }
    assert.ok(got.some((a) => grantIds.has(a.grantId)));
    // The entries are in the log, about the volunteer.
    const entries = await as(RECORDS, vsecret).listEntries({ volunteerId: vid, kinds: ["share_accessed"], pageSize: 500 });
    assert.deepEqual(entries.entries.map((e) => Number(e.leafIndex)), got.map((a) => Number(a.leafIndex)));
    // Paging, one at a time.
    const paged = [];
    let pageToken = "";
    for (let i = 0; i < 100; i++) {
      const page = await recognition(D.officeCommunity).listAccesses({ volunteerId: vid, pageSize: 1, pageToken });
      paged.push(...page.accesses.map((a) => Number(a.leafIndex)));
      if (!page.nextPageToken) break;
      pageToken = page.nextPageToken;
    }
    assert.deepEqual(paged, got.map((a) => Number(a.leafIndex)));
  });

  it("ListShareGrants and ListAccesses: the volunteer and offices above them, nobody else", async () => {
    const mine = await recognition(vsecret).listShareGrants({ volunteerId: vid, pageSize: 500 });
    const ids = mine.grants.map((g) => g.id);
    for (const g of [hoursGrant, feedbackGrant, allGrant, employer2Grant]) assert.ok(ids.includes(g.grant.id));
    const revoked = mine.grants.filter((g) => g.revokeTime);
    assert.equal(revoked.length, 1, "the grant revoked above shows its revokeTime");
    const seqs = Number(await psqlQuery(`SELECT count(*) FROM share_grants WHERE volunteer_id = ${sql(vid)}`));
    assert.equal(mine.grants.length, seqs);
    for (const secret of [D.officeCommunity, D.officeDistrict, D.admin]) {
      assert.equal((await recognition(secret).listShareGrants({ volunteerId: vid })).grants.length, seqs);
      await recognition(secret).listAccesses({ volunteerId: vid });
    }
    const other = await volunteerToken(await newVolunteer());
    for (const secret of [other.secret, D.leaderTeam, D.employer, D.officeSiblingCommunity, D.auditor]) {
      await expectCode(recognition(secret).listShareGrants({ volunteerId: vid }), Code.PermissionDenied);
      await expectCode(recognition(secret).listAccesses({ volunteerId: vid }), Code.PermissionDenied);
    }
    await expectCode(recognition(other.secret).listAccesses({ volunteerId: vid }), Code.PermissionDenied, "volunteerId");
    // Another volunteer cannot revoke this one's grant.
    await expectRefused(
      () => recognition(other.secret).revokeShareGrant({ grantId: hoursGrant.grant.id, idempotencyKey: key() }),
      Code.PermissionDenied,
      "grantId",
    );
    await expectRefused(
      () => recognition(D.officeSiblingCommunity).revokeShareGrant({ grantId: hoursGrant.grant.id, idempotencyKey: key() }),
      Code.PermissionDenied,
      "grantId",
    );
    await expectRefused(
      () => recognition(vsecret).revokeShareGrant({ grantId: "shg_000000000000000000000000", idempotencyKey: key() }),
      Code.NotFound,
      "grantId",
    );
    await expectRefused(() => recognition(vsecret).revokeShareGrant({ grantId: "", idempotencyKey: key() }), Code.InvalidArgument, "grantId");
  });
});

// ---------------------------------------------------------------------------

describe("VerifyVolunteerHoursBatch", () => {
  it("500 codes, good and bad mixed: a result per code in order; one bad code fails nothing", async () => {
    const vids = [];
    const goods = [];
    for (let i = 0; i < 5; i++) {
      const v = await newVolunteer();
      vids.push(v);
      await shift(v, Date.now() - 20 * DAY, 30 + i);
      goods.push({ vid: v, minutes: 30 + i, code: (await grant(D.officeCommunity, v)).shareCode });
    }
    const revoked = await grant(D.officeCommunity, vids[0]);
    await recognition(D.officeCommunity).revokeShareGrant({ grantId: revoked.grant.id, idempotencyKey: key() });
    const foreign = await grant(D.officeCommunity, vids[1], { employerOrganizationId: employer2.org.id });

    // 50 good lookups (each code 10 times), the rest refused or malformed.
    const codes = [];
    const expect = [];
    for (let i = 0; i < 500; i++) {
      if (i % 10 === 3) {
        const g = goods[(i / 10) % goods.length | 0];
        codes.push(g.code);
        expect.push(["ok", g]);
      } else if (i % 50 === 7) {
        codes.push(revoked.shareCode);
        expect.push(["denied"]);
      } else if (i % 50 === 8) {
        codes.push(foreign.shareCode);
        expect.push(["denied"]);
      } else if (i % 50 === 9) {
        codes.push(`not a code ${i}`);
        expect.push(["malformed"]);
      } else {
        // Well-formed and never issued: hex digits are Crockford symbols.
        codes.push(`VLS-${uid(2)}-${uid(2)}-${uid(2)}-${uid(2)}-${uid(2)}`.toUpperCase());
        expect.push(["denied"]);
      }
    }
    const good = expect.filter((e) => e[0] === "ok").length;
    assert.equal(good, 50);
    const size = await logTreeSize();
    const before = await Promise.all(vids.map(accessCount));
    const res = await recognition(D.employer).verifyVolunteerHoursBatch({ shareCodes: codes });
    assert.equal(res.results.length, 500);
    assert.equal(await logTreeSize(), size + good, "one share_accessed entry per good code, none for the others");
    const leaves = new Set();
    let denied;
    const verify = await verifier();
    for (let i = 0; i < 500; i++) {
      const r = res.results[i];
      const [kind, g] = expect[i];
      assert.equal(r.shareCode, codes[i], `result ${i} is not for code ${i}`);
      if (kind === "ok") {
        assert.equal(r.errorCode, "", `result ${i}: ${r.errorMessage}`);
        const cred = JSON.parse(r.attestation);
        assert.equal(cred.credentialSubject.volunteerId, g.vid);
        assert.equal(cred.credentialSubject.hours.totalMinutes, g.minutes);
        assert.ok(Number(r.leafIndex) >= size && Number(r.leafIndex) < size + good);
        assert.ok(!leaves.has(Number(r.leafIndex)));
        leaves.add(Number(r.leafIndex));
        if (i < 40) assert.equal((await verify(cred)).ok, true, `result ${i}: the proof does not verify`);
      } else {
        assert.equal(r.attestation, "");
        assert.equal(Number(r.leafIndex), 0);
        if (kind === "malformed") {
          assert.equal(r.errorCode, "invalid_argument");
          assert.match(r.errorMessage, /shareCode/);
        } else {
          assert.equal(r.errorCode, "permission_denied", `result ${i} (${codes[i]}): ${r.errorMessage}`);
          denied ??= r.errorMessage;
          assert.equal(r.errorMessage, denied, `result ${i}: a different message`);
        }
      }
    }
    const after = await Promise.all(vids.map(accessCount));
    for (let k = 0; k < vids.length; k++) assert.equal(after[k] - before[k], 10, `volunteer ${k}: accesses recorded`);
    // The single call answers a refused code exactly as the batch does.
    const single = await expectCode(recognition(D.employer).verifyVolunteerHours({ shareCode: revoked.shareCode }), Code.PermissionDenied);
    assert.equal(single.rawMessage, denied);
  });

  it("0 or more than 500 codes is invalid_argument naming shareCodes, and writes nothing", async () => {
    const v = await newVolunteer();
    const { shareCode } = await grant(D.admin, v);
    await expectRefused(() => recognition(D.employer).verifyVolunteerHoursBatch({ shareCodes: [] }), Code.InvalidArgument, "shareCodes");
    await expectRefused(
      () => recognition(D.employer).verifyVolunteerHoursBatch({ shareCodes: Array(501).fill(shareCode) }),
      Code.InvalidArgument,
      "shareCodes",
    );
    assert.equal(await accessCount(v), 0);
  });
});
