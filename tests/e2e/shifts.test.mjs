// RecordsService: recording service shifts (pending from a team leader,
// approved from an office), approving and rejecting them, reading them; the
// rules a shift must meet, overlap under concurrency, and who may do what.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";

import {
  Code,
  FORMATS,
  buildRoleTree,
  expectCode,
  key,
  logTreeSize,
  psqlQuery,
  receiptEntry,
  registry,
  serviceClient,
  timestampFromDate,
  tsSeconds,
  uid,
} from "./lib.mjs";

const RECORDS = "vledger.v1.RecordsService";
const VOLUNTEERS = "vledger.v1.VolunteerService";

const records = (secret, format = "binary") => serviceClient(RECORDS, { token: secret, format });
const volunteers = (secret, format = "binary") => serviceClient(VOLUNTEERS, { token: secret, format });

function enumOf(name, prefix) {
  const e = registry.getEnum(name);
  if (!e) throw new Error(`enum ${name} not in the descriptor set`);
  return Object.fromEntries(e.values.map((v) => [v.name.slice(prefix.length), v.number]));
}
const Category = enumOf("vledger.v1.ShiftCategory", "SHIFT_CATEGORY_");
const Status = enumOf("vledger.v1.ShiftStatus", "SHIFT_STATUS_");
const Source = enumOf("vledger.v1.ShiftSource", "SHIFT_SOURCE_");

const MINUTE = 60e3;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const ts = (ms) => timestampFromDate(new Date(ms));
const SHF_ID = /^shf_[0-9a-f]{24}$/;

let tree;
let D; // secrets by role
let T; // token ids by role
before(async () => {
  tree = await buildRoleTree("SHF");
  D = Object.fromEntries(Object.entries(tree.tokens).map(([role, t]) => [role, t.secret]));
  T = Object.fromEntries(Object.entries(tree.tokens).map(([role, t]) => [role, t.token.id]));
});

/** A fresh volunteer (registered by admin) in `org` (default: the team). */
async function newVolunteer(org = tree.orgs.team) {
  const res = await volunteers(D.admin).registerVolunteer({
    organizationId: org.id,
    personalData: { name: `Shift volunteer ${uid()}` },
    idempotencyKey: key("vol"),
  });
  return res.volunteer.id;
}

/** A RecordShift request: an hour ending `endAgoMs` ago, in the team, unless overridden. */
function shiftReq(volunteerId, { startMs, endMs, ...rest } = {}) {
  const end = endMs ?? Date.now() - 2 * HOUR;
  const start = startMs ?? end - HOUR;
  return {
    volunteerId,
    organizationId: tree.orgs.team.id,
    category: Category.ELDERLY_CARE,
    startTime: ts(start),
    endTime: ts(end),
    activity: "visiting the elderly",
    place: "building 7",
    idempotencyKey: key("shf"),
    ...rest,
  };
}

const shiftCount = async (volunteerId) => Number(await psqlQuery(`SELECT count(*) FROM shifts WHERE volunteer_id = '${volunteerId}'`));

/** Asserts `call()` fails with one of `code` naming `field`, and that the log did not grow. */
async function expectRefused(call, code, field) {
  const before = await logTreeSize();
  const err = await expectCode(call(), code, field);
  assert.equal(await logTreeSize(), before, `the refused request (${err.rawMessage}) wrote to the log`);
  return err;
}

describe("RecordShift", () => {
  for (const format of FORMATS) {
    it(`a team leader's shift is pending; an office's and admin's are approved by them (${format})`, async () => {
      const vid = await newVolunteer();
      const now = Date.now();
      // [recorder, start, status, decidedBy]
      const rows = [
        ["leaderTeam", now - 10 * HOUR, Status.PENDING, ""],
        ["officeCommunity", now - 8 * HOUR, Status.APPROVED, T.officeCommunity],
        ["officeDistrict", now - 6 * HOUR, Status.APPROVED, T.officeDistrict],
        ["admin", now - 4 * HOUR, Status.APPROVED, T.admin],
      ];
      for (const [role, start, status, decidedBy] of rows) {
        const req = shiftReq(vid, {
          startMs: start,
          endMs: start + 95 * MINUTE + 30e3, // 95.5 minutes
          category: Category.TESTING_SITE,
          grid: "grid 3-2",
          beneficiary: "residents of building 7",
          role: "guide",
          note: "line 1\nline 2",
        });
        const sizeBefore = await logTreeSize();
        const res = await records(D[role], format).recordShift(req);
        const s = res.shift;
        assert.match(s.id, SHF_ID, role);
        assert.equal(s.volunteerId, vid);
        assert.equal(s.organizationId, tree.orgs.team.id);
        assert.equal(s.category, Category.TESTING_SITE);
        assert.equal(tsSeconds(s.startTime), tsSeconds(req.startTime));
        assert.equal(tsSeconds(s.endTime), tsSeconds(req.endTime));
        assert.equal(s.minutes, 95, `${role}: minutes`);
        assert.equal(s.source, Source.ENTERED);
        assert.equal(s.status, status, `${role}: status`);
        assert.equal(s.recordedBy, T[role]);
        assert.equal(s.decidedBy, decidedBy, `${role}: decidedBy`);
        for (const f of ["activity", "place", "grid", "beneficiary", "role", "note"]) assert.equal(s[f], req[f], f);

        assert.ok(res.receipt, "no receipt");
        assert.equal(Number(res.receipt.leafIndex), sizeBefore);
        const { json } = receiptEntry(res.receipt);
        assert.equal(json.kind, "shift_recorded");
        assert.equal(json.actor, T[role]);
        assert.equal(json.shift.id, s.id);
        assert.equal(json.shift.volunteerId, vid);
        assert.equal(json.shift.minutes, 95);
        assert.equal(json.shift.category, "testing_site");
        assert.equal(json.shift.source, "entered");
        assert.equal(json.shift.status, status === Status.PENDING ? "pending" : "approved");
        assert.equal(json.shift.grid, "grid 3-2");

        const got = (await records(D[role], format).getShift({ shiftId: s.id })).shift;
        assert.equal(got.id, s.id);
        assert.equal(got.status, status);
        assert.equal(got.minutes, 95);
      }
    });
  }

  it("minutes are whole minutes of the actual time, sub-second parts included", async () => {
    const vid = await newVolunteer();
    const base = Math.floor((Date.now() - 5 * HOUR) / 1000);
    // 09:00:00.900 to 10:35:00.100 is 94 min 59.2 s: 94 whole minutes.
    const res = await records(D.officeCommunity).recordShift(
      shiftReq(vid, {
        startTime: { seconds: BigInt(base), nanos: 900_000_000 },
        endTime: { seconds: BigInt(base + 95 * 60), nanos: 100_000_000 },
      }),
    );
    assert.equal(res.shift.minutes, 94, "minutes must not round 94 min 59.2 s up to 95");
  });

  it("records for a COMMUNITY, by its office; not by a team leader", async () => {
    const vid = await newVolunteer();
    const res = await records(D.officeCommunity).recordShift(shiftReq(vid, { organizationId: tree.orgs.community.id }));
    assert.equal(res.shift.organizationId, tree.orgs.community.id);
    assert.equal(res.shift.status, Status.APPROVED);
    await expectRefused(
      () => records(D.leaderTeam).recordShift(shiftReq(vid, { organizationId: tree.orgs.community.id, endMs: Date.now() - 20 * HOUR })),
      Code.PermissionDenied,
    );
  });

  it("accepts the boundaries: exactly 16 hours, a team leader 89 days back, an office 100 days back, a 500-character note", async () => {
    const now = Date.now();
    const vid = await newVolunteer();
    const long = await records(D.leaderTeam).recordShift(shiftReq(vid, { startMs: now - 20 * HOUR, endMs: now - 4 * HOUR }));
    assert.equal(long.shift.minutes, 16 * 60);
    const old = await records(D.leaderTeam).recordShift(shiftReq(vid, { startMs: now - 89 * DAY, endMs: now - 89 * DAY + HOUR }));
    assert.equal(old.shift.status, Status.PENDING);
    const older = await records(D.officeCommunity).recordShift(shiftReq(vid, { startMs: now - 100 * DAY, endMs: now - 100 * DAY + HOUR }));
    assert.equal(older.shift.status, Status.APPROVED);
    const noted = await records(D.officeCommunity).recordShift(
      shiftReq(vid, { startMs: now - 30 * HOUR, endMs: now - 29 * HOUR, note: "注".repeat(500) }),
    );
    assert.equal(noted.shift.note, "注".repeat(500));
    // Ending right now is fine.
    const justNow = await records(D.leaderTeam).recordShift(shiftReq(vid, { startMs: now - 2 * HOUR, endMs: Date.now() - 1000 }));
    assert.equal(justNow.shift.minutes, 119);
  });

  it("every broken rule is refused naming its field, and writes nothing", async () => {
    const vid = await newVolunteer();
    const siblingVid = await newVolunteer(tree.orgs.siblingTeam);
    const otherCommunityVid = await newVolunteer(tree.orgs.siblingCommunityTeam);
    const existing = (await records(D.officeCommunity).recordShift(shiftReq(vid, { startMs: Date.now() - 30 * HOUR, endMs: Date.now() - 29 * HOUR }))).shift;
    const now = Date.now();
    const IA = Code.InvalidArgument;
    const FP = Code.FailedPrecondition;
    const EITHER = [IA, FP];
    // [what, caller, request, code(s), field]
    const cases = [
      ["end equal to start", "officeCommunity", shiftReq(vid, { startMs: now - 3 * HOUR, endMs: now - 3 * HOUR }), EITHER, "endTime"],
      ["end before start", "officeCommunity", shiftReq(vid, { startMs: now - 3 * HOUR, endMs: now - 4 * HOUR }), EITHER, "endTime"],
      ["16 hours and a second", "officeCommunity", shiftReq(vid, { startMs: now - 20 * HOUR, endMs: now - 4 * HOUR + 1000 }), EITHER, "endTime"],
      ["24 hours", "officeCommunity", shiftReq(vid, { startMs: now - 48 * HOUR, endMs: now - 24 * HOUR }), EITHER, "endTime"],
      ["start 10 minutes in the future", "officeCommunity", shiftReq(vid, { startMs: now + 10 * MINUTE, endMs: now + 70 * MINUTE }), EITHER, "startTime"],
      ["end an hour in the future", "officeCommunity", shiftReq(vid, { startMs: now - HOUR, endMs: now + HOUR }), EITHER, "endTime"],
      ["end 10 minutes in the future", "officeCommunity", shiftReq(vid, { startMs: now - HOUR, endMs: now + 10 * MINUTE }), EITHER, "endTime"],
      ["team leader, 91 days back", "leaderTeam", shiftReq(vid, { startMs: now - 91 * DAY, endMs: now - 91 * DAY + HOUR }), EITHER, "startTime"],
      ["no startTime", "officeCommunity", { ...shiftReq(vid), startTime: undefined }, IA, "startTime"],
      ["no endTime", "officeCommunity", { ...shiftReq(vid), endTime: undefined }, IA, "endTime"],
      ["category unspecified", "officeCommunity", shiftReq(vid, { category: Category.UNSPECIFIED }), IA, "category"],
      ["category out of range", "officeCommunity", shiftReq(vid, { category: 99 }), IA, "category"],
      ["no activity", "officeCommunity", shiftReq(vid, { activity: "" }), IA, "activity"],
      ["blank activity", "officeCommunity", shiftReq(vid, { activity: "   " }), IA, "activity"],
      ["activity of 201 characters", "officeCommunity", shiftReq(vid, { activity: "a".repeat(201) }), IA, "activity"],
      ["no place", "officeCommunity", shiftReq(vid, { place: "" }), IA, "place"],
      ["note of 501 characters", "officeCommunity", shiftReq(vid, { note: "n".repeat(501) }), IA, "note"],
      ["no idempotency key", "officeCommunity", shiftReq(vid, { idempotencyKey: "" }), IA, "idempotencyKey"],
      ["unknown volunteer", "officeCommunity", shiftReq(`vol_${uid(12)}`), Code.NotFound, "volunteerId"],
      ["unknown organisation", "officeCommunity", shiftReq(vid, { organizationId: `org_${uid(12)}` }), Code.NotFound, "organizationId"],
      ["a SUBDISTRICT", "admin", shiftReq(vid, { organizationId: tree.orgs.subdistrict.id }), IA, "organizationId"],
      ["an EMPLOYER", "admin", shiftReq(vid, { organizationId: tree.orgs.employer.id }), IA, "organizationId"],
      ["team leader, volunteer of the sibling team", "leaderTeam", shiftReq(siblingVid), Code.PermissionDenied],
      ["team leader, the sibling team's organisation", "leaderTeam", shiftReq(vid, { organizationId: tree.orgs.siblingTeam.id }), Code.PermissionDenied],
      ["office, another community's team", "officeCommunity", shiftReq(vid, { organizationId: tree.orgs.siblingCommunityTeam.id }), Code.PermissionDenied],
      ["office, another community's volunteer", "officeCommunity", shiftReq(otherCommunityVid), Code.PermissionDenied],
      ["sibling office, this team", "officeSiblingCommunity", shiftReq(vid), Code.PermissionDenied],
      ["overlap with an approved shift", "officeCommunity", shiftReq(vid, { startMs: now - 29.5 * HOUR, endMs: now - 28 * HOUR }), FP, "startTime"],
      ["inside an approved shift", "leaderTeam", shiftReq(vid, { startMs: now - 29.8 * HOUR, endMs: now - 29.2 * HOUR }), FP, "startTime"],
    ];
    for (const [what, role, req, code, field] of cases) {
      const countBefore = await shiftCount(vid);
      const err = await expectRefused(() => records(D[role]).recordShift(req), code, field).catch((e) => {
        throw new Error(`${what}: ${e.message}`);
      });
      if (what.startsWith("overlap") || what.startsWith("inside")) {
        assert.ok(err.rawMessage.includes(existing.id), `${what}: the message does not name ${existing.id}: ${err.rawMessage}`);
      }
      assert.equal(await shiftCount(vid), countBefore, `${what}: a shift was stored`);
    }
  });

  it("an end in the future is refused beyond the 5 minutes allowed for clock skew", async () => {
    // A shift is recorded once it is served; like the start, the end may be
    // up to 5 minutes ahead of the server's clock (devices' clocks drift).
    const vid = await newVolunteer();
    const now = Date.now();
    await expectRefused(
      () => records(D.officeCommunity).recordShift(shiftReq(vid, { startMs: now - HOUR, endMs: now + 10 * MINUTE })),
      [Code.InvalidArgument, Code.FailedPrecondition],
      "endTime",
    );
    assert.equal(await shiftCount(vid), 0);
    const ok = (await records(D.officeCommunity).recordShift(shiftReq(vid, { startMs: now - HOUR, endMs: now + 2 * MINUTE }))).shift;
    assert.equal(ok.minutes, 62);
  });

  it("overlap: pending and approved shifts block, rejected ones and adjacent slots do not", async () => {
    const vid = await newVolunteer();
    const now = Date.now();
    const slot = { startMs: now - 10 * HOUR, endMs: now - 9 * HOUR };
    const pending = (await records(D.leaderTeam).recordShift(shiftReq(vid, slot))).shift;
    assert.equal(pending.status, Status.PENDING);
    let err = await expectRefused(() => records(D.officeCommunity).recordShift(shiftReq(vid, slot)), Code.FailedPrecondition, "startTime");
    assert.ok(err.rawMessage.includes(pending.id), err.rawMessage);

    // Back to back is no overlap.
    const before = (await records(D.leaderTeam).recordShift(shiftReq(vid, { startMs: slot.startMs - HOUR, endMs: slot.startMs }))).shift;
    const after = (await records(D.leaderTeam).recordShift(shiftReq(vid, { startMs: slot.endMs, endMs: slot.endMs + HOUR }))).shift;
    assert.equal(before.status, Status.PENDING);
    assert.equal(after.status, Status.PENDING);

    // Another volunteer in the same slot is fine.
    await records(D.leaderTeam).recordShift(shiftReq(await newVolunteer(), slot));

    // Rejected: the slot is free again.
    await records(D.officeCommunity).rejectShift({ shiftId: pending.id, reason: "wrong day", idempotencyKey: key() });
    const again = (await records(D.leaderTeam).recordShift(shiftReq(vid, slot))).shift;
    assert.notEqual(again.id, pending.id);
    // Approved blocks as well.
    await records(D.officeCommunity).approveShift({ shiftId: again.id, idempotencyKey: key() });
    err = await expectRefused(
      () => records(D.admin).recordShift(shiftReq(vid, { startMs: slot.startMs + 10 * MINUTE, endMs: slot.endMs - 10 * MINUTE })),
      Code.FailedPrecondition,
      "startTime",
    );
    assert.ok(err.rawMessage.includes(again.id), err.rawMessage);
  });

  it("a retry with the same idempotency key returns the same shift, not an overlap", async () => {
    const vid = await newVolunteer();
    const req = shiftReq(vid);
    const first = await records(D.leaderTeam).recordShift(req);
    const size = await logTreeSize();
    const second = await records(D.leaderTeam).recordShift(req);
    assert.equal(second.shift.id, first.shift.id);
    assert.equal(await logTreeSize(), size);
    assert.equal(await shiftCount(vid), 1);
  });

  it("20 concurrent overlapping shifts of one volunteer: exactly one is stored", async () => {
    const vid = await newVolunteer();
    const base = Date.now() - 30 * HOUR;
    const sizeBefore = await logTreeSize();
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        records(D.officeCommunity).recordShift(shiftReq(vid, { startMs: base + i * MINUTE, endMs: base + HOUR + i * MINUTE })),
      ),
    );
    const ok = results.filter((r) => r.status === "fulfilled");
    const failed = results.filter((r) => r.status === "rejected");
    const codes = failed.map((r) => Code[r.reason.code]);
    assert.equal(ok.length, 1, `successes: ${ok.length}; failures: ${codes.join(", ")}`);
    assert.equal(failed.length, 19);
    for (const r of failed) {
      assert.equal(r.reason.code, Code.FailedPrecondition, `${Code[r.reason.code]}: ${r.reason.rawMessage}`);
      assert.match(r.reason.rawMessage, /(^|[^A-Za-z])startTime([^A-Za-z]|$)/);
      assert.ok(r.reason.rawMessage.includes(ok[0].value.shift.id), r.reason.rawMessage);
    }
    assert.equal(await shiftCount(vid), 1);
    assert.equal(await logTreeSize(), sizeBefore + 1);
  });
});

describe("ApproveShift and RejectShift", () => {
  const pendingShift = async (org = tree.orgs.team) => {
    const vid = await newVolunteer(org);
    return (await records(org === tree.orgs.team ? D.leaderTeam : D.admin).recordShift(shiftReq(vid, { organizationId: org.id }))).shift;
  };

  it("an office approves a pending shift, with a receipt", async () => {
    for (const format of FORMATS) {
      const s = await pendingShift();
      assert.equal(s.status, Status.PENDING);
      const sizeBefore = await logTreeSize();
      const res = await records(D.officeCommunity, format).approveShift({ shiftId: s.id, idempotencyKey: key() });
      assert.equal(res.shift.id, s.id);
      assert.equal(res.shift.status, Status.APPROVED);
      assert.equal(res.shift.decidedBy, T.officeCommunity);
      assert.equal(res.shift.recordedBy, T.leaderTeam);
      assert.equal(res.shift.minutes, s.minutes);
      assert.equal(Number(res.receipt.leafIndex), sizeBefore);
      const { json } = receiptEntry(res.receipt);
      assert.equal(json.kind, "shift_approved");
      assert.equal(json.shift.id, s.id);
      assert.equal(json.actor, T.officeCommunity);
      assert.equal((await records(D.leaderTeam, format).getShift({ shiftId: s.id })).shift.status, Status.APPROVED);
    }
  });

  it("an office rejects a pending shift with a reason, with a receipt", async () => {
    for (const format of FORMATS) {
      const s = await pendingShift();
      const res = await records(D.officeDistrict, format).rejectShift({ shiftId: s.id, reason: "not on the roster", idempotencyKey: key() });
      assert.equal(res.shift.status, Status.REJECTED);
      assert.equal(res.shift.decidedBy, T.officeDistrict);
      assert.equal(res.shift.rejectReason, "not on the roster");
      const { json } = receiptEntry(res.receipt);
      assert.equal(json.kind, "shift_rejected");
      assert.equal(json.shift.id, s.id);
      assert.equal(json.reason, "not on the roster");
      const got = (await records(D.officeCommunity, format).getShift({ shiftId: s.id })).shift;
      assert.equal(got.status, Status.REJECTED);
      assert.equal(got.rejectReason, "not on the roster");
    }
  });

  it("refuses what is not pending, unknown, without a reason or out of reach, writing nothing", async () => {
    const approved = await pendingShift();
    await records(D.officeCommunity).approveShift({ shiftId: approved.id, idempotencyKey: key() });
    const rejected = await pendingShift();
    await records(D.officeCommunity).rejectShift({ shiftId: rejected.id, reason: "no", idempotencyKey: key() });
    const officeRecorded = (await records(D.officeCommunity).recordShift(shiftReq(await newVolunteer()))).shift;
    assert.equal(officeRecorded.status, Status.APPROVED);
    const pending = await pendingShift();
    const approve = (role, shiftId) => () => records(D[role]).approveShift({ shiftId, idempotencyKey: key() });
    const reject = (role, shiftId, reason = "because") => () => records(D[role]).rejectShift({ shiftId, reason, idempotencyKey: key() });
    // [what, call, code, field]
    const cases = [
      ["approve an approved shift", approve("officeCommunity", approved.id), Code.FailedPrecondition, "shiftId"],
      ["reject an approved shift", reject("officeCommunity", approved.id), Code.FailedPrecondition, "shiftId"],
      ["approve a rejected shift", approve("officeCommunity", rejected.id), Code.FailedPrecondition, "shiftId"],
      ["reject a rejected shift", reject("officeCommunity", rejected.id), Code.FailedPrecondition, "shiftId"],
      ["approve a shift an office recorded", approve("admin", officeRecorded.id), Code.FailedPrecondition, "shiftId"],
      ["approve an unknown shift", approve("admin", `shf_${uid(12)}`), Code.NotFound, "shiftId"],
      ["reject an unknown shift", reject("admin", `shf_${uid(12)}`), Code.NotFound, "shiftId"],
      ["reject without a reason", reject("officeCommunity", pending.id, ""), Code.InvalidArgument, "reason"],
      ["reject with a 301-character reason", reject("officeCommunity", pending.id, "r".repeat(301)), Code.InvalidArgument, "reason"],
      ["approve as the team leader", approve("leaderTeam", pending.id), Code.PermissionDenied],
      ["reject as the team leader", reject("leaderTeam", pending.id), Code.PermissionDenied],
      ["approve as the sibling office", approve("officeSiblingCommunity", pending.id), Code.PermissionDenied],
      ["reject as the sibling office", reject("officeSiblingCommunity", pending.id), Code.PermissionDenied],
    ];
    for (const [what, call, code, field] of cases) {
      await expectRefused(call, code, field).catch((e) => {
        throw new Error(`${what}: ${e.message}`);
      });
    }
    assert.equal((await records(D.admin).getShift({ shiftId: pending.id })).shift.status, Status.PENDING);
    assert.equal((await records(D.admin).getShift({ shiftId: approved.id })).shift.status, Status.APPROVED);
    assert.equal((await records(D.admin).getShift({ shiftId: rejected.id })).shift.status, Status.REJECTED);
  });

  it("GetShift of an unknown shift is not_found", async () => {
    await expectCode(records(D.admin).getShift({ shiftId: `shf_${uid(12)}` }), Code.NotFound, "shiftId");
    await expectCode(records(D.leaderTeam).getShift({ shiftId: `shf_${uid(12)}` }), Code.NotFound, "shiftId");
  });
});

// ---------------------------------------------------------------------------
// Who may do what. Columns are the roles of buildRoleTree(); the volunteer
// and the shift belong to `team` (under `community`, beside `siblingTeam`;
// `siblingCommunity` is the next community of the same subdistrict).

const ROLES = ["admin", "officeDistrict", "officeCommunity", "officeSiblingCommunity", "leaderTeam", "leaderSiblingTeam", "employer", "auditor"];
const Y = true;
const N = false;
// prettier-ignore
const ALLOWED = {
  //               admin  offDistrict  offCommunity  offSiblingCommunity  leaderTeam  leaderSiblingTeam  employer  auditor
  RecordShift:    [  Y,        Y,           Y,               N,               Y,              N,             N,        N   ],
  ApproveShift:   [  Y,        Y,           Y,               N,               N,              N,             N,        N   ],
  RejectShift:    [  Y,        Y,           Y,               N,               N,              N,             N,        N   ],
  GetShift:       [  Y,        Y,           Y,               N,               Y,              N,             N,        N   ],
};

describe("authorization table (RecordsService)", () => {
  const pending = async () => {
    const vid = await newVolunteer();
    return (await records(D.leaderTeam).recordShift(shiftReq(vid))).shift;
  };
  // prepare(): made beforehand by others; invoke(): the call under test;
  // check(): what an allowed caller gets.
  const rpcs = {
    RecordShift: {
      prepare: newVolunteer,
      invoke: (c, vid) => c.recordShift(shiftReq(vid)),
      check: (res, _vid, role) => {
        assert.equal(res.shift.status, role === "leaderTeam" ? Status.PENDING : Status.APPROVED);
        assert.equal(res.shift.recordedBy, T[role]);
        assert.equal(res.shift.decidedBy, role === "leaderTeam" ? "" : T[role]);
        assert.equal(receiptEntry(res.receipt).json.kind, "shift_recorded");
      },
    },
    ApproveShift: {
      prepare: pending,
      invoke: (c, s) => c.approveShift({ shiftId: s.id, idempotencyKey: key() }),
      check: (res, s, role) => {
        assert.equal(res.shift.id, s.id);
        assert.equal(res.shift.status, Status.APPROVED);
        assert.equal(res.shift.decidedBy, T[role]);
        assert.equal(receiptEntry(res.receipt).json.kind, "shift_approved");
      },
    },
    RejectShift: {
      prepare: pending,
      invoke: (c, s) => c.rejectShift({ shiftId: s.id, reason: "authz", idempotencyKey: key() }),
      check: (res, s, role) => {
        assert.equal(res.shift.status, Status.REJECTED);
        assert.equal(res.shift.decidedBy, T[role]);
        assert.equal(receiptEntry(res.receipt).json.kind, "shift_rejected");
      },
    },
    GetShift: {
      prepare: pending,
      invoke: (c, s) => c.getShift({ shiftId: s.id }),
      check: (res, s) => {
        assert.equal(res.shift.id, s.id);
        assert.equal(res.shift.minutes, s.minutes);
      },
    },
  };

  for (const [rpc, allowed] of Object.entries(ALLOWED)) {
    ROLES.forEach((role, i) => {
      it(`${rpc} as ${role}: ${allowed[i] ? "allowed" : "permission_denied"}`, async () => {
        const ctx = await rpcs[rpc].prepare();
        const client = records(D[role]);
        if (allowed[i]) {
          await rpcs[rpc].check(await rpcs[rpc].invoke(client, ctx), ctx, role);
        } else {
          const sizeBefore = await logTreeSize();
          await expectCode(rpcs[rpc].invoke(client, ctx), Code.PermissionDenied);
          assert.equal(await logTreeSize(), sizeBefore, `${rpc} as ${role} wrote to the log`);
        }
      });
    });
  }
});
