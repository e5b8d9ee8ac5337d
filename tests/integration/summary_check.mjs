// summary_check.mjs - GetVolunteerSummary checked against an independent
// computation over a generated data set (run by summary_test.sh).
//
// Builds an organisation tree and volunteers through the API, records a
// deterministic (seeded) set of at least 10,000 shifts - ~40% by team
// leaders (pending), ~60% by an office (approved) - then approves, rejects,
// voids and amends some of them, all through the API. Alongside, it keeps
// its own record of what it sent and what the server accepted, and from
// that record alone (never from the server's tables) computes every
// volunteer's totals for several periods. Then it asks the server for every
// volunteer's summary in every period and compares every field exactly.
//
// Plain Node (>= 18): fetch for the API, psql (node:child_process) only to
// show the server's rows for a volunteer whose summary disagrees.
//
// Environment: VL_URL, VL_ADMIN_TOKEN_FILE, PG_TEST_URL (optional, for the
// diagnostics), SUMMARY_SHIFTS (default 10000), SUMMARY_SEED (default
// 20220413), SUMMARY_CONCURRENCY (default 16).
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";

const URL_BASE = process.env.VL_URL;
const ADMIN = readFileSync(process.env.VL_ADMIN_TOKEN_FILE, "utf8").trim();
const N_SHIFTS = Number(process.env.SUMMARY_SHIFTS || 10000);
const SEED = Number(process.env.SUMMARY_SEED || 20220413);
const CONCURRENCY = Number(process.env.SUMMARY_CONCURRENCY || 16);
const N_VOLUNTEERS = 50;

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T_START = Date.now();
// Everything is laid out relative to one "now", whole seconds.
const NOW = Math.floor(T_START / 1000) * 1000;

const CATEGORIES = ["BUILDING_SWEEP", "TESTING_SITE", "SUPPLY_DELIVERY", "ELDERLY_CARE", "DISINFECTION",
	"PUBLICITY", "MEDIATION", "PSYCHOLOGICAL_SUPPORT", "OTHER"].map((c) => "SHIFT_CATEGORY_" + c);
const STAR_MINUTES = [100, 300, 600, 1000, 1500].map((h) => h * 60);

// ---- helpers ---------------------------------------------------------------

// mulberry32: small, seeded, deterministic.
function prng(seed) {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}
const rand = prng(SEED);
const randInt = (lo, hi, r = rand) => lo + Math.floor(r() * (hi - lo + 1)); // [lo, hi]
const pick = (xs, r = rand) => xs[Math.floor(r() * xs.length)];
function shuffle(xs) {
	for (let i = xs.length - 1; i > 0; i--) {
		const j = Math.floor(rand() * (i + 1));
		[xs[i], xs[j]] = [xs[j], xs[i]];
	}
	return xs;
}

const iso = (ms) => new Date(ms).toISOString().replace(".000Z", "Z");
const wholeMinutes = (startMs, endMs) => Math.floor((endMs - startMs) / MIN);
const elapsed = () => ((Date.now() - T_START) / 1000).toFixed(1) + " s";
const log = (...a) => console.log(`[${elapsed()}]`, ...a);

class RpcError extends Error {
	constructor(method, status, body) {
		super(`${method}: HTTP ${status}: ${JSON.stringify(body)}`);
		this.code = body?.code;
		this.body = body;
	}
}

let rpcCount = 0;
async function rpc(method, body, token = ADMIN) {
	for (let attempt = 0; ; attempt++) {
		let res;
		try {
			res = await fetch(`${URL_BASE}/vledger.v1.${method}`, {
				method: "POST",
				headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
				body: JSON.stringify(body),
			});
		} catch (e) {
			// A connection reset is retried (every write carries an
			// idempotency key, so a retry cannot apply twice).
			if (attempt < 3) continue;
			throw new Error(`${method}: ${e.message}${e.cause ? " (" + e.cause.message + ")" : ""}`);
		}
		rpcCount++;
		const text = await res.text();
		let json;
		try {
			json = JSON.parse(text);
		} catch {
			throw new Error(`${method}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
		}
		if (res.status !== 200) throw new RpcError(method, res.status, json);
		return json;
	}
}

// Runs fn over items with `limit` calls in flight; the results in order.
async function pool(items, fn, limit = CONCURRENCY) {
	const out = new Array(items.length);
	let next = 0;
	async function worker() {
		while (next < items.length) {
			const i = next++;
			out[i] = await fn(items[i], i);
		}
	}
	await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
	return out;
}

const failures = [];
function fail(msg) {
	failures.push(msg);
}
function check(cond, msg) {
	if (!cond) fail(msg);
}

// ---- 1. the tree, tokens and volunteers -------------------------------------

async function org(name, kind, parentId) {
	const r = await rpc("AdminService/CreateOrganization", {
		name, kind: "ORGANIZATION_KIND_" + kind, ...(parentId ? { parentId } : {}), idempotencyKey: "org-" + name,
	});
	return r.organization.id;
}
async function token(organizationId, role) {
	const r = await rpc("AdminService/CreateToken", {
		organizationId, role: "ROLE_" + role, idempotencyKey: `tok-${organizationId}-${role}`,
	});
	return r.secret;
}

const district = await org("区", "DISTRICT");
const subdistrict = await org("街道", "SUBDISTRICT", district);
const communities = [await org("社区一", "COMMUNITY", subdistrict), await org("社区二", "COMMUNITY", subdistrict)];
const teams = []; // {id, community, leader}
for (const [ci, c] of communities.entries())
	for (let t = 0; t < 2; t++) teams.push({ id: await org(`社区${ci + 1}-队${t + 1}`, "TEAM", c), community: c });
const OFFICE = await token(district, "OFFICE");
for (const t of teams) t.leader = await token(t.id, "TEAM_LEADER");
const shiftOrgs = [...teams.map((t) => t.id), ...communities];

// 50 volunteers with shifts, spread over the teams, and one without any.
const volunteers = await pool(Array.from({ length: N_VOLUNTEERS + 1 }, (_, i) => i), async (i) => {
	const team = teams[i % teams.length];
	const r = await rpc("VolunteerService/RegisterVolunteer", {
		organizationId: team.id, personalData: { name: `志愿者${i}` }, idempotencyKey: `vol-${i}`,
	});
	return { id: r.volunteer.id, team, shifts: [], rng: prng(SEED * 31 + i) };
});
log(`tree: 1 district, 1 subdistrict, 2 communities, ${teams.length} teams; ${volunteers.length} volunteers`);

// ---- 2. the data set ---------------------------------------------------------

// Each volunteer's shifts are laid out on their own timeline over the past
// 82 days (within the 90 days a team leader may backdate), ending 10 minutes
// ago: durations first, then the free time spread over the gaps, a few of
// them zero (back to back is not an overlap).
const WINDOW_START = NOW - 82 * DAY;
const WINDOW_END = NOW - 10 * MIN;
const W = WINDOW_END - WINDOW_START;

// Profiles: volunteer 0 works long shifts nearly always entered by an
// office (to reach the top star level); the others get between a handful
// and ~350 shifts, so every star level from 0 up shows.
const weights = volunteers.slice(1, N_VOLUNTEERS).map(() => 0.03 + rand() ** 1.3);
const heavy = 320;
const wsum = weights.reduce((a, b) => a + b, 0);
const counts = [heavy, ...weights.map((w) => Math.max(3, Math.round(((N_SHIFTS - heavy) * w) / wsum)))];
// Make the total exactly N_SHIFTS.
for (let diff = N_SHIFTS - counts.reduce((a, b) => a + b, 0), i = 1; diff !== 0; i = (i % (N_VOLUNTEERS - 1)) + 1) {
	const step = Math.sign(diff);
	if (counts[i] + step >= 3 && counts[i] + step <= 350) {
		counts[i] += step;
		diff -= step;
	}
}

function duration(minMs, maxMs) {
	const r = rand();
	if (r < 0.02) return minMs; // exactly 15 minutes
	if (r < 0.04) return maxMs; // exactly 8 hours
	if (r < 0.24) return randInt(minMs / MIN, maxMs / MIN) * MIN; // whole minutes
	if (r < 0.34) return randInt(minMs, maxMs); // milliseconds
	return randInt(minMs / 1000, maxMs / 1000) * 1000; // whole seconds
}

const shifts = []; // every shift the server accepted, in our own record
let seq = 0;
for (let v = 0; v < N_VOLUNTEERS; v++) {
	const vol = volunteers[v];
	const n = counts[v];
	const durs = Array.from({ length: n }, () => (v === 0 ? duration(200 * MIN, 8 * HOUR) : duration(15 * MIN, 8 * HOUR)));
	const busy = durs.reduce((a, b) => a + b, 0);
	if (busy > W * 0.97) throw new Error(`volunteer ${v}: ${n} shifts do not fit the window`);
	const gapW = Array.from({ length: n + 1 }, () => (rand() < 0.05 ? 0 : -Math.log(1 - rand())));
	const gsum = gapW.reduce((a, b) => a + b, 0);
	const tlShare = v === 0 ? 0.08 : 0.2 + rand() * 0.4; // ~40% overall by team leaders
	let t = WINDOW_START;
	for (let i = 0; i < n; i++) {
		// (n seconds of the free time are kept back for the rounding up.)
		let start = t + Math.floor(((W - busy - n * 1000) * gapW[i]) / gsum);
		if (rand() > 0.1) start = Math.ceil(start / 1000) * 1000; // most on whole seconds
		const end = start + durs[i];
		t = end;
		const byLeader = rand() < tlShare;
		let organizationId = vol.team.id;
		if (!byLeader) {
			const r = rand();
			if (r < 0.25) organizationId = vol.team.community;
			else if (r < 0.4) organizationId = pick(shiftOrgs);
		}
		vol.shifts.push({
			seq: seq++, vol, byLeader, organizationId, category: pick(CATEGORIES), start, end,
			key: `shift-${SEED}-${v}-${i}`,
		});
	}
	if (t > WINDOW_END) throw new Error(`volunteer ${v}: layout overran the window`);
}

const toRecord = shuffle(volunteers.flatMap((v) => v.shifts));
function recordRequest(s) {
	return {
		volunteerId: s.vol.id, organizationId: s.organizationId, category: s.category,
		startTime: iso(s.start), endTime: iso(s.end), activity: "核酸检测点值守", place: "小区北门",
		idempotencyKey: s.key,
	};
}
const tRecord = Date.now();
await pool(toRecord, async (s) => {
	const r = await rpc("RecordsService/RecordShift", recordRequest(s), s.byLeader ? s.vol.team.leader : OFFICE);
	const sh = r.shift;
	s.id = sh.id;
	s.status = s.byLeader ? "pending" : "approved";
	s.voided = false;
	// The server's answers, checked as they come.
	check(sh.status === (s.byLeader ? "SHIFT_STATUS_PENDING" : "SHIFT_STATUS_APPROVED"),
		`RecordShift ${s.key}: status ${sh.status}`);
	check((sh.minutes ?? 0) === wholeMinutes(s.start, s.end),
		`RecordShift ${s.key}: minutes ${sh.minutes}, expected ${wholeMinutes(s.start, s.end)} (${iso(s.start)} to ${iso(s.end)})`);
	shifts.push(s);
});
// In generation order, so that what follows draws the same shifts whatever
// the order of the answers.
shifts.sort((a, b) => a.seq - b.seq);
const recordSecs = (Date.now() - tRecord) / 1000;
log(`recorded ${shifts.length} shifts in ${recordSecs.toFixed(1)} s (${(shifts.length / recordSecs).toFixed(0)}/s):` +
	` ${shifts.filter((s) => s.byLeader).length} by team leaders (pending), ${shifts.filter((s) => !s.byLeader).length} by the office (approved)`);

// Retries with the same idempotency key are answered from the record: the
// same shift, nothing new to count.
const retried = shuffle([...shifts]).slice(0, Math.ceil(shifts.length / 100));
await pool(retried, async (s) => {
	const r = await rpc("RecordsService/RecordShift", recordRequest(s), s.byLeader ? s.vol.team.leader : OFFICE);
	check(r.shift.id === s.id, `retried RecordShift ${s.key}: shift ${r.shift.id}, first answer ${s.id}`);
});

// ---- 3. decisions, voids, amendments ----------------------------------------

const byStatus = (st) => shifts.filter((s) => s.status === st);
const pending = shuffle(byStatus("pending"));
const nApprove = Math.round(pending.length * 0.7);
const nReject = Math.round(pending.length * 0.2);
const toApprove = pending.slice(0, nApprove);
const toReject = pending.slice(nApprove, nApprove + nReject);
const decisions = shuffle([...toApprove.map((s) => [s, true]), ...toReject.map((s) => [s, false])]);
await pool(decisions, async ([s, approve]) => {
	const r = approve ?
		await rpc("RecordsService/ApproveShift", { shiftId: s.id, idempotencyKey: "approve-" + s.key }, OFFICE) :
		await rpc("RecordsService/RejectShift", { shiftId: s.id, reason: "不在排班表上", idempotencyKey: "reject-" + s.key }, OFFICE);
	check(r.shift.status === (approve ? "SHIFT_STATUS_APPROVED" : "SHIFT_STATUS_REJECTED"),
		`${approve ? "Approve" : "Reject"}Shift ${s.id}: status ${r.shift.status}`);
	s.status = approve ? "approved" : "rejected";
});
log(`decided ${decisions.length} pending shifts: ${toApprove.length} approved, ${toReject.length} rejected,` +
	` ${pending.length - decisions.length} left pending`);

// Voids: 5% of all shifts, whatever their status.
const toVoid = shuffle([...shifts]).slice(0, Math.round(shifts.length * 0.05));
await pool(toVoid, async (s) => {
	await rpc("RecordsService/VoidEntry", { entryId: s.id, reason: "重复登记", idempotencyKey: "void-" + s.key }, OFFICE);
	s.voided = true;
});
log(`voided ${toVoid.length} shifts (${toVoid.filter((s) => s.status === "approved").length} approved,` +
	` ${toVoid.filter((s) => s.status === "pending").length} pending, ${toVoid.filter((s) => s.status === "rejected").length} rejected)`);

// Amendments: 5% of all shifts, among those that can be amended (neither
// voided nor rejected). The new times stay between the volunteer's live
// neighbours (pending or approved, not voided) - a voided or rejected
// neighbour's time is free again - so each should be accepted. A
// volunteer's amendments run one after another (each moves the
// neighbours of the next); different volunteers' run concurrently.
const live = (s) => !s.voided && s.status !== "rejected";
function neighbours(s) {
	const mine = s.vol.shifts.filter((x) => x !== s && live(x));
	let prevEnd = WINDOW_START, nextStart = WINDOW_END;
	for (const x of mine) {
		if (x.end <= s.start && x.end > prevEnd) prevEnd = x.end;
		if (x.start >= s.end && x.start < nextStart) nextStart = x.start;
	}
	return [prevEnd, nextStart];
}
// Each volunteer's amendments draw from their own generator, so the data
// set does not depend on the order in which the server answers.
function amendment(s) {
	const r = s.vol.rng;
	const [lo, hi] = neighbours(s);
	const kind = r();
	const fields = [];
	const req = { shiftId: s.id, reason: "登记有误", idempotencyKey: "amend-" + s.key };
	let start = s.start, end = s.end, category = s.category;
	const maxLen = 12 * HOUR;
	if (kind < 0.4) {
		// endTime: anywhere from 15 minutes after the start to the next shift.
		end = randInt(start + 15 * MIN, Math.min(hi, start + maxLen), r);
		if (r() < 0.7) end = Math.floor(end / 1000) * 1000;
		fields.push("endTime");
	} else if (kind < 0.6) {
		category = pick(CATEGORIES.filter((c) => c !== s.category), r);
		fields.push("category");
	} else if (kind < 0.8) {
		// startTime: back into the free time before, or later within the shift.
		start = randInt(Math.max(lo, end - maxLen), end - 15 * MIN, r);
		if (r() < 0.7) start = Math.ceil(start / 1000) * 1000;
		fields.push("startTime");
	} else {
		// Moved within the free time around it, with a new category.
		const len = Math.min(randInt(15 * MIN, 9 * HOUR, r), hi - lo);
		start = Math.ceil(randInt(lo, hi - len, r) / 1000) * 1000;
		end = Math.min(start + len, hi);
		category = pick(CATEGORIES.filter((c) => c !== s.category), r);
		fields.push("startTime", "endTime", "category");
	}
	if (start === s.start && end === s.end && category === s.category) return null; // nothing would change
	if (fields.includes("startTime")) req.startTime = iso(start);
	if (fields.includes("endTime")) req.endTime = iso(end);
	if (fields.includes("category")) req.category = category;
	req.fields = fields;
	return { s, req, start, end, category };
}
const amendable = shuffle(shifts.filter(live));
const amendTarget = Math.round(shifts.length * 0.05);
const amendsByVol = new Map();
for (const s of amendable.slice(0, amendTarget)) {
	if (!amendsByVol.has(s.vol)) amendsByVol.set(s.vol, []);
	amendsByVol.get(s.vol).push(s);
}
const amendStats = { accepted: 0, refused: 0, unchanged: 0, kinds: {} };
await pool([...amendsByVol.values()], async (list) => {
	for (const s of list) {
		const a = amendment(s);
		if (a === null) {
			amendStats.unchanged++;
			continue;
		}
		try {
			const r = await rpc("RecordsService/AmendShift", a.req, OFFICE);
			s.start = a.start;
			s.end = a.end;
			s.category = a.category;
			s.amended = true;
			amendStats.accepted++;
			const k = a.req.fields.join("+");
			amendStats.kinds[k] = (amendStats.kinds[k] || 0) + 1;
			check((r.shift.minutes ?? 0) === wholeMinutes(s.start, s.end),
				`AmendShift ${s.id}: minutes ${r.shift.minutes}, expected ${wholeMinutes(s.start, s.end)}`);
			check(r.shift.category === s.category, `AmendShift ${s.id}: category ${r.shift.category}, expected ${s.category}`);
		} catch (e) {
			// Refused: our record keeps the shift as it was. Our layout
			// keeps each amendment clear of live neighbours, so a refusal
			// is a disagreement to report.
			amendStats.refused++;
			fail(`AmendShift ${s.id} ${JSON.stringify(a.req)} refused although it stays between the live neighbours: ${e.message}`);
		}
	}
});
log(`amended ${amendStats.accepted} shifts (${Object.entries(amendStats.kinds).sort().map(([k, n]) => `${k} ${n}`).join(", ")});` +
	` ${amendStats.refused} refused, ${amendStats.unchanged} drawn unchanged and skipped`);

// Refused writes count nowhere: an amendment into a live neighbour, an
// amendment of a voided or a rejected shift, a record over an existing
// shift, a second decision, a team leader's record older than 90 days.
const refusals = [];
async function expectRefused(what, method, body, tok, code) {
	try {
		const r = await rpc(method, body, tok);
		fail(`${what}: accepted (${JSON.stringify(r).slice(0, 200)})`);
	} catch (e) {
		if (!(e instanceof RpcError)) throw e;
		check(e.code === code, `${what}: refused with ${e.code}, expected ${code}: ${e.message}`);
		refusals.push(what);
	}
}
{
	// Two consecutive live shifts close enough that reaching into the
	// second keeps the first under 16 hours.
	let vol, a, b;
	for (const v of volunteers.slice(1, N_VOLUNTEERS)) {
		const ls = v.shifts.filter(live).sort((x, y) => x.start - y.start);
		const i = ls.findIndex((x, j) => j + 1 < ls.length && ls[j + 1].start + MIN - x.start < 12 * HOUR);
		if (i >= 0) {
			[vol, a, b] = [v, ls[i], ls[i + 1]];
			break;
		}
	}
	await expectRefused("amendment overlapping the next shift", "RecordsService/AmendShift", {
		shiftId: a.id, fields: ["endTime"], endTime: iso(b.start + MIN), reason: "x", idempotencyKey: "bad-amend-overlap",
	}, OFFICE, "failed_precondition");
	await expectRefused("record over an existing shift", "RecordsService/RecordShift", {
		volunteerId: vol.id, organizationId: vol.team.id, category: CATEGORIES[0], startTime: iso(b.start - MIN),
		endTime: iso(b.start + MIN), activity: "x", place: "y", idempotencyKey: "bad-record-overlap",
	}, OFFICE, "failed_precondition");
	const voided = shifts.find((s) => s.voided);
	await expectRefused("amendment of a voided shift", "RecordsService/AmendShift", {
		shiftId: voided.id, fields: ["category"], category: CATEGORIES.find((c) => c !== voided.category), reason: "x",
		idempotencyKey: "bad-amend-voided",
	}, OFFICE, "failed_precondition");
	const rejected = shifts.find((s) => s.status === "rejected" && !s.voided);
	await expectRefused("amendment of a rejected shift", "RecordsService/AmendShift", {
		shiftId: rejected.id, fields: ["category"], category: CATEGORIES.find((c) => c !== rejected.category),
		reason: "x", idempotencyKey: "bad-amend-rejected",
	}, OFFICE, "failed_precondition");
	const approved = shifts.find((s) => s.status === "approved" && s.byLeader);
	await expectRefused("second decision on a shift", "RecordsService/RejectShift", {
		shiftId: approved.id, reason: "x", idempotencyKey: "bad-reject-approved",
	}, OFFICE, "failed_precondition");
	await expectRefused("team leader's record older than 90 days", "RecordsService/RecordShift", {
		volunteerId: vol.id, organizationId: vol.team.id, category: CATEGORIES[0], startTime: iso(NOW - 95 * DAY),
		endTime: iso(NOW - 95 * DAY + HOUR), activity: "x", place: "y", idempotencyKey: "bad-record-backdated",
	}, vol.team.leader, "failed_precondition");
}
log(`${refusals.length} deliberately invalid writes refused`);

// ---- 4. the independent computation -----------------------------------------

// Periods by shift start, [from, to). The 10-day window's ends are the
// exact start times of two counted shifts: the one at `from` must count,
// the one at `to` must not.
const counted = (s) => s.status === "approved" && !s.voided;
const startsNear = (t) => shifts.filter(counted).reduce((best, s) =>
	Math.abs(s.start - t) < Math.abs(best.start - t) ? s : best).start;
const midFrom = startsNear(NOW - 50 * DAY), midTo = startsNear(NOW - 40 * DAY);
const periods = [
	{ name: "all time" },
	{ name: "last 30 days", from: NOW - 30 * DAY },
	{ name: `10 days [${iso(midFrom)}, ${iso(midTo)})`, from: midFrom, to: midTo },
	{ name: "before 60 days ago", to: NOW - 60 * DAY },
	{ name: "empty [t, t)", from: NOW - 20 * DAY, to: NOW - 20 * DAY },
];

const points = (minutes) => Math.floor((minutes * 10) / 60); // default policy: 10 per hour, every category
function expected(vol, p) {
	const inP = (s) => (p.from === undefined || s.start >= p.from) && (p.to === undefined || s.start < p.to);
	let total = 0, count = 0, pendingCount = 0, lifetime = 0, pts = 0;
	const byCat = {}, byOrg = {};
	for (const s of vol.shifts) {
		if (s.id === undefined) continue; // never accepted
		const m = wholeMinutes(s.start, s.end);
		if (counted(s)) {
			lifetime += m;
			pts += points(m);
			if (inP(s)) {
				total += m;
				count++;
				byCat[s.category] = (byCat[s.category] || 0) + m;
				byOrg[s.organizationId] = (byOrg[s.organizationId] || 0) + m;
			}
		} else if (s.status === "pending" && !s.voided && inP(s)) {
			pendingCount++;
		}
	}
	let star = 0;
	while (star < 5 && lifetime >= STAR_MINUTES[star]) star++;
	return {
		volunteerId: vol.id, totalMinutes: total, enteredMinutes: total, measuredMinutes: 0, byCategory: byCat,
		byOrganization: byOrg, shiftCount: count, pendingShiftCount: pendingCount, lifetimeMinutes: lifetime,
		starLevel: star, pointsBalance: pts, feedbackCount: 0, averageRating: 0, commendations: 0,
	};
}

// The server's answer in the same shape: proto3 JSON leaves out zeros and
// writes int64 as strings.
function normalise(sum) {
	const int = (v) => (v === undefined ? 0 : Number(v));
	const map = (list, key) => {
		const m = {};
		for (const e of list ?? []) {
			if (e[key] in m) m[e[key]] = `duplicate ${e[key]}`;
			else m[e[key]] = int(e.minutes);
		}
		return m;
	};
	for (const k of ["totalMinutes", "enteredMinutes", "measuredMinutes", "lifetimeMinutes", "pointsBalance"])
		if (sum[k] !== undefined && typeof sum[k] !== "string") fail(`summary ${sum.volunteerId}: ${k} is not an int64 string: ${JSON.stringify(sum[k])}`);
	for (const k of ["shiftCount", "pendingShiftCount", "starLevel", "feedbackCount"])
		if (sum[k] !== undefined && typeof sum[k] !== "number") fail(`summary ${sum.volunteerId}: ${k} is not a JSON number: ${JSON.stringify(sum[k])}`);
	return {
		volunteerId: sum.volunteerId, totalMinutes: int(sum.totalMinutes), enteredMinutes: int(sum.enteredMinutes),
		measuredMinutes: int(sum.measuredMinutes), byCategory: map(sum.byCategory, "category"),
		byOrganization: map(sum.byOrganization, "organizationId"), shiftCount: int(sum.shiftCount),
		pendingShiftCount: int(sum.pendingShiftCount), lifetimeMinutes: int(sum.lifetimeMinutes),
		starLevel: int(sum.starLevel), pointsBalance: int(sum.pointsBalance), feedbackCount: int(sum.feedbackCount),
		averageRating: int(sum.averageRating), commendations: (sum.commendations ?? []).length,
	};
}
const canon = (m) => JSON.stringify(Object.keys(m).sort().map((k) => [k, m[k]]));

// ---- 5. compare ----------------------------------------------------------------

const mismatched = new Set();
const calls = volunteers.flatMap((vol) => periods.map((p) => [vol, p]));
const tSummary = Date.now();
await pool(calls, async ([vol, p]) => {
	const req = { volunteerId: vol.id };
	if (p.from !== undefined) req.from = iso(p.from);
	if (p.to !== undefined) req.to = iso(p.to);
	const got = normalise((await rpc("RecordsService/GetVolunteerSummary", req, OFFICE)).summary ?? {});
	const want = expected(vol, p);
	for (const k of Object.keys(want)) {
		const [g, w] = typeof want[k] === "object" ? [canon(got[k]), canon(want[k])] : [got[k], want[k]];
		if (g !== w) {
			fail(`volunteer ${vol.id} (${vol.shifts.length} shifts), ${p.name}: ${k} is ${g}, expected ${w}`);
			mismatched.add(vol);
		}
	}
});
// The points service agrees with the summary.
await pool(volunteers, async (vol) => {
	const b = await rpc("PointsService/GetPointsBalance", { volunteerId: vol.id }, OFFICE);
	const want = expected(vol, periods[0]).pointsBalance;
	check(Number(b.balance ?? 0) === want && Number(b.earned ?? 0) === want && Number(b.redeemed ?? 0) === 0,
		`GetPointsBalance ${vol.id}: ${JSON.stringify(b)}, expected earned = balance = ${want}`);
});
const summarySecs = (Date.now() - tSummary) / 1000;

// ---- 6. figures -----------------------------------------------------------------

const final = {
	approved: shifts.filter(counted).length,
	pending: shifts.filter((s) => s.status === "pending" && !s.voided).length,
	rejected: shifts.filter((s) => s.status === "rejected" && !s.voided).length,
	voided: shifts.filter((s) => s.voided).length,
};
const stars = [0, 0, 0, 0, 0, 0];
let minutesAll = 0;
for (const v of volunteers) {
	const e = expected(v, periods[0]);
	stars[e.starLevel]++;
	minutesAll += e.totalMinutes;
}
// The same seed gives the same data set, whatever order the answers came in.
const fingerprint = createHash("sha256").update(shifts.map((s) =>
	[s.seq, s.start - NOW, s.end - NOW, s.category, s.status, s.voided].join(",")).join("\n")).digest("hex").slice(0, 16);
log(`data set (seed ${SEED}) fingerprint ${fingerprint}`);
log(`checked ${calls.length} summaries (${volunteers.length} volunteers x ${periods.length} periods) and` +
	` ${volunteers.length} balances in ${summarySecs.toFixed(1)} s`);
log(`final state: ${final.approved} counted (approved, not voided), ${final.pending} pending, ${final.rejected} rejected,` +
	` ${final.voided} voided; ${minutesAll} approved minutes (${(minutesAll / 60).toFixed(0)} h);` +
	` star levels 0-5: ${stars.join("/")}; ${rpcCount} API calls`);

if (failures.length > 0) {
	console.error(`\n${failures.length} disagreement(s) with the independent computation; the first ones:`);
	for (const f of failures.slice(0, 25)) console.error("  - " + f);
	// The server's rows for the first volunteer that disagreed, to see which
	// shifts differ from our record.
	const vol = [...mismatched][0];
	if (vol && process.env.PG_TEST_URL) {
		try {
			const rows = execFileSync(process.env.PSQL || "psql", ["-X", "-q", "-A", "-t", "-F", "|", process.env.PG_TEST_URL, "-c",
				`SELECT id, status, voided, category, start_time, end_time, minutes, organization_id FROM shifts` +
				` WHERE volunteer_id = '${vol.id}' ORDER BY start_time`], { encoding: "utf8" }).trim().split("\n");
			const ours = new Map(vol.shifts.filter((s) => s.id).map((s) => [s.id, s]));
			let shown = 0;
			for (const row of rows) {
				const [id, status, voided, category, start, end, minutes, orgId] = row.split("|");
				const ms = (t) => new Date(t.replace(" ", "T").replace(/\+00$/, "Z")).getTime();
				const theirs = [status, voided, category, ms(start), ms(end), minutes, orgId].join(" ");
				const s = ours.get(id);
				const mine = s && [s.status, s.voided ? "t" : "f", s.category.replace("SHIFT_CATEGORY_", "").toLowerCase(),
					s.start, s.end, wholeMinutes(s.start, s.end), s.organizationId].join(" ");
				if (!s || mine !== theirs) {
					console.error(`  server row: ${row}\n  our record: ${s ? mine + ` (${iso(s.start)} to ${iso(s.end)})` : "(none)"}`);
					if (++shown >= 10) break;
				}
			}
			if (shown === 0) console.error(`  every shift row of ${vol.id} matches our record; the difference is in the totalling`);
		} catch (e) {
			console.error("  (could not read the server's rows: " + e.message + ")");
		}
	}
	process.exit(1);
}
log(`ok: every field of every summary equals the independent computation (${elapsed()} in all)`);
