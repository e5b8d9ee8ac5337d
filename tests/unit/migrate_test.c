/*
 * migrate_test.c - migration_set_load without a database: ordering,
 * checksums, file-name rules, a missing directory.
 */
#include <sys/wait.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vledger/log.h"
#include "vledger/migrate.h"

static int failures;

#define CHECK(cond) do {							\
	if (!(cond)) {								\
		fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		failures++;							\
	}									\
} while (0)

static void
write_file(const char *dir, const char *name, const char *content)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		perror(path);
		exit(1);
	}
	fputs(content, f);
	fclose(f);
	free(path);
}

static char *
make_dir(void)
{
	char tmpl[] = "/tmp/vledger-migrate-test.XXXXXX";

	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	return xstrdup(tmpl);
}

static void
remove_dir(char *dir)
{
	char *cmd_args[] = { "rm", "-rf", "--", dir, NULL };
	pid_t pid = fork();

	if (pid == 0) {
		execvp("rm", cmd_args);
		_exit(127);
	}
	while (pid > 0 && waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
	free(dir);
}

static void
test_order_and_checksum(void)
{
	struct migration_set set;
	struct vl_error err = { 0 };
	char *dir = make_dir();

	/* Created out of order; readdir order is arbitrary anyway. */
	write_file(dir, "010_later.sql", "SELECT 10;\n");
	write_file(dir, "002_second.sql", "SELECT 2;\n");
	write_file(dir, "001_first.sql", "abc");
	write_file(dir, "README.md", "not a migration");
	write_file(dir, "notes.txt", "ignored");

	CHECK(migration_set_load(dir, &set, &err));
	CHECK(set.count == 3);
	if (set.count == 3) {
		CHECK(strcmp(set.items[0].name, "001_first.sql") == 0);
		CHECK(strcmp(set.items[1].name, "002_second.sql") == 0);
		CHECK(strcmp(set.items[2].name, "010_later.sql") == 0);
		CHECK(strcmp(set.items[0].sql, "abc") == 0);
		CHECK(strcmp(set.items[2].sql, "SELECT 10;\n") == 0);
		/* SHA-256("abc"), FIPS 180-2 appendix B.1. */
		CHECK(strcmp(set.items[0].checksum,
		    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
		CHECK(strlen(set.items[1].checksum) == 64);
	}
	migration_set_free(&set);
	CHECK(set.count == 0 && set.items == NULL);
	remove_dir(dir);
}

static void
test_empty_file_and_dir(void)
{
	struct migration_set set;
	struct vl_error err = { 0 };
	char *dir = make_dir();

	CHECK(migration_set_load(dir, &set, &err));
	CHECK(set.count == 0);
	migration_set_free(&set);

	write_file(dir, "001_empty.sql", "");
	CHECK(migration_set_load(dir, &set, &err));
	CHECK(set.count == 1);
	if (set.count == 1)
		/* SHA-256 of the empty string. */
		CHECK(strcmp(set.items[0].checksum,
		    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
	migration_set_free(&set);
	remove_dir(dir);
}

static void
check_bad_name(const char *name)
{
	struct migration_set set = { NULL, 0 };
	struct vl_error err = { 0 };
	char *dir = make_dir();

	write_file(dir, "001_ok.sql", "SELECT 1;");
	write_file(dir, name, "SELECT 2;");
	CHECK(!migration_set_load(dir, &set, &err));
	CHECK(err.code == VL_FAILED_PRECONDITION);
	CHECK(strstr(err.message, name) != NULL);
	if (strstr(err.message, name) == NULL)
		fprintf(stderr, "  (name %s, message: %s)\n", name, err.message);
	CHECK(set.count == 0 && set.items == NULL);
	remove_dir(dir);
}

static void
test_bad_names(void)
{
	check_bad_name("1_short.sql");
	check_bad_name("0001_four_digits.sql");
	check_bad_name("002-dash.sql");
	check_bad_name("002_Upper.sql");
	check_bad_name("002_.sql");
	check_bad_name("002_space here.sql");
	check_bad_name("schema.sql");
}

static void
test_duplicate_number(void)
{
	struct migration_set set = { NULL, 0 };
	struct vl_error err = { 0 };
	char *dir = make_dir();

	write_file(dir, "003_a.sql", "SELECT 1;");
	write_file(dir, "003_b.sql", "SELECT 2;");
	CHECK(!migration_set_load(dir, &set, &err));
	CHECK(err.code == VL_FAILED_PRECONDITION);
	CHECK(strstr(err.message, "003_a.sql") != NULL && strstr(err.message, "003_b.sql") != NULL);
	remove_dir(dir);
}

static void
test_missing_dir(void)
{
	struct migration_set set = { NULL, 0 };
	struct vl_error err = { 0 };

	CHECK(!migration_set_load("/nonexistent/vledger/sql", &set, &err));
	CHECK(err.code == VL_FAILED_PRECONDITION);
	CHECK(strstr(err.message, "/nonexistent/vledger/sql") != NULL);
	CHECK(strstr(err.message, "No such file") != NULL);
	CHECK(set.count == 0 && set.items == NULL);
}

/* The project's own sql/ directory must always load. */
static void
test_project_sql(void)
{
	struct migration_set set = { NULL, 0 };
	struct vl_error err = { 0 };
	char *dir = xasprintf("%s/sql", VLEDGER_SOURCE_DIR);

	if (access(dir, F_OK) == 0) {
		CHECK(migration_set_load(dir, &set, &err));
		if (err.code != VL_OK)
			fprintf(stderr, "  sql/: %s\n", err.message);
		migration_set_free(&set);
	}
	free(dir);
}

int
main(void)
{
	test_order_and_checksum();
	test_empty_file_and_dir();
	test_bad_names();
	test_duplicate_number();
	test_missing_dir();
	test_project_sql();
	if (failures != 0) {
		fprintf(stderr, "migrate_test: %d failure(s)\n", failures);
		return 1;
	}
	printf("migrate_test: ok\n");
	return 0;
}
