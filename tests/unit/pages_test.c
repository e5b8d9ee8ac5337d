/*
 * pages_test.c - the public pages' pieces: escaping, display formats,
 * labels, the QR code's SVG (against libqrencode's own matrix, and through
 * a real decoder when zbarimg and ImageMagick are installed), the form
 * parsers, and the rendered pages (escaping of hostile names, testids,
 * statuses, no external resources).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <qrencode.h>

#include "vledger/certificates.h"
#include "vledger/pages.h"
#include "vledger/v1/certificates.pb-c.h"

#include "check.h"

static void
escape_is(const char *in, const char *want)
{
	char *out = html_escape(in);

	if (strcmp(out, want) != 0) {
		fprintf(stderr, "html_escape(\"%s\") = \"%s\", want \"%s\"\n", in, out, want);
		exit(1);
	}
	free(out);
}

static void
escape_n_is(const char *in, size_t len, const char *want)
{
	struct html_buf b;
	char *out;

	html_buf_init(&b);
	html_buf_textn(&b, in, len);
	out = html_buf_take(&b, NULL);
	if (strcmp(out, want) != 0) {
		fprintf(stderr, "html_buf_textn(%zu bytes) = \"%s\", want \"%s\"\n", len, out, want);
		exit(1);
	}
	free(out);
}

static void
test_escaping(void)
{
	struct html_buf b;
	char *out;
	size_t len;

	escape_is("", "");
	escape_is("plain text 123", "plain text 123");
	escape_is("&", "&amp;");
	escape_is("<", "&lt;");
	escape_is(">", "&gt;");
	escape_is("\"", "&quot;");
	escape_is("'", "&#39;");
	escape_is("`", "&#96;");
	escape_is("&amp;", "&amp;amp;");
	escape_is("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;");
	/* Attribute context: a value cannot close its quotes, either kind. */
	escape_is("\" onmouseover=\"alert(1)", "&quot; onmouseover=&quot;alert(1)");
	escape_is("' onfocus='x", "&#39; onfocus=&#39;x");
	/* UTF-8 passes through: CJK, Latin-1, a 4-byte emoji, U+FFFD itself. */
	escape_is("张三 Zhāng Sān 😀 \xef\xbf\xbd", "张三 Zhāng Sān 😀 \xef\xbf\xbd");
	escape_is("宁波市<海曙区>", "宁波市&lt;海曙区&gt;");
	/* Tab, LF, CR stay; other controls and DEL become U+FFFD. */
	escape_is("a\tb\nc\rd", "a\tb\nc\rd");
	escape_is("a\x01" "b\x1f" "c\x7f", "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd");
	/* Ill-formed UTF-8: each bad byte becomes U+FFFD. */
	escape_is("\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd");             /* overlong '/' */
	escape_is("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* a surrogate */
	escape_is("\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* > U+10FFFF */
	escape_is("x\xe4\xb8", "x\xef\xbf\xbd\xef\xbf\xbd");          /* truncated at the end */
	escape_is("\xff<", "\xef\xbf\xbd&lt;");
	/* A length-bounded read stops mid-sequence rather than overrunning. */
	escape_n_is("张", 2, "\xef\xbf\xbd\xef\xbf\xbd");
	escape_n_is("a<b", 2, "a&lt;");

	html_buf_init(&b);
	html_buf_text(&b, NULL);
	out = html_buf_take(&b, &len);
	CHECK(len == 0 && strcmp(out, "") == 0);
	free(out);

	html_buf_init(&b);
	html_buf_url_segment(&b, "VLC-2026-ABCD-EFGH-JKMN");
	html_buf_raw(&b, "|");
	html_buf_url_segment(&b, "a/b c<\"&张");
	out = html_buf_take(&b, NULL);
	CHECK(strcmp(out, "VLC-2026-ABCD-EFGH-JKMN|a%2Fb%20c%3C%22%26%E5%BC%A0") == 0);
	free(out);

	/* Growth past the first allocation keeps every byte. */
	html_buf_init(&b);
	for (int i = 0; i < 5000; i++)
		html_buf_rawf(&b, "%d<", i % 10);
	CHECK(b.len == 10000 && b.data[9998] == '9' && b.data[9999] == '<');
	html_buf_free(&b);
}

static void
hours_is(int64_t minutes, const char *want)
{
	char out[32];

	pages_format_hours(minutes, out, sizeof(out));
	if (strcmp(out, want) != 0) {
		fprintf(stderr, "pages_format_hours(%lld) = \"%s\", want \"%s\"\n", (long long)minutes, out, want);
		exit(1);
	}
}

static void
test_formats(void)
{
	const char *zh, *en;
	char out[40];
	int64_t t;

	hours_is(0, "0.0");
	hours_is(750, "12.5");
	hours_is(745, "12.4");   /* 12.4167 */
	hours_is(747, "12.5");   /* 12.45: half up */
	hours_is(60, "1.0");
	hours_is(59, "1.0");
	hours_is(3, "0.1");      /* 0.05: half up */
	hours_is(2, "0.0");
	hours_is(90000, "1500.0");
	hours_is(-90, "-1.5");

	CHECK(pages_category_label("elderly_care", &zh, &en) && strcmp(zh, "关爱老人") == 0 &&
	    strcmp(en, "Elderly care") == 0);
	CHECK(pages_category_label("SHIFT_CATEGORY_TESTING_SITE", &zh, &en) && strcmp(zh, "核酸检测点") == 0 &&
	    strcmp(en, "Testing site") == 0);
	CHECK(pages_category_label("building_sweep", &zh, &en) && strcmp(zh, "楼栋清扫") == 0);
	CHECK(pages_category_label("supply_delivery", &zh, &en) && strcmp(zh, "物资配送") == 0);
	CHECK(pages_category_label("disinfection", &zh, &en) && strcmp(zh, "消杀") == 0);
	CHECK(pages_category_label("publicity", &zh, &en) && strcmp(zh, "宣传") == 0);
	CHECK(pages_category_label("mediation", &zh, &en) && strcmp(zh, "调解") == 0);
	CHECK(pages_category_label("psychological_support", &zh, &en) && strcmp(zh, "心理疏导") == 0 &&
	    strcmp(en, "Psychological support") == 0);
	CHECK(pages_category_label("other", &zh, &en) && strcmp(zh, "其他") == 0 && strcmp(en, "Other") == 0);
	CHECK(!pages_category_label("juggling", &zh, &en) && zh == NULL && en == NULL);
	CHECK(!pages_category_label(NULL, &zh, &en));
	CHECK(!pages_category_label("SHIFT_CATEGORY_", &zh, &en));
	CHECK(pages_commendation_level_label("district", &zh, &en) && strcmp(zh, "区级") == 0 &&
	    strcmp(en, "District") == 0);
	CHECK(pages_commendation_level_label("COMMENDATION_LEVEL_CITY", &zh, &en) && strcmp(zh, "市级") == 0);
	CHECK(!pages_commendation_level_label("galactic", &zh, &en));

	CHECK(pages_parse_rfc3339("2026-01-01T00:00:00Z", &t) && t == 1767225600);
	CHECK(pages_parse_rfc3339("2026-01-01T08:00:00+08:00", &t) && t == 1767225600);
	CHECK(pages_parse_rfc3339("2025-12-31T19:00:00.123456-05:00", &t) && t == 1767225600);
	CHECK(!pages_parse_rfc3339("2026-01-01", &t));
	CHECK(!pages_parse_rfc3339("2026-13-01T00:00:00Z", &t));
	CHECK(!pages_parse_rfc3339("2026-01-01T00:00:00", &t));
	CHECK(!pages_parse_rfc3339("2026-01-01T00:00:00Zjunk", &t));
	CHECK(!pages_parse_rfc3339(NULL, &t));
	/* Midnight UTC is 08:00 in China; 16:00 UTC is the next day there. */
	pages_format_cst(1767225600, true, out, sizeof(out));
	CHECK(strcmp(out, "2026-01-01 08:00") == 0);
	pages_format_cst(1767225600 - 8 * 3600, false, out, sizeof(out));
	CHECK(strcmp(out, "2026-01-01") == 0);
	pages_format_cst(1767225600 - 8 * 3600 - 1, false, out, sizeof(out));
	CHECK(strcmp(out, "2025-12-31") == 0);
}

/* Rebuilds the module matrix from the SVG path ("Mx yhNv1h-Nz" runs),
 * checks it against libqrencode's for the same text and settings, and
 * returns it (malloc'd, *size by *size, the caller frees). */
static unsigned char *
qr_matches(const char *svg, const char *text, int *size_out)
{
	QRcode *code = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
	int size, x, y, run, back, dark = 0;
	unsigned char *m;
	const char *d;
	char want[64];

	CHECK(code != NULL);
	size = code->width + 8;
	snprintf(want, sizeof(want), "viewBox=\"0 0 %d %d\"", size, size);
	CHECK(strstr(svg, want) != NULL);
	m = calloc((size_t)size * (size_t)size, 1);
	CHECK(m != NULL);
	d = strstr(svg, " d=\"");
	CHECK(d != NULL);
	d += 4;
	while (*d == 'M') {
		int n;

		CHECK(sscanf(d, "M%d %dh%dv1h-%dz%n", &x, &y, &run, &back, &n) == 4);
		CHECK(run == back && run > 0 && x >= 4 && y >= 4 && x + run <= size - 4 && y < size - 4);
		for (int i = 0; i < run; i++) {
			CHECK(m[y * size + x + i] == 0);  /* no module drawn twice */
			m[y * size + x + i] = 1;
		}
		d += n;
	}
	CHECK(*d == '"');
	/* Every module agrees, and the quiet zone is empty. */
	for (y = 0; y < size; y++)
		for (x = 0; x < size; x++) {
			int inside = x >= 4 && y >= 4 && x < size - 4 && y < size - 4;
			int want_dark = inside ? code->data[(y - 4) * code->width + (x - 4)] & 1 : 0;

			CHECK(m[y * size + x] == want_dark);
			dark += want_dark;
		}
	CHECK(dark > 0);
	QRcode_free(code);
	*size_out = size;
	return m;
}

/* When zbarimg is installed (not required): rasterise what the SVG draws,
 * quiet zone included, as a PBM at 4 pixels a module and decode it. */
static void
qr_decode_if_possible(const unsigned char *m, int size, const char *text)
{
	char dir[] = "/tmp/pages_test.XXXXXX", path[128], cmd[512], got[512];
	const int scale = 4;
	FILE *f;
	size_t n;

	if (access("/usr/bin/zbarimg", X_OK) != 0) {
		fprintf(stderr, "pages_test: no zbarimg, QR decoding not checked (the matrix check stands)\n");
		return;
	}
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/qr.pbm", dir);
	f = fopen(path, "w");
	CHECK(f != NULL);
	fprintf(f, "P1\n%d %d\n", size * scale, size * scale);
	for (int y = 0; y < size * scale; y++) {
		for (int x = 0; x < size * scale; x++)
			fputs(m[(y / scale) * size + x / scale] ? "1 " : "0 ", f);
		fputc('\n', f);
	}
	fclose(f);
	snprintf(cmd, sizeof(cmd), "zbarimg --raw -q %s/qr.pbm > %s/out.txt 2>/dev/null", dir, dir);
	CHECK(system(cmd) == 0);
	snprintf(path, sizeof(path), "%s/out.txt", dir);
	f = fopen(path, "r");
	CHECK(f != NULL);
	n = fread(got, 1, sizeof(got) - 1, f);
	fclose(f);
	got[n] = '\0';
	while (n > 0 && (got[n - 1] == '\n' || got[n - 1] == '\r'))
		got[--n] = '\0';
	if (strcmp(got, text) != 0) {
		fprintf(stderr, "zbarimg decoded \"%s\", want \"%s\"\n", got, text);
		exit(1);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

static void
test_qr(void)
{
	static const char *const texts[] = {
		"http://127.0.0.1:8080/verify/VLC-2026-ABCD-EFGH-JKMN",
		"https://vledger.haishu.example.gov.cn/verify/VLC-2026-0123-4567-89AB",
		"a",
	};
	char *svg, big[8000];
	unsigned char *m;
	int size;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		svg = qr_svg(texts[i], 200);
		CHECK(svg != NULL);
		CHECK(strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) == 0);
		CHECK(strcmp(svg + strlen(svg) - 6, "</svg>") == 0);
		CHECK(strstr(svg, "data-testid=\"qr\"") != NULL);
		CHECK(strstr(svg, "shape-rendering=\"crispEdges\"") != NULL);
		CHECK(strstr(svg, "width=\"200\" height=\"200\"") != NULL);
		/* Exactly one path and one background rect: well-formed, nothing else. */
		CHECK(strstr(strstr(svg, "<path") + 1, "<path") == NULL);
		CHECK(strstr(strstr(svg, "<rect") + 1, "<rect") == NULL);
		m = qr_matches(svg, texts[i], &size);
		qr_decode_if_possible(m, size, texts[i]);
		free(m);
		free(svg);
	}
	/* Beyond version 40's capacity: refused, not truncated. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(qr_svg(big, 200) == NULL);
}

static void
multipart_is(const char *ct, const char *body, const char *name, const char *want)
{
	const uint8_t *v;
	size_t len;
	bool ok = form_multipart_field(ct, (const uint8_t *)body, strlen(body), name, &v, &len);

	if (want == NULL) {
		if (ok) {
			fprintf(stderr, "multipart: found \"%s\" in a body where it should not be\n", name);
			exit(1);
		}
		return;
	}
	if (!ok || len != strlen(want) || memcmp(v, want, len) != 0) {
		fprintf(stderr, "multipart: \"%s\": got %s \"%.*s\", want \"%s\"\n", name, ok ? "" : "nothing",
		    ok ? (int)len : 0, ok ? (const char *)v : "", want);
		exit(1);
	}
}

/* A string and its length, for the length-taking parsers. */
#define U(s) (s), strlen(s)

static void
test_forms(void)
{
	/* What Chromium sends for the file form. */
	const char *ct = "multipart/form-data; boundary=----WebKitFormBoundaryAbC123";
	const char *body =
	    "------WebKitFormBoundaryAbC123\r\n"
	    "Content-Disposition: form-data; name=\"number\"\r\n"
	    "\r\n"
	    "VLC-2026-ABCD-EFGH-JKMN\r\n"
	    "------WebKitFormBoundaryAbC123\r\n"
	    "Content-Disposition: form-data; name=\"credential\"; filename=\"VLC-2026.json\"\r\n"
	    "Content-Type: application/json\r\n"
	    "\r\n"
	    "{\"a\":\"--x\r\n--y\",\"name\":\"filename\"}\r\n"
	    "------WebKitFormBoundaryAbC123--\r\n";
	char *v;
	size_t len;

	multipart_is(ct, body, "credential", "{\"a\":\"--x\r\n--y\",\"name\":\"filename\"}");
	multipart_is(ct, body, "number", "VLC-2026-ABCD-EFGH-JKMN");
	multipart_is(ct, body, "filename", NULL);  /* a parameter, not a part */
	multipart_is(ct, body, "missing", NULL);
	/* Quoted boundary, other case, a preamble, an empty part, curl's layout. */
	multipart_is("Multipart/Form-Data; charset=utf-8; boundary=\"xyz abc\"",
	    "preamble\r\n--xyz abc\r\ncontent-disposition: form-data; name=\"empty\"\r\n\r\n\r\n"
	    "--xyz abc\r\ncontent-disposition: form-data; name=credential; filename=c.json\r\n\r\n{}\r\n--xyz abc--",
	    "credential", "{}");
	multipart_is("multipart/form-data; boundary=\"xyz abc\"",
	    "--xyz abc\r\nContent-Disposition: form-data; name=\"empty\"\r\n\r\n\r\n--xyz abc--", "empty", "");
	/* Refusals: no boundary, another type, an unterminated part, no CRLF
	 * after the delimiter, a boundary that never appears. */
	multipart_is("multipart/form-data", body, "credential", NULL);
	multipart_is("multipart/mixed; boundary=----WebKitFormBoundaryAbC123", body, "credential", NULL);
	multipart_is("multipart/form-data-x; boundary=----WebKitFormBoundaryAbC123", body, "credential", NULL);
	multipart_is(ct, "------WebKitFormBoundaryAbC123\r\nContent-Disposition: form-data; name=\"credential\""
	    "\r\n\r\n{\"cut\":", "credential", NULL);
	multipart_is(ct, "------WebKitFormBoundaryAbC123Content-Disposition: form-data; name=\"credential\"\r\n\r\n{}"
	    "\r\n------WebKitFormBoundaryAbC123--", "credential", NULL);
	multipart_is(ct, "no delimiters at all", "credential", NULL);
	multipart_is(ct, "", "credential", NULL);
	multipart_is(NULL, body, "credential", NULL);
	/* A boundary over 70 characters is not one. */
	multipart_is("multipart/form-data; boundary=0123456789012345678901234567890123456789012345678901234567890123456789X",
	    "--0123456789012345678901234567890123456789012345678901234567890123456789X\r\n"
	    "Content-Disposition: form-data; name=\"credential\"\r\n\r\n{}\r\n"
	    "--0123456789012345678901234567890123456789012345678901234567890123456789X--", "credential", NULL);

	v = form_urlencoded_field(U("a=1&credential=%7B%22x%22%3A1%7D&b"), "credential", &len);
	CHECK(v != NULL && strcmp(v, "{\"x\":1}") == 0 && len == 7);
	free(v);
	v = form_urlencoded_field(U("number=+VLC-2026-ABCD-EFGH-JKMN+"), "number", NULL);
	CHECK(v != NULL && strcmp(v, " VLC-2026-ABCD-EFGH-JKMN ") == 0);
	free(v);
	v = form_urlencoded_field(U("numbers=1&xnumber=2&number"), "number", &len);
	CHECK(v != NULL && strcmp(v, "") == 0 && len == 0);
	free(v);
	CHECK(form_urlencoded_field(U("numbers=1"), "number", NULL) == NULL);
	CHECK(form_urlencoded_field(U("number=%zz"), "number", NULL) == NULL);
	CHECK(form_urlencoded_field("", 0, "number", NULL) == NULL);
	/* The length bounds the scan: "number" past it is not seen. */
	CHECK(form_urlencoded_field("a=1&number=2", 3, "number", NULL) == NULL);
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* Nothing a page shows may load anything or run anything. */
static void
self_contained(const char *html)
{
	CHECK(strncmp(html, "<!DOCTYPE html>", 15) == 0);
	CHECK(strstr(html, "<meta charset=\"utf-8\">") != NULL);
	CHECK(strstr(html, "<script") == NULL);
	CHECK(strstr(html, " src=\"") == NULL);
	CHECK(strstr(html, "<img") == NULL && strstr(html, "<iframe") == NULL && strstr(html, "<object") == NULL);
	CHECK(strstr(html, "<link") == NULL);
	CHECK(strstr(html, "@import") == NULL);
	CHECK(strstr(html, "url(") == NULL);
	CHECK(strstr(html, "</html>\n") != NULL);
}

static const char credential[] =
    "{\"@context\":[\"https://www.w3.org/ns/credentials/v2\"],"
    "\"id\":\"urn:vledger:certificate:VLC-2026-ABCD-EFGH-JKMN\","
    "\"type\":[\"VerifiableCredential\",\"VolunteerServiceCredential\"],"
    "\"issuer\":{\"id\":\"did:key:z6MkExample\",\"name\":\"海曙区 <Office> & Co\",\"organizationId\":\"org_1\","
    "\"officer\":{\"tokenId\":\"tok_1\",\"name\":\"王经办\"}},"
    "\"validFrom\":\"2026-05-01T02:00:00Z\","
    "\"name\":\"志愿服务证明 Volunteer Service Certificate\","
    "\"certificateNumber\":\"VLC-2026-ABCD-EFGH-JKMN\","
    "\"credentialSubject\":{\"id\":\"urn:vledger:volunteer:vol_1\",\"volunteerId\":\"vol_1\","
    "\"name\":\"<script>alert(1)</script>\",\"maskedIdNumber\":\"**************123X\","
    "\"period\":{\"from\":\"2025-12-31T16:00:00Z\",\"to\":\"2026-04-30T16:00:00Z\"},"
    "\"totalMinutes\":750,\"shiftCount\":9,"
    "\"minutesByCategory\":[{\"category\":\"elderly_care\",\"minutes\":450},{\"category\":\"disinfection\",\"minutes\":300}],"
    "\"activities\":[\"独居老人探访\",\"<img src=x onerror=alert(2)>\"],"
    "\"organizationsServed\":[{\"id\":\"org_2\",\"name\":\"望春社区\",\"minutes\":750}],"
    "\"feedbackCount\":4,\"averageRating\":\"4.75\","
    "\"commendations\":[{\"id\":\"cmd_1\",\"title\":\"优秀志愿者\",\"level\":\"district\",\"awardTime\":\"2026-03-01T00:00:00Z\"}],"
    "\"lifetimeMinutes\":18000,\"starLevel\":1},"
    "\"credentialStatus\":{\"id\":\"http://127.0.0.1:8080/certificates/VLC-2026-ABCD-EFGH-JKMN/status\","
    "\"type\":\"VledgerCertificateStatus\"},"
    "\"proof\":{\"type\":\"DataIntegrityProof\"}}";

static void
test_render(void)
{
	struct certificate_verdict v;
	const char *number = "VLC-2026-ABCD-EFGH-JKMN";
	char *html;
	size_t len;

	memset(&v, 0, sizeof(v));
	v.result = VLEDGER__V1__VERIFICATION_RESULT__VERIFICATION_RESULT_VALID;
	v.number = (char *)number;
	v.credential = (char *)credential;
	v.issue_time_us = 1777600800LL * 1000000;

	html = pages_render_certificate("http://127.0.0.1:8080", number, &v, &len);
	CHECK(len == strlen(html));
	self_contained(html);
	/* The hostile name and activity are text, everywhere they appear. */
	CHECK(strstr(html, "<script>") == NULL && strstr(html, "<img") == NULL);
	CHECK(count(html, "&lt;script&gt;alert(1)&lt;/script&gt;") >= 2);
	CHECK(strstr(html, "&lt;img src=x onerror=alert(2)&gt;") != NULL);
	CHECK(strstr(html, "海曙区 &lt;Office&gt; &amp; Co") != NULL);
	CHECK(strstr(html, "<strong data-testid=\"volunteer-name\">&lt;script&gt;alert(1)&lt;/script&gt;</strong>") != NULL);
	CHECK(strstr(html, "<strong data-testid=\"total-hours\">12.5 小时 <span class=\"en\">hours</span></strong>") != NULL);
	CHECK(strstr(html, "data-testid=\"certificate-number\">VLC-2026-ABCD-EFGH-JKMN</span>") != NULL);
	CHECK(strstr(html, "data-testid=\"status\" data-status=\"VALID\">有效 VALID<") != NULL);
	CHECK(strstr(html, "<a data-testid=\"download\" href=\"/certificates/VLC-2026-ABCD-EFGH-JKMN/credential.json\""
	    " download=\"VLC-2026-ABCD-EFGH-JKMN.json\"") != NULL);
	CHECK(strstr(html, "http://127.0.0.1:8080/verify/VLC-2026-ABCD-EFGH-JKMN") != NULL);
	/* Each testid at most once (browser tests use strict locators). */
	CHECK(count(html, "data-testid=\"status\"") == 1);
	CHECK(count(html, "data-testid=\"volunteer-name\"") == 1);
	CHECK(count(html, "data-testid=\"total-hours\"") == 1);
	CHECK(count(html, "data-testid=\"certificate-number\"") == 1);
	CHECK(count(html, "data-testid=\"qr\"") == 1);
	CHECK(count(html, "data-testid=\"download\"") == 1);
	/* What the credential states. */
	CHECK(strstr(html, "关爱老人") != NULL && strstr(html, "Elderly care") != NULL);
	CHECK(strstr(html, "7.5 小时") != NULL && strstr(html, "5.0 小时") != NULL);
	CHECK(strstr(html, "**************123X") != NULL);
	CHECK(strstr(html, "vol_1") != NULL);
	CHECK(strstr(html, "2026-01-01") != NULL && strstr(html, "2026-04-30") != NULL);  /* [from, to) in UTC+8 */
	CHECK(strstr(html, "独居老人探访") != NULL && strstr(html, "望春社区") != NULL);
	CHECK(strstr(html, "优秀志愿者") != NULL && strstr(html, "区级") != NULL);
	CHECK(strstr(html, "9 次") != NULL && strstr(html, "4.75 / 5") != NULL);
	CHECK(strstr(html, "★☆☆☆☆") != NULL && strstr(html, "300.0 小时") != NULL);
	CHECK(strstr(html, "王经办") != NULL && strstr(html, "2026-05-01") != NULL);
	CHECK(strstr(html, "@page{size:A4") != NULL);
	CHECK(strstr(html, "Noto Serif CJK SC") != NULL);
	CHECK(strstr(html, "class=\"sheet revoked-mark\"") == NULL);
	free(html);

	/* Revoked: unmistakable, with date and (escaped) reason. */
	v.result = VLEDGER__V1__VERIFICATION_RESULT__VERIFICATION_RESULT_REVOKED;
	v.reason = (char *)"记录有误 <b>wrong</b>";
	v.revoke_time_us = 1777723200LL * 1000000;  /* 2026-05-02T12:00:00Z */
	html = pages_render_certificate("http://127.0.0.1:8080", number, &v, &len);
	self_contained(html);
	CHECK(strstr(html, "class=\"banner revoked\" role=\"status\" data-testid=\"status\" data-status=\"REVOKED\">"
	    "<strong>已撤销 REVOKED</strong>") != NULL);
	CHECK(strstr(html, "记录有误 &lt;b&gt;wrong&lt;/b&gt;") != NULL);
	CHECK(strstr(html, "2026-05-02 20:00") != NULL);
	CHECK(strstr(html, "class=\"sheet revoked-mark\"") != NULL);
	CHECK(count(html, "data-testid=\"status\"") == 1);
	free(html);
	html = pages_render_verify_result(number, &v, &len);
	self_contained(html);
	CHECK(strstr(html, "data-status=\"REVOKED\"") != NULL && strstr(html, "&lt;b&gt;wrong") != NULL);
	CHECK(count(html, "data-testid=\"volunteer-name\"") == 1);
	CHECK(strstr(html, "href=\"/certificates/VLC-2026-ABCD-EFGH-JKMN\"") != NULL);
	free(html);

	/* Personal data erased: status and number, no name, no download. */
	v.result = VLEDGER__V1__VERIFICATION_RESULT__VERIFICATION_RESULT_VALID;
	v.reason = NULL;
	v.revoke_time_us = 0;
	v.credential = NULL;
	html = pages_render_certificate("http://127.0.0.1:8080", number, &v, &len);
	self_contained(html);
	CHECK(strstr(html, "data-status=\"VALID\"") != NULL);
	CHECK(strstr(html, "personal data was erased") != NULL);
	CHECK(strstr(html, "data-testid=\"volunteer-name\"") == NULL);
	CHECK(strstr(html, "data-testid=\"download\"") == NULL);
	CHECK(count(html, "data-testid=\"certificate-number\"") == 1);
	CHECK(count(html, "data-testid=\"qr\"") == 1);
	free(html);
	html = pages_render_verify_result(number, &v, &len);
	CHECK(strstr(html, "personal data was erased") != NULL && strstr(html, "data-status=\"VALID\"") != NULL);
	free(html);

	/* Invalid document: red, the reason escaped, nothing certified. */
	v.result = VLEDGER__V1__VERIFICATION_RESULT__VERIFICATION_RESULT_INVALID;
	v.reason = (char *)"proof: signature does not verify: <altered>";
	v.number = (char *)"<VLC>";
	html = pages_render_verify_result(NULL, &v, &len);
	self_contained(html);
	CHECK(strstr(html, "class=\"banner invalid\" role=\"status\" data-testid=\"status\" data-status=\"INVALID\">"
	    "<strong>无效 INVALID</strong>") != NULL);
	CHECK(strstr(html, "does not verify: &lt;altered&gt;") != NULL);
	CHECK(strstr(html, "data-testid=\"volunteer-name\"") == NULL);
	CHECK(strstr(html, "<VLC>") == NULL);
	free(html);

	/* Not found, on both pages; an unexpected result never reads VALID. */
	v.result = VLEDGER__V1__VERIFICATION_RESULT__VERIFICATION_RESULT_NOT_FOUND;
	v.reason = NULL;
	v.number = NULL;
	html = pages_render_verify_result("VLC-2026-ZZZZ-ZZZZ-ZZZZ", &v, &len);
	CHECK(strstr(html, "data-status=\"NOT_FOUND\">") != NULL && strstr(html, "未找到 NOT_FOUND") != NULL);
	CHECK(strstr(html, "VLC-2026-ZZZZ-ZZZZ-ZZZZ") != NULL);
	free(html);
	html = pages_render_certificate("http://x", "<bad\"number>", &v, &len);
	self_contained(html);
	CHECK(strstr(html, "data-status=\"NOT_FOUND\"") != NULL && strstr(html, "&lt;bad&quot;number&gt;") != NULL);
	CHECK(strstr(html, "data-testid=\"qr\"") == NULL);
	free(html);
	v.result = VLEDGER__V1__VERIFICATION_RESULT__VERIFICATION_RESULT_UNSPECIFIED;
	html = pages_render_verify_result(number, &v, &len);
	CHECK(strstr(html, "data-status=\"INVALID\"") != NULL && strstr(html, "data-status=\"VALID\"") == NULL);
	free(html);

	/* The form. */
	html = pages_render_verify_form("请选择 <file>", &len);
	self_contained(html);
	CHECK(strstr(html, "请选择 &lt;file&gt;") != NULL);
	CHECK(strstr(html, "<form method=\"get\" action=\"/verify\">") != NULL);
	CHECK(strstr(html, "<form method=\"post\" action=\"/verify\" enctype=\"multipart/form-data\">") != NULL);
	CHECK(strstr(html, "name=\"number\" type=\"text\"") != NULL && strstr(html, "data-testid=\"verify-number-input\"") != NULL);
	CHECK(strstr(html, "name=\"credential\" type=\"file\"") != NULL && strstr(html, "data-testid=\"verify-file-input\"") != NULL);
	CHECK(strstr(html, "data-testid=\"verify-submit-number\"") != NULL);
	CHECK(strstr(html, "data-testid=\"verify-submit-file\"") != NULL);
	free(html);

	html = pages_render_message("Not found <x>", "no \"such\" page", &len);
	self_contained(html);
	CHECK(strstr(html, "<title>Not found &lt;x&gt;</title>") != NULL && strstr(html, "no &quot;such&quot; page") != NULL);
	free(html);
}

int
main(void)
{
	test_escaping();
	test_formats();
	test_qr();
	test_forms();
	test_render();
	printf("pages_test: ok\n");
	return 0;
}
