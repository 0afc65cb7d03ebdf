#ifndef MEDIASYNC_CZLIB_SHIM_H
#define MEDIASYNC_CZLIB_SHIM_H
#include <zlib.h>
#endif
