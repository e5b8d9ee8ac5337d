/*
 * tile_path.h - C2SP tlog-tiles resource paths.
 *
 *   tile/<L>/<N>[.p/<W>]        hashes: level L tile N (W of 256 for a partial tile)
 *   tile/entries/<N>[.p/<W>]    entry bundle N
 *
 * N is written in groups of three decimal digits, every group but the last
 * prefixed with "x": 1234067 -> "x001/x234/067", 5 -> "005". A tile holds
 * 256 items; a partial tile has width 1..255. Parsing is strict: a path has
 * exactly one spelling, so caches cannot hold two copies of a tile.
 */
#ifndef VLEDGER_TILE_PATH_H
#define VLEDGER_TILE_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TILE_WIDTH 256
#define TILE_HEIGHT 8  /* tree levels per tile level */

struct tile_ref {
	bool entries;     /* an entry bundle rather than a hash tile */
	unsigned level;   /* tile level (hash tiles only), 0..63 */
	uint64_t index;   /* N */
	unsigned width;   /* 1..256; 256 = full */
};

/* Parses the part after "tile/". Returns false for any other spelling. */
bool tile_path_parse(const char *path, struct tile_ref *out);

/* Writes "tile/..." for `ref` into buf; returns false if it does not fit. */
bool tile_path_format(const struct tile_ref *ref, char *buf, size_t len);

#endif
