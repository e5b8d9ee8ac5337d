/*
 * tile_path_test.c - C2SP tlog-tiles path spelling, both ways.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vledger/tile_path.h"

#include "check.h"

static void
roundtrip(const char *path, int entries, unsigned level, unsigned long long index, unsigned width)
{
	struct tile_ref ref;
	char buf[128];

	if (!tile_path_parse(path, &ref)) {
		fprintf(stderr, "rejected valid path %s\n", path);
		exit(1);
	}
	CHECK(ref.entries == (entries != 0));
	CHECK(ref.level == level);
	CHECK(ref.index == index);
	CHECK(ref.width == width);
	CHECK(tile_path_format(&ref, buf, sizeof(buf)));
	CHECK(strncmp(buf, "tile/", 5) == 0);
	if (strcmp(buf + 5, path) != 0) {
		fprintf(stderr, "format(%s) = %s\n", path, buf);
		exit(1);
	}
}

int
main(void)
{
	static const char *const bad[] = {
		"", "0", "0/", "0/5", "0/05", "0/0005", "00/005", "01/005", "64/005", "0/x005", "0/x000/005",
		"0/005.p/0", "0/005.p/256", "0/005.p/", "0/005.p/01", "0/005/", "0/005x", "entries/",
		"entries/5", "entries/005.p/300", "a/005", "0/x001/x02/003", "0/x1000/005", "-1/005",
	};
	size_t i;
	struct tile_ref ref;

	roundtrip("0/000", 0, 0, 0, 256);
	roundtrip("0/005", 0, 0, 5, 256);
	roundtrip("1/x001/x234/067", 0, 1, 1234067, 256);
	roundtrip("2/x001/000.p/17", 0, 2, 1000, 17);
	roundtrip("entries/000.p/1", 1, 0, 0, 1);
	roundtrip("entries/x123/456", 1, 0, 123456, 256);
	roundtrip("63/999.p/255", 0, 63, 999, 255);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (tile_path_parse(bad[i], &ref)) {
			fprintf(stderr, "accepted invalid path \"%s\"\n", bad[i]);
			return 1;
		}
	}
	printf("tile_path_test: ok\n");
	return 0;
}
