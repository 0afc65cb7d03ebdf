#ifndef MEDIASYNC_CLIBUV_SHIM_H
#define MEDIASYNC_CLIBUV_SHIM_H
#include <uv.h>
#endif
