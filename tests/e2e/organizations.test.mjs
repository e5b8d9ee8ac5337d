// AdminService organisation calls: create, get (also as Connect GET), list
// and pagination, and the validation rules, over binary and JSON.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";

import {
  ADMIN_PATH,
  Code,
  FORMATS,
  Kind,
  admin,
  assertConnectErrorBody,
  assertNoOrgNamed,
  b64url,
  create,
  createOrg,
  expectCode,
  key,
  listAllOrgs,
  mustMessage,
  orgCount,
  rawGet,
  toBinary,
  tsSeconds,
  uid,
} from "./lib.mjs";

function assertOrg(o, { name, kind, parentId = "" }) {
  assert.ok(o, "organization missing");
  assert.match(o.id, /^org_./, "organization id");
  assert.equal(o.name, name);
  assert.equal(o.kind, kind);
  assert.equal(o.parentId, parentId);
  assert.ok(o.createTime, "createTime missing");
  const skew = Math.abs(tsSeconds(o.createTime) - Date.now() / 1000);
  assert.ok(skew < 120, `createTime ${tsSeconds(o.createTime)} is ${skew} s from now`);
}

const BAD_PARENT = [Code.InvalidArgument, Code.FailedPrecondition];

for (const format of FORMATS) {
  describe(`organisations (${format})`, () => {
    const c = admin({ format });
    let district, subdistrict, community, team, employer;

    before(async () => {
      district = await createOrg(c, { name: `D ${uid()}`, kind: Kind.DISTRICT });
      subdistrict = await createOrg(c, { name: `S ${uid()}`, kind: Kind.SUBDISTRICT, parentId: district.id });
      community = await createOrg(c, { name: `C ${uid()}`, kind: Kind.COMMUNITY, parentId: subdistrict.id });
      team = await createOrg(c, { name: `T ${uid()}`, kind: Kind.TEAM, parentId: community.id });
      employer = await createOrg(c, { name: `E ${uid()}`, kind: Kind.EMPLOYER });
    });

    it("creates the whole tree and returns every field", async () => {
      const name = `District ${uid()}`;
      const d = (await c.createOrganization({ name, kind: Kind.DISTRICT, idempotencyKey: key() })).organization;
      assertOrg(d, { name, kind: Kind.DISTRICT });
      const sName = `Sub ${uid()}`;
      const s = (await c.createOrganization({ name: sName, kind: Kind.SUBDISTRICT, parentId: d.id, idempotencyKey: key() })).organization;
      assertOrg(s, { name: sName, kind: Kind.SUBDISTRICT, parentId: d.id });
      const cName = `Comm ${uid()}`;
      const cm = (await c.createOrganization({ name: cName, kind: Kind.COMMUNITY, parentId: s.id, idempotencyKey: key() })).organization;
      assertOrg(cm, { name: cName, kind: Kind.COMMUNITY, parentId: s.id });
      const tName = `Team ${uid()}`;
      const t = (await c.createOrganization({ name: tName, kind: Kind.TEAM, parentId: cm.id, idempotencyKey: key() })).organization;
      assertOrg(t, { name: tName, kind: Kind.TEAM, parentId: cm.id });
      const eName = `Employer ${uid()}`;
      const e = (await c.createOrganization({ name: eName, kind: Kind.EMPLOYER, idempotencyKey: key() })).organization;
      assertOrg(e, { name: eName, kind: Kind.EMPLOYER });
      const ids = new Set([d.id, s.id, cm.id, t.id, e.id]);
      assert.equal(ids.size, 5, "ids must be distinct");
    });

    it("GetOrganization returns what CreateOrganization returned", async () => {
      for (const o of [district, subdistrict, community, team, employer]) {
        const got = (await c.getOrganization({ id: o.id })).organization;
        assert.equal(got.id, o.id);
        assert.equal(got.name, o.name);
        assert.equal(got.kind, o.kind);
        assert.equal(got.parentId, o.parentId);
        assert.equal(tsSeconds(got.createTime), tsSeconds(o.createTime));
      }
    });

    it("GetOrganization of an unknown id is not_found naming id", async () => {
      await expectCode(c.getOrganization({ id: `org_${uid(12)}` }), Code.NotFound, "id");
    });

    it("GetOrganization works over POST too (useHttpGet off)", async () => {
      const post = admin({ format, useHttpGet: false });
      const got = (await post.getOrganization({ id: team.id })).organization;
      assert.equal(got.id, team.id);
      assert.equal(got.name, team.name);
    });

    it("names: exactly 200 characters (multi-byte) are kept byte for byte", async () => {
      const name = "é".repeat(199) + "x";
      assert.equal([...name].length, 200);
      const o = await createOrg(c, { name, kind: Kind.EMPLOYER });
      assert.equal(o.name, name);
      assert.equal((await c.getOrganization({ id: o.id })).organization.name, name);
      const mixed = `Ünïcødé ✓ 日本 ${uid()}`;
      const o2 = await createOrg(c, { name: mixed, kind: Kind.EMPLOYER });
      assert.equal((await c.getOrganization({ id: o2.id })).organization.name, mixed);
    });

    it("rejects bad requests with invalid_argument naming the field and writes nothing", async () => {
      const before = await orgCount();
      const n = `bad ${uid()}`;
      await expectCode(c.createOrganization({ name: n, kind: Kind.DISTRICT }), Code.InvalidArgument, "idempotencyKey");
      await expectCode(c.createOrganization({ name: "", kind: Kind.DISTRICT, idempotencyKey: key() }), Code.InvalidArgument, "name");
      await expectCode(c.createOrganization({ name: "   \t ", kind: Kind.DISTRICT, idempotencyKey: key() }), Code.InvalidArgument, "name");
      await expectCode(c.createOrganization({ name: "x".repeat(201), kind: Kind.DISTRICT, idempotencyKey: key() }), Code.InvalidArgument, "name");
      await expectCode(c.createOrganization({ name: "é".repeat(201), kind: Kind.DISTRICT, idempotencyKey: key() }), Code.InvalidArgument, "name");
      await expectCode(c.createOrganization({ name: n, kind: Kind.UNSPECIFIED, idempotencyKey: key() }), Code.InvalidArgument, "kind");
      await expectCode(c.createOrganization({ name: n, kind: 99, idempotencyKey: key() }), Code.InvalidArgument, "kind");
      await expectCode(c.createOrganization({ name: n, kind: Kind.DISTRICT, parentId: district.id, idempotencyKey: key() }), Code.InvalidArgument, "parentId");
      await expectCode(c.createOrganization({ name: n, kind: Kind.EMPLOYER, parentId: district.id, idempotencyKey: key() }), Code.InvalidArgument, "parentId");
      assert.equal(await orgCount(), before, "a rejected request wrote an organisation");
      await assertNoOrgNamed(n);
    });

    it("enforces the tree: wrong parent kinds name parentId and write nothing", async () => {
      const before = await orgCount();
      const n = `misplaced ${uid()}`;
      const cases = [
        [Kind.SUBDISTRICT, ""], // a subdistrict needs a district
        [Kind.SUBDISTRICT, subdistrict.id],
        [Kind.SUBDISTRICT, employer.id],
        [Kind.COMMUNITY, ""],
        [Kind.COMMUNITY, district.id],
        [Kind.COMMUNITY, team.id],
        [Kind.TEAM, ""],
        [Kind.TEAM, subdistrict.id],
        [Kind.TEAM, team.id],
        [Kind.TEAM, employer.id],
      ];
      for (const [kind, parentId] of cases) {
        await expectCode(c.createOrganization({ name: n, kind, parentId, idempotencyKey: key() }), BAD_PARENT, "parentId");
      }
      assert.equal(await orgCount(), before, "a rejected request wrote an organisation");
      await assertNoOrgNamed(n);
    });

    it("an unknown parentId is not_found naming parentId", async () => {
      const n = `orphan ${uid()}`;
      await expectCode(
        c.createOrganization({ name: n, kind: Kind.SUBDISTRICT, parentId: `org_${uid(12)}`, idempotencyKey: key() }),
        Code.NotFound,
        "parentId",
      );
      await assertNoOrgNamed(n);
    });

    it("ListOrganizations with parentId lists the direct children only", async () => {
      const kids = await listAllOrgs(c, { parentId: subdistrict.id });
      assert.deepEqual(kids.map((o) => o.id), [community.id]);
      const top = await listAllOrgs(c, { parentId: district.id });
      assert.deepEqual(top.map((o) => o.id), [subdistrict.id]);
      assert.deepEqual(await listAllOrgs(c, { parentId: team.id }), []);
    });

    it("ListOrganizations pages: every child exactly once, empty nextPageToken at the end", async () => {
      const d = await createOrg(c, { name: `Paged ${uid()}`, kind: Kind.DISTRICT });
      const want = new Set();
      for (let i = 0; i < 7; i++) want.add((await createOrg(c, { name: `P${i} ${uid()}`, kind: Kind.SUBDISTRICT, parentId: d.id })).id);
      const sizes = [];
      const seen = [];
      let pageToken = "";
      for (let i = 0; i < 10; i++) {
        const res = await c.listOrganizations({ parentId: d.id, pageSize: 3, pageToken });
        sizes.push(res.organizations.length);
        for (const o of res.organizations) {
          assert.equal(o.parentId, d.id);
          assert.equal(o.kind, Kind.SUBDISTRICT);
          seen.push(o.id);
        }
        if (!res.nextPageToken) break;
        pageToken = res.nextPageToken;
      }
      assert.deepEqual(sizes, [3, 3, 1]);
      assert.equal(seen.length, 7);
      assert.deepEqual(new Set(seen), want);
    });

    it("ListOrganizations pages stay exact while rows are added between pages", async () => {
      const d = await createOrg(c, { name: `Moving ${uid()}`, kind: Kind.DISTRICT });
      const want = new Set();
      for (let i = 0; i < 6; i++) want.add((await createOrg(c, { name: `M${i} ${uid()}`, kind: Kind.SUBDISTRICT, parentId: d.id })).id);
      const first = await c.listOrganizations({ parentId: d.id, pageSize: 3 });
      assert.equal(first.organizations.length, 3);
      assert.notEqual(first.nextPageToken, "");
      for (let i = 0; i < 2; i++) await createOrg(c, { name: `M+${i} ${uid()}`, kind: Kind.SUBDISTRICT, parentId: d.id });
      const seen = first.organizations.map((o) => o.id);
      let pageToken = first.nextPageToken;
      for (let i = 0; i < 10 && pageToken; i++) {
        const res = await c.listOrganizations({ parentId: d.id, pageSize: 3, pageToken });
        seen.push(...res.organizations.map((o) => o.id));
        pageToken = res.nextPageToken;
      }
      assert.equal(pageToken, "", "the walk did not end");
      assert.equal(new Set(seen).size, seen.length, "an organisation came twice");
      for (const id of want) assert.ok(seen.includes(id), `organisation ${id} was skipped`);
    });

    it("ListOrganizations rejects bad pageSize and pageToken", async () => {
      await expectCode(c.listOrganizations({ pageSize: -1 }), Code.InvalidArgument, "pageSize");
      await expectCode(c.listOrganizations({ pageSize: 501 }), Code.InvalidArgument, "pageSize");
      await expectCode(c.listOrganizations({ pageSize: 2147483647 }), Code.InvalidArgument, "pageSize");
      await expectCode(c.listOrganizations({ pageToken: "not a token!" }), Code.InvalidArgument, "pageToken");
      await expectCode(c.listOrganizations({ pageToken: "%%%" }), Code.InvalidArgument, "pageToken");
      const res = await c.listOrganizations({ pageSize: 500 });
      assert.ok(res.organizations.length <= 500);
    });
  });
}

describe("ListOrganizations over the whole set", () => {
  const c = admin();

  it("pageSize defaults to 50", async () => {
    const d = await createOrg(c, { name: `Big ${uid()}`, kind: Kind.DISTRICT });
    const want = new Set();
    const made = await Promise.all(
      Array.from({ length: 55 }, (_, i) => createOrg(c, { name: `B${i} ${uid()}`, kind: Kind.SUBDISTRICT, parentId: d.id })),
    );
    for (const o of made) want.add(o.id);
    const first = await c.listOrganizations({ parentId: d.id });
    assert.equal(first.organizations.length, 50);
    assert.notEqual(first.nextPageToken, "");
    const second = await c.listOrganizations({ parentId: d.id, pageToken: first.nextPageToken });
    assert.equal(second.organizations.length, 5);
    assert.equal(second.nextPageToken, "");
    const got = [...first.organizations, ...second.organizations].map((o) => o.id);
    assert.equal(new Set(got).size, 55);
    assert.deepEqual(new Set(got), want);
  });

  it("walking every page (size 7) returns every organisation exactly once", async () => {
    const all500 = await listAllOrgs(c, { pageSize: 500 });
    const all7 = await listAllOrgs(c, { pageSize: 7 });
    const ids7 = all7.map((o) => o.id);
    assert.equal(new Set(ids7).size, ids7.length, "an organisation came twice");
    assert.deepEqual(new Set(ids7), new Set(all500.map((o) => o.id)));
    assert.ok(all500.length > 60, `only ${all500.length} organisations listed`);
  });

  it("JSON and binary clients see the same list", async () => {
    const a = (await listAllOrgs(admin({ format: "json" }))).map((o) => o.id).sort();
    const b = (await listAllOrgs(admin({ format: "binary" }))).map((o) => o.id).sort();
    assert.deepEqual(a, b);
  });
});

describe("Connect GET on the wire", () => {
  const c = admin();
  let org;
  before(async () => {
    org = await createOrg(c, { name: `Wire ${uid()}`, kind: Kind.EMPLOYER });
  });

  it("GetOrganization via GET with encoding=json", async () => {
    const msg = encodeURIComponent(JSON.stringify({ id: org.id }));
    const res = await rawGet(`${ADMIN_PATH}/GetOrganization?connect=v1&encoding=json&message=${msg}`);
    assert.equal(res.status, 200, res.text);
    assert.match(res.contentType, /^application\/json/);
    assert.equal(res.json.organization.id, org.id);
    assert.equal(res.json.organization.name, org.name);
    assert.equal(res.json.organization.kind, "ORGANIZATION_KIND_EMPLOYER");
  });

  it("GetOrganization via GET with encoding=proto&base64=1", async () => {
    const schema = mustMessage("vledger.v1.GetOrganizationRequest");
    const bytes = toBinary(schema, create(schema, { id: org.id }));
    const res = await rawGet(`${ADMIN_PATH}/GetOrganization?connect=v1&encoding=proto&base64=1&message=${b64url(bytes)}`);
    assert.equal(res.status, 200, res.text);
    assert.match(res.contentType, /^application\/proto/);
    assert.ok(res.bytes.includes(Buffer.from(org.id)), "response does not carry the id");
  });

  it("ListOrganizations via GET with encoding=json", async () => {
    const msg = encodeURIComponent(JSON.stringify({ pageSize: 2 }));
    const res = await rawGet(`${ADMIN_PATH}/ListOrganizations?connect=v1&encoding=json&message=${msg}`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.organizations.length, 2);
    assert.equal(typeof res.json.nextPageToken, "string");
  });

  it("GET of an unknown id answers not_found / HTTP 404", async () => {
    const msg = encodeURIComponent(JSON.stringify({ id: `org_${uid(12)}` }));
    const res = await rawGet(`${ADMIN_PATH}/GetOrganization?connect=v1&encoding=json&message=${msg}`);
    assertConnectErrorBody(res, "not_found", 404, "id");
  });

  it("GET without a token answers unauthenticated / HTTP 401", async () => {
    const msg = encodeURIComponent(JSON.stringify({ id: org.id }));
    const res = await rawGet(`${ADMIN_PATH}/GetOrganization?connect=v1&encoding=json&message=${msg}`, { token: null });
    assertConnectErrorBody(res, "unauthenticated", 401);
  });

  it("GET with a malformed message answers invalid_argument / HTTP 400", async () => {
    const res = await rawGet(`${ADMIN_PATH}/GetOrganization?connect=v1&encoding=json&message=${encodeURIComponent('{"id":')}`);
    assertConnectErrorBody(res, "invalid_argument", 400);
  });
});
