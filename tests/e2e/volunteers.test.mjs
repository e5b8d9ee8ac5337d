// VolunteerService: registering volunteers, reading them (personal data only
// for admin and offices), erasing their personal data (crypto-shredding: the
// log and every total stay, the data is gone from the database), and who may
// do what.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { before, describe, it } from "node:test";

import {
  Code,
  FORMATS,
  Kind,
  STATE_DIR,
  admin,
  buildRoleTree,
  createOrg,
  expectCode,
  idNumber,
  key,
  logTreeSize,
  psqlQuery,
  rawPost,
  receiptEntry,
  safeJson,
  serviceClient,
  timestampFromDate,
  tsSeconds,
  uid,
} from "./lib.mjs";

const VOLUNTEERS = "vledger.v1.VolunteerService";
const RECORDS = "vledger.v1.RecordsService";
const VOLUNTEER_PATH = `/${VOLUNTEERS}`;

const volunteers = (secret, format = "binary") => serviceClient(VOLUNTEERS, { token: secret, format });
const records = (secret, format = "binary") => serviceClient(RECORDS, { token: secret, format });

/** A name, phone and identity number no other test uses. */
function uniquePerson(label = "V") {
  const digits = String(BigInt("0x" + uid(6)) % 100000000n).padStart(8, "0");
  return { name: `${label} ${uid(6)} 志愿者`, phone: `+86139${digits}`, idNumber: idNumber() };
}

async function register(secret, organizationId, { personalData = uniquePerson(), skills = ["first aid"], format } = {}) {
  const res = await volunteers(secret, format).registerVolunteer({ organizationId, personalData, skills, idempotencyKey: key("vol") });
  assert.ok(res.volunteer, "response has no volunteer");
  return { ...res, personalData };
}

/** Asserts `call()` fails with `code` naming `field`, and that the log did not grow. */
async function expectRefused(call, code, field) {
  const before = await logTreeSize();
  const err = await expectCode(call(), code, field);
  assert.equal(await logTreeSize(), before, `the refused request (${err.rawMessage}) wrote to the log`);
  return err;
}

const HEX64 = /^[0-9a-f]{64}$/;
const VOL_ID = /^vol_[0-9a-f]{24}$/;

let tree;
let D; // tokens' secrets by role
before(async () => {
  tree = await buildRoleTree("VOL");
  D = Object.fromEntries(Object.entries(tree.tokens).map(([role, t]) => [role, t.secret]));
});

describe("RegisterVolunteer", () => {
  for (const format of FORMATS) {
    it(`registers a volunteer without echoing personal data; the entry holds only a commitment (${format})`, async () => {
      const person = uniquePerson("Reg");
      const t0 = Date.now() / 1000;
      const sizeBefore = await logTreeSize();
      const res = await register(D.admin, tree.orgs.team.id, { personalData: person, skills: ["first aid", "驾驶"], format });
      const v = res.volunteer;
      assert.match(v.id, VOL_ID);
      assert.equal(v.organizationId, tree.orgs.team.id);
      assert.deepEqual([...v.skills], ["first aid", "驾驶"]);
      assert.ok(Math.abs(tsSeconds(v.registerTime) - t0) < 60, `registerTime ${safeJson(v.registerTime)}`);
      assert.match(v.commitment, HEX64);
      assert.equal(v.personalData, undefined, "RegisterVolunteer echoed personal data");
      assert.equal(v.eraseTime, undefined);

      assert.ok(res.receipt, "no receipt");
      assert.equal(Number(res.receipt.leafIndex), sizeBefore, "the entry is not the next leaf");
      const { text, json } = receiptEntry(res.receipt);
      assert.equal(json.kind, "volunteer_registered");
      assert.equal(json.volunteer.id, v.id);
      assert.equal(json.volunteer.organizationId, tree.orgs.team.id);
      assert.equal(json.volunteer.commitment, v.commitment);
      for (const [what, secret] of Object.entries(person)) {
        assert.ok(!text.includes(secret), `the log entry contains the ${what}: ${text}`);
      }
      assert.ok(!text.includes(person.idNumber.slice(0, 14)), "the log entry contains part of the identity number");
    });
  }

  it("the JSON response on the wire has no personalData (raw fetch)", async () => {
    const person = uniquePerson("Raw");
    const res = await rawPost(
      `${VOLUNTEER_PATH}/RegisterVolunteer`,
      JSON.stringify({ organizationId: tree.orgs.community.id, personalData: person, skills: [], idempotencyKey: key() }),
      { token: D.officeCommunity },
    );
    assert.equal(res.status, 200, res.text);
    assert.match(res.json.volunteer.id, VOL_ID);
    assert.ok(!("personalData" in res.json.volunteer), `personalData in ${res.text}`);
    for (const secret of Object.values(person)) assert.ok(!res.text.includes(secret), `the response contains ${secret}`);
    assert.ok(typeof res.json.receipt.entry === "string", "receipt.entry is not base64 in JSON");
    const entry = Buffer.from(res.json.receipt.entry, "base64").toString("utf8");
    assert.equal(JSON.parse(entry).kind, "volunteer_registered");
    assert.ok(entry.includes(res.json.volunteer.commitment));
    for (const secret of Object.values(person)) assert.ok(!entry.includes(secret), `the entry contains ${secret}`);
  });

  it("an EMPLOYER organisation is invalid_argument, an unknown one not_found (writing nothing)", async () => {
    await expectRefused(
      () => volunteers(D.admin).registerVolunteer({ organizationId: tree.orgs.employer.id, personalData: uniquePerson(), idempotencyKey: key() }),
      Code.InvalidArgument,
      "organizationId",
    );
    await expectRefused(
      () => volunteers(D.admin).registerVolunteer({ organizationId: `org_${uid(12)}`, personalData: uniquePerson(), idempotencyKey: key() }),
      Code.NotFound,
      "organizationId",
    );
  });

  it("each invalid field is invalid_argument naming it, and writes nothing", async () => {
    const p = () => uniquePerson("Bad");
    const cases = [
      // [what, personalData, skills, field]
      ["no personalData at all", undefined, [], "personalData.name"],
      ["empty name", { ...p(), name: "" }, [], "personalData.name"],
      ["name of 101 characters", { ...p(), name: "名".repeat(101) }, [], "personalData.name"],
      ["name with a control character", { ...p(), name: "Li\u0007Lei" }, [], "personalData.name"],
      ["phone with letters", { ...p(), phone: "1380013800a" }, [], "personalData.phone"],
      ["phone of 4 digits", { ...p(), phone: "1234" }, [], "personalData.phone"],
      ["phone of 21 digits", { ...p(), phone: "1".repeat(21) }, [], "personalData.phone"],
      ["phone with + inside", { ...p(), phone: "138+0013800" }, [], "personalData.phone"],
      ["phone with spaces", { ...p(), phone: "138 0013 8000" }, [], "personalData.phone"],
      ["idNumber with a wrong check digit", { ...p(), idNumber: "110105194912310021" }, [], "personalData.idNumber"],
      ["idNumber of 17 characters", { ...p(), idNumber: "11010519491231002" }, [], "personalData.idNumber"],
      ["idNumber of 19 characters", { ...p(), idNumber: "11010519491231002X1" }, [], "personalData.idNumber"],
      ["idNumber with a letter inside", { ...p(), idNumber: "1101051949A231002X" }, [], "personalData.idNumber"],
      ["21 skills", p(), Array.from({ length: 21 }, (_, i) => `skill ${i}`), "skills"],
      ["an empty skill", p(), ["ok", ""], "skills"],
      ["a skill of 51 characters", p(), ["x".repeat(51)], "skills"],
    ];
    for (const [what, personalData, skills, field] of cases) {
      const req = { organizationId: tree.orgs.team.id, skills, idempotencyKey: key() };
      if (personalData) req.personalData = personalData;
      const before = await logTreeSize();
      const err = await expectCode(volunteers(D.admin).registerVolunteer(req), Code.InvalidArgument).catch((e) => {
        throw new Error(`${what}: ${e.message}`);
      });
      // skills errors may name the element ("skills[1]").
      const re = new RegExp(`(^|[^A-Za-z0-9_.])${field.replace(/\./g, "\\.")}([^A-Za-z0-9_.]|$)`);
      assert.match(err.rawMessage, re, `${what}: the message does not name ${field}`);
      assert.equal(await logTreeSize(), before, `${what}: the log grew`);
    }
  });

  it("accepts the boundaries: 100-character name, 5- and 20-character phones, 20 skills of 50, no phone or id", async () => {
    const cases = [
      { name: "名".repeat(100) },
      { name: "N", phone: "12345" },
      { name: "P", phone: "+" + "8".repeat(19) },
      { name: `Only name ${uid()}` },
    ];
    for (const personalData of cases) {
      const res = await register(D.admin, tree.orgs.team.id, { personalData, skills: [] });
      assert.match(res.volunteer.id, VOL_ID);
      const got = (await volunteers(D.admin).getVolunteer({ volunteerId: res.volunteer.id })).volunteer;
      assert.equal(got.personalData.name, personalData.name);
      assert.equal(got.personalData.phone, personalData.phone ?? "");
      assert.equal(got.personalData.idNumber, "");
    }
    const skills = Array.from({ length: 20 }, (_, i) => `${String(i).padStart(2, "0")}${"s".repeat(48)}`);
    const res = await register(D.admin, tree.orgs.team.id, { skills });
    assert.deepEqual([...res.volunteer.skills], skills);
  });

  it("one identity number once per district (case of X ignored), again in another district", async () => {
    const root = admin();
    const d = await createOrg(root, { name: `IDD ${uid()}`, kind: Kind.DISTRICT });
    const s = await createOrg(root, { name: `IDS ${uid()}`, kind: Kind.SUBDISTRICT, parentId: d.id });
    const c1 = await createOrg(root, { name: `IDC1 ${uid()}`, kind: Kind.COMMUNITY, parentId: s.id });
    const t1 = await createOrg(root, { name: `IDT1 ${uid()}`, kind: Kind.TEAM, parentId: c1.id });
    const c2 = await createOrg(root, { name: `IDC2 ${uid()}`, kind: Kind.COMMUNITY, parentId: s.id });
    const other = await createOrg(root, { name: `IDD2 ${uid()}`, kind: Kind.DISTRICT });
    const otherS = await createOrg(root, { name: `IDS2 ${uid()}`, kind: Kind.SUBDISTRICT, parentId: other.id });
    const otherC = await createOrg(root, { name: `IDC3 ${uid()}`, kind: Kind.COMMUNITY, parentId: otherS.id });

    const first = await register(D.admin, t1.id, { personalData: { name: "张三", idNumber: "11010519491231002X" } });
    const again = [
      ["the same number, same team", t1.id, "11010519491231002X"],
      ["the same number, another community", c2.id, "11010519491231002X"],
      ["lower-case x, another community", c2.id, "11010519491231002x"],
    ];
    for (const [what, organizationId, number] of again) {
      const err = await expectRefused(
        () => volunteers(D.admin).registerVolunteer({ organizationId, personalData: { name: "李四", idNumber: number }, idempotencyKey: key() }),
        Code.AlreadyExists,
        "personalData.idNumber",
      ).catch((e) => {
        throw new Error(`${what}: ${e.message}`);
      });
      assert.ok(err.rawMessage.includes(first.volunteer.id), `${what}: the message does not name ${first.volunteer.id}: ${err.rawMessage}`);
    }
    const elsewhere = await register(D.admin, otherC.id, { personalData: { name: "张三", idNumber: "11010519491231002x" } });
    assert.notEqual(elsewhere.volunteer.id, first.volunteer.id);
    // Kept in normal form: upper-case X.
    const got = await volunteers(D.admin).getVolunteer({ volunteerId: elsewhere.volunteer.id });
    assert.equal(got.volunteer.personalData.idNumber, "11010519491231002X");
  });
});

describe("GetVolunteer", () => {
  let reg;
  before(async () => {
    reg = await register(D.leaderTeam, tree.orgs.team.id, { personalData: uniquePerson("Get"), skills: ["cooking"] });
  });

  it("admin and offices above the volunteer read the personal data as registered", async () => {
    for (const role of ["admin", "officeDistrict", "officeSubdistrict", "officeCommunity"]) {
      for (const format of FORMATS) {
        const v = (await volunteers(D[role], format).getVolunteer({ volunteerId: reg.volunteer.id })).volunteer;
        assert.equal(v.id, reg.volunteer.id, role);
        assert.equal(v.organizationId, tree.orgs.team.id, role);
        assert.deepEqual([...v.skills], ["cooking"], role);
        assert.equal(v.commitment, reg.volunteer.commitment, role);
        assert.ok(v.personalData, `${role} (${format}) got no personal data`);
        assert.equal(v.personalData.name, reg.personalData.name, role);
        assert.equal(v.personalData.phone, reg.personalData.phone, role);
        assert.equal(v.personalData.idNumber, reg.personalData.idNumber, role);
        assert.equal(v.eraseTime, undefined, role);
      }
    }
  });

  it("the team leader of the volunteer's team reads the volunteer without personal data", async () => {
    for (const format of FORMATS) {
      const v = (await volunteers(D.leaderTeam, format).getVolunteer({ volunteerId: reg.volunteer.id })).volunteer;
      assert.equal(v.id, reg.volunteer.id);
      assert.equal(v.commitment, reg.volunteer.commitment);
      assert.equal(v.personalData, undefined, `the team leader got personal data (${format})`);
    }
    const raw = await rawPost(`${VOLUNTEER_PATH}/GetVolunteer`, JSON.stringify({ volunteerId: reg.volunteer.id }), { token: D.leaderTeam });
    assert.equal(raw.status, 200, raw.text);
    for (const secret of Object.values(reg.personalData)) assert.ok(!raw.text.includes(secret), `the team leader's response contains ${secret}`);
  });

  it("a sibling community's office and another team's leader are permission_denied; unknown ids not_found", async () => {
    for (const role of ["officeSiblingCommunity", "leaderSiblingTeam", "employer", "auditor"]) {
      await expectCode(volunteers(D[role]).getVolunteer({ volunteerId: reg.volunteer.id }), Code.PermissionDenied).catch((e) => {
        throw new Error(`${role}: ${e.message}`);
      });
    }
    await expectCode(volunteers(D.admin).getVolunteer({ volunteerId: `vol_${uid(12)}` }), Code.NotFound, "volunteerId");
    await expectCode(volunteers(D.officeCommunity).getVolunteer({ volunteerId: `vol_${uid(12)}` }), Code.NotFound, "volunteerId");
  });
});

// pg_dump of the embedded database (plain SQL, data included).
const PG_BINDIR = process.env.VLEDGER_PG_BINDIR || "/usr/lib/postgresql/15/bin";
const PG_DUMP = existsSync(path.join(PG_BINDIR, "pg_dump")) ? path.join(PG_BINDIR, "pg_dump") : "/usr/bin/pg_dump";

function pgDump() {
  return new Promise((resolve, reject) => {
    execFile(
      PG_DUMP,
      ["-h", path.join(STATE_DIR, "pg", "run"), "-U", "vledger", "-d", "vledger", "--no-password"],
      { timeout: 30000, maxBuffer: 512 << 20, encoding: "buffer" },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`pg_dump: ${err.message} ${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

/** The ways a string might sit in a dump: itself, hex (bytea), base64. */
function encodings(s) {
  const b = Buffer.from(s, "utf8");
  return [s, b.toString("hex"), b.toString("hex").toUpperCase(), b.toString("base64").replace(/=+$/, "")];
}

describe("EraseVolunteerPersonalData", () => {
  it("refuses a missing reason, a team leader, and an unknown volunteer, writing nothing", async () => {
    const { volunteer } = await register(D.admin, tree.orgs.team.id);
    await expectRefused(
      () => volunteers(D.officeCommunity).eraseVolunteerPersonalData({ volunteerId: volunteer.id, reason: "", idempotencyKey: key() }),
      Code.InvalidArgument,
      "reason",
    );
    await expectRefused(
      () => volunteers(D.leaderTeam).eraseVolunteerPersonalData({ volunteerId: volunteer.id, reason: "asked", idempotencyKey: key() }),
      Code.PermissionDenied,
    );
    await expectRefused(
      () => volunteers(D.admin).eraseVolunteerPersonalData({ volunteerId: `vol_${uid(12)}`, reason: "asked", idempotencyKey: key() }),
      Code.NotFound,
      "volunteerId",
    );
    // Still readable.
    const v = (await volunteers(D.admin).getVolunteer({ volunteerId: volunteer.id })).volunteer;
    assert.ok(v.personalData, "personal data gone after refused erasures");
  });

  it("erases the personal data for good while the log, the shifts and the totals stay", async () => {
    const person = { name: `Erasable ${uid(8)} 王五`, phone: `1${String(BigInt("0x" + uid(6)) % 10000000000n).padStart(10, "0")}`, idNumber: idNumber() };
    const { volunteer } = await register(D.leaderTeam, tree.orgs.team.id, { personalData: person });
    const vid = volunteer.id;

    // An approved shift (office) and one recorded by the team leader, then approved.
    const now = Date.now();
    const shiftReq = (startMs, minutes) => ({
      volunteerId: vid,
      organizationId: tree.orgs.team.id,
      category: 4, // SHIFT_CATEGORY_ELDERLY_CARE
      startTime: timestampFromDate(new Date(startMs)),
      endTime: timestampFromDate(new Date(startMs + minutes * 60000)),
      activity: "visiting",
      place: "building 3",
      idempotencyKey: key("shf"),
    });
    const s1 = (await records(D.officeCommunity).recordShift(shiftReq(now - 5 * 3600e3, 90))).shift;
    const s2 = (await records(D.leaderTeam).recordShift(shiftReq(now - 3 * 3600e3, 45))).shift;
    await records(D.officeCommunity).approveShift({ shiftId: s2.id, idempotencyKey: key() });
    const summaryBefore = (await records(D.admin).getVolunteerSummary({ volunteerId: vid })).summary;
    assert.equal(Number(summaryBefore.totalMinutes), 135);

    // Before: the data is there (sealed) and readable.
    assert.equal(await psqlQuery(`SELECT count(*) FROM volunteer_personal_data WHERE volunteer_id = '${vid}'`), "1");
    assert.equal((await volunteers(D.admin).getVolunteer({ volunteerId: vid })).volunteer.personalData.name, person.name);

    const sizeBefore = await logTreeSize();
    const reason = `asked in person ${uid()}`;
    const erased = await volunteers(D.officeCommunity).eraseVolunteerPersonalData({ volunteerId: vid, reason, idempotencyKey: key() });
    assert.equal(erased.volunteer.id, vid);
    assert.equal(erased.volunteer.personalData, undefined);
    assert.ok(erased.volunteer.eraseTime, "no eraseTime in the erase response");
    assert.ok(erased.receipt, "the erasure has no receipt");
    const { text, json } = receiptEntry(erased.receipt);
    assert.equal(json.kind, "volunteer_personal_data_erased");
    assert.equal(json.volunteer.id, vid);
    assert.equal(json.reason, reason);
    for (const secret of Object.values(person)) assert.ok(!text.includes(secret), `the erase entry contains ${secret}`);
    assert.equal(Number(erased.receipt.leafIndex), sizeBefore);
    assert.equal(await logTreeSize(), sizeBefore + 1, "the erasure should add exactly one entry");

    // Nobody reads it any more, not even admin; the rest is unchanged.
    for (const role of ["admin", "officeDistrict", "officeCommunity", "leaderTeam"]) {
      const v = (await volunteers(D[role]).getVolunteer({ volunteerId: vid })).volunteer;
      assert.equal(v.personalData, undefined, `${role} still reads personal data`);
      assert.ok(v.eraseTime, `${role}: no eraseTime`);
      assert.equal(v.commitment, volunteer.commitment);
      assert.equal(v.organizationId, tree.orgs.team.id);
    }
    for (const s of [s1, s2]) {
      const got = (await records(D.officeCommunity).getShift({ shiftId: s.id })).shift;
      assert.equal(got.minutes, s.minutes);
      assert.equal(got.volunteerId, vid);
    }
    const summaryAfter = (await records(D.admin).getVolunteerSummary({ volunteerId: vid })).summary;
    assert.equal(Number(summaryAfter.totalMinutes), Number(summaryBefore.totalMinutes));
    assert.equal(summaryAfter.shiftCount, summaryBefore.shiftCount);
    assert.equal(Number(summaryAfter.lifetimeMinutes), Number(summaryBefore.lifetimeMinutes));

    // Erasing again: no new entry, no receipt, the same erase time.
    const again = await volunteers(D.admin).eraseVolunteerPersonalData({ volunteerId: vid, reason: "again", idempotencyKey: key() });
    assert.equal(again.receipt, undefined, `a second erasure has a receipt: ${safeJson(again.receipt)}`);
    assert.equal(tsSeconds(again.volunteer.eraseTime), tsSeconds(erased.volunteer.eraseTime));
    assert.equal(await logTreeSize(), sizeBefore + 1, "a second erasure wrote to the log");

    // Nothing of it left in the database: no row, and nowhere in a dump.
    assert.equal(await psqlQuery(`SELECT count(*) FROM volunteer_personal_data WHERE volunteer_id = '${vid}'`), "0");
    const dump = await pgDump();
    assert.ok(dump.length > 10000, `the dump is suspiciously small (${dump.length} bytes)`);
    assert.ok(dump.includes(vid), "the dump does not even contain the volunteer id; is it the right database?");
    for (const [what, secret] of Object.entries(person)) {
      for (const form of encodings(secret)) {
        assert.ok(!dump.includes(form), `pg_dump still contains the erased ${what} (${JSON.stringify(form)})`);
      }
    }
    // Also the identity number without its check digit, and the name's random part alone.
    assert.ok(!dump.includes(person.idNumber.slice(0, 17)), "pg_dump contains the first 17 digits of the identity number");
    assert.ok(!dump.includes(person.name.split(" ")[1]), "pg_dump contains the erased name's unique part");

    // The identity number is free again in that district.
    const reRegistered = await register(D.officeDistrict, tree.orgs.siblingCommunity.id, { personalData: { name: "新的", idNumber: person.idNumber } });
    assert.notEqual(reRegistered.volunteer.id, vid);
  });
});

// ---------------------------------------------------------------------------
// Who may do what. Columns are the roles of buildRoleTree(); the volunteer
// lives in `team` (under `community`, beside `siblingTeam`; `siblingCommunity`
// is the next community of the same subdistrict).

const ROLES = ["admin", "officeDistrict", "officeCommunity", "officeSiblingCommunity", "leaderTeam", "leaderSiblingTeam", "employer", "auditor"];
const Y = true;
const N = false;
// prettier-ignore
const ALLOWED = {
  //                           admin  offDistrict  offCommunity  offSiblingCommunity  leaderTeam  leaderSiblingTeam  employer  auditor
  RegisterVolunteer:          [  Y,        Y,           Y,               N,               Y,              N,             N,        N   ],
  GetVolunteer:               [  Y,        Y,           Y,               N,               Y,              N,             N,        N   ],
  EraseVolunteerPersonalData: [  Y,        Y,           Y,               N,               N,              N,             N,        N   ],
};
// Which allowed callers see personal data.
const SEES_PERSONAL_DATA = new Set(["admin", "officeDistrict", "officeCommunity"]);

describe("authorization table (VolunteerService)", () => {
  // prepare(): made by admin beforehand; invoke(): the call under test;
  // check(): what an allowed caller gets.
  const rpcs = {
    RegisterVolunteer: {
      prepare: async () => ({ personalData: uniquePerson("Authz") }),
      invoke: (c, { personalData }) => c.registerVolunteer({ organizationId: tree.orgs.team.id, personalData, skills: [], idempotencyKey: key() }),
      check: (res, { personalData }) => {
        assert.match(res.volunteer.id, VOL_ID);
        assert.equal(res.volunteer.personalData, undefined);
        const entry = receiptEntry(res.receipt);
        assert.equal(entry.json.kind, "volunteer_registered");
        for (const s of Object.values(personalData)) assert.ok(!entry.text.includes(s), `the entry contains ${s}`);
      },
    },
    GetVolunteer: {
      prepare: () => register(D.admin, tree.orgs.team.id),
      invoke: (c, reg) => c.getVolunteer({ volunteerId: reg.volunteer.id }),
      check: (res, reg, role) => {
        assert.equal(res.volunteer.id, reg.volunteer.id);
        if (SEES_PERSONAL_DATA.has(role)) {
          assert.ok(res.volunteer.personalData, `${role} should see personal data`);
          assert.equal(res.volunteer.personalData.name, reg.personalData.name);
          assert.equal(res.volunteer.personalData.phone, reg.personalData.phone);
          assert.equal(res.volunteer.personalData.idNumber, reg.personalData.idNumber);
        } else {
          assert.equal(res.volunteer.personalData, undefined, `${role} must not see personal data`);
        }
      },
    },
    EraseVolunteerPersonalData: {
      prepare: () => register(D.admin, tree.orgs.team.id),
      invoke: (c, reg) => c.eraseVolunteerPersonalData({ volunteerId: reg.volunteer.id, reason: "authz", idempotencyKey: key() }),
      check: async (res, reg) => {
        assert.equal(receiptEntry(res.receipt).json.kind, "volunteer_personal_data_erased");
        const v = (await volunteers(D.admin).getVolunteer({ volunteerId: reg.volunteer.id })).volunteer;
        assert.equal(v.personalData, undefined);
        assert.ok(v.eraseTime);
      },
    },
  };

  for (const [rpc, allowed] of Object.entries(ALLOWED)) {
    ROLES.forEach((role, i) => {
      it(`${rpc} as ${role}: ${allowed[i] ? "allowed" : "permission_denied"}`, async () => {
        const ctx = await rpcs[rpc].prepare();
        const client = volunteers(D[role]);
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
