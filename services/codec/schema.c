/*
 * schema.c - json_name and idempotency_level from the embedded
 * FileDescriptorSet.
 *
 * Everything is computed once in schema_load() into sorted arrays that are
 * only read afterwards, so lookups need no locking. The one mutable piece is
 * the fallback table for messages the schema does not know (or a NULL
 * schema): it is process-global, keyed by field descriptor address, grows
 * under a mutex and is never freed, because protobuf-c descriptors are static
 * and the names handed out must live as long as they do.
 */
#include "vledger/schema.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/descriptor.pb-c.h"
#include "vledger/log.h"

struct schema_field {
	uint32_t number;
	char *json_name;	/* owned */
};

struct schema_message {
	char *name;		/* owned; full name without the leading dot */
	struct schema_field *fields;	/* owned; sorted by number */
	size_t nfields;
};

struct schema {
	struct schema_message *messages;	/* owned; sorted by name */
	size_t nmessages;
	size_t capmessages;
	char **nse_methods;	/* owned; "pkg.Service/Method", sorted */
	size_t nnse_methods;
	size_t capnse_methods;
};

/* protoc's ToJsonName: drop each '_' and upper-case the letter after it. */
static char *
schema_lower_camel(const char *name)
{
	char *out, *p;
	bool up = false;

	out = p = xmalloc(strlen(name) + 1);
	for (; *name != '\0'; name++) {
		if (*name == '_') {
			up = true;
			continue;
		}
		if (up && *name >= 'a' && *name <= 'z')
			*p++ = (char)(*name - 'a' + 'A');
		else
			*p++ = *name;
		up = false;
	}
	*p = '\0';
	return out;
}

static int
schema_field_cmp(const void *a, const void *b)
{
	const struct schema_field *fa = a, *fb = b;

	return fa->number < fb->number ? -1 : fa->number > fb->number;
}

static int
schema_message_cmp(const void *a, const void *b)
{
	const struct schema_message *ma = a, *mb = b;

	return strcmp(ma->name, mb->name);
}

static int
schema_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds `msg` (whose full name is prefix + "." + its name) and its nested
 * messages. */
static void
schema_add_message(struct schema *s, const char *prefix, const Google__Protobuf__DescriptorProto *msg)
{
	struct schema_message *m;
	char *full;
	size_t i;

	if (msg->name == NULL)
		return;
	full = prefix[0] != '\0' ? xasprintf("%s.%s", prefix, msg->name) : xstrdup(msg->name);
	if (s->nmessages == s->capmessages) {
		s->capmessages = s->capmessages ? s->capmessages * 2 : 32;
		s->messages = xrealloc(s->messages, s->capmessages * sizeof(*s->messages));
	}
	m = &s->messages[s->nmessages++];
	m->name = full;
	m->nfields = 0;
	m->fields = xcalloc(msg->n_field, sizeof(*m->fields));
	for (i = 0; i < msg->n_field; i++) {
		const Google__Protobuf__FieldDescriptorProto *f = msg->field[i];

		if (f->name == NULL || !f->has_number)
			continue;
		m->fields[m->nfields].number = (uint32_t)f->number;
		/* protoc always fills json_name in descriptor sets; compute it
		 * for hand-made sets that lack it. */
		m->fields[m->nfields].json_name = f->json_name != NULL ? xstrdup(f->json_name) :
		    schema_lower_camel(f->name);
		m->nfields++;
	}
	qsort(m->fields, m->nfields, sizeof(*m->fields), schema_field_cmp);
	/* Nested messages may grow (and move) s->messages: `m` is dead from
	 * here on, `full` is not. */
	for (i = 0; i < msg->n_nested_type; i++)
		schema_add_message(s, full, msg->nested_type[i]);
}

static void
schema_add_service(struct schema *s, const char *package, const Google__Protobuf__ServiceDescriptorProto *svc)
{
	size_t i;

	if (svc->name == NULL)
		return;
	for (i = 0; i < svc->n_method; i++) {
		const Google__Protobuf__MethodDescriptorProto *m = svc->method[i];

		if (m->name == NULL || m->options == NULL || !m->options->has_idempotency_level ||
		    m->options->idempotency_level !=
		    GOOGLE__PROTOBUF__METHOD_OPTIONS__IDEMPOTENCY_LEVEL__NO_SIDE_EFFECTS)
			continue;
		if (s->nnse_methods == s->capnse_methods) {
			s->capnse_methods = s->capnse_methods ? s->capnse_methods * 2 : 16;
			s->nse_methods = xrealloc(s->nse_methods, s->capnse_methods * sizeof(*s->nse_methods));
		}
		s->nse_methods[s->nnse_methods++] = package[0] != '\0' ?
		    xasprintf("%s.%s/%s", package, svc->name, m->name) :
		    xasprintf("%s/%s", svc->name, m->name);
	}
}

bool
schema_load(const uint8_t *data, size_t len, struct schema **out, struct vl_error *err)
{
	Google__Protobuf__FileDescriptorSet *set;
	struct schema *s;
	size_t i, j, k;

	*out = NULL;
	set = google__protobuf__file_descriptor_set__unpack(NULL, len, data);
	if (set == NULL)
		return vl_error_set(err, VL_INVALID_ARGUMENT, "malformed FileDescriptorSet");
	s = xcalloc(1, sizeof(*s));
	for (i = 0; i < set->n_file; i++) {
		const Google__Protobuf__FileDescriptorProto *file = set->file[i];
		const char *package = file->package != NULL ? file->package : "";

		for (j = 0; j < file->n_message_type; j++)
			schema_add_message(s, package, file->message_type[j]);
		for (j = 0; j < file->n_service; j++)
			schema_add_service(s, package, file->service[j]);
	}
	google__protobuf__file_descriptor_set__free_unpacked(set, NULL);

	/* qsort and bsearch must not see the NULL of an empty array. */
	if (s->nmessages > 0)
		qsort(s->messages, s->nmessages, sizeof(*s->messages), schema_message_cmp);
	if (s->nnse_methods > 0)
		qsort(s->nse_methods, s->nnse_methods, sizeof(*s->nse_methods), schema_str_cmp);
	/* A set that names a message twice is malformed: keep the first so
	 * that bsearch finds a single answer. */
	for (i = 0, k = 0; i < s->nmessages; i++) {
		if (k > 0 && strcmp(s->messages[k - 1].name, s->messages[i].name) == 0) {
			for (j = 0; j < s->messages[i].nfields; j++)
				free(s->messages[i].fields[j].json_name);
			free(s->messages[i].fields);
			free(s->messages[i].name);
			continue;
		}
		s->messages[k++] = s->messages[i];
	}
	s->nmessages = k;
	*out = s;
	return true;
}

void
schema_free(struct schema *s)
{
	size_t i, j;

	if (s == NULL)
		return;
	for (i = 0; i < s->nmessages; i++) {
		for (j = 0; j < s->messages[i].nfields; j++)
			free(s->messages[i].fields[j].json_name);
		free(s->messages[i].fields);
		free(s->messages[i].name);
	}
	free(s->messages);
	for (i = 0; i < s->nnse_methods; i++)
		free(s->nse_methods[i]);
	free(s->nse_methods);
	free(s);
}

/* The fallback names: a chained hash table keyed by field descriptor. */
struct schema_fallback {
	const ProtobufCFieldDescriptor *field;
	char *json_name;
	struct schema_fallback *next;
};

#define SCHEMA_FALLBACK_BUCKETS 256
static struct schema_fallback *schema_fallback_table[SCHEMA_FALLBACK_BUCKETS];
static pthread_mutex_t schema_fallback_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *
schema_fallback_name(const ProtobufCFieldDescriptor *field)
{
	struct schema_fallback *e;
	size_t b = ((uintptr_t)field >> 4) % SCHEMA_FALLBACK_BUCKETS;
	const char *name;

	pthread_mutex_lock(&schema_fallback_lock);
	for (e = schema_fallback_table[b]; e != NULL; e = e->next)
		if (e->field == field)
			break;
	if (e == NULL) {
		e = xmalloc(sizeof(*e));
		e->field = field;
		e->json_name = schema_lower_camel(field->name);
		e->next = schema_fallback_table[b];
		schema_fallback_table[b] = e;
	}
	name = e->json_name;
	pthread_mutex_unlock(&schema_fallback_lock);
	return name;
}

const char *
schema_json_name(const struct schema *s, const ProtobufCMessageDescriptor *message,
    const ProtobufCFieldDescriptor *field)
{
	const struct schema_message *m;
	const struct schema_field *f;
	struct schema_message mkey;
	struct schema_field fkey;

	if (s != NULL && s->nmessages > 0 && message != NULL) {
		mkey.name = (char *)message->name;
		m = bsearch(&mkey, s->messages, s->nmessages, sizeof(*s->messages), schema_message_cmp);
		if (m != NULL) {
			fkey.number = field->id;
			f = bsearch(&fkey, m->fields, m->nfields, sizeof(*m->fields), schema_field_cmp);
			if (f != NULL)
				return f->json_name;
		}
	}
	/* Most names need no change: hand out the descriptor's own string. */
	if (strchr(field->name, '_') == NULL)
		return field->name;
	return schema_fallback_name(field);
}

/* Compares a (service, method) key with a stored "service/method" string
 * without building the joined key. */
struct schema_method_key {
	const char *service;
	const char *method;
};

static int
schema_method_cmp(const void *a, const void *b)
{
	const struct schema_method_key *k = a;
	const char *s = *(char *const *)b;
	size_t n = strlen(k->service);
	int c;

	if ((c = strncmp(k->service, s, n)) != 0)
		return c;
	if (s[n] != '/')
		return (int)(unsigned char)'/' - (int)(unsigned char)s[n];
	return strcmp(k->method, s + n + 1);
}

bool
schema_method_no_side_effects(const struct schema *s, const char *service_full_name, const char *method)
{
	struct schema_method_key key = { service_full_name, method };

	if (s == NULL || s->nnse_methods == 0 || service_full_name == NULL || method == NULL)
		return false;
	return bsearch(&key, s->nse_methods, s->nnse_methods, sizeof(*s->nse_methods),
	    schema_method_cmp) != NULL;
}
