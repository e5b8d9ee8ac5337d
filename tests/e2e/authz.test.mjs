// Who may do what, for every RPC not covered by volunteers.test.mjs and
// shifts.test.mjs: one table per RPC, a column per role, each cell either
// allowed (the call succeeds and does what it should) or permission_denied
// (and then nothing is written: the log does not grow and the object under
// test is as it was).
//
// The organisation tree is buildRoleTree()'s:
//
//   district > subdistrict > community > { team, siblingTeam }
//                          > siblingCommunity > siblingCommunityTeam
//   employer (outside the tree)
//
// and the subject of each call (volunteer, shift, check-in, token, ...)
// belongs to `team` unless a row says otherwise. So for the team's affairs
// officeCommunity is the office of the organisation itself ("own"),
// officeSubdistrict and officeDistrict are offices above it, and
// officeSiblingCommunity is a sibling's; leaderTeam leads the team,
// leaderSiblingTeam its sibling.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";

import {
  Code,
  Role,
  Kind,
  admin,
  buildRoleTree,
  createToken,
  expectCode,
  key,
  listAllOrgs,
  listAllTokens,
  logTreeSize,
  psqlQuery,
  receiptEntry,
  registry,
  serviceClient,
  timestampFromDate,
  uid,
} from "./lib.mjs";

const RECORDS = "vledger.v1.RecordsService";
const VOLUNTEERS = "vledger.v1.VolunteerService";
const FEEDBACK = "vledger.v1.FeedbackService";
const COMMENDATIONS = "vledger.v1.CommendationService";
const POINTS = "vledger.v1.PointsService";
const ATTENDANCE = "vledger.v1.AttendanceService";

function enumOf(name, prefix) {
  const e = registry.getEnum(name);
  if (!e) throw new Error(`enum ${name} not in the descriptor set`);
  return Object.fromEntries(e.values.map((v) => [v.name.slice(prefix.length), v.number]));
}
const Category = enumOf("vledger.v1.ShiftCategory", "SHIFT_CATEGORY_");
const Status = enumOf("vledger.v1.ShiftStatus", "SHIFT_STATUS_");
const Source = enumOf("vledger.v1.ShiftSource", "SHIFT_SOURCE_");
const Level = enumOf("vledger.v1.CommendationLevel", "COMMENDATION_LEVEL_");

const HOUR = 3600e3;
const ts = (ms) => timestampFromDate(new Date(ms));
const sql = (s) => `'${String(s).replace(/'/g, "''")}'`;
const count = async (query) => Number(await psqlQuery(query));

// ---------------------------------------------------------------------------
// The tree, the tokens, and objects made by admin for the calls under test.

let tree;
let O; // organisations by name
let D; // secrets by role
let T; // token ids by role
before(async () => {
  tree = await buildRoleTree("AUTHZ");
  O = tree.orgs;
  D = Object.fromEntries(Object.entries(tree.tokens).map(([role, t]) => [role, t.secret]));
  T = Object.fromEntries(Object.entries(tree.tokens).map(([role, t]) => [role, t.token.id]));
});

const as = (service, role) => serviceClient(service, { token: D[role] });

async function newVolunteer(org = O.team) {
  const res = await as(VOLUNTEERS, "admin").registerVolunteer({
    organizationId: org.id,
    personalData: { name: `Authz volunteer ${uid()}` },
    idempotencyKey: key("vol"),
  });
  return res.volunteer.id;
}

/** A one-hour shift ending two hours ago, for the team. */
function shiftReq(volunteerId, extra = {}) {
  const end = Date.now() - 2 * HOUR;
  return {
    volunteerId,
    organizationId: O.team.id,
    category: Category.ELDERLY_CARE,
    startTime: ts(end - HOUR),
    endTime: ts(end),
    activity: "visiting the elderly",
    place: "building 7",
    idempotencyKey: key("shf"),
    ...extra,
  };
}

/** A fresh volunteer of the team with one shift: approved (admin recorded it) or pending (the team leader did). */
async function newShift({ pending = false } = {}) {
  const vid = await newVolunteer();
  const res = await as(RECORDS, pending ? "leaderTeam" : "admin").recordShift(shiftReq(vid));
  assert.equal(res.shift.status, pending ? Status.PENDING : Status.APPROVED);
  return res.shift;
}

async function newFeedback() {
  const shift = await newShift();
  const issued = await as(FEEDBACK, "admin").issueFeedbackTickets({ shiftId: shift.id, count: 1, idempotencyKey: key("tkt") });
  const res = await serviceClient(FEEDBACK, { token: null }).submitFeedback({ ticket: issued.tickets[0], rating: 4 });
  return { shift, feedbackId: res.feedbackId };
}

async function award(role, { volunteerId, org, level = Level.COMMUNITY, title = `Authz ${uid()}` }) {
  return as(COMMENDATIONS, role).awardCommendation({
    volunteerId,
    organizationId: org.id,
    level,
    title,
    idempotencyKey: key("cmd"),
  });
}

const shiftOf = async (id) => (await as(RECORDS, "admin").getShift({ shiftId: id })).shift;
const balanceOf = async (vid) => (await as(POINTS, "admin").getPointsBalance({ volunteerId: vid })).balance;

// ---------------------------------------------------------------------------
// The table runner.

const ROLES = [
  "admin",
  "officeDistrict",
  "officeSubdistrict",
  "officeCommunity",
  "officeSiblingCommunity",
  "leaderTeam",
  "leaderSiblingTeam",
  "employer",
  "auditor",
];
const Y = "allowed";
const N = "permission_denied";

/**
 * One `it` per (row, role). rows: { rowName: [cell per ROLES] }.
 * specs[rowName] (or specs.default):
 *   prepare(role)          made beforehand by admin (fresh per call)
 *   invoke(role, ctx)      the call under test
 *   check(res, ctx, role)  what an allowed caller gets
 *   unchanged(ctx)         after a refusal: the object is as it was
 */
function authzTable(title, rows, specs) {
  describe(title, () => {
    for (const [row, cells] of Object.entries(rows)) {
      assert.equal(cells.length, ROLES.length, `${title} / ${row}: one cell per role`);
      const spec = specs[row] ?? specs.default;
      ROLES.forEach((role, i) => {
        it(`${row} as ${role}: ${cells[i]}`, async () => {
          const ctx = spec.prepare ? await spec.prepare(role) : undefined;
          if (cells[i] === Y) {
            const res = await spec.invoke(role, ctx);
            await spec.check(res, ctx, role);
          } else {
            const sizeBefore = await logTreeSize();
            await expectCode(spec.invoke(role, ctx), Code.PermissionDenied);
            assert.equal(await logTreeSize(), sizeBefore, `${row} as ${role} was refused but wrote to the log`);
            if (spec.unchanged) await spec.unchanged(ctx, role);
          }
        });
      });
    }
  });
}

// ---------------------------------------------------------------------------
// RecordsService

// prettier-ignore
authzTable("RecordsService/VoidEntry", {
  //                                        admin  offDistrict  offSubdistrict  offCommunity  offSiblingCommunity  leaderTeam  leaderSiblingTeam  employer  auditor
  "void a shift of the team":              [  Y,        Y,            Y,             Y,               N,               N,              N,             N,        N   ],
  "void feedback on a shift of the team":  [  Y,        Y,            Y,             Y,               N,               N,              N,             N,        N   ],
  "void a commendation of the community":  [  Y,        Y,            Y,             Y,               N,               N,              N,             N,        N   ],
  "void a commendation of the subdistrict":[  Y,        Y,            Y,             N,               N,               N,              N,             N,        N   ],
}, {
  "void a shift of the team": {
    prepare: async () => (await newShift()).id,
    invoke: (role, id) => as(RECORDS, role).voidEntry({ entryId: id, reason: "authz", idempotencyKey: key() }),
    check: async (res, id, role) => {
      const { json } = receiptEntry(res.receipt);
      assert.equal(json.kind, "entry_voided");
      assert.equal(json.actor, T[role]);
      assert.equal(json.voided.id, id);
      assert.equal((await shiftOf(id)).voided, true);
    },
    unchanged: async (id) => assert.equal((await shiftOf(id)).voided, false),
  },
  "void feedback on a shift of the team": {
    prepare: async () => (await newFeedback()).feedbackId,
    invoke: (role, id) => as(RECORDS, role).voidEntry({ entryId: id, reason: "authz", idempotencyKey: key() }),
    check: async (res, id) => {
      assert.equal(receiptEntry(res.receipt).json.voided.id, id);
      assert.equal(await psqlQuery(`SELECT voided FROM feedback WHERE id = ${sql(id)}`), "t");
    },
    unchanged: async (id) => assert.equal(await psqlQuery(`SELECT voided FROM feedback WHERE id = ${sql(id)}`), "f"),
  },
  "void a commendation of the community": {
    prepare: async () => (await award("admin", { volunteerId: await newVolunteer(), org: O.community })).commendation.id,
    invoke: (role, id) => as(RECORDS, role).voidEntry({ entryId: id, reason: "authz", idempotencyKey: key() }),
    check: async (res, id) => {
      assert.equal(receiptEntry(res.receipt).json.voided.id, id);
      assert.equal(await psqlQuery(`SELECT voided FROM commendations WHERE id = ${sql(id)}`), "t");
    },
    unchanged: async (id) => assert.equal(await psqlQuery(`SELECT voided FROM commendations WHERE id = ${sql(id)}`), "f"),
  },
  "void a commendation of the subdistrict": {
    prepare: async () =>
      (await award("admin", { volunteerId: await newVolunteer(), org: O.subdistrict, level: Level.SUBDISTRICT })).commendation.id,
    invoke: (role, id) => as(RECORDS, role).voidEntry({ entryId: id, reason: "authz", idempotencyKey: key() }),
    check: async (res, id) => {
      assert.equal(receiptEntry(res.receipt).json.voided.id, id);
      assert.equal(await psqlQuery(`SELECT voided FROM commendations WHERE id = ${sql(id)}`), "t");
    },
    unchanged: async (id) => assert.equal(await psqlQuery(`SELECT voided FROM commendations WHERE id = ${sql(id)}`), "f"),
  },
});

// prettier-ignore
authzTable("RecordsService/AmendShift", {
  //                                        admin  offDistrict  offSubdistrict  offCommunity  offSiblingCommunity  leaderTeam  leaderSiblingTeam  employer  auditor
  "amend an approved shift of the team":   [  Y,        Y,            Y,             Y,               N,               N,              N,             N,        N   ],
  "amend a pending shift of the team":     [  Y,        Y,            Y,             Y,               N,               N,              N,             N,        N   ],
}, {
  "amend an approved shift of the team": {
    prepare: () => newShift(),
    invoke: (role, s) =>
      as(RECORDS, role).amendShift({ shiftId: s.id, fields: ["note"], note: `amended ${uid()}`, reason: "authz", idempotencyKey: key() }),
    check: async (res, s, role) => {
      assert.equal(res.shift.id, s.id);
      assert.match(res.shift.note, /^amended /);
      const { json } = receiptEntry(res.receipt);
      assert.equal(json.kind, "shift_amended");
      assert.equal(json.actor, T[role]);
      assert.equal((await shiftOf(s.id)).note, res.shift.note);
    },
    unchanged: async (s) => assert.equal((await shiftOf(s.id)).note, ""),
  },
  "amend a pending shift of the team": {
    prepare: () => newShift({ pending: true }),
    invoke: (role, s) =>
      as(RECORDS, role).amendShift({ shiftId: s.id, fields: ["place"], place: `place ${uid()}`, reason: "authz", idempotencyKey: key() }),
    check: async (res, s) => {
      assert.match(res.shift.place, /^place /);
      assert.equal(res.shift.status, Status.PENDING);
      assert.equal(receiptEntry(res.receipt).json.kind, "shift_amended");
    },
    unchanged: async (s) => assert.equal((await shiftOf(s.id)).place, s.place),
  },
});

/** Asserts a ListEntries page holds the volunteer's registration. */
function hasRegistration(res, vid) {
  const kinds = res.entries.filter((e) => Buffer.from(e.entry).toString("utf8").includes(vid)).map((e) => e.kind);
  assert.ok(kinds.includes("volunteer_registered"), `no volunteer_registered entry about ${vid}: ${kinds.join(", ")}`);
}

// records.proto: "Admin, offices at or above, the team leader of the
// volunteer's team." For the organizationId form the team leader is taken to
// be the leader of that organisation (a team): it may list its own team, not
// the community above it.
// prettier-ignore
authzTable("RecordsService/ListEntries", {
  //                                        admin  offDistrict  offSubdistrict  offCommunity  offSiblingCommunity  leaderTeam  leaderSiblingTeam  employer  auditor
  "volunteerId: a volunteer of the team":  [  Y,        Y,            Y,             Y,               N,               Y,              N,             N,        N   ],
  "organizationId: the team":              [  Y,        Y,            Y,             Y,               N,               Y,              N,             N,        N   ],
  "organizationId: the community":         [  Y,        Y,            Y,             Y,               N,               N,              N,             N,        N   ],
}, {
  "volunteerId: a volunteer of the team": {
    prepare: () => newVolunteer(),
    invoke: (role, vid) => as(RECORDS, role).listEntries({ volunteerId: vid }),
    check: (res, vid) => hasRegistration(res, vid),
  },
  "organizationId: the team": {
    prepare: () => newVolunteer(),
    invoke: (role) => as(RECORDS, role).listEntries({ organizationId: O.team.id, kinds: ["volunteer_registered"] }),
    check: (res, vid) => hasRegistration(res, vid),
  },
  "organizationId: the community": {
    prepare: () => newVolunteer(),
    invoke: (role) => as(RECORDS, role).listEntries({ organizationId: O.community.id, kinds: ["volunteer_registered"] }),
    check: (res, vid) => hasRegistration(res, vid),
  },
});

// prettier-ignore
authzTable("RecordsService/GetVolunteerSummary", {
  //                                        admin  offDistrict  offSubdistrict  offCommunity  offSiblingCommunity  leaderTeam  leaderSiblingTeam  employer  auditor
  "a volunteer of the team":               [  Y,        Y,            Y,             Y,               N,               Y,              N,             N,        N   ],
}, {
  default: {
    prepare: async () => (await newShift()).volunteerId,
    invoke: (role, vid) => as(RECORDS, role).getVolunteerSummary({ volunteerId: vid }),
    check: (res, vid) => {
      assert.equal(res.summary.volunteerId, vid);
      assert.equal(Number(res.summary.totalMinutes), 60);
      assert.equal(res.summary.shiftCount, 1);
    },
  },
});

// ---------------------------------------------------------------------------
// FeedbackService

// prettier-ignore
authzTable("FeedbackService/IssueFeedbackTickets", {
  //                                        admin  offDistrict  offSubdistrict  offCommunity  offSiblingCommunity  leaderTeam  leaderSiblingTeam  employer  auditor
  "tickets for a shift of the team":       [  Y,        Y,            Y,             Y,               N,               Y,              N,             N,        N   ],
}, {
  default: {
    prepare: () => newShift(),
    invoke: (role, s) => as(FEEDBACK, role).issueFeedbackTickets({ shiftId: s.id, count: 2, idempotencyKey: key() }),
    check: async (res, s, role) => {
      assert.equal(res.tickets.length, 2);
      const { json } = receiptEntry(res.receipt);
      assert.equal(json.kind, "feedback_tickets_issued");
      assert.equal(json.actor, T[role]);
      assert.equal(json.shift.id, s.id);
      assert.equal(await count(`SELECT count(*) FROM feedback_tickets WHERE shift_id = ${sql(s.id)}`), 2);
    },
    unchanged: async (s) => assert.equal(await count(`SELECT count(*) FROM feedback_tickets WHERE shift_id = ${sql(s.id)}`), 0),
  },
});

describe("FeedbackService/SubmitFeedback is public: any token, or none, is irrelevant", () => {
  let tickets;
  let next = 0;
  let revoked;
  before(async () => {
    const shift = await newShift();
    const res = await as(FEEDBACK, "admin").issueFeedbackTickets({ shiftId: shift.id, count: ROLES.length + 4, idempotencyKey: key() });
    tickets = res.tickets;
    revoked = await createToken(admin(), { role: Role.TEAM_LEADER, organizationId: O.team.id, description: "authz revoked" });
    await admin().revokeToken({ id: revoked.token.id, idempotencyKey: key() });
  });
  const submit = async (secret) => {
    const ticket = tickets[next++];
    const res = await serviceClient(FEEDBACK, { token: secret }).submitFeedback({ ticket, rating: 5, comment: "thanks" });
    assert.match(res.feedbackId, /^fbk_/);
    const { json } = receiptEntry(res.receipt);
    assert.equal(json.kind, "feedback_given");
    assert.equal(json.actor, "public", "the entry must not name the caller's token");
    return { ticket, res };
  };

  it("with no token: allowed", async () => {
    await submit(null);
  });
  for (const role of ROLES) {
    it(`with ${role}'s token: allowed, and the actor is still "public"`, async () => {
      await submit(D[role]);
    });
  }
  it("with a forged token: allowed", async () => {
    await submit(`vlt_${"A".repeat(43)}`);
  });
  it("with a revoked token: allowed", async () => {
    await submit(revoked.secret);
  });
  it("a token gives no more: a used ticket is already_exists, even for admin", async () => {
    const { ticket } = await submit(null);
    const sizeBefore = await logTreeSize();
    await expectCode(serviceClient(FEEDBACK, { token: D.admin }).submitFeedback({ ticket, rating: 1 }), Code.AlreadyExists, "ticket");
    assert.equal(await logTreeSize(), sizeBefore);
  });
});

// ---------------------------------------------------------------------------
// CommendationService

// Rows: which organisation awards, at which level, to a volunteer of the
// team. A level may not exceed the awarding organisation's rank (community 2,
// subdistrict 3, district 4); CITY is admin-only, through any office; the
// volunteer must be in the awarding organisation or below it.
// prettier-ignore
authzTable("CommendationService/AwardCommendation", {
  //                                           admin  offDistrict  offSubdistrict  offCommunity  offSiblingCommunity  leaderTeam  leaderSiblingTeam  employer  auditor
  "community awards COMMUNITY":               [  Y,        Y,            Y,             Y,               N,               N,              N,             N,        N   ],
  "community awards TEAM":                    [  Y,        Y,            Y,             Y,               N,               N,              N,             N,        N   ],
  "subdistrict awards SUBDISTRICT":           [  Y,        Y,            Y,             N,               N,               N,              N,             N,        N   ],
  "district awards DISTRICT":                 [  Y,        Y,            N,             N,               N,               N,              N,             N,        N   ],
  "community awards SUBDISTRICT (too high)":  [  N,        N,            N,             N,               N,               N,              N,             N,        N   ],
  "district awards CITY":                     [  Y,        N,            N,             N,               N,               N,              N,             N,        N   ],
  "community awards CITY":                    [  Y,        N,            N,             N,               N,               N,              N,             N,        N   ],
  "sibling community awards COMMUNITY (volunteer not in it)":
                                              [  N,        N,            N,             N,               N,               N,              N,             N,        N   ],
}, (() => {
  const row = (org, level) => ({
    prepare: async () => ({ vid: await newVolunteer(), title: `Authz award ${uid()}` }),
    invoke: (role, { vid, title }) => award(role, { volunteerId: vid, org: O[org], level: Level[level], title }),
    check: (res, { vid, title }, role) => {
      const c = res.commendation;
      assert.match(c.id, /^cmd_/);
      assert.equal(c.volunteerId, vid);
      assert.equal(c.organizationId, O[org].id);
      assert.equal(c.level, Level[level]);
      assert.equal(c.title, title);
      assert.equal(c.awardedBy, T[role]);
      const { json } = receiptEntry(res.receipt);
      assert.equal(json.kind, "commendation_awarded");
      assert.equal(json.actor, T[role]);
    },
    unchanged: async ({ title }) => assert.equal(await count(`SELECT count(*) FROM commendations WHERE title = ${sql(title)}`), 0),
  });
  return {
    "community awards COMMUNITY": row("community", "COMMUNITY"),
    "community awards TEAM": row("community", "TEAM"),
    "subdistrict awards SUBDISTRICT": row("subdistrict", "SUBDISTRICT"),
    "district awards DISTRICT": row("district", "DISTRICT"),
    "community awards SUBDISTRICT (too high)": row("community", "SUBDISTRICT"),
    "district awards CITY": row("district", "CITY"),
    "community awards CITY": row("community", "CITY"),
    "sibling community awards COMMUNITY (volunteer not in it)": row("siblingCommunity", "COMMUNITY"),
  };
})());

// prettier-ignore
authzTable("CommendationService/ListCommendations", {
  //                                        admin  offDistrict  offSubdistrict  offCommunity  offSiblingCommunity  leaderTeam  leaderSiblingTeam  employer  auditor
  "a volunteer of the team":               [  Y,        Y,            Y,             Y,               N,               Y,              N,             N,        N   ],
}, {
  default: {
    prepare: async () => {
      const vid = await newVolunteer();
      const res = await award("admin", { volunteerId: vid, org: O.community });
      return { vid, id: res.commendation.id };
    },
    invoke: (role, { vid }) => as(COMMENDATIONS, role).listCommendations({ volunteerId: vid }),
    check: (res, { id }) => assert.deepEqual(res.commendations.map((c) => c.id), [id]),
  },
});

// ---------------------------------------------------------------------------
// PointsService (default policy: 10 points an approved hour)

// prettier-ignore
authzTable("PointsService/RedeemPoints", {
  //                                        admin  offDistrict  offSubdistrict  offCommunity  offSiblingCommunity  leaderTeam  leaderSiblingTeam  employer  auditor
  "a volunteer of the team":               [  Y,        Y,            Y,             Y,               N,               N,              N,             N,        N   ],
}, {
  default: {
    prepare: async () => {
      const vid = (await newShift()).volunteerId;
      const balance = await balanceOf(vid);
      assert.ok(balance >= 1n, `a volunteer with an approved hour has ${balance} points`);
      return { vid, balance };
    },
    invoke: (role, { vid }) => as(POINTS, role).redeemPoints({ volunteerId: vid, points: 1n, reason: "authz", idempotencyKey: key() }),
    check: async (res, { vid, balance }, role) => {
      assert.match(res.redemptionId, /^rdm_/);
      assert.equal(res.balance, balance - 1n);
      const { json } = receiptEntry(res.receipt);
      assert.equal(json.kind, "points_redeemed");
      assert.equal(json.actor, T[role]);
      assert.equal(await balanceOf(vid), balance - 1n);
    },
    unchanged: async ({ vid, balance }) => assert.equal(await balanceOf(vid), balance),
  },
});

// prettier-ignore
authzTable("PointsService/GetPointsBalance", {
  //                                        admin  offDistrict  offSubdistrict  offCommunity  offSiblingCommunity  leaderTeam  leaderSiblingTeam  employer  auditor
  "a volunteer of the team":               [  Y,        Y,            Y,             Y,               N,               Y,              N,             N,        N   ],
}, {
  default: {
    prepare: async () => (await newShift()).volunteerId,
    invoke: (role, vid) => as(POINTS, role).getPointsBalance({ volunteerId: vid }),
    check: (res) => {
      assert.ok(res.earned >= 1n, `earned ${res.earned}`);
      assert.equal(res.redeemed, 0n);
      assert.equal(res.balance, res.earned);
    },
  },
});

// ---------------------------------------------------------------------------
// AttendanceService

const checkInReq = (vid) => ({
  volunteerId: vid,
  organizationId: O.team.id,
  category: Category.BUILDING_SWEEP,
  activity: "sweeping",
  place: "building 9",
  idempotencyKey: key("chk"),
});
const openCheckIns = (vid) => count(`SELECT count(*) FROM check_ins WHERE volunteer_id = ${sql(vid)} AND shift_id IS NULL`);

// prettier-ignore
authzTable("AttendanceService/CheckIn", {
  //                                        admin  offDistrict  offSubdistrict  offCommunity  offSiblingCommunity  leaderTeam  leaderSiblingTeam  employer  auditor
  "a volunteer of the team, at the team":  [  Y,        Y,            Y,             Y,               N,               Y,              N,             N,        N   ],
}, {
  default: {
    prepare: () => newVolunteer(),
    invoke: (role, vid) => as(ATTENDANCE, role).checkIn(checkInReq(vid)),
    check: async (res, vid, role) => {
      assert.match(res.checkIn.id, /^chk_/);
      assert.equal(res.checkIn.volunteerId, vid);
      assert.equal(res.checkIn.checkedInBy, T[role]);
      assert.equal(receiptEntry(res.receipt).json.kind, "checked_in");
      assert.equal(await openCheckIns(vid), 1);
    },
    unchanged: async (vid) => assert.equal(await openCheckIns(vid), 0),
  },
});

// prettier-ignore
authzTable("AttendanceService/CheckOut", {
  //                                        admin  offDistrict  offSubdistrict  offCommunity  offSiblingCommunity  leaderTeam  leaderSiblingTeam  employer  auditor
  "a check-in at the team":                [  Y,        Y,            Y,             Y,               N,               Y,              N,             N,        N   ],
}, {
  default: {
    prepare: async () => {
      const vid = await newVolunteer();
      const res = await as(ATTENDANCE, "leaderTeam").checkIn(checkInReq(vid));
      return { vid, checkInId: res.checkIn.id };
    },
    invoke: (role, { checkInId }) => as(ATTENDANCE, role).checkOut({ checkInId, idempotencyKey: key() }),
    check: async (res, { vid }, role) => {
      assert.equal(res.shift.volunteerId, vid);
      assert.equal(res.shift.source, Source.MEASURED);
      assert.equal(res.shift.status, role === "leaderTeam" ? Status.PENDING : Status.APPROVED);
      assert.equal(res.shift.recordedBy, T[role]);
      assert.equal(receiptEntry(res.receipt).json.kind, "shift_recorded");
      assert.equal(await openCheckIns(vid), 0);
    },
    unchanged: async ({ vid }) => {
      assert.equal(await openCheckIns(vid), 1);
      assert.equal(await count(`SELECT count(*) FROM shifts WHERE volunteer_id = ${sql(vid)}`), 0);
    },
  },
});

// ---------------------------------------------------------------------------
// AdminService, against include/vledger/admin.h:
//   CreateOrganization  admin: anything; office: under its subtree
//   Get/ListOrganizations admin, auditor: all; office: its subtree;
//                       team_leader, employer: their own organisation
//   CreateToken         admin: any role; office: ROLE_OFFICE and
//                       ROLE_TEAM_LEADER tokens for its subtree
//   RevokeToken, ListTokens  admin: all; office: tokens of its subtree

// ListOrganizations refuses no one: it lists what the caller may see. Of the
// tree's organisations, each role sees exactly these.
const TREE = ["district", "subdistrict", "community", "siblingCommunity", "team", "siblingTeam", "siblingCommunityTeam", "employer"];
// prettier-ignore
const SEES_ORGS = {
  admin:                  TREE,
  officeDistrict:         ["district", "subdistrict", "community", "siblingCommunity", "team", "siblingTeam", "siblingCommunityTeam"],
  officeSubdistrict:      ["subdistrict", "community", "siblingCommunity", "team", "siblingTeam", "siblingCommunityTeam"],
  officeCommunity:        ["community", "team", "siblingTeam"],
  officeSiblingCommunity: ["siblingCommunity", "siblingCommunityTeam"],
  leaderTeam:             ["team"],
  leaderSiblingTeam:      ["siblingTeam"],
  employer:               ["employer"],
  auditor:                TREE,
};
const SEES_ALL = new Set(["admin", "auditor"]);

describe("AdminService/ListOrganizations", () => {
  const names = (orgs) => {
    const byId = new Map(TREE.map((n) => [O[n].id, n]));
    return orgs.map((o) => byId.get(o.id) ?? `(outside the tree: ${o.id})`);
  };
  for (const role of ROLES) {
    it(`as ${role}: allowed, and lists exactly ${SEES_ALL.has(role) ? "everything" : SEES_ORGS[role].join(", ")}`, async () => {
      const all = await listAllOrgs(admin({ token: D[role] }));
      let seen = names(all);
      if (SEES_ALL.has(role)) seen = seen.filter((n) => !n.startsWith("("));
      assert.deepEqual(seen.sort(), [...SEES_ORGS[role]].sort());
    });
    it(`as ${role}, parentId the community: lists the children it may see`, async () => {
      const children = await listAllOrgs(admin({ token: D[role] }), { parentId: O.community.id });
      const want = ["team", "siblingTeam"].filter((n) => SEES_ORGS[role].includes(n));
      assert.deepEqual(names(children).sort(), want.sort());
    });
  }
});

const orgsNamed = (name) => count(`SELECT count(*) FROM organizations WHERE name = ${sql(name)}`);

// prettier-ignore
authzTable("AdminService/CreateOrganization", {
  //                                        admin  offDistrict  offSubdistrict  offCommunity  offSiblingCommunity  leaderTeam  leaderSiblingTeam  employer  auditor
  "a TEAM under the community":            [  Y,        Y,            Y,             Y,               N,               N,              N,             N,        N   ],
  "a COMMUNITY under the subdistrict":     [  Y,        Y,            Y,             N,               N,               N,              N,             N,        N   ],
  "a SUBDISTRICT under the district":      [  Y,        Y,            N,             N,               N,               N,              N,             N,        N   ],
  "a DISTRICT":                            [  Y,        N,            N,             N,               N,               N,              N,             N,        N   ],
  "an EMPLOYER":                           [  Y,        N,            N,             N,               N,               N,              N,             N,        N   ],
}, (() => {
  const row = (kind, parent) => ({
    prepare: () => `Authz ${kind} ${uid()}`,
    invoke: (role, name) =>
      as("vledger.v1.AdminService", role).createOrganization({
        name,
        kind: Kind[kind],
        parentId: parent ? O[parent].id : "",
        idempotencyKey: key(),
      }),
    check: async (res, name, role) => {
      assert.equal(res.organization.name, name);
      assert.equal(res.organization.kind, Kind[kind]);
      assert.equal(res.organization.parentId, parent ? O[parent].id : "");
      const { json } = receiptEntry(res.receipt);
      assert.equal(json.kind, "organization_registered");
      assert.equal(json.actor, T[role]);
      assert.equal(await orgsNamed(name), 1);
    },
    unchanged: async (name) => assert.equal(await orgsNamed(name), 0),
  });
  return {
    "a TEAM under the community": row("TEAM", "community"),
    "a COMMUNITY under the subdistrict": row("COMMUNITY", "subdistrict"),
    "a SUBDISTRICT under the district": row("SUBDISTRICT", "district"),
    "a DISTRICT": row("DISTRICT", null),
    "an EMPLOYER": row("EMPLOYER", null),
  };
})());

// prettier-ignore
authzTable("AdminService/GetOrganization", {
  //                                        admin  offDistrict  offSubdistrict  offCommunity  offSiblingCommunity  leaderTeam  leaderSiblingTeam  employer  auditor
  "the team":                              [  Y,        Y,            Y,             Y,               N,               Y,              N,             N,        Y   ],
  "the community":                         [  Y,        Y,            Y,             Y,               N,               N,              N,             N,        Y   ],
  "the subdistrict":                       [  Y,        Y,            Y,             N,               N,               N,              N,             N,        Y   ],
  "the employer":                          [  Y,        N,            N,             N,               N,               N,              N,             Y,        Y   ],
}, (() => {
  const row = (org) => ({
    invoke: (role) => as("vledger.v1.AdminService", role).getOrganization({ id: O[org].id }),
    check: (res) => {
      assert.equal(res.organization.id, O[org].id);
      assert.equal(res.organization.name, O[org].name);
    },
  });
  return { "the team": row("team"), "the community": row("community"), "the subdistrict": row("subdistrict"), "the employer": row("employer") };
})());

const newTeamToken = () => createToken(admin(), { role: Role.TEAM_LEADER, organizationId: O.team.id, description: `authz ${uid()}` });
const tokensDescribed = (d) => count(`SELECT count(*) FROM tokens WHERE description = ${sql(d)}`);

// prettier-ignore
authzTable("AdminService/CreateToken", {
  //                                        admin  offDistrict  offSubdistrict  offCommunity  offSiblingCommunity  leaderTeam  leaderSiblingTeam  employer  auditor
  "a TEAM_LEADER token for the team":      [  Y,        Y,            Y,             Y,               N,               N,              N,             N,        N   ],
  "an OFFICE token for the community":     [  Y,        Y,            Y,             Y,               N,               N,              N,             N,        N   ],
  "an OFFICE token for the subdistrict":   [  Y,        Y,            Y,             N,               N,               N,              N,             N,        N   ],
  "an EMPLOYER token for the employer":    [  Y,        N,            N,             N,               N,               N,              N,             N,        N   ],
  "an AUDITOR token":                      [  Y,        N,            N,             N,               N,               N,              N,             N,        N   ],
  "an ADMIN token":                        [  Y,        N,            N,             N,               N,               N,              N,             N,        N   ],
}, (() => {
  const row = (role, org) => ({
    prepare: () => `authz token ${uid()}`,
    invoke: (caller, description) =>
      admin({ token: D[caller] }).createToken({ role: Role[role], organizationId: org ? O[org].id : "", description, idempotencyKey: key() }),
    check: async (res, description, caller) => {
      assert.equal(res.token.role, Role[role]);
      assert.equal(res.token.organizationId, org ? O[org].id : "");
      assert.equal(res.token.createdBy, T[caller]);
      assert.match(res.secret, /^vlt_/);
      assert.equal(receiptEntry(res.receipt).json.kind, "token_created");
      assert.equal(await tokensDescribed(description), 1);
    },
    unchanged: async (description) => assert.equal(await tokensDescribed(description), 0),
  });
  return {
    "a TEAM_LEADER token for the team": row("TEAM_LEADER", "team"),
    "an OFFICE token for the community": row("OFFICE", "community"),
    "an OFFICE token for the subdistrict": row("OFFICE", "subdistrict"),
    "an EMPLOYER token for the employer": row("EMPLOYER", "employer"),
    "an AUDITOR token": row("AUDITOR", null),
    "an ADMIN token": row("ADMIN", null),
  };
})());

// prettier-ignore
authzTable("AdminService/RevokeToken", {
  //                                        admin  offDistrict  offSubdistrict  offCommunity  offSiblingCommunity  leaderTeam  leaderSiblingTeam  employer  auditor
  "a team leader's token of the team":     [  Y,        Y,            Y,             Y,               N,               N,              N,             N,        N   ],
  "an office token of the community":      [  Y,        Y,            Y,             Y,               N,               N,              N,             N,        N   ],
  "an admin token":                        [  Y,        N,            N,             N,               N,               N,              N,             N,        N   ],
}, (() => {
  const row = (make) => ({
    prepare: make,
    invoke: (role, t) => admin({ token: D[role] }).revokeToken({ id: t.token.id, idempotencyKey: key() }),
    check: async (res, t, role) => {
      assert.equal(res.token.id, t.token.id);
      assert.ok(res.token.revokeTime, "no revokeTime");
      const { json } = receiptEntry(res.receipt);
      assert.equal(json.kind, "token_revoked");
      assert.equal(json.actor, T[role]);
      await expectCode(admin({ token: t.secret }).listOrganizations({ pageSize: 1 }), Code.Unauthenticated);
    },
    // The token still works.
    unchanged: async (t) => admin({ token: t.secret }).listOrganizations({ pageSize: 1 }),
  });
  return {
    "a team leader's token of the team": row(newTeamToken),
    "an office token of the community": row(() => createToken(admin(), { role: Role.OFFICE, organizationId: O.community.id })),
    "an admin token": row(() => createToken(admin(), { role: Role.ADMIN })),
  };
})());

// Whose tokens each role may list: an office's subtree (the tree's offices
// and team leaders' tokens live on these organisations).
const TOKEN_ORG = {
  officeDistrict: "district",
  officeSubdistrict: "subdistrict",
  officeCommunity: "community",
  officeSiblingCommunity: "siblingCommunity",
  leaderTeam: "team",
  leaderSiblingTeam: "siblingTeam",
  employer: "employer",
};

// prettier-ignore
authzTable("AdminService/ListTokens", {
  //                                        admin  offDistrict  offSubdistrict  offCommunity  offSiblingCommunity  leaderTeam  leaderSiblingTeam  employer  auditor
  "organizationId: the team":              [  Y,        Y,            Y,             Y,               Y,               N,              N,             N,        N   ],
  "every token the caller may see":        [  Y,        Y,            Y,             Y,               Y,               N,              N,             N,        N   ],
}, {
  // The sibling community's office is not refused: it is shown none of the
  // team's tokens (the same filtering as ListOrganizations).
  "organizationId: the team": {
    prepare: newTeamToken,
    invoke: (role) => listAllTokens(admin({ token: D[role] }), { organizationId: O.team.id }),
    check: (tokens, t, role) => {
      const ids = tokens.map((x) => x.id);
      if (SEES_ORGS[role].includes("team")) {
        assert.ok(ids.includes(t.token.id), `${role} does not see the team's new token`);
        assert.ok(ids.includes(T.leaderTeam), `${role} does not see the team leader's token`);
        for (const x of tokens) assert.equal(x.organizationId, O.team.id);
      } else {
        assert.deepEqual(ids, [], `${role} sees tokens of a team outside its subtree`);
      }
    },
  },
  "every token the caller may see": {
    prepare: newTeamToken,
    invoke: (role) => listAllTokens(admin({ token: D[role] })),
    check: (tokens, t, role) => {
      const ids = new Set(tokens.map((x) => x.id));
      assert.equal(ids.has(t.token.id), SEES_ORGS[role].includes("team"), "the team's new token");
      for (const [holder, org] of Object.entries(TOKEN_ORG)) {
        assert.equal(ids.has(T[holder]), SEES_ORGS[role].includes(org), `${holder}'s token (of ${org})`);
      }
      assert.equal(ids.has(T.admin), role === "admin", "the tree's admin token");
      assert.equal(ids.has(T.auditor), role === "admin", "the tree's auditor token");
      if (role !== "admin") {
        const reach = new Set(SEES_ORGS[role].map((n) => O[n].id));
        for (const x of tokens) assert.ok(reach.has(x.organizationId), `${role} lists ${x.id} of ${x.organizationId || "no organisation"}`);
      }
    },
  },
});
