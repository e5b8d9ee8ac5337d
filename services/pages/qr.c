/*
 * qr.c - QR codes as inline SVG, so that a certificate page needs no
 * image resource (its Content-Security-Policy allows none) and prints
 * sharply at any size.
 *
 * libqrencode does the encoding (version choice, Reed-Solomon, masking);
 * this file only draws its module matrix: one path, one subpath per
 * horizontal run of dark modules, which keeps the markup small (a typical
 * verification URL gives a 37x37 matrix).
 */
#include "vledger/pages.h"

#include <qrencode.h>

#include "vledger/log.h"

/* ISO/IEC 18004 asks for a light margin of 4 modules around the symbol;
 * scanners (zbar among them) miss codes without it. */
#define QUIET_ZONE 4

char *
qr_svg(const char *text, int px)
{
	struct html_buf b;
	QRcode *code;
	int size, x, y, run;

	/* Byte mode keeps the URL exactly as given (mixed case, '/', ':');
	 * level M survives a crease or a smudge on a printed page. */
	code = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
	if (code == NULL)
		return NULL;
	size = code->width + 2 * QUIET_ZONE;
	html_buf_init(&b);
	html_buf_rawf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"qr\" data-testid=\"qr\" role=\"img\""
	    " aria-label=\"二维码 QR code\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\""
	    " shape-rendering=\"crispEdges\"><rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
	    px, px, size, size, size, size);
	for (y = 0; y < code->width; y++) {
		for (x = 0; x < code->width; x += run > 0 ? run : 1) {
			run = 0;
			/* Bit 0 of each byte is the module's colour (1 = dark). */
			while (x + run < code->width && (code->data[y * code->width + x + run] & 1) != 0)
				run++;
			if (run > 0)
				html_buf_rawf(&b, "M%d %dh%dv1h-%dz", x + QUIET_ZONE, y + QUIET_ZONE, run, run);
		}
	}
	html_buf_raw(&b, "\"/></svg>");
	QRcode_free(code);
	return html_buf_take(&b, NULL);
}
