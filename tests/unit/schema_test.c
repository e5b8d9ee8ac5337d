/*
 * schema_test.c - json_name and NO_SIDE_EFFECTS lookups against the real
 * embedded descriptor set and the test one.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec_test.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"
#include "vledger/schema.h"
#include "vledger/v1/admin.pb-c.h"

#include "check.h"

extern const unsigned char test_descriptor_set[];
extern const size_t test_descriptor_set_len;

#define CHECK_STR(got, want) do { \
	const char *g_ = (got), *w_ = (want); \
	if (g_ == NULL || strcmp(g_, w_) != 0) { \
		fprintf(stderr, "%s:%d: got \"%s\", want \"%s\"\n", __FILE__, __LINE__, \
		    g_ != NULL ? g_ : "(null)", w_); \
		exit(1); \
	} \
} while (0)

static const char *
json_name(const struct schema *s, const ProtobufCMessageDescriptor *d, const char *field)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, field);

	CHECK(f != NULL);
	return schema_json_name(s, d, f);
}

static void
test_vledger(void)
{
	struct schema *s = NULL;
	struct vl_error err = { 0 };

	CHECK(schema_load(vledger_descriptor_set, vledger_descriptor_set_len, &s, &err));
	CHECK(s != NULL);

	CHECK_STR(json_name(s, &vledger__v1__organization__descriptor, "parent_id"), "parentId");
	CHECK_STR(json_name(s, &vledger__v1__organization__descriptor, "create_time"), "createTime");
	CHECK_STR(json_name(s, &vledger__v1__organization__descriptor, "id"), "id");
	CHECK_STR(json_name(s, &vledger__v1__list_organizations_response__descriptor, "next_page_token"),
	    "nextPageToken");
	CHECK_STR(json_name(s, &vledger__v1__create_token_request__descriptor, "idempotency_key"),
	    "idempotencyKey");
	/* Imported files are in the set too. */
	CHECK_STR(json_name(s, &google__protobuf__timestamp__descriptor, "seconds"), "seconds");

	CHECK(schema_method_no_side_effects(s, "vledger.v1.AdminService", "GetOrganization"));
	CHECK(schema_method_no_side_effects(s, "vledger.v1.AdminService", "ListOrganizations"));
	CHECK(schema_method_no_side_effects(s, "vledger.v1.AdminService", "ListTokens"));
	CHECK(!schema_method_no_side_effects(s, "vledger.v1.AdminService", "CreateOrganization"));
	CHECK(!schema_method_no_side_effects(s, "vledger.v1.AdminService", "CreateToken"));
	CHECK(!schema_method_no_side_effects(s, "vledger.v1.AdminService", "RevokeToken"));
	CHECK(!schema_method_no_side_effects(s, "vledger.v1.AdminService", "NoSuchMethod"));
	CHECK(!schema_method_no_side_effects(s, "vledger.v1.AdminServic", "GetOrganization"));
	CHECK(!schema_method_no_side_effects(s, "vledger.v1.AdminServiceX", "GetOrganization"));
	CHECK(!schema_method_no_side_effects(s, "AdminService", "GetOrganization"));
	CHECK(!schema_method_no_side_effects(s, "vledger.v1.AdminService/GetOrganization", ""));
	CHECK(!schema_method_no_side_effects(s, "grpc.health.v1.Health", "Check"));
	CHECK(!schema_method_no_side_effects(NULL, "vledger.v1.AdminService", "GetOrganization"));

	schema_free(s);
}

static void
test_test_proto(void)
{
	struct schema *s = NULL;
	struct vl_error err = { 0 };

	CHECK(schema_load(test_descriptor_set, test_descriptor_set_len, &s, &err));
	CHECK_STR(json_name(s, &vledger__test__all_kinds__descriptor, "custom_name"), "renamedField");
	CHECK_STR(json_name(s, &vledger__test__all_kinds__descriptor, "f_int32"), "fInt32");
	CHECK_STR(json_name(s, &vledger__test__all_kinds__descriptor, "r_message"), "rMessage");
	/* Nested messages: full name vledger.test.Outer.Nested. */
	CHECK_STR(json_name(s, &vledger__test__outer__nested__descriptor, "deep_value"), "deepRenamed");
	CHECK_STR(json_name(s, &vledger__test__outer__descriptor, "nested_field"), "nestedField");
	/* A message the schema does not know falls back to lowerCamelCase. */
	CHECK_STR(json_name(s, &vledger__v1__organization__descriptor, "parent_id"), "parentId");
	CHECK(!schema_method_no_side_effects(s, "vledger.v1.AdminService", "GetOrganization"));
	schema_free(s);
}

static void *
fallback_thread(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 1000; i++) {
		const char *a = json_name(NULL, &vledger__test__all_kinds__descriptor, "custom_name");
		const char *b = json_name(NULL, &vledger__v1__token__descriptor, "organization_id");

		if (strcmp(a, "customName") != 0 || strcmp(b, "organizationId") != 0)
			return (void *)1;
	}
	return NULL;
}

static void
test_fallback(void)
{
	pthread_t t[4];
	void *r;
	int i;
	const char *p1, *p2;

	/* No schema at all: protoc's rule (drop '_', upper-case what follows). */
	CHECK_STR(json_name(NULL, &vledger__test__all_kinds__descriptor, "custom_name"), "customName");
	CHECK_STR(json_name(NULL, &vledger__test__all_kinds__descriptor, "f_int32"), "fInt32");
	CHECK_STR(json_name(NULL, &vledger__test__all_kinds__descriptor, "c_text"), "cText");
	CHECK_STR(json_name(NULL, &grpc__health__v1__health_check_request__descriptor, "service"), "service");
	/* The same field gives the same (stable) string every time. */
	p1 = json_name(NULL, &vledger__v1__token__descriptor, "revoke_time");
	p2 = json_name(NULL, &vledger__v1__token__descriptor, "revoke_time");
	CHECK(p1 == p2);
	CHECK_STR(p1, "revokeTime");

	for (i = 0; i < 4; i++)
		CHECK(pthread_create(&t[i], NULL, fallback_thread, NULL) == 0);
	for (i = 0; i < 4; i++) {
		CHECK(pthread_join(t[i], &r) == 0);
		CHECK(r == NULL);
	}
}

static void
test_malformed(void)
{
	static const uint8_t garbage[] = { 0x0a, 0x05, 0x01 };
	struct schema *s = (struct schema *)1;
	struct vl_error err = { 0 };

	CHECK(!schema_load(garbage, sizeof(garbage), &s, &err));
	CHECK(s == NULL && err.code == VL_INVALID_ARGUMENT);
	CHECK_STR(err.message, "malformed FileDescriptorSet");
	/* An empty set is valid and knows nothing. */
	CHECK(schema_load(garbage, 0, &s, &err));
	CHECK_STR(json_name(s, &vledger__v1__organization__descriptor, "parent_id"), "parentId");
	CHECK(!schema_method_no_side_effects(s, "vledger.v1.AdminService", "GetOrganization"));
	schema_free(s);
	schema_free(NULL);
}

int
main(void)
{
	test_vledger();
	test_test_proto();
	test_fallback();
	test_malformed();
	printf("schema_test: ok\n");
	return 0;
}
