/* node/buf.c -- bounded buffers: a hard maximum fixed at creation. */
#include "node/hie.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
hie_buf_init(hie_buf *b, size_t max)
{
	b->data = NULL;
	b->len  = 0;
	b->cap  = 0;
	b->max  = max;
}

static hie_err
buf_reserve(hie_buf *b, size_t extra)
{
	size_t need, ncap;
	char  *p;

	if (extra > b->max || b->len > b->max - extra)
		return HIE_ETOOBIG;
	need = b->len + extra + 1; /* room for the terminating NUL */
	if (need <= b->cap)
		return HIE_OK;
	ncap = b->cap != 0 ? b->cap : 256;
	while (ncap < need)
		ncap *= 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	if ((p = realloc(b->data, ncap)) == NULL)
		return HIE_ENOMEM;
	b->data = p;
	b->cap  = ncap;
	return HIE_OK;
}

hie_err
hie_buf_reserve(hie_buf *b, size_t n)
{
	return buf_reserve(b, n);
}

hie_err
hie_buf_add(hie_buf *b, const void *p, size_t n)
{
	hie_err e;

	if ((e = buf_reserve(b, n)) != HIE_OK)
		return e;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return HIE_OK;
}

hie_err
hie_buf_addstr(hie_buf *b, const char *s)
{
	return hie_buf_add(b, s, strlen(s));
}

hie_err
hie_buf_printf(hie_buf *b, const char *fmt, ...)
{
	va_list ap;
	int     n;
	hie_err e;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return HIE_EINVAL;
	if ((e = buf_reserve(b, (size_t) n)) != HIE_OK)
		return e;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t) n;
	return HIE_OK;
}

hie_err
hie_buf_json_str(hie_buf *b, const char *s)
{
	hie_err e = hie_buf_add(b, "\"", 1);

	for (const unsigned char *p = (const unsigned char *) s; e == HIE_OK && *p; p++) {
		switch (*p) {
		case '"':
			e = hie_buf_add(b, "\\\"", 2);
			break;
		case '\\':
			e = hie_buf_add(b, "\\\\", 2);
			break;
		case '\n':
			e = hie_buf_add(b, "\\n", 2);
			break;
		case '\r':
			e = hie_buf_add(b, "\\r", 2);
			break;
		case '\t':
			e = hie_buf_add(b, "\\t", 2);
			break;
		default:
			if (*p < 0x20)
				e = hie_buf_printf(b, "\\u%04x", *p);
			else
				e = hie_buf_add(b, p, 1);
		}
	}
	return e == HIE_OK ? hie_buf_add(b, "\"", 1) : e;
}

char *
hie_buf_take(hie_buf *b, size_t *len)
{
	char *p = b->data;

	if (len != NULL)
		*len = b->len;
	if (p == NULL)
		p = calloc(1, 1);
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void
hie_buf_free(hie_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

hie_err
hie_strlcpy(char *dst, const char *src, size_t cap)
{
	size_t n = strlen(src);

	if (cap == 0)
		return HIE_ETOOBIG;
	if (n >= cap) {
		memcpy(dst, src, cap - 1);
		dst[cap - 1] = '\0';
		return HIE_ETOOBIG;
	}
	memcpy(dst, src, n + 1);
	return HIE_OK;
}
