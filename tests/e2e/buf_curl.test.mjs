// `buf curl` (a third-party Connect client, driven by the descriptor set)
// against the daemon.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ADMIN_TOKEN, DESCRIPTOR_SET, URL_BASE, admin, bufCurl, key, uid } from "./lib.mjs";

const common = ["--protocol", "connect", "--schema", DESCRIPTOR_SET];
const CREATE = `${URL_BASE}/vledger.v1.AdminService/CreateOrganization`;

describe("buf curl", () => {
  it("CreateOrganization succeeds and prints the organisation as JSON", async () => {
    const name = `buf ${uid()}`;
    const r = await bufCurl([
      ...common,
      "-H", `Authorization: Bearer ${ADMIN_TOKEN}`,
      "-d", JSON.stringify({ name, kind: "ORGANIZATION_KIND_DISTRICT", idempotencyKey: key("buf") }),
      CREATE,
    ]);
    assert.equal(r.code, 0, `buf curl failed: ${r.stderr}`);
    const out = JSON.parse(r.stdout);
    assert.match(out.organization.id, /^org_/);
    assert.equal(out.organization.name, name);
    assert.equal(out.organization.kind, "ORGANIZATION_KIND_DISTRICT");
    assert.ok(out.organization.createTime, "createTime missing");
    assert.ok(!Number.isNaN(Date.parse(out.organization.createTime)), "createTime is not RFC 3339");
    // The Connect client sees the same organisation.
    const got = await admin().getOrganization({ id: out.organization.id });
    assert.equal(got.organization.name, name);
  });

  it("without a token it fails with unauthenticated", async () => {
    const r = await bufCurl([
      ...common,
      "-d", JSON.stringify({ name: `buf ${uid()}`, kind: "ORGANIZATION_KIND_DISTRICT", idempotencyKey: key("buf") }),
      CREATE,
    ]);
    assert.notEqual(r.code, 0, "buf curl succeeded without a token");
    assert.match(r.stdout + r.stderr, /unauthenticated/i);
  });

  it("a validation error is reported as invalid_argument naming the field", async () => {
    const r = await bufCurl([
      ...common,
      "-H", `Authorization: Bearer ${ADMIN_TOKEN}`,
      "-d", JSON.stringify({ name: `buf ${uid()}`, kind: "ORGANIZATION_KIND_DISTRICT" }),
      CREATE,
    ]);
    assert.notEqual(r.code, 0);
    const all = r.stdout + r.stderr;
    assert.match(all, /invalid_argument/i);
    assert.match(all, /idempotencyKey/);
  });

  it("Health/Check answers SERVING", async () => {
    const r = await bufCurl([...common, "-d", "{}", `${URL_BASE}/grpc.health.v1.Health/Check`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).status, "SERVING");
  });

  it("GetOrganization and ListOrganizations (GET-able methods) work", async () => {
    // buf curl has no flag to force HTTP GET; it POSTs these as unary calls.
    const c = admin();
    const org = (await c.createOrganization({ name: `bufget ${uid()}`, kind: 5, idempotencyKey: key() })).organization;
    const r = await bufCurl([
      ...common,
      "-H", `Authorization: Bearer ${ADMIN_TOKEN}`,
      "-d", JSON.stringify({ id: org.id }),
      `${URL_BASE}/vledger.v1.AdminService/GetOrganization`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).organization.id, org.id);
    const l = await bufCurl([
      ...common,
      "-H", `Authorization: Bearer ${ADMIN_TOKEN}`,
      "-d", JSON.stringify({ pageSize: 3 }),
      `${URL_BASE}/vledger.v1.AdminService/ListOrganizations`,
    ]);
    assert.equal(l.code, 0, l.stderr);
    const list = JSON.parse(l.stdout);
    assert.equal(list.organizations.length, 3);
    assert.ok(list.nextPageToken);
  });

  it("an unknown id is not_found", async () => {
    const r = await bufCurl([
      ...common,
      "-H", `Authorization: Bearer ${ADMIN_TOKEN}`,
      "-d", JSON.stringify({ id: `org_${uid(12)}` }),
      `${URL_BASE}/vledger.v1.AdminService/GetOrganization`,
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /not_found/i);
  });
});
