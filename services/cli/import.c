/*
 * import.c - `vledger import-shifts`: record the shifts of a spreadsheet
 * export through RecordsService/RecordShift, each row once however often
 * the file is imported.
 *
 * The file is CSV as in RFC 4180 (quoted fields with "" escapes, commas and
 * line breaks inside quotes, CRLF or LF), UTF-8 with or without a BOM, and
 * a header row naming the columns in any order, in English or Chinese. The
 * whole file is read and parsed before anything is sent, so a broken header
 * or an unterminated quote sends nothing.
 *
 * Each row's idempotency key is "import-" and the first 32 hex digits of
 * SHA-256 over its normalised values (fixed field order, joined by 0x1F):
 * the same row gives the same key in any position, with either header
 * language, any accepted spelling of its category and time, CRLF or LF; a
 * changed row gives a new key. So a re-run records nothing twice, provided
 * it uses a token of the same principal (keys belong to the token).
 *
 * "already recorded" is told apart from "recorded" by the receipt: an
 * entry whose leaf index is below the log's size when the run began was
 * written before it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "cli.h"
#include "vledger/codec.h"
#include "vledger/log.h"

enum column {
	COL_VOLUNTEER,
	COL_ORGANIZATION,
	COL_CATEGORY,
	COL_START,
	COL_END,
	COL_ACTIVITY,
	COL_PLACE,
	COL_GRID,
	COL_BENEFICIARY,
	COL_ROLE,
	COL_NOTE,
	NCOLUMNS
};

/* In key order: never reorder (it would change every row's key). */
static const struct {
	const char *json; /* RecordShiftRequest's JSON name, the English header */
	const char *zh;   /* the Chinese header */
	bool required;
} columns[NCOLUMNS] = {
	{ "volunteerId", "志愿者编号", true },
	{ "organizationId", "组织编号", true },
	{ "category", "服务类别", true },
	{ "startTime", "开始时间", true },
	{ "endTime", "结束时间", true },
	{ "activity", "活动名称", true },
	{ "place", "服务地点", true },
	{ "grid", "网格", false },
	{ "beneficiary", "服务对象", false },
	{ "role", "岗位", false },
	{ "note", "备注", false },
};

static const struct {
	const char *name;     /* after "SHIFT_CATEGORY_" */
	const char *labels[3];
} categories[] = {
	{ "BUILDING_SWEEP", { "楼栋清扫" } },
	{ "TESTING_SITE", { "核酸检测点", "检测点秩序" } },
	{ "SUPPLY_DELIVERY", { "物资配送" } },
	{ "ELDERLY_CARE", { "关爱老人", "独居老人照护" } },
	{ "DISINFECTION", { "消杀" } },
	{ "PUBLICITY", { "宣传" } },
	{ "MEDIATION", { "调解" } },
	{ "PSYCHOLOGICAL_SUPPORT", { "心理疏导" } },
	{ "OTHER", { "其他" } },
};

#define NCATEGORIES (sizeof(categories) / sizeof(categories[0]))
#define KEY_PREFIX "import-"
#define IDEOGRAPHIC_SPACE "\xE3\x80\x80" /* U+3000 */

/* ---- CSV ------------------------------------------------------------- */

struct record {
	char **fields;
	size_t *lens; /* a field may hold a NUL byte; checked with the UTF-8 */
	size_t n;
	size_t line;  /* where it starts */
	const char *malformed; /* a quoting problem, or NULL */
};

struct buf {
	char *s;
	size_t len, cap;
};

static void
buf_put(struct buf *b, char c)
{
	if (b->len + 1 >= b->cap) {
		b->cap = b->cap == 0 ? 32 : b->cap * 2;
		b->s = xrealloc(b->s, b->cap);
	}
	b->s[b->len++] = c;
	b->s[b->len] = '\0';
}

static void
record_add(struct record *r, struct buf *field)
{
	r->fields = xrealloc(r->fields, (r->n + 1) * sizeof(*r->fields));
	r->lens = xrealloc(r->lens, (r->n + 1) * sizeof(*r->lens));
	r->fields[r->n] = field->s != NULL ? field->s : xstrdup("");
	r->lens[r->n] = field->len;
	r->n++;
	memset(field, 0, sizeof(*field));
}

static void
record_free(struct record *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->fields[i]);
	free(r->fields);
	free(r->lens);
	memset(r, 0, sizeof(*r));
}

/* Reads the record at *pos. Returns 1 with a record, 0 at the end of the
 * input, -1 on an unterminated quote (which would swallow the rest of the
 * file; *error_line is where the field began). */
static int
csv_next(const char *in, size_t len, size_t *pos, size_t *line, struct record *r, size_t *error_line)
{
	size_t p = *pos;
	struct buf field;

	memset(r, 0, sizeof(*r));
	if (p >= len)
		return 0;
	r->line = *line;
	memset(&field, 0, sizeof(field));
	for (;;) {
		if (p < len && in[p] == '"') {
			size_t start_line = *line;

			for (p++;; p++) {
				if (p >= len) {
					free(field.s);
					record_free(r);
					*error_line = start_line;
					return -1;
				}
				if (in[p] == '"') {
					if (p + 1 < len && in[p + 1] == '"') {
						buf_put(&field, '"');
						p++;
						continue;
					}
					p++;
					break;
				}
				if (in[p] == '\n')
					(*line)++;
				buf_put(&field, in[p]);
			}
			/* Only a separator may follow the closing quote; keep the
			 * rest of the field, but the row is not trusted. */
			if (p < len && in[p] != ',' && in[p] != '\n' && !(in[p] == '\r' && (p + 1 == len || in[p + 1] == '\n')))
				r->malformed = "text after a closing quote";
		}
		while (p < len && in[p] != ',' && in[p] != '\n' && !(in[p] == '\r' && (p + 1 == len || in[p + 1] == '\n'))) {
			if (in[p] == '"' && r->malformed == NULL)
				r->malformed = "a quote inside an unquoted field (quote the whole field and double the quote)";
			buf_put(&field, in[p++]);
		}
		record_add(r, &field);
		if (p < len && in[p] == ',') {
			p++;
			continue;
		}
		if (p < len && in[p] == '\r')
			p++;
		if (p < len && in[p] == '\n') {
			p++;
			(*line)++;
		}
		break;
	}
	*pos = p;
	return 1;
}

/* ---- values ---------------------------------------------------------- */

/* Trims ASCII white space and U+3000 (ideographic space) at both ends and
 * turns CRLF (and lone CR) into LF, in place. */
static void
normalise(char *s)
{
	char *r = s, *w = s, *start, *end;

	for (; *r != '\0'; r++) {
		if (*r == '\r') {
			*w++ = '\n';
			if (r[1] == '\n')
				r++;
		} else
			*w++ = *r;
	}
	*w = '\0';
	start = s;
	for (;;) {
		if (*start == ' ' || *start == '\t' || *start == '\n')
			start++;
		else if (strncmp(start, IDEOGRAPHIC_SPACE, 3) == 0)
			start += 3;
		else
			break;
	}
	end = start + strlen(start);
	for (;;) {
		if (end > start && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n'))
			end--;
		else if (end - start >= 3 && memcmp(end - 3, IDEOGRAPHIC_SPACE, 3) == 0)
			end -= 3;
		else
			break;
	}
	memmove(s, start, (size_t)(end - start));
	s[end - start] = '\0';
}

/* The canonical enum name for a category as written, or NULL. */
static const char *
category_parse(const char *s, char out[64])
{
	size_t i, j;

	for (i = 0; i < NCATEGORIES; i++) {
		const char *name = categories[i].name;

		if ((strncasecmp(s, "SHIFT_CATEGORY_", 15) == 0 && strcasecmp(s + 15, name) == 0) || strcasecmp(s, name) == 0)
			goto found;
		for (j = 0; j < 3 && categories[i].labels[j] != NULL; j++)
			if (strcmp(s, categories[i].labels[j]) == 0)
				goto found;
		continue;
found:
		snprintf(out, 64, "SHIFT_CATEGORY_%s", name);
		return out;
	}
	return NULL;
}

static bool
digits(const char **s, int min, int max, int *out)
{
	int n = 0, v = 0;

	while (**s >= '0' && **s <= '9' && n < max) {
		v = v * 10 + (*(*s)++ - '0');
		n++;
	}
	*out = v;
	return n >= min && !(**s >= '0' && **s <= '9');
}

/* RFC 3339 with an offset, or "YYYY-MM-DD HH:MM[:SS]" (also with 'T', '/'
 * between the date's parts and one-digit month, day and hour, as
 * spreadsheets write them) in China Standard Time, +08:00. On success
 * `canon` is the RFC 3339 UTC form. */
static bool
time_parse(const char *s, int64_t *seconds, int32_t *nanos, char canon[40])
{
	int year, mon, day, hour, min, sec = 0;
	char sep, *text;
	const char *p = s, *frac = "";
	size_t frac_len = 0;
	bool ok;

	if (!codec_timestamp_parse(s, seconds, nanos)) {
		if (!digits(&p, 4, 4, &year) || (*p != '-' && *p != '/'))
			return false;
		sep = *p++;
		if (!digits(&p, 1, 2, &mon) || *p++ != sep || !digits(&p, 1, 2, &day) || (*p != ' ' && *p != 'T'))
			return false;
		p++;
		if (!digits(&p, 1, 2, &hour) || *p++ != ':' || !digits(&p, 2, 2, &min))
			return false;
		if (*p == ':') {
			p++;
			if (!digits(&p, 2, 2, &sec))
				return false;
			if (*p == '.') {
				frac = p;
				for (frac_len = 1; p[frac_len] >= '0' && p[frac_len] <= '9'; frac_len++)
					;
				p += frac_len;
			}
		}
		if (year < 1000 || mon > 99 || day > 99 || hour > 99)
			return false;
		/* Any offset written after a spreadsheet-style time is kept. */
		text = xasprintf("%04d-%02d-%02dT%02d:%02d:%02d%.*s%s", year, mon, day, hour, min, sec, (int)frac_len,
		    frac, *p == '\0' ? "+08:00" : p);
		ok = codec_timestamp_parse(text, seconds, nanos);
		free(text);
		if (!ok)
			return false;
	}
	codec_timestamp_format(*seconds, *nanos, canon);
	return true;
}

/* ---- rows ------------------------------------------------------------ */

struct row {
	size_t number; /* the spreadsheet's row number: the header is row 1 */
	bool skip;     /* blank */
	char *values[NCOLUMNS];
	char category[64];
	char start[40], end[40];
	long minutes;
	char key[sizeof(KEY_PREFIX) + 32];
	char *code, *message; /* rejected locally */
};

static void
row_reject(struct row *row, const char *code, const char *fmt, ...) VL_PRINTF(3, 4);

static void
row_reject(struct row *row, const char *code, const char *fmt, ...)
{
	va_list ap;
	char text[512];

	if (row->code != NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	row->code = xstrdup(code);
	row->message = xstrdup(text);
}

static void
row_key(struct row *row)
{
	static const char hex[] = "0123456789abcdef";
	const char *parts[NCOLUMNS];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	char *joined;
	size_t total = 0, i, at = 0;

	for (i = 0; i < NCOLUMNS; i++) {
		parts[i] = i == COL_CATEGORY ? row->category : i == COL_START ? row->start : i == COL_END ? row->end :
		    row->values[i] != NULL ? row->values[i] : "";
		total += strlen(parts[i]) + 1;
	}
	joined = xmalloc(total);
	for (i = 0; i < NCOLUMNS; i++) {
		size_t n = strlen(parts[i]);

		memcpy(joined + at, parts[i], n);
		at += n;
		if (i + 1 < NCOLUMNS)
			joined[at++] = 0x1F;
	}
	if (EVP_Digest(joined, at, md, &md_len, EVP_sha256(), NULL) != 1)
		fatalx("import: SHA-256 failed");
	free(joined);
	memcpy(row->key, KEY_PREFIX, sizeof(KEY_PREFIX) - 1);
	for (i = 0; i < 16; i++) {
		row->key[sizeof(KEY_PREFIX) - 1 + 2 * i] = hex[md[i] >> 4];
		row->key[sizeof(KEY_PREFIX) - 1 + 2 * i + 1] = hex[md[i] & 15];
	}
	row->key[sizeof(KEY_PREFIX) - 1 + 32] = '\0';
}

/* Fills `row` from record `r` under the header's column map (map[i] is
 * the column of field i, or -1 for a column without a header). */
static void
row_build(struct row *row, struct record *r, const int *map, size_t header_n)
{
	int64_t start_s, end_s;
	int32_t start_n, end_n;
	size_t i;
	bool blank = true;

	for (i = 0; i < r->n; i++)
		if (r->lens[i] > 0 && strspn(r->fields[i], " \t\r\n") != r->lens[i])
			blank = false;
	if (blank) {
		row->skip = true;
		return;
	}
	if (r->malformed != NULL)
		row_reject(row, "invalid_argument", "CSV: %s (line %zu)", r->malformed, r->line);
	if (r->n != header_n)
		row_reject(row, "invalid_argument", "the row has %zu fields, the header %zu", r->n, header_n);
	if (row->code != NULL)
		return;
	for (i = 0; i < r->n; i++) {
		const char *what = map[i] >= 0 ? columns[map[i]].json : NULL;

		if (!codec_utf8_valid(r->fields[i], r->lens[i]) || strlen(r->fields[i]) != r->lens[i]) {
			if (what != NULL)
				row_reject(row, "invalid_argument", "%s: not valid UTF-8 (save the sheet as \"CSV UTF-8\")",
				    what);
			else
				row_reject(row, "invalid_argument", "column %zu: not valid UTF-8 (save the sheet as \"CSV UTF-8\")",
				    i + 1);
			return;
		}
		normalise(r->fields[i]);
		if (map[i] < 0) {
			if (r->fields[i][0] != '\0')
				row_reject(row, "invalid_argument", "column %zu has no header but a value", i + 1);
			continue;
		}
		row->values[map[i]] = r->fields[i];
	}
	if (row->code != NULL)
		return;
	for (i = 0; i < NCOLUMNS; i++)
		if (columns[i].required && (row->values[i] == NULL || row->values[i][0] == '\0')) {
			row_reject(row, "invalid_argument", "%s: required", columns[i].json);
			return;
		}
	if (category_parse(row->values[COL_CATEGORY], row->category) == NULL) {
		row_reject(row, "invalid_argument", "category: unknown category \"%s\" (a SHIFT_CATEGORY_ name, its short"
		    " form such as elderly_care, or a label such as 关爱老人)", row->values[COL_CATEGORY]);
		return;
	}
	if (!time_parse(row->values[COL_START], &start_s, &start_n, row->start)) {
		row_reject(row, "invalid_argument", "startTime: \"%s\" is not RFC 3339 (2022-04-06T09:00:00+08:00) nor"
		    " YYYY-MM-DD HH:MM[:SS] (China Standard Time)", row->values[COL_START]);
		return;
	}
	if (!time_parse(row->values[COL_END], &end_s, &end_n, row->end)) {
		row_reject(row, "invalid_argument", "endTime: \"%s\" is not RFC 3339 (2022-04-06T09:00:00+08:00) nor"
		    " YYYY-MM-DD HH:MM[:SS] (China Standard Time)", row->values[COL_END]);
		return;
	}
	if (end_s < start_s || (end_s == start_s && end_n <= start_n)) {
		row_reject(row, "invalid_argument", "endTime: must be after startTime");
		return;
	}
	row->minutes = (long)((end_s - start_s) / 60);
	row_key(row);
}

static char *
request_json(const struct row *row)
{
	json_t *req = json_object();
	char *text;
	size_t i;

	for (i = 0; i < NCOLUMNS; i++) {
		const char *v = i == COL_CATEGORY ? row->category : i == COL_START ? row->start : i == COL_END ?
		    row->end : row->values[i];

		if (v != NULL && v[0] != '\0')
			json_object_set_new(req, columns[i].json, json_string(v));
	}
	json_object_set_new(req, "idempotencyKey", json_string(row->key));
	text = json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(req);
	if (text == NULL)
		fatalx("import: cannot encode a request");
	return text;
}

static bool
json_u64(const json_t *v, uint64_t *out)
{
	char *end;

	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return true;
	}
	if (json_is_string(v) && json_string_value(v)[0] != '\0') {
		errno = 0;
		*out = strtoull(json_string_value(v), &end, 10);
		return *end == '\0' && errno == 0;
	}
	if (v == NULL) {
		*out = 0; /* proto3 JSON omits zero */
		return true;
	}
	return false;
}

/* The log's size now, or false. */
static bool
tree_size(const struct http_url *url, uint64_t *size)
{
	char *response = NULL;
	json_t *doc;
	bool ok = false;
	int status;

	status = cli_call_json(url, "vledger.v1.LogService/GetCheckpoint", NULL, "{}", &response);
	if (status == 200 && (doc = json_loads(response, 0, NULL)) != NULL) {
		ok = json_u64(json_object_get(doc, "treeSize"), size);
		json_decref(doc);
	}
	free(response);
	return ok;
}

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: vledger [--url URL] [--token-file FILE] import-shifts [--url URL] [--token-file FILE]\n"
	    "           [--insecure] [--dry-run] FILE.csv\n"
	    "FILE.csv: UTF-8 CSV with a header row; '-' reads stdin. Columns (English or Chinese header):\n"
	    "  volunteerId 志愿者编号, organizationId 组织编号, category 服务类别, startTime 开始时间,\n"
	    "  endTime 结束时间, activity 活动名称, place 服务地点 (required); grid 网格, beneficiary 服务对象,\n"
	    "  role 岗位, note 备注 (optional). Times: RFC 3339 with an offset, or YYYY-MM-DD HH:MM[:SS]\n"
	    "  in China Standard Time (+08:00).\n"
	    "--dry-run checks every row locally and sends nothing.\n"
	    "exit status: 0 every row recorded, 1 some row rejected, 2 usage, file or connection trouble\n");
}

int
cli_import_shifts(const struct http_url *global_url, const char *global_token_file, int argc, char **argv)
{
	const char *token_file = global_token_file, *path = NULL;
	struct http_url url = *global_url;
	struct record header, rec;
	struct row *rows = NULL;
	size_t nrows = 0, len = 0, pos = 0, line = 1, error_line = 0, i, j, count = 0;
	size_t recorded = 0, already = 0, rejected = 0, valid = 0, total = 0;
	char *input = NULL, *token = NULL, **shift_ids = NULL;
	int *map = NULL, rc = 2, got, a;
	int seen[NCOLUMNS];
	uint64_t size_before = 0;
	bool dry_run = false, have_size = false, insecure = global_url->insecure;
	char *unknown = NULL, *missing = NULL;

	for (a = 0; a < argc; a++) {
		if (strcmp(argv[a], "--dry-run") == 0)
			dry_run = true;
		else if (strcmp(argv[a], "--insecure") == 0)
			insecure = true;
		else if (strcmp(argv[a], "--url") == 0 && a + 1 < argc) {
			if (!http_url_parse(argv[++a], &url)) {
				fprintf(stderr, "vledger: --url: expected http://HOST[:PORT] or https://..., got \"%s\"\n",
				    argv[a]);
				return 2;
			}
		} else if (strcmp(argv[a], "--token-file") == 0 && a + 1 < argc)
			token_file = argv[++a];
		else if (strcmp(argv[a], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strncmp(argv[a], "--", 2) == 0 || path != NULL) {
			fprintf(stderr, "vledger import-shifts: unexpected argument %s\n", argv[a]);
			usage(stderr);
			return 2;
		} else
			path = argv[a];
	}
	url.insecure = insecure;
	if (path == NULL) {
		usage(stderr);
		return 2;
	}

	input = read_file(path, &len);
	if (input == NULL) {
		fprintf(stderr, "vledger import-shifts: %s: %s\n", path, strerror(errno));
		return 2;
	}
	if (len >= 3 && memcmp(input, "\xEF\xBB\xBF", 3) == 0)
		pos = 3;

	/* The header. */
	got = csv_next(input, len, &pos, &line, &header, &error_line);
	if (got <= 0 || (header.n == 1 && header.lens[0] == 0)) {
		fprintf(stderr, "vledger import-shifts: %s: %s\n", path,
		    got < 0 ? "the header has an unterminated quote" : "empty file: expected a header row");
		goto out;
	}
	map = xcalloc(header.n, sizeof(*map));
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < header.n; i++) {
		char *name = header.fields[i];

		if (!codec_utf8_valid(name, header.lens[i]) || strlen(name) != header.lens[i]) {
			fprintf(stderr, "vledger import-shifts: %s: the header is not UTF-8; save the sheet as"
			    " \"CSV UTF-8\" (Excel: CSV UTF-8 (逗号分隔))\n", path);
			goto out;
		}
		normalise(name);
		map[i] = -1;
		if (name[0] == '\0')
			continue;
		for (j = 0; j < NCOLUMNS; j++)
			if (strcasecmp(name, columns[j].json) == 0 || strcmp(name, columns[j].zh) == 0)
				break;
		if (j == NCOLUMNS) {
			char *more = xasprintf("%s%s\"%s\"", unknown != NULL ? unknown : "", unknown != NULL ? ", " : "", name);

			free(unknown);
			unknown = more;
			continue;
		}
		if (seen[j]++ > 0) {
			fprintf(stderr, "vledger import-shifts: %s: column %s (%s) appears twice in the header\n", path,
			    columns[j].json, columns[j].zh);
			goto out;
		}
		map[i] = (int)j;
	}
	for (j = 0; j < NCOLUMNS; j++)
		if (columns[j].required && seen[j] == 0) {
			char *more = xasprintf("%s%s%s (%s)", missing != NULL ? missing : "", missing != NULL ? ", " : "",
			    columns[j].json, columns[j].zh);

			free(missing);
			missing = more;
		}
	if (unknown != NULL || missing != NULL) {
		if (unknown != NULL)
			fprintf(stderr, "vledger import-shifts: %s: unknown column%s %s\n", path,
			    strchr(unknown, ',') != NULL ? "s" : "", unknown);
		if (missing != NULL)
			fprintf(stderr, "vledger import-shifts: %s: missing required column%s %s\n", path,
			    strchr(missing, ',') != NULL ? "s" : "", missing);
		fprintf(stderr, "the columns are (English or Chinese header, any order):");
		for (j = 0; j < NCOLUMNS; j++)
			fprintf(stderr, "%s %s/%s%s", j > 0 ? "," : "", columns[j].json, columns[j].zh,
			    columns[j].required ? "" : " (optional)");
		fprintf(stderr, "\nnothing was imported\n");
		goto out;
	}

	/* Every row, before anything is sent. */
	for (;;) {
		got = csv_next(input, len, &pos, &line, &rec, &error_line);
		if (got == 0)
			break;
		if (got < 0) {
			fprintf(stderr, "vledger import-shifts: %s: unterminated quoted field starting on line %zu;"
			    " nothing was imported\n", path, error_line);
			goto out;
		}
		rows = xrealloc(rows, (nrows + 1) * sizeof(*rows));
		memset(&rows[nrows], 0, sizeof(*rows));
		rows[nrows].number = nrows + 2;
		row_build(&rows[nrows], &rec, map, header.n);
		/* The row keeps its values: steal them from the record. */
		for (i = 0; i < NCOLUMNS; i++)
			if (rows[nrows].values[i] != NULL)
				rows[nrows].values[i] = xstrdup(rows[nrows].values[i]);
		record_free(&rec);
		nrows++;
	}

	if (!dry_run) {
		token = load_token(token_file);
		if (token == NULL) {
			fprintf(stderr, "vledger import-shifts: needs a token: --token-file FILE or $VLEDGER_TOKEN\n");
			goto out;
		}
		/* Also checks that the server is there before the first row. */
		if (!tree_size(&url, &size_before)) {
			fprintf(stderr, "vledger import-shifts: cannot read the log's checkpoint at the server; nothing"
			    " was imported\n");
			goto out;
		}
		have_size = true;
	}
	shift_ids = xcalloc(nrows + 1, sizeof(*shift_ids));
	for (i = 0; i < nrows; i++)
		total += !rows[i].skip;

	rc = 0;
	for (i = 0; i < nrows; i++) {
		struct row *row = &rows[i];
		char *body, *response = NULL;
		json_t *doc;
		int status;

		if (row->skip)
			continue;
		count++;
		if (row->code != NULL) {
			printf("row %zu: rejected: %s: %s\n", row->number, row->code, row->message);
			rejected++;
			continue;
		}
		/* The same row twice in the file: one shift. */
		for (j = 0; j < i; j++)
			if (!rows[j].skip && rows[j].code == NULL && strcmp(rows[j].key, row->key) == 0)
				break;
		if (j < i) {
			if (dry_run) {
				printf("row %zu: valid, the same as row %zu\n", row->number, rows[j].number);
				valid++;
			} else if (shift_ids[j] != NULL) {
				printf("row %zu: already recorded %s (the same as row %zu)\n", row->number, shift_ids[j],
				    rows[j].number);
				already++;
			} else {
				printf("row %zu: rejected: the same as row %zu\n", row->number, rows[j].number);
				rejected++;
			}
			continue;
		}
		if (dry_run) {
			printf("row %zu: valid (%ld minutes)\n", row->number, row->minutes);
			valid++;
			continue;
		}

		body = request_json(row);
		status = cli_call_json(&url, "vledger.v1.RecordsService/RecordShift", token, body, &response);
		free(body);
		if (status < 0) {
			printf("row %zu: not sent: connection trouble; stopping here (re-run the file: recorded rows are"
			    " not recorded twice)\n", row->number);
			count--;
			free(response);
			rc = 2;
			break;
		}
		doc = json_loads(response, 0, NULL);
		if (status == 200 && doc != NULL && json_is_string(json_object_get(json_object_get(doc, "shift"), "id"))) {
			json_t *shift = json_object_get(doc, "shift");
			uint64_t leaf = 0;
			bool before = have_size && json_u64(json_object_get(json_object_get(doc, "receipt"), "leafIndex"),
			    &leaf) && leaf < size_before;
			json_int_t minutes = json_is_integer(json_object_get(shift, "minutes")) ?
			    json_integer_value(json_object_get(shift, "minutes")) : 0;

			shift_ids[i] = xstrdup(json_string_value(json_object_get(shift, "id")));
			printf("row %zu: %s %s (%" JSON_INTEGER_FORMAT " minutes)\n", row->number,
			    before ? "already recorded" : "recorded", shift_ids[i], minutes);
			if (before)
				already++;
			else
				recorded++;
		} else {
			const char *code = doc != NULL ? json_string_value(json_object_get(doc, "code")) : NULL;
			const char *message = doc != NULL ? json_string_value(json_object_get(doc, "message")) : NULL;

			if (code != NULL)
				printf("row %zu: rejected: %s: %s\n", row->number, code, message != NULL ? message : "");
			else
				printf("row %zu: rejected: HTTP %d%s%.200s\n", row->number, status,
				    response != NULL && response[0] != '\0' ? ": " : "", response != NULL ? response : "");
			rejected++;
			if (code != NULL && strcmp(code, "unauthenticated") == 0) {
				json_decref(doc);
				free(response);
				fprintf(stderr, "vledger import-shifts: the token was refused; stopping\n");
				rc = 2;
				break;
			}
		}
		json_decref(doc);
		free(response);
	}
	if (count < total)
		printf("stopped after %zu of %zu rows; the rest were not sent\n", count, total);
	if (dry_run)
		printf("%zu rows: %zu valid, %zu rejected (dry run: nothing sent)\n", count, valid, rejected);
	else if (already > 0)
		printf("%zu rows: %zu recorded, %zu already recorded, %zu rejected\n", count, recorded, already,
		    rejected);
	else
		printf("%zu rows: %zu recorded, %zu rejected\n", count, recorded, rejected);
	if (rc == 0 && rejected > 0)
		rc = 1;

out:
	for (i = 0; i < nrows; i++) {
		for (j = 0; j < NCOLUMNS; j++)
			free(rows[i].values[j]);
		free(rows[i].code);
		free(rows[i].message);
		if (shift_ids != NULL)
			free(shift_ids[i]);
	}
	free(rows);
	free(shift_ids);
	record_free(&header);
	free(map);
	free(unknown);
	free(missing);
	free(input);
	if (token != NULL) {
		OPENSSL_cleanse(token, strlen(token));
		free(token);
	}
	return rc;
}
