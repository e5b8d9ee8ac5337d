/*
 * render.c - the markup of the public pages: the printable certificate,
 * verification results, the verification form and short messages.
 *
 * What a page shows comes from the signed credential (see the document in
 * proto/vledger/v1/certificates.proto), read leniently: a member that is
 * missing or of another type is left out rather than failing the page, so
 * that a person always sees at least the status and the number. Every
 * value is written with html_buf_text() or html_buf_url_segment().
 */
#include "vledger/pages.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vledger/certificates.h"
#include "vledger/log.h"
#include "vledger/v1/certificates.pb-c.h"

/* Pixels on screen; print CSS sizes the code in millimetres. */
#define QR_PX 200

static const char css[] =
	"@page{size:A4;margin:12mm}"
	"*{box-sizing:border-box}"
	"html{-webkit-print-color-adjust:exact;print-color-adjust:exact}"
	"body{margin:0;background:#ebe7df;color:#1d1d1f;"
	"font-family:\"Noto Serif CJK SC\",\"Noto Sans CJK SC\",\"Source Han Serif SC\",\"Source Han Sans SC\",serif;"
	"font-size:15px;line-height:1.6}"
	".sheet{position:relative;width:210mm;min-height:297mm;margin:8mm auto;padding:12mm 14mm;background:#fff;"
	"box-shadow:0 1mm 4mm rgba(0,0,0,.2)}"
	".sheet.short{min-height:0}"
	".frame{position:relative;border:1.4mm double #9b7b3f;padding:8mm 10mm;min-height:270mm}"
	"h1{font-size:30px;text-align:center;letter-spacing:.1em;margin:2mm 0;color:#7a1f12;line-height:1.3}"
	"h2{font-size:16px;margin:6mm 0 2mm;border-bottom:1px solid #d8cfbd;padding-bottom:1mm}"
	".en{font-family:\"Noto Sans CJK SC\",\"Source Han Sans SC\",sans-serif;color:#555;font-size:.85em}"
	".org,.no{text-align:center;margin:0}"
	".no{font-size:13px;color:#555}"
	".mono{font-family:\"Noto Sans Mono CJK SC\",monospace}"
	".lead{font-size:17px;margin:6mm 0}"
	".lead b{color:#7a1f12}"
	"table{border-collapse:collapse;width:100%}"
	"th,td{text-align:left;vertical-align:top;padding:1.2mm 2mm;border-bottom:1px solid #eee}"
	"th{width:36%;font-weight:600;color:#444}"
	"td.num{text-align:right;white-space:nowrap}"
	"ul{margin:0;padding-left:6mm}"
	".stars{color:#c99700;letter-spacing:.1em}"
	".foot{display:flex;justify-content:space-between;align-items:flex-end;gap:8mm;margin-top:8mm}"
	".foot p{margin:0}"
	"figure.qr-box{margin:0;text-align:center;max-width:62mm}"
	".qr-box svg{display:block;margin:0 auto;width:50mm;height:50mm}"
	".qr-box figcaption{font-size:12px}"
	".url{font-size:10px;word-break:break-all;color:#555}"
	/* Out of the flow, so that the title stays centred. */
	".badge{position:absolute;top:5mm;right:6mm;margin:0;padding:1mm 3mm;border:2px solid;border-radius:1mm;"
	"font-weight:700}"
	".frame .org{padding:0 26mm;min-height:7mm}"
	".badge.valid{color:#1e7b3c}"
	".banner{padding:4mm 6mm;margin:0 0 6mm;border-radius:2mm;color:#fff}"
	".banner strong{display:block;font-size:32px;letter-spacing:.05em;line-height:1.3}"
	".banner p{margin:1mm 0 0}"
	".banner .en{color:inherit}"
	".banner.valid{background:#1e7b3c}"
	".banner.revoked,.banner.invalid{background:#c62828}"
	".banner.notfound{background:#5f6368}"
	".revoked-mark::after{content:\"已撤销 REVOKED\";position:absolute;top:42%;left:0;right:0;text-align:center;"
	"font-size:72px;font-weight:900;color:rgba(198,40,40,.18);transform:rotate(-28deg);pointer-events:none}"
	".note{color:#555;font-size:13px}"
	".error{color:#c62828;font-weight:600}"
	"form{display:flex;flex-wrap:wrap;gap:3mm;align-items:center;margin:2mm 0 4mm}"
	"label{width:100%}"
	"input{font:inherit}"
	"input[type=text]{padding:2mm 3mm;min-width:90mm;border:1px solid #999;border-radius:1mm}"
	"button{font:inherit;padding:2mm 6mm;border:0;border-radius:1mm;background:#7a1f12;color:#fff;cursor:pointer}"
	".actions{width:210mm;margin:0 auto 8mm;display:flex;gap:6mm;flex-wrap:wrap}"
	"a{color:#7a1f12}"
	/* Print: one A4 page for a typical certificate (273 mm inside the
	 * margins), breaking between rows rather than through them. */
	"@media print{body{background:#fff;font-size:10pt;line-height:1.45}"
	".sheet{margin:0;width:auto;min-height:0;padding:0;box-shadow:none}"
	".frame{min-height:265mm;padding:6mm 8mm}h1{font-size:18pt;letter-spacing:0;margin:1mm 0}"
	"h2{font-size:11pt;margin:3mm 0 1mm}.lead{font-size:11.5pt;margin:3mm 0}th,td{padding:.5mm 2mm}"
	".banner{padding:2mm 4mm;margin-bottom:3mm}.banner strong{font-size:16pt}.banner p{font-size:9pt;margin:0}"
	".note,.qr-box figcaption{font-size:8pt}"
	".qr-box svg{width:30mm;height:30mm}.foot{margin-top:4mm;break-inside:avoid}tr,li{break-inside:avoid}"
	".revoked-mark::after{font-size:54pt}.noprint{display:none}}"
	"@media screen and (max-width:820px){.sheet,.actions{width:auto;margin:0;padding:5mm;min-height:0}"
	".frame{min-height:0}}";

static void
page_begin(struct html_buf *b, const char *title)
{
	html_buf_raw(b, "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	    "<meta name=\"referrer\" content=\"no-referrer\"><title>");
	html_buf_text(b, title);
	html_buf_raw(b, "</title><style>");
	html_buf_raw(b, css);
	html_buf_raw(b, "</style></head><body>\n");
}

static void
page_end(struct html_buf *b)
{
	html_buf_raw(b, "</body></html>\n");
}

/* A bilingual label: Chinese, then English in a lighter face. Labels are
 * this program's own text, but go through the escaper like the rest. */
static void
label(struct html_buf *b, const char *zh, const char *en)
{
	html_buf_text(b, zh);
	html_buf_raw(b, " <span class=\"en\">");
	html_buf_text(b, en);
	html_buf_raw(b, "</span>");
}

static void
row_begin(struct html_buf *b, const char *zh, const char *en)
{
	html_buf_raw(b, "<tr><th>");
	label(b, zh, en);
	html_buf_raw(b, "</th><td>");
}

static void
row_end(struct html_buf *b)
{
	html_buf_raw(b, "</td></tr>\n");
}

/*
 * Lenient reads of the credential.
 */

static const char *
jstr(const json_t *obj, const char *key)
{
	const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* An integer member, also as a decimal string (proto3 JSON writes int64
 * that way). */
static bool
jint(const json_t *obj, const char *key, int64_t *out)
{
	const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	const char *s;
	char *end;
	long long n;

	if (json_is_integer(v)) {
		*out = (int64_t)json_integer_value(v);
		return true;
	}
	if (!json_is_string(v))
		return false;
	s = json_string_value(v);
	if (*s == '\0')
		return false;
	n = strtoll(s, &end, 10);
	if (*end != '\0')
		return false;
	*out = (int64_t)n;
	return true;
}

/* A date (or date and time) in China Standard Time; an unparsable value is
 * shown as it is. */
static void
text_time(struct html_buf *b, const char *rfc3339, bool with_time)
{
	char out[40];
	int64_t t;

	if (!pages_parse_rfc3339(rfc3339, &t)) {
		html_buf_text(b, rfc3339);
		return;
	}
	pages_format_cst(t, with_time, out, sizeof(out));
	html_buf_text(b, out);
	if (with_time)
		html_buf_raw(b, " <span class=\"en\">(UTC+8)</span>");
}

static void
text_time_us(struct html_buf *b, int64_t us, bool with_time)
{
	char out[40];

	pages_format_cst(us / 1000000, with_time, out, sizeof(out));
	html_buf_text(b, out);
	if (with_time)
		html_buf_raw(b, " <span class=\"en\">(UTC+8)</span>");
}

/* The period [from, to): `to` is exclusive, so a period ending at midnight
 * is shown ending the day before, as people read "1 January to 30 June". */
static void
text_period(struct html_buf *b, const json_t *period)
{
	const char *from = jstr(period, "from"), *to = jstr(period, "to");
	char out[40];
	int64_t t;

	if (from == NULL && to == NULL) {
		html_buf_raw(b, "—");
		return;
	}
	text_time(b, from != NULL ? from : "…", false);
	html_buf_raw(b, " 至 <span class=\"en\">to</span> ");
	if (to != NULL && pages_parse_rfc3339(to, &t)) {
		if ((t + 8 * 3600) % 86400 == 0)
			t--;
		pages_format_cst(t, false, out, sizeof(out));
		html_buf_text(b, out);
	} else
		html_buf_text(b, to != NULL ? to : "…");
}

static void
text_hours(struct html_buf *b, int64_t minutes)
{
	char hours[32];

	pages_format_hours(minutes, hours, sizeof(hours));
	html_buf_text(b, hours);
	html_buf_raw(b, " 小时 <span class=\"en\">hours</span>");
}

static void
text_category(struct html_buf *b, const char *category)
{
	const char *zh, *en;

	if (pages_category_label(category, &zh, &en))
		label(b, zh, en);
	else
		html_buf_text(b, category);
}

/* "name" of an item that may be a string or an object naming itself. */
static const char *
item_name(const json_t *item)
{
	static const char *const keys[] = {"name", "title", "activity", "organizationName", "organizationId", "id"};
	size_t i;

	if (json_is_string(item))
		return json_string_value(item);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (jstr(item, keys[i]) != NULL)
			return jstr(item, keys[i]);
	return NULL;
}

/* A list of activities or organisations: strings, or objects with a name
 * and perhaps minutes and a count. */
static void
list_items(struct html_buf *b, const json_t *items)
{
	const json_t *item;
	int64_t n;
	size_t i;

	html_buf_raw(b, "<ul>");
	json_array_foreach(items, i, item) {
		const char *name = item_name(item);

		if (name == NULL)
			continue;
		html_buf_raw(b, "<li>");
		html_buf_text(b, name);
		if (jint(item, "minutes", &n)) {
			html_buf_raw(b, " · ");
			text_hours(b, n);
		}
		if (jint(item, "shiftCount", &n) || jint(item, "count", &n))
			html_buf_rawf(b, " · %" PRId64 " 次 <span class=\"en\">shifts</span>", n);
		html_buf_raw(b, "</li>");
	}
	html_buf_raw(b, "</ul>\n");
}

/* minutesByCategory: {"elderly_care": 90, ...} or [{"category", "minutes"}]. */
static void
category_table(struct html_buf *b, const json_t *by)
{
	const char *key;
	const json_t *v;
	int64_t minutes;
	size_t i;

	html_buf_raw(b, "<h2>分类服务时长 <span class=\"en\">Hours by category</span></h2><table>\n");
	if (json_is_object(by)) {
		json_object_foreach((json_t *)by, key, v) {
			if (json_is_integer(v))
				minutes = (int64_t)json_integer_value(v);
			else if (!json_is_string(v) || !jint(by, key, &minutes))
				continue;
			html_buf_raw(b, "<tr><th>");
			text_category(b, key);
			html_buf_raw(b, "</th><td class=\"num\">");
			text_hours(b, minutes);
			html_buf_raw(b, "</td></tr>\n");
		}
	} else {
		json_array_foreach(by, i, v) {
			const char *category = jstr(v, "category");

			if (category == NULL || !jint(v, "minutes", &minutes))
				continue;
			html_buf_raw(b, "<tr><th>");
			text_category(b, category);
			html_buf_raw(b, "</th><td class=\"num\">");
			text_hours(b, minutes);
			html_buf_raw(b, "</td></tr>\n");
		}
	}
	html_buf_raw(b, "</table>\n");
}

static void
commendation_list(struct html_buf *b, const json_t *items)
{
	const char *zh, *en, *s;
	const json_t *item;
	size_t i;

	html_buf_raw(b, "<h2>表彰 <span class=\"en\">Commendations</span></h2><ul>\n");
	json_array_foreach(items, i, item) {
		const char *title = item_name(item);

		if (title == NULL)
			continue;
		html_buf_raw(b, "<li>");
		html_buf_text(b, title);
		if ((s = jstr(item, "level")) != NULL) {
			html_buf_raw(b, " · ");
			if (pages_commendation_level_label(s, &zh, &en))
				label(b, zh, en);
			else
				html_buf_text(b, s);
		}
		if ((s = jstr(item, "organizationName")) != NULL || (s = jstr(item, "organization")) != NULL) {
			html_buf_raw(b, " · ");
			html_buf_text(b, s);
		}
		if ((s = jstr(item, "awardTime")) != NULL || (s = jstr(item, "date")) != NULL) {
			html_buf_raw(b, " · ");
			text_time(b, s, false);
		}
		html_buf_raw(b, "</li>\n");
	}
	html_buf_raw(b, "</ul>\n");
}

static bool
nonempty(const json_t *v)
{
	return (json_is_array(v) && json_array_size(v) > 0) || (json_is_object(v) && json_object_size(v) > 0);
}

static const json_t *
issuer_of(const json_t *doc)
{
	const json_t *issuer = json_object_get(doc, "issuer");

	return json_is_object(issuer) ? issuer : NULL;
}

/* The facts table and the lists: what the credential states. Carries the
 * testids volunteer-name, total-hours and certificate-number, so a page
 * calls it once. */
static void
credential_details(struct html_buf *b, const json_t *doc, const char *number, int64_t issue_time_us)
{
	const json_t *subject = json_object_get(doc, "credentialSubject");
	const json_t *issuer = issuer_of(doc);
	const char *s, *rating;
	int64_t n, count;

	html_buf_raw(b, "<table class=\"facts\">\n");
	row_begin(b, "证书编号", "Certificate No.");
	html_buf_raw(b, "<span class=\"mono\" data-testid=\"certificate-number\">");
	html_buf_text(b, number);
	html_buf_raw(b, "</span>");
	row_end(b);
	row_begin(b, "志愿者", "Volunteer");
	html_buf_raw(b, "<strong data-testid=\"volunteer-name\">");
	html_buf_text(b, jstr(subject, "name"));
	html_buf_raw(b, "</strong>");
	row_end(b);
	row_begin(b, "身份证号", "ID number");
	s = jstr(subject, "maskedIdNumber");
	if (s != NULL && s[0] != '\0') {
		html_buf_raw(b, "<span class=\"mono\">");
		html_buf_text(b, s);
		html_buf_raw(b, "</span>");
	} else
		label(b, "未提供", "not given");
	row_end(b);
	if ((s = jstr(subject, "volunteerId")) != NULL) {
		row_begin(b, "志愿者编号", "Volunteer No.");
		html_buf_raw(b, "<span class=\"mono\">");
		html_buf_text(b, s);
		html_buf_raw(b, "</span>");
		row_end(b);
	}
	row_begin(b, "服务期间", "Period");
	text_period(b, json_object_get(subject, "period"));
	row_end(b);
	row_begin(b, "服务总时长", "Total hours");
	html_buf_raw(b, "<strong data-testid=\"total-hours\">");
	if (jint(subject, "totalMinutes", &n))
		text_hours(b, n);
	else
		html_buf_raw(b, "—");
	html_buf_raw(b, "</strong>");
	row_end(b);
	if (jint(subject, "shiftCount", &n)) {
		row_begin(b, "服务次数", "Shifts");
		html_buf_rawf(b, "%" PRId64 " 次 <span class=\"en\">shifts</span>", n);
		row_end(b);
	}
	if (jint(subject, "feedbackCount", &count)) {
		row_begin(b, "服务对象评价", "Feedback");
		html_buf_rawf(b, "%" PRId64 " 条 <span class=\"en\">reviews</span>", count);
		rating = jstr(subject, "averageRating");
		if (count > 0 && rating != NULL) {
			html_buf_raw(b, " · 平均 <span class=\"en\">average</span> ");
			html_buf_text(b, rating);
			html_buf_raw(b, " / 5");
		}
		row_end(b);
	}
	if (jint(subject, "lifetimeMinutes", &n)) {
		row_begin(b, "累计服务时长", "Lifetime hours");
		text_hours(b, n);
		row_end(b);
	}
	if (jint(subject, "starLevel", &n) && n >= 0 && n <= 5) {
		static const char *const names[] = {"无", "一星", "二星", "三星", "四星", "五星"};
		int64_t i;

		row_begin(b, "星级", "Star level");
		html_buf_raw(b, "<span class=\"stars\">");
		for (i = 0; i < 5; i++)
			html_buf_raw(b, i < n ? "★" : "☆");
		html_buf_raw(b, "</span> ");
		html_buf_text(b, names[n]);
		html_buf_rawf(b, " <span class=\"en\">(%" PRId64 " / 5)</span>", n);
		row_end(b);
	}
	if ((s = jstr(issuer, "name")) != NULL) {
		row_begin(b, "签发机构", "Issued by");
		html_buf_text(b, s);
		row_end(b);
	}
	if ((s = jstr(json_object_get(issuer, "officer"), "name")) != NULL && s[0] != '\0') {
		row_begin(b, "经办人", "Officer");
		html_buf_text(b, s);
		row_end(b);
	}
	row_begin(b, "签发日期", "Issue date");
	if ((s = jstr(doc, "validFrom")) != NULL)
		text_time(b, s, false);
	else if (issue_time_us != 0)
		text_time_us(b, issue_time_us, false);
	else
		html_buf_raw(b, "—");
	row_end(b);
	html_buf_raw(b, "</table>\n");

	if (nonempty(json_object_get(subject, "minutesByCategory")))
		category_table(b, json_object_get(subject, "minutesByCategory"));
	if (nonempty(json_object_get(subject, "activities"))) {
		html_buf_raw(b, "<h2>服务活动 <span class=\"en\">Activities</span></h2>\n");
		list_items(b, json_object_get(subject, "activities"));
	}
	if (nonempty(json_object_get(subject, "organizationsServed"))) {
		html_buf_raw(b, "<h2>服务组织 <span class=\"en\">Organisations served</span></h2>\n");
		list_items(b, json_object_get(subject, "organizationsServed"));
	}
	if (nonempty(json_object_get(subject, "commendations")))
		commendation_list(b, json_object_get(subject, "commendations"));
}

/* The credential of a verdict as a JSON object, or NULL (erased, or not
 * readable: the page then says so instead of showing details). */
static json_t *
credential_parse(const struct certificate_verdict *v)
{
	json_error_t jerr;
	json_t *doc;

	if (v->credential == NULL)
		return NULL;
	doc = json_loads(v->credential, 0, &jerr);
	if (doc != NULL && !json_is_object(doc)) {
		json_decref(doc);
		doc = NULL;
	}
	if (doc == NULL)
		log_warnx("pages: certificate %s: stored credential is not a JSON object", v->number != NULL ?
		    v->number : "?");
	return doc;
}

struct status_text {
	const char *word;  /* the contract word in data-status and the text */
	const char *zh;
	const char *cls;
};

static struct status_text
status_of(int result)
{
	switch (result) {
	case VLEDGER__V1__VERIFICATION_RESULT__VERIFICATION_RESULT_VALID:
		return (struct status_text){"VALID", "有效", "valid"};
	case VLEDGER__V1__VERIFICATION_RESULT__VERIFICATION_RESULT_REVOKED:
		return (struct status_text){"REVOKED", "已撤销", "revoked"};
	case VLEDGER__V1__VERIFICATION_RESULT__VERIFICATION_RESULT_NOT_FOUND:
		return (struct status_text){"NOT_FOUND", "未找到", "notfound"};
	default:
		/* Anything unexpected must never read as valid. */
		return (struct status_text){"INVALID", "无效", "invalid"};
	}
}

/* The big coloured banner with its explanation; data-testid="status". */
static void
status_banner(struct html_buf *b, const struct certificate_verdict *v, const char *number)
{
	struct status_text st = status_of(v->result);

	html_buf_rawf(b, "<div class=\"banner %s\" role=\"status\" data-testid=\"status\" data-status=\"%s\">"
	    "<strong>%s %s</strong>", st.cls, st.word, st.zh, st.word);
	switch (v->result) {
	case VLEDGER__V1__VERIFICATION_RESULT__VERIFICATION_RESULT_VALID:
		html_buf_raw(b, "<p>此证书由本平台签发，记录在透明日志中，当前有效。<br><span>This certificate was issued"
		    " here, is recorded in the transparent log and is currently valid.</span></p>");
		break;
	case VLEDGER__V1__VERIFICATION_RESULT__VERIFICATION_RESULT_REVOKED:
		html_buf_raw(b, "<p>此证书已被撤销，不再有效。<span> This certificate was revoked and is no longer valid.</span>"
		    "</p><p>撤销时间 Revoked on: ");
		if (v->revoke_time_us != 0)
			text_time_us(b, v->revoke_time_us, true);
		else
			html_buf_raw(b, "—");
		html_buf_raw(b, "</p><p>撤销原因 Reason: ");
		html_buf_text(b, v->reason != NULL && v->reason[0] != '\0' ? v->reason : "—");
		html_buf_raw(b, "</p>");
		break;
	case VLEDGER__V1__VERIFICATION_RESULT__VERIFICATION_RESULT_NOT_FOUND:
		html_buf_raw(b, "<p>没有这个编号的证书。<span> No certificate with this number exists.</span></p>");
		if (number != NULL) {
			html_buf_raw(b, "<p>编号 Number: <span class=\"mono\">");
			html_buf_text(b, number);
			html_buf_raw(b, "</span></p>");
		}
		if (v->reason != NULL && v->reason[0] != '\0') {
			html_buf_raw(b, "<p>说明 Detail: ");
			html_buf_text(b, v->reason);
			html_buf_raw(b, "</p>");
		}
		break;
	default:
		html_buf_raw(b, "<p>所提交的凭证未通过验证，不可信。<span> The credential presented failed verification and"
		    " must not be trusted.</span></p><p>原因 Reason: ");
		html_buf_text(b, v->reason != NULL && v->reason[0] != '\0' ? v->reason : "—");
		html_buf_raw(b, "</p>");
		break;
	}
	html_buf_raw(b, "</div>\n");
}

static void
erased_note(struct html_buf *b, const struct certificate_verdict *v, const char *number)
{
	html_buf_raw(b, "<p class=\"note\">该志愿者的个人信息已被删除，证书详情不再提供；证书编号与状态仍可验证。<br>"
	    "<span class=\"en\">The volunteer's personal data was erased: the details of this certificate are no"
	    " longer available. Its number and status can still be verified.</span></p>\n<table class=\"facts\">\n");
	row_begin(b, "证书编号", "Certificate No.");
	html_buf_raw(b, "<span class=\"mono\" data-testid=\"certificate-number\">");
	html_buf_text(b, number);
	html_buf_raw(b, "</span>");
	row_end(b);
	if (v->issue_time_us != 0) {
		row_begin(b, "签发日期", "Issue date");
		text_time_us(b, v->issue_time_us, false);
		row_end(b);
	}
	html_buf_raw(b, "</table>\n");
}

char *
pages_render_certificate(const char *public_url, const char *number, const struct certificate_verdict *v,
    size_t *len)
{
	bool found = v->result == VLEDGER__V1__VERIFICATION_RESULT__VERIFICATION_RESULT_VALID ||
	    v->result == VLEDGER__V1__VERIFICATION_RESULT__VERIFICATION_RESULT_REVOKED;
	bool revoked = v->result == VLEDGER__V1__VERIFICATION_RESULT__VERIFICATION_RESULT_REVOKED;
	json_t *doc = found ? credential_parse(v) : NULL;
	const json_t *subject = json_object_get(doc, "credentialSubject");
	const char *title = jstr(doc, "name"), *s;
	struct html_buf b;
	char *verify_url, *svg;
	int64_t minutes;

	html_buf_init(&b);
	if (title == NULL || title[0] == '\0')
		title = "志愿服务证明 Volunteer Service Certificate";
	page_begin(&b, title);
	if (!found) {
		html_buf_raw(&b, "<main class=\"sheet short\"><h1>志愿服务证明 <span class=\"en\">Certificate</span></h1>\n");
		status_banner(&b, v, number);
		html_buf_raw(&b, "<p class=\"noprint\"><a href=\"/verify\">验证其他证书 <span class=\"en\">Verify another"
		    " certificate</span></a></p></main>\n");
		page_end(&b);
		json_decref(doc);
		return html_buf_take(&b, len);
	}

	html_buf_rawf(&b, "<main class=\"sheet%s\"><div class=\"frame\">\n", revoked ? " revoked-mark" : "");
	if (revoked)
		status_banner(&b, v, number);
	else
		html_buf_raw(&b, "<p class=\"badge valid\" data-testid=\"status\" data-status=\"VALID\">有效 VALID</p>\n");
	/* Always present, even empty: it keeps the title clear of the badge. */
	html_buf_raw(&b, "<p class=\"org\">");
	if ((s = jstr(issuer_of(doc), "name")) != NULL)
		html_buf_text(&b, s);
	html_buf_raw(&b, "</p>\n");
	html_buf_raw(&b, "<h1>");
	html_buf_text(&b, title);
	html_buf_raw(&b, "</h1>\n<p class=\"no\">No. <span class=\"mono\">");
	html_buf_text(&b, number);
	html_buf_raw(&b, "</span></p>\n");

	if (doc == NULL) {
		erased_note(&b, v, number);
	} else {
		/* The statement itself, in both languages; the table below repeats
		 * the facts with their testids. */
		html_buf_raw(&b, "<p class=\"lead\">兹证明 <b>");
		html_buf_text(&b, jstr(subject, "name"));
		html_buf_raw(&b, "</b> 于 ");
		text_period(&b, json_object_get(subject, "period"));
		html_buf_raw(&b, " 期间参加志愿服务");
		if (jint(subject, "totalMinutes", &minutes)) {
			char hours[32];

			pages_format_hours(minutes, hours, sizeof(hours));
			html_buf_raw(&b, "，累计服务时长 <b>");
			html_buf_text(&b, hours);
			html_buf_raw(&b, "</b> 小时");
		}
		html_buf_raw(&b, "。<br><span class=\"en\">This is to certify that ");
		html_buf_text(&b, jstr(subject, "name"));
		html_buf_raw(&b, " served as a volunteer in the period above");
		if (jint(subject, "totalMinutes", &minutes)) {
			char hours[32];

			pages_format_hours(minutes, hours, sizeof(hours));
			html_buf_raw(&b, " for a total of ");
			html_buf_text(&b, hours);
			html_buf_raw(&b, " hours");
		}
		html_buf_raw(&b, ".</span></p>\n");
		credential_details(&b, doc, number, v->issue_time_us);
	}

	verify_url = xasprintf("%s/verify/%s", public_url, number);
	svg = qr_svg(verify_url, QR_PX);
	html_buf_raw(&b, "<div class=\"foot\"><p class=\"note\">本证书为电子凭证（W3C 可验证凭证），由平台数字签名并记入透明日志。"
	    "扫描二维码或访问下方网址查验其当前状态。<br><span class=\"en\">This certificate is a digitally signed W3C"
	    " Verifiable Credential recorded in a transparent log. Scan the code or visit the address to check its"
	    " current status.</span></p>\n<figure class=\"qr-box\">");
	if (svg != NULL)
		html_buf_raw(&b, svg);
	html_buf_raw(&b, "<figcaption>扫码验证 <span class=\"en\">Scan to verify</span><br><span class=\"url mono\">");
	html_buf_text(&b, verify_url);
	html_buf_raw(&b, "</span></figcaption></figure></div>\n</div></main>\n<nav class=\"actions noprint\">");
	if (doc != NULL) {
		html_buf_raw(&b, "<a data-testid=\"download\" href=\"/certificates/");
		html_buf_url_segment(&b, number);
		html_buf_raw(&b, "/credential.json\" download=\"");
		html_buf_text(&b, number);
		html_buf_raw(&b, ".json\">下载电子凭证 <span class=\"en\">Download credential (JSON)</span></a>");
	}
	html_buf_raw(&b, "<a href=\"/verify/");
	html_buf_url_segment(&b, number);
	html_buf_raw(&b, "\">在线验证 <span class=\"en\">Verify online</span></a>"
	    "<a href=\"/verify\">验证其他证书 <span class=\"en\">Verify another certificate</span></a></nav>\n");
	page_end(&b);
	free(svg);
	free(verify_url);
	json_decref(doc);
	return html_buf_take(&b, len);
}

char *
pages_render_verify_result(const char *number, const struct certificate_verdict *v, size_t *len)
{
	bool found = v->result == VLEDGER__V1__VERIFICATION_RESULT__VERIFICATION_RESULT_VALID ||
	    v->result == VLEDGER__V1__VERIFICATION_RESULT__VERIFICATION_RESULT_REVOKED;
	json_t *doc = found ? credential_parse(v) : NULL;
	struct status_text st = status_of(v->result);
	/* The number the verdict names (a presented document's) wins over the
	 * one asked for: they only differ when a document was presented. */
	const char *shown = v->number != NULL && v->number[0] != '\0' ? v->number : number;
	struct html_buf b;
	char *title;

	html_buf_init(&b);
	title = xasprintf("证书验证 %s %s", st.zh, st.word);
	page_begin(&b, title);
	free(title);
	html_buf_raw(&b, "<main class=\"sheet short\"><h1>证书验证 <span class=\"en\">Certificate verification</span>"
	    "</h1>\n");
	status_banner(&b, v, shown);
	if (found && shown != NULL) {
		html_buf_raw(&b, "<h2>证书内容 <span class=\"en\">What is certified</span></h2>\n");
		if (doc != NULL) {
			const char *title_text = jstr(doc, "name");

			if (title_text != NULL) {
				html_buf_raw(&b, "<p><b>");
				html_buf_text(&b, title_text);
				html_buf_raw(&b, "</b></p>\n");
			}
			credential_details(&b, doc, shown, v->issue_time_us);
		} else
			erased_note(&b, v, shown);
		html_buf_raw(&b, "<p class=\"noprint\"><a href=\"/certificates/");
		html_buf_url_segment(&b, shown);
		html_buf_raw(&b, "\">查看证书 <span class=\"en\">View the certificate</span></a></p>\n");
	}
	html_buf_raw(&b, "<p class=\"noprint\"><a href=\"/verify\">验证其他证书 <span class=\"en\">Verify another"
	    " certificate</span></a></p></main>\n");
	page_end(&b);
	json_decref(doc);
	return html_buf_take(&b, len);
}

char *
pages_render_verify_form(const char *error, size_t *len)
{
	struct html_buf b;

	html_buf_init(&b);
	page_begin(&b, "证书验证 Verify a certificate");
	html_buf_raw(&b, "<main class=\"sheet short\"><h1>证书验证 <span class=\"en\">Verify a certificate</span></h1>\n");
	if (error != NULL) {
		html_buf_raw(&b, "<p class=\"error\" role=\"alert\">");
		html_buf_text(&b, error);
		html_buf_raw(&b, "</p>\n");
	}
	html_buf_raw(&b,
	    "<h2>按编号验证 <span class=\"en\">By certificate number</span></h2>\n"
	    "<form method=\"get\" action=\"/verify\">"
	    "<label for=\"number\">证书编号 <span class=\"en\">Certificate number</span></label>"
	    "<input id=\"number\" name=\"number\" type=\"text\" required autocomplete=\"off\" spellcheck=\"false\""
	    " placeholder=\"VLC-2026-XXXX-XXXX-XXXX\" data-testid=\"verify-number-input\">"
	    "<button type=\"submit\" data-testid=\"verify-submit-number\">验证 <span>Verify</span></button></form>\n"
	    "<h2>上传电子凭证 <span class=\"en\">By credential file</span></h2>\n"
	    "<form method=\"post\" action=\"/verify\" enctype=\"multipart/form-data\">"
	    "<label for=\"credential\">凭证文件 <span class=\"en\">Credential file (JSON, as downloaded from the"
	    " certificate page)</span></label>"
	    "<input id=\"credential\" name=\"credential\" type=\"file\" required"
	    " accept=\".json,application/json,application/vc+ld+json\" data-testid=\"verify-file-input\">"
	    "<button type=\"submit\" data-testid=\"verify-submit-file\">验证凭证 <span>Verify file</span></button>"
	    "</form>\n"
	    "<p class=\"note\">验证在服务器上进行：检查数字签名，与透明日志中的记录比对，并查询是否已撤销。<br>"
	    "<span class=\"en\">The server checks the file's digital signature, compares it with the record in the"
	    " transparent log and looks up whether it was revoked.</span></p></main>\n");
	page_end(&b);
	return html_buf_take(&b, len);
}

char *
pages_render_message(const char *title, const char *message, size_t *len)
{
	struct html_buf b;

	html_buf_init(&b);
	page_begin(&b, title);
	html_buf_raw(&b, "<main class=\"sheet short\"><h1>");
	html_buf_text(&b, title);
	html_buf_raw(&b, "</h1>\n<p>");
	html_buf_text(&b, message);
	html_buf_raw(&b, "</p>\n<p><a href=\"/verify\">证书验证 <span class=\"en\">Verify a certificate</span></a></p>"
	    "</main>\n");
	page_end(&b);
	return html_buf_take(&b, len);
}
