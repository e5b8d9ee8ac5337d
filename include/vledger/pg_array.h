/*
 * pg_array.h - PostgreSQL array literals for statement parameters.
 *
 * A batch of rows goes to the server as one parameter per column, each an
 * array that the statement unnests ("... FROM unnest($1::text[], ...)"):
 * one statement for the whole batch instead of one per row. The literals
 * are the server's text input format for arrays, built with every element
 * quoted, so any text value (commas, quotes, backslashes, braces, the word
 * NULL) round-trips. A NULL element pointer is SQL NULL.
 *
 * Each function returns a malloc'd, NUL-terminated string; the caller frees.
 */
#ifndef VLEDGER_PG_ARRAY_H
#define VLEDGER_PG_ARRAY_H

#include <stddef.h>
#include <stdint.h>

/* '{"a","b\"c",NULL}': for text[], and for any type whose text input the
 * elements already are (bigint[], int[], timestamptz[] ...). */
char *pg_text_array(const char *const *items, size_t count);

/* '{"\\x00ff...",...}': for bytea[]. lens[i] bytes of data[i]; lens NULL
 * means every item is `fixed_len` bytes. */
char *pg_bytea_array(const uint8_t *const *data, const size_t *lens, size_t fixed_len, size_t count);

#endif
