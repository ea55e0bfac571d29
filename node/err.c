/* node/err.c -- hie_err names and messages, generated from HIE_ERRORS. */
#include "node/hie.h"

const char *
hie_strerror(hie_err e)
{
	switch (e) {
#define HIE_X_MSG(name, num, msg) \
	case name:                \
		return msg;
		HIE_ERRORS(HIE_X_MSG)
#undef HIE_X_MSG
	}
	return "unknown error";
}

const char *
hie_errname(hie_err e)
{
	switch (e) {
#define HIE_X_NAME(name, num, msg) \
	case name:                 \
		return #name;
		HIE_ERRORS(HIE_X_NAME)
#undef HIE_X_NAME
	}
	return "HIE_EUNKNOWN";
}
