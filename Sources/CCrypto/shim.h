#ifndef MEDIASYNC_CCRYPTO_SHIM_H
#define MEDIASYNC_CCRYPTO_SHIM_H
/* SHA256_Init/Update/Final: deprecated in OpenSSL 3 in favour of EVP, but plain C structs with no
 * allocation, the same assembly (SHA-NI where the CPU has it), and kept for compatibility. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#endif
